"""A labelled PII corpus generated from a seed: sentences with valid values of each kind planted at known
places, invalid look-alikes (a wrong check digit, an octet of 300) and the hard negatives free text is
full of (dates, times, prices, order numbers, versions, UUIDs, capitalised words that are not names).
tests/test_pii.py measures each detector's precision and recall on it; bench/pii_scan.py times the scan.

It is our own generator, so the numbers say how well the validators separate these formats, not how a
detector fares on text nobody wrote for it: names outside the dictionary and unseparated national phone
numbers are planted on purpose so that recall is not flattered where we know it is weak.
"""

from __future__ import annotations

import ipaddress
import random
import string
import uuid
from dataclasses import dataclass

from argusml.privacy.pii import IBAN_LENGTHS, luhn_ok

SURNAMES = ["Smith", "Garcia", "Müller", "Rossi", "de Vries", "Dubois", "Kowalski", "Johansson", "Yilmaz", "Patel",
            "Tanaka", "Kim", "Okafor", "Martin", "Fernández", "van der Berg", "O'Brien", "Nguyen", "Schmidt", "Silva"]
IN_DICT = ["Maria", "John", "Thomas", "Sophie", "Giulia", "Ahmed", "Priya", "Hans", "Lucas", "Fatima", "Pieter",
           "Chloe", "Mehmet", "Olga", "Hiroshi", "Carmen", "Lars", "Aisha"]
NOT_IN_DICT = ["Wei", "Xiu", "Chidi", "Mark", "Grace", "Bartholomew", "Oluwaseun", "Thandiwe"]  # left out or unknown
NON_NAMES = ["New York", "Thank You", "Monday Morning", "Customer Service", "Black Friday", "Order Status",
             "Maria Street", "Thomas Hotel", "Hans Brinker Bar", "Main Street", "Sophie Station", "Please Advise",
             "Google Cloud", "Best Regards", "Credit Card", "Happy Birthday"]


@dataclass
class Sample:
    text: str
    spans: list[tuple[int, int, str]]  # (start, end, kind) of each planted PII value


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _card(rng: random.Random, valid: bool = True) -> str:
    prefix, n, groups = rng.choice([("4", 16, (4, 4, 4, 4)), ("51", 16, (4, 4, 4, 4)), ("55", 16, (4, 4, 4, 4)),
                                    ("37", 15, (4, 6, 5)), ("6011", 16, (4, 4, 4, 4)), ("4", 13, None)])
    body = prefix + _digits(rng, n - len(prefix) - 1)
    check = next(d for d in string.digits if luhn_ok(body + d))
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    num = body + check
    sep = rng.choice(["", " ", "-"]) if groups else ""
    if not sep:
        return num
    out, at = [], 0
    for g in groups:
        out.append(num[at:at + g])
        at += g
    return sep.join(out)


def _iban(rng: random.Random, valid: bool = True) -> str:
    cc = rng.choice(["GB", "DE", "FR", "NL", "ES", "IT", "BE", "CH"])
    n = IBAN_LENGTHS[cc] - 4
    bban = ("".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + _digits(rng, n - 4)) if cc in ("GB", "NL") \
        else _digits(rng, n)
    check = 98 - int("".join(str(int(c, 36)) for c in bban + cc + "00")) % 97
    if not valid:
        check = (check + rng.randint(1, 50)) % 97 + 2
    iban = f"{cc}{check:02d}{bban}"
    if rng.random() < 0.25:
        iban = iban.lower()  # as typed into a form: mod 97 decides all the same
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.5 else iban


def _steuer_check(body: str) -> int:
    product = 10
    for c in body:
        total = (int(c) + product) % 10 or 10
        product = total * 2 % 11
    return (11 - product) % 10


def _steuer_id(rng: random.Random, valid: bool = True) -> str:
    """A German tax id; an invalid one has a wrong check digit, or the right one on ten digits that break the
    repetition rule (none repeated, two repeated, or one three times in a row)."""
    triple = rng.random() < 0.3
    while True:
        kept = rng.sample(string.digits, 8 if triple else 9)
        repeated = rng.choice(kept)
        body = kept + [repeated] * (2 if triple else 1)
        rng.shuffle(body)
        b = "".join(body)
        if b[0] != "0" and repeated * 3 not in b:
            break
    check = _steuer_check(b)
    if not valid:
        broken = rng.choice(["check", "none repeated", "two repeated", "three in a row"])
        if broken == "check":
            check = (check + rng.randint(1, 9)) % 10
        else:
            digits = rng.sample("123456789", 1)
            digits += rng.sample([c for c in string.digits if c != digits[0]], 9)  # ten distinct
            if broken == "two repeated":
                digits[8:] = digits[:2]
            elif broken == "three in a row":
                digits[2:4] = digits[1] * 2
            b = "".join(digits)
            check = _steuer_check(b)
    s = b + str(check)
    return f"{s[:2]} {s[2:5]} {s[5:8]} {s[8:]}" if rng.random() < 0.4 else s


def _be_nn(rng: random.Random, valid: bool = True) -> str:
    """A Belgian national number: birth date, serial, 97 - mod 97 check (with a 2 in front from 2000)."""
    year = rng.randint(1930, 2024)
    body = f"{year % 100:02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(1, 997):03d}"
    check = 97 - int(("2" if year >= 2000 else "") + body) % 97
    if not valid:
        check = check % 97 + 1  # one off
        if check == 97 - int(("" if year >= 2000 else "2") + body) % 97:
            check = check % 97 + 1  # not the other century's check either
    s = body + f"{check:02d}"
    return rng.choice([s, f"{s[:2]}.{s[2:4]}.{s[4:6]}-{s[6:9]}.{s[9:]}", f"{s[:6]}-{s[6:9]}-{s[9:]}"])


def _national(rng: random.Random, valid: bool = True) -> tuple[str, str]:
    """(the value, the words before it in a sentence)."""
    which = rng.choice(["dni", "nie", "bsn", "ssn", "nino", "nir", "cf", "steuer", "be"])
    bad = 0 if valid else 1
    if which == "dni":
        n = rng.randint(10_000_000, 99_999_999)
        return f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[(n + bad) % 23]}", "DNI"
    if which == "nie":
        p, n = rng.randint(0, 2), rng.randint(0, 9_999_999)
        return f"{'XYZ'[p]}{n:07d}{'TRWAGMYFPDXBNJZSQVHLCKE'[(p * 10_000_000 + n + bad) % 23]}", "NIE"
    if which == "bsn":
        while True:
            d = _digits(rng, 9)
            ok = (sum((9 - i) * int(c) for i, c in enumerate(d[:8])) - int(d[8])) % 11 == 0
            if ok == valid and d[0] != "0":
                return d, "BSN"
    if which == "steuer":
        return _steuer_id(rng, valid), rng.choice(["Steuer-ID", "steuerliche Identifikationsnummer", "IdNr"])
    if which == "be":
        return _be_nn(rng, valid), rng.choice(["rijksregisternummer", "numéro de registre national"])
    if which == "ssn":
        area = rng.randint(1, 665) if valid else rng.choice([0, 666, rng.randint(900, 999)])
        return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}", "SSN"
    if which == "nino":
        first = rng.choice("ABCEGHJKLMNOPRSTWXYZ") if valid else rng.choice("DFIQUV")
        second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        if first + second in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
            second = "A"
        d = _digits(rng, 6)
        return f"{first}{second} {d[:2]} {d[2:4]} {d[4:]} {rng.choice('ABCD')}", "NI number"
    if which == "nir":
        body = f"{rng.randint(1, 2)}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 95):02d}" \
               f"{_digits(rng, 3)}{_digits(rng, 3)}"
        key = 97 - int(body) % 97
        if not valid:
            key = key % 97 + 1
        s = body + f"{key:02d}"
        return f"{s[0]} {s[1:3]} {s[3:5]} {s[5:7]} {s[7:10]} {s[10:13]} {s[13:]}", "numéro de sécurité sociale"
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(6))
    body = f"{letters}{rng.randint(40, 99)}{rng.choice('ABCDEHLMPRST')}{rng.randint(1, 28):02d}" \
           f"{rng.choice(string.ascii_uppercase)}{_digits(rng, 3)}"
    odd = dict(zip(string.digits + string.ascii_uppercase, [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15,
                                                             17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10,
                                                             22, 25, 24, 23]))
    total = sum(odd[c] if i % 2 == 0 else (int(c) if c.isdigit() else ord(c) - 65) for i, c in enumerate(body))
    return body + chr(65 + (total + bad) % 26), "codice fiscale"


def _email(rng: random.Random) -> str:
    first, last = rng.choice(IN_DICT).lower(), rng.choice(["smith", "garcia", "rossi", "lee", "k"])
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}{rng.randint(1, 99)}", f"{first}+news", f"{first}_{last}"])
    return f"{local}@{rng.choice(['example.com', 'mail.example.co.uk', 'uni-bonn.de', 'firma.nl', 'x.io'])}"


def _phone(rng: random.Random) -> str:
    d = lambda n: _digits(rng, n)  # noqa: E731
    return rng.choice([
        f"+44 20 {d(4)} {d(4)}", f"+44 7{d(3)} {d(6)}", f"+49 30 {d(7)}", f"+49 (0)89 {d(3)} {d(4)}",
        f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}", f"+31 6 {d(8)}", f"+34 6{d(2)} {d(3)} {d(3)}", f"+39 3{d(2)} {d(7)}",
        f"+1 ({rng.randint(2, 9)}{d(2)}) {rng.randint(2, 9)}{d(2)}-{d(4)}", f"+91 9{d(4)} {d(5)}",
        f"0044 20 {d(4)} {d(4)}", f"({rng.randint(2, 9)}{d(2)}) {rng.randint(2, 9)}{d(2)}-{d(4)}",
        f"{rng.randint(2, 9)}{d(2)}-{rng.randint(2, 9)}{d(2)}-{d(4)}", f"020 {d(4)} {d(4)}", f"06 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"030 {d(7)}", f"06-{d(8)}",
        f"{rng.randint(2, 9)}{d(9)}",  # unseparated national number: not detected (no context rule)
    ])


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return ".".join(str(rng.randint(0, 255)) for _ in range(3)) + f".{rng.randint(1, 254)}"
    return str(ipaddress.IPv6Address(rng.getrandbits(128) if rng.random() < 0.5 else (0xFE80 << 112) | rng.getrandbits(24)))


def _name(rng: random.Random) -> str:
    first = rng.choice(IN_DICT) if rng.random() < 0.85 else rng.choice(NOT_IN_DICT)
    return f"{first} {rng.choice(SURNAMES)}"


VALID = {"email": _email, "iban": _iban, "card": _card, "phone": _phone, "ip": _ip, "name": _name}
TEMPLATES = {
    "email": ["Please write to {} about the refund.", "contact: {}", "Sent from {} on my phone", "cc {}; thanks"],
    "iban": ["Pay it to IBAN {} please.", "my account {} was charged twice", "refund to {}."],
    "card": ["card number {} expired", "I paid with {} yesterday", "charged on {}, please check"],
    "national_id": ["my {} is {}", "{}: {} (copy attached)", "verification {} {} failed"],
    "phone": ["call me at {} after 6pm", "phone: {}", "You can reach the shop on {}.", "tel {} or e-mail"],
    "ip": ["login from {} blocked", "client {} timed out", "request came from {}."],
    "name": ["Hi, I am {} and my parcel is late", "Ticket opened by {} yesterday", "Regards, {}", "ask {} in sales"],
}


def _invalid(rng: random.Random) -> str:
    """A look-alike that fails its kind's validation: it must not be reported."""
    kind = rng.choice(["card", "iban", "national_id", "ip", "email"])
    if kind == "card":
        return f"card {_card(rng, valid=False)} declined"
    if kind == "iban":
        return f"IBAN {_iban(rng, valid=False)} rejected"
    if kind == "national_id":
        value, words = _national(rng, valid=False)
        return f"{words} {value} is not valid"
    if kind == "ip":
        return f"bad host {rng.randint(256, 999)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
    return rng.choice(["write to admin@localhost", "the handle @maria_g", "user@ is incomplete", "a..b@example.com x"])


def hard_negative(rng: random.Random) -> str:
    """Text full of digits, separators and capitals that holds no PII."""
    d = lambda n: _digits(rng, n)  # noqa: E731
    y, m, day = rng.randint(2000, 2030), rng.randint(1, 12), rng.randint(1, 28)
    options = [
        f"delivered on {y}-{m:02d}-{day:02d} at {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        f"on {day:02d}/{m:02d}/{y} the total was ${rng.randint(1, 9)},{d(3)}.{d(2)}",
        f"{day:02d}.{m:02d}.{y} Betrag {rng.randint(1, 999)} {d(3)},{d(2)} EUR",
        f"order #{d(rng.randint(6, 12))} shipped", f"order ORD-{y}-{d(6)} and invoice INV/{d(8)}",
        f"app version {rng.randint(1, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
        f"upgraded to v{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 99)} today",
        _version_quads(rng),
        f"trace {rng.getrandbits(128):032x} request id {uuid.UUID(int=rng.getrandbits(128))}",
        f"tracking {_luhn_fail(rng)} not found",
        f"{rng.choice(NON_NAMES)} was great",
        f"{rng.choice(NON_NAMES)}: ticket {d(5)} at 10:{rng.randint(10, 59)}",
        f"scores 0.{d(3)}, 1.{d(2)} and 12:30 - 13:45 on {rng.choice(['Monday', 'Friday'])}",
        f"room {rng.randint(100, 999)}, floor {rng.randint(1, 20)}, {rng.randint(2, 9)} items at {rng.randint(1, 99)}.99",
        f"SKU {rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}-{d(4)}-{d(3)} in stock",
        f"coordinates {rng.uniform(-90, 90):.5f}, {rng.uniform(-180, 180):.5f}",
        f"std::vector<int> at 0x{rng.getrandbits(48):x}",
    ]
    return rng.choice(options)


def _version_quads(rng: random.Random) -> str:
    """Four-part versions that are valid dotted quads: an address by their shape, a version by the word
    before them."""
    def q() -> str:
        return ".".join(str(rng.randint(0, 255)) for _ in range(4))

    return rng.choice([f"version: {q()}", f"python {rng.randint(2, 3)}.{rng.randint(0, 13)}.{rng.randint(0, 20)}.1",
                       f"Mozilla/5.0 (X11) Chrome/{rng.randint(90, 140)}.0.0.0 Safari/537.36",
                       f"upgraded to {q()} last night", f"build no. {q()} failed", f"Firmware {q()}",
                       f"versions {q()}, {q()} and {q()} are affected", f"updated from {q()} to {q()}",
                       f"app v. {q()} crashes", f"kernel {rng.randint(4, 6)}.{rng.randint(0, 19)}.0.{rng.randint(1, 200)}"])


def _luhn_fail(rng: random.Random) -> str:
    while True:
        s = str(rng.randint(2, 6)) + _digits(rng, 15)
        if not luhn_ok(s):
            return s


def corpus(n: int, seed: int = 0) -> list[Sample]:
    """``n`` samples: about half with one or two planted values, a quarter look-alikes, a quarter hard
    negatives, in a fixed order for a seed."""
    rng = random.Random(seed)
    out: list[Sample] = []
    kinds = [*TEMPLATES]
    for _ in range(n):
        r = rng.random()
        if r < 0.25:
            out.append(Sample(hard_negative(rng), []))
            continue
        if r < 0.45:
            out.append(Sample(_invalid(rng), []))
            continue
        parts: list[str] = []
        spans: list[tuple[int, int, str]] = []
        for _ in range(1 if rng.random() < 0.7 else 2):
            kind = rng.choice(kinds)
            template = rng.choice(TEMPLATES[kind])
            if kind == "national_id":
                value, words = _national(rng)
                prefix, rest = template.split("{}", 1)
                pre = prefix + words + rest.split("{}", 1)[0]
                post = rest.split("{}", 1)[1]
            else:
                value = VALID[kind](rng)
                pre, post = template.split("{}", 1)
            at = sum(len(p) + 1 for p in parts) + len(pre)
            spans.append((at, at + len(value), kind))
            parts.append(pre + value + post)
        if rng.random() < 0.3:
            parts.append(hard_negative(rng))
        out.append(Sample(" ".join(parts), spans))
    return out
