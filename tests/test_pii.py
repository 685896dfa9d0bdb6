"""PII detection and redaction: the validators on published examples, each detector's precision and recall
on the generated corpus (tests/pii_corpus.py), the redaction actions, the config, and end to end through
the service: with the rule on, no planted value reaches the store, the logs, the metrics or a report."""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argusml.monitor import Settings
from argusml.privacy.pii import (
    DETECTORS,
    be_nn_ok,
    bsn_ok,
    codice_fiscale_ok,
    find_pii,
    iban_ok,
    luhn_ok,
    nir_ok,
    redact_text,
    steuer_id_ok,
    text_stats,
)
from argusml.schema.model_config import PII_DETECTORS, ModelConfig
from pii_corpus import _be_nn, _digits, _steuer_id, _version_quads, corpus
from service_util import event


def kinds(text: str) -> list[tuple[str, str]]:
    return [(text[s.start:s.end], s.kind) for s in find_pii(text)]


# -- validators on published examples -----------------------------------------------------------------------
def test_luhn_on_issuers_test_numbers():
    for card in ("4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "4012888888881881"):
        assert luhn_ok(card), card
    assert not luhn_ok("4111111111111112") and not luhn_ok("1234567812345678")
    assert kinds("paid with 4111 1111 1111 1111.") == [("4111 1111 1111 1111", "card")]
    assert kinds("amex 3782-822463-10005 ok") == [("3782-822463-10005", "card")]
    assert kinds("paid with 4111 1111 1111 1112") == []  # fails Luhn
    assert kinds("ref 1111 1111 1111 1117") == []  # passes Luhn, but no issuer starts with 1
    assert kinds("mixed 4111-1111 1111-1111") == []  # one number is written with one separator


def test_iban_mod97_and_country_length():
    assert iban_ok("GB82WEST12345698765432") and iban_ok("DE89370400440532013000") and iban_ok("NL91ABNA0417164300")
    assert not iban_ok("GB82WEST12345698765433")  # one digit off
    assert not iban_ok("GB82WEST1234569876543")  # 21 characters: GB's are 22
    assert kinds("refund to GB82 WEST 1234 5698 7654 32 IS fine") == [("GB82 WEST 1234 5698 7654 32", "iban")]
    assert kinds("FR14 2004 1010 0505 0001 3M02 606") == [("FR14 2004 1010 0505 0001 3M02 606", "iban")]


def test_iban_in_lower_case_compact_or_spaced():
    assert iban_ok("de89370400440532013000") and not iban_ok("de89370400440532013001")
    assert kinds("iban: de89 3704 0044 0532 0130 00 thanks") == [("de89 3704 0044 0532 0130 00", "iban")]
    assert kinds("to de89370400440532013000.") == [("de89370400440532013000", "iban")]
    assert kinds("gb82 west 1234 5698 7654 32") == [("gb82 west 1234 5698 7654 32", "iban")]
    assert kinds("de88 3704 0044 0532 0130 00, de89370400440532013001") == []  # mod 97 still decides
    # a rejected IBAN's groups hold no phone or card, in lower case as in upper
    assert kinds("nl43 rkak 0507 7879 94 and NL43 RKAK 0507 7879 94") == []
    # a candidate runs on into the next word; the next IBAN is still found after a lower-case word
    assert kinds("GB82 WEST 1234 5698 7654 32 b gb82 west 1234 5698 7654 32") == [
        ("GB82 WEST 1234 5698 7654 32", "iban"), ("gb82 west 1234 5698 7654 32", "iban")]


def test_national_ids_with_checksums():
    assert kinds("DNI 12345678Z, NIE X1234567L") == [("12345678Z", "national_id"), ("X1234567L", "national_id")]
    assert kinds("DNI 12345678A") == []  # the letter of 12345678 is Z
    assert bsn_ok("111222333") and not bsn_ok("111222334")
    assert kinds("BSN: 111222333") == [("111222333", "national_id")]
    assert kinds("order 111222333") == []  # a bare 9-digit run passes the 11-test one time in 11: context needed
    assert nir_ok("184127645108946") and not nir_ok("184127645108947")
    assert kinds("NIR 1 84 12 76 451 089 46") == [("1 84 12 76 451 089 46", "national_id")]
    assert codice_fiscale_ok("RSSMRA85T10A562S") and not codice_fiscale_ok("RSSMRA85T10A562T")
    assert kinds("SSN 123-45-6789 and 666-45-6789, 123-00-6789") == [("123-45-6789", "national_id")]
    assert kinds("NINO AB 12 34 56 C; QQ 12 34 56 C; GB123456A") == [("AB 12 34 56 C", "national_id")]


def test_german_tax_id_check_digit_and_repetition_rule():
    # published examples (BZSt test ids), one digit twice or, since 2016, three times
    for tin in ("86095742719", "47036892816", "65929970489", "57549285017", "25768131411"):
        assert steuer_id_ok(tin), tin
    assert not steuer_id_ok("86095742718")  # check digit off by one
    assert not steuer_id_ok("01234567890") and not steuer_id_ok("02476291358")  # a leading 0
    assert not steuer_id_ok("12345678903")  # no digit repeated (3 is its MOD 11,10 check digit)
    assert not steuer_id_ok("11234567824")  # two digits repeated, each twice
    assert not steuer_id_ok("11123456786")  # one digit three times in a row
    assert kinds("Steuer-ID 86 095 742 719, IdNr. 65929970489.") == [("86 095 742 719", "national_id"),
                                                                      ("65929970489", "national_id")]
    assert kinds("order 860957427190 and +49 86095742719") == [("+49 86095742719", "phone")]


def test_belgian_national_number():
    assert be_nn_ok("85073003328") and not be_nn_ok("85073003327")
    assert be_nn_ok("17073003384")  # born 2017: the check is taken over 2 followed by the nine digits
    assert not be_nn_ok("85133003328")  # month 13
    assert kinds("NN 85.07.30-033.28 / 850730-033-28") == [("85.07.30-033.28", "national_id"),
                                                           ("850730-033-28", "national_id")]
    # compact, it needs its word: the date and check pass one random eleven-digit run in about 400
    assert kinds("rijksregisternummer: 85073003328") == [("85073003328", "national_id")]
    assert kinds("order 85073003328") == []


def test_new_national_ids_on_generated_values():
    """Valid values are all found; near misses (a wrong check digit, the right one on digits that break the
    repetition rule, a Belgian check one off) are not, except where the other detector's rule happens to
    hold; a bare eleven-digit order number is taken for a tax id about one time in 300 (measured 78 in
    20,000 at seed 11, the rate its check digit and repetition rule allow)."""
    rng = random.Random(11)
    assert all(kinds(f"my Steuer-ID is {_steuer_id(rng)} ok") for _ in range(2000))
    assert not any(kinds(f"my Steuer-ID is {_steuer_id(rng, valid=False)} ok") for _ in range(2000))
    assert all(kinds(f"rijksregisternummer {_be_nn(rng)}") for _ in range(2000))
    # an invalid Belgian number written compact is a valid German one about one time in 300
    assert sum(bool(kinds(f"rijksregisternummer {_be_nn(rng, valid=False)}")) for _ in range(2000)) <= 6
    orders = sum(bool(kinds(f"order #{rng.randint(1, 9)}{_digits(rng, 10)} shipped")) for _ in range(20000))
    assert 20 <= orders <= 160, orders


def test_ip_addresses_and_look_alikes():
    assert kinds("from 192.168.1.10 and 2001:db8::8a2e:370:7334.") == [("192.168.1.10", "ip"),
                                                                       ("2001:db8::8a2e:370:7334", "ip")]
    assert kinds("host 256.1.1.1, version 1.2.3.4, v10.0.0.1, at 12:30:45, std::vector") == []


@pytest.mark.parametrize("text", [
    "version: 1.2.3.4", "Version 10.0.0.1", "python 3.11.2.1", "Python 3.11.2.1 and 3.11.2.2", "build no. 10.0.0.1",
    "(build 4.5.6.7)", "upgraded to 10.2.3.4", "updated from 1.2.3.4 to 1.2.3.5", "firmware 2.0.0.1",
    "Mozilla/5.0 (X11) Chrome/120.0.0.0 Safari/537.36", "versions 1.2.3.4, 1.2.3.5 or 1.2.3.6", "v. 10.0.0.1",
    "kernel 5.15.0.91"])
def test_four_part_versions_are_not_addresses(text):
    assert kinds(text) == []


@pytest.mark.parametrize(("text", "ips"), [
    ("10.0.0.1", ["10.0.0.1"]), ("host 192.168.1.20:8080 is down", ["192.168.1.20"]),
    ("client 10.0.0.1 timed out", ["10.0.0.1"]), ("redirected to 10.0.0.1", ["10.0.0.1"]),
    ("http://10.0.0.1/login", ["10.0.0.1"]), ("from 10.0.0.1 to 10.0.0.2", ["10.0.0.1", "10.0.0.2"]),
    ("version 1.2.3.4 seen from 10.0.0.1", ["10.0.0.1"]), ("subversion 10.0.0.1", ["10.0.0.1"]),
])
def test_addresses_next_to_versions_are_still_found(text, ips):
    assert kinds(text) == [(ip, "ip") for ip in ips]


def test_generated_version_strings_hold_no_address():
    rng = random.Random(5)
    assert not any(kinds(_version_quads(rng)) for _ in range(3000))


def test_email_and_phone_formats():
    assert kinds("to jo.ann+x@mail.example.co.uk, not a..b@example.com or me@localhost") == [
        ("jo.ann+x@mail.example.co.uk", "email")]
    assert kinds("+44 20 7946 0958 / +49 (0)89 123 4567 / (212) 555-0187 / 06 12 34 56 78 / 020 7946 0958") == [
        ("+44 20 7946 0958", "phone"), ("+49 (0)89 123 4567", "phone"), ("(212) 555-0187", "phone"),
        ("06 12 34 56 78", "phone"), ("020 7946 0958", "phone")]
    # dates, times, amounts, order numbers, unassigned country codes, an exchange code starting with 1
    assert kinds("2023-10-15 12:30, 15/10/2023, $1,299.00, order 0123-456, +28 1234 5678, 212-155-0187") == []


def test_names_from_the_dictionary():
    assert kinds("Ticket by Maria Garcia and Hans Müller, cc Giulia van der Berg") == [
        ("Maria Garcia", "name"), ("Hans Müller", "name"), ("Giulia van der Berg", "name")]
    # places, days and sentence words after a first name; names left out of the dictionary (a known miss)
    assert kinds("Maria Street, Thomas Hotel, Sophie Monday, Thanks Anna Please, Grace Hopper, Mark Twain") == []


def test_detectors_listed_once_for_the_config():
    assert PII_DETECTORS == DETECTORS


# -- precision and recall on the generated corpus ------------------------------------------------------------
# measured on corpus(4000, seed=7) (docs/PRIVACY.md): 1.000 precision everywhere; recall 1.000 except phone
# 0.965 (unseparated national numbers are planted and not detected) and name 0.868 (names outside the
# dictionary are planted); the bounds leave room for a changed seed, not for a changed detector. Before the
# German and Belgian ids, lower-case IBANs and the version words, the same corpus gave national_id recall
# 0.790, iban recall 0.773 and ip precision 0.737
BOUNDS = {"email": (0.99, 0.99), "iban": (0.99, 0.99), "national_id": (0.99, 0.99), "card": (0.99, 0.99),
          "ip": (0.99, 0.99), "phone": (0.98, 0.92), "name": (0.98, 0.80)}


def test_precision_and_recall_per_detector():
    tp, fp, fn = Counter(), Counter(), Counter()
    for s in corpus(4000, seed=7):
        pred = find_pii(s.text)
        for a, b, k in pred:
            hit = any(k == k2 and a < b2 and a2 < b for a2, b2, k2 in s.spans)
            (tp if hit else fp)[k] += 1
        for a2, b2, k2 in s.spans:
            if not any(k == k2 and a < b2 and a2 < b for a, b, k in pred):
                fn[k2] += 1
    for k, (p_min, r_min) in BOUNDS.items():
        assert tp[k] >= 300, k  # enough planted values of each kind to measure
        precision, recall = tp[k] / (tp[k] + fp[k]), tp[k] / (tp[k] + fn[k])
        assert precision >= p_min and recall >= r_min, (k, precision, recall)
    assert (tp["phone"], fn["phone"], tp["name"], fn["name"]) == (411, 15, 383, 58)  # the documented numbers


# -- redaction ------------------------------------------------------------------------------------------------
def test_mask_hash_and_stats():
    text = "Mail ana@example.com or ANA@example.com, card 4111-1111-1111-1111"
    spans = find_pii(text)
    assert redact_text(text, spans) == "Mail [EMAIL] or [EMAIL], card [CARD]"

    def token(v: str) -> str:
        return hmac.new(b"k" * 16, v.encode(), hashlib.sha256).hexdigest()[:8]

    email_token = token("email:ana@example.com")
    assert redact_text(text, spans, token) == (f"Mail [EMAIL:{email_token}] or [EMAIL:{email_token}], card "
                                               f"[CARD:{token('card:4111111111111111')}]")
    assert text_stats(text, spans) == {"length": 65, "words": 6, "pii_email": 2, "pii_card": 1}


pii_values = st.sampled_from(["ana@example.com", "4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32",
                              "192.168.0.7", "+44 20 7946 0958", "12345678Z", "Maria Garcia"])
filler = st.text(alphabet=st.sampled_from(list("abc xyz,.;!?")), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(filler, pii_values), min_size=1, max_size=4), filler)
def test_masking_never_leaves_a_planted_value(parts, tail):
    text = "".join(f"{f} {v} " for f, v in parts) + tail
    out = redact_text(text, find_pii(text))
    for _, v in parts:
        assert v not in out
    assert find_pii(out) == []  # nothing left to find


@settings(max_examples=100, deadline=None)
@given(pii_values, st.binary(min_size=16, max_size=32), st.binary(min_size=16, max_size=32))
def test_hash_is_stable_and_keyed(value, k1, k2):
    def with_key(k: bytes) -> str:
        text = f"see {value} now"
        return redact_text(text, find_pii(text), lambda v: hmac.new(k, v.encode(), hashlib.sha256).hexdigest())

    assert with_key(k1) == with_key(k1) and value not in with_key(k1)
    assert (with_key(k1) == with_key(k2)) == (k1 == k2)


# -- config -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("pii", "message"), [
    ({"fields": []}, "pii.fields is empty"),
    ({"fields": ["id"]}, "must be 'features.<name>' or 'segment.<name>'"),
    ({"fields": ["segment.user"], "action": "stats"}, "applies to features only"),
    ({"fields": "strings", "detectors": ["emial"]}, "'email', 'iban'"),
    ({"fields": "strings", "detectors": ["email", "email"]}, "names a detector twice"),
])
def test_config_errors(pii, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(model="m", privacy={"pii": pii})
    with pytest.raises(ValueError, match="in both 'drop' and 'pii'"):
        ModelConfig(model="m", privacy={"drop": ["features.c"], "pii": {"fields": ["features.c"]}})


# -- end to end through the service --------------------------------------------------------------------------
PLANTED = ["ana.lopez@example.com", "4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32", "+44 20 7946 0958",
           "12345678Z", "203.0.113.77", "Maria Garcia"]


def _everything(running, client) -> str:
    """Every byte Argus keeps or shows about the model: files under the data dir, every text column of
    every table, /metrics, /status, windows and a report of the window."""
    store = running.store
    files = b"".join(p.read_bytes() for p in running.path.rglob("*") if p.is_file() and p.suffix != ".duckdb")
    tables = [r[0] for r in store._rows("SELECT table_name FROM information_schema.tables")]
    cells = []
    for t in tables:
        cols = [r[0] for r in store._rows("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                          "AND data_type IN ('VARCHAR', 'JSON', 'BLOB')", [t])]
        for c in cols:
            cells.extend(str(r[0]) for r in store._rows(f'SELECT "{c}" FROM "{t}"'))
    pages = [client.get(p).text for p in ("/metrics", "/v1/models/p/status", "/v1/models/p/windows",
                                          "/v1/models/p/findings", "/v1/models/p/sample", "/v1/models/p/digest",
                                          "/v1/models/p/features")]
    return files.decode("utf-8", "replace") + "\n".join(cells) + "\n".join(pages)


@pytest.mark.service
@pytest.mark.parametrize("action", ["mask", "hash", "stats", None])
def test_no_planted_value_is_stored_or_shown(running_monitor, ref, monkeypatch, caplog, action):
    monkeypatch.setenv("ARGUS_HMAC_KEY", "k" * 32)
    privacy = {"pii": {"fields": "strings", "action": action}} if action else {}
    running = running_monitor((ModelConfig(model="p", window="5m", privacy=privacy), ref), data=f"d-{action}",
                              settings=Settings(tick_every=0.02, snapshot_every=0.05))
    mon, client, clock = running.monitor, running.client, running.clock
    rng = np.random.default_rng(3)
    caplog.set_level(logging.DEBUG)
    events = []
    for i in range(60):
        e = event(i, rng)
        value = PLANTED[i % len(PLANTED)]
        e["features"]["note"] = f"customer wrote: reach me via {value} thanks"
        if i % 7 == 0:
            e["features"]["cat"] = value  # a categorical feature holding PII
        if i % 11 == 0:
            e["features"]["x1"] = f"x1 is {value}"  # a type error quotes the value it is about
        events.append(e)
    r = client.post("/v1/models/p/events", json=events)
    assert r.status_code == 200 and r.json()["accepted"] == 60
    clock.advance(900)
    assert mon.wait_idle()
    seen = _everything(running, client) + caplog.text + r.text
    leaked = [v for v in PLANTED if v in seen]
    if action is None:
        assert leaked == PLANTED  # without the rule they are stored: the check above can fail
    else:
        assert leaked == []
        stored = [row for chunk in running.store.raw_after("p", 0) for row in chunk]
        note = stored[0][5]["features"]["note"]
        assert note == {"mask": "customer wrote: reach me via [EMAIL] thanks",
                        "stats": {"length": 57, "words": 7, "pii_email": 1}}.get(action, note)
        if action == "hash":
            token = hmac.new(b"k" * 32, b"email:ana.lopez@example.com", hashlib.sha256).hexdigest()[:32]
            assert note == f"customer wrote: reach me via [EMAIL:{token}] thanks"


@pytest.mark.service
@pytest.mark.parametrize("text", ["stats", "masked", "raw"])
def test_no_planted_value_of_an_llm_event_is_stored_or_shown(running_monitor, caplog, text):
    """An LLM model's prompts, answers, documents and feedback comments hold planted PII: with the default
    (``stats``) or ``masked`` none of it reaches the store, the logs, the metrics or a report; ``raw`` keeps it
    (so the check can fail)."""
    from argusml.monitor.llm import baseline_from_events, plan_of
    from llm_traffic import llm_events

    cfg = ModelConfig(model="p", kind="llm", window="5m", lateness="1m", llm={"text": text})
    t0 = 1_800_000_000.0
    ref = baseline_from_events(llm_events(300, t0 - 86400, 3600, seed=1), plan_of(cfg), 60.0)
    running = running_monitor((cfg, ref), data=f"llm-{text}", settings=Settings(tick_every=0.02, snapshot_every=0.05))
    running.clock.t = t0
    caplog.set_level(logging.DEBUG)
    events = llm_events(70, t0 - 60, 50, seed=2, session="s-1")
    for i, e in enumerate(events):
        value = PLANTED[i % len(PLANTED)]
        e["llm"]["prompt"] += f" You can reach me via {value}."
        e["llm"]["response"] = f"Noted, {value}. " + e["llm"]["response"]
        e["llm"]["context"][0]["text"] += f" Account holder {value}."
        e["llm"]["feedback"] = {"comment": f"thanks, {value} here"}
    r = running.client.post("/v1/models/p/events", json=events)
    assert r.status_code == 200 and r.json()["accepted"] == 70
    running.clock.advance(900)
    assert running.monitor.wait_idle()
    assert running.client.get("/v1/models/p/windows").json()["windows"]  # a window closed and was checked
    seen = _everything(running, running.client) + caplog.text + r.text
    leaked = [v for v in PLANTED if v in seen]
    assert leaked == (PLANTED if text == "raw" else [])
