"""Entries: Markdown with YAML (``---``) or TOML (``+++``) front matter, or a plain short post.

The raw text is kept next to the parsed fields, with the offset of each published field in it,
so guard findings can point at characters of the file the user wrote.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .errors import EntryError

if TYPE_CHECKING:
    from frontmatter.default_handlers import BaseHandler

FIELDS = (
    "title",
    "persona",
    "tags",
    "categories",
    "to",
    "at",
    "share",
    "media",
    "summary",
    "slug",
    "lang",
    "thread",
    "evergreen",
    "evergreen_texts",
)


#: what a text with front matter starts with (each handler's ``FM_BOUNDARY`` matches there)
_FRONT_MATTER_STARTS = ("---", "+++")


@cache
def _handlers() -> tuple[BaseHandler, ...]:
    """The front matter parsers, made when a text may have front matter (python-frontmatter
    and PyYAML are not imported for a ``--text`` post)."""
    from frontmatter.default_handlers import BaseHandler, YAMLHandler

    class _TOMLHandler(BaseHandler):
        """python-frontmatter's TOML handler needs the third-party ``toml``; tomllib is
        stdlib."""

        FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)
        START_DELIMITER = END_DELIMITER = "+++"

        def load(self, fm: str, **kwargs: object) -> Any:
            return tomllib.loads(fm)

    return (YAMLHandler(), _TOMLHandler())


@dataclass(frozen=True)
class Media:
    path: Path
    alt: str = ""
    #: for an image referenced in the body: the reference as written there ("photos/x.jpg")
    ref: str | None = None


@dataclass(frozen=True)
class ImageRef:
    """A local image the Markdown body refers to; ``start``/``end`` span the reference."""

    ref: str
    alt: str
    start: int
    end: int


@dataclass
class Entry:
    raw: str
    body: str
    source: Path | None = None
    title: str | None = None
    persona: str | None = None
    tags: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    to: list[str] | None = None
    at: str | datetime | None = None
    share: dict[str, str] = field(default_factory=dict)
    media: list[Media] = field(default_factory=list)
    summary: str | None = None
    slug: str | None = None
    lang: str | None = None
    #: a share too long for one post becomes a thread on every target that can thread
    thread: bool = False
    #: the entry may be re-shared from the persona's evergreen pool once published
    evergreen: bool = False
    #: alternative share texts for re-shares, by platform or account name ("*": any), rotated
    evergreen_texts: dict[str, list[str]] = field(default_factory=dict)
    #: where each published field's text starts in ``raw`` (-1 when it cannot be located)
    offsets: dict[str, int] = field(default_factory=dict)
    #: local images referenced in the body (``![alt](photos/x.jpg)``, ``<img src>``)
    body_images: list[Media] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "entry" if self.title else "short"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.raw.encode("utf-8")).hexdigest()

    def published_fields(self) -> list[tuple[str, str]]:
        """Every piece of text that goes out with the post, named for findings."""
        out = []
        if self.title:
            out.append(("title", self.title))
        if self.summary:
            out.append(("summary", self.summary))
        out.append(("body", self.body))
        for i, t in enumerate(self.tags):
            out.append((f"tags[{i}]", t))
        for i, c in enumerate(self.categories):
            out.append((f"categories[{i}]", c))
        for key, text in self.share.items():
            out.append((f"share.{key}", text))
        for key, texts in self.evergreen_texts.items():
            for i, text in enumerate(texts):
                out.append((f"evergreen_texts.{key}[{i}]", text))
        for i, m in enumerate(self.media):
            if m.alt:
                out.append((f"media[{i}].alt", m.alt))
        if self.slug:
            out.append(("slug", self.slug))
        return out

    def effective_slug(self) -> str:
        if self.slug:
            return slugify(self.slug)
        if self.title:
            return slugify(self.title)
        if self.source is not None:
            return slugify(self.source.stem)
        return slugify(self.body[:60]) or "post"


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80].rstrip("-") or "post"


def first_words(text: str, limit: int = 60) -> str:
    """A one-line label from free text (short posts have no title)."""
    words = text.split()
    out = ""
    for w in words:
        candidate = f"{out} {w}" if out else w
        if len(candidate) > limit:
            return (out or w[:limit]) + "…"
        out = candidate
    return out


def read_entry(path: Path) -> Entry:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EntryError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise EntryError(f"{path}: is a folder, not an entry file") from None
    except OSError as e:
        raise EntryError(f"{path}: cannot read ({e.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise EntryError(
            f"{path}: not UTF-8 text (invalid byte at offset {e.start}); save the file as UTF-8"
        ) from None
    return parse_entry(text.removeprefix("\ufeff"), source=path)


def parse_entry(text: str, source: Path | None = None) -> Entry:
    where = str(source) if source else "text"
    handler = (
        next((h for h in _handlers() if h.detect(text)), None)
        if text.startswith(_FRONT_MATTER_STARTS)
        else None
    )
    meta: dict[str, Any] = {}
    body_start = 0
    fm_span = (0, 0)
    if handler is not None:
        assert handler.FM_BOUNDARY is not None
        marks = list(handler.FM_BOUNDARY.finditer(text))
        if len(marks) < 2:
            raise EntryError(
                f"{where}: front matter starts with '{handler.START_DELIMITER}' "
                f"but has no closing '{handler.END_DELIMITER}' line"
            )
        fm_span = (marks[0].end(), marks[1].start())
        fm_text = text[fm_span[0] : fm_span[1]]
        meta = _load_front_matter(handler, fm_text, where)
        body_start = marks[1].end()
    rest = text[body_start:]
    stripped = rest.strip()
    body_offset = body_start + (len(rest) - len(rest.lstrip()))
    entry = _build(meta, stripped, text, source, where)
    entry.offsets["body"] = body_offset
    entry.body_images = body_images(entry.body, source.parent if source else Path.cwd())
    _locate_front_matter_fields(entry, text, fm_span)
    if not entry.body.strip():
        raise EntryError(f"{where}: the post is empty; write some text below the front matter")
    return entry


def _load_front_matter(handler: BaseHandler, fm_text: str, where: str) -> dict[str, Any]:
    import yaml

    try:
        meta = handler.load(fm_text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise EntryError(f"{where}: front matter is not valid YAML{line}: {problem}") from None
    except tomllib.TOMLDecodeError as e:
        raise EntryError(f"{where}: front matter is not valid TOML: {e}") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise EntryError(f"{where}: front matter must be a set of 'key: value' fields")
    return meta


def _build(meta: dict[str, Any], body: str, raw: str, source: Path | None, where: str) -> Entry:
    unknown = [k for k in meta if k not in FIELDS]
    if unknown:
        parts = []
        for k in unknown:
            close = difflib.get_close_matches(str(k), FIELDS, n=1)
            parts.append(f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise EntryError(
            f"{where}: unknown front matter field{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(parts)}; known fields: {', '.join(FIELDS)}"
        )
    base = source.parent if source else Path.cwd()
    return Entry(
        raw=raw,
        body=body,
        source=source,
        title=_opt_str(meta, "title", where),
        persona=_opt_str(meta, "persona", where),
        tags=_str_list(meta, "tags", where),
        categories=_str_list(meta, "categories", where),
        to=_str_list(meta, "to", where) if "to" in meta else None,
        at=_at(meta, where),
        share=_share(meta, where),
        media=_media(meta, base, where),
        summary=_opt_str(meta, "summary", where),
        slug=_opt_str(meta, "slug", where),
        lang=_opt_str(meta, "lang", where),
        thread=_bool(meta, "thread", where),
        evergreen=_bool(meta, "evergreen", where),
        evergreen_texts=_evergreen_texts(meta, where),
    )


def _evergreen_texts(meta: dict[str, Any], where: str) -> dict[str, list[str]]:
    """``evergreen_texts``: a list for every platform, or lists by platform or account."""
    v = meta.get("evergreen_texts")
    if v is None:
        return {}
    wrong = EntryError(
        f"{where}: front matter field 'evergreen_texts' is a list of share texts, or lists "
        'by platform or account, like evergreen_texts: {mastodon: ["…", "…"], x: ["…"]}'
    )
    if isinstance(v, list):
        v = {"*": v}
    if not isinstance(v, dict):
        raise wrong
    out: dict[str, list[str]] = {}
    from .placeholders import template_problem

    for key, texts in v.items():
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(key, str) or not isinstance(texts, list):
            raise wrong
        if not all(isinstance(t, str) and t.strip() for t in texts):
            raise wrong
        for i, text in enumerate(texts):
            problem = template_problem(text, f"{where} evergreen_texts.{key}[{i}]")
            if problem is not None:
                raise EntryError(problem)
        out[key] = [t.strip() for t in texts]
    return out


def _opt_str(meta: dict[str, Any], key: str, where: str) -> str | None:
    v = meta.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise EntryError(f"{where}: front matter field '{key}' must be text")
    s = str(v).strip()
    return s or None


def _bool(meta: dict[str, Any], key: str, where: str) -> bool:
    v = meta.get(key, False)
    if not isinstance(v, bool):
        raise EntryError(f"{where}: front matter field '{key}' must be true or false")
    return v


def _str_list(meta: dict[str, Any], key: str, where: str) -> list[str]:
    v = meta.get(key)
    if v is None:
        return []
    if isinstance(v, str):
        return [p.strip() for p in v.split(",") if p.strip()]
    if isinstance(v, list) and all(isinstance(x, str | int) for x in v):
        return [str(x).strip() for x in v if str(x).strip()]
    raise EntryError(
        f'{where}: front matter field \'{key}\' must be a list of text, like ["a", "b"]'
    )


def _at(meta: dict[str, Any], where: str) -> str | datetime | None:
    v = meta.get("at")
    if v is None or isinstance(v, str | datetime):
        return v
    if isinstance(v, date):
        raise EntryError(
            f"{where}: front matter field 'at' needs a time of day too, like '{v} 09:00'"
        )
    raise EntryError(f"{where}: front matter field 'at' must be a time like '2026-12-01 09:00'")


def _share(meta: dict[str, Any], where: str) -> dict[str, str]:
    v = meta.get("share")
    if v is None:
        return {}
    if not isinstance(v, dict) or not all(
        isinstance(k, str) and isinstance(t, str) for k, t in v.items()
    ):
        raise EntryError(
            f"{where}: front matter field 'share' maps a platform or account name to its text, "
            'like share: {x: "…", mastodon: "…"}'
        )
    from .placeholders import template_problem

    for key, text in v.items():
        problem = template_problem(text, f"{where} share.{key}")
        if problem is not None:
            raise EntryError(problem)
    return {k: t.strip() for k, t in v.items()}


def _media(meta: dict[str, Any], base: Path, where: str) -> list[Media]:
    v = meta.get("media")
    if v is None:
        return []
    if not isinstance(v, list):
        v = [v]
    out = []
    for i, item in enumerate(v):
        if isinstance(item, str):
            path, alt = item, ""
        elif isinstance(item, dict) and isinstance(item.get("path"), str):
            extra = set(item) - {"path", "alt"}
            if extra:
                raise EntryError(
                    f"{where}: media[{i}] has unknown field(s) {', '.join(sorted(extra))}; "
                    "use 'path' and 'alt'"
                )
            path, alt = item["path"], str(item.get("alt") or "")
        else:
            raise EntryError(f"{where}: media[{i}] must be a path or {{path: …, alt: …}}")
        p = Path(path).expanduser()
        out.append(Media(p if p.is_absolute() else base / p, alt.strip()))
    return out


def _locate_front_matter_fields(entry: Entry, raw: str, span: tuple[int, int]) -> None:
    """Find where published front matter values sit in the raw text (best effort)."""
    start, end = span
    for name, text in entry.published_fields():
        if name != "body" and text:
            entry.offsets[name] = raw.find(text, start, end)


def text_entry(text: str) -> Entry:
    """``--text``: a short post with no front matter and no file."""
    body = text.strip()
    if not body:
        raise EntryError("--text is empty; give the text of the post")
    return Entry(
        raw=text,
        body=body,
        offsets={"body": text.find(body)},
        body_images=body_images(body, Path.cwd()),
    )


# -- images in the body ----------------------------------------------------------------------

#: ``![alt](dest "title")``: alt with one level of nested brackets, dest in <> or bare with
#: balanced parentheses (CommonMark), an optional title
_MD_IMAGE = re.compile(
    r"!\[(?P<alt>(?:\\.|[^\\\[\]]|\[(?:\\.|[^\\\[\]])*\])*)\]"
    r"\(\s*(?:<(?P<angle>[^<>\n]*)>|(?P<bare>(?:\\.|[^\s()\\]|\((?:\\.|[^\s()\\])*\))+))"
    r"(?:\s+(?:\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|\((?:\\.|[^()\\])*\)))?\s*\)"
)
_HTML_IMG = re.compile(
    r"<img\b[^>]*?\ssrc\s*=\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<uq>[^\s\"'<>]+))",
    re.IGNORECASE,
)
_HTML_ALT = re.compile(r"\salt\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE)
_FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})[^\n]*$", re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_MD_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def _mask_code(body: str) -> str:
    """``body`` with fenced code blocks and code spans blanked out (same length), so an
    image written as an example in code is not taken for one."""
    out = list(body)
    fence: str | None = None
    start = 0
    for m in _FENCE.finditer(body):
        mark = m.group(1)
        if fence is None:
            fence, start = mark, m.start()
        elif (
            mark[0] == fence[0] and len(mark) >= len(fence) and not body[m.end(1) : m.end()].strip()
        ):
            out[start : m.end()] = " " * (m.end() - start)
            fence = None
    if fence is not None:  # an unclosed fence runs to the end
        out[start:] = " " * (len(body) - start)
    masked = "".join(out)
    return _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), masked)


def find_image_refs(body: str) -> list[ImageRef]:
    """Every image reference in a Markdown body, local or not, in order of appearance."""
    masked = _mask_code(body)
    found: list[ImageRef] = []
    for m in _MD_IMAGE.finditer(masked):
        group = "angle" if m.group("angle") is not None else "bare"
        ref = body[m.start(group) : m.end(group)]
        if group == "bare":
            ref = _MD_ESCAPED.sub(r"\1", ref)
        alt = _MD_ESCAPED.sub(r"\1", body[m.start("alt") : m.end("alt")])
        found.append(ImageRef(ref, alt, m.start(group), m.end(group)))
    for m in _HTML_IMG.finditer(masked):
        group = next(g for g in ("dq", "sq", "uq") if m.group(g) is not None)
        tag_end = masked.find(">", m.end())
        alt_m = _HTML_ALT.search(body, m.start(), tag_end if tag_end >= 0 else len(body))
        alt = (alt_m.group(1) or alt_m.group(2) or "") if alt_m else ""
        found.append(
            ImageRef(body[m.start(group) : m.end(group)], alt, m.start(group), m.end(group))
        )
    return sorted(found, key=lambda r: r.start)


def is_local_ref(ref: str) -> bool:
    """A path relative to the entry file. Left alone: URLs with a scheme (http, https, data…),
    protocol-relative and site-absolute paths (``//host/x``, ``/images/x.jpg``: they point into
    the published site, not at a file here), fragments and generator placeholders
    (Pelican's ``{static}``, Hugo shortcodes)."""
    r = ref.strip()
    return bool(r) and not r.startswith(("/", "\\", "#", "{", "?")) and not _SCHEME.match(r)


def image_ref_path(ref: str) -> str:
    """The file a relative reference names: without query or fragment, %-escapes decoded."""
    path = re.split(r"[?#]", ref.strip(), maxsplit=1)[0]
    return unquote(path)


def body_images(body: str, base: Path) -> list[Media]:
    """The local images of a body, once per reference, resolved against ``base``."""
    out: dict[str, Media] = {}
    for r in find_image_refs(body):
        if is_local_ref(r.ref) and r.ref not in out:
            out[r.ref] = Media(base / image_ref_path(r.ref), r.alt.strip(), ref=r.ref)
    return list(out.values())


def rewrite_image_refs(body: str, new_refs: dict[str, str]) -> str:
    """``body`` with each image reference found in ``new_refs`` replaced by its new value."""
    out = body
    for r in reversed(find_image_refs(body)):
        if r.ref in new_refs:
            out = out[: r.start] + new_refs[r.ref] + out[r.end :]
    return out


def require_media(entry: Entry) -> None:
    """Every media file the entry names must exist: a typo in a path is the user's to fix
    (exit 2), not a leak finding."""
    where = str(entry.source) if entry.source else "--text"
    for i, m in enumerate(entry.media):
        if not m.path.is_file():
            raise EntryError(
                f"{where}: media[{i}] {m.path}: "
                + ("is not a file" if m.path.exists() else "file not found"),
                hint="fix the path in the front matter (relative paths start at the entry's "
                "folder)",
            )
    for m in entry.body_images:
        if not m.path.is_file():
            raise EntryError(
                f"{where}: the image '{m.ref}' in the body: {m.path}: "
                + ("is not a file" if m.path.exists() else "file not found"),
                hint="fix the path (relative paths start at the entry's folder)",
            )
