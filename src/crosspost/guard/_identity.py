"""Turning a persona's identity (names, handles, domains, emails, terms) into matcher keys.

A key is a sequence of canonical word tokens (see :mod:`._text`), so one representation covers
every spelling that tokenises the same way: ``anabee.example``, ``https://www.anabee.example/x``,
``anabee[.]example``, ``ANABEE.EXAMPLE``; ``@anareyes@psych.social`` and
``https://psych.social/@anareyes``. Spelled-out separators (``dot``, ``at``) get their own
variants, and multi-word identifiers also get a compact variant (``anabee``, ``#HarborPsychology``)
which is what letters split one by one collapse to.

Only whole-token sequences ever match, so ``beekeeper`` never matches ``bee`` and ``Reyes`` alone
never matches ``Ana Reyes``. What is deliberately *not* identity: the provider part of an email
(``gmail.com``), an instance domain (``psych.social``), a hosting domain (``substack.com``).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote

from ._text import FUZZY_FOLD, WORD_RE, norm_string

if TYPE_CHECKING:
    import tldextract

#: Key kinds, as named in messages ("domain 'anabee.example' identifies persona 'personal'").
KINDS = ("name", "handle", "domain", "email", "phone", "term")

#: A multi-word identifier's compact form (``anabee`` for "Ana Bee") is a key when it has at
#: least this many characters.
COMPACT_MIN = 6
#: Identifiers of at most this many characters match only exactly (no digit/letter folding,
#: no split letters).
SHORT_MAX = 3
#: A handle's user part is matched without ``@``/instance only from this length on; shorter
#: handles (``@bee``) are words too often and need the ``@`` or a profile URL.
BARE_HANDLE_MIN = 5

#: Titles a name may start with, and how else the same title is written.
TITLES = {
    "dr": ("dr", "doctor"),
    "doctor": ("dr", "doctor"),
    "prof": ("prof", "professor"),
    "professor": ("prof", "professor"),
    "mr": ("mr",),
    "mrs": ("mrs",),
    "ms": ("ms",),
    "mx": ("mx",),
    "miss": ("miss",),
    "rev": ("rev",),
    "herr": ("herr",),
    "frau": ("frau",),
    "sir": ("sir",),
    "dame": ("dame",),
}
CREDENTIALS = frozenset(
    [
        "phd",
        "psyd",
        "md",
        "edd",
        "lcsw",
        "lpc",
        "lpcc",
        "lmft",
        "lmhc",
        "lcpc",
        "msw",
        "mft",
        "ncc",
        "abpp",
        "rn",
        "np",
        "pa",
        "licsw",
        "lsw",
        "lcat",
    ]
)

#: Registrable domains shared by many unrelated people: never identity by themselves. A
#: persona's *own subdomain* on one of them (``anabee.substack.com``) still is.
PROVIDER_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.com",
        "gmx.net",
        "gmx.de",
        "web.de",
        "mail.com",
        "fastmail.com",
        "fastmail.fm",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "tutanota.com",
        "tuta.io",
        "hey.com",
        "mailbox.org",
        "posteo.de",
        "hushmail.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "btinternet.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "qq.com",
        "163.com",
        "naver.com",
        "substack.com",
        "medium.com",
        "wordpress.com",
        "blogger.com",
        "blogspot.com",
        "tumblr.com",
        "ghost.io",
        "wixsite.com",
        "wix.com",
        "squarespace.com",
        "weebly.com",
        "github.io",
        "gitlab.io",
        "netlify.app",
        "vercel.app",
        "pages.dev",
        "carrd.co",
        "linktr.ee",
        "about.me",
        "bio.link",
        "beacons.ai",
        "notion.site",
        "x.com",
        "twitter.com",
        "bsky.social",
        "bsky.app",
        "mastodon.social",
        "mastodon.online",
        "threads.net",
        "facebook.com",
        "instagram.com",
        "linkedin.com",
        "youtube.com",
        "tiktok.com",
        "reddit.com",
        "pinterest.com",
        "google.com",
        "goo.gl",
        "bit.ly",
        "t.co",
        "tinyurl.com",
        "psychologytoday.com",
    ]
)

#: Hosts under which a domain-style handle's first label is the user (Bluesky default handles).
HANDLE_HOSTS = frozenset({"bsky.social"})

#: Platforms whose account ``url`` is a shared instance/endpoint, not the persona's own site.
SOCIAL_PLATFORMS = frozenset(
    {
        "x",
        "twitter",
        "mastodon",
        "bluesky",
        "bsky",
        "threads",
        "pixelfed",
        "misskey",
        "lemmy",
        "facebook",
        "instagram",
        "linkedin",
        "tumblr",
        "nostr",
        "fediverse",
        "akkoma",
        "pleroma",
        "gotosocial",
        "friendica",
        "peertube",
    }
)

_X_HOSTS = (("x", "com"), ("twitter", "com"))
_GENERIC_HANDLE_HOSTS = (*_X_HOSTS, ("instagram", "com"), ("threads", "net"))


_FOLD_TABLE = str.maketrans(FUZZY_FOLD)


def fold_token(tok: str) -> str:
    """A normalised token in ``canon`` form (digit/letter swaps folded)."""
    return tok.translate(_FOLD_TABLE)


_fold = fold_token


class Phrase(NamedTuple):
    """One key: canonical (folded) tokens plus what it means (a tuple: 100,000 terms make
    about half a million of them while compiling)."""

    tokens: tuple[str, ...]
    exact: str | None  # set for short keys: the unfolded canonical form they must equal
    #: the matcher's key (`` tok tok ``) when already joined, else made from ``tokens``
    key: str = ""


def phrase(tokens: list[str] | tuple[str, ...]) -> Phrase | None:
    """A key from *unfolded* normalised tokens."""
    toks = [t for t in tokens if t]
    if not toks:
        return None
    spaced = " ".join(toks)
    exact = spaced if len(spaced) - len(toks) + 1 <= SHORT_MAX else None
    # one translate for all tokens: the fold maps characters to characters, never to a space
    folded = spaced.translate(_FOLD_TABLE)
    return Phrase(tuple(folded.split(" ")), exact, f" {folded} ")


def words(text: str) -> list[str]:
    """Unfolded normalised word tokens of a configured value."""
    if text.isascii() and text.isalnum():  # the usual label or word: nothing to decode
        return [text.lower()]
    return WORD_RE.findall(norm_string(text))


def phrases_for_words(toks: list[str], *, compact: bool = True) -> list[Phrase]:
    out = []
    p = phrase(toks)
    if p is not None:
        out.append(p)
        joined = "".join(toks)
        if compact and len(toks) > 1 and len(joined) >= COMPACT_MIN:
            c = phrase([joined])
            if c is not None:
                out.append(c)
    return out


def term_phrases(value: str) -> list[Phrase]:
    return phrases_for_words(words(value))


#: Name particles that belong to the surname: "Ludwig van Beethoven" → "van Beethoven".
_PARTICLES = frozenset(
    [
        "van",
        "von",
        "de",
        "der",
        "den",
        "du",
        "da",
        "di",
        "del",
        "della",
        "dos",
        "das",
        "la",
        "le",
        "ten",
        "ter",
        "zu",
        "vom",
        "zum",
    ]
)


def _bare(word: str) -> str:
    return word.strip(".,").casefold()


def split_name(value: str) -> tuple[list[str], list[str], list[str]]:
    """The words of a configured name: titles, given names, surname (credentials dropped).

    ``"Dr. Heather J. Marsh, PhD"`` → ``(["Dr."], ["Heather", "J."], ["Marsh,"])``; a
    hyphenated or particled surname stays one part (``"Pryce-Jones"``, ``"van Beethoven"``).
    """
    parts = [p for p in value.split() if p.strip(".,")]
    titles = []
    while len(parts) > 1 and _bare(parts[0]) in TITLES:
        titles.append(parts.pop(0))
    while len(parts) > 1 and _bare(parts[-1]) in CREDENTIALS:
        parts.pop()
    cut = len(parts) - 1
    while cut > 1 and _bare(parts[cut - 1]) in _PARTICLES:
        cut -= 1
    return titles, parts[:cut], parts[cut:]


@dataclass(frozen=True)
class NameForms:
    """One configured name, split into the parts people abbreviate and reorder."""

    value: str
    #: folded tokens of the titles written in the name, with their variants (dr → dr, doctor)
    titles: frozenset[str]
    #: folded tokens of each given name, in order
    given: tuple[tuple[str, ...], ...]
    #: folded tokens of the surname ("pryce", "jones")
    surname: tuple[str, ...]
    #: the name's words as configured, casefolded (for word-list look-ups: "müller")
    given_words: tuple[str, ...]
    surname_words: tuple[str, ...]


def parse_name(value: str) -> NameForms | None:
    """Titles, given names and surname of a configured name; ``None`` without a surname."""
    title_parts, given_parts, surname_parts = split_name(value)
    surname = tuple(fold_token(t) for p in surname_parts for t in words(p))
    if not surname:
        return None
    titles = {fold_token(v) for p in title_parts for v in TITLES[_bare(p)]}
    given = tuple(tuple(fold_token(t) for t in words(p)) for p in given_parts)
    return NameForms(
        value,
        frozenset(titles),
        tuple(g for g in given if g),
        surname,
        tuple(w.casefold() for p in given_parts for w in re.findall(r"[^\W\d_]+", p)),
        tuple(w.casefold() for p in surname_parts for w in re.findall(r"[^\W\d_]+", p)),
    )


def name_phrases(value: str) -> list[Phrase]:
    """A person's name, with and without title/credentials, and title + surname."""
    toks = words(value)
    out = phrases_for_words(toks)
    title_parts, given_parts, surname_parts = split_name(value)
    surname = words(" ".join(surname_parts))
    core = words(" ".join(given_parts)) + surname
    if given_parts and len(core) >= 2 and core != toks:
        out += phrases_for_words(core)
    if len(given_parts) > 1:  # "Heather Marsh" for "Heather Jane Marsh"
        out += phrases_for_words(words(given_parts[0]) + surname)
    for title in title_parts:
        for t in TITLES[_bare(title)]:
            out += phrases_for_words([t, *surname], compact=False)
    return out


def genitive_phrases(phrases: list[Phrase]) -> list[Phrase]:
    """German genitive of a name's phrases, with and without its title: "Heather Marshs",
    "Dr. Marshs" (names ending in s, x, z take an apostrophe, which tokenises like the plain
    name)."""
    out = []
    for p in phrases:
        last = p.tokens[-1]
        if len(p.tokens) > 1 and last[-1:] not in ("s", "x", "z"):
            out.append(Phrase((*p.tokens[:-1], last + "s"), None))
    return out


# ---------------------------------------------------------------------------------------------
# domains


@cache
def _extractor() -> tldextract.TLDExtract:  # pragma: no cover - trivial
    import tldextract

    # Offline: bundled public-suffix snapshot only, no HTTP, no cache directory.
    return tldextract.TLDExtract(
        cache_dir=None,
        suffix_list_urls=(),
        fallback_to_snapshot=True,
        include_psl_private_domains=True,
    )


_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)


def host_of(value: str) -> tuple[str, str]:
    """``(host, path)`` of a domain or URL as written in the configuration."""
    v = unquote(value.strip())
    v = _SCHEME.sub("", v)
    v = v.split("#", 1)[0].split("?", 1)[0]
    host, _, path = v.partition("/")
    host = host.rsplit("@", 1)[-1]  # user:pass@host
    host = host.split(":", 1)[0].strip(".").lower()
    if "xn--" in host:
        with contextlib.suppress(UnicodeError):
            host = host.encode("ascii").decode("idna")
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
    return host, path.strip("/")


def registrable(host: str) -> str:
    """Registrable domain (eTLD+1); for an unknown TLD such as ``.example``, the last two labels."""
    if not host or "." not in host:
        return host
    ext = _extractor()(host)
    if ext.suffix and ext.domain:
        return f"{ext.domain}.{ext.suffix}"
    labels = host.split(".")
    return ".".join(labels[-2:])


def identity_domain(host: str, *, explicit: bool) -> str | None:
    """The domain that identifies its owner, or ``None`` for a shared provider."""
    if not host:
        return None
    reg = registrable(host)
    if reg in PROVIDER_DOMAINS or reg in HANDLE_HOSTS:
        if host != reg:
            return host  # own subdomain on a shared host
        return reg if explicit else None
    return reg


def _dotted_variants(labels: list[list[str]], joiners: list[str]) -> list[list[str]]:
    """Token lists for a dotted/at-ed address where each joiner may be spelled out."""
    out = []
    spell = [("", j) for j in joiners]
    if len(joiners) > 5:
        spell = [("",)] * len(joiners)  # type: ignore[list-item]
    for choice in product(*spell):
        toks: list[str] = list(labels[0])
        for sep, lab in zip(choice, labels[1:], strict=True):
            if sep:
                toks.append(sep)
            toks.extend(lab)
        out.append(toks)
    return out


def domain_phrases(domain: str) -> list[Phrase]:
    labels = [words(lab) for lab in domain.split(".")]
    labels = [lab for lab in labels if lab]
    if not labels:
        return []
    out: list[Phrase] = []
    for toks in _dotted_variants(labels, ["dot"] * (len(labels) - 1)):
        out += phrases_for_words(toks, compact=False)
    compact = "".join(t for lab in labels for t in lab)
    if len(labels) > 1 and len(compact) >= COMPACT_MIN:
        p = phrase([compact])
        if p is not None:
            out.append(p)
    return out


def url_phrases(host: str, path: str) -> list[Phrase]:
    """A profile/blog URL on a shared host: host + path tokens (``medium com anabee``)."""
    toks = words(host.replace(".", " ")) + words(path)
    return phrases_for_words(toks, compact=False)


def email_phrases(email: str) -> tuple[list[Phrase], str | None]:
    """Keys for an email address and its custom (non-provider) domain, if any."""
    local, _, dom = email.strip().rpartition("@")
    if not local:
        return term_phrases(email), None
    dom = dom.lower().strip(".")
    dom_labels = [words(lab) for lab in dom.split(".") if words(lab)]
    out: list[Phrase] = []
    locals_ = [local.split(".")]
    plain = local.replace(".", "")
    if "." in local:
        locals_.append([plain])
    for parts in locals_:
        local_labels = [words(p) for p in parts if words(p)]
        if not local_labels:
            continue
        labels = local_labels + dom_labels
        joiners = ["dot"] * (len(local_labels) - 1) + ["at"] + ["dot"] * (len(dom_labels) - 1)
        for toks in _dotted_variants(labels, joiners):
            out += phrases_for_words(toks, compact=False)
    host, _ = host_of(dom)
    return out, identity_domain(host, explicit=False)


# ---------------------------------------------------------------------------------------------
# handles


@dataclass(frozen=True)
class Mention:
    """A short handle that only matches as ``@user`` (optionally ``@user@instance``)."""

    user: str  # normalised, unfolded
    instance: str | None


@dataclass
class HandleKeys:
    phrases: list[Phrase]
    mentions: list[Mention]
    domains: list[str]  # a custom-domain handle is also a domain identity


_PROFILE_PATH = re.compile(r"^(?:@|u/|users/|profile/|user/)?([^/?#]+)")


def handle_keys(raw: str, platform: str | None = None, url: str | None = None) -> HandleKeys:
    out = HandleKeys([], [], [])
    h = raw.strip()
    if not h:
        return out
    platform = (platform or "").lower() or None
    instance: str | None = None
    if url:
        uhost, _ = host_of(url)
        if uhost and platform not in ("x", "twitter", "bluesky", "bsky"):
            instance = uhost
    # A profile URL given as handle: keep the URL itself, then work on the user part.
    if _SCHEME.match(h) or re.match(r"^(?:www\.)?(x|twitter)\.com/|^bsky\.app/", h, re.I):
        host, path = host_of(h)
        out.phrases += url_phrases(host, path)
        m = _PROFILE_PATH.match(path)
        if not m:
            return out
        user = m.group(1)
        if registrable(host) in ("x.com", "twitter.com"):
            platform = platform or "x"
        elif "." not in user:
            instance = instance or host
        h = user
    h = h.lstrip("@")
    if "@" in h:
        user, _, inst = h.partition("@")
        instance = host_of(inst)[0] or instance
    elif "." in h:
        host, _ = host_of(h)
        reg = registrable(host)
        out.phrases += domain_phrases(host)
        if reg in HANDLE_HOSTS and host != reg:
            user = host[: -len(reg) - 1]
            utoks = words(user)
            if len("".join(utoks)) >= BARE_HANDLE_MIN:
                out.phrases += phrases_for_words(utoks)
        else:
            dom = identity_domain(host, explicit=True)
            if dom:
                out.domains.append(dom)
        return out
    else:
        user = h
    utoks = words(user)
    if not utoks:
        return out
    compact = "".join(utoks)
    if len(compact) >= BARE_HANDLE_MIN:
        out.phrases += phrases_for_words(utoks)
    else:
        out.mentions.append(Mention(norm_string(user), instance))
    if instance:
        itoks = words(instance.replace(".", " "))
        for toks in (utoks + itoks, itoks + utoks, [*itoks, "users", *utoks]):
            out.phrases += phrases_for_words(toks, compact=False)
        out.phrases += phrases_for_words([*utoks, "at", *itoks], compact=False)
    elif platform in (None, "x", "twitter"):
        hosts = _X_HOSTS if platform else _GENERIC_HANDLE_HOSTS
        for hp in hosts:
            out.phrases += phrases_for_words([*hp, *utoks], compact=False)
    return out
