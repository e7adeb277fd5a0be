"""A blog's RSS feed on a local HTTP server, changing between reads as a real blog's does.

``items`` is the blog's list of posts (newest first, as feeds list them); ``rss()`` renders
RSS 2.0 with ``guid``, ``link`` and ``pubDate``. The server answers with an ``ETag`` and a
``Last-Modified`` of the current content and honours ``If-None-Match`` with 304, the way
WordPress or a static host behind nginx does. ``raw`` replaces the document (malformed XML).
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from .server import FakeServer, Request, Response


@dataclass
class BlogItem:
    title: str
    link: str
    guid: str
    published: datetime
    summary: str = ""
    tags: list[str] = field(default_factory=list)


def rss(
    items: list[BlogItem], *, title: str = "A blog", link: str = "https://blog.example/"
) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link>",
        "<description>posts</description>",
    ]
    for it in items:
        parts.append(
            "<item>"
            f"<title>{escape(it.title)}</title>"
            f"<link>{escape(it.link)}</link>"
            f'<guid isPermaLink="false">{escape(it.guid)}</guid>'
            f"<pubDate>{email.utils.format_datetime(it.published.astimezone(UTC))}</pubDate>"
            f"<description>{escape(it.summary)}</description>"
            + "".join(f"<category>{escape(t)}</category>" for t in it.tags)
            + "</item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts)


class BlogFeed(FakeServer):
    name = "blogfeed"
    path = "/feed.xml"

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.items: list[BlogItem] = []
        #: a document served instead of the rendered items (e.g. broken XML)
        self.raw: bytes | None = None
        #: answer with validators and honour them (off: a server without conditional GET)
        self.conditional = True
        self.content_type = "application/rss+xml; charset=UTF-8"
        self.modified = datetime(2026, 11, 1, tzinfo=UTC)
        #: path → where it answers a permanent redirect to (the feed moved)
        self.redirects: dict[str, str] = {}
        self._guard = threading.Lock()

    @property
    def feed_url(self) -> str:
        return self.url + self.path

    def publish(self, item: BlogItem) -> None:
        with self._guard:
            self.items.insert(0, item)
            self.modified = datetime.now(UTC).replace(microsecond=0)

    def document(self) -> bytes:
        with self._guard:
            return self.raw if self.raw is not None else rss(self.items).encode("utf-8")

    def handle(self, req: Request) -> Response:
        if req.path in self.redirects:
            return Response(301, b"", [("Location", self.redirects[req.path])])
        if req.path != self.path:
            return Response(404, b"not found", [("Content-Type", "text/plain")])
        body = self.document()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = [("Content-Type", self.content_type)]
        if self.conditional:
            headers += [
                ("ETag", etag),
                ("Last-Modified", email.utils.format_datetime(self.modified, usegmt=True)),
            ]
            if req.header("If-None-Match") == etag:
                return Response(304, b"", headers[1:])
        return Response(200, body, headers)
