"""How long a post is, counted the way each platform counts it.

A share post is rejected (or silently cut) when the platform's own count exceeds its limit, and
the three platforms count very differently, so a plain ``len()`` is wrong everywhere:

* **X** weighs code points after NFC normalisation (most Latin/Cyrillic/Greek/Hebrew/Arabic...
  code points weigh 1, CJK and most symbols 2), counts every URL -- also a bare ``example.com``
  with a known TLD -- as 23, and counts each emoji sequence as 2. This is the twitter-text v3
  algorithm; we use the ``twitter-text-parser`` port (import ``twitter_text``), which passes the
  upstream conformance cases (``tests/data/textlength/twitter_text_weighted_v3.yml``).
* **Mastodon** counts extended grapheme clusters, but first rewrites every URL that has a scheme
  to a 23-character placeholder and every ``@user@domain`` to ``@user`` (the server's
  ``StatusLengthValidator``). A bare ``example.com`` counts literally. ``Mastodon.py``'s
  ``get_status_length`` copies the *web client's* regexes instead of the server's and disagrees
  with the server on real text (see :func:`mastodon_length`), so the server rule is ported here.
* **Bluesky** counts extended grapheme clusters of the text as sent (no URL discount: a link is
  as long as its visible text) and separately caps the UTF-8 size at 3000 bytes.
* **Code points** (``counting="codepoints"``): servers with Mastodon's API that are not Mastodon
  count differently. GoToSocial counts the code points of the text with every URL at full
  length (``len([]rune(text))``); Pleroma and Akkoma count graphemes with URLs at full length,
  never more than the code points, so a text that fits in code points fits there too.

Heavy dependencies (twitter_text compiles large regexes and needs ``pkg_resources`` at import
time; the grapheme tables load JSON) are imported lazily on first use.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .platforms import registry
from .platforms.spec import Counting, resolve

__all__ = [
    "BLUESKY_MAX_BYTES",
    "COUNTINGS",
    "LIMITS",
    "MASTODON_URL_CHARS",
    "PLATFORMS",
    "X_URL_CHARS",
    "bluesky_bytes",
    "bluesky_length",
    "codepoint_length",
    "counting_of",
    "fits",
    "grapheme_boundaries",
    "graphemes",
    "mastodon_length",
    "mastodon_url_spans",
    "text_length",
    "x_length",
    "x_url_spans",
]

#: Default character limit of a post per counted platform (from the platforms' specs).
LIMITS: dict[str, int] = {
    name: spec.limit
    for name, spec in registry.specs().items()
    if spec.counting is not None and spec.limit is not None
}
PLATFORMS: tuple[str, ...] = tuple(LIMITS)

#: Bluesky's second limit on ``app.bsky.feed.post`` text: ``maxLength`` in UTF-8 bytes.
BLUESKY_MAX_BYTES = 3000
#: What X counts for any URL (``transformedURLLength`` in twitter-text's v3 config).
X_URL_CHARS = 23
#: Mastodon's default ``characters_reserved_per_url``.
MASTODON_URL_CHARS = 23
#: How a server with Mastodon's API counts a status: Mastodon's rule, or code points.
COUNTINGS: tuple[str, ...] = ("mastodon", "codepoints")


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    return text


def counting_of(platform: object, counting: object = None) -> Counting:
    """The counting ``platform`` applies (``counting``: one of the alternatives its spec
    offers, e.g. ``"codepoints"`` for Mastodon); ValueError for anything else."""
    spec = registry.specs().get(platform) if isinstance(platform, str) else None
    if spec is None or spec.counting is None:
        valid = ", ".join(repr(p) for p in PLATFORMS)
        raise ValueError(f"unknown platform {platform!r}; valid platforms are {valid}")
    if counting is not None and not isinstance(counting, str):
        raise ValueError(f"unknown counting {counting!r} for {platform}")
    found = spec.counting_for(counting)
    assert found is not None
    return found


def text_length(text: str, platform: str, *, counting: str | None = None) -> int:
    """Length of ``text`` as ``platform`` counts it against its limit (see the module docstring).

    ``platform`` is one whose spec counts length (:data:`PLATFORMS`); anything else is a
    ``ValueError``. Mastodon is counted with the default 23 characters per URL; use
    :func:`mastodon_length` for instances that configure ``characters_reserved_per_url``.
    ``counting="codepoints"`` counts code points instead, for a server that counts that way
    (GoToSocial).
    """
    text = _check_text(text)
    length: int = resolve(counting_of(platform, counting).length)(text)
    return length


def fits(
    text: str, platform: str, limit: int | None = None, *, counting: str | None = None
) -> bool:
    """Whether ``text`` is within ``limit`` (default: :data:`LIMITS` of the platform), counted
    as ``platform`` counts, or by ``counting`` (see :func:`text_length`).

    A platform with a second cap on the UTF-8 size (Bluesky: 3000 bytes) is checked against
    it too, because a post under 300 graphemes can still be rejected for its size (e.g. long
    runs of ZWJ emoji sequences).
    """
    rule = counting_of(platform, counting)
    if limit is None:
        limit = LIMITS[platform]
    if text_length(text, platform, counting=counting) > limit:
        return False
    return rule.max_bytes is None or bluesky_bytes(text) <= rule.max_bytes


# --------------------------------------------------------------------------------------------
# X (twitter-text v3)
# --------------------------------------------------------------------------------------------


_MISSING = object()
_SURROGATE = re.compile("[\ud800-\udfff]")


@cache
def _twitter_text() -> types.ModuleType:
    """Import ``twitter_text``, shimming ``pkg_resources`` if this environment lacks it.

    twitter-text-parser 3.0.0 calls ``pkg_resources.resource_string`` once, at import time, to
    read its bundled ``emoji-test.txt``, but does not declare setuptools as a dependency;
    setuptools dropped ``pkg_resources`` (it is absent from 84.x) and Python 3.12+ venvs have no
    setuptools at all. The shim lives in ``sys.modules`` only for the duration of the import.
    """
    try:
        return importlib.import_module("twitter_text")
    except ModuleNotFoundError as exc:
        if exc.name != "pkg_resources":
            raise
    shim = types.ModuleType("pkg_resources")

    def resource_string(module_name: str, resource: str) -> bytes:
        # pkg_resources resolves ``resource`` beside the module (package dir or module's dir)
        module_file = sys.modules[module_name].__file__
        if module_file is None:
            raise FileNotFoundError(resource)
        return (Path(module_file).parent / resource).read_bytes()

    shim.resource_string = resource_string  # type: ignore[attr-defined]
    previous = sys.modules.get("pkg_resources", _MISSING)
    sys.modules["pkg_resources"] = shim
    try:
        for name in [
            m for m in sys.modules if m == "twitter_text" or m.startswith("twitter_text.")
        ]:
            del sys.modules[name]
        return importlib.import_module("twitter_text")
    finally:
        if sys.modules.get("pkg_resources") is shim:
            if previous is _MISSING:
                del sys.modules["pkg_resources"]
            else:
                sys.modules["pkg_resources"] = previous  # type: ignore[assignment]


def x_length(text: str) -> int:
    """X's weighted length (twitter-text v3: ``parse_tweet(text).weightedLength``).

    Measured differences from the JavaScript reference (npm twitter-text 3.1.0, which pins
    twemoji-parser 11): the Python port counts ``"\\r\\n"`` as 1 (its deliberate fix; JS: 2;
    :mod:`crosspost.compose` only emits ``"\\n"``), a bare ``©``/``®`` as 2 (JS: 1) and
    recognises Emoji 12.0 sequences such as 🧑‍🤝‍🧑 as one emoji (JS: 8). Sequences newer
    than Emoji 12.0 (🧑‍💻 is 12.1, ❤️‍🔥 13.1) are counted code point by code point by both
    (🧑‍💻 = 5): an over-count if X's servers know them, never an under-count.
    """
    text = _check_text(text)
    if _SURROGATE.search(text):
        # parse_tweet measures UTF-16 ranges and would raise on a lone surrogate; U+FFFD has
        # the same weight (2), so the count is unchanged.
        text = _SURROGATE.sub("\ufffd", text)
    tt = _twitter_text()
    return int(tt.parse_tweet(text, tt.config.config["version3"]).weightedLength)


def x_url_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` code point offsets of what X counts as URLs (23 each) in ``text``.

    Includes scheme-less URLs with a known TLD (``example.com``). Offsets are into ``text``
    as given; X normalises to NFC first, so pass NFC text when exact offsets matter.
    """
    tt = _twitter_text()
    entities = tt.extract_urls_with_indices(_check_text(text))
    return [(int(e["indices"][0]), int(e["indices"][1])) for e in entities]


# --------------------------------------------------------------------------------------------
# Grapheme clusters (Mastodon and Bluesky)
# --------------------------------------------------------------------------------------------


@cache
def _grapheme_module() -> types.ModuleType:
    """The ``grapheme`` module, which must come from graphemeu (Unicode >= 15.1).

    Both ``grapheme`` (0.6, Unicode 13, unmaintained) and ``graphemeu`` install the import name
    ``grapheme``; whichever was installed last owns the files. 0.6 lacks rule GB9c, so it
    splits Indic conjuncts (क्षि is 2 clusters instead of 1) where Bluesky (ICU via
    ``Intl.Segmenter``) and Mastodon on Ruby 4.0 (Unicode 17) do not; refusing it beats a
    silently wrong count. (Mastodon on Ruby 3.4 still applies Unicode 15.0 rules there.)
    """
    mod = importlib.import_module("grapheme")
    version = tuple(int(p) for p in str(getattr(mod, "UNICODE_VERSION", "0")).split(".")[:2])
    if version < (15, 1):
        raise RuntimeError(
            f"the installed 'grapheme' module implements Unicode {mod.UNICODE_VERSION} grapheme"
            " rules, older than the platforms' (>= 15.1); install 'graphemeu' (which provides"
            " the same import name) instead of 'grapheme': pip uninstall -y grapheme &&"
            " pip install --force-reinstall 'graphemeu>=0.11'"
        )
    return mod


def _is_cf_control(ch: str) -> bool:
    cp = ord(ch)
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Zl", "Zp", "Cs"):
        return True
    if cat != "Cf":
        return False
    # Cf characters that are Prepend, ZWJ/Extend (ZWNJ, ZWJ, tags) rather than Control.
    return not (
        cp in (0x200C, 0x200D, 0x06DD, 0x070F, 0x08E2, 0x110BD, 0x110CD)
        or 0x0600 <= cp <= 0x0605
        or 0x0890 <= cp <= 0x0891
        or 0xE0020 <= cp <= 0xE007F
    )


def _is_gcb_control(ch: str) -> bool:
    """Grapheme_Cluster_Break=Control|CR|LF (UAX #29): breaks are mandatory on both sides.

    Under-reporting is harmless (the character is then left to graphemeu); over-reporting
    would split clusters, so a test checks this against graphemeu's own table.
    """
    cp = ord(ch)
    if cp == 0x2065 or 0xFFF0 <= cp <= 0xFFF8 or 0x13430 <= cp <= 0x1343F:
        return True  # default-ignorable unassigned / format controls newer than unicodedata
    if 0xE0000 <= cp <= 0xE0FFF:
        return not (0xE0020 <= cp <= 0xE007F or 0xE0100 <= cp <= 0xE01EF)
    return _is_cf_control(ch)


def graphemes(text: str) -> list[str]:
    """The extended grapheme clusters of ``text`` (UAX #29, Unicode 15.1+ rules).

    Uses graphemeu, but splits the text at Control/CR/LF characters first: graphemeu 0.11.0
    forgets the regional-indicator state after such a character, so a flag right after a line
    break (``"Hi\\n🇩🇪"``) came out as two clusters. Breaking around controls is mandatory
    (rules GB4/GB5), so segmenting the pieces separately is exact.
    """
    text = _check_text(text)
    gmod = _grapheme_module()
    out: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if _is_gcb_control(ch):
            if start < i:
                out.extend(gmod.graphemes(text[start:i]))
            if ch == "\r" and i + 1 < n and text[i + 1] == "\n":
                out.append("\r\n")
                i += 2
            else:
                out.append(ch)
                i += 1
            start = i
        else:
            i += 1
    if start < n:
        out.extend(gmod.graphemes(text[start:]))
    return out


def grapheme_boundaries(text: str) -> list[int]:
    """Offsets (code point indices) at which ``text`` may be cut without splitting a cluster."""
    pos = 0
    bounds = [0]
    for g in graphemes(text):
        pos += len(g)
        bounds.append(pos)
    return bounds


def _grapheme_count(text: str) -> int:
    if text.isascii():
        # in ASCII every character is a cluster of its own but CR LF (UAX #29 GB3, GB4/GB5,
        # GB999): the daemon counts every share, and most are ASCII
        return len(text) - text.count("\r\n")
    return len(graphemes(text))


# --------------------------------------------------------------------------------------------
# Bluesky
# --------------------------------------------------------------------------------------------


def bluesky_length(text: str) -> int:
    """Graphemes of the text as sent (lexicon ``maxGraphemes`` 300); URLs count in full."""
    return _grapheme_count(_check_text(text))


def bluesky_bytes(text: str) -> int:
    """UTF-8 size of the text (Bluesky's lexicon ``maxLength`` 3000, and any other byte cap);
    lone surrogates count 3."""
    return len(_check_text(text).encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------------------------
# Mastodon: port of the server's StatusLengthValidator
# --------------------------------------------------------------------------------------------
#
# Server (mastodon/mastodon, app/validators/status_length_validator.rb):
#   countable_length(spoiler_text + countable_text(text)) via String#each_grapheme_cluster,
#   countable_text: '' if text.blank?; URLs -> 'x' * 23; @user@domain -> @user, where the
#   entities come from Extractor.extract_urls_with_indices(text, extract_url_without_protocol:
#   false) (twitter-text gem 3.1.0 with the regex overrides in
#   config/initializers/twitter_regex.rb) and Extractor.extract_mentions_or_lists_with_indices
#   (Account::MENTION_RE), overlapping entities removed, earliest first.

# \p{White_Space}
_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WS_RE = re.compile(f"[{_WS}]*")
# twitter-text regex.rb constants
_UNICODE_SPACES = _WS + "\u180e"
_DIRECTIONAL = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVALID = "\ufffe\ufeff\uffff"
_PUNCTUATION = r"!\"#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~"
_CTRL = "\x00-\x1f\x7f"
_LATIN_ACCENTS = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b"
    "\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
# \p{Cyrillic} (script, Unicode 15)
_CYRILLIC = (
    "\u0400-\u0484\u0487-\u052f\u1c80-\u1c88\u1d2b\u1d78\u2de0-\u2dff\ua640-\ua69f\ufe2e\ufe2f"
    "\U0001e030-\U0001e06d\U0001e08f"
)
# Mastodon's UCHARS (allowed in query strings)
_UCHARS = (
    "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    "\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    "\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
_END_MENTION = re.compile(f"(?:[@\uff20]|[{_LATIN_ACCENTS}]+|://)")
_MAX_DOMAIN_LENGTH = 253
_MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG_LENGTH = 40
_TCO = re.compile(r"https?://t\.co/([a-z0-9]+)", re.IGNORECASE)


def _ranges(cps: list[int]) -> str:
    """Compress code points into a character-class body of ranges."""
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(
            re.escape(chr(cps[i]))
            if i == j
            else f"{re.escape(chr(cps[i]))}-{re.escape(chr(cps[j]))}"
        )
        i = j + 1
    return "".join(parts)


@cache
def _ruby_classes() -> tuple[str, str]:
    """(``[[:word:]]`` as a regex group, ``\\p{Pd}`` class body) with Ruby's semantics.

    Ruby's ``[[:word:]]`` is Letter | Mark | Decimal_Number | Connector_Punctuation; Python's
    ``\\w`` lacks the marks (so an NFD ``é`` would end a domain) and adds Nl/No (``²``). The
    tables come from ``unicodedata`` (the Python runtime's Unicode version); planes 2-3 hold
    only letters, which ``\\w`` already covers, so only planes 0, 1 and 14 are scanned.
    """
    extra: list[int] = []
    minus: list[int] = []
    dash: list[int] = []
    for cp in (*range(0x20000), *range(0xE0000, 0xE1000)):
        cat = unicodedata.category(chr(cp))
        if cat[0] == "M" or (cat == "Pc" and cp != 0x5F):
            extra.append(cp)
        elif cat in ("Nl", "No"):
            minus.append(cp)
        elif cat == "Pd":
            dash.append(cp)
    word = f"(?:[{_ranges(extra)}]|(?![{_ranges(minus)}])\\w)"
    return word, _ranges(dash)


@dataclass(frozen=True)
class _MastodonRegexes:
    url: re.Pattern[str]
    mention: re.Pattern[str]


@cache
def _mastodon_regexes() -> _MastodonRegexes:
    _twitter_text()  # the package must import first (pkg_resources shim), then its submodules
    # the TLD lists of twitter-text 3.1.0, which the Mastodon server's gem uses too
    from twitter_text.regexp.valid_cctld import valid_cctld
    from twitter_text.regexp.valid_gtld import valid_gtld

    word, pd = _ruby_classes()
    d = f"[^{_DIRECTIONAL}{_PUNCTUATION}{_CTRL}{_INVALID}{_UNICODE_SPACES}]"
    subdomain = f"(?:(?:{d}(?:[_-]|{d})*)?{d}\\.)"
    domain_name = f"(?:(?:{d}(?:-|{d})*)?{d}\\.)"
    domain = (
        f"(?:{subdomain}*{domain_name}"
        f"(?:{valid_gtld.pattern}|{valid_cctld.pattern}|(?:xn--[0-9a-z]+)))"
    )
    # twitter-text's original path characters: only reachable through the balanced-parens
    # alternative of Mastodon's valid_url_path_ending_chars, which interpolates the original
    # valid_url_balanced_parens (it is redefined one statement later).
    orig_general = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]{pd}_~&|@{_LATIN_ACCENTS}]"
    orig_parens = (
        f"\\((?:{orig_general}+|(?:{orig_general}*\\({orig_general}+\\){orig_general}*))\\)"
    )
    general = f"[^{_WS}<>()?]"
    parens = f"\\((?:{general}+|(?:{general}*\\({general}+\\){general}*))\\)"
    ending = f"(?:[^{_WS}()?!*\"'\u300c\u300d<>;:=,.$%\\[\\]~&|@]|(?:{orig_parens}))"
    path = f"(?:(?:{general}*(?:{parens}{general}*)*{ending})|(?:{general}+/))"
    query_chars = f"[a-z0-9!?*'();:&=+$/%#\\[\\]\\-_.,~|@^{_UCHARS}]"
    query_end = f"[a-z0-9_&=#/\\-{_UCHARS}]"
    preceding = f"(?:[^A-Z0-9@\uff20$#\uff03{_INVALID}]|[{_DIRECTIONAL}]|^)"
    url = re.compile(
        f"(?P<before>{preceding})"
        "(?P<url>"
        "(?P<protocol>(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://)?"
        f"(?P<domain>{domain})"
        "(?::[0-9]+)?"
        f"(?:/{path}*)?"
        f"(?:\\?{query_chars}*{query_end})?"
        ")",
        re.IGNORECASE | re.MULTILINE,
    )
    mention = re.compile(
        f"(?<![=/])(?<!{word})@"
        f"(?P<screen_name>(?P<username>(?i:[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*))"
        f"(?:@(?P<domain>{word}+(?:[.-]+{word}+)*))?)"
    )
    return _MastodonRegexes(url=url, mention=mention)


def _idna_length(domain: str) -> int | None:
    try:
        return len(domain.encode("idna"))
    except UnicodeError:
        return None


def mastodon_url_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the URLs Mastodon's server discounts in ``text``.

    Port of twitter-text 3.1.0 ``extract_urls_with_indices(text, extract_url_without_protocol:
    false)`` with Mastodon's regex overrides: a scheme is required (``http``, ``https`` and the
    extra schemes Mastodon links: ``dat dweb ipfs ipns ssb gopher gemini``), the domain needs a
    known TLD (so ``localhost`` and bare IPs count literally), paths may hold any non-space
    character except ``<>()?`` and may not end in punctuation such as ``.,:;!?'")``.
    """
    text = _check_text(text)
    if ":" not in text:
        return []
    spans: list[tuple[int, int]] = []
    for m in _mastodon_regexes().url.finditer(text):
        protocol = m.group("protocol")
        if not protocol:
            continue
        url = m.group("url")
        start, end = m.span("url")
        tco = _TCO.match(url)
        if tco:
            if len(tco.group(1)) > _MAX_TCO_SLUG_LENGTH:
                continue
            url = tco.group(0)
            end = start + len(url)
        domain = m.group("domain")
        ascii_len = _idna_length(domain)
        if ascii_len is None:
            continue
        if len(url) + max(0, ascii_len - len(domain)) > _MAX_URL_LENGTH:
            continue
        spans.append((start, end))
    return spans


def _mastodon_mention_spans(text: str) -> list[tuple[int, int, str]]:
    if "@" not in text and "\uff20" not in text:
        return []
    found: list[tuple[int, int, str]] = []
    for m in _mastodon_regexes().mention.finditer(text):
        if _END_MENTION.match(text, m.end()):
            continue
        domain = m.group("domain")
        if domain and len(domain) > _MAX_DOMAIN_LENGTH:
            continue
        found.append((m.start(), m.end(), "@" + m.group("username")))
    return found


def _mastodon_countable_text(text: str, url_chars: int) -> str:
    if _WS_RE.fullmatch(text):  # ActiveSupport String#blank?
        return ""
    placeholder = "x" * url_chars
    entities: list[tuple[int, int, str]] = [
        (s, e, placeholder) for s, e in mastodon_url_spans(text)
    ]
    entities += _mastodon_mention_spans(text)
    entities.sort(key=lambda e: e[0])
    out: list[str] = []
    pos = 0
    for start, end, replacement in entities:
        if start < pos:  # overlaps an entity kept earlier
            continue
        out.append(text[pos:start])
        out.append(replacement)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def codepoint_length(text: str) -> int:
    """Code points of ``text``, every URL and mention at full length: GoToSocial's count."""
    return len(_check_text(text))


def mastodon_length(
    text: str, url_chars: int = MASTODON_URL_CHARS, *, spoiler_text: str = ""
) -> int:
    """Mastodon's count: graphemes of ``spoiler_text + text`` after the server's rewrites.

    ``url_chars`` is the instance's ``configuration.statuses.characters_reserved_per_url``
    (23 unless the admin changed it). Whitespace-only text counts 0, as on the server
    (``String#blank?``).

    Why not ``Mastodon.get_status_length``: it copies the web composer's JavaScript regexes,
    and measured against this port of the server it miscounts remote mentions whose user
    part has a dot or dash (``@first.last@example.social``), mentions of IDN domains, URLs
    with non-Latin paths or more than one level of parentheses, and ``gemini://`` style links;
    it also inherits graphemeu's split of a flag that follows a line break.
    """
    text = _check_text(text)
    spoiler_text = _check_text(spoiler_text)
    if not isinstance(url_chars, int) or isinstance(url_chars, bool) or url_chars < 0:
        raise ValueError(f"url_chars must be a non-negative int, not {url_chars!r}")
    return _grapheme_count(spoiler_text + _mastodon_countable_text(text, url_chars))
