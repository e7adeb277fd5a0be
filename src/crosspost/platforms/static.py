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

This module decides what goes where; :mod:`.frontmatter_formats` writes and reads each
format's front matter, :mod:`.static_files` does the atomic writes and the locking, and
:mod:`.static_git` the commits.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from ..entries import first_words, rewrite_image_refs, slugify
from ..errors import PermanentError
from ..sharetext import canonical_url
from .base import (
    AdapterContext,
    CredentialField,
    PlatformAdapter,
    Publication,
    PublishedItem,
    Result,
)
from .frontmatter_formats import (
    FORMATS,
    MARKER_KEY,
    RENDERERS,
    body_after_front_matter,
    one_line,
    parse_pelican_meta,
    read_front_matter,
    render_hugo,
    render_jekyll,
    render_pelican,
    toml_string,
)
from .specs.static import SPEC, StaticBlog
from .static_files import (
    atomic_write,
    copy_media,
    ensure_dir,
    locked_dir,
    media_name,
    publish_error,
    writable_probe,
    write_entry,
)
from .static_git import commit_paths, git_top

#: the adapter, and the front matter and file helpers that were first written for it
__all__ = [
    "StaticSiteAdapter",
    "atomic_write",
    "ensure_dir",
    "locked_dir",
    "parse_pelican_meta",
    "publish_error",
    "read_front_matter",
    "render_hugo",
    "render_jekyll",
    "render_pelican",
    "toml_string",
    "writable_probe",
]

#: files that may be entries (Jekyll posts can be HTML)
ENTRY_SUFFIXES = (".md", ".markdown", ".mdown", ".html")
#: front matter is at the top; reading this much of each file keeps a scan cheap
HEAD_BYTES = 64 * 1024


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
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(")


def _entry_date(value: object, path: Path, tz: tzinfo) -> datetime | None:
    """An entry's date from its front matter (a TOML/YAML datetime or date, or Pelican's
    text), else the file's modification time; aware UTC."""
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=tz)
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        try:
            return datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except OSError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


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

    # -- reading back (the exposure audit) ---------------------------------------------------

    def history(self, limit: int = 200) -> list[PublishedItem]:
        """Every entry file in ``content_dir`` (the newest ``limit`` by their date, else by
        the file's time), whoever wrote it: title, summary, body and image descriptions. The
        link is the file itself, which is what the user edits."""
        if not self.content_dir.is_dir():
            raise PermanentError(
                f"content folder {self.content_dir} does not exist",
                hint="fix content_dir in the profile",
            )
        items: list[PublishedItem] = []
        for found in self._scan():
            try:
                text = found.path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            meta = read_front_matter(text)
            body = body_after_front_matter(text)
            title = meta.get("title")
            summary = next(
                (meta[k] for k in ("summary", "description") if isinstance(meta.get(k), str)),
                "",
            )
            alts = tuple(m.group(1) for m in _MD_IMAGE.finditer(body) if m.group(1).strip())
            items.append(
                PublishedItem(
                    text="\n\n".join(t for t in (summary, body) if t.strip()),
                    url=found.path.resolve().as_uri(),
                    published_at=_entry_date(meta.get("date"), found.path, self.persona.tz),
                    remote_id=self._rel(found.path),
                    title=str(title) if isinstance(title, str | int) and str(title) else None,
                    alts=alts,
                )
            )
        items.sort(key=lambda i: i.published_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return items[:limit]

    def profile(self) -> None:
        """A folder of files has no profile (the site's templates are the user's own)."""
        return None

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
                name = media_name(item, used)
                copy_media(item, plan.media_dir / name)
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
        text = RENDERERS[self.format](meta) + "\n" + "\n\n".join(parts) + "\n"
        write_entry(plan.entry, text)
        if self.format == "hugo" and pub.media:
            return [plan.entry.parent]
        return [plan.entry, *written]

    # -- git ---------------------------------------------------------------------------------

    def _git_top(self, directory: Path) -> Path | None:
        return git_top(directory, self.git_timeout)

    def _commit(self, paths: list[Path], pub: Publication) -> None:
        """Commit exactly these paths, when the blog asks for commits and is in a work tree."""
        if not self.blog.git_commit:
            return
        top = self._git_top(self.content_dir)
        if top is None:
            return
        title = one_line(pub.title or first_words(pub.body or pub.text)) or "entry"
        commit_paths(paths, top, f"crosspost: {title}", self.git_timeout)


def _escape_alt(alt: str) -> str:
    """Alt text inside ``![…]``: one line, brackets and emphasis characters escaped."""
    return _MD_ESCAPE.sub(r"\\\1", one_line(alt))
