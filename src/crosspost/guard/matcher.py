"""The content guard: compile every persona once, then check texts in linear time.

``build_matcher`` does the expensive part — normalising every identifier into canonical token
keys (see :mod:`._identity`) and compiling one Aho-Corasick automaton over all of them, for all
personas at once. ``check_content`` then does, per text field:

1. one normalisation pass (``Normalised``: C-level ``translate``/``split``/``join``);
2. one automaton scan of the canonical token stream (identity of other personas, own
   ``never_mention`` terms, everyone's plain ``confidential`` identifiers). The same scan also
   reports the triggers of step 3 that live in ``canon``: the opted-in packs' keywords and
   pairs of single letters, so a short post with none of them costs no further pass;
3. cheap extras that only run when their trigger is present: runs of single letters
   (``a n a b e e``), ``@mentions`` of short handles, digit runs that may be phone numbers, keyed
   hashes of word windows (only when hashed confidential identifiers exist), and the opted-in
   rule packs (keyword pre-filtered regexes, only for rules whose required literals occur).

A short post is checked in microseconds, so ``check_content`` keeps per-post work (objects,
lookups, passes) to what the post needs; the full paths stay for what the fast ones find.

Findings carry offsets into the field's original text (``text[start:end] == match``).
"""

from __future__ import annotations

import operator
import re
import string
import sys
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import ahocorasick

from ._disclosure import sentence
from ._identity import SOCIAL_PLATFORMS as _SOCIAL
from ._identity import (
    HandleKeys,
    Mention,
    NameForms,
    Phrase,
    domain_phrases,
    email_phrases,
    genitive_phrases,
    handle_keys,
    host_of,
    identity_domain,
    name_phrases,
    parse_name,
    phrases_for_words,
    registrable,
    term_phrases,
    url_phrases,
)
from ._names import ANY_TITLES, all_common, distinctive, inflected, read_surname
from ._phones import MIN_DIGITS as PHONE_MIN_DIGITS
from ._phones import PhoneIndex, PhoneKey, find_phones, phone_variants
from ._text import Normalised, canon_key
from ._words import language
from .confidential import HashedTerm, WindowHasher, parse_hash
from .findings import Finding
from .packs import (
    PACK_RULES,
    PACKS,
    Facts,
    KeywordCandidates,
    KeywordProbe,
    canon_keyword_keys,
    confirm_keyword_hits,
    literal_keywords,
    pack_keyword_hits,
)
from .profile import GuardProfile
from .rules import RULES, effective_severity

__all__ = [
    "TABLES_FORMAT",
    "IdentityTables",
    "Matcher",
    "TextField",
    "build_matcher",
    "check_content",
    "compile_identity",
]


@dataclass(frozen=True)
class TextField:
    """One published piece of a post (``body``, ``title``, ``tags``, ``media[0].alt``…)."""

    name: str
    text: str

    def __init__(self, name: str, text: str) -> None:
        # Kept by @dataclass instead of its frozen __init__, which goes through
        # object.__setattr__ per field: a short post is checked in microseconds, and creating
        # its fields was a measurable part of that. Still frozen: assignment raises.
        d = self.__dict__
        d["name"] = name
        d["text"] = text


@dataclass(frozen=True)
class KeyInfo:
    rule: str  # identity | never-mention | confidential
    kind: str  # name | handle | domain | email | term | phone
    owner: str
    value: str  # as configured (for the message)
    exact: str | None = None  # short identifiers must equal this unfolded form
    #: a person's name split into its parts (names and confidential names; the ``surname``
    #: keys): what the matcher needs to read "H. Marsh", "Marsh, Heather"…
    name: NameForms | None = None
    #: the key is a form of this language only (the German genitive "Heather Marshs")
    lang: str | None = None
    #: punctuation the configured value itself has between its words ("St. Mary's"): allowed
    #: between the words of a match too
    punct: frozenset[str] = frozenset()


#: Punctuation that separates the words of a text (sentences, list items, hashtags): a name
#: or term whose words are separated by it is not written as one ("reedbed, heather, marsh",
#: "#heather #marsh", "swim kit. Severn Beach").
_GAP_PUNCT = re.compile(r"[.,;:!?#|\n*]")

# Priority when several identifiers match the same span (most specific first).
_KIND_ORDER = {
    "email": 0,
    "domain": 1,
    "handle": 2,
    "phone": 3,
    "name": 4,
    "term": 5,
    "surname": 6,
}


def _has_split_run(canon: str) -> bool:
    """Two single-character tokens in a row (`` a n ``) somewhere in ``canon``.

    ``canon`` is alphanumerics and single spaces, so that is three spaces two apart: three
    spaces in a row in the even or the odd characters (C-level slicing and ``in``).
    """
    return "   " in canon[::2] or "   " in canon[1::2]


#: `` a b ``: two single-character tokens in a row, for every ASCII character ``canon`` can
#: hold. As keys of the identity automaton they detect split-letter runs in the same pass
#: (``_has_split_run`` costs two slices and two searches per post).
_SPLIT_KEYS = tuple(
    f" {a} {b} "
    for a in string.ascii_letters + string.digits
    for b in string.ascii_letters + string.digits
)
#: The probe the split keys carry: of no pack (``confirm_keyword_hits`` skips it).
_SPLIT_PROBE: KeywordProbe = ("", -1, None, "", "", False, False)
_RUN_RE = re.compile(r"(?<= )\S(?: \S)+(?= )")
_MENTION_RE = re.compile(r"(?<![\w@])@(\w+)(?:@((?:[\w\-]+\.)+[\w\-]+))?")
_ONE_LETTER_WORDS = frozenset({"a", "i", "o"})
#: Identifiers found *inside* a run of split letters (``h t t p s : / / a n a b e e``) need at
#: least this many letters.
SPLIT_MIN = 5
_HASH_CACHE_MAX = 200_000


@dataclass(repr=False)
class Matcher:
    """Compiled guard configuration; build it with :func:`build_matcher` and cache it.

    The automaton's values name their identifiers by index (``_info``): a matcher loaded
    from a cache makes the ``KeyInfo`` of an identifier when a text first contains it, not
    tens of thousands of them on every start.
    """

    personas: Mapping[str, GuardProfile]
    notes: tuple[str, ...] = ()
    _automaton: object | None = None
    #: packs whose keywords are keys of ``_automaton`` too (see ``canon_keyword_keys``)
    _pack_keys: frozenset[str] = frozenset()
    #: ``_automaton`` has the ``_SPLIT_KEYS``: it detects split-letter runs in ASCII ``canon``
    _split_keys: bool = False
    #: the identifiers: made from ``_rows`` (plain data, see ``compile_identity``) on first
    #: use; the confidential ones (never cached) are made by ``build_matcher``
    _infos: list[KeyInfo | None] = field(default_factory=list)
    _rows: _Rows | None = None
    #: the keys written without spaces, looked up inside split-letter runs (rare)
    _split_index: _SplitIndex | None = None
    _max_tokens: int = 1
    _own_keys: dict[str, frozenset[str]] = field(default_factory=dict)
    _own_phones: dict[str, frozenset[str]] = field(default_factory=dict)
    _mentions: dict[str, list[tuple[KeyInfo, Mention]]] = field(default_factory=dict)
    _phones: PhoneIndex = field(default_factory=lambda: PhoneIndex({}))
    _hashed: dict[bytes, str] = field(default_factory=dict)
    _hash_words: int = 0
    _secret: bytes | None = None
    #: word window → owner of the hashed identifier it is, ``""`` if none (hashed before)
    _hash_cache: dict[str, str] = field(default_factory=dict)
    #: ``_secret`` and HMAC under it with the keyed states precomputed: made on first use
    _hasher: tuple[bytes, WindowHasher] | None = None
    key_count: int = 0
    _constants: dict[str, _PersonaConstants] = field(default_factory=dict, compare=False)

    def persona_names(self) -> list[str]:
        return list(self.personas)

    def __repr__(self) -> str:
        return f"<Matcher personas={list(self.personas)} keys={self.key_count}>"

    def _info(self, i: int) -> KeyInfo:
        info = self._infos[i]
        if info is None:
            assert self._rows is not None
            info = self._infos[i] = self._rows.info(i)
        return info


@dataclass
class _Rows:
    """The cached identifiers as columns (see ``compile_identity``); ``KeyInfo`` made on
    demand, the ``NameForms`` they share made once."""

    #: distinct ``(rule, kind, owner, lang, punct)``
    combos: Sequence[tuple[str, str, str, str | None, str]]
    combo: Sequence[int]
    value: Sequence[str]
    exact: dict[int, str]
    name: Sequence[int]
    name_rows: Sequence[tuple[Any, ...]]
    names: dict[int, NameForms] = field(default_factory=dict)

    def info(self, i: int) -> KeyInfo:
        rule, kind, owner, lang, punct = self.combos[self.combo[i]]
        nid = self.name[i]
        return KeyInfo(
            rule,
            kind,
            owner,
            self.value[i],
            self.exact.get(i),
            self._name(nid) if nid >= 0 else None,
            lang,
            frozenset(punct),
        )

    def _name(self, i: int) -> NameForms:
        forms = self.names.get(i)
        if forms is None:
            value, titles, given, surname, given_words, surname_words = self.name_rows[i]
            forms = NameForms(
                value,
                frozenset(titles),
                tuple(tuple(g) for g in given),
                tuple(surname),
                tuple(given_words),
                tuple(surname_words),
            )
            self.names[i] = forms
        return forms


@dataclass
class _SplitIndex:
    """The keys written without spaces (``anabee`` for `` ana bee ``), found inside a run of
    letters written one by one (``a n a b e e``).

    Not a second automaton: at 100,000 terms that took seconds and hundreds of megabytes on
    first use. Split-letter runs are short and rare, so every substring of a run (from
    ``SPLIT_MIN`` letters up to the longest key) is looked up by its hash in sorted arrays
    that are part of the cached tables; the entries are what the automaton gave, in the same
    order (by end, longest first; per key in key order).
    """

    #: the cached keys, newline-separated; the index refers to them by offset
    keys: str
    hashes: Sequence[int]
    key_at: Sequence[int]
    info: Sequence[int]
    longest: int
    #: the confidential keys (never cached): joined → (key, identifier, the key is also
    #: a cached key)
    extra: dict[str, list[tuple[str, int, bool]]]

    def entries(self, joined: str) -> list[tuple[str, int]]:
        """``(key, identifier)`` of the keys that are ``joined`` without spaces."""
        out: list[tuple[str, int]] = []
        hashes = self.hashes
        h = _split_hash(joined)
        k = bisect_left(hashes, h)
        while k < len(hashes) and hashes[k] == h:
            start = self.key_at[k]
            end = self.keys.find("\n", start)
            key = self.keys[start : end if end >= 0 else len(self.keys)]
            if key.replace(" ", "") == joined:
                out.append((key, self.info[k]))
            k += 1
        for key, i, cached in self.extra.get(joined, ()):
            # after the cached key's own identifiers, as ``build_matcher`` appends them
            at = max((n + 1 for n, (k2, _) in enumerate(out) if k2 == key), default=len(out))
            out.insert(at if cached else len(out), (key, i))
        return out

    def hits(self, letters: str) -> Iterator[tuple[int, int, list[tuple[str, int]]]]:
        """``(end, length, entries)`` for every key inside ``letters``."""
        for end in range(SPLIT_MIN - 1, len(letters)):
            for length in range(min(self.longest, end + 1), SPLIT_MIN - 1, -1):
                entries = self.entries(letters[end - length + 1 : end + 1])
                if entries:
                    yield end, length, entries


@dataclass(frozen=True)
class _PersonaConstants:
    """What ``check_content`` looks up about the posting persona: the same for every post, so
    computed once per matcher and persona (a short post is checked in microseconds, and these
    lookups were a measurable part of that)."""

    profile: GuardProfile | None
    own_keys: frozenset[str]
    packs: tuple[str, ...]
    #: some of ``packs`` have no keys in the automaton: their keywords need their own pass
    packs_unindexed: bool
    #: the language its posts are written in (primary subtag; "en" unless configured)
    lang: str = "en"
    #: keywords of ``packs`` the automaton cannot see (non-ASCII punctuation, ``literal_keywords``)
    literals: tuple[str, ...] = ()


def _persona_constants(m: Matcher, persona: str) -> _PersonaConstants:
    consts = m._constants.get(persona)
    profile = m.personas.get(persona)
    if consts is None or consts.profile is not profile:
        packs = tuple(profile.packs) if profile is not None else ()
        consts = _PersonaConstants(
            profile,
            m._own_keys.get(persona, frozenset()),
            packs,
            any(p not in m._pack_keys for p in packs),
            language(profile.lang if profile is not None else None),
            tuple(w for p in packs if p in m._pack_keys for w in literal_keywords(p)),
        )
        m._constants[persona] = consts
    return consts


# ---------------------------------------------------------------------------------------------
# building


#: One identifier as plain data, as the builder interns it: ``(rule, kind, owner, value, exact,
#: name id, lang, punct)`` — ``KeyInfo``'s fields with the name as an index into the builder's
#: names and the punctuation as a sorted string. Equal rows are equal ``KeyInfo``.
_Row = tuple[str, str, str, str, "str | None", int, "str | None", str]


class _Builder:
    """The keys of a configuration, each with the identifiers (interned rows, by index) it
    stands for. A key's identifiers are ints, not objects: at 100,000 terms there are about
    half a million keys, and one object per key and identifier was most of the memory."""

    def __init__(self, langs: frozenset[str] = frozenset({"en"})) -> None:
        #: the languages the personas write in
        self.langs = langs
        #: canon key → indexes of its identifiers in ``rows``
        self.keys: dict[str, list[int]] = {}
        self.rows: dict[_Row, int] = {}
        self.names: dict[NameForms, int] = {}
        self.mentions: dict[str, list[tuple[int, Mention]]] = {}
        self.max_tokens = 1

    def name_id(self, forms: NameForms | None) -> int:
        if forms is None:
            return -1
        return self.names.setdefault(forms, len(self.names))

    def row_id(self, row: _Row) -> int:
        return self.rows.setdefault(row, len(self.rows))

    def add(
        self,
        phrases: Iterable[Phrase],
        rule: str,
        kind: str,
        owner: str,
        value: str,
        *,
        name: NameForms | None = None,
        lang: str | None = None,
    ) -> None:
        punct = "".join(sorted(set(_GAP_PUNCT.findall(value))))
        nid = self.name_id(name)
        by_exact: dict[str | None, int] = {}  # this value's rows: they differ only in exact
        keys = self.keys
        for p in phrases:
            key = p.key or canon_key(p.tokens)
            rid = by_exact.get(p.exact)
            if rid is None:
                rid = by_exact[p.exact] = self.row_id(
                    (rule, kind, owner, value, p.exact, nid, lang, punct)
                )
            ids = keys.get(key)
            if ids is None:
                keys[key] = [rid]
            elif rid not in ids:
                ids.append(rid)
            if len(p.tokens) > self.max_tokens:
                self.max_tokens = len(p.tokens)

    def add_name(self, value: str, rule: str, kind: str, owner: str) -> None:
        """A person's name: the name itself (and with/without title), its German genitive, and
        its surname (which the matcher reads in context: "H. Marsh", "Marsh, H.", "Mrs …")."""
        forms = parse_name(value)
        phrases = name_phrases(value)
        self.add(phrases, rule, kind, owner, value, name=forms)
        self.add(genitive_phrases(phrases), rule, kind, owner, value, name=forms, lang="de")
        if forms is None:
            return
        surnames = [forms.surname]
        plural = inflected(forms.surname)
        # "the Brannigans", "Frau Brannigans": for an ordinary word in every language of the
        # configuration ("bees", "marshes") that would only find the word
        if plural is not None and any(distinctive(forms.surname_words, x) for x in self.langs):
            surnames.append(plural)
        for tokens in surnames:
            phrases = phrases_for_words(list(tokens))
            self.add(phrases, rule, "surname", owner, value, name=forms)

    def add_handle(self, hk: HandleKeys, owner: str, value: str) -> None:
        self.add(hk.phrases, "identity", "handle", owner, value)
        for m in hk.mentions:
            rid = self.row_id(("identity", "handle", owner, value, None, -1, None, ""))
            self.mentions.setdefault(m.user, []).append((rid, m))
        for dom in hk.domains:
            self.add(domain_phrases(dom), "identity", "domain", owner, dom)


def _url_identity(b: _Builder, url: str, owner: str) -> None:
    """A blog or endpoint URL: its own domain, or its path on a shared host."""
    host, path = host_of(url)
    if not host:
        return
    dom = identity_domain(host, explicit=False)
    if dom:
        b.add(domain_phrases(dom), "identity", "domain", owner, dom)
    elif path:
        b.add(url_phrases(host, path), "identity", "domain", owner, f"{host}/{path}")


def _validate(profiles: Sequence[GuardProfile]) -> None:
    names = [p.name for p in profiles]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"duplicate persona names: {', '.join(sorted(dupes))}")
    for p in profiles:
        unknown = [k for k in p.packs if k not in PACKS]
        if unknown:
            raise ValueError(
                f"persona '{p.name}': unknown rule pack(s) {', '.join(unknown)}; "
                f"known packs: {', '.join(PACKS)}"
            )
        unknown_rules = [
            r
            for r in p.severity
            if r not in RULES and r != "routing" and not any(k.startswith(r + ".") for k in RULES)
        ]
        if unknown_rules:
            raise ValueError(
                f"persona '{p.name}': severity set for unknown rule(s) "
                f"{', '.join(unknown_rules)}; known rules: {', '.join(RULES)}"
            )


def _langs(profiles: Sequence[GuardProfile]) -> frozenset[str]:
    return frozenset(language(p.lang) for p in profiles) | {"en"}


@dataclass
class _Identity:
    """The expensive, cacheable part of a matcher: every persona's identity and
    ``never_mention`` keys, mentions and phone numbers. Never a confidential identifier."""

    builder: _Builder
    notes: list[str]
    phones: dict[str, list[PhoneKey]]
    own_phones: dict[str, set[str]]


def _build_identity(profiles: Sequence[GuardProfile]) -> _Identity:
    b = _Builder(_langs(profiles))
    notes: list[str] = []
    phones: dict[str, list[PhoneKey]] = {}
    own_phones: dict[str, set[str]] = {}

    for p in profiles:
        o = p.name
        for value in ([p.display_name] if p.display_name else []) + list(p.names):
            b.add_name(value, "identity", "name", o)
        for value in p.terms:
            b.add(term_phrases(value), "identity", "term", o, value)
        for value in p.handles:
            b.add_handle(handle_keys(value), o, value)
        for acc in p.accounts:
            if acc.handle:
                b.add_handle(handle_keys(acc.handle, acc.platform, acc.url), o, acc.handle)
            if acc.url and acc.platform.lower() not in _SOCIAL:
                _url_identity(b, acc.url, o)
        for value in p.domains:
            host, path = host_of(value)
            dom = identity_domain(host, explicit=True)
            if dom:
                b.add(domain_phrases(dom), "identity", "domain", o, dom)
            if path:
                b.add(url_phrases(host, path), "identity", "domain", o, value)
        if p.blog_url:
            _url_identity(b, p.blog_url, o)
        for value in p.emails:
            phrases, dom = email_phrases(value)
            b.add(phrases, "identity", "email", o, value)
            if dom:
                b.add(domain_phrases(dom), "identity", "domain", o, dom)
        for value in p.phones:
            e164, variants = phone_variants(value, p.phone_region)
            if not variants:
                notes.append(
                    f"persona '{o}': phone '{value}' is not used as identity (an emergency/"
                    "crisis line, too short, or unparsable)"
                )
                continue
            phone = PhoneKey(o, value, e164)
            for v in variants:
                phones.setdefault(v, []).append(phone)
                own_phones.setdefault(o, set()).add(v)
        for value in p.never_mention:
            b.add(term_phrases(value), "never-mention", "term", o, value)
    # Warms the public-suffix data while compiling: checking a text never needs it, so a
    # matcher read from a cache does not import the parser (and the HTTP stack it brings).
    registrable("warm.example")
    return _Identity(b, notes, phones, own_phones)


#: Version of the plain-data form of :class:`IdentityTables`; a cache written in another
#: version is rebuilt.
TABLES_FORMAT = 2
#: Plain data (str, int, None, bytes, tuples, lists and dicts of them): what a matcher cache
#: stores. See :func:`compile_identity`.
IdentityTables = dict[str, Any]


def compile_identity(profiles: Sequence[GuardProfile]) -> IdentityTables:
    """The expensive part of :func:`build_matcher` as plain data, for a cache on disk.

    It holds the personas' identity and ``never_mention`` keys, mentions and phone numbers —
    everything but the confidential identifiers (plain ones are added, and hashed ones
    read, by :func:`build_matcher` on every start, so they never reach a cache file). Only
    values that ``marshal`` writes as they are: a cache needs no pickle.

    The form is flat so that 100,000 terms (about half a million keys) stay compact on disk
    and in memory: the keys are one newline-separated string, each key's identifiers an
    index into a table of distinct id tuples, the identifiers columns (``bytes`` of machine
    ints where they are numbers), and the split-letter index (see :class:`_SplitIndex`) is
    precomputed as sorted hashes.
    """
    _validate(profiles)
    return _tables(_build_identity(profiles))


def _ints(data: bytes, code: str = "I") -> array[int]:
    out = array(code)
    out.frombytes(data)
    return out


def _split_hash(joined: str) -> int:
    """Stable over processes (``hash`` is salted): the split-letter index is cached."""
    return zlib.crc32(joined.encode("utf-8", "surrogatepass"))


def _tables(ident: _Identity) -> IdentityTables:
    b = ident.builder
    rows = list(b.rows)
    b.rows.clear()
    keys = list(b.keys)
    id_lists = list(b.keys.values())
    b.keys.clear()
    # each key's identifiers as an index into the distinct id tuples: an identifier's
    # variants (an email's twelve spellings) share one
    group_of: dict[tuple[int, ...], int] = {}
    key_group = array("I", [group_of.setdefault(tuple(ids), len(group_of)) for ids in id_lists])
    flat = array("I", [i for t in group_of for i in t])
    starts = array("I", accumulate((len(t) for t in group_of), initial=0))
    del group_of
    # the split-letter index: per (key, identifier) the hash of the key without spaces and
    # the key's offset in the keys string, sorted by hash (stable: key order within a hash)
    exact = {i for i, r in enumerate(rows) if r[4] is not None}
    joined = [k.replace(" ", "") for k in keys]
    offsets = accumulate((len(k) + 1 for k in keys), initial=0)
    split = [
        (j, off, i)
        for j, off, ids in zip(joined, offsets, id_lists, strict=False)
        if len(j) >= SPLIT_MIN
        for i in ids
        if i not in exact  # exact identifiers never match inside split letters
    ]
    del id_lists
    longest = max((len(j) for j, _, _ in split), default=0)
    try:  # C-level maps: half a million keys
        hashes = array("I", map(zlib.crc32, map(str.encode, [j for j, _, _ in split])))
    except UnicodeEncodeError:  # a lone surrogate in a configured value
        hashes = array("I", [_split_hash(j) for j, _, _ in split])
    order = sorted(range(len(hashes)), key=hashes.__getitem__)
    del joined
    combos: dict[tuple[str, str, str, str | None, str], int] = {}
    info_combo = array(
        "I", (combos.setdefault((r[0], r[1], r[2], r[6], r[7]), len(combos)) for r in rows)
    )
    keys_text = "\n".join(keys)
    del keys
    return {
        "format": TABLES_FORMAT,
        "byteorder": sys.byteorder,
        "keys": keys_text,
        "key_group": key_group.tobytes(),
        "groups": flat.tobytes(),
        "group_starts": starts.tobytes(),
        "combos": list(combos),
        "info_combo": info_combo.tobytes(),
        "info_value": [r[3] for r in rows],
        "info_exact": [(i, r[4]) for i, r in enumerate(rows) if r[4] is not None],
        "info_name": array("i", (r[5] for r in rows)).tobytes(),
        "names": [
            (f.value, tuple(sorted(f.titles)), f.given, f.surname, f.given_words, f.surname_words)
            for f in b.names
        ],
        "split": (
            array("I", [hashes[k] for k in order]).tobytes(),
            array("I", [split[k][1] for k in order]).tobytes(),
            array("I", [split[k][2] for k in order]).tobytes(),
            longest,
        ),
        "mentions": [
            (user, tuple((i, m.user, m.instance) for i, m in entries))
            for user, entries in b.mentions.items()
        ],
        "max_tokens": b.max_tokens,
        "phones": [
            (v, tuple((k.owner, k.value, k.e164) for k in ks)) for v, ks in ident.phones.items()
        ],
        "own_phones": [(o, tuple(sorted(vs))) for o, vs in ident.own_phones.items()],
        "notes": tuple(ident.notes),
    }


def build_matcher(
    profiles: Sequence[GuardProfile],
    *,
    secret: bytes | None = None,
    identity: IdentityTables | None = None,
) -> Matcher:
    """Compile all personas' identities, guard terms and hashes (cache the result).

    ``identity``: what :func:`compile_identity` returned for these same profiles (from a
    cache), instead of compiling it again; the confidential identifiers are added here.
    """
    _validate(profiles)
    t = _tables(_build_identity(profiles)) if identity is None else identity
    if t.get("format") != TABLES_FORMAT or t.get("byteorder") != sys.byteorder:
        raise ValueError(f"matcher tables of format {t.get('format')!r}, not {TABLES_FORMAT}")
    key_group = _ints(t["key_group"])
    flat = _ints(t["groups"])
    starts = _ints(t["group_starts"])
    info_combo = _ints(t["info_combo"])
    combos: list[tuple[str, str, str, str | None, str]] = [tuple(c) for c in t["combos"]]
    row_count = len(info_combo)
    groups = [tuple(flat[starts[g] : starts[g + 1]]) for g in range(len(starts) - 1)]
    del flat, starts
    # a key is a persona's own when one of its identifiers is that persona's identity
    identity_owner = [c[2] if c[0] == "identity" else None for c in combos]
    group_owners = [
        tuple({o for i in ids if (o := identity_owner[info_combo[i]]) is not None})
        for ids in groups
    ]
    notes = list(t["notes"])

    # The confidential identifiers: compiled here on every build, never part of the tables
    # a cache stores (a client's name must not sit in a cache file).
    conf = _Builder(_langs(profiles))
    hashed: dict[bytes, str] = {}
    hash_words = 0
    for p in profiles:
        o = p.name
        for value in p.confidential:
            conf.add_name(value, "confidential", "term", o)
        for value in p.confidential_hashes:
            h: HashedTerm = parse_hash(value)
            hashed[h.digest] = o
            hash_words = max(hash_words, h.words)
    conf_names = list(conf.names)
    infos: list[KeyInfo | None] = [None] * row_count
    for rule, kind, owner, value, exact, nid, lang, punct in conf.rows:
        name = conf_names[nid] if nid >= 0 else None
        infos.append(KeyInfo(rule, kind, owner, value, exact, name, lang, frozenset(punct)))
    if hashed and not secret:
        notes.append(
            f"{len(hashed)} hashed confidential identifier(s) cannot be checked: no secret "
            "(store one with `crosspost guard add-confidential`)"
        )

    # The packs' keywords ride along in the identity automaton (one pass over ``canon`` finds
    # both), so a post without any keyword never pays for a pack pass of its own.
    pack_names = sorted({k for p in profiles for k in p.packs})
    pack_keys: dict[str, list[KeywordProbe]] = {}
    for pack in pack_names:
        for key, probes in canon_keyword_keys(pack).items():
            pack_keys.setdefault(key, []).extend(probes)

    keys_text: str = t["keys"]
    own: dict[str, list[str]] = {}
    automaton = ahocorasick.Automaton()
    add = automaton.add_word
    no_probes: tuple[KeywordProbe, ...] = ()
    if key_group:
        # the usual case, tens or hundreds of thousands of keys: one value tuple per key,
        # the id tuples shared
        for key, g in zip(keys_text.split("\n"), key_group, strict=True):
            add(key, (len(key), key, groups[g], no_probes))
            for o in group_owners[g]:
                own.setdefault(o, []).append(key)
    del group_owners
    key_count = len(key_group)
    split_extra: dict[str, list[tuple[str, int, bool]]] = {}
    changed: dict[str, tuple[int, ...]] = {}  # keys whose value is not the cached one
    for key, rids in conf.keys.items():
        old = automaton.get(key, None)
        ids = tuple(row_count + r for r in rids)
        if old is None:
            key_count += 1
        changed[key] = (old[2] if old is not None else ()) + ids
        joined = key.replace(" ", "")
        if len(joined) >= SPLIT_MIN:
            for i in ids:
                info = infos[i]
                if info is not None and info.exact is None:
                    split_extra.setdefault(joined, []).append((key, i, old is not None))
    for key in _SPLIT_KEYS:  # ride along: they only ever come back in ``pack_keywords``
        pack_keys.setdefault(key, []).append(_SPLIT_PROBE)
    for key in pack_keys:
        if key not in changed:
            old = automaton.get(key, None)
            changed[key] = old[2] if old is not None else ()
    for key, ids in changed.items():
        add(key, (len(key), key, ids, tuple(pack_keys.get(key, ()))))
    automaton.make_automaton()
    # nothing to look for (no key, no pack): split letters are then found by
    # ``_has_split_run``, not by the split keys alone in an automaton
    found = automaton if key_count or pack_names else None
    split_hashes, split_keys, split_infos, longest = t["split"]
    m = Matcher(
        personas={p.name: p for p in profiles},
        notes=tuple(notes),
        _automaton=found,
        _pack_keys=frozenset(pack_names),
        _split_keys=found is not None,
        _infos=infos,
        _rows=_Rows(
            combos,
            info_combo,
            t["info_value"],
            dict(t["info_exact"]),
            _ints(t["info_name"], "i"),
            t["names"],
        ),
        _split_index=_SplitIndex(
            keys_text,
            _ints(split_hashes),
            _ints(split_keys),
            _ints(split_infos),
            max(int(longest), max(map(len, split_extra), default=0)),
            split_extra,
        ),
        _max_tokens=max(int(t["max_tokens"]), conf.max_tokens),
        _own_keys={o: frozenset(ks) for o, ks in own.items()},
        _own_phones={o: frozenset(vs) for o, vs in t["own_phones"]},
        _phones=PhoneIndex(
            {v: [PhoneKey(o, val, e164) for o, val, e164 in ks] for v, ks in t["phones"]}
        ),
        _hashed=hashed if secret else {},
        _hash_words=hash_words if secret else 0,
        _secret=secret or None,
        key_count=key_count,
    )
    m._mentions = {
        user: [(m._info(i), Mention(u, inst)) for i, u, inst in entries]
        for user, entries in t["mentions"]
    }
    return m


# ---------------------------------------------------------------------------------------------
# checking


@dataclass
class _Hit:
    rule: str
    kind: str
    owner: str | None
    value: str
    nstart: int  # span in the `norm` view
    nend: int
    message: str = ""
    severity: str = "block"


def _message(info: KeyInfo, persona: str) -> str:
    if info.rule == "identity":
        return f"{info.kind} '{info.value}' identifies persona '{info.owner}'"
    if info.rule == "never-mention":
        return f"'{info.value}' is on the never_mention list of persona '{persona}'"
    return (
        f"confidential identifier (listed by persona '{info.owner}'): client identifiers are "
        "never published"
    )


#: pack keywords the identity scan saw in ``canon``: canon key → its probes
_PackKeywords = dict[str, KeywordCandidates]


class _Scan:
    __slots__ = ("hits", "lang", "m", "n", "own_keys", "own_spans", "persona")

    def __init__(
        self,
        m: Matcher,
        persona: str,
        n: Normalised,
        own_keys: frozenset[str],
        hits: list[_Hit] | None = None,
        lang: str = "en",
    ) -> None:
        self.m = m
        self.persona = persona
        self.n = n
        self.own_keys = own_keys
        self.hits: list[_Hit] = [] if hits is None else hits
        self.own_spans: list[tuple[int, int]] = []
        self.lang = lang

    def relevant(self, key: str, info: KeyInfo) -> bool:
        if info.rule == "identity":
            if info.owner == self.persona:
                return False
            return key not in self.own_keys
        if info.rule == "never-mention":
            return info.owner == self.persona
        return True  # confidential: every persona's, in every post

    def add_key_hit(self, info: KeyInfo, nstart: int, nend: int) -> None:
        self.hits.append(
            _Hit(
                info.rule,
                info.kind,
                info.owner,
                info.value,
                nstart,
                nend,
                _message(info, self.persona),
            )
        )

    def key_hits(self, end: int, klen: int, key: str, ids: tuple[int, ...]) -> None:
        """One automaton hit in ``canon`` (ending at ``end``) of the identifiers ``ids``."""
        n = self.n
        info_of = self.m._info
        cs, ce = end - klen + 2, end
        span = None
        words = None  # (first, last) token index, for keys of several words
        for i in ids:
            info = info_of(i)
            if info.rule == "identity" and info.owner == self.persona:
                if info.kind != "surname":
                    span = span or n.canon_to_norm(cs, ce)
                    self.own_spans.append(span)
                continue
            if not self.relevant(key, info):
                continue
            if info.exact is not None and n.exact_canon(cs, ce) != info.exact:
                continue
            if info.lang is not None and info.lang != self.lang:
                continue
            if info.kind == "surname":
                if _may_be_a_name(n.canon, cs, ce, info, self.lang):
                    words = words or (n.canon_token_index(cs), n.canon_token_index(ce - 1))
                    self.surname(info, *words)
                continue
            if info.kind in ("name", "term") and " " in key[1:-1]:
                words = words or (n.canon_token_index(cs), n.canon_token_index(ce - 1))
                if not self.written_as_one(info, *words):
                    continue
            span = span or n.canon_to_norm(cs, ce)
            self.add_key_hit(info, *span)

    def written_as_one(self, info: KeyInfo, first: int, last: int) -> bool:
        """The words of a multi-word name/term are written as one: not across sentence or list
        punctuation or separate hashtags ("reedbed, heather, marsh", "#heather #marsh"); and a
        name made of ordinary words ("Heather Marsh") capitalised like a name or run together,
        not lowercase prose ("heather marsh and bog")."""
        n = self.n
        spans, _ = n._token_spans()
        norm = n.norm
        spaced = False
        for k in range(first, last):
            gap = norm[spans[k][1] : spans[k + 1][0]]
            if not any(ch.isspace() for ch in gap):
                continue  # run together: "heather.marsh", "ana_bee"
            spaced = True
            hard = set(_GAP_PUNCT.findall(gap))
            if not hard or hard <= info.punct:
                continue
            word = n.tokens[k]
            if (
                hard == {"."}
                and gap.lstrip(" ").startswith(".")
                and "\n" not in gap
                and (len(word) == 1 or word in ANY_TITLES)
            ):
                continue  # "Dr. Ana Reyes", "H. Marsh"
            return False
        forms = info.name
        if (
            not spaced
            or forms is None
            or not all_common(forms.given_words + forms.surname_words, self.lang)
        ):
            return True
        return not _prose(n, spans, first, last)

    def surname(self, info: KeyInfo, first: int, last: int) -> None:
        """A surname key: the name in another form ("H. Marsh"), a distinctive surname alone
        (a warning), or nothing ("a marsh harrier", "Rick Reyes")."""
        forms = info.name
        assert forms is not None
        found = read_surname(
            self.n, first, last, forms, self.lang, any_title=info.rule == "confidential"
        )
        if found is None:
            return
        what, ns, ne = found
        if what == "name":
            self.add_key_hit(info, ns, ne)
        else:
            self.add_surname_warning(info, ns, ne)

    def add_surname_warning(self, info: KeyInfo, nstart: int, nend: int) -> None:
        if info.rule == "confidential":
            message = (
                f"surname of a confidential identifier (listed by persona '{info.owner}'): "
                "client identifiers are never published"
            )
        else:
            message = (
                f"surname of name '{info.value}' (persona '{info.owner}'): a distinctive "
                "surname on its own may identify them"
            )
        self.hits.append(
            _Hit(SURNAME_RULE, "surname", info.owner, info.value, nstart, nend, message, "warn")
        )

    def split_hit(self, info: KeyInfo, nstart: int, nend: int) -> None:
        """A key found in letters written one by one: an evasion, so no reading of capitals;
        a surname alone still only warns, and only when distinctive."""
        if info.lang is not None and info.lang != self.lang:
            return
        if info.kind == "surname":
            forms = info.name
            if forms is not None and distinctive(forms.surname_words, self.lang):
                self.add_surname_warning(info, nstart, nend)
            return
        self.add_key_hit(info, nstart, nend)

    def split_runs(self) -> None:
        """Letters written one by one (``A n a  B e e``, ``a.n.a.b.e.e``, ``4-n-4 Bee``).

        Only runs of single-character tokens are joined, and the joined run must then form a
        whole token of a key (alone or with the whole tokens around it), so ordinary words next
        to each other never merge ("a nab ee" stays three tokens).
        """
        canon = self.n.canon
        if not _has_split_run(canon):
            return
        k = self.m._max_tokens - 1
        for run in _RUN_RE.finditer(canon):
            rs, re_ = run.span()
            positions = list(range(rs, re_, 2))
            letters = canon[rs:re_:2]
            before = _tokens_before(canon, rs - 1, k)
            after = _tokens_after(canon, re_, k)
            self._scan_inside_run(positions, letters)
            first = 0
            while True:
                self._scan_window(before, positions[first:], letters[first:], after)
                # "I a n a B e e": a leading one-letter word may not belong to the run
                if first < 2 and first + 2 < len(letters) and letters[first] in _ONE_LETTER_WORDS:
                    first += 1
                    before = []
                else:
                    break

    def _scan_inside_run(self, positions: list[int], letters: str) -> None:
        index = self.m._split_index
        if index is None:
            return
        n = self.n
        for end, length, entries in index.hits(letters):
            cs, ce = positions[end - length + 1], positions[end] + 1
            for key, i in entries:
                info = self.m._info(i)
                if self.relevant(key, info):
                    self.split_hit(info, *n.canon_to_norm(cs, ce))

    def _scan_window(
        self,
        before: list[tuple[int, str]],
        run_positions: list[int],
        run_letters: str,
        after: list[tuple[int, str]],
    ) -> None:
        # The window's text first: most windows have no key involving the split letters, so
        # the map of window offsets to ``canon`` offsets is made on the first one that has.
        toks = [t for _, t in before]
        collapsed = len(toks)
        toks.append(run_letters)
        toks += [t for _, t in after]
        wtext = canon_key(toks)
        lo = 1 + sum(len(t) + 1 for t in toks[:collapsed])
        hi = lo + len(run_letters)
        n = self.n
        auto = self.m._automaton
        if auto is not None:
            wmap: list[int] | None = None
            for end, (klen, key, ids, _) in auto.iter(wtext):  # type: ignore[attr-defined]
                if not ids:
                    continue  # a pack keyword or a split key: no identifier
                ws, we = end - klen + 2, end
                if we <= lo or ws >= hi:
                    continue  # does not involve the split letters: the main scan has it
                if wmap is None:
                    wmap = [-1]
                    for cs, t in before:
                        wmap += [*range(cs, cs + len(t)), -1]
                    wmap += [*run_positions, -1]
                    for cs, t in after:
                        wmap += [*range(cs, cs + len(t)), -1]
                cs, ce = wmap[ws], wmap[we - 1] + 1
                for i in ids:
                    info = self.m._info(i)
                    if info.exact is None and self.relevant(key, info):
                        self.split_hit(info, *n.canon_to_norm(cs, ce))
        if self.m._hashed:
            # canon span (first, last character) of each window token
            bounds = [(cs, cs + len(t) - 1) for cs, t in before]
            bounds.append((run_positions[0], run_positions[-1]))
            bounds += [(cs, cs + len(t) - 1) for cs, t in after]

            def span(i: int, j: int) -> tuple[int, int]:
                return n.canon_to_norm(bounds[i][0], bounds[j - 1][1] + 1)

            _hash_windows(self.m, toks, span, self.hits, must_include=collapsed)

    def mentions(self) -> None:
        mentions = self.m._mentions
        norm = self.n.norm
        if not mentions or "@" not in norm:
            return
        for mm in _MENTION_RE.finditer(norm):
            entries = mentions.get(mm.group(1))
            if not entries:
                continue
            inst = host_of(mm.group(2))[0] if mm.group(2) else None
            for info, mention in entries:
                if inst != mention.instance and (inst is not None):
                    continue
                if not self.relevant("", info) or self._own_mention(mm.group(1)):
                    continue
                self.add_key_hit(info, mm.start(), mm.end())

    def _own_mention(self, user: str) -> bool:
        return any(i.owner == self.persona for i, _ in self.m._mentions.get(user, ()))

    def phones(self) -> None:
        found = find_phones(self.n.norm, self.m._phones, self.n.digits)
        if not found:
            return
        own = self.m._own_phones.get(self.persona, frozenset())
        for start, end, keys in found:
            digits = re.sub(r"\D", "", self.n.norm[start:end])
            for key in keys:
                if key.owner == self.persona or digits in own:
                    continue
                self.hits.append(
                    _Hit(
                        "identity",
                        "phone",
                        key.owner,
                        key.value,
                        start,
                        end,
                        f"phone '{key.value}' identifies persona '{key.owner}'",
                    )
                )
                break


def _hash_text(m: Matcher, n: Normalised, hits: list[_Hit]) -> None:
    """Hashed identifiers among the word windows of the whole text (no ``_Scan`` needed: the
    usual text has none)."""

    def span(i: int, j: int) -> tuple[int, int]:
        _, cstarts = n._token_spans()
        return n.canon_to_norm(cstarts[i], cstarts[j - 1] + len(n.tokens[j - 1]))

    _hash_windows(m, n.tokens, span, hits)


def _hash_windows(
    m: Matcher,
    toks: list[str],
    span: Callable[[int, int], tuple[int, int]],
    hits: list[_Hit],
    must_include: int | None = None,
) -> None:
    """Hits of the hashed identifiers among the windows of up to ``_hash_words`` tokens of
    ``toks`` (only those including token ``must_include``, if given).

    The usual text has no confidential identifier and words seen before: one C-level pass
    looks every window up in the cache (``""`` = hashed, not an identifier) and stops
    there. Windows not in the cache are hashed once each, and the windows are walked in
    order only when one of them is an identifier.
    """
    cache = m._hash_cache
    if len(cache) > _HASH_CACHE_MAX:
        cache.clear()
    words = m._hash_words
    count = len(toks)
    get = cache.get
    windows: set[str] | None = None
    if must_include is None:
        seen = set(map(get, toks))
        for size in range(2, min(words, count) + 1):
            seen.update(map(get, _windows(toks, size)))
    else:
        windows = {
            "".join(toks[i : i + size])
            for size in range(1, words + 1)
            for i in range(max(0, must_include - size + 1), min(must_include, count - size) + 1)
        }
        seen = set(map(get, windows))
    seen.discard("")
    if not seen:
        return  # every window hashed before, none an identifier
    new = None in seen
    hit = len(seen) > new  # some window is an identifier already in the cache
    if new:
        if windows is None:
            windows = set(toks)
            for size in range(2, min(words, count) + 1):
                windows.update(_windows(toks, size))
        secret = m._secret
        assert secret is not None
        keyed = m._hasher
        if keyed is None or keyed[0] is not secret:  # made on first use, for this secret
            keyed = m._hasher = (secret, WindowHasher(secret))
        new_inner = keyed[1].inner.copy
        new_outer = keyed[1].outer.copy
        table = m._hashed
        for joined in windows.difference(cache):  # C-level, against the dict's keys
            # ``WindowHasher.__call__``, inline: this loop runs once per new window
            inner = new_inner()
            inner.update(joined.encode("utf-8"))
            outer = new_outer()
            outer.update(inner.digest())
            owner = table.get(outer.digest())
            cache[joined] = owner or ""
            hit = hit or owner is not None
    if not hit:
        return
    for size in range(1, words + 1):
        for i in range(count - size + 1):
            if must_include is not None and not (i <= must_include < i + size):
                continue
            owner = get("".join(toks[i : i + size]) if size > 1 else toks[i])
            if owner:
                ns, ne = span(i, i + size)
                hits.append(
                    _Hit(
                        "confidential",
                        "term",
                        owner,
                        "",
                        ns,
                        ne,
                        f"matches a hashed confidential identifier (listed by persona "
                        f"'{owner}'): client identifiers are never published",
                    )
                )


def _windows(toks: list[str], size: int) -> Iterable[str]:
    """The windows of ``size`` (≥ 2) consecutive tokens, joined (C-level maps)."""
    if size == 2:
        return map(operator.add, toks, toks[1:])
    shifted = [toks[k:] for k in range(size)]
    return map("".join, zip(*shifted, strict=False))


def _pack_hits(
    m: Matcher,
    n: Normalised,
    packs: tuple[str, ...],
    pack_keywords: _PackKeywords,
    hits: list[_Hit],
) -> None:
    """The opted-in rule packs' matches, appended to ``hits``."""
    facts: Facts = {}  # shared by the packs' rules: one look per ``requires`` and text
    for pack in packs:
        if pack in m._pack_keys:  # the identity scan found the candidates
            if not pack_keywords and n.norm.isascii():
                continue  # the usual case: no keyword, and no non-ASCII one to look for
            keyword_hits = confirm_keyword_hits(pack, n, pack_keywords.values(), facts)
        else:
            keyword_hits = pack_keyword_hits(pack, n.norm)
        if not keyword_hits:  # the usual case: none of the pack's keywords occurs
            continue
        rules = PACKS[pack]
        for i, kw_hits in keyword_hits.items():  # same order as scan_pack
            rule = rules[i]
            for s, e in rule.scan(n, kw_hits, facts):
                hits.append(_Hit(rule.id, "", None, "", s, e, rule.message, rule.severity))


def _tokens_before(canon: str, space: int, k: int) -> list[tuple[int, str]]:
    """Up to ``k`` tokens (canonical start, text) ending at the space at ``space``."""
    out: list[tuple[int, str]] = []
    end = space
    while len(out) < k and end > 0:
        start = canon.rfind(" ", 0, end)
        if start < 0 or start + 1 == end:
            break
        out.append((start + 1, canon[start + 1 : end]))
        end = start
    out.reverse()
    return out


def _tokens_after(canon: str, space: int, k: int) -> list[tuple[int, str]]:
    """Up to ``k`` tokens (canonical start, text) starting after the space at ``space``."""
    out: list[tuple[int, str]] = []
    start = space
    while len(out) < k:
        end = canon.find(" ", start + 1)
        if end < 0 or end == start + 1:
            break
        out.append((start + 1, canon[start + 1 : end]))
        start = end
    return out


def _dedupe(hits: list[_Hit], norm: str) -> list[_Hit]:
    """One finding per place: contained hits of the same rule are dropped, overlapping hits of
    the same phrase rule are merged, and a handle's leading ``@`` is included."""
    for h in hits:
        if h.kind == "handle" and h.nstart > 0 and norm[h.nstart - 1] == "@":
            h.nstart -= 1
    hits.sort(key=lambda h: (h.nstart, -(h.nend - h.nstart), _KIND_ORDER.get(h.kind, 9)))
    kept: list[_Hit] = []
    story: dict[str, _Hit] = {}  # the latest kept hit of each ``_ONE_STORY`` rule
    for h in hits:
        if any(
            (k.rule == h.rule or (h.rule == SURNAME_RULE and k.rule in _NAME_RULES))
            and k.nstart <= h.nstart
            and h.nend <= k.nend
            for k in kept
        ):
            continue
        if h.owner is None and h.rule in PACK_RULES:
            prev = next((k for k in reversed(kept) if k.rule == h.rule), None)
            if prev is not None and h.nstart < prev.nend:
                prev.nend = max(prev.nend, h.nend)
                continue
            if h.rule in _ONE_STORY:
                other = next((k for r, k in story.items() if r != h.rule), None)
                if other is not None and sentence(norm, other.nstart, other.nend) == sentence(
                    norm, h.nstart, h.nend
                ):
                    continue
                story[h.rule] = h
        kept.append(h)
    return kept


#: A surname warning inside a name these rules report is part of that finding.
_NAME_RULES = frozenset({"identity", "confidential", "never-mention"})
#: The rule of a distinctive surname alone (warn by default).
SURNAME_RULE = "identity.surname"


def _may_be_a_name(canon: str, cs: int, ce: int, info: KeyInfo, lang: str) -> bool:
    """Cheap test on ``canon`` before a surname is read in context: a surname that is an
    ordinary word ("bee", "marsh") can only be part of a name with an initial, a title or the
    given name next to it; most of its occurrences are the word ("bees", "a marsh")."""
    forms = info.name
    if forms is None:
        return False
    if distinctive(forms.surname_words, lang):
        return True
    start = canon.rfind(" ", 0, cs - 1) + 1
    before = canon[start : cs - 1]
    if before in ANY_TITLES:
        return True
    if not forms.given:
        return False
    first = forms.given[0]
    initial = first[0][0]
    if before == initial or before == first[-1]:  # "H. Marsh", "Heather Marsh" (not a key
        return True  # in this language's form): read it
    letters = 0
    while len(before) == 1 and start > 1 and letters < 3:  # "H. J. Marsh", "Heather J. Marsh"
        letters += 1
        end = start - 1
        start = canon.rfind(" ", 0, end) + 1
        before = canon[start:end]
        if before == first[-1] or (before == initial and len(before) == 1):
            return True
    end = canon.find(" ", ce + 1)
    after = canon[ce + 1 : end] if end > 0 else ""
    return after == first[0] or (0 < len(after) <= 3 and after[0] == initial)


def _prose(n: Normalised, spans: list[tuple[int, int]], first: int, last: int) -> bool:
    """Tokens ``first..last`` are written as ordinary prose: plain letters, each word lowercase
    or with one capital, and not every word capitalised ("heather marsh", "Heather marsh").
    Mixed case, digits, look-alikes or invisible characters are not prose: they disguise a
    name, and a disguised name is still the name."""
    capitals = words = 0
    s0, _ = n.orig_span(*spans[first])
    _, e1 = n.orig_span(*spans[last])
    for piece in n.orig[s0:e1].split():
        word = piece.strip(".,;:!?#'\"()/&-")
        if not word:
            continue  # punctuation between the words: "heather / marsh"
        if not (word.isascii() and word.isalpha()):
            return False
        words += 1
        if word.islower():
            continue
        if word[0].isupper() and (len(word) == 1 or word[1:].islower()):
            capitals += 1
            continue
        return False
    return capitals < words


#: Rules that report the same thing from two sides (who the client is, what happened in the
#: session): one warning per sentence is enough.
_ONE_STORY = frozenset({"clinician.client-disclosure", "clinician.session-content"})


def check_content(matcher: Matcher, persona: str, fields: Sequence[TextField]) -> list[Finding]:
    """Findings for a post of ``persona`` made of ``fields`` (title, body, tags, alt texts…).

    A persona unknown to the matcher is checked against every known persona's identity (the
    safe default) and gets no rule packs.
    """
    consts = _persona_constants(matcher, persona)
    profile = consts.profile
    overrides = profile.severity if profile is not None else {}
    own_keys = consts.own_keys
    packs = consts.packs
    packs_unindexed = consts.packs_unindexed
    literals = consts.literals
    lang = consts.lang
    auto = matcher._automaton
    split_keys = matcher._split_keys
    mentions = bool(matcher._mentions)
    phones = bool(matcher._phones.variants)
    hashed = bool(matcher._hashed)
    findings: list[Finding] = []
    for fld in fields:
        text = fld.text
        if not text:
            continue
        n = Normalised(text)
        canon = n.canon
        hits: list[_Hit] = []
        # The _Scan is made when something needs it: most posts have no identity hit and
        # nothing for the extras, and this function runs for every post.
        scan: _Scan | None = None
        pack_keywords: _PackKeywords = {}
        if auto is not None:  # this loop runs for every post: keep it short
            for end, (klen, key, infos, kws) in auto.iter(canon):  # type: ignore[attr-defined]
                if kws:
                    pack_keywords[key] = kws
                if infos:
                    if scan is None:
                        scan = _Scan(matcher, persona, n, own_keys, hits, lang)
                    scan.key_hits(end, klen, key, infos)
        if split_keys and canon.isascii():
            # the automaton has a key for every pair of single ASCII characters: it saw them
            split_run = False
            for key in pack_keywords:
                if len(key) == 5 and key[::2] == "   ":
                    split_run = True
                    break
        else:
            split_run = _has_split_run(canon)
        if split_run:
            scan = scan or _Scan(matcher, persona, n, own_keys, hits, lang)
            scan.split_runs()
        if mentions and "@" in n.norm:
            scan = scan or _Scan(matcher, persona, n, own_keys, hits, lang)
            scan.mentions()
        if phones and len(n.digits) >= PHONE_MIN_DIGITS:  # no number has fewer digits
            scan = scan or _Scan(matcher, persona, n, own_keys, hits, lang)
            scan.phones()
        if hashed:
            _hash_text(matcher, n, hits)
        if packs and (
            pack_keywords
            or packs_unindexed
            or (literals and not n.norm.isascii() and any(w in n.norm for w in literals))
        ):
            _pack_hits(matcher, n, packs, pack_keywords, hits)
        if not hits:
            continue
        if scan is not None and scan.own_spans:
            own = scan.own_spans
            hits = [
                h
                for h in hits
                if h.rule != "identity" or not any(s <= h.nstart and h.nend <= e for s, e in own)
            ]
        for h in _dedupe(hits, n.norm):
            default = RULES[h.rule].severity if h.rule in RULES else h.severity
            severity = effective_severity(h.rule, default, overrides)
            if severity == "off":
                continue
            start, end = n.orig_span(h.nstart, h.nend)
            findings.append(
                Finding(
                    rule=h.rule,
                    severity=severity,  # type: ignore[arg-type]
                    match=text[start:end],
                    start=start,
                    end=end,
                    message=h.message,
                    field=fld.name,
                    owner=h.owner,
                )
            )
    return findings
