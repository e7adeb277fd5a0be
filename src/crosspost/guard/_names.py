"""Names as people write them: "H. Marsh", "Heather J. Marsh", "Marsh, H.", "Mrs Brannigan".

A configured name ("Dr. Heather Marsh") is split into titles, given names and a surname
(:func:`parse_name`). The surname is a key of the identity automaton of its own; when it
occurs, :func:`read_surname` looks at the words around it and decides what was written:

* given name + middle initial(s) + surname: "Heather J. Marsh" → the name (block);
* initial(s) + surname, with or without a title: "H. Marsh", "Dr H. Marsh" → the name;
* a title + surname: "Mrs Brannigan" — any title for a confidential name, the name's own
  titles for an identity name ("Dr Marsh" for "Dr. Heather Marsh"), since "Dr. Bee" is anyone
  called Bee → the name;
* surname-first citation style: "Marsh, Heather", "Marsh, H.", "Marsh HJ." → the name;
* the surname alone: a warning when it is distinctive (not an ordinary word of the posting
  persona's language, see :mod:`._words`) and does not belong to somebody else ("Rick
  Reyes": another given name before it) or to a longer proper noun ("Severn Beach").

Everything reads the ``canon`` tokens (folded, so leet and look-alikes still compare) and the
original text for capitals: initials and titles must be written as such (upper case), and a
surname that is an ordinary word ("Marsh") must be capitalised to count.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ._identity import NameForms, fold_token
from ._text import Normalised
from ._words import is_common


def _folded(text: str) -> frozenset[str]:
    return frozenset(fold_token(w) for w in text.split())


#: Every title that may stand before a surname ("title + surname" of confidential names).
ANY_TITLES = _folded(
    "mr mrs ms mx miss dr doctor prof professor rev sir dame lady lord herr frau mister missus "
    "madam"
)
#: One-letter words: "A Marsh" is an article, "A. Marsh" an initial.
_ONE_LETTER_WORDS = frozenset("aio")
#: Capitalised words before a surname that are not somebody else's given name (sentence
#: openers, function words), so "Yesterday Brannigan…" is still the surname alone.
_NOT_GIVEN = _folded(
    """
    the a an and or but so if when while with without by from to for of in on at as about after
    before since until via per like than then now here there where why how what who whom which
    this that these those my our your his her their its we you they he she it i me us him them
    also just only even still yet not no yes dear hi hello hey thanks thank cheers congrats
    congratulations welcome meet ask tell call email text see saw said says today yesterday
    tomorrow tonight monday tuesday wednesday thursday friday saturday sunday january february
    march april may june july august september october november december is was are were be
    been has have had do does did will would can could should might must re fwd cc ps happy
    poor old young little big great good bad new sorry please all every some any many most
    der die das den dem des ein eine einer eines einem einen und oder aber mit von bei für fur
    an auf aus nach vor zu zum zur im am heute gestern morgen liebe lieber danke hallo auch ist
    war hat sind wie was wer wo ich du er sie es wir ihr mein meine unser unsere herzlichen
    """
)
_HARD_GAP = re.compile(r"[,;:!?#|\n*]")


def inflected(tokens: tuple[str, ...]) -> tuple[str, ...] | None:
    """The ``-s`` form of a name's last word: German genitive ("Marshs"), English plural ("the
    Brannigans"); ``None`` where the language writes an apostrophe instead ("Jones'")."""
    last = tokens[-1]
    if not last or last[-1] in "sxz" or last.endswith("ce"):
        return None
    return (*tokens[:-1], last + "s")


@lru_cache(maxsize=4096)
def all_common(words_: tuple[str, ...], lang: str) -> bool:
    """Every word is an ordinary word of ``lang`` ("heather", "marsh")."""
    return bool(words_) and all(is_common(w, lang) for w in words_)


@lru_cache(maxsize=4096)
def distinctive(words_: tuple[str, ...], lang: str) -> bool:
    """A surname that is not (made of) ordinary words of ``lang``."""
    return bool(words_) and not all_common(words_, lang)


class _Tokens:
    """The ``canon`` tokens of a text with their ``norm`` spans and original spelling."""

    def __init__(self, n: Normalised) -> None:
        self.n = n
        self.toks = n.tokens
        self.spans, _ = n._token_spans()

    def gap(self, a: int) -> str:
        """``norm`` text between token ``a`` and token ``a + 1`` (or the end of the text)."""
        end = self.spans[a + 1][0] if a + 1 < len(self.spans) else len(self.n.norm)
        return self.n.norm[self.spans[a][1] : end]

    def orig(self, k: int) -> str:
        s, e = self.n.orig_span(*self.spans[k])
        return self.n.orig[s:e]

    def upper(self, k: int) -> bool:
        """Written with a capital (or a digit/look-alike that has no case: "4n4")."""
        for ch in self.orig(k):
            if ch.isalpha():
                return ch.isupper() or not ch.islower()
            if ch.isdigit():
                return True
        return False

    def all_upper(self, k: int) -> bool:
        letters = [ch for ch in self.orig(k) if ch.isalpha()]
        return bool(letters) and all(ch.isupper() for ch in letters)


def _joins(gap: str, prev: str) -> bool:
    """Two tokens of one name: separated by spaces, or by a full stop after an initial or a
    title ("H. Marsh", "Dr. Marsh"); never across a comma, a line or another sentence."""
    if _HARD_GAP.search(gap):
        return False
    rest = gap.replace(" ", "").replace("\t", "")
    if rest in ("", "-", "'"):
        return True
    return rest == "." and (len(prev) == 1 or prev in ANY_TITLES)


def read_surname(
    n: Normalised, i0: int, i1: int, forms: NameForms, lang: str, any_title: bool
) -> tuple[str, int, int] | None:
    """What the surname at tokens ``i0..i1`` is part of: ``("name", nstart, nend)`` for a
    form of the whole name, ``("surname", …)`` for a distinctive surname alone, else ``None``."""
    t = _Tokens(n)
    toks = t.toks
    common = not distinctive(forms.surname_words, lang)
    surname_ok = not common or t.upper(i0)
    if surname_ok:
        found = _before(t, i0, forms, any_title)
        if found is None:
            found = _citation(t, i0, i1, forms, lang)
        if found is not None:
            return "name", t.spans[found[0]][0], t.spans[found[1]][1]
    if common:
        return None
    j = i0 - 1
    if (
        j >= 0
        and not _HARD_GAP.search(t.gap(j))
        and "." not in t.gap(j)
        and t.upper(j)
        and len(toks[j]) > 1
        and toks[j] not in _NOT_GIVEN
        and toks[j] not in ANY_TITLES
    ):
        return None  # "Rick Reyes": somebody else with the same surname
    k = i1 + 1
    if k < len(toks) and t.gap(i1).strip(" ") == "" and t.upper(k) and toks[k] not in _NOT_GIVEN:
        return None  # "Severn Beach", "Brannigan Street": a longer proper noun
    return "surname", t.spans[i0][0], t.spans[i1][1]


def _initial_ok(t: _Tokens, k: int, expected: str | None) -> bool:
    """Token ``k`` is an initial: one letter, written upper case, the expected letter; a
    one-letter word ("A", "I") only with its full stop."""
    tok = t.toks[k]
    if len(tok) != 1 or (expected is not None and tok != expected) or not t.upper(k):
        return False
    return tok not in _ONE_LETTER_WORDS or t.gap(k).lstrip(" ").startswith(".")


def _before(t: _Tokens, i0: int, forms: NameForms, any_title: bool) -> tuple[int, int] | None:
    """ "Heather J. Marsh", "H. Marsh", "Dr H. J. Marsh", "Mrs Marsh": first token index."""
    toks = t.toks
    j = i0 - 1
    if j < 0 or not _joins(t.gap(j), toks[j]):
        return None
    # initials right before the surname (at most three)
    k = j
    initials: list[int] = []
    while k >= 0 and len(toks[k]) == 1 and len(initials) < 3:
        if k < j and not _joins(t.gap(k), toks[k]):
            break
        initials.insert(0, k)
        k -= 1
    if forms.given and initials:
        first = forms.given[0]
        # given name + middle initial(s): "Heather J. Marsh"
        g = len(first)
        start = initials[0] - g
        if (
            start >= 0
            and tuple(toks[start : initials[0]]) == first
            and all(_joins(t.gap(x), toks[x]) for x in range(start, initials[0]))
            and t.upper(start)
            and all(_initial_ok(t, x, _middle(forms, x - initials[0])) for x in initials)
        ):
            return start, i0
        # initials: "H. Marsh", "H. J. Marsh"
        if (
            _initial_ok(t, initials[0], first[0][0])
            and all(_initial_ok(t, x, _middle(forms, x - initials[0] - 1)) for x in initials[1:])
            and (t.gap(initials[-1]).lstrip(" ").startswith(".") or t.upper(i0))
        ):
            start = initials[0]
            if (
                start > 0
                and toks[start - 1] in ANY_TITLES
                and _joins(t.gap(start - 1), toks[start - 1])
                and t.upper(start - 1)
            ):
                start -= 1
            return start, i0
    # title + surname: "Mrs Brannigan", "Dr. Marsh"
    titles = ANY_TITLES if any_title else forms.titles
    if toks[j] in titles and t.upper(j):
        return j, i0
    return None


def _middle(forms: NameForms, index: int) -> str | None:
    """The expected middle initial at ``index`` (0 = first middle name), if the name has one."""
    if index >= 0 and index + 1 < len(forms.given):
        return forms.given[index + 1][0][0]
    return None


def _citation(t: _Tokens, i0: int, i1: int, forms: NameForms, lang: str) -> tuple[int, int] | None:
    """ "Marsh, Heather", "Marsh, H.", "Marsh HJ.": last token index of the given part."""
    toks = t.toks
    k = i1 + 1
    if not forms.given or k >= len(toks) or not t.upper(i0):
        return None
    gap = t.gap(i1).replace(" ", "")
    first = forms.given[0]
    if gap == ",":
        g = len(first)
        if tuple(toks[k : k + g]) == first and t.upper(k):
            return i0, k + g - 1
        if _initial_ok(t, k, first[0][0]) or _initials_token(t, k, first[0][0], lang):
            return i0, k
        return None
    if gap == "" and _initials_token(t, k, first[0][0], lang):
        after = t.gap(k).lstrip(" ") if k + 1 < len(toks) else ""
        if k + 1 >= len(toks) or after[:1] in (".", ",", ";", ")"):
            return i0, k
    return None


def _initials_token(t: _Tokens, k: int, first: str, lang: str) -> bool:
    """ "HJ" (Vancouver style): one to three upper-case letters starting with the initial.

    Not an ordinary word of ``lang`` in capitals: in "REYES AND HARBOR" or "BEE AT WORK" the
    capitals are shouting, not initials."""
    tok = t.toks[k]
    if not (1 <= len(tok) <= 3 and tok.isalpha() and tok[0] == first and t.all_upper(k)):
        return False
    return tok not in _ONE_LETTER_WORDS if len(tok) == 1 else not is_common(tok, lang)
