"""The persona's own Atom 1.0 feed: a file crosspost keeps up to date, no server involved.

Each published share becomes an ``<entry>`` at the top of the feed (newest first, at most 50
entries; older ones drop off the end). The file is created on first use with the persona's
display name as title and author and, when the persona has a blog, a link to it.

An entry's ``published``/``updated`` is the moment it was added (when the share went out,
which is what feed readers sort by), its title the post's title or, for a short post, the
first words of its text; its content is the share text (``pub.text``), plain text.

Ids: the feed's ``<id>`` is a random ``urn:uuid:`` chosen when the file is created and kept
from then on. An entry's id is ``urn:uuid:<uuid5(namespace, idempotency_key)>``: stable across
retries (so a retry finds the entry it already added instead of adding another) and opaque.
Nothing in the file names crosspost, the machine, or the other persona, and timestamps are in
UTC, so two personas' feeds do not share a tell-tale generator string, id prefix or offset.

Writing: parse with ``xml.etree.ElementTree``, insert, serialise (ElementTree escapes text
and attributes; characters XML 1.0 forbids are dropped), then temp file + fsync +
``os.replace``: readers and a crash only ever see the old or the new complete file. The
read-modify-write cycle holds an ``flock`` on the feed's folder, so one daemon and a CLI run
(or two threads) cannot lose each other's entries on one machine; there is no lock on Windows
and none that works across machines on a network file system.

A feed file that does not parse, or whose root is not an Atom ``<feed>``, is never
overwritten: that is a ``PermanentError`` asking the user to move it away. (An empty file
is taken as no feed yet.) A rewritten file keeps its permissions.
"""

from __future__ import annotations

import io
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from ..entries import first_words
from ..errors import PermanentError
from .base import (
    AdapterContext,
    CredentialField,
    PlatformAdapter,
    ProfileInfo,
    Publication,
    PublishedItem,
    Result,
)
from .specs.feed import SPEC, FeedAccount
from .static_files import atomic_write, ensure_dir, locked_dir, publish_error, writable_probe

ATOM = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 50
#: fixed namespace for entry ids; changing it would make every retry look like a new entry
ENTRY_NAMESPACE = uuid.UUID("5b0e3c4e-7a51-4d2f-9b55-0f3f6a3c2d19")

# characters XML 1.0 does not allow at all, not even escaped
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _q(tag: str) -> str:
    return f"{{{ATOM}}}{tag}"


def _clean(text: str) -> str:
    return _INVALID_XML.sub("", text)


def rfc3339(moment: datetime) -> str:
    """UTC with a ``Z``: what Atom wants, and no hint of the persona's time zone."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def entry_id(idempotency_key: str) -> str:
    """The Atom id of the entry for one delivery (stable across retries, reveals nothing)."""
    return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, idempotency_key)}"


class FeedAdapter(PlatformAdapter):
    """Adds each share to the persona's Atom file; see the module docstring."""

    platform: ClassVar[str] = SPEC.name
    #: a local file needs no login
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()

    def __init__(
        self,
        ctx: AdapterContext,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], datetime] | None = None,
        lock_timeout: float = 30.0,
    ) -> None:
        account = ctx.account
        if not isinstance(account, FeedAccount):
            raise ValueError("FeedAdapter needs a context with a feed account")
        super().__init__(ctx)
        if account.path is None:
            raise PermanentError(
                f"account '{account.name}' (feed) has no path",
                hint="set path to the Atom file to write, like 'site/static/feed.xml'",
            )
        self.persona = ctx.persona
        self.account = account
        self.path = Path(account.path)
        self.max_entries = max_entries
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock_timeout = lock_timeout

    # -- the Adapter protocol ----------------------------------------------------------------

    def publish(self, pub: Publication) -> Result:
        """Add the entry at the top (or return it if a previous attempt already added it)."""
        eid = entry_id(pub.idempotency_key)
        folder = self.path.parent
        try:
            ensure_dir(folder)
            with locked_dir(folder, self.lock_timeout):
                now = self.clock()
                root = self._load()
                if root is None:
                    root = self._new_feed(now)
                else:
                    existing = _find(root, eid)
                    if existing is not None:
                        return self._result(existing, eid, pub)
                entry = self._entry(pub, eid, now)
                entries = root.findall(_q("entry"))
                at = list(root).index(entries[0]) if entries else len(root)
                root.insert(at, entry)
                for old in root.findall(_q("entry"))[self.max_entries :]:
                    root.remove(old)
                updated = root.find(_q("updated"))
                if updated is None:
                    updated = ET.Element(_q("updated"))
                    root.insert(at, updated)
                updated.text = rfc3339(now)
                atomic_write(self.path, _serialise(root))
        except OSError as e:
            raise publish_error(e, self.path, folder) from e
        return Result(remote_id=eid, url=pub.canonical_url or self._file_url())

    def lookup(self, pub: Publication) -> Result | None:
        """The entry for this delivery if the feed has it (it may have dropped off the end)."""
        eid = entry_id(pub.idempotency_key)
        try:
            root = self._load()
        except OSError as e:
            raise publish_error(e, self.path) from e
        if root is None:
            return None
        existing = _find(root, eid)
        return None if existing is None else self._result(existing, eid, pub)

    def verify(self) -> str:
        """Check the folder is writable and an existing file is a feed we can extend."""
        folder = self.path.parent
        if folder.is_dir():
            probe, note = folder, ""
        elif folder.parent.is_dir():
            probe, note = folder.parent, f" (folder {folder} will be created)"
        else:
            raise PermanentError(
                f"folder {folder} of the feed does not exist, and neither does {folder.parent}",
                hint=f"create {folder.parent} or fix 'path' of account '{self.account.name}'",
            )
        try:
            writable_probe(probe)
            root = self._load()
        except OSError as e:
            raise publish_error(e, self.path, probe) from e
        if root is None:
            return f"Atom feed {self.path} (will be created){note}"
        return f"Atom feed {self.path} ({len(root.findall(_q('entry')))} entries), writable"

    # -- reading back (the exposure audit) ---------------------------------------------------

    def history(self, limit: int = 200) -> list[PublishedItem]:
        """The feed's entries, as written (newest first): title, summary and content."""
        try:
            root = self._load()
        except OSError as e:
            raise publish_error(e, self.path) from e
        if root is None:
            return []
        items = []
        for entry in root.findall(_q("entry"))[:limit]:
            eid = (entry.findtext(_q("id")) or "").strip()
            link = next(
                (
                    el.get("href")
                    for el in entry.findall(_q("link"))
                    if el.get("rel", "alternate") == "alternate" and el.get("href")
                ),
                None,
            )
            parts = (entry.findtext(_q(k)) or "" for k in ("summary", "content"))
            published = entry.findtext(_q("published")) or entry.findtext(_q("updated")) or ""
            try:
                at: datetime | None = datetime.fromisoformat(published.strip())
            except ValueError:
                at = None
            items.append(
                PublishedItem(
                    text="\n\n".join(p for p in parts if p.strip()),
                    url=link or f"{self._file_url()}#{eid}",
                    published_at=at.astimezone(UTC) if at and at.tzinfo else None,
                    remote_id=eid or None,
                    title=(entry.findtext(_q("title")) or "").strip() or None,
                )
            )
        return items

    def profile(self) -> ProfileInfo | None:
        """The feed's title, subtitle and author: what a feed reader shows about it."""
        try:
            root = self._load()
        except OSError as e:
            raise publish_error(e, self.path) from e
        if root is None:
            return None
        fields = [
            ("feed title", root.findtext(_q("title")) or ""),
            ("feed subtitle", root.findtext(_q("subtitle")) or ""),
            ("feed author", root.findtext(f"{_q('author')}/{_q('name')}") or ""),
            ("feed author e-mail", root.findtext(f"{_q('author')}/{_q('email')}") or ""),
        ]
        links = [el.get("href") or "" for el in root.findall(_q("link"))]
        fields += [("feed link", href) for href in links if href]
        return ProfileInfo(
            url=self._file_url(), fields=tuple((n, t) for n, t in fields if t.strip())
        )

    # -- building ----------------------------------------------------------------------------

    def _file_url(self) -> str:
        return self.path.resolve().as_uri()

    def _result(self, entry: ET.Element, eid: str, pub: Publication) -> Result:
        link = next(
            (
                el.get("href")
                for el in entry.findall(_q("link"))
                if el.get("rel", "alternate") == "alternate" and el.get("href")
            ),
            None,
        )
        return Result(remote_id=eid, url=link or pub.canonical_url or self._file_url())

    def _load(self) -> ET.Element | None:
        """The parsed feed, None if there is no file yet; a broken file is never replaced."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        if not data.strip():
            return None  # an empty placeholder holds nothing to lose: start the feed
        hint = (
            f"move it away (e.g. to {self.path.name}.broken) and crosspost will start a new "
            "feed, or repair it by hand"
        )
        try:
            # our own file, written by us or the user; expat refuses entity expansion bombs
            for _event, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):  # noqa: S314
                if uri != ATOM and prefix and not re.fullmatch(r"ns\d+", prefix):
                    ET.register_namespace(prefix, uri)
            root = ET.fromstring(data)  # noqa: S314
        except ET.ParseError as e:
            raise PermanentError(f"{self.path} is not valid XML ({e})", hint=hint) from None
        if root.tag != _q("feed"):
            raise PermanentError(
                f"{self.path} is not an Atom feed (its root element is {root.tag!r})", hint=hint
            )
        return root

    def _new_feed(self, now: datetime) -> ET.Element:
        name = _clean(self.persona.display_name)
        root = ET.Element(_q("feed"))
        ET.SubElement(root, _q("id")).text = f"urn:uuid:{uuid.uuid4()}"
        ET.SubElement(root, _q("title")).text = name
        ET.SubElement(root, _q("updated")).text = rfc3339(now)
        if self.persona.blog is not None:
            ET.SubElement(
                root,
                _q("link"),
                {"rel": "alternate", "type": "text/html", "href": self.persona.blog.url + "/"},
            )
        author = ET.SubElement(root, _q("author"))
        ET.SubElement(author, _q("name")).text = name
        return root

    def _entry(self, pub: Publication, eid: str, now: datetime) -> ET.Element:
        text = pub.text or pub.summary or pub.body
        entry = ET.Element(_q("entry"))
        if pub.lang:
            entry.set("{http://www.w3.org/XML/1998/namespace}lang", _clean(pub.lang))
        ET.SubElement(entry, _q("id")).text = eid
        title = pub.title or first_words(text) or "(untitled)"
        ET.SubElement(entry, _q("title"), {"type": "text"}).text = _clean(" ".join(title.split()))
        if pub.canonical_url:
            ET.SubElement(
                entry,
                _q("link"),
                {"rel": "alternate", "type": "text/html", "href": _clean(pub.canonical_url)},
            )
        stamp = rfc3339(now)
        ET.SubElement(entry, _q("published")).text = stamp
        ET.SubElement(entry, _q("updated")).text = stamp
        seen: set[str] = set()
        for term in (*pub.tags, *pub.categories):
            term = _clean(term.strip())
            if term and term not in seen:
                seen.add(term)
                ET.SubElement(entry, _q("category"), {"term": term})
        if pub.summary and pub.summary.strip() != text.strip():
            ET.SubElement(entry, _q("summary"), {"type": "text"}).text = _clean(pub.summary)
        ET.SubElement(entry, _q("content"), {"type": "text"}).text = _clean(text)
        return entry


def _find(root: ET.Element, eid: str) -> ET.Element | None:
    for entry in root.findall(_q("entry")):
        if (entry.findtext(_q("id")) or "").strip() == eid:
            return entry
    return None


def _serialise(root: ET.Element) -> bytes:
    ET.register_namespace("", ATOM)
    ET.indent(root, space="  ")
    buf = io.BytesIO()
    ET.ElementTree(root).write(buf, encoding="utf-8", xml_declaration=True)
    return buf.getvalue() + b"\n"
