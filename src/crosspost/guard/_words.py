"""Is a word an ordinary word of a language? Used for names made of ordinary words.

Two decisions of the identity rule depend on it: a name whose words are all ordinary words
("Heather Marsh", "Kit Moss") only matches when written like a name (capitalised, or run
together like ``HeatherMarsh``), not in lowercase prose ("heather, marsh and wet woodland");
and a surname alone only warns when it is *distinctive*, i.e. not an ordinary word ("Brannigan"
warns, "Marsh" does not).

* **English** (the default): the lowercase entries of the Hunspell ``en_US`` dictionary (SCOWL)
  that the ``chunspell`` package ships. A spelling dictionary lists proper nouns capitalised
  ("Ana", "Reyes", "Severn", "Jones") and ordinary words in lowercase ("heather", "marsh",
  "kit", "smith"), which is exactly the distinction needed — word frequencies cannot make it
  ("ana" and "heather" are about equally frequent, both mostly as names).
* **Other languages**: ``wordfreq``'s frequency list for the language (its "small" list).
  A word counts as ordinary when its
  Zipf frequency is at least :data:`COMMON_ZIPF` (about 3 occurrences per million words): in
  German "Vogel", "Weiß", "Müller" are ordinary, "Marsh", "Brannigan" are not. Frequency
  lists contain names too, so a very common surname (Schmidt) counts as ordinary there.

Unknown languages fall back to English. When neither package's data can be read, no word is
ordinary (every surname is distinctive, every name needs no capitals): the safe direction.
"""

from __future__ import annotations

import importlib.util
import math
import unicodedata
from functools import cache
from pathlib import Path

#: Zipf frequency (log10 of occurrences per billion words) from which a word is ordinary.
COMMON_ZIPF = 3.5


def language(lang: str | None) -> str:
    """The primary subtag of a language tag (``en-GB`` → ``en``); English by default."""
    if not lang:
        return "en"
    return lang.replace("_", "-").split("-", 1)[0].strip().lower() or "en"


def fold(word: str) -> str:
    """Casefolded, with the accents kept (word lists spell "müller", not "muller")."""
    return unicodedata.normalize("NFC", word).casefold()


def is_common(word: str, lang: str | None) -> bool:
    """``word`` (any case) is an ordinary word of ``lang``."""
    w = fold(word)
    code = language(lang)
    if code != "en":
        freq = _frequencies(code)
        if freq is not None:
            return freq.get(w, 0.0) >= COMMON_ZIPF
    return w in _english()


def _package_dir(name: str) -> Path | None:
    """Where an installed package lives, without importing it (find_spec does not run it)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def _english() -> frozenset[str]:
    """Lowercase entries of chunspell's ``en_US.dic`` (``word/FLAGS`` per line)."""
    base = _package_dir("hunspell")
    path = base / "dictionaries" / "en_US.dic" if base else None
    if path is None or not path.is_file():
        freq = _frequencies("en")
        return frozenset(w for w, z in (freq or {}).items() if z >= COMMON_ZIPF)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[1:]  # [0]: count
    entries = (line.partition("/")[0].strip() for line in lines)
    return frozenset(w for w in entries if w.islower() and w.isalpha())


@cache
def _frequencies(code: str) -> dict[str, float] | None:
    """Zipf frequency of every word in wordfreq's small list for ``code``, or ``None``.

    Imported only here: English personas (the default) never pay for wordfreq's import."""
    try:
        from wordfreq import get_frequency_dict

        freq = get_frequency_dict(code, wordlist="small")
    except (ImportError, LookupError, OSError, ValueError):
        return None
    return {w: math.log10(f * 1e9) for w, f in freq.items() if f > 0}
