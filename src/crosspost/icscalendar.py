"""The queue as an iCalendar (RFC 5545) calendar, so it shows in the user's calendar app.

One VEVENT per post that is still to go out (queued, publishing, held, unknown) and per post
published in the last :data:`RECENT` days; cancelled and failed posts drop out. Each event's
UID is derived from the post's id and creation time, so it stays the same across exports and
edits (calendar apps update the event instead of adding another), and DTSTAMP/LAST-MODIFIED
follow the post's last change. A calendar of one persona holds that persona's posts only;
the calendar of all personas names each event's persona in CATEGORIES.

The daemon keeps a persona's ``calendar_file`` current: after a dispatch it compares a cheap
fingerprint of the persona's posts (how many, last change, the day) with the one it last
wrote, and rewrites the file atomically (a temporary file renamed over it) only when it moved.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_
from sqlmodel import col, select

from .models import HELD, PARTIAL, PUBLISHED, PUBLISHING, QUEUED, UNKNOWN, Delivery, Post
from .status import summary_of

if TYPE_CHECKING:
    from .profiles import Personas
    from .store import Store

log = logging.getLogger("crosspost.calendar")

#: published posts of this many days back stay in the calendar
RECENT = timedelta(days=30)
#: how long an event lasts in the calendar (a post is an instant; apps hide zero-length events)
LENGTH = timedelta(minutes=15)
OPEN = (QUEUED, PUBLISHING, HELD, UNKNOWN)
DONE = (PUBLISHED, PARTIAL)
PRODID = "-//crosspost//queue calendar//EN"


def uid(post: Post) -> str:
    """Stable for a post across exports and edits, unique across posts and databases."""
    seed = f"crosspost-event:{post.id}:{post.created_at.astimezone(UTC).isoformat()}"
    return f"{hashlib.sha256(seed.encode()).hexdigest()[:24]}@crosspost"


def _posts(store: Store, persona: str | None, now: datetime) -> list[tuple[Post, list[Delivery]]]:
    recent = now - RECENT
    where: list[Any] = [
        or_(
            col(Post.status).in_(OPEN),
            and_(col(Post.status).in_(DONE), col(Post.scheduled_at) >= recent),
        )
    ]
    if persona is not None:
        where.append(Post.persona == persona)
    with store.read() as s:
        posts = list(
            s.exec(select(Post).where(*where).order_by(col(Post.scheduled_at), col(Post.id)))
        )
        by_post: dict[int, list[Delivery]] = {p.id: [] for p in posts if p.id is not None}
        if by_post:
            for d in s.exec(
                select(Delivery)
                .where(col(Delivery.post_id).in_(list(by_post)))
                .order_by(col(Delivery.role), col(Delivery.id))
            ):
                by_post[d.post_id].append(d)
    return [(p, by_post.get(p.id or 0, [])) for p in posts]


def build(
    store: Store, personas: Personas, persona: str | None = None, now: datetime | None = None
) -> bytes:
    """The calendar of ``persona`` (every persona when None) as ICS bytes."""
    from icalendar import Calendar, Event

    now = now or datetime.now(UTC)
    if persona is not None:
        personas.get(persona)  # an unknown name is the user's to fix, not an empty calendar
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"crosspost: {persona}" if persona else "crosspost")
    for post, deliveries in _posts(store, persona, now):
        event = Event()
        event.add("uid", uid(post))
        event.add("dtstamp", post.updated_at.astimezone(UTC))
        event.add("last-modified", post.updated_at.astimezone(UTC))
        event.add("dtstart", post.scheduled_at.astimezone(UTC))
        event.add("duration", LENGTH)
        event.add("summary", summary_of(post))
        event.add("categories", [post.persona])
        event.add("status", "CONFIRMED" if post.status in DONE else "TENTATIVE")
        event.add("description", _description(post, deliveries))
        url = next((d.remote_url for d in deliveries if d.role == "blog" and d.remote_url), None)
        if url:
            event.add("url", url)
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


def _description(post: Post, deliveries: Sequence[Delivery]) -> str:
    targets = ", ".join(f"{d.target} {d.state}" for d in deliveries) or "no targets"
    return f"crosspost post {post.id} ({post.status}): {targets}"


def write_atomically(path: Path, data: bytes) -> bool:
    """Replace ``path`` with ``data`` in one rename (a reader never sees half a file);
    False when it already held exactly that."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


class CalendarFiles:
    """The daemon's side: each persona's ``calendar_file``, rewritten when its posts change."""

    def __init__(self) -> None:
        self._written: dict[str, tuple[Any, ...]] = {}
        self._failing: dict[str, str] = {}

    def refresh(self, store: Store, personas: Personas, now: datetime) -> list[Path]:
        """Rewrite the files whose persona's posts changed since the last call; returns the
        files written. A file that cannot be written is logged (once per problem), never
        raised: the calendar must not stop publishing."""
        written = []
        for p in personas:
            path = p.calendar_file
            if path is None:
                continue
            try:
                stamp = (str(path), now.date(), *_fingerprint(store, p.name))
                if self._written.get(p.name) == stamp:
                    continue
                if write_atomically(path, build(store, personas, p.name, now)):
                    written.append(path)
                self._written[p.name] = stamp
                self._failing.pop(p.name, None)
            except OSError as e:
                problem = f"{path}: {e.strerror or e}"
                if self._failing.get(p.name) != problem:
                    log.warning("calendar of persona '%s' not written: %s", p.name, problem)
                self._failing[p.name] = problem
        return written


def _fingerprint(store: Store, persona: str) -> tuple[Any, ...]:
    """Changes whenever a post of ``persona`` is queued, edited, moved, published or
    cancelled: every such write sets the post's ``updated_at``."""
    with store.read() as s:
        row = s.exec(
            select(func.count(), func.max(Post.updated_at)).where(Post.persona == persona)
        ).one()
    return tuple(row)
