"""Phone numbers: identity numbers compiled to digit strings, text scanned cheaply.

Identity numbers are parsed once with ``phonenumbers`` (with the owner's ``phone_region`` for
national formats) into every digit string a person would dial or write: national significant
number, with the trunk prefix (``0…``), with the country code, with ``00``/``011`` + country
code. A text is scanned with one regex for runs of at least seven digits with separators in
between (spaces, dots, dashes, slashes, brackets — so ``5 0 3 5 5 5 0 1 4 2`` and
``503.555.0142`` are candidates too); a candidate matches when the digits of some sub-run that
starts and ends at a group boundary equal one of those strings. That is an exact E.164
comparison that is independent of formatting, and it costs nothing on text without digit runs.
``phonenumbers.PhoneNumberMatcher`` is not run over texts: it is slow (milliseconds per text) and
its leniency levels reject exactly the odd spacings an evader uses, while equality of digit
strings derived from the parsed identity number is stricter about *which* number and looser
about *how it is written*.

Crisis and emergency lines are never identity, even when someone lists one by mistake; the
matcher records a note instead.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

import ahocorasick
import phonenumbers

#: Emergency and crisis numbers (digits only, national forms and with country code).
CRISIS_NUMBERS = frozenset(
    {
        "911",
        "112",
        "999",
        "000",
        "110",
        "119",
        "111",
        "988",
        "15",
        "17",
        "18",
        "116123",
        "116111",
        "116117",
        "116000",
        "116006",
        "741741",
        "85258",
        "18002738255",
        "8002738255",
        "18007997233",
        "8007997233",
        "18664887386",
        "8664887386",
        "18006564673",
        "8006564673",
        "18339564566",
        "8334564566",
        "18775658860",
        "8775658860",
        "18009506264",
        "8009506264",
        "131114",
        "1300224636",
        "1737",
        "08001110111",
        "08001110222",
        "8001110111",
        "8001110222",
        "08457909090",
        "0800689999",
    }
)

MIN_DIGITS = 7
#: longest digit string worth comparing: "011" + 15-digit E.164 number
MAX_DIGITS = 18

_SEPARATORS = " \t.-()/\u2010\u2011\u2012\u2013\u2014\u2015\u00b7\u2022"
#: ``norm`` → digits ``0``, separators ``-``, other ASCII ``x`` (1:1, C-speed ``translate``);
#: candidates are then found with a regex over a three-letter alphabet.
_MASK = {cp: ("0" if chr(cp).isdigit() else "x") for cp in range(128)}
_MASK.update({ord(c): "-" for c in _SEPARATORS})
_CANDIDATE = re.compile(r"0[0\-]{5,}0")
#: the same, as a bytes table (ASCII text: C-speed ``bytes.translate``)
_MASK_BYTES = bytes(ord(_MASK.get(b, "x")) for b in range(256))
_NOT_DIGITS_BYTES = bytes(b for b in range(256) if not 0x30 <= b <= 0x39)
#: deletes everything but ASCII digits from a candidate
_DIGITS_ONLY = {cp: None for cp in range(128) if not chr(cp).isdigit()}
_DIGITS_ONLY.update({ord(c): None for c in _SEPARATORS})


@dataclass(frozen=True)
class PhoneKey:
    owner: str
    value: str  # as configured
    e164: str | None


def phone_variants(raw: str, region: str | None) -> tuple[str | None, set[str]]:
    """``(e164, digit strings)`` for an identity number; empty set if unusable."""
    digits = re.sub(r"\D", "", raw)
    variants: set[str] = set()
    e164 = None
    num = None
    for reg in (region, "US") if not raw.strip().startswith("+") else (None,):
        try:
            num = phonenumbers.parse(raw, reg)
            break
        except phonenumbers.NumberParseException:
            continue
    if num is not None:
        cc = str(num.country_code)
        nsn = phonenumbers.national_significant_number(num)
        e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        national = re.sub(
            r"\D", "", phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
        )
        if len(nsn) < MIN_DIGITS or nsn in CRISIS_NUMBERS:
            return e164, set()
        variants |= {nsn, cc + nsn, "00" + cc + nsn, "011" + cc + nsn, national}
        if num.country_code == 1:  # NANP: the trunk prefix is "1", same as the country code
            variants.add("1" + nsn)
    if len(digits) >= MIN_DIGITS:
        variants.add(digits)
    variants = {v for v in variants if len(v) >= MIN_DIGITS}
    if variants & CRISIS_NUMBERS or (e164 and e164.lstrip("+") in CRISIS_NUMBERS):
        return e164, set()
    return e164, variants


class PhoneIndex:
    """Identity phone numbers of all personas, by digit string."""

    def __init__(self, variants: dict[str, list[PhoneKey]]) -> None:
        self.variants = variants
        self.tails = frozenset(v[-4:] for v in variants)
        #: every variant, to test a text's digits (all of them, concatenated) in one pass: a
        #: number in the text is a substring of that digit string
        self.automaton: ahocorasick.Automaton | None = None
        if variants:
            self.automaton = ahocorasick.Automaton()
            for v in variants:
                self.automaton.add_word(v, len(v))
            self.automaton.make_automaton()

    def __bool__(self) -> bool:
        return bool(self.variants)


def find_phones(
    norm: str, index: PhoneIndex, all_digits: bytes | None = None
) -> list[tuple[int, int, list[PhoneKey]]]:
    """Spans in ``norm`` whose digits equal an identity number variant.

    ``all_digits``: the ASCII digits of ``norm`` (``Normalised.digits``), if already known.
    """
    variants = index.variants
    if not variants:
        return []
    if all_digits is None:
        all_digits = norm.encode("ascii", "ignore").translate(None, _NOT_DIGITS_BYTES)
    if len(all_digits) < MIN_DIGITS or index.automaton is None:
        return []
    raw = norm.encode("ascii") if norm.isascii() else None
    if next(index.automaton.iter(all_digits.decode("ascii")), None) is None:
        return []  # no identity number's digits anywhere in the text
    if raw is not None:
        masked = raw.translate(_MASK_BYTES).decode("ascii")
    else:
        masked = norm.translate(_MASK)
    tails = index.tails
    out = []
    for m in _CANDIDATE.finditer(masked):
        cand = norm[m.start() : m.end()]
        if raw is not None:
            digits = raw[m.start() : m.end()].translate(None, _NOT_DIGITS_BYTES).decode("ascii")
        else:
            digits = cand.translate(_DIGITS_ONLY)
        if len(digits) < MIN_DIGITS:
            continue
        if digits not in variants and tails.isdisjoint(
            {digits[i : i + 4] for i in range(len(digits) - 3)}
        ):
            continue
        positions = [i for i, c in enumerate(cand) if "0" <= c <= "9"]
        # group boundaries: index k in `digits` where a separator precedes digit k
        bounds = [0]
        bounds += [k for k in range(1, len(positions)) if positions[k] != positions[k - 1] + 1]
        bounds.append(len(digits))
        i = 0
        while i < len(bounds) - 1:
            a = bounds[i]
            hi = bisect_right(bounds, a + MAX_DIGITS)
            hit = None
            for j in range(hi - 1, i, -1):  # longest first
                b = bounds[j]
                if b - a < MIN_DIGITS:
                    break
                keys = variants.get(digits[a:b])
                if keys:
                    hit = (j, keys)
                    break
            if hit is None:
                i += 1
                continue
            j, keys = hit
            b = bounds[j]
            start = m.start() + positions[a]
            end = m.start() + positions[b - 1] + 1
            if start > 0 and norm[start - 1] in "+(" and (a == 0 or norm[start - 1] == "("):
                start -= 1  # the "+" or "(" belongs to the number
            out.append((start, end, keys))
            i = j
    return out
