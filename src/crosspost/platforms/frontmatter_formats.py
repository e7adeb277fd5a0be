"""The front matter of each static-site format, written and read back.

``hugo`` is TOML between ``+++`` lines, ``jekyll`` YAML between ``---`` lines, ``pelican``
Python-Markdown ``Key: value`` lines. Writers take the entry's metadata as a dict (``title``,
``date``, ``slug``, ``summary``, ``tags``, ``categories``, ``marker``) and produce text every
generator reads back exactly as written, whatever the title contains; the reader takes any
flavour, including files crosspost did not write.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import yaml

from ..errors import PermanentError

#: the front matter key carrying the delivery's idempotency key
MARKER_KEY = "crosspost_id"

_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(value: str) -> str:
    """A TOML basic string that ``tomllib`` reads back as ``value`` (all controls escaped)."""
    out = ['"']
    for ch in value:
        if ch in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or ch in "\x85\u2028\u2029":
            # controls must be escaped; Unicode line breaks are, so no tool splits the line
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_array(values: Iterable[str]) -> str:
    return "[" + ", ".join(toml_string(v) for v in values) + "]"


def one_line(text: str) -> str:
    """Runs of white space (line breaks too) as one space: for values that must be one line."""
    return " ".join(text.split())


def render_hugo(meta: dict[str, Any]) -> str:
    lines = ["+++"]
    if meta.get("title") is not None:
        lines.append(f"title = {toml_string(meta['title'])}")
    lines.append(f"date = {meta['date'].isoformat(timespec='seconds')}")
    lines.append(f"slug = {toml_string(meta['slug'])}")
    if meta.get("summary"):
        lines.append(f"summary = {toml_string(meta['summary'])}")
    if meta.get("tags"):
        lines.append(f"tags = {toml_array(meta['tags'])}")
    if meta.get("categories"):
        lines.append(f"categories = {toml_array(meta['categories'])}")
    lines.append("draft = false")
    lines.append(f"{MARKER_KEY} = {toml_string(meta['marker'])}")
    lines.append("+++")
    return "\n".join(lines) + "\n"


class _FrontMatterDumper(yaml.SafeDumper):
    """Safe dumping, but text with line breaks is always double-quoted.

    PyYAML's single-quoted style folds a NEL (U+0085) into a space, so such a title would not
    read back as written; double quotes escape every break (and read better for newlines).
    """


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if any(c in value for c in "\n\r\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FrontMatterDumper.add_representer(str, _represent_str)


def render_jekyll(meta: dict[str, Any]) -> str:
    fm: dict[str, Any] = {"layout": "post"}
    if meta.get("title") is not None:
        fm["title"] = meta["title"]
    fm["date"] = meta["date"]
    fm["slug"] = meta["slug"]
    if meta.get("summary"):
        fm["excerpt"] = meta["summary"]
    if meta.get("tags"):
        fm["tags"] = list(meta["tags"])
    if meta.get("categories"):
        fm["categories"] = list(meta["categories"])
    fm[MARKER_KEY] = meta["marker"]
    dumped = yaml.dump(
        fm,
        Dumper=_FrontMatterDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=1_000_000,
    )
    if any(line.rstrip() in ("---", "...") for line in dumped.splitlines()):
        # cannot happen with PyYAML's indented continuation lines; stay safe if it ever does
        fm = {k: (v.isoformat(sep=" ") if isinstance(v, datetime) else v) for k, v in fm.items()}
        dumped = yaml.safe_dump(fm, allow_unicode=True, sort_keys=False, default_style='"')
    return "---\n" + dumped + "---\n"


def _pelican_list(values: Iterable[str]) -> str:
    """Pelican splits on ';' when the value has one, else on ','."""
    vals = [one_line(v) for v in values]
    sep = ";" if any("," in v for v in vals) else ","
    return f"{sep} ".join(v.replace(sep, " ").strip() for v in vals if v.strip())


def render_pelican(meta: dict[str, Any]) -> str:
    title = meta.get("title")
    lines = [f"Title: {one_line(title) if title else ''}".rstrip()]
    lines.append(f"Date: {meta['date'].isoformat(timespec='seconds')}")
    if meta.get("categories"):
        lines.append(f"Category: {one_line(meta['categories'][0])}")
    if meta.get("tags"):
        lines.append(f"Tags: {_pelican_list(meta['tags'])}")
    lines.append(f"Slug: {meta['slug']}")
    # Python-Markdown's meta extension: indented lines continue the value (joined by \n)
    parts = [p for p in map(one_line, (meta.get("summary") or "").splitlines()) if p]
    if parts:
        lines.append(f"Summary: {parts[0]}")
        lines.extend(f"    {p}" for p in parts[1:])
    marker = meta["marker"]
    if "\n" in marker or "\r" in marker:
        raise PermanentError("idempotency key contains a line break", hint="report this bug")
    lines.append(f"Crosspost_id: {marker}")
    return "\n".join(lines) + "\n"


#: front matter writer per ``blog.format``
RENDERERS = {"hugo": render_hugo, "jekyll": render_jekyll, "pelican": render_pelican}
FORMATS = tuple(RENDERERS)

_META_RE = re.compile(r"^[ ]{0,3}(?P<key>[A-Za-z0-9_-]+):\s*(?P<value>.*)")
_META_MORE_RE = re.compile(r"^[ ]{4,}(?P<value>.*)")


def parse_pelican_meta(text: str) -> dict[str, str]:
    """Read metadata lines the way Python-Markdown's ``meta`` extension (Pelican) does."""
    meta: dict[str, list[str]] = {}
    key: str | None = None
    for line in text.split("\n"):  # Python-Markdown splits on \n only
        line = line.rstrip("\r")
        if not line.strip():
            break
        m1 = _META_RE.match(line)
        if m1:
            key = m1.group("key").lower().strip()
            meta.setdefault(key, []).append(m1.group("value").strip())
            continue
        m2 = _META_MORE_RE.match(line)
        if m2 and key:
            meta[key].append(m2.group("value").strip())
            continue
        break
    return {k: "\n".join(v) for k, v in meta.items()}


def _split_block(text: str, fence: str, closers: tuple[str, ...]) -> str | None:
    lines = text.split("\n")  # like Hugo and Jekyll: \n only, not Unicode line breaks
    if not lines or lines[0].rstrip() != fence:
        return None
    for i, line in enumerate(lines[1:], start=1):
        if line.rstrip() in closers:
            return "\n".join(lines[1:i])
    return None


def read_front_matter(text: str) -> dict[str, Any]:
    """Best-effort front matter of any supported flavour; {} when there is none or it is bad.

    Used to scan a folder of files crosspost did not necessarily write, so it never raises.
    """
    text = text.removeprefix("\ufeff")
    try:
        if text.startswith("+++"):
            block = _split_block(text, "+++", ("+++",))
            return tomllib.loads(block) if block is not None else {}
        if text.startswith("---"):
            block = _split_block(text, "---", ("---", "..."))
            data = yaml.safe_load(block) if block is not None else None
            return data if isinstance(data, dict) else {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError, ValueError, TypeError):
        return {}
    return dict(parse_pelican_meta(text))


def body_after_front_matter(text: str) -> str:
    """The text below the front matter (TOML, YAML or Pelican's metadata lines)."""
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines and lines[0].rstrip() in ("+++", "---"):
        closers = ("+++",) if lines[0].rstrip() == "+++" else ("---", "...")
        for i, line in enumerate(lines[1:], start=1):
            if line.rstrip() in closers:
                return "\n".join(lines[i + 1 :])
        return text
    if parse_pelican_meta(text):
        for i, line in enumerate(lines):
            if not line.strip():
                return "\n".join(lines[i + 1 :])
        return ""
    return text
