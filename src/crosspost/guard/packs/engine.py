"""How one pack rule is written and run: its patterns, keyword windows and validators.

A rule pack (``clinician``…) is data: each rule is a ``PackRule`` whose patterns are built with
:func:`compile_pattern`. This module is the part that is the same for every pack, so a new pack
is a module of rules (see :mod:`.clinician`) and one line in :mod:`.registry`; the whole-pack
keyword automaton lives in :mod:`.scan`.

Each rule is data, in the style of gitleaks/detect-secrets: an id, a default severity, cheap
keywords that must occur before any regex runs, the regexes, an optional validator that looks at
the original text (capitalisation is gone in the normalised copy), and inline true-positive and
false-positive fixtures that ``tests/guard/test_packs.py`` validates.

The patterns run over the ``norm`` view (lowercase, compatibility forms, confusables and invisible
characters folded, punctuation kept), so they are not fooled by ``іn ѕession`` or zero-width
characters, and report offsets into the original text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from .._text import Normalised

Validator = Callable[[Normalised, "re.Match[str]"], bool]

#: The ``requires`` of patterns whose every match holds a digit (a time, an age, a house
#: number). :func:`requires_met` answers it from ``Normalised.digits``, which the phone scan
#: computes anyway, instead of looking for ten literals.
NEEDS_DIGIT = tuple("0123456789")


@dataclass(frozen=True)
class Pattern:
    #: the regex's source; compiled on first use (``regex``), so a command whose personas use
    #: no pack does not compile its patterns at every start
    source: str
    validate: Validator | None = None
    #: keywords (of the rule's) that anchor this pattern; ``None``: all of the rule's
    keywords: frozenset[str] | None = None
    #: the pattern runs in ``[keyword - before, keyword + after]``
    before: int = 200
    after: int = 160
    #: every match starts where one of the pattern's keywords starts (a keyword hit): the regex
    #: is tried there only (``match``), instead of ``search``-ing the whole window
    anchored: bool = False
    #: a regex that matches wherever a match of ``regex`` can start (a necessary condition with
    #: a literal or character-set prefix the ``re`` engine skips to quickly); ``regex`` is only
    #: tried at its matches. Same results as searching the window, fewer positions tried.
    first_source: str | None = None
    #: every match contains one of these strings: a window without any of them is skipped
    requires: tuple[str, ...] | None = None

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.source)

    @cached_property
    def first(self) -> re.Pattern[str] | None:
        return re.compile(self.first_source) if self.first_source else None


@dataclass(frozen=True)
class PackRule:
    id: str
    severity: str
    summary: str
    rationale: str
    keywords: tuple[str, ...]
    patterns: tuple[Pattern, ...]
    message: str
    true_positives: tuple[str, ...]
    false_positives: tuple[str, ...]
    notes: str = ""

    @cached_property
    def _patterns_by_keyword(self) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
        """Indices of the patterns each keyword anchors (and of those all keywords anchor)."""
        unrestricted = tuple(j for j, p in enumerate(self.patterns) if p.keywords is None)
        by_keyword = {
            kw: tuple(
                j for j, p in enumerate(self.patterns) if p.keywords is None or kw in p.keywords
            )
            for kw in self.keywords
        }
        return by_keyword, unrestricted

    def gate(self, keyword: str) -> Gate:
        """What a text must contain for a hit of ``keyword`` to matter (see ``Gate``)."""
        by_keyword, unrestricted = self._patterns_by_keyword
        patterns = [self.patterns[j] for j in by_keyword.get(keyword, unrestricted)]
        if any(p.requires is None for p in patterns):
            return None
        return tuple({p.requires: None for p in patterns if p.requires is not None})

    def scan(
        self,
        n: Normalised,
        keyword_hits: list[tuple[int, int, str]] | None = None,
        facts: Facts | None = None,
    ) -> list[tuple[int, int]]:
        """``norm`` spans of matches; patterns only run in windows around keyword hits.

        Within a window the result is exactly that of ``regex.search`` from the window's start
        (then after each match), with the window's end as ``endpos``; ``anchored`` and
        ``first`` only skip positions where no match can start. ``facts`` carries what is
        already known about the whole text's ``requires`` literals (see ``requires_met``).
        """
        norm = n.norm
        if keyword_hits is None:
            keyword_hits = find_keyword_hits(norm, self.keywords)
        if not keyword_hits:
            return []
        by_keyword, unrestricted = self._patterns_by_keyword
        patterns = self.patterns
        size = len(norm)
        out: list[tuple[int, int]] = []
        if len(keyword_hits) == 1:  # the usual case: one window per pattern
            s, e, kw = keyword_hits[0]
            for j in by_keyword.get(kw, unrestricted):
                pat = patterns[j]
                _search(pat, n, max(0, s - pat.before), min(size, e + pat.after), (s,), out, facts)
            return out
        keyword_hits = sorted(keyword_hits)
        found = {kw for _, _, kw in keyword_hits}
        if len(found) == 1:
            active: Iterable[int] = by_keyword.get(found.pop(), unrestricted)
        else:
            active = sorted({j for kw in found for j in by_keyword.get(kw, unrestricted)})
        for j in active:
            pat = patterns[j]
            kws = pat.keywords
            windows: list[list[int]] = []
            starts: list[int] = []
            for s, e, kw in keyword_hits:
                if kws is not None and kw not in kws:
                    continue
                starts.append(s)
                lo, hi = max(0, s - pat.before), min(size, e + pat.after)
                if windows and lo <= windows[-1][1]:
                    windows[-1][1] = max(windows[-1][1], hi)
                else:
                    windows.append([lo, hi])
            for lo, hi in windows:
                _search(pat, n, lo, hi, starts, out, facts)
        return out


#: ``requires`` tuple (by ``id``) → whether the whole ``norm`` holds one of its literals.
Facts = dict[int, bool]
#: The ``requires`` tuples of the patterns a keyword anchors, when each of them has one: a text
#: holding none of their literals gets nothing from that keyword. ``None``: some pattern has
#: no ``requires``, so every hit of the keyword counts.
Gate = tuple[tuple[str, ...], ...] | None


def requires_met(n: Normalised, requires: tuple[str, ...], facts: Facts) -> bool:
    """Whether ``norm`` holds one of ``requires`` (each tuple looked at once per text)."""
    met = facts.get(id(requires))
    if met is None:
        if requires is NEEDS_DIGIT:
            met = bool(n.digits)  # shared with the phone scan
        else:
            norm = n.norm
            met = False
            for literal in requires:
                if literal in norm:
                    met = True
                    break
        facts[id(requires)] = met
    return met


def _search(
    pat: Pattern,
    n: Normalised,
    lo: int,
    hi: int,
    starts: Iterable[int],
    out: list[tuple[int, int]],
    facts: Facts | None = None,
) -> None:
    """Append the spans of ``pat``'s matches in ``norm[lo:hi]``: ``search`` from ``lo``, then
    after each match (after a rejected match's start), with ``hi`` as ``endpos``."""
    norm = n.norm
    requires = pat.requires
    if requires is not None:
        # what is known of the whole text settles it when the text lacks every literal, or
        # when the window is the whole text (a short post)
        met = facts.get(id(requires)) if facts is not None else None
        if met is None or (met and (lo > 0 or hi < len(norm))):
            window = norm[lo:hi]
            for literal in requires:
                if literal in window:
                    break
            else:
                return
        elif not met:
            return
    regex, validate, first = pat.regex, pat.validate, pat.first
    pos = lo
    if pat.anchored:  # matches start at keyword hits (sorted): try only those
        for c in starts:
            if c < pos:
                continue
            if c >= hi:
                break
            m = regex.match(norm, c, hi)
            if m is None:
                continue
            if validate is None or validate(n, m):
                out.append(m.span())
                pos = max(m.end(), m.start() + 1)
            else:
                pos = m.start() + 1
        return
    while True:
        if first is None:
            m = regex.search(norm, pos, hi)
            if m is None:
                return
        else:  # matches start where `first` matches: try only there
            f = first.search(norm, pos, hi)
            if f is None:
                return
            m = regex.match(norm, f.start(), hi)
            if m is None:
                pos = f.start() + 1
                continue
        if validate is None or validate(n, m):
            out.append(m.span())
            pos = max(m.end(), m.start() + 1)
        else:
            pos = m.start() + 1  # a rejected match may hide a later valid one


def keyword_ok(norm: str, start: int, end: int, kw: str) -> bool:
    """Keywords match whole words; ``word*`` also as a prefix, ``*word`` also as a suffix."""
    if not kw.startswith("*") and start > 0 and norm[start - 1].isalnum():
        return False
    return kw.endswith("*") or end >= len(norm) or not norm[end].isalnum()


def find_keyword_hits(norm: str, keywords: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """Fallback without the pack automaton (a single rule scanned on its own, and keywords
    with non-ASCII punctuation, which the automaton does not key)."""
    out = []
    for kw in keywords:
        word = kw.strip("*")
        pos = norm.find(word)
        while pos >= 0:
            if keyword_ok(norm, pos, pos + len(word), kw):
                out.append((pos, pos + len(word), kw))
            pos = norm.find(word, pos + 1)
    return out


def compile_pattern(
    pattern: str,
    validate: Validator | None = None,
    *,
    keywords: str | None = None,
    before: int = 200,
    after: int = 160,
    anchored: bool = False,
    first: str | None = None,
    requires: tuple[str, ...] | None = None,
) -> Pattern:
    """A ``Pattern`` from source text: rule modules read as tables of regexes, keywords as
    one space-separated string."""
    kws = frozenset(keywords.split()) if keywords else None
    return Pattern(pattern, validate, kws, before, after, anchored, first, requires)
