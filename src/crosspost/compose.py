"""Share text: render a target's template and make it fit the platform's limit.

A share post exists to carry the entry's link, so the link is the one thing never shortened;
everything else gives way in a fixed order that keeps the post readable: hashtags go first
(they are the least informative words), then the body, the summary and finally the title, each
cut at a word boundary with "…". Counting is delegated to :mod:`crosspost.textlength`, so a
result that "fits" here is accepted by the platform.

Cuts never land inside a URL, an @mention, a #hashtag or a grapheme cluster: a cut URL or
handle changes what the post points at, and a cut cluster shows a broken emoji or letter.
"""

from __future__ import annotations

import re
import string
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from crosspost.placeholders import PLACEHOLDERS, template_problem
from crosspost.platforms.spec import resolve
from crosspost.textlength import (
    LIMITS,
    counting_of,
    fits,
    grapheme_boundaries,
    graphemes,
    text_length,
)

__all__ = [
    "ELLIPSIS",
    "PLACEHOLDERS",
    "ShareInput",
    "compose_share",
    "fit",
    "hashtag",
    "render_share",
    "template_problem",
]

ELLIPSIS = "…"


@dataclass(frozen=True)
class ShareInput:
    """What a share template can refer to; ``None`` or blank means "leave it out"."""

    title: str | None
    url: str | None
    summary: str | None
    tags: tuple[str, ...] = ()
    body: str | None = None

    def __post_init__(self) -> None:
        # A bare string would silently become one tag per character.
        if isinstance(self.tags, str):
            raise TypeError("tags must be a sequence of strings, not a single string")
        object.__setattr__(self, "tags", tuple(self.tags))
        for name in ("title", "url", "summary", "body"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
        for tag in self.tags:
            if not isinstance(tag, str):
                raise TypeError(f"tags must be strings, not {type(tag).__name__}")


# --------------------------------------------------------------------------------------------
# Hashtags
# --------------------------------------------------------------------------------------------


def _is_tag_char(ch: str) -> bool:
    """Letters, marks, decimal digits, ``_`` and ZWNJ/ZWJ: what X and Mastodon keep in a tag."""
    if ch in "_\u200c\u200d":
        return True
    cat = unicodedata.category(ch)
    return cat[0] in "LM" or cat == "Nd"


def hashtag(tag: str) -> str | None:
    """``tag`` as a valid hashtag, or ``None`` when nothing usable is left.

    A tag that is already a single word keeps its spelling (``"#mental_health"`` stays
    ``#mental_health``); several words are joined in CamelCase because spaces and punctuation
    would end the hashtag (``"mental health"`` → ``#MentalHealth``, ``"self-care"`` →
    ``#SelfCare``). A tag without any letter (``"2024"``) is not a hashtag on X or Mastodon.
    """
    text = unicodedata.normalize("NFC", tag).strip().lstrip("#\uff03")
    parts: list[str] = []
    current: list[str] = []
    for ch in text:
        if _is_tag_char(ch):
            current.append(ch)
        elif current:
            parts.append("".join(current))
            current = []
    if current:
        parts.append("".join(current))
    if not parts:
        return None
    word = parts[0] if len(parts) == 1 else "".join(_capitalize_first(p) for p in parts)
    if not any(unicodedata.category(c)[0] == "L" for c in word):
        return None
    return "#" + word


def _capitalize_first(word: str) -> str:
    """Upper-case the first letter unless the word has its own casing ("iOS", "McKenzie")."""
    if any(c.isupper() for c in word):
        return word
    first = word[0].upper()
    return (first if len(first) == 1 else word[0]) + word[1:]


def _render_tags(tags: Iterable[str]) -> str:
    seen: set[str] = set()
    out: list[str] = []
    for tag in tags:
        h = hashtag(tag)
        if h is None or h.casefold() in seen:
            continue
        seen.add(h.casefold())
        out.append(h)
    return " ".join(out)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

_NEWLINES = re.compile(r"\r\n?")
_SPACED_SEPARATOR_LEFT = re.compile(r"[ \t]+(?:[—–|·•/]|-{1,2})$")
_SPACED_SEPARATOR_RIGHT = re.compile(r"^(?:[—–|·•/]|-{1,2})(?=[ \t]|$)[ \t]*")


def _parse_template(template: str) -> list[tuple[str, str | None]]:
    """``[(literal, placeholder-or-None), ...]``; raises ValueError naming what is wrong."""
    if not isinstance(template, str):
        raise TypeError(f"template must be a str, not {type(template).__name__}")
    problem = template_problem(template, f"share template {template!r}")
    if problem is not None:
        raise ValueError(problem)
    return [(literal, name) for literal, name, _, _ in string.Formatter().parse(template)]


def _value(data: ShareInput, name: str) -> str:
    if name == "tags":
        return _render_tags(data.tags)
    raw = getattr(data, name)
    if raw is None:
        return ""
    value = _NEWLINES.sub("\n", raw).strip()
    if name in ("title", "url"):
        value = " ".join(value.split())  # one line: a title or link never spans lines
    return value


def render_share(template: str, data: ShareInput) -> str:
    """Fill ``template`` from ``data`` (no length limit applied).

    Placeholders: ``{title} {url} {summary} {tags} {body}``; any other is a ValueError naming
    it. A blank placeholder takes its surrounding whitespace with it (keeping the larger line
    break, so paragraphs stay apart but do not pile up) and a spaced separator such as " — "
    or " | " left dangling next to it. Line endings become ``\\n``.
    """
    parts = _parse_template(template)
    chunks: list[str | None] = []
    for literal, name in parts:
        if literal:
            chunks.append(_NEWLINES.sub("\n", literal))
        if name is not None:
            value = _value(data, name)
            chunks.append(value if value else None)
    return _join_chunks(chunks)


def _join_chunks(chunks: list[str | None]) -> str:
    """Concatenate, resolving each run of blank chunks (``None``) and the whitespace around it."""
    out = ""
    i = 0
    while i < len(chunks):
        chunk = chunks[i]
        if chunk is not None:
            out += chunk
            i += 1
            continue
        # A run of blanks and the whitespace-only chunks between them.
        gaps: list[str] = []
        left = out.rstrip()
        gaps.append(out[len(left) :])
        i += 1
        right = ""
        while i < len(chunks):
            chunk = chunks[i]
            if chunk is None:
                i += 1
                continue
            if chunk.strip() == "":
                gaps.append(chunk)
                i += 1
                continue
            stripped = chunk.lstrip()
            gaps.append(chunk[: len(chunk) - len(stripped)])
            right = stripped
            i += 1
            break
        at_end = i >= len(chunks) and right == ""
        if left == "" or at_end:
            joiner = ""
        else:
            with_newlines = [g for g in gaps if "\n" in g]
            if with_newlines:
                joiner = max(with_newlines, key=lambda g: g.count("\n"))
                joiner = "\n" * joiner.count("\n")
            else:
                joiner = " " if any(gaps) else ""
        line_ends = not right or "\n" in joiner
        m = _SPACED_SEPARATOR_LEFT.search(left)
        if m:
            left = left[: m.start()].rstrip()
        elif line_ends and left.endswith((":", ";", ",")):
            left = left[:-1].rstrip()  # "Title: {summary}" with no summary
        elif right and (left == "" or "\n" in joiner):
            right = _SPACED_SEPARATOR_RIGHT.sub("", right, count=1)
        out = left + joiner + right
    return out


# --------------------------------------------------------------------------------------------
# Spans that must not be cut
# --------------------------------------------------------------------------------------------

_GENERIC_URL = re.compile(r"(?<![\w@])https?://[^\s<>\"]+", re.IGNORECASE)
_URL_TRAILING_CHARS = ".,;:!?'\"’”»)]}>"
# Letters, marks, digits, "_" and ZWNJ/ZWJ never end a mention or hashtag; anything outside
# whitespace and ASCII punctuation is kept in the atom too, so a cut can only fall outside it.
_ATOM_BODY = r"[^\s!-/:-@\[-^`{-~…]"
_ATOM_WORDS = rf"{_ATOM_BODY}+(?:[.\-]+{_ATOM_BODY}+)*"
_MENTION = re.compile(rf"(?<![\w@＠])[@＠]{_ATOM_WORDS}(?:@{_ATOM_WORDS})?")
_HASHTAG = re.compile(rf"(?<![\w&#＃/])[#＃](?![\ufe0f\u20e3]){_ATOM_BODY}+")


def _trim_url(url: str) -> str:
    """Strip trailing prose punctuation, keeping a ")" that closes a "(" inside the URL."""
    while url and url[-1] in _URL_TRAILING_CHARS:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _required_url_spans(text: str) -> list[tuple[int, int]]:
    """http(s) links: always kept whole, never dropped."""
    spans = []
    for m in _GENERIC_URL.finditer(text):
        url = _trim_url(m.group(0))
        if "://" in url and len(url) > url.index("://") + 3:
            spans.append((m.start(), m.start() + len(url)))
    return spans


def _platform_url_spans(text: str, platform: str) -> list[tuple[int, int]]:
    """Links the platform counts at a fixed length: kept whole, like http(s) links."""
    rule = counting_of(platform)
    if rule.url_spans is None:
        return []
    spans: list[tuple[int, int]] = resolve(rule.url_spans)(text)
    return spans


def _hashtag_spans(text: str, blocked: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans = []
    for m in _HASHTAG.finditer(text):
        if not any(unicodedata.category(c)[0] == "L" for c in m.group(0)):
            continue  # "#1" is a word, not a hashtag
        if _overlaps(m.span(), blocked):
            continue
        spans.append(m.span())
    return spans


def _overlaps(span: tuple[int, int], spans: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


@dataclass(frozen=True)
class _Analysis:
    required: list[tuple[int, int]]  # http(s) links: kept whole, never dropped
    urls: list[tuple[int, int]]  # every span some platform may read as a link
    protected: list[tuple[int, int]]  # merged: links, mentions, hashtags
    hashtags: list[tuple[int, int]]


def _analyse(text: str, platform: str) -> _Analysis:
    required = _required_url_spans(text)
    urls = _merge([*required, *_platform_url_spans(text, platform)])
    mentions = [m.span() for m in _MENTION.finditer(text) if not _overlaps(m.span(), urls)]
    tags = _hashtag_spans(text, urls)
    return _Analysis(
        required=required,
        urls=urls,
        protected=_merge([*urls, *mentions, *tags]),
        hashtags=tags,
    )


# --------------------------------------------------------------------------------------------
# Cutting
# --------------------------------------------------------------------------------------------

_DANGLING = ".,;:!?-–—/|·•([{\"'“‘«"
_NO_BREAK_BEFORE = (
    "、。，．・：；？！）」』】〕〉》ー～…‥ゝゞヽヾ々ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
)


def _is_wide(cluster: str) -> bool:
    return unicodedata.east_asian_width(cluster[0]) in ("W", "F") and not cluster[0].isspace()


def _cut_positions(text: str, protected: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """(word-boundary cut offsets, grapheme-boundary cut offsets), ascending, all > 0.

    A cut offset ``p`` keeps ``text[:p]``. Word boundaries are the ends of whitespace-separated
    words and, for CJK text that has no spaces, the places between wide characters where a
    line may break. Offsets inside protected spans are excluded from both lists.
    """
    clusters = graphemes(text)
    bounds = grapheme_boundaries(text)
    starts = [s for s, _ in protected]

    def inside(p: int) -> bool:
        i = bisect_right(starts, p - 1) - 1
        return i >= 0 and protected[i][0] < p < protected[i][1]

    word: list[int] = []
    grapheme: list[int] = []
    for k in range(1, len(clusters)):
        p = bounds[k]
        if inside(p):
            continue
        before, after = clusters[k - 1], clusters[k]
        grapheme.append(p)
        if before.isspace():
            continue
        if after.isspace() or (
            (_is_wide(before) or _is_wide(after)) and after[0] not in _NO_BREAK_BEFORE
        ):
            word.append(p)
    if text and not text[-1].isspace():
        word.append(len(text))
        grapheme.append(len(text))
    return word, grapheme


def _core(prefix: str, keep: set[int]) -> str:
    """``prefix`` without trailing whitespace and dangling punctuation ("Title:" → "Title").

    Stops at an offset in ``keep`` (the end of a link, mention or hashtag), whose last
    character belongs to it.
    """
    core = prefix.rstrip()
    while core and core[-1] in _DANGLING and len(core) not in keep:
        core = core[:-1].rstrip()
    return core


def _valid_cuts(text: str, positions: list[int], analysis: _Analysis) -> list[int]:
    """Drop cuts whose kept text would end with a link: a "…" glued to a URL becomes part of
    it for Mastodon's path rules (``https://x.org/a…``), and the link would break."""
    url_ends = {e for _, e in analysis.urls}
    return [p for p in positions if len(_core(text[:p], url_ends)) not in url_ends]


def _truncated(prefix: str, keep: set[int]) -> str:
    core = _core(prefix, keep)
    return core + ELLIPSIS if core else ""


def _best(
    candidates: list[int], build: Callable[[int], str], ok: Callable[[str], bool]
) -> str | None:
    """The text for the largest candidate that fits; candidates ascend, length grows with them.

    Binary search (lengths are monotone in practice), then step down from the hit until a
    candidate really fits, so a non-monotone corner can cost length but never the limit.
    """
    lo, hi = 0, len(candidates) - 1
    found = -1
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(build(candidates[mid])):
            found = mid
            lo = mid + 1
        else:
            hi = mid - 1
    for idx in range(found, -1, -1):
        result = build(candidates[idx])
        if ok(result):
            return result
    return None


def _droppable_hashtags(text: str, analysis: _Analysis) -> list[tuple[int, int]]:
    """Hashtags in a tag block: only hashtags and links follow them up to the line's end.

    "Tips for you #therapy #selfcare" loses its tags first; the hashtag in "I love #python
    and tea" is a word of the sentence, and removing it would garble the sentence, so it is
    cut (or kept) like any other word.
    """
    out = []
    for start, end in analysis.hashtags:
        line_end = text.find("\n", end)
        rest = text[end : len(text) if line_end < 0 else line_end]
        if all(tok[0] in "#\uff03" or "://" in tok for tok in rest.split()):
            out.append((start, end))
    return out


def _remove_span(text: str, start: int, end: int) -> str:
    """Drop ``text[start:end]`` and merge the whitespace around it (a line break wins)."""
    left, right = text[:start], text[end:]
    core_left, core_right = left.rstrip(), right.lstrip()
    gap = left[len(core_left) :] + right[: len(right) - len(core_right)]
    if not core_left or not core_right:
        return core_left + core_right
    joiner = "\n" * min(gap.count("\n"), 2) if "\n" in gap else (" " if gap else "")
    return core_left + joiner + core_right


def _separator_before(text: str, start: int, prefix_end: int) -> str:
    gap_start = start
    while gap_start > prefix_end and text[gap_start - 1].isspace():
        gap_start -= 1
    gap = text[gap_start:start]
    if "\n" in gap:
        return "\n" * min(gap.count("\n"), 2)
    return " "


def _check(platform: str, limit: int | None) -> tuple[str, int]:
    counting_of(platform)  # ValueError naming the valid platforms
    if limit is None:
        return platform, LIMITS[platform]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a non-negative int, not {limit!r}")
    return platform, limit


def fit(text: str, platform: str, limit: int | None = None, *, counting: str | None = None) -> str:
    """Return ``text`` shortened until ``fits(text, platform, limit, counting=counting)``;
    unchanged if it fits. ``counting="codepoints"``: for a server that counts code points with
    URLs at full length (GoToSocial), see :func:`crosspost.textlength.text_length`.

    Order: hashtags are dropped from the last one backwards (those in a tag block: followed
    only by other hashtags or links on their line); then the words before the cut are
    kept and "…" marks the cut (at a word boundary; inside a word only when not even one word
    fits), while every http(s) link after the cut is kept at the end with its line break.
    Nothing is ever cut inside a link, @mention, #hashtag or grapheme cluster. If the links
    alone do not fit, ValueError says so.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    platform, limit = _check(platform, limit)

    def ok(candidate: str) -> bool:
        return fits(candidate, platform, limit, counting=counting)

    if ok(text):
        return text
    text = _NEWLINES.sub("\n", text)
    if ok(text):
        return text

    analysis = _analyse(text, platform)
    # 1. Hashtags, last first.
    while droppable := _droppable_hashtags(text, analysis):
        start, end = droppable[-1]
        text = _remove_span(text, start, end)
        if ok(text):
            return text
        analysis = _analyse(text, platform)

    # 2. The links must fit on their own.
    required = analysis.required
    links_only = "".join(
        (_separator_before(text, s, 0) if i else "") + text[s:e]
        for i, (s, e) in enumerate(required)
    )
    if required and not ok(links_only):
        need = text_length(links_only, platform, counting=counting)
        what = "link" if len(required) == 1 else f"{len(required)} links"
        raise ValueError(
            f"the {what} alone take{'s' if len(required) == 1 else ''} {need} characters on"
            f" {platform}, over the limit of {limit}; shorten the URL or raise the limit:"
            f" {links_only!r}"
        )

    protected = analysis.protected
    keep = {e for _, e in protected}
    stripped_text = text.rstrip()

    def build(p: int) -> str:
        prefix = text[:p]
        head = stripped_text if prefix.rstrip() == stripped_text else _truncated(prefix, keep)
        tail = ""
        for s, e in required:
            if s >= p:
                sep = _separator_before(text, s, p) if (head or tail) else ""
                tail += sep + text[s:e]
        return head + tail

    word, grapheme = (_valid_cuts(text, c, analysis) for c in _cut_positions(text, protected))
    result = _best(word, build, ok)
    if result is not None and result.strip() != links_only.strip():
        return result
    # Not even one word fits: cut inside the first word, at a grapheme boundary.
    first_word_end = word[0] if word else len(text)
    inner = [p for p in grapheme if p < first_word_end]
    result_inner = _best(inner, build, ok)
    if result_inner is not None:
        return result_inner
    if result is not None:
        return result
    return links_only if ok(links_only) else ""


# --------------------------------------------------------------------------------------------
# Compose
# --------------------------------------------------------------------------------------------


def _with_field(data: ShareInput, field: str, value: str | None) -> ShareInput:
    if field == "title":
        return replace(data, title=value)
    if field == "summary":
        return replace(data, summary=value)
    return replace(data, body=value)


def _shorten_field(
    template: str, data: ShareInput, field: str, platform: str, limit: int, counting: str | None
) -> str | None:
    """Best render with ``field`` cut at a word boundary (a grapheme if no word fits), or None."""
    value = _value(data, field)
    if not value:
        return None
    analysis = _analyse(value, platform)
    keep = {e for _, e in analysis.protected}

    def build(p: int) -> str:
        head = _truncated(value[:p], keep)
        return render_share(template, _with_field(data, field, head or None))

    def ok(candidate: str) -> bool:
        return fits(candidate, platform, limit, counting=counting)

    word, grapheme = (
        _valid_cuts(value, c, analysis) for c in _cut_positions(value, analysis.protected)
    )
    word = [p for p in word if p < len(value)]
    result = _best(word, build, ok)
    if result is not None:
        return result
    first_word_end = word[0] if word else len(value)
    return _best([p for p in grapheme if p < first_word_end], build, ok)


def compose_share(
    template: str,
    data: ShareInput,
    platform: str,
    limit: int | None = None,
    *,
    counting: str | None = None,
) -> str:
    """Render ``template`` for ``platform`` and make it fit, giving way in a readable order
    (counted as ``platform`` counts, or by ``counting``: see :func:`fit`).

    1. the full text, if it fits;
    2. without hashtags from ``data.tags``, dropped from the last;
    3. with ``{body}``, then ``{summary}``, then ``{title}`` shortened at a word boundary with
       "…" (a field that cannot keep even one word is dropped and the next one shortened);
    4. otherwise :func:`fit` on what is left (long template text).

    The URL is never shortened: ValueError if even it does not fit.
    """
    platform, limit = _check(platform, limit)
    names = {name for _, name in _parse_template(template) if name}
    text = render_share(template, data)
    if fits(text, platform, limit, counting=counting):
        return text

    current = data
    if "tags" in names:
        tags = list(data.tags)
        while tags:
            tags.pop()
            current = replace(data, tags=tuple(tags))
            text = render_share(template, current)
            if fits(text, platform, limit, counting=counting):
                return text
    current = replace(current, tags=())

    for field in ("body", "summary", "title"):
        if field not in names or not _value(current, field):
            continue
        shortened = _shorten_field(template, current, field, platform, limit, counting)
        if shortened is not None:
            return shortened
        current = _with_field(current, field, None)

    return fit(render_share(template, current), platform, limit, counting=counting)
