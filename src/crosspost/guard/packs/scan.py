"""A whole pack at once: one keyword automaton for all its rules, then each rule's windows.

Scanning rule by rule would look for every keyword of every rule separately; a pack's keywords go
into one Aho-Corasick automaton over a masked copy of ``norm`` instead, and only the rules with a
keyword hit run their regexes. The matcher goes further still (:func:`canon_keyword_keys`,
:func:`confirm_keyword_hits`): the identity automaton it runs anyway carries the pack keywords,
so a post without any needs no pack pass of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from .._text import CANON_TABLE, Normalised
from .engine import Facts, Gate, PackRule, find_keyword_hits, keyword_ok, requires_met
from .registry import PACKS

#: ``norm`` character → itself if alphanumeric, else a space (1:1): keyword boundaries become
#: spaces, so whole-word / prefix / suffix keywords are plain automaton keys (`` st ``,
#: `` client``, ``am ``) and the automaton reports only real keyword hits.
_MASK_ASCII = bytes(b if b < 128 and chr(b).isalnum() else 32 for b in range(256))


class _MaskTable(dict[int, str]):
    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        value = ch if ch.isalnum() else " "
        self[cp] = value
        return value


_MASK_TABLE = _MaskTable()


def _masked(norm: str) -> str:
    """`` `` + ``norm`` with every non-alphanumeric character a space + `` ``."""
    if norm.isascii():
        return " " + norm.encode("ascii").translate(_MASK_ASCII).decode("ascii") + " "
    return " " + norm.translate(_MASK_TABLE) + " "


@dataclass(frozen=True)
class _PackIndex:
    #: masked keys → (offset of the keyword's start from the key's end, keyword length,
    #: keyword to verify in ``norm`` or ``None``, ((rule index, keyword), ...))
    automaton: ahocorasick.Automaton
    #: keywords with non-ASCII punctuation (``📍*``), found with ``in``: (word, keyword, rule)
    literal: tuple[tuple[str, str, int], ...]


_PACK_INDEX: dict[str, _PackIndex] = {}


def _pack_index(name: str) -> _PackIndex:
    index = _PACK_INDEX.get(name)
    if index is None:
        index = _PACK_INDEX[name] = _build_pack_index(name)
    return index


def _build_pack_index(name: str) -> _PackIndex:
    """One keyword automaton per pack: a text is scanned once for all its rules' keywords.

    Alphanumeric keywords are keys of the masked text with their boundaries (`` st `` for
    ``st``, `` client`` for ``client*``, ``am `` for ``*am``): every automaton hit is a keyword
    hit. Keywords with ASCII punctuation (``5-star``, ``*a.m.``) are keyed by their masked core
    (``5 star``, ``a m``) and verified in ``norm``.
    """
    kw: dict[str, list[tuple[int, str]]] = {}
    literal: list[tuple[str, str, int]] = []
    for i, rule in enumerate(PACKS[name]):
        for k in rule.keywords:
            word = k.strip("*")
            if word.isalnum():
                key = ("" if k.startswith("*") else " ") + word + ("" if k.endswith("*") else " ")
            elif word.isascii() and any(ch.isalnum() for ch in word):
                key = "\0" + word  # verified in norm; the masked core is the automaton key
            else:
                literal.append((word, k, i))
                continue
            kw.setdefault(key, []).append((i, k))
    auto = ahocorasick.Automaton()
    for key, entries in kw.items():
        if key.startswith("\0"):
            word = key[1:]
            masked = _masked(word)[1:-1]
            core = masked.strip(" ")
            lead = len(masked) - len(masked.lstrip(" "))
            # start of the word = end of the core - len(core) + 1 - 1 (padding) - lead
            auto.add_word(core, (len(core) + lead, len(word), word, tuple(entries)))
        else:
            lead = 1 if key.startswith(" ") else 0
            auto.add_word(key, (len(key) - lead, len(key.strip(" ")), None, tuple(entries)))
    auto.make_automaton()
    return _PackIndex(auto, tuple(literal))


def pack_keyword_hits(name: str, norm: str) -> dict[int, list[tuple[int, int, str]]]:
    """Keyword hits per rule index: :func:`.engine.find_keyword_hits` of every rule of the pack.

    Rules are ordered by their first hit (end position, longer keyword first), as a scan of
    ``norm`` with an automaton of the bare keywords would report them.
    """
    index = _PACK_INDEX.get(name) or _pack_index(name)
    found: list[tuple[int, int, int, int, str]] = []  # (end, -length, rule, start, keyword)
    if norm.isascii():
        masked = " " + norm.encode("ascii").translate(_MASK_ASCII).decode("ascii") + " "
    else:
        masked = " " + norm.translate(_MASK_TABLE) + " "
        for word, k, i in index.literal:
            if word in norm:
                for s, e, _ in find_keyword_hits(norm, (k,)):
                    found.append((e, s - e, i, s, k))
    for end, (back, length, verify, entries) in index.automaton.iter(masked):
        start = end - back
        for i, k in entries:
            if verify is not None and not (
                norm.startswith(verify, start) and keyword_ok(norm, start, start + length, k)
            ):
                continue
            found.append((start + length, -length, i, start, k))
    return _by_rule(found)


def _by_rule(
    found: list[tuple[int, int, int, int, str]],
) -> dict[int, list[tuple[int, int, str]]]:
    """Keyword hits ``(end, -length, rule, start, keyword)`` grouped by rule, in text order."""
    if not found:
        return {}
    if len(found) == 1:
        end, _, i, start, k = found[0]
        return {i: [(start, end, k)]}
    found.sort()
    hits: dict[int, list[tuple[int, int, str]]] = {}
    for end, _, i, start, k in found:
        hits.setdefault(i, []).append((start, end, k))
    return hits


#: One keyword of one rule, as the identity automaton carries it: ``(pack, rule index, the
#: keyword's ``Gate`` in that rule, keyword, word, needs a boundary before, needs a boundary
#: after)``.
KeywordProbe = tuple[str, int, Gate, str, str, bool, bool]
#: The probes of one canon key (a keyword listed by several rules has one probe per rule).
KeywordCandidates = tuple[KeywordProbe, ...]


def canon_keyword_keys(name: str) -> dict[str, KeywordCandidates]:
    """The pack's keywords as keys of the ``canon`` view, for the identity automaton.

    ``canon`` is the masked copy of ``norm`` with the digit/letter fold and runs of spaces
    collapsed, so wherever a keyword's masked key occurs in the masked copy, its folded and
    collapsed form occurs in ``canon``: the identity scan, which reads ``canon`` anyway, finds
    every keyword that may occur (and a few that do not: ``c1ient``, ``in`` for ``ln``), and a
    post without any needs no pack pass of its own. :func:`confirm_keyword_hits` then finds
    the real hits in ``norm``. Keywords with non-ASCII punctuation (``📍*``) have no ``canon``
    form; they stay on the ``in`` test of :func:`confirm_keyword_hits`.
    """
    keys: dict[str, list[KeywordProbe]] = {}
    for i, rule in enumerate(PACKS[name]):
        for k in rule.keywords:
            word = k.strip("*")
            if not (word.isalnum() or (word.isascii() and any(ch.isalnum() for ch in word))):
                continue
            masked = _masked(word)  # padded: the boundaries, unless a prefix/suffix keyword
            if k.startswith("*"):
                masked = masked.lstrip(" ")
            if k.endswith("*"):
                masked = masked.rstrip(" ")
            key = re.sub(" +", " ", masked.translate(CANON_TABLE))
            probe = (name, i, rule.gate(k), k, word, not k.startswith("*"), not k.endswith("*"))
            keys.setdefault(key, []).append(probe)
    return {key: tuple(probes) for key, probes in keys.items()}


def literal_keywords(name: str) -> tuple[str, ...]:
    """The pack's keywords that only an ``in`` test finds (non-ASCII punctuation: ``📍``):
    a non-ASCII post without any of them and without a ``canon`` keyword has no hit."""
    return tuple(word for word, _, _ in _pack_index(name).literal)


def confirm_keyword_hits(
    name: str, n: Normalised, candidates: Iterable[KeywordCandidates], facts: Facts
) -> dict[int, list[tuple[int, int, str]]]:
    """:func:`pack_keyword_hits`, given the keywords the ``canon`` scan found (each canon key
    once), leaving out the rules that cannot match.

    Only the candidates are looked for in ``norm`` (C-level ``find``, the check of
    ``keyword_ok`` inline) instead of a second automaton pass over a masked copy of the whole
    text. A rule all of whose candidate keywords are gated (every pattern they anchor
    ``requires`` a literal, and the text holds none: "street" but no digit for a street
    address) would match nothing, so it is left out before any ``find``. The other rules get
    exactly their hits of :func:`pack_keyword_hits`, in the same order (rules by first hit).
    """
    norm = n.norm
    found: list[tuple[int, int, int, int, str]] = []  # (end, -length, rule, start, keyword)
    live: set[int] = set()
    if not norm.isascii():
        index = _PACK_INDEX.get(name) or _pack_index(name)
        for word, k, i in index.literal:
            if word in norm:
                for s, e, _ in find_keyword_hits(norm, (k,)):
                    found.append((e, s - e, i, s, k))
                    live.add(i)
    for probes in candidates:
        for pack, i, gate, _, _, _, _ in probes:
            if i in live or pack != name:
                continue
            if gate is None:
                live.add(i)
                continue
            for requires in gate:
                met = facts.get(id(requires))
                if met if met is not None else requires_met(n, requires, facts):
                    live.add(i)
                    break
    if not live:
        return {}
    size = len(norm)
    for probes in candidates:
        for pack, i, _, k, word, left, right in probes:
            if i not in live or pack != name:
                continue
            pos = norm.find(word)
            while pos >= 0:
                end = pos + len(word)
                if not (left and pos > 0 and norm[pos - 1].isalnum()) and not (
                    right and end < size and norm[end].isalnum()
                ):
                    found.append((end, pos - end, i, pos, k))
                pos = norm.find(word, pos + 1)
    return _by_rule(found)


def scan_pack(name: str, n: Normalised) -> list[tuple[PackRule, int, int]]:
    hits = pack_keyword_hits(name, n.norm)
    if not hits:
        return []
    rules = PACKS[name]
    out = []
    for i, kw_hits in hits.items():
        rule = rules[i]
        for s, e in rule.scan(n, kw_hits):
            out.append((rule, s, e))
    return out
