"""PII in free text: where it is (``find_pii``), and the text without it (``redact_text``, ``text_stats``).

Each detector is a precompiled pattern that finds candidates plus a validator that throws most of them
away: a checksum where the identifier has one (Luhn for cards, ISO 7064 mod 97 for IBANs, the French NIR
and the Belgian national number, ISO 7064 MOD 11,10 and the repetition rule for the German tax id, the
letter of a Spanish DNI/NIE, the Dutch BSN's 11-test, the Italian codice fiscale's check character), the
numbering plan's rules where it has none (US SSN, UK NINO, phone country codes and North
American area codes), ``ipaddress``'s own parser for IPv6. A pattern alone flags every order number and
date; the validators are what make the precision numbers in docs/PRIVACY.md possible.

Text is scanned before anything is stored, on the ingest path, so the common case must be cheap: the digit
detectors run only when the text holds a digit, e-mail only with an ``@``, IPv6 only with a ``:``, and
names only when two capitalised words stand side by side (one C-level regex pass each).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from typing import NamedTuple


class Span(NamedTuple):
    """``text[start:end]`` is a value of this ``kind`` (one of ``DETECTORS``)."""

    start: int
    end: int
    kind: str


# the order is the priority when two detectors claim overlapping text: a validated IBAN or national id is
# a stronger statement than a Luhn pass (one random digit run in ten passes), and a card beats a phone
DETECTORS = ("email", "iban", "national_id", "card", "ip", "phone", "name")
LABELS = {"email": "[EMAIL]", "iban": "[IBAN]", "national_id": "[NATIONAL_ID]", "card": "[CARD]", "ip": "[IP]",
          "phone": "[PHONE]", "name": "[NAME]"}

_DIGIT = re.compile(r"\d")

# -- e-mail --------------------------------------------------------------------------------------------
# practical RFC 5322: dot-atom local part (no quoted strings), dotted host names with a 2-24 letter TLD
_EMAIL = re.compile(r"(?<![\w.%+\-])[A-Za-z0-9_%+\-](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?"
                    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w\-]|\.\w)")


def _emails(text: str) -> Iterable[Span]:
    for m in _EMAIL.finditer(text):
        local = m.group().split("@", 1)[0]
        if ".." not in local:
            yield Span(m.start(), m.end(), "email")


# -- payment cards -------------------------------------------------------------------------------------
# 13-19 digits, ungrouped or grouped by one kind of separator; a digit run inside a longer number, a
# decimal ("1234.5678...") or a longer run of groups (an IBAN's) is not a candidate
_CARD = re.compile(r"(?<![\w\-.,/])(?<!\d[ \-])(?<![A-Z0-9]{4} )(?<![A-Za-z]{2}\d\d [A-Za-z]{4} )"
                   r"\d(?:[ \-]?\d){12,18}(?![\w\-]|[.,/]\d|[ \-]\d)")
_CARD_GROUPS = re.compile(r"\d{4}(?:([ \-])\d{4}){2}\1\d{1,7}|\d{4}([ \-])\d{6}\2\d{4,5}")  # 4-4-4-x, Amex 4-6-5


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check every issuer's card number passes (ISO/IEC 7812-1)."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i & 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _cards(text: str) -> Iterable[Span]:
    for m in _CARD.finditer(text):
        s = m.group()
        digits = s.replace(" ", "").replace("-", "")
        # issuers' numbers start with 2-6 (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay 6)
        if digits[0] not in "23456" or not luhn_ok(digits):
            continue
        if len(digits) != len(s) and not _CARD_GROUPS.fullmatch(s):
            continue
        yield Span(m.start(), m.end(), "card")


# -- IBAN ----------------------------------------------------------------------------------------------
# ISO 13616 lengths per country (SWIFT IBAN registry)
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}
# either case: people type IBANs in lower case (de89 3704 ...) and mod 97 decides all the same
_IBAN = re.compile(r"(?<![\w\-])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}")


def iban_ok(compact: str) -> bool:
    """ISO 13616: the country's length, and mod 97 of the rearranged number (letters as 10-35) is 1."""
    compact = compact.upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ibans(text: str) -> Iterable[Span]:
    # the pattern runs on into what follows (a word, a number, the next IBAN: "... 7654 32 b GB82 ..."), so
    # each candidate is cut at its country's length and the search goes on from the cut, not from where
    # the pattern stopped
    at = 0
    while (m := _IBAN.search(text, at)) is not None:
        at = m.start() + 1
        s = m.group()
        n = IBAN_LENGTHS.get(s[:2].upper())
        if n is None:
            continue
        end, seen = 0, 0
        while seen < n and end < len(s):
            if s[end] != " ":
                seen += 1
            end += 1
        if seen < n:
            continue
        after = m.start() + end
        if after < len(text) and (text[after].isalnum() or text[after] in "-_"):
            continue  # the number goes on: not this IBAN
        if iban_ok(s[:end].replace(" ", "")):
            yield Span(m.start(), after, "iban")
            at = after


# -- IP addresses --------------------------------------------------------------------------------------
_IPV4 = re.compile(r"(?<![\w.\-])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
                   r"(?![\w\-]|\.\d)")
# A valid dotted quad is also how four-part versions are written ("version: 1.2.3.4", "python 3.11.2.1",
# "Chrome/120.0.0.0"): the word right before it, up to separators, decides. The words are versions' and
# the names of runtimes and systems versions are given for, never ones an address follows ("client",
# "host", "server", "from"); "upgraded to" and "updated from" are a version's, "redirected to" an address's.
_VERSION_WORDS = (r"versions?|ver|releases?|released|build|builds|rev|revision|patch|firmware|fw|bios|kernel|sdk|"
                  r"python|java|jdk|jre|node|nodejs|node\.js|npm|pip|ruby|php|perl|golang|dotnet|\.net|chrome|"
                  r"chromium|firefox|safari|ios|android|macos|ubuntu|debian|centos|rhel|"
                  r"(?:up|down)grad(?:e|es|ed|ing)(?:\s+(?:to|from))?|updat(?:e|es|ed|ing)\s+(?:to|from)")
_VERSION_BEFORE = re.compile(rf"(?:\b(?:{_VERSION_WORDS})(?:\s+(?:number|no\.?|nr\.?|id))?[\s:=#]*|\bv\.?\s*|[A-Za-z]/)$",
                             re.IGNORECASE)
# what joins the versions of a list ("1.2.3.4, 1.2.3.5 and 1.2.3.6", "from 1.2.3.4 to 1.2.3.5"): a quad
# after a version, so joined, is one too
_VERSION_LIST_GAP = re.compile(r"\s*(?:[,;/&\-]|,?\s*(?:and|or|to|through))\s*", re.IGNORECASE)
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{2,45}(?![\w:])")


def _ips(text: str) -> Iterable[Span]:
    if _DIGIT.search(text) is not None:
        version_end = -1
        for m in _IPV4.finditer(text):
            if (_VERSION_BEFORE.search(text, max(0, m.start() - 30), m.start())
                    or (version_end >= 0 and _VERSION_LIST_GAP.fullmatch(text, version_end, m.start()))):
                version_end = m.end()
            else:
                yield Span(m.start(), m.end(), "ip")
    if ":" in text:
        for m in _IPV6.finditer(text):
            s = m.group().rstrip(".")
            if s.count(":") < 2 or sum(c not in ":." for c in s) < 2:
                continue  # "::" alone, or "a::" in prose
            try:
                ipaddress.IPv6Address(s)
            except ValueError:
                continue
            yield Span(m.start(), m.start() + len(s), "ip")


# -- phone numbers -------------------------------------------------------------------------------------
# ITU-T E.164 country codes are prefix-free: 1 and 7 are one digit, these two, every other one three
_CC2 = frozenset("20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 "
                 "66 81 82 84 86 90 91 92 93 94 95 98".split())
_CC3_PREFIXES = frozenset("21 22 23 24 25 26 29 35 37 38 42 50 59 67 68 69 80 85 87 88 96 97 99".split())
_INTL = re.compile(r"(?<![\w+])(?<!\d[ \-])(?<![A-Z0-9]{4} )(?<![A-Za-z]{2}\d\d [A-Za-z]{4} )(?:\+|\b00)\d{1,3}"
                   r"(?:[ .\-]?(?:\(0\)|\(\d{1,4}\)))?(?:[ .\-]?\d{1,8}){1,6}(?![\w\-]|[.,]\d)")
# North American: (AAA) EEE-NNNN or AAA-EEE-NNNN, area and exchange codes start with 2-9
_NANP = re.compile(r"(?<![\w+\-./])(?<!\d[ \-])(?:\(([2-9]\d\d)\) ?|([2-9]\d\d)([ .\-]))[2-9]\d\d[ .\-]\d{4}(?![\w\-]|[.,]\d|[ \-]\d)")
# national numbers with a trunk 0 and separators: 020 7946 0958, 06 12 34 56 78, (030) 1234567. Like cards
# and international numbers, never the tail of a run of groups ("NL43 RKAK 0507 7879 94", "nl43 rkak ...":
# an IBAN's)
_TRUNK = re.compile(r"(?<![\w+\-./,])(?<!\d[ \-])(?<![A-Z0-9]{4} )(?<![A-Za-z]{2}\d\d [A-Za-z]{4} )"
                    r"(?:\(0\d{1,4}\)|0\d{1,4})(?:[ \-]\d{2,8}){1,4}(?![\w\-]|[.,:/]\d|[ \-]\d)")


def _country_code_ok(digits: str) -> bool:
    if digits[0] in "17":
        return True
    if digits[:2] in _CC2:
        return True
    return digits[:2] in _CC3_PREFIXES


def _phones(text: str) -> Iterable[Span]:
    if "+" in text or "00" in text:
        for m in _INTL.finditer(text):
            s = m.group()
            digits = re.sub(r"\D", "", s.replace("(0)", ""))
            if s.startswith("00"):
                digits = digits[2:]
                if not re.match(r"00\d{1,3}[ .\-(]", s):
                    continue  # 0049301234567 could be any number: the 00 form needs a separator after the code
            if 8 <= len(digits) <= 15 and _country_code_ok(digits):
                yield Span(m.start(), m.end(), "phone")
    for m in _NANP.finditer(text):
        if m.group(3) is not None:
            sep = m.group(3)
            if m.group().count(sep) != 2:
                continue  # 555-123.4567: mixed separators are not how numbers are written
        yield Span(m.start(), m.end(), "phone")
    for m in _TRUNK.finditer(text):
        s = m.group()
        n = sum(c.isdigit() for c in s)
        if 10 <= n <= 11 and s[1] != "0":  # 00 is the international prefix, not a trunk
            yield Span(m.start(), m.end(), "phone")


# -- national identity numbers ---------------------------------------------------------------------------
_DNI = re.compile(r"(?<![\w\-])(?:(\d{8})|([XYZ])-?(\d{7}))-?([A-Z])(?![\w\-])")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_CONTEXT = r"[\s:#.]{0,4}(?:is\s+|nr\.?\s*|number\s+)?"  # "BSN: 123", "BSN is 123", "BSN nr. 123"
_BSN = re.compile(r"(?i:\b(?:bsn|burgerservicenummer|sofinummer)\b)" + _CONTEXT + r"(\d{9}|\d{4}\.\d{2}\.\d{3})(?![\w\-])")
_SSN = re.compile(r"(?<![\w\-])(\d{3})-(\d{2})-(\d{4})(?![\w\-])|(?i:\bssn\b)" + _CONTEXT + r"(\d{9})(?![\w\-])")
_NINO = re.compile(r"(?<![\w\-])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\w\-])")
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_NIR = re.compile(r"(?<![\w\-])([12]) ?(\d{2}) ?(0[1-9]|1[0-2]|[2-9]\d) ?(\d{2}|2[AB]) ?(\d{3}) ?(\d{3}) ?(\d{2})"
                  r"(?![\w\-])")
# eleven-digit ids in one pass: the German Steuer-ID compact or as printed on the tax letter (86 095 742 719),
# the Belgian national number as written (85.07.30-033.28, 850730-033-28) or compact
_ELEVEN = re.compile(r"\b\d(?<![\-+.,/]\d)(?<!\d[ \-]\d)\d(?:\d{9}| \d{3} \d{3} \d{3}|\.\d\d\.\d\d-\d{3}\.\d\d|\d{4}-\d{3}-\d\d)"
                     r"(?![\w\-]|[.,/]\d|[ \-]\d)")
# the Steuer-ID's check digit and repetition rule pass one random eleven-digit run in about 300, so a bare
# one is reported; the Belgian date and check pass one in about 400 and eleven-digit order numbers are
# common, so a compact Belgian number needs its word before it, like the BSN
_BE_WORD = re.compile(r"\b(?:rijksregisternummer|rijksregister|registre\s+national|num[ée]ro\s+national|national\s+number|"
                      r"insz|niss)" + _CONTEXT + "$", re.IGNORECASE)
_CF_DIGIT = "[0-9LMNPQRSTUV]"  # omocodia replaces digits by these letters
_CF = re.compile(rf"(?<![\w\-])[A-Z]{{6}}{_CF_DIGIT}{{2}}[ABCDEHLMPRST]{_CF_DIGIT}{{2}}[A-Z]{_CF_DIGIT}{{3}}[A-Z]"
                 r"(?![\w\-])")
_CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                   [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8,
                    12, 14, 16, 10, 22, 25, 24, 23]))


def dni_letter(number: int) -> str:
    """The check letter of a Spanish DNI (a NIE counts X, Y, Z as 0, 1, 2 before its digits)."""
    return _DNI_LETTERS[number % 23]


def bsn_ok(digits: str) -> bool:
    """The Dutch BSN's 11-test: 9a + 8b + ... + 2h - 1i is a multiple of 11 (and not all zeros)."""
    total = sum((9 - i) * (ord(c) - 48) for i, c in enumerate(digits[:8])) - (ord(digits[8]) - 48)
    return total % 11 == 0 and digits != "000000000"


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """The SSA's rules (an SSN has no check digit): no 000, 666 or 9xx area, no 00 group, no 0000 serial."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def nir_ok(compact: str) -> bool:
    """French NIR: the key (last two digits) is 97 - (the first 13 mod 97), Corsica's 2A/2B read as 19/18."""
    body = compact[:13].replace("2A", "19").replace("2B", "18")
    return int(compact[13:]) == 97 - int(body) % 97


def codice_fiscale_ok(cf: str) -> bool:
    """Italian codice fiscale: the 16th character from the odd/even position values (DM 23/12/1976)."""
    total = 0
    for i, c in enumerate(cf[:15]):
        total += _CF_ODD[c] if i % 2 == 0 else (ord(c) - 48 if c.isdigit() else ord(c) - 65)
    return chr(65 + total % 26) == cf[15]


def steuer_id_ok(digits: str) -> bool:
    """German Steuerliche Identifikationsnummer (BZSt): no leading 0; among the first ten digits exactly one
    digit repeats, twice or three times but never three in a row; the eleventh is their ISO 7064 MOD 11,10
    check digit. The repetition rule alone turns away 96% of random runs, which is why a bare number may be
    reported."""
    body = digits[:10]
    if digits[0] == "0":
        return False
    distinct = len(set(body))
    if distinct == 8:  # one digit three times (not two digits twice), and not in a row
        if max(body.count(c) for c in set(body)) != 3 or any(c * 3 in body for c in set(body)):
            return False
    elif distinct != 9:
        return False
    product = 10
    for c in body:
        total = (ord(c) - 48 + product) % 10 or 10
        product = total * 2 % 11
    return (11 - product) % 10 == ord(digits[10]) - 48


def be_nn_ok(digits: str) -> bool:
    """Belgian national number (Rijksregisternummer): 97 minus the first nine digits mod 97 is the check, with
    a 2 put before them for those born from 2000; the first six are a birth date (month + 20 or + 40 for a
    bis number, 00 where the date is unknown)."""
    month, day = int(digits[2:4]) % 20, int(digits[4:6])
    if int(digits[2:4]) > 52 or month > 12 or day > 31:
        return False
    check = int(digits[9:])
    return check in (97 - int(digits[:9]) % 97, 97 - int("2" + digits[:9]) % 97)


def _national_ids(text: str) -> Iterable[Span]:
    for m in _DNI.finditer(text):
        number = int(m.group(1)) if m.group(1) else int("XYZ".index(m.group(2)) * 10_000_000 + int(m.group(3)))
        if dni_letter(number) == m.group(4):
            yield Span(m.start(), m.end(), "national_id")
    for m in _BSN.finditer(text):
        if bsn_ok(m.group(1).replace(".", "")):
            yield Span(m.start(1), m.end(1), "national_id")
    for m in _SSN.finditer(text):
        if m.group(4) is not None:
            d = m.group(4)
            if ssn_ok(d[:3], d[3:5], d[5:]):
                yield Span(m.start(4), m.end(4), "national_id")
        elif ssn_ok(m.group(1), m.group(2), m.group(3)):
            yield Span(m.start(), m.end(), "national_id")
    for m in _NINO.finditer(text):
        if m.group(1) not in _NINO_BAD_PREFIXES:
            yield Span(m.start(), m.end(), "national_id")
    for m in _NIR.finditer(text):
        if nir_ok(m.group().replace(" ", "")):
            yield Span(m.start(), m.end(), "national_id")
    for m in _CF.finditer(text):
        if codice_fiscale_ok(m.group()):
            yield Span(m.start(), m.end(), "national_id")
    for m in _ELEVEN.finditer(text):
        s = m.group()
        if len(s) == 11:
            ok = steuer_id_ok(s) or (be_nn_ok(s) and _BE_WORD.search(text, max(0, m.start() - 40), m.start()) is not None)
        else:
            ok = steuer_id_ok(s.replace(" ", "")) if " " in s else be_nn_ok(s.replace(".", "").replace("-", ""))
        if ok:
            yield Span(m.start(), m.end(), "national_id")


# -- person names ----------------------------------------------------------------------------------------
_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
_NAME = re.compile(rf"(?<![\w\-'])([{_UPPER}][{_LOWER}]+)\s+((?:(?:van der|van den|van|von|de la|de|del|della|da|di|"
                   rf"du|le|la|al|el|bin|ben|ibn|o')\s*)?[{_UPPER}][{_LOWER}]*(?:[-'][{_UPPER}]?[{_LOWER}]+)*"
                   rf"(?:[{_UPPER}][{_LOWER}]+)?)(?![\w\-])")


@lru_cache(maxsize=1)
def _name_lists() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(first names, words that are not a surname, words that make a place of the name before them):
    shipped files, read once."""
    root = resources.files("argusml.privacy")

    def words(name: str) -> frozenset[str]:
        text = root.joinpath(name).read_text(encoding="utf-8")
        return frozenset(w for line in text.splitlines() if (w := line.split("#", 1)[0].strip()))

    places = words("place_words.txt")
    return words("first_names.txt"), words("not_surnames.txt") | places, places


_NEXT_WORD = re.compile(r"\s+(\w+)")


def _names(text: str) -> Iterable[Span]:
    first, not_surname, places = _name_lists()
    for m in _NAME.finditer(text):
        last = m.group(2)
        if m.group(1) not in first or last in not_surname or len(last) < 2:
            continue
        after = _NEXT_WORD.match(text, m.end())
        if after is not None and after.group(1) in places:
            continue  # "Hans Brinker Bar", "George Washington Bridge": named after a person, not one
        yield Span(m.start(), m.end(), "name")


_FINDERS: dict[str, Callable[[str], Iterable[Span]]] = {
    "email": _emails, "iban": _ibans, "national_id": _national_ids, "card": _cards, "ip": _ips, "phone": _phones,
    "name": _names}
_NEEDS_DIGIT = frozenset({"iban", "national_id", "card", "phone"})


def find_pii(text: str, detectors: Iterable[str] = DETECTORS) -> list[Span]:
    """The PII spans in ``text``, sorted, none overlapping (where two detectors claim the same characters,
    the earlier one in ``DETECTORS`` wins)."""
    has_digit = _DIGIT.search(text) is not None
    found: list[Span] = []
    for kind in detectors:
        if kind in _NEEDS_DIGIT and not has_digit:
            continue
        if kind == "email" and "@" not in text:
            continue
        found.extend(_FINDERS[kind](text))
    if len(found) < 2:
        return found
    rank = {k: i for i, k in enumerate(DETECTORS)}
    taken: list[Span] = []
    for s in sorted(found, key=lambda s: (rank[s.kind], s.start)):
        if all(s.end <= t.start or s.start >= t.end for t in taken):
            taken.append(s)
    return sorted(taken)


def canonical(kind: str, value: str) -> str:
    """The form two writings of one value share, so their hash tokens are equal: digits only for numbers
    (``4111 1111-1111 1111``), no spaces and upper case for IBANs and ids, lower case for e-mail."""
    if kind in ("card", "phone"):
        return ("+" if value.startswith("+") else "") + re.sub(r"\D", "", value)
    if kind in ("iban", "national_id"):
        return re.sub(r"[\s\-.]", "", value).upper()
    if kind in ("email", "ip"):
        return value.lower()
    return " ".join(value.split())


def redact_text(text: str, spans: list[Span], token: Callable[[str], str] | None = None) -> str:
    """``text`` with each span replaced: by its kind's label (``[EMAIL]``), or with ``token`` (a keyed hash
    of the value's canonical form) by ``[EMAIL:<token>]``, so equal values still give equal text."""
    out: list[str] = []
    at = 0
    for s in spans:
        out.append(text[at:s.start])
        if token is None:
            out.append(LABELS[s.kind])
        else:
            out.append(f"{LABELS[s.kind][:-1]}:{token(s.kind + ':' + canonical(s.kind, text[s.start:s.end]))}]")
        at = s.end
    out.append(text[at:])
    return "".join(out)


def text_stats(text: str, spans: list[Span]) -> dict[str, int]:
    """What may be kept of a text instead of the text: its length, words, and how many values of each PII
    kind it held (``pii_email``, ...); nothing that could be read back."""
    out = {"length": len(text), "words": len(text.split())}
    for s in spans:
        key = f"pii_{s.kind}"
        out[key] = out.get(key, 0) + 1
    return out
