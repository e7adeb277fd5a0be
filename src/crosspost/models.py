"""Tables: posts, their per-target deliveries, and the audit log.

Times are stored as naive UTC and handed back as aware UTC (``UTCDateTime``), because SQLite has
no time zones and comparing naive local times across a DST change is how posts go out twice.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, UniqueConstraint, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from .contenthash import content_hash


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def delivery_key(post_id: int, created_at: datetime, target: str) -> str:
    """A delivery's idempotency key: stable for one post and target across retries and
    restarts, unique across posts (see ``Store.enqueue`` and :mod:`crosspost.series`)."""
    seed = f"crosspost:{post_id}:{target}:{created_at.isoformat()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


# Post.status and Delivery.state values
QUEUED = "queued"
PUBLISHING = "publishing"
PUBLISHED = "published"
FAILED = "failed"
UNKNOWN = "unknown"
HELD = "held"
CANCELLED = "cancelled"
PARTIAL = "partial"  # post only: some targets published, others failed or cancelled

DELIVERY_STATES = (QUEUED, PUBLISHING, PUBLISHED, FAILED, UNKNOWN, HELD, CANCELLED)
POST_STATUSES = (*DELIVERY_STATES, PARTIAL)


def _content_hash_default(context: Any) -> str:
    """``post.content_hash`` of a row inserted without one (bulk inserts through Core)."""
    row = context.get_current_parameters()
    return content_hash(row.get("title"), row["body"])


class Post(SQLModel, table=True):
    __table_args__ = (
        Index("ix_post_persona_scheduled", "persona", "scheduled_at"),
        # the duplicate check of ``queue`` looks a persona's posts up by each of these
        Index("ix_post_persona_content_hash", "persona", "content_hash"),
        Index("ix_post_persona_source_path", "persona", "source_path"),
        Index("ix_post_persona_slug", "persona", "slug"),
        # ``list``'s default view and ``--state``: the posts of a few states in time order
        Index("ix_post_status_scheduled", "status", "scheduled_at"),
        # a series has one post per occurrence, whoever creates it (two daemons, a restart)
        UniqueConstraint("series_id", "occurrence", name="uq_post_series_occurrence"),
        # the daemon's look for new occurrences to check, without reading every post
        Index("ix_post_needs_check", "needs_check"),
    )

    id: int | None = Field(default=None, primary_key=True)
    persona: str = Field(index=True)
    kind: str  # "entry" (has a title, goes to the blog) or "short"
    title: str | None = None
    body: str
    summary: str | None = None
    slug: str
    lang: str | None = None
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    categories: list[str] = Field(default_factory=list, sa_type=JSON)
    share: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    #: snapshots: [{"path": stored copy, "alt": ..., "sha256": ..., "original": ...}]
    media: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    source_path: str | None = None
    source_hash: str | None = None
    scheduled_at: datetime = Field(sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status: str = Field(default=QUEUED, index=True)
    #: guard overrides for this post: {rule: reason}
    allow: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    note: str | None = None
    #: the entry asked for threads (front matter ``thread: true``)
    thread: bool = False
    #: :func:`crosspost.contenthash.content_hash` of title and body, kept up to date on every
    #: write (see ``_keep_content_hash``) so ``queue`` finds a duplicate through an index
    content_hash: str | None = Field(
        default=None, sa_column_kwargs={"default": _content_hash_default}
    )
    #: the recurring series this post is an occurrence of (``queue --every``), and which one
    #: (the first post is 1)
    series_id: int | None = Field(default=None, foreign_key="recurrence.id", index=True)
    occurrence: int | None = None
    #: an occurrence the daemon created: the queue-time checks still have to run on it
    needs_check: bool = False
    #: an entry in its persona's evergreen pool: ``{"texts": {platform or account or "*":
    #: [alternative share texts]}}`` (front matter ``evergreen``/``evergreen_texts``)
    evergreen: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    #: a re-share from the evergreen pool: the post id of the entry it shares again
    evergreen_of: int | None = Field(default=None, index=True)


@event.listens_for(Post, "before_insert")
@event.listens_for(Post, "before_update")
def _keep_content_hash(_mapper: Any, _connection: Any, post: Post) -> None:
    """Every ORM write of a post (queue, edit, tests) stores the hash of what it now says."""
    post.content_hash = content_hash(post.title, post.body)


def post_text(post: Post) -> str:
    """What the near-duplicate check compares of a stored post."""
    return "\n".join(x for x in (post.title, post.summary, post.body, *post.tags) if x)


class PostShingle(SQLModel, table=True):
    """One shingle hash of a post's text (:func:`crosspost.guard.correlation.index_hashes`):
    ``queue``'s near-duplicate check reads only the other personas' posts that share one with
    the new text, not every post of the correlation window. Kept on every ORM write of a
    post's text (``_keep_shingles``), in the same transaction."""

    __tablename__ = "post_shingle"
    __table_args__ = (Index("ix_post_shingle_hash_persona", "hash", "persona"),)

    post_id: int = Field(primary_key=True)
    hash: int = Field(sa_column=Column("hash", BigInteger, primary_key=True, autoincrement=False))
    persona: str


class ImportedShingle(SQLModel, table=True):
    """:class:`PostShingle` of an imported post (``crosspost audit-exposure``)."""

    __tablename__ = "imported_shingle"
    __table_args__ = (Index("ix_imported_shingle_hash_persona", "hash", "persona"),)

    imported_id: int = Field(primary_key=True)
    hash: int = Field(sa_column=Column("hash", BigInteger, primary_key=True, autoincrement=False))
    persona: str


_POST_TEXT = ("title", "summary", "body", "tags", "persona")


def _text_changed(row: Any, fields: tuple[str, ...]) -> bool:
    state = sa_inspect(row)
    return any(state.attrs[f].history.has_changes() for f in fields)


def _write_shingles(
    connection: Any, table: Any, key: str, row_id: int, persona: str, text: str
) -> None:
    from .guard.correlation import index_hashes

    connection.execute(table.delete().where(table.c[key] == row_id))
    hashes = index_hashes(text)
    if hashes:
        connection.execute(
            table.insert(), [{key: row_id, "persona": persona, "hash": h} for h in hashes]
        )


@event.listens_for(Post, "after_insert")
@event.listens_for(Post, "after_update")
def _keep_shingles(_mapper: Any, connection: Any, post: Post) -> None:
    """Every ORM write of a post's text (queue, edit, a series' next occurrence) replaces its
    shingle hashes in the same flush."""
    if post.id is None or not _text_changed(post, _POST_TEXT):
        return
    table = PostShingle.__table__  # type: ignore[attr-defined]
    _write_shingles(connection, table, "post_id", post.id, post.persona, post_text(post))


@event.listens_for(Post, "after_delete")
def _drop_shingles(_mapper: Any, connection: Any, post: Post) -> None:
    table = PostShingle.__table__  # type: ignore[attr-defined]
    connection.execute(table.delete().where(table.c.post_id == post.id))


class Recurrence(SQLModel, table=True):
    """A recurring post's rule (``queue --every``): an RFC 5545 RRULE, the persona-local wall
    time of the first occurrence and the timezone it is read in (see
    :mod:`crosspost.recurrence`). Each occurrence is a post of its own; the next one is
    created when the one before has finished (:mod:`crosspost.series`)."""

    id: int | None = Field(default=None, primary_key=True)
    persona: str = Field(index=True)
    rule: str
    #: the first occurrence as a wall time in ``timezone``, ISO 8601 without an offset
    dtstart: str
    timezone: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: set when the series was stopped (``cancel --series``) or its rule has ended
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_reason: str | None = None


class Delivery(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("post_id", "target", name="uq_delivery_post_target"),
        Index("ix_delivery_state_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    target: str  # account name, or "blog"
    platform: str
    role: str  # "blog" or "share"
    state: str = Field(default=QUEUED)
    due_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    #: an earlier attempt may have reached the platform: ask it (lookup) before posting again
    needs_lookup: bool = False
    #: fencing token: bumped on every claim; results are recorded only with the current one
    fence: int = 0
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = None
    idempotency_key: str
    remote_id: str | None = None
    remote_url: str | None = None
    text: str | None = None
    #: a share sent as a thread: ``[{"text", "remote_id", "url", "cid"}]`` in order, each
    #: part's ids written as soon as it exists, so a later attempt resumes after the last one
    parts: list[dict[str, str | None]] | None = Field(default=None, sa_type=JSON)
    last_error: str | None = None
    hint: str | None = None
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditRecord(SQLModel, table=True):
    """Append-only (triggers refuse UPDATE/DELETE); each record hashes the previous one.

    ``detail`` never holds the text a finding matched (``match_hmac``, a keyed hash, instead);
    see :mod:`crosspost.auditlog`. ``crosspost audit redact`` is the one way to rewrite records.
    """

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    kind: str  # "blocked", "override", ...
    persona: str
    post_id: int | None = None
    rule: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str
    hash: str = Field(unique=True)


class AuditHead(SQLModel, table=True):
    """The audit log's length and last hash, written in the same transaction as each record.

    Kept apart from the records so that records removed from the end of the log show: the
    chain itself stays intact when its tail is cut off. ``mac`` signs both with the guard key
    (None when no key was available). One row (id 1); triggers refuse deleting it and lowering
    ``records``.
    """

    __tablename__ = "audit_head"

    id: int | None = Field(default=None, primary_key=True)
    records: int
    head_hash: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    mac: str | None = None


class Notification(SQLModel, table=True):
    """A notice to a persona's ``notify`` URLs: one per event and delivery, ever.

    ``key`` (e.g. ``failed:delivery:12``) is unique, so an event seen again (after a restart, by
    another daemon) adds nothing. The text is written when the event happens, from that
    persona's post, target and error only. ``delivered`` lists the URLs (by hash) that have it,
    so a retry after a partial failure sends only to the others.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    event: str
    persona: str = Field(index=True)
    post_id: int | None = None
    delivery_id: int | None = None
    title: str
    body: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: when every URL had it (or there was nothing left to send it to)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    delivered: list[str] = Field(default_factory=list, sa_type=JSON)
    attempts: int = 0
    next_try_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: a sender working on it (several daemons share a PostgreSQL queue)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None


class DaemonBeat(SQLModel, table=True):
    """One row per running daemon: written at its start and (at most every few seconds) by
    its dispatches, removed when it stops cleanly. ``crosspost status`` and the health
    endpoint read it from any process; a row not updated for three wake intervals is a daemon
    that died without saying so."""

    __tablename__ = "daemons"

    #: the daemon's worker name (host:pid:random), as in its claims
    id: str = Field(primary_key=True)
    host: str
    pid: int
    version: str
    started_at: datetime = Field(sa_type=UTCDateTime)
    beat_at: datetime = Field(sa_type=UTCDateTime)
    last_dispatch_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: the daemon's ``wake_interval`` in seconds: it beats at least this often
    wake_seconds: float


class FeedItem(SQLModel, table=True):
    """An item of a persona's ``[[feeds]]`` that was seen: shared, held, or too old to share.

    Written in the same transaction as the share post it queued, so a crash leaves either
    both or neither. An item is known by its GUID within its feed and by its normalised link
    within its persona; each is unique, so two pollers at once (several daemons on one
    PostgreSQL queue) cannot both queue it: the second one's transaction fails and queues
    nothing. When an item comes back with one of the two changed, the new value is kept as an
    alias row of the same post (the other column empty), so a later change of the other one
    is recognised too.
    """

    __tablename__ = "feed_item"
    __table_args__ = (
        UniqueConstraint("persona", "feed", "guid", name="uq_feed_item_guid"),
        UniqueConstraint("persona", "link", name="uq_feed_item_link"),
    )

    id: int | None = Field(default=None, primary_key=True)
    persona: str
    #: the feed's ``url`` as the profile gives it (a file feed: its resolved path)
    feed: str
    guid: str | None = None
    #: the item's link, normalised (see :func:`crosspost.feeds.normalise_link`)
    link: str | None = None
    #: "queued", "held" (the guard blocked it), "old" (before ``since``), "duplicate" (the
    #: persona had queued the same text already), "alias" (a new GUID or link of a known item)
    outcome: str
    post_id: int | None = None
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FeedState(SQLModel, table=True):
    """Per persona and feed: when it was first read (the default ``since``) and the validators
    of its last answer, sent back as ``If-None-Match`` / ``If-Modified-Since``."""

    __tablename__ = "feed_state"

    persona: str = Field(primary_key=True)
    feed: str = Field(primary_key=True)
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    etag: str | None = None
    last_modified: str | None = None
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: what went wrong on the last check (None: it worked)
    last_error: str | None = None


class ImportedPost(SQLModel, table=True):
    """A post a target showed when ``crosspost audit-exposure`` read it back, made by
    crosspost or not: the correlation checks (near-duplicates, separation) count it with the
    queue, so a post made by hand or before crosspost keeps the personas apart too. One row
    per item (``persona``, ``target``, ``remote_id``); reading it again updates it."""

    __tablename__ = "imported_post"
    __table_args__ = (
        UniqueConstraint("persona", "target", "remote_id", name="uq_imported_post_item"),
    )

    id: int | None = Field(default=None, primary_key=True)
    persona: str
    target: str
    #: the platform's id of the item (its URL when it has none)
    remote_id: str
    url: str | None = None
    #: what readers see (title and text), for the near-duplicate check
    text: str
    published_at: datetime = Field(sa_type=UTCDateTime, index=True)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


@event.listens_for(ImportedPost, "after_insert")
@event.listens_for(ImportedPost, "after_update")
def _keep_imported_shingles(_mapper: Any, connection: Any, row: ImportedPost) -> None:
    """:func:`_keep_shingles` for an imported post (read again: its text may have changed)."""
    if row.id is None or not _text_changed(row, ("text", "persona")):
        return
    table = ImportedShingle.__table__  # type: ignore[attr-defined]
    _write_shingles(connection, table, "imported_id", row.id, row.persona, row.text)
