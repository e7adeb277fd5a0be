"""Static-site blogs (Hugo, Jekyll, Pelican): an entry is a Markdown file in ``content_dir``.

Nothing is uploaded. The adapter writes the file the generator expects, optionally commits it,
and the user's own build/deploy (a CI job on push, a cron ``hugo`` run…) takes it from there.

Files written, per ``blog.format``:

``hugo``
    ``content_dir/<slug>.md`` with TOML (``+++``) front matter. A post *with media* becomes a
    leaf bundle instead, ``content_dir/<slug>/index.md`` with the images next to it, because
    that is how Hugo publishes page-relative images whatever the permalink configuration is:
    the images end up beside the page's ``index.html`` and ``![alt](name.jpg)`` just works.
``jekyll``
    ``content_dir/YYYY-MM-DD-<slug>.md`` (the persona's local date) with YAML front matter.
    ``_posts`` cannot hold images, so they go to ``<site>/assets/posts/<slug>/`` (``<site>``
    is the nearest folder above ``content_dir`` holding ``_config.yml``, else its parent) and
    are referenced by their absolute path below the blog URL's path (so a ``baseurl`` that is
    part of ``blog.url`` is honoured).
``pelican``
    ``content_dir/<slug>.md`` with Pelican's ``Key: value`` metadata lines. Images go to
    ``content_dir/images/<slug>/`` and are referenced as ``{static}images/<slug>/<file>``;
    with ``content_dir`` being Pelican's ``PATH`` that is inside the default ``STATIC_PATHS``.
    Metadata is line based: newlines in the title become spaces, only the first category is
    kept (Pelican has one category per article), and a short post gets an empty ``Title:``.

Media from the front matter are appended to the body as ``![alt](ref)``. An image the body
itself refers to (``MediaItem.ref``, e.g. ``![alt](photos/x.jpg)``) is copied the same way,
keeping its file name, and the body's reference is rewritten to the copy instead.

Dates: the entry's date is its scheduled time in the persona's time zone (stable across
retries, and the local date is what date-based permalinks and Jekyll file names use).
Language (``pub.lang``) is not written: Pelican would treat a non-default ``Lang`` as a
translation with a different URL.

URLs: every format gets an explicit ``slug`` so the generator's usual slug-based permalink
(Hugo ``/posts/:slug/``, Jekyll ``/posts/:slug/``, Pelican ``ARTICLE_URL = "posts/{slug}/"``)
gives exactly ``sharetext.canonical_url(blog, slug, date)``, the URL ``crosspost preview``
showed and the share posts link to. The generator's permalink setting must match
``blog.permalink``; crosspost cannot check that.

Idempotency: the front matter carries ``crosspost_id`` (the delivery's idempotency key).
``lookup`` and ``publish`` find an earlier attempt's file by it (the expected path first, then
a scan of ``content_dir``), so a retry never writes a second file. A slug already claimed by
another entry (its file, its ``slug`` front matter, or its title/file name when it has no
slug) gets ``-2``, ``-3``… and the returned URL follows the slug actually used.

Crash safety: media first, the entry file last, each through a temporary file in the target
folder + fsync + an atomic rename (``os.link`` when the entry must not overwrite anything), so
a crash leaves either no entry or a complete one. The folder is ``flock``-ed while a slug is
chosen and written, which is enough for one daemon plus the occasional CLI run on one machine
(not for network file systems, and there is no lock on Windows).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import urlsplit

import yaml

from ..entries import image_ref_path, rewrite_image_refs, slugify
from ..errors import PermanentError, PublishError, TransientError
from ..labels import first_words
from ..sharetext import canonical_url
from .base import (
    AdapterContext,
    CredentialField,
    MediaItem,
    PlatformAdapter,
    Publication,
    Result,
)
from .specs.static import SPEC, StaticBlog

MARKER_KEY = "crosspost_id"
#: files that may be entries (Jekyll posts can be HTML)
ENTRY_SUFFIXES = (".md", ".markdown", ".mdown", ".html")
#: front matter is at the top; reading this much of each file keeps a scan cheap
HEAD_BYTES = 64 * 1024
FORMATS = ("hugo", "jekyll", "pelican")

# --------------------------------------------------------------------------------------------
# File-system helpers shared with the feed adapter
# --------------------------------------------------------------------------------------------

_TRANSIENT_ERRNOS = {
    getattr(errno, name)
    for name in (
        "ENOSPC",
        "EDQUOT",
        "EIO",
        "EAGAIN",
        "EBUSY",
        "EINTR",
        "ETIMEDOUT",
        "ESTALE",
        "ENOLCK",
        "EMFILE",
        "ENFILE",
        "ENOMEM",
    )
    if hasattr(errno, name)
}
_PERMISSION_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}
#: os.link failures meaning "this file system has no hard links", not "you may not"
_NO_LINK_ERRNOS = {
    getattr(errno, name)
    for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "EMLINK", "ENOSYS")
    if hasattr(errno, name)
}


def publish_error(e: OSError, path: Path, folder: Path | None = None) -> PublishError:
    """Map an OS error to the publisher's retry decision, with a hint naming the folder.

    Writes are atomic, so a failed write published nothing (``maybe_sent=False``).
    """
    folder = folder or path.parent
    reason = e.strerror or str(e)
    if isinstance(e, PermissionError) or e.errno in _PERMISSION_ERRNOS:
        return PermanentError(
            f"cannot write {path}: {reason}",
            hint=f"make the folder {folder} writable for the user running crosspost, "
            "or point the profile at another folder",
        )
    if e.errno in _TRANSIENT_ERRNOS:
        return TransientError(
            f"cannot write {path}: {reason}",
            hint=f"free space or fix the disk holding {folder}; crosspost will retry",
            retry_after=300,
            maybe_sent=False,
        )
    return PermanentError(f"cannot write {path}: {reason}", hint=f"check the folder {folder}")


def ensure_dir(directory: Path) -> None:
    """Create ``directory`` if only it is missing: a missing parent means a wrong path."""
    if directory.is_dir():
        return
    if not directory.parent.is_dir():
        raise PermanentError(
            f"folder {directory} does not exist, and neither does {directory.parent}",
            hint=f"create {directory.parent} or fix the path in the profile",
        )
    try:
        directory.mkdir()
    except FileExistsError:
        if not directory.is_dir():  # else another process or thread was first: fine
            raise PermanentError(
                f"{directory} is not a folder", hint="point the profile at a folder"
            ) from None


@contextlib.contextmanager
def locked_dir(directory: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold an exclusive ``flock`` on a folder (no lock file to publish by accident).

    Serialises read-modify-write cycles between processes and threads on one machine;
    a no-op where ``fcntl`` does not exist.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TransientError(
                        f"{directory} is locked by another crosspost process",
                        hint="crosspost will retry; check for a stuck process if it persists",
                        retry_after=60,
                        maybe_sent=False,
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make a rename durable; not every platform can open a folder, hence best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one.

    The temporary file lives in the same folder (same file system, so the rename is atomic)
    and is hidden, so a generator never picks it up. With ``exclusive`` the file is put in
    place with ``os.link``, which fails with ``FileExistsError`` instead of overwriting.
    A replaced file keeps its permissions; a new one is world-readable (0644) like any file
    a web server or a build run by another user must read.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if exclusive:
            _link_exclusive(tmp, path)
        else:
            os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _link_exclusive(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in _NO_LINK_ERRNOS:
            raise
        # no hard links here: fall back to a checked rename (racy only without our lock)
        if path.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
        os.replace(tmp, path)


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy a media file into place atomically (a half-copied image is never visible)."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def writable_probe(directory: Path) -> None:
    """Create and remove a hidden file: ``os.access`` lies on ACLs and read-only mounts."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".probe")
    os.close(fd)
    os.unlink(name)


# --------------------------------------------------------------------------------------------
# Front matter writers and readers
# --------------------------------------------------------------------------------------------

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


def _one_line(text: str) -> str:
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
    vals = [_one_line(v) for v in values]
    sep = ";" if any("," in v for v in vals) else ","
    return f"{sep} ".join(v.replace(sep, " ").strip() for v in vals if v.strip())


def render_pelican(meta: dict[str, Any]) -> str:
    title = meta.get("title")
    lines = [f"Title: {_one_line(title) if title else ''}".rstrip()]
    lines.append(f"Date: {meta['date'].isoformat(timespec='seconds')}")
    if meta.get("categories"):
        lines.append(f"Category: {_one_line(meta['categories'][0])}")
    if meta.get("tags"):
        lines.append(f"Tags: {_pelican_list(meta['tags'])}")
    lines.append(f"Slug: {meta['slug']}")
    # Python-Markdown's meta extension: indented lines continue the value (joined by \n)
    parts = [p for p in map(_one_line, (meta.get("summary") or "").splitlines()) if p]
    if parts:
        lines.append(f"Summary: {parts[0]}")
        lines.extend(f"    {p}" for p in parts[1:])
    marker = meta["marker"]
    if "\n" in marker or "\r" in marker:
        raise PermanentError("idempotency key contains a line break", hint="report this bug")
    lines.append(f"Crosspost_id: {marker}")
    return "\n".join(lines) + "\n"


_RENDERERS = {"hugo": render_hugo, "jekyll": render_jekyll, "pelican": render_pelican}

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


# --------------------------------------------------------------------------------------------
# The adapter
# --------------------------------------------------------------------------------------------


@dataclass
class _Existing:
    """An entry file found in ``content_dir``."""

    path: Path
    marker: str | None
    slug: str | None  # the declared slug, if any
    claims: set[str] = field(default_factory=set)  # slugs (URLs) this entry occupies


@dataclass
class _Plan:
    slug: str
    entry: Path
    media_dir: Path
    #: how the body refers to a media file: prefix + file name
    media_ref: str


_JEKYLL_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-(?P<rest>.+)$")
_SAFE_KEY = re.compile(r"^[A-Za-z0-9._:-]+$")
_MD_ESCAPE = re.compile(r"([\\`*_\[\]()!])")


class StaticSiteAdapter(PlatformAdapter):
    """Writes entries into a Hugo/Jekyll/Pelican content folder; see the module docstring."""

    platform: ClassVar[str] = SPEC.name
    #: nothing to log in to: the folder's file permissions are the credentials
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()

    def __init__(
        self, ctx: AdapterContext, *, git_timeout: float = 60.0, lock_timeout: float = 30.0
    ) -> None:
        blog = ctx.blog
        if not isinstance(blog, StaticBlog):
            raise ValueError("StaticSiteAdapter needs a context with a static blog")
        super().__init__(ctx)
        if blog.content_dir is None:
            raise PermanentError(
                f"persona '{ctx.persona.name}': [blog] has no content_dir",
                hint="set content_dir to the generator's posts folder",
            )
        if blog.format not in FORMATS:
            raise PermanentError(
                f"unknown static blog format {blog.format!r}",
                hint=f"use one of {', '.join(FORMATS)}",
            )
        self.persona = ctx.persona
        self.blog = blog
        self.content_dir = Path(blog.content_dir)
        self.format: str = blog.format
        self.git_timeout = git_timeout
        self.lock_timeout = lock_timeout

    # -- the Adapter protocol ----------------------------------------------------------------

    def publish(self, pub: Publication) -> Result:
        """Write the entry (or return the one an earlier attempt wrote) and commit it."""
        d = self.content_dir
        try:
            ensure_dir(d)
            with locked_dir(d, self.lock_timeout):
                entries = list(self._scan())  # one pass: earlier attempt + taken slugs
                existing = self._at_expected(pub) or next(
                    (e for e in entries if e.marker == pub.idempotency_key), None
                )
                if existing is not None:
                    # a retry: the file is there; finish what may have been interrupted
                    self._commit(self._paths_of(existing), pub)
                    return self._result(existing, pub)
                plan = self._plan(pub, entries)
                paths = self._write(plan, pub)
                self._commit(paths, pub)
        except OSError as e:
            raise publish_error(e, Path(e.filename) if e.filename else d, d) from e
        return Result(remote_id=self._rel(plan.entry), url=self._url(plan.slug, pub))

    def lookup(self, pub: Publication) -> Result | None:
        """The entry an earlier attempt wrote, found by its ``crosspost_id``.

        If that attempt died between writing and committing, the commit is made here, so a
        delivery resolved by ``lookup`` ends in the same state as one ``publish`` finished.
        """
        if not self.content_dir.is_dir():
            return None
        try:
            existing = self._find(pub)
            if existing is None:
                return None
            with locked_dir(self.content_dir, self.lock_timeout):
                self._commit(self._paths_of(existing), pub)
        except OSError as e:
            raise publish_error(e, self.content_dir, self.content_dir) from e
        return self._result(existing, pub)

    def verify(self) -> str:
        """Check the folder can be written (and, with git_commit, that it is in a work tree)."""
        d = self.content_dir
        if d.is_dir():
            probe_dir, note = d, ""
        elif d.parent.is_dir():
            probe_dir, note = d.parent, " (will be created)"
        else:
            raise PermanentError(
                f"content folder {d} does not exist, and neither does {d.parent}",
                hint=f"create {d.parent} or fix content_dir in the profile",
            )
        try:
            writable_probe(probe_dir)
        except OSError as e:
            raise publish_error(e, d, probe_dir) from e
        desc = f"{self.format} content folder {d}{note}, writable"
        if self.blog.git_commit:
            top = self._git_top(probe_dir)
            if top is None:
                desc += f"; git_commit is on but {probe_dir} is not in a git work tree"
            else:
                desc += f"; commits to the git repository at {top}"
        return desc

    # -- finding earlier entries -------------------------------------------------------------

    def _local_date(self, pub: Publication) -> datetime:
        """The entry's date in the persona's zone: the date readers see and URLs use."""
        return pub.scheduled_at.astimezone(self.persona.tz).replace(microsecond=0)

    def _base_slug(self, pub: Publication) -> str:
        # slugify is idempotent on slugs, and makes a hostile one ("../x") harmless
        if pub.slug:
            return slugify(pub.slug)
        return slugify(pub.title or pub.body[:60])

    def _expected(self, slug: str, pub: Publication) -> list[Path]:
        d = self.content_dir
        if self.format == "hugo":
            return [d / f"{slug}.md", d / slug / "index.md"]
        if self.format == "jekyll":
            return [d / f"{self._local_date(pub):%Y-%m-%d}-{slug}.md"]
        return [d / f"{slug}.md"]

    def _at_expected(self, pub: Publication) -> _Existing | None:
        """The cheap check: an earlier attempt's file where this slug puts it."""
        for path in self._expected(self._base_slug(pub), pub):
            if path.is_file():
                found = self._read(path)
                if found is not None and found.marker == pub.idempotency_key:
                    return found
        return None

    def _find(self, pub: Publication) -> _Existing | None:
        """The file an earlier attempt wrote, wherever a slug collision put it."""
        found = self._at_expected(pub)
        if found is not None:
            return found
        key = pub.idempotency_key
        # files that do not contain the key verbatim cannot carry it (if it needs no escaping)
        quick = key if _SAFE_KEY.match(key) else None
        for found in self._scan(must_contain=quick):
            if found.marker == key:
                return found
        return None

    def _scan(self, must_contain: str | None = None) -> Iterator[_Existing]:
        """Every entry-like file below ``content_dir`` (hidden folders and files skipped)."""
        for root, dirs, files in os.walk(self.content_dir):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or not name.endswith(ENTRY_SUFFIXES):
                    continue
                path = Path(root) / name
                found = self._read(path, must_contain)
                if found is not None:
                    yield found

    def _read(self, path: Path, must_contain: str | None = None) -> _Existing | None:
        try:
            with path.open("rb") as f:
                head = f.read(HEAD_BYTES).decode("utf-8", errors="replace")
        except OSError:
            return None if must_contain else _Existing(path, None, None, set())
        if must_contain is not None and must_contain not in head:
            return None
        meta = read_front_matter(head)
        marker = meta.get(MARKER_KEY)
        declared = meta.get("slug")
        claims: set[str] = set()
        if isinstance(declared, str | int) and str(declared).strip():
            declared = str(declared).strip()
            claims.add(declared.lower())
        else:
            declared = None
            stem = path.stem
            if stem in ("index", "_index"):
                stem = path.parent.name
            m = _JEKYLL_NAME.match(stem)
            claims.add((m.group("rest") if m else stem).lower())
            title = meta.get("title")
            if isinstance(title, str) and title.strip():
                claims.add(slugify(title))
        return _Existing(path, str(marker) if marker is not None else None, declared, claims)

    def _paths_of(self, existing: _Existing) -> list[Path]:
        """The entry file and its media folder, for committing a retry."""
        paths = [existing.path]
        slug = existing.slug or existing.path.stem
        if self.format == "hugo" and existing.path.name == "index.md":
            paths = [existing.path.parent]
        else:
            media = self._media_dir(slug)
            if media.is_dir():
                paths.append(media)
        return paths

    def _result(self, existing: _Existing, pub: Publication) -> Result:
        slug = existing.slug or self._base_slug(pub)
        return Result(remote_id=self._rel(existing.path), url=self._url(slug, pub))

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.content_dir).as_posix()

    def _url(self, slug: str, pub: Publication) -> str:
        return canonical_url(self.blog, slug, date=self._local_date(pub))

    # -- writing -----------------------------------------------------------------------------

    def _media_dir(self, slug: str) -> Path:
        if self.format == "hugo":
            return self.content_dir / slug
        if self.format == "jekyll":
            return self._jekyll_site() / "assets" / "posts" / slug
        return self.content_dir / "images" / slug

    def _jekyll_site(self) -> Path:
        d = self.content_dir
        for p in (d, *d.parents):
            if (p / "_config.yml").is_file() or (p / "_config.yaml").is_file():
                return p
        return d.parent

    def _plan(self, pub: Publication, existing: Iterable[_Existing]) -> _Plan:
        claimed: set[str] = set()
        for e in existing:
            claimed |= e.claims
        base = self._base_slug(pub)
        for n in range(1, 10_000):
            slug = base if n == 1 else f"{base}-{n}"
            if slug in claimed:
                continue
            occupied = [*self._expected(slug, pub)]
            if self.format == "hugo":
                occupied.append(self.content_dir / slug / "_index.md")
            if any(p.exists() for p in occupied):
                continue
            return self._layout(slug, pub)
        raise PermanentError(  # pragma: no cover - 10 000 entries with one slug
            f"no free slug left for '{base}' in {self.content_dir}",
            hint="give the entry its own 'slug' in the front matter",
        )

    def _layout(self, slug: str, pub: Publication) -> _Plan:
        d = self.content_dir
        media_dir = self._media_dir(slug)
        if self.format == "hugo":
            entry = d / slug / "index.md" if pub.media else d / f"{slug}.md"
            return _Plan(slug, entry, media_dir, "")
        if self.format == "jekyll":
            site_path = urlsplit(self.blog.url).path.rstrip("/")
            rel = media_dir.relative_to(self._jekyll_site()).as_posix()
            entry = d / f"{self._local_date(pub):%Y-%m-%d}-{slug}.md"
            return _Plan(slug, entry, media_dir, f"{site_path}/{rel}/")
        return _Plan(slug, d / f"{slug}.md", media_dir, f"{{static}}images/{slug}/")

    def _write(self, plan: _Plan, pub: Publication) -> list[Path]:
        """Media first, the entry last: the entry's existence means the post is complete."""
        refs: list[str] = []
        written: list[Path] = []
        inline: dict[str, str] = {}
        if pub.media:
            plan.media_dir.mkdir(parents=True, exist_ok=True)
            used: set[str] = set()
            for item in pub.media:
                name = self._media_name(item, used)
                self._copy_media(item, plan.media_dir / name)
                if item.ref is not None:  # the body shows it where it refers to it
                    inline[item.ref] = f"{plan.media_ref}{name}"
                else:
                    refs.append(f"![{_escape_alt(item.alt)}]({plan.media_ref}{name})")
            written.append(plan.media_dir)
        body = (pub.body or pub.text).strip()
        if inline:
            body = rewrite_image_refs(body, inline)
        parts = [body, *refs] if body else refs
        meta = {
            "title": pub.title,
            "date": self._local_date(pub),
            "slug": plan.slug,
            "summary": pub.summary,
            "tags": list(pub.tags),
            "categories": list(pub.categories),
            "marker": pub.idempotency_key,
        }
        text = _RENDERERS[self.format](meta) + "\n" + "\n\n".join(parts) + "\n"
        plan.entry.parent.mkdir(exist_ok=True)
        try:
            atomic_write(plan.entry, text.encode("utf-8"), exclusive=True)
        except FileExistsError:
            raise TransientError(
                f"{plan.entry} appeared while crosspost was writing it",
                hint="another program writes to the same folder; crosspost will retry",
                retry_after=30,
                maybe_sent=False,
            ) from None
        if self.format == "hugo" and pub.media:
            return [plan.entry.parent]
        return [plan.entry, *written]

    @staticmethod
    def _media_name(item: MediaItem, used: set[str]) -> str:
        suffix = re.sub(r"[^a-z0-9.]", "", item.path.suffix.lower())
        # an image of the body keeps the name it has there (the snapshot is named by hash)
        stem = slugify(PurePosixPath(image_ref_path(item.ref)).stem if item.ref else item.path.stem)
        if stem in ("index", "_index"):
            stem = "image"
        name, n = f"{stem}{suffix}", 1
        while name in used:
            n += 1
            name = f"{stem}-{n}{suffix}"
        used.add(name)
        return name

    @staticmethod
    def _copy_media(item: MediaItem, dest: Path) -> None:
        if not item.path.is_file():
            raise PermanentError(
                f"media file {item.path} is missing",
                hint="the snapshot taken when the post was queued is gone; queue the post again",
            )
        atomic_copy(item.path, dest)

    # -- git ---------------------------------------------------------------------------------

    def _git(self, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
        try:
            return subprocess.run(
                ["git", "--literal-pathspecs", *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=self.git_timeout,
                env=env,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError:
            raise PermanentError(
                "git_commit is on but the 'git' program is not installed",
                hint="install git or set git_commit = false in [blog]",
            ) from None
        except subprocess.TimeoutExpired:
            raise TransientError(
                f"git {args[0]} took longer than {self.git_timeout:.0f}s in {cwd}",
                hint="another git process may be holding the repository; crosspost will retry",
                retry_after=120,
            ) from None

    def _git_top(self, directory: Path) -> Path | None:
        """The work tree holding ``directory``; None only when there really is none.

        Any other failure (e.g. git's "dubious ownership" refusal) is an error: skipping the
        commit silently would leave the user wondering why the site never updates.
        """
        cp = self._git(["rev-parse", "--show-toplevel"], directory)
        if cp.returncode == 0 and cp.stdout.strip():
            return Path(cp.stdout.strip())
        resolved = directory.resolve()
        if not any((p / ".git").exists() for p in (resolved, *resolved.parents)):
            return None  # (decided without parsing git's possibly translated message)
        self._check(cp, "rev-parse", directory)
        return None  # pragma: no cover - _check raised

    def _commit(self, paths: list[Path], pub: Publication) -> None:
        """``git add`` + ``git commit`` of exactly these paths (other staged work untouched)."""
        if not self.blog.git_commit:
            return
        top = self._git_top(self.content_dir)
        if top is None:
            return
        real_top = top.resolve()
        try:
            rel = [str(p.resolve().relative_to(real_top)) for p in paths]
        except ValueError:
            raise PermanentError(
                f"{', '.join(map(str, paths))} is outside the git repository at {top}",
                hint="keep the site (including assets) in one repository or set git_commit = false",
            ) from None
        ident: list[str] = []
        for key, default in (("user.name", "crosspost"), ("user.email", "crosspost@localhost")):
            if self._git(["config", "--get", key], top).returncode != 0:
                ident += ["-c", f"{key}={default}"]
        self._check(self._git(["add", "--", *rel], top), "add", top)
        staged = self._git(["diff", "--cached", "--quiet", "--", *rel], top)
        if staged.returncode == 0:
            return  # already committed by the attempt that wrote the file
        if staged.returncode != 1:
            self._check(staged, "diff", top)
        title = _one_line(pub.title or first_words(pub.body or pub.text)) or "entry"
        message = f"crosspost: {title}"
        self._check(
            self._git([*ident, "commit", "-q", "-m", message, "--", *rel], top), "commit", top
        )

    @staticmethod
    def _check(cp: subprocess.CompletedProcess[str], what: str, top: Path) -> None:
        if cp.returncode == 0:
            return
        msg = cp.stderr.strip() or cp.stdout.strip() or f"exit status {cp.returncode}"
        if "index.lock" in msg:
            raise TransientError(
                f"git {what} in {top}: {msg}",
                hint="another git process is running there; crosspost will retry",
                retry_after=60,
            )
        raise PermanentError(
            f"git {what} failed in {top}: {msg}",
            hint=f"fix the repository (see 'git status' in {top}) and run 'crosspost retry', "
            "or set git_commit = false in [blog]; the entry file itself was written",
        )


def _escape_alt(alt: str) -> str:
    """Alt text inside ``![…]``: one line, brackets and emphasis characters escaped."""
    return _MD_ESCAPE.sub(r"\\\1", _one_line(alt))
