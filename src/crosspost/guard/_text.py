"""Normalisation: a comparison copy of a text, with a map back to the original.

The guard never rewrites a post. It compares on a normalised copy and reports offsets into the
original, so every step here either keeps a 1:1 correspondence or records where each normalised
character came from.

Two views are built from the original text:

``norm``
    NFKD compatibility decomposition with combining marks removed (so ``ｆｕｌｌ`` → ``full``,
    ``𝐀𝐧𝐚`` → ``ana``, ``Réyes`` → ``reyes``), casefolded, default-ignorable and bidi-control
    characters deleted, confusable letters mapped to their Latin prototype (TR39 data from
    ``confusable_homoglyphs`` plus a supplement, see :mod:`._confusables`), non-ASCII decimal
    digits mapped to ASCII, and percent-escapes decoded. Punctuation is kept, so the rule packs
    and the phone/mention extractors can read it.

``canon``
    The word tokens of ``norm`` (letters and digits; everything else, including ``_``, is a
    separator), joined by single spaces and padded with one space at both ends, with the
    common digit-for-letter swaps folded (``0→o 1→i 3→e 4→a 5→s 7→t 8→b 9→g 2→z`` and ``l→i``,
    so ``1``/``l``/``I`` compare equal). Every character of a token in ``canon`` corresponds to
    exactly one character of ``norm``. Identifiers are compiled into the same form, so an
    Aho-Corasick key ``" ana bee "`` matches on word boundaries only.

Everything on the hot path is a C-level string operation (``lower``, ``translate``, ``split``,
``join``); Python loops run only when a finding has to be mapped back to the original.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_right
from itertools import accumulate
from urllib.parse import unquote

from ._confusables import CONFUSABLE_TO_ASCII

# ---------------------------------------------------------------------------------------------
# character tables

#: Default-ignorable code points that are not of category Cf/Mn/Me (those are dropped by
#: category): Hangul fillers, which render as nothing.
_EXTRA_IGNORABLE = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0})

#: The digit-for-letter swaps folded in ``canon``; ``l`` joins ``1``/``i`` so "1"/"l"/"I" agree.
FUZZY_FOLD = {
    "0": "o",
    "1": "i",
    "l": "i",
    "2": "z",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
}


def _is_ignorable(ch: str) -> bool:
    cp = ord(ch)
    if cp in _EXTRA_IGNORABLE:
        return True
    cat = unicodedata.category(ch)
    if cat in ("Cf", "Mn", "Me"):
        # Cf: ZWSP/ZWNJ/ZWJ, word joiner, BOM, soft hyphen, bidi controls, tag characters.
        # Mn/Me: combining marks, variation selectors, combining grapheme joiner.
        return True
    # C0/C1 controls other than whitespace: invisible, usable as splitters.
    return cat == "Cc" and not ch.isspace()


_PUNCT_BY_CATEGORY = {
    "Pd": "-",
    "Ps": "(",
    "Pe": ")",
    "Pi": "'",
    "Pf": "'",
    "Zs": " ",
    "Zl": "\n",
    "Zp": "\n",
}
_PUNCT_BY_CHAR = {
    "«": '"',
    "»": '"',
    "„": '"',
    "‚": "'",
    "·": ".",
    "•": "*",
    "‧": ".",
    "、": ",",
    "。": ".",
    "⁄": "/",
    "∕": "/",
    "′": "'",
    "″": '"',
}


def _ascii_punctuation(ch: str) -> str | None:
    """Typographic punctuation → ASCII (keeps posts with curly quotes on the fast path)."""
    if ch in _PUNCT_BY_CHAR:
        return _PUNCT_BY_CHAR[ch]
    return _PUNCT_BY_CATEGORY.get(unicodedata.category(ch))


def _norm_char(ch: str) -> str:
    """Normalised form of one character (may be empty or several characters)."""
    if _is_ignorable(ch):
        return ""
    direct = CONFUSABLE_TO_ASCII.get(ch)
    if direct is not None:  # before NFKD: "Ϲ" (lunate sigma, looks like C) decomposes to "Σ"
        return direct
    out = []
    for d in unicodedata.normalize("NFKD", ch):
        if _is_ignorable(d):
            continue
        if not d.isascii():
            if d.isdecimal():
                out.append(str(unicodedata.decimal(d)))
                continue
            proto = CONFUSABLE_TO_ASCII.get(d)
            if proto is not None:
                out.append(proto)
                continue
            punct = _ascii_punctuation(d)
            if punct is not None:
                out.append(punct)
                continue
        for f in d.casefold():
            if f.isascii():
                out.append(f)
            else:
                out.append(CONFUSABLE_TO_ASCII.get(f, f))
    return "".join(out)


class _NormTable(dict[int, str]):
    """``str.translate`` table computed lazily per code point and cached."""

    def __missing__(self, cp: int) -> str:
        value = _norm_char(chr(cp))
        self[cp] = value
        return value


class _CanonTable(dict[int, str]):
    """Maps a ``norm`` character to its ``canon`` form: separators become spaces (1:1)."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        value = FUZZY_FOLD.get(ch, ch) if ch.isalnum() else " "
        self[cp] = value
        return value


NORM_TABLE = _NormTable({cp: chr(cp).lower() for cp in range(128)})
for _cp in range(128):
    if _is_ignorable(chr(_cp)):
        NORM_TABLE[_cp] = ""
CANON_TABLE = _CanonTable()
for _cp in range(128):
    CANON_TABLE[_cp]

#: deletes the ASCII controls that are not whitespace (to detect them at C speed)
_DEL_CONTROLS = {cp: None for cp in [*range(0x00, 0x09), *range(0x0E, 0x1C), 0x7F]}
#: Encodings that hide letters from a plain scan: percent-escapes (URLs, redirect parameters),
#: HTML character references (Markdown/HTML bodies) and punycode labels (IDN domains).
_ENCODED = re.compile(
    r"(?P<pct>(?:%[0-9A-Fa-f]{2})+)"
    r"|(?P<ent>&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)"
    r"|(?<![\w-])(?P<idn>[xX][nN]--[A-Za-z0-9-]+)"
)


def _decode_one(m: re.Match[str]) -> str:
    text = m.group(0)
    if m.group("pct"):
        return unquote(text, errors="replace")
    if m.group("ent"):
        return html.unescape(text)
    try:
        return text.lower().encode("ascii").decode("idna")
    except UnicodeError:
        return text


_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_ENT = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_IDN = re.compile(r"(?<![\w-])[xX][nN]--[A-Za-z0-9-]+")


def _may_be_encoded(text: str) -> bool:
    """``_ENCODED`` occurs in ``text`` (``%``, ``&`` or ``xn--``/``XN--`` present).

    One pattern per kind: each starts with a literal the regex engine finds at C speed, where
    the alternation of all three scanned the whole post character by character (a post with
    "50%" or "&" paid that every time)."""
    pct = "%" in text
    ent = "&" in text
    if pct and _PCT.search(text):
        return True
    if ent and _ENT.search(text):
        return True
    return (
        "--" in text
        and (pct or ent or "xn--" in text or "XN--" in text)
        and bool(_IDN.search(text))
    )


WORD_RE = re.compile(r"[^\W_]+")
#: characters that ``NORM_TABLE`` does not simply lowercase: non-ASCII and ASCII controls
_SPECIAL_RUN = re.compile(r"[^\t-\r\x1c-\x7e]+")
#: text with more distinct non-ASCII characters than this takes the per-run path
_MAX_REPLACED = 48
#: original ASCII byte → ``canon`` byte (lowercase, folded; separators → space; 1:1), except
#: that the ASCII controls ``NORM_TABLE`` deletes (``_DEL_CONTROLS``) become NUL, to detect them
_CANON_FROM_ASCII = bytes(
    0 if b in _DEL_CONTROLS else ord(CANON_TABLE[ord(chr(b).lower())]) if b < 128 else 32
    for b in range(256)
)
#: ``_CANON_FROM_ASCII``, except that ``%`` and ``&`` become NUL too: one ``in`` test on the
#: folded bytes then proves a plain ASCII text has neither controls nor percent-escapes or
#: character references (the usual short post), before ``_may_be_encoded`` has to look
_CANON_FROM_PLAIN_ASCII = bytes(
    0 if b in (0x25, 0x26) else c for b, c in enumerate(_CANON_FROM_ASCII)
)
_SPACES = re.compile(r"  +")
_SPAN = re.Match.span
_PLUS_ONE = (1).__add__
_NOT_DIGITS = bytes(b for b in range(256) if not 0x30 <= b <= 0x39)
_SPACES_B = re.compile(rb"  +")


def _ascii_form(orig: str) -> bytes | None:
    """``orig`` as ASCII bytes with each non-ASCII character replaced by its one-character
    normalised form, or ``None`` when some character does not normalise to exactly one ASCII
    character (then offsets need a map and the per-character path is taken).

    Typical text has a handful of distinct non-ASCII characters (curly quotes, dashes, accented
    letters): each is found with one C-level ``encode`` (which stops at the first non-ASCII
    character) and replaced everywhere with one ``str.replace``.
    """
    text = orig
    for _ in range(_MAX_REPLACED):
        try:
            return text.encode("ascii")
        except UnicodeEncodeError as exc:
            ch = text[exc.start]
        piece = NORM_TABLE[ord(ch)]
        # one ASCII character that NORM_TABLE keeps as it is (lowercase, not a control)
        if len(piece) != 1 or not piece.isascii() or NORM_TABLE[ord(piece)] != piece:
            return None
        text = text.replace(ch, piece)
    return None


#: ``_CANON_FROM_ASCII`` for UTF-8 bytes: bytes of non-ASCII characters stay as they are
_CANON_FROM_UTF8 = bytes(c if b < 128 else b for b, c in enumerate(_CANON_FROM_ASCII))
#: the bytes of ``_SPECIAL_RUN``'s complement: ASCII that ``NORM_TABLE`` only lowercases
_PLAIN_ASCII = bytes([*range(0x09, 0x0E), *range(0x1C, 0x7F)])
#: non-ASCII or control character → (its ``norm`` form, its ``canon`` form or ``None``), for
#: characters :func:`_simple_views` can replace with ``str.replace``; ``None`` for the others
_SIMPLE: dict[str, tuple[str, str | None] | None] = {}


def _simple(ch: str) -> tuple[str, str | None] | None:
    """``(norm form, canon form)`` of a special character when both are plain replacements:
    the ``norm`` form is lowercase and normalises to itself (so replacing, then ``lower()``,
    equals ``translate(NORM_TABLE)``); the ``canon`` form (``None`` for an ASCII or empty
    ``norm`` form, which the byte table folds) is one character ``CANON_TABLE`` keeps."""
    try:
        return _SIMPLE[ch]
    except KeyError:
        pass
    piece = NORM_TABLE[ord(ch)]
    value: tuple[str, str | None] | None = None
    if piece.lower() == piece and all(NORM_TABLE[ord(c)] == c for c in piece):
        if piece.isascii():
            value = (piece, None)
        elif len(piece) == 1:
            canon = CANON_TABLE[ord(piece)]
            if len(canon) == 1 and CANON_TABLE[ord(canon)] == canon:
                value = (piece, canon)
    _SIMPLE[ch] = value
    return value


def _simple_views(orig: str) -> tuple[str, str, bool] | None:
    """``(norm, canon, offsets shift)`` of text with non-ASCII characters or controls, with
    C-level string operations: each distinct special character is replaced everywhere with
    one ``str.replace`` (emoji, CJK letters, accented letters, curly quotes, invisible
    joiners), where ``translate`` with the lazy tables costs a dictionary look-up per
    character. ``None`` when a character needs the general path."""
    # the special characters alone: UTF-8 bytes without the plain ASCII ones (C-level)
    specials = orig.encode("utf-8", "surrogatepass").translate(None, _PLAIN_ASCII)
    text = orig
    shift = False
    letters = False  # non-ASCII letters stay in ``canon``
    swaps: list[tuple[str, str]] = []  # ``norm`` character → another ``canon`` letter
    spaces: list[str] = []  # non-ASCII ``norm`` characters that are separators in ``canon``
    table = _SIMPLE
    for ch in set(specials.decode("utf-8", "surrogatepass")):
        simple = table.get(ch) or _simple(ch)
        if simple is None:
            return None
        piece, canon = simple
        if piece != ch:
            text = text.replace(ch, piece)
            if len(piece) != 1:
                shift = True
        if canon is None:
            continue
        if canon == " ":
            spaces.append(piece)
        elif canon == piece:
            letters = True
        else:
            swaps.append((piece, canon))
            letters = letters or not canon.isascii()
    norm = text.lower()
    folded = norm
    for piece, canon in swaps:
        folded = folded.replace(piece, canon)
    if not letters:
        # every non-ASCII character left is a separator: the byte table makes its bytes
        # spaces, which collapse like any run of separators
        raw = folded.encode("utf-8", "surrogatepass").translate(_CANON_FROM_ASCII)
        return norm, _collapse_bytes(raw), shift
    for piece in spaces:
        folded = folded.replace(piece, " ")
    raw = folded.encode("utf-8", "surrogatepass").translate(_CANON_FROM_UTF8)
    out = _SPACES_B.sub(b" ", b" " + raw + b" ")
    return norm, (out.decode("utf-8", "surrogatepass") if len(out) > 1 else "  "), shift


def _collapse(padded: str) -> str:
    """``" " + " ".join(tokens) + " "`` from a space-padded canon string (C-level)."""
    out = _SPACES.sub(" ", padded)
    return out if len(out) > 1 else "  "


def _collapse_bytes(raw: bytes) -> str:
    out = _SPACES_B.sub(b" ", b" " + raw + b" ")
    return out.decode("ascii") if len(out) > 1 else "  "


def norm_string(text: str) -> str:
    """The ``norm`` view of a short string (identifiers, rule keywords)."""
    return _pct_decode(text).translate(NORM_TABLE)


def _pct_decode(text: str) -> str:
    """Decode percent-escapes, character references and punycode (three layers at most)."""
    for _ in range(3):
        if not _may_be_encoded(text):
            break
        decoded = _ENCODED.sub(_decode_one, text)
        if decoded == text:
            break
        text = decoded
    return text


def canon_tokens(text: str) -> list[str]:
    """The folded word tokens of ``text`` (an identifier or a phrase)."""
    return norm_string(text).translate(CANON_TABLE).split()


def exact_tokens(text: str) -> list[str]:
    """Word tokens of ``text`` after normalisation but without the digit/letter fold."""
    return WORD_RE.findall(norm_string(text))


def canon_key(tokens: list[str] | tuple[str, ...]) -> str:
    return " " + " ".join(tokens) + " "


# ---------------------------------------------------------------------------------------------
# a normalised text with its offset map


class Normalised:
    """One field's text, its ``norm`` and ``canon`` views and the way back to the original."""

    # The views are slots; what is computed lazily (rarely: for findings, split letters,
    # hashes) defaults on the class and lands in ``__dict__`` when set, so constructing one
    # per post does not pay for seven stores of ``None``.
    __slots__ = ("__dict__", "canon", "norm", "orig")
    _starts: list[int] | None = None
    _ends: list[int] | None = None
    _spans: list[tuple[int, int]] | None = None
    _canon_starts: list[int] | None = None
    _tokens: list[str] | None = None
    _digits: bytes | None = None
    _needs_map: bool = False

    def __init__(self, orig: str) -> None:
        self.orig = orig
        if orig.isascii():
            raw = orig.encode("ascii")
            folded = raw.translate(_CANON_FROM_PLAIN_ASCII)
            if 0 not in folded and b"--" not in raw:
                # No control, ``%``, ``&`` or ``--`` (of an ``xn--`` label): nothing can be
                # encoded, and every character normalises to itself lowercased. The general
                # path below gives the same views; this one spares it a few calls per post.
                self.norm = orig.lower()
                out = _SPACES_B.sub(b" ", b" " + folded + b" ")
                self.canon = out.decode("ascii") if len(out) > 1 else "  "
                return
        if _may_be_encoded(orig):
            self.norm = self._build_with_escapes(orig)
        else:
            if not orig.isascii():
                views = _simple_views(orig)
                if views is not None:
                    self.norm, self.canon, self._needs_map = views
                    return
            form = orig.encode("ascii") if orig.isascii() else _ascii_form(orig)
            if form is not None:
                folded = form.translate(_CANON_FROM_ASCII)
                if 0 not in folded:  # no ASCII control (NORM_TABLE deletes those)
                    # The common case: every character normalises to one ASCII character
                    # (plain ASCII, or typographic quotes/dashes, accented letters…): offsets
                    # are 1:1 and ``canon`` comes straight from the bytes.
                    self.norm = form.lower().decode("ascii")
                    self.canon = _collapse_bytes(folded)
                    return
            self.norm = self._normalise_special(orig)
        norm = self.norm
        if norm.isascii():  # no controls left: NORM_TABLE deleted them
            self.canon = _collapse_bytes(norm.encode("ascii").translate(_CANON_FROM_ASCII))
        else:
            self.canon = _collapse(" " + norm.translate(CANON_TABLE) + " ")

    @property
    def digits(self) -> bytes:
        """The ASCII digits of ``norm``, in order: one C-level pass tells the phone scan and
        the rules that need a digit whether to look at all."""
        if self._digits is None:
            norm = self.norm
            for digit in "0123456789":  # most posts have none: ten C-level ``in`` say so
                if digit in norm:
                    self._digits = norm.encode("ascii", "ignore").translate(None, _NOT_DIGITS)
                    break
            else:
                self._digits = b""
        return self._digits

    @property
    def tokens(self) -> list[str]:
        """The word tokens of ``canon`` (folded), in order."""
        if self._tokens is None:
            self._tokens = self.canon.split()
        return self._tokens

    def _normalise_special(self, orig: str) -> str:
        """``orig.translate(NORM_TABLE)`` for text with non-ASCII characters or controls."""
        self._needs_map = True
        if "\u0130" in orig:  # the one character whose lower() is two characters
            return orig.translate(NORM_TABLE)
        # ASCII stays on str.lower(); only runs of other characters (and controls) go through
        # the per-character table. Same result as orig.translate(NORM_TABLE).
        return _SPECIAL_RUN.sub(
            lambda m: orig[m.start() : m.end()].translate(NORM_TABLE), orig.lower()
        )

    # -- construction helpers (only for non-ASCII or percent-encoded text) ------------------

    def _build_char_map(self) -> None:
        """Original index of every ``norm`` character; plain ASCII stretches map 1:1."""
        orig = self.orig
        table = NORM_TABLE
        starts: list[int] = []
        pos = 0
        for m in _SPECIAL_RUN.finditer(orig):
            starts.extend(range(pos, m.start()))
            for i in range(m.start(), m.end()):
                k = len(table[ord(orig[i])])
                if k == 1:
                    starts.append(i)
                elif k:
                    starts.extend([i] * k)
            pos = m.end()
        starts.extend(range(pos, len(orig)))
        self._starts = starts
        self._ends = None  # each norm character ends where its original character ends

    def _build_with_escapes(self, orig: str) -> str:
        """Decode (up to three layers: ``%253A`` → ``%3A`` → ``:``), then normalise."""
        text = orig
        starts = list(range(len(orig)))
        ends = [i + 1 for i in starts]
        for _ in range(3):
            if not _may_be_encoded(text):
                break
            pieces: list[str] = []
            s2: list[int] = []
            e2: list[int] = []
            pos = 0
            for m in _ENCODED.finditer(text):
                pieces.append(text[pos : m.start()])
                s2 += starts[pos : m.start()]
                e2 += ends[pos : m.start()]
                decoded = _decode_one(m)
                pieces.append(decoded)
                s2 += [starts[m.start()]] * len(decoded)
                e2 += [ends[m.end() - 1]] * len(decoded)
                pos = m.end()
            pieces.append(text[pos:])
            s2 += starts[pos:]
            e2 += ends[pos:]
            text, starts, ends = "".join(pieces), s2, e2
        out: list[str] = []
        ns: list[int] = []
        ne: list[int] = []
        table = NORM_TABLE
        for ch, a, b in zip(text, starts, ends, strict=True):
            piece = table[ord(ch)]
            if piece:
                out.append(piece)
                ns += [a] * len(piece)
                ne += [b] * len(piece)
        self._starts = ns
        self._ends = ne
        return "".join(out)

    # -- offsets ----------------------------------------------------------------------------

    def orig_span(self, nstart: int, nend: int) -> tuple[int, int]:
        """Original offsets of the ``norm`` span ``[nstart, nend)``."""
        if self._needs_map:
            self._needs_map = False
            self._build_char_map()
        if nend <= nstart:
            if self._starts is None:
                return nstart, nstart
            pos = self._starts[nstart] if nstart < len(self._starts) else len(self.orig)
            return pos, pos
        if self._starts is None:
            return nstart, nend
        if self._ends is None:
            return self._starts[nstart], self._starts[nend - 1] + 1
        return self._starts[nstart], self._ends[nend - 1]

    def _token_spans(self) -> tuple[list[tuple[int, int]], list[int]]:
        if self._spans is None or self._canon_starts is None:
            # C-level maps: this runs for every post with a hit (a name to read in context)
            self._spans = list(map(_SPAN, WORD_RE.finditer(self.norm)))
            # each token starts one space after the end of the one before: 1, 1 + len + 1…
            starts = list(accumulate(map(_PLUS_ONE, map(len, self.tokens)), initial=1))
            starts.pop()
            self._canon_starts = starts
        return self._spans, self._canon_starts

    def canon_to_norm(self, cstart: int, cend: int) -> tuple[int, int]:
        """``norm`` span of the ``canon`` span ``[cstart, cend)`` (inside tokens)."""
        spans, cstarts = self._token_spans()
        i = bisect_right(cstarts, cstart) - 1
        j = bisect_right(cstarts, cend - 1) - 1
        nstart = spans[i][0] + (cstart - cstarts[i])
        nend = spans[j][0] + (cend - 1 - cstarts[j]) + 1
        return nstart, nend

    def canon_token_index(self, cpos: int) -> int:
        _, cstarts = self._token_spans()
        return bisect_right(cstarts, cpos) - 1

    def token_norm_span(self, index: int) -> tuple[int, int]:
        spans, _ = self._token_spans()
        return spans[index]

    def canon_to_orig(self, cstart: int, cend: int) -> tuple[int, int]:
        return self.orig_span(*self.canon_to_norm(cstart, cend))

    def exact_canon(self, cstart: int, cend: int) -> str:
        """The unfolded canonical form of a ``canon`` span (to verify short identifiers)."""
        nstart, nend = self.canon_to_norm(cstart, cend)
        return " ".join(WORD_RE.findall(self.norm[nstart:nend]))
