"""Confusable letters → Latin prototype.

Source: the Unicode TR39 ``confusables.txt`` data as shipped (and kept up to date) by the
``confusable_homoglyphs`` package. That package stores, for every character, the set of
characters it can be confused with, but drops every mapping whose prototype is not a single
character and keeps only part of TR39's transitive structure: Cyrillic ``к``, ``м``, ``н``,
``т``, ``в`` and the Latin small capitals (``ᴋ ᴍ ʜ ᴛ ʙ``…) map to each other but not to ``k m h t
b``. The supplement below closes those gaps for the letters people actually use to dodge
filters; ``tests/guard/test_normalise.py`` measures how much of a list of common look-alikes the
package covers on its own and asserts that package + supplement cover all of them.

Only letters and numbers are mapped (a symbol that looks like ``l``, such as ``∣``, stays a
separator), and only to ASCII letters and digits, lowercased. When a character is confusable
with several ASCII characters, a lowercase letter wins over an uppercase one over a digit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from functools import cache

#: Look-alikes missing from the package's single-character data (all visually established:
#: Cyrillic lowercase forms that are small capitals of Latin letters, Latin small capitals,
#: Greek lowercase letters used as Latin in leetspeak and spam).
SUPPLEMENT: dict[str, str] = {
    # Cyrillic
    "к": "k",
    "К": "k",
    "м": "m",
    "н": "h",
    "т": "t",
    "в": "b",
    "п": "n",
    "ш": "w",
    "Ш": "w",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "Ԝ": "w",
    "ѵ": "v",
    "Ѵ": "v",
    "һ": "h",
    "Һ": "h",
    "ӏ": "l",
    "Ӏ": "l",
    "ј": "j",
    "ɡ": "g",
    "ҝ": "k",
    "ќ": "k",
    "ꙅ": "s",
    # Greek
    "κ": "k",
    "τ": "t",
    "β": "b",
    "ε": "e",
    "ϵ": "e",
    "η": "n",
    "μ": "u",
    "ω": "w",
    "χ": "x",
    "ι": "i",
    "ν": "v",
    "ρ": "p",
    "ς": "c",
    "ϲ": "c",
    "α": "a",
    "ο": "o",
    "υ": "u",
    "γ": "y",
    "Ϝ": "f",
    "ϳ": "j",
    # Latin small capitals and other Latin look-alikes
    "ᴀ": "a",
    "ʙ": "b",
    "ᴄ": "c",
    "ᴅ": "d",
    "ᴇ": "e",
    "ꜰ": "f",
    "ɢ": "g",
    "ʜ": "h",
    "ɪ": "i",
    "ᴊ": "j",
    "ᴋ": "k",
    "ʟ": "l",
    "ᴍ": "m",
    "ɴ": "n",
    "ᴏ": "o",
    "ᴘ": "p",
    "ʀ": "r",
    "ꜱ": "s",
    "ᴛ": "t",
    "ᴜ": "u",
    "ᴠ": "v",
    "ᴡ": "w",
    "ʏ": "y",
    "ᴢ": "z",
    "ı": "i",
    "ȷ": "j",
    "ĸ": "k",
    "ɑ": "a",
    "ɩ": "i",
    "ʋ": "u",
    "ɒ": "a",
    # Armenian
    "օ": "o",
    "ս": "u",
    "ց": "g",
    "հ": "h",
    "ո": "n",
    "ք": "p",
    "զ": "q",
}


def _pick(candidates: list[str]) -> str | None:
    lower = [c for c in candidates if c.islower()]
    if lower:
        return min(lower)
    upper = [c for c in candidates if c.isupper()]
    if upper:
        return min(upper).lower()
    digits = [c for c in candidates if c.isdigit()]
    return min(digits) if digits else None


@cache
def package_map() -> dict[str, str]:
    """What ``confusable_homoglyphs`` alone maps to an ASCII letter or digit."""
    from confusable_homoglyphs import confusables

    out: dict[str, str] = {}
    for ch, entries in confusables.confusables_data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        if unicodedata.category(ch)[0] not in "LN":
            continue
        cands = [
            e["c"] for e in entries if len(e["c"]) == 1 and e["c"].isascii() and e["c"].isalnum()
        ]
        proto = _pick(cands)
        if proto is not None:
            out[ch] = proto
    return out


@cache
def full_map() -> dict[str, str]:
    out = dict(package_map())
    out.update(SUPPLEMENT)
    return out


class _LazyMap(Mapping[str, str]):
    """Loads the (900 kB) package data on first use: ASCII-only posts never pay for it."""

    def __getitem__(self, key: str) -> str:
        return full_map()[key]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return full_map().get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(full_map())

    def __len__(self) -> int:
        return len(full_map())


CONFUSABLE_TO_ASCII: Mapping[str, str] = _LazyMap()
