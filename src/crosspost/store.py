"""The database: engine set-up, schema migrations, and every query the CLI needs.

SQLite is the embedded default. It runs in WAL mode with a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE`` so a writer waits for the lock up front instead of
failing half-way with "database is locked" when the daemon writes at the same moment.
PostgreSQL (psycopg 3) uses the same code; queue changes there send ``NOTIFY crosspost`` so a
running daemon wakes up.

Migrations are Alembic revisions in ``crosspost/migrations``. Opening a store compares the
recorded revision with the newest one this version ships, without importing Alembic when they
match (the CLI starts many times a day); an older schema is upgraded, a newer one is refused.

A SQLite file this user cannot write (the file, its folder or its disk is read-only) is opened
read-only: reading commands work and leave no files behind, changes are refused up front, and
a schema that would need an upgrade is reported instead. Failures to open or use a database
become a StoreError naming it (see ``dberrors``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy timeout alone serialises the writers there
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import and_, bindparam, event, func, or_, text, union, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlmodel import Session, col, create_engine, select

from . import auditlog
from .dberrors import SUPPORTED, URL_FORMS, mask_url, opening_problem, remember_database
from .errors import NotFound, Refused, StoreError
from .models import (
    CANCELLED,
    FAILED,
    HELD,
    PARTIAL,
    PUBLISHED,
    PUBLISHING,
    QUEUED,
    UNKNOWN,
    AuditHead,
    AuditRecord,
    Delivery,
    ImportedPost,
    ImportedShingle,
    Post,
    PostShingle,
    Recurrence,
    delivery_key,
    utcnow,
)
from .queuefile import MIGRATIONS as MIGRATIONS
from .queuefile import known_revisions as known_revisions
from .targets import Target as Target

if TYPE_CHECKING:
    from .when import When

#: one item read back from a target: (remote id, URL, text, published at)
ImportedItem = tuple[str, str | None, str, datetime]

#: the first key of :meth:`Store.only_one`'s advisory locks says "a daemon's job"
_TRY_JOB_LOCK = "SELECT pg_try_advisory_lock(1785688425, hashtext(:name))"
_JOB_UNLOCK = "SELECT pg_advisory_unlock(1785688425, hashtext(:name))"
NOTIFY_CHANNEL = "crosspost"
GENESIS = "0" * 64


def normalise_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def rollup(states: Sequence[str]) -> str:
    """One status for a post from its targets' states, most urgent first."""
    s = set(states)
    if not s:
        return CANCELLED
    for state in (PUBLISHING, UNKNOWN, HELD):
        if state in s:
            return state
    if QUEUED in s:
        return QUEUED
    if s == {PUBLISHED}:
        return PUBLISHED
    if s == {CANCELLED}:
        return CANCELLED
    if s == {FAILED} or s == {FAILED, CANCELLED}:
        return FAILED
    return PARTIAL


def idempotency_key(post: Post, target: str) -> str:
    """Stable for one post and target across retries and restarts, unique across posts."""
    assert post.id is not None
    return delivery_key(post.id, post.created_at, target)


@dataclass(frozen=True)
class AuditEntry:
    """One record to append. A ``detail["match"]`` is never stored as given: the store writes
    ``match_hmac``, its keyed hash, instead (see :mod:`crosspost.auditlog`)."""

    kind: str
    persona: str
    rule: str | None = None
    reason: str | None = None
    detail: dict[str, Any] | None = None


#: ``kind`` of the record ``crosspost audit redact`` appends
REDACTION = "redaction"
#: serialises appends to the audit log on PostgreSQL (SQLite has one writer anyway)
_AUDIT_LOCK = 7238470002
#: the trigger of 0001_initial that redaction lifts for its one transaction, as created there
_SQLITE_NO_UPDATE = (
    "CREATE TRIGGER auditrecord_no_update BEFORE UPDATE ON auditrecord "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
)


@dataclass
class AuditCheck:
    """What ``crosspost audit --verify`` found: problems fail it, notes do not."""

    problems: list[str]
    notes: list[str]
    #: records in the log, and the hash of the last one (GENESIS when empty)
    records: int
    head: str
    #: the separately kept head (``audit_head``): records, hash, signed; None when missing
    kept: dict[str, Any] | None
    #: one per redaction record: id, at, records, fields, signature ("valid", "not checked", …)
    redactions: list[dict[str, Any]]


@dataclass(frozen=True)
class Redaction:
    """What ``crosspost audit redact`` did."""

    id: int  # of the redaction record
    records: list[int]
    fields: dict[str, list[int]]
    rechained_from: int
    old_records: int
    #: shown once on the terminal; the log keeps only a keyed commitment to it
    old_head: str
    #: False when SQLite could not rewrite its file and WAL right away (another connection)
    compacted: bool


def _record_hash(prev: str, r: AuditRecord) -> str:
    body = {
        "at": r.at.astimezone(UTC).isoformat(),
        "kind": r.kind,
        "persona": r.persona,
        "post_id": r.post_id,
        "rule": r.rule,
        "reason": r.reason,
        "detail": r.detail,
    }
    blob = prev + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


#: the largest id a post can have (SQLite's and PostgreSQL's signed 64-bit integers)
MAX_ID = 2**63 - 1


class Store:
    #: the key of the audit log's keyed hashes and signatures (the guard key), or None when
    #: there is none; set by :class:`crosspost.app.App`. Without it a match is not hashed at
    #: all (and never written as text).
    audit_key: Callable[[], bytes | None] | None = None

    def __init__(self, url: str, *, migrate: bool = True, create_folder: bool = True) -> None:
        """Open the database at ``url``; ``create_folder``: make a missing SQLite folder.

        A SQLite file this user cannot write (the file or its folder is read-only) is opened
        read-only: reading commands work, writing ones say so before they try.
        """
        self.url = normalise_url(url)
        parsed = parse_database_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.path = sqlite_file(parsed)
        #: why this process cannot write the database (None: it can)
        self.read_only: str | None = None
        if self.path is not None:
            self.read_only = _check_sqlite_file(self.path, create_folder)
        self.where = f"database file {self.path}" if self.path else f"database {mask_url(url)}"
        self._shown = parsed.render_as_string(hide_password=True)
        try:
            self.engine = _make_engine(parsed, self.path, self.read_only)
        except Exception as e:  # noqa: BLE001 - a driver missing or refusing the URL
            raise opening_problem(e, self.where) from None
        remember_database(self.engine, self.where)
        self._writer = threading.RLock()
        self._writer_depth = 0
        self._writer_file: int | None = None
        if self.path is not None and self.read_only is None:
            self._writer_file = _open_writer_lock(str(self.path))
            if self._writer_file is not None:
                weakref.finalize(self, os.close, self._writer_file)
        if migrate:
            self.ensure_schema()

    def require_writable(self) -> None:
        """Refuse a change up front on a read-only database, instead of half-way through."""
        if self.read_only is not None:
            raise StoreError(
                f"the {self.where} is read-only here ({self.read_only}); this command "
                "changes the queue",
                hint="make the file and its folder writable for this user, or run the "
                "command as the user who owns the database",
            )

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction; on SQLite it takes the write lock first (BEGIN IMMEDIATE).

        SQLite has one writer at a time anyway; threads of one process queue on a Python lock
        instead of in SQLite's busy handler, which sleeps in growing steps and would add tens
        of milliseconds per contended write. Other processes still wait via busy_timeout.
        """
        self.require_writable()
        if not self.is_sqlite:
            with Session(self.engine, expire_on_commit=False) as s, s.begin():
                yield s
            return
        with self._write_lock():
            conn = self.engine.connect().execution_options(sqlite_begin="IMMEDIATE")
            try:
                with Session(bind=conn, expire_on_commit=False) as s, s.begin():
                    yield s
            finally:
                conn.close()

    @contextmanager
    def write_conn(self) -> Iterator[Connection]:
        """Like :meth:`write`, as a Core connection: the daemon's per-delivery statements.

        The same locking (the in-process writer lock and ``BEGIN IMMEDIATE`` on SQLite), without
        the ORM session's bookkeeping, which costs more than the statements themselves.
        """
        self.require_writable()
        if not self.is_sqlite:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock():
            conn = self.engine.connect().execution_options(sqlite_begin="IMMEDIATE")
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.close()

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """SQLite's one writer at a time, queued without sleeping.

        Threads of one process queue on a Python lock; processes (the daemon's workers, the
        CLI) on an advisory lock on ``<database>-writer.lock``, which wakes the next writer
        the moment the lock is free. SQLite's own busy handler, still there for other
        programs, sleeps in steps of up to 100 ms instead, and while one thread sleeps, the
        others of its process wait behind it.
        """
        with self._writer:
            if self._writer_depth == 0 and self._writer_file is not None:
                fcntl.flock(self._writer_file, fcntl.LOCK_EX)
            self._writer_depth += 1
            try:
                yield
            finally:
                self._writer_depth -= 1
                if self._writer_depth == 0 and self._writer_file is not None:
                    fcntl.flock(self._writer_file, fcntl.LOCK_UN)

    @contextmanager
    def only_one(self, name: str, *, wait: float = 0.0) -> Iterator[bool]:
        """Whether this process is the one doing job ``name`` right now, for jobs that two
        processes must not do at once (a persona's evergreen re-share, queued by every
        daemon's job and by ``evergreen run``). Waits up to ``wait`` seconds for the process
        holding it. On PostgreSQL a session advisory lock; on SQLite an advisory lock on a
        file beside the database (True for an in-memory one, which no other process sees)."""
        deadline = time.monotonic() + wait
        if self.is_sqlite:
            fd = _open_job_lock(str(self.path) if self.path else None, name)
            if fd is None:
                yield True
                return
            try:
                while not (got := _try_flock(fd)) and time.monotonic() < deadline:
                    time.sleep(0.05)
                yield got
            finally:
                os.close(fd)  # closing the file gives the lock back
            return
        with self.engine.connect() as conn:
            args = {"name": name}
            while True:
                got = bool(conn.execute(text(_TRY_JOB_LOCK), args).scalar())
                conn.commit()
                if got or time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
            try:
                yield got
            finally:
                if got:
                    conn.execute(text(_JOB_UNLOCK), args)
                    conn.commit()

    def notify(self, s: Session) -> None:
        """Wake daemons on PostgreSQL; on SQLite they notice the commit via data_version."""
        if not self.is_sqlite:
            s.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))

    # -- schema -----------------------------------------------------------------------------

    def current_revision(self) -> str | None:
        """The schema revision recorded in the database; None when it has no tables yet."""
        with self.engine.connect() as c:
            if not self.engine.dialect.has_table(c, "alembic_version"):
                return None
            return c.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def ensure_schema(self) -> None:
        """Upgrade an older schema; refuse a newer one, or an older one that is read-only."""
        known = known_revisions()
        try:
            current = self.current_revision()
        except DBAPIError as e:
            raise opening_problem(e, self.where) from None
        if current == known[-1]:
            return
        if current is not None and current not in known:
            raise StoreError(
                f"the database {self.display_url()} was written by a newer crosspost "
                f"(schema revision {current}; this version knows up to {known[-1]})",
                hint="upgrade crosspost (pip install -U crosspost), "
                "or point database_url at another database",
            )
        if self.read_only is not None:
            state = (
                "has no crosspost tables yet"
                if current is None
                else f"has schema revision {current}, older than this version's {known[-1]}"
            )
            raise StoreError(
                f"the {self.where} is read-only here ({self.read_only}) and {state}, so "
                "crosspost cannot upgrade it",
                hint="run any crosspost command once as a user who may write it (that "
                "upgrades it), or use the crosspost version that wrote it",
            )
        try:
            self._upgrade()
        except DBAPIError as e:
            raise opening_problem(e, self.where) from None

    def _upgrade(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                # several daemons may start at once against one PostgreSQL database
                conn.execute(text("SELECT pg_advisory_xact_lock(7238470001)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def display_url(self) -> str:
        """The URL without a password, for messages and logs."""
        return self._shown

    # -- queue ------------------------------------------------------------------------------

    def enqueue(
        self,
        post: Post,
        targets: Sequence[Target],
        audit: Sequence[AuditEntry] = (),
        *,
        series: Recurrence | None = None,
        held: bool = False,
        also: Callable[[Session, Post], None] | None = None,
    ) -> Post:
        """Store ``post`` and its deliveries, ``held`` (waiting for the user) or queued.

        ``series`` makes it the first occurrence of a recurring series; ``also`` writes more
        once the post has its id (a feed item seen). All of it is stored in one transaction,
        or none of it."""
        state = HELD if held else QUEUED
        with self.write() as s:
            post.status = state
            if series is not None:
                s.add(series)
                s.flush()
                post.series_id = series.id
                post.occurrence = 1
            s.add(post)
            s.flush()
            for t in targets:
                s.add(
                    Delivery(
                        post_id=post.id,  # type: ignore[arg-type]
                        target=t.name,
                        platform=t.platform,
                        role=t.role,
                        state=state,
                        due_at=post.scheduled_at,
                        idempotency_key=idempotency_key(post, t.name),
                    )
                )
            for a in audit:
                self._append_audit(s, a, post.id)
            if also is not None:
                also(s, post)
            self.notify(s)
        return post

    def get(self, post_id: int) -> tuple[Post, list[Delivery]]:
        with self.read() as s:
            # an id past the databases' 64-bit integers cannot be a post (and would overflow)
            post = s.get(Post, post_id) if 0 < post_id <= MAX_ID else None
            if post is None:
                raise NotFound(f"no post with id {post_id}", hint="see 'crosspost list'")
            deliveries = list(
                s.exec(
                    select(Delivery)
                    .where(Delivery.post_id == post_id)
                    .order_by(col(Delivery.role), col(Delivery.id))
                )
            )
            return post, deliveries

    def snapshot(self, post_id: int) -> tuple[Any, list[Any]]:
        """A post and its deliveries as read-only rows (attribute access like the models).

        What the publisher reads for a delivery: plain Core rows, no ORM identity map.
        """
        found = self.snapshots([post_id]).get(post_id)
        if found is None:
            raise NotFound(f"no post with id {post_id}", hint="see 'crosspost list'")
        return found

    def snapshots(self, post_ids: Sequence[int]) -> dict[int, tuple[Any, list[Any]]]:
        """:meth:`snapshot` of several posts in two queries (a batch of claims); posts that
        do not exist are left out."""
        ids = sorted(set(post_ids))
        if not ids:
            return {}
        with self.engine.connect() as conn:
            posts = conn.execute(_POSTS_BY_IDS, {"post_ids": ids}).all()
            out: dict[int, tuple[Any, list[Any]]] = {p.id: (p, []) for p in posts}
            for d in conn.execute(_DELIVERIES_OF_POSTS, {"post_ids": ids}):
                out[d.post_id][1].append(d)
            conn.rollback()
        return out

    def list_posts(
        self,
        *,
        persona: str | None = None,
        status: str | None = None,
        states: Sequence[str] | None = None,
        upcoming: bool = False,
        start: datetime | None = None,
        end: datetime | None = None,
        newest_first: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[tuple[Post, list[Delivery]]], int]:
        """One page of posts and the total matching; filtering and order happen in SQL.

        ``upcoming`` keeps the posts that are not finished or need the user (see
        :data:`UPCOMING`); ``states`` (or the older ``status``) keeps those statuses;
        ``start`` <= scheduled time < ``end``. Order: scheduled time, oldest first, or newest
        first with ``newest_first``. See :func:`_sqlite_list_plan` for how this stays fast
        on SQLite; PostgreSQL plans it well by itself (it keeps statistics).
        """
        states = states or ([status] if status else None)
        scope = _scope_terms(persona, start, end, indexed=True)
        alternatives = _status_terms(states, upcoming, indexed=True)
        order = (
            (col(Post.scheduled_at).desc(), col(Post.id).desc())
            if newest_first
            else (col(Post.scheduled_at), col(Post.id))
        )
        with self.read() as s:

            def count(*terms: Any) -> int:
                return int(s.exec(select(func.count()).select_from(Post).where(*terms)).one())

            one_by_one = _per_status_terms(states, upcoming)
            if not alternatives:
                where, total = scope, count(*scope)
            elif self.is_sqlite and not scope and one_by_one:
                total = sum(count(t) for t in one_by_one)
                if total <= offset:
                    return [], total
                ids = _page_ids(s, one_by_one, newest_first, offset, limit)
                found = {p.id: p for p in s.exec(select(Post).where(col(Post.id).in_(ids)))}
                return self._with_deliveries(s, [found[i] for i in ids if i in found]), total
            elif self.is_sqlite:
                where, total = _sqlite_list_plan(count, persona, start, end, states, upcoming)
            else:
                where = [*scope, or_(*alternatives)]
                total = count(*where)
            if total <= offset:
                return [], total
            posts = list(
                s.exec(select(Post).where(*where).order_by(*order).offset(offset).limit(limit))
            )
            return self._with_deliveries(s, posts), total

    def _with_deliveries(self, s: Session, posts: list[Post]) -> list[tuple[Post, list[Delivery]]]:
        """``posts`` each with its deliveries, read in one query."""
        ids = [p.id for p in posts]
        by_post: dict[int, list[Delivery]] = {i: [] for i in ids if i is not None}
        if ids:
            for d in s.exec(
                select(Delivery)
                .where(col(Delivery.post_id).in_(ids))
                .order_by(col(Delivery.post_id), col(Delivery.role), col(Delivery.id))
            ):
                by_post[d.post_id].append(d)
        return [(p, by_post.get(p.id or 0, [])) for p in posts]

    def queued_times(self, persona: str) -> list[datetime]:
        with self.read() as s:
            return list(
                s.exec(
                    select(Post.scheduled_at).where(
                        Post.persona == persona,
                        col(Post.status).in_([QUEUED, HELD, PUBLISHING]),
                    )
                )
            )

    def recent_posts(self, since: datetime, until: datetime | None = None) -> list[Post]:
        """Posts of every persona scheduled from ``since`` to ``until`` (for correlation
        checks). Give ``until``: without it every post queued after ``since`` is read, which
        grows with the queue."""
        query = select(Post).where(Post.scheduled_at >= since, Post.status != CANCELLED)
        if until is not None:
            query = query.where(Post.scheduled_at <= until)
        with self.read() as s:
            return list(s.exec(query))

    def shingle_candidates(
        self,
        persona: str,
        hashes: Collection[int],
        since: datetime,
        until: datetime,
        exclude: int | None = None,
    ) -> tuple[list[Post], list[ImportedPost]]:
        """The posts (not cancelled, scheduled from ``since`` to ``until``) and imported posts
        of every persona but ``persona`` that share one of ``hashes`` among their shingle
        hashes: the near-duplicate check's candidates, found through the ``(hash, persona)``
        indexes, so the read grows with the overlap, not with the queue."""
        if not hashes:
            return [], []
        found: set[int] = set()
        imported: set[int] = set()
        ps, its = PostShingle.__table__, ImportedShingle.__table__  # type: ignore[attr-defined]
        with self.read() as s:
            for chunk in _chunks(sorted(hashes), 500):
                found.update(
                    s.execute(
                        sa_select(ps.c.post_id)
                        .where(ps.c.hash.in_(chunk), ps.c.persona != persona)
                        .distinct()
                    ).scalars()
                )
                imported.update(
                    s.execute(
                        sa_select(its.c.imported_id)
                        .where(its.c.hash.in_(chunk), its.c.persona != persona)
                        .distinct()
                    ).scalars()
                )
            found.discard(exclude if exclude is not None else -1)
            posts: list[Post] = []
            for chunk in _chunks(sorted(found), 500):
                posts += s.exec(
                    select(Post).where(
                        col(Post.id).in_(chunk),
                        Post.scheduled_at >= since,
                        Post.scheduled_at <= until,
                        Post.status != CANCELLED,
                    )
                )
            rows: list[ImportedPost] = []
            for chunk in _chunks(sorted(imported), 500):
                rows += s.exec(
                    select(ImportedPost).where(
                        col(ImportedPost.id).in_(chunk),
                        ImportedPost.published_at >= since,
                        ImportedPost.published_at <= until,
                    )
                )
        return posts, rows

    def post_times(
        self, since: datetime, until: datetime, *, lower_open: bool = False
    ) -> list[tuple[str, int, datetime]]:
        """``(persona, id, scheduled_at)`` of every post (not cancelled) scheduled from
        ``since`` (after it, when ``lower_open``) to ``until``, for the separation check: no
        texts."""
        low = Post.scheduled_at > since if lower_open else Post.scheduled_at >= since
        query = select(Post.persona, Post.id, Post.scheduled_at).where(
            low, Post.scheduled_at <= until, Post.status != CANCELLED
        )
        with self.read() as s:
            return [(p, i or 0, t) for p, i, t in s.exec(query)]

    def imported_times(
        self, since: datetime, until: datetime, *, lower_open: bool = False
    ) -> list[ImportedPost]:
        """Imported posts published from ``since`` (after it, when ``lower_open``) to
        ``until``."""
        low = (
            ImportedPost.published_at > since if lower_open else ImportedPost.published_at >= since
        )
        with self.read() as s:
            return list(s.exec(select(ImportedPost).where(low, ImportedPost.published_at <= until)))

    # -- imported history (crosspost audit-exposure) --------------------------------------------

    def import_posts(self, persona: str, target: str, items: Sequence[ImportedItem]) -> int:
        """Remember what ``target`` of ``persona`` showed; returns how many items are new.

        Items crosspost itself delivered there (the same remote id or URL as one of the
        persona's deliveries to the target) are left out: the queue counts them already.
        An item read before is updated (an edited post)."""
        if not items:
            return 0
        with self.write() as s:
            own = s.exec(
                select(Delivery.remote_id, Delivery.remote_url)
                .join(Post, col(Post.id) == col(Delivery.post_id))
                .where(Delivery.target == target, Post.persona == persona)
                .where(
                    or_(col(Delivery.remote_id).is_not(None), col(Delivery.remote_url).is_not(None))
                )
            ).all()
            ours = {v for row in own for v in row if v}
            fresh = {
                rid: (rid, url, text_, at)
                for rid, url, text_, at in items
                if rid not in ours and (url is None or url not in ours)
            }
            existing = {
                row.remote_id: row
                for row in s.exec(
                    select(ImportedPost).where(
                        ImportedPost.persona == persona,
                        ImportedPost.target == target,
                        col(ImportedPost.remote_id).in_(list(fresh)),
                    )
                )
            }
            added = 0
            now = utcnow()
            for rid, url, text_, at in fresh.values():
                row = existing.get(rid)
                if row is None:
                    row = ImportedPost(
                        persona=persona, target=target, remote_id=rid, text=text_, published_at=at
                    )
                    added += 1
                row.url, row.text, row.published_at, row.imported_at = url, text_, at, now
                s.add(row)
        return added

    def imported_posts(self, since: datetime, until: datetime) -> list[ImportedPost]:
        """Imported posts of every persona published from ``since`` to ``until``."""
        with self.read() as s:
            return list(
                s.exec(
                    select(ImportedPost).where(
                        ImportedPost.published_at >= since, ImportedPost.published_at <= until
                    )
                )
            )

    def nearest_posts(
        self,
        personas: Sequence[str],
        ref: datetime,
        reach: timedelta,
        per_persona: int,
        exclude: int | None = None,
    ) -> list[tuple[str, int, datetime]]:
        """``(persona, id, scheduled_at)`` of each persona's ``per_persona`` posts nearest to
        ``ref`` within ``reach`` either side (not cancelled): at most that many before and
        after, each through the ``(persona, scheduled_at)`` index, so the cost does not grow
        with the queue (the rhythm check samples these)."""
        out: list[tuple[str, int, datetime]] = []
        with self.read() as s:
            for name in personas:
                base = select(Post.persona, Post.id, Post.scheduled_at).where(
                    Post.persona == name, Post.status != CANCELLED
                )
                if exclude is not None:  # the post being edited or moved
                    base = base.where(Post.id != exclude)
                before = (
                    base.where(Post.scheduled_at <= ref, Post.scheduled_at >= ref - reach)
                    .order_by(col(Post.scheduled_at).desc())
                    .limit(per_persona)
                )
                after = (
                    base.where(Post.scheduled_at > ref, Post.scheduled_at <= ref + reach)
                    .order_by(col(Post.scheduled_at))
                    .limit(per_persona)
                )
                for query in (before, after):
                    out += [(p, i or 0, t) for p, i, t in s.exec(query)]
        return out

    def media_of_others(
        self, persona: str, statuses: Sequence[str], *, changed_since: datetime | None = None
    ) -> list[Post]:
        """Posts of every other persona in ``statuses`` that carry media (same-image checks:
        their media JSON holds each image's perceptual hash); with ``changed_since``, only
        those written since (queued, edited or published: each sets ``updated_at``)."""
        where: list[Any] = [Post.persona != persona, col(Post.status).in_(list(statuses))]
        if changed_since is not None:
            where.append(col(Post.updated_at) >= changed_since)
        with self.read() as s:
            rows = s.exec(select(Post).where(*where))
            return [p for p in rows if p.media]

    def similar_posts(
        self,
        persona: str,
        *,
        content_hash: str | None = None,
        source_path: str | None = None,
        slug: str | None = None,
        statuses: Sequence[str] = (QUEUED, HELD, PUBLISHING, UNKNOWN, PUBLISHED, PARTIAL),
        exclude: int | None = None,
        limit: int = 20,
    ) -> list[Any]:
        """Posts of ``persona`` in ``statuses`` with ``content_hash`` (see
        :mod:`crosspost.contenthash`), or from ``source_path``, or with ``slug``: the
        candidates ``queue`` compares a new post with, newest first.

        One statement returning only the few rows that match (Core rows with id, status,
        scheduled_at, title, body, source_path and slug). Each alternative is its own SELECT
        through its ``(persona, …)`` index, joined by UNION: an OR of them would make SQLite
        read every post of the persona, and the check would slow down as the queue grows.
        """
        t = _POST_T
        alternatives = []
        if content_hash is not None:
            alternatives.append(t.c.content_hash == content_hash)
        if source_path is not None:
            alternatives.append(t.c.source_path == source_path)
        if slug is not None:
            alternatives.append(t.c.slug == slug)
        if not alternatives:
            return []
        columns = (
            t.c.id,
            t.c.status,
            t.c.scheduled_at,
            t.c.title,
            t.c.body,
            t.c.source_path,
            t.c.slug,
        )
        selects = []
        for alternative in alternatives:
            q = sa_select(*columns).where(
                t.c.persona == persona, alternative, t.c.status.in_(list(statuses))
            )
            if exclude is not None:
                q = q.where(t.c.id != exclude)
            selects.append(q)
        found = union(*selects).subquery() if len(selects) > 1 else selects[0].subquery()
        q = sa_select(found).order_by(found.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
            conn.rollback()
        return list(rows)

    def replace_snapshot(
        self,
        post_id: int,
        fields: dict[str, Any],
        *,
        targets: Sequence[Target] | None = None,
        at: datetime | None = None,
        audit: Sequence[AuditEntry] = (),
    ) -> Post:
        """Replace what a queued post will publish (``fields``: Post columns), in one
        transaction with its audit records.

        ``targets`` (when the post's targets changed) replaces its deliveries; ``at`` moves it
        like :meth:`reschedule`. Refused once any target has started publishing: what went
        out, or may have, would no longer match the stored post.
        """
        with self.write() as s:
            post, deliveries = self.locked_post(s, post_id)
            refuse_unless_editable(post, deliveries)
            for name, value in fields.items():
                setattr(post, name, value)
            if targets is not None:
                held = post.status == HELD and at is None
                wanted = {t.name: t for t in targets}
                for d in deliveries:
                    if d.target not in wanted:
                        s.delete(d)
                s.flush()
                have = {d.target for d in deliveries if d.target in wanted}
                for t in targets:
                    if t.name not in have:
                        s.add(
                            Delivery(
                                post_id=post_id,
                                target=t.name,
                                platform=t.platform,
                                role=t.role,
                                state=HELD if held else QUEUED,
                                due_at=post.scheduled_at,
                                idempotency_key=idempotency_key(post, t.name),
                            )
                        )
                s.flush()
            if at is not None:
                post.scheduled_at = at
                post.note = None
                for d in s.exec(select(Delivery).where(Delivery.post_id == post_id)):
                    if d.state in (QUEUED, HELD):
                        d.state = QUEUED
                        d.due_at = at
                        d.updated_at = utcnow()
                        s.add(d)
            s.flush()
            self._refresh_status(s, post)
            for a in audit:
                self._append_audit(s, a, post_id)
            self.notify(s)
            return post

    def _refresh_status(self, s: Session, post: Post) -> None:
        states = s.exec(select(Delivery.state).where(Delivery.post_id == post.id)).all()
        post.status = rollup(list(states))
        post.updated_at = utcnow()
        s.add(post)

    def locked_post(self, s: Session, post_id: int) -> tuple[Post, list[Delivery]]:
        """A post and its deliveries, locked for this write transaction (PostgreSQL)."""
        q = select(Post).where(Post.id == post_id)
        if not self.is_sqlite:
            q = q.with_for_update()
        post = s.exec(q).first()
        if post is None:
            raise NotFound(f"no post with id {post_id}", hint="see 'crosspost list'")
        dq = select(Delivery).where(Delivery.post_id == post_id)
        if not self.is_sqlite:
            dq = dq.with_for_update()
        return post, list(s.exec(dq))

    def cancel(self, post_id: int, *, series: bool = False) -> tuple[Post, list[str]]:
        """Cancel what has not gone out; returns the post and the targets cancelled.

        A cancelled occurrence of a recurring post is skipped: the next one is created (in
        this transaction). ``series`` stops the series instead, and cancels its occurrences
        that have not started."""
        from .series import continue_series

        with self.write() as s:
            post, deliveries = self.locked_post(s, post_id)
            if series:
                return self._cancel_series(s, post, deliveries)
            busy = [d.target for d in deliveries if d.state == PUBLISHING]
            if busy:
                raise Refused(
                    f"post {post_id} is being published to {', '.join(busy)} right now; "
                    "it cannot be cancelled mid-flight",
                    hint="check again with 'crosspost show' in a moment",
                )
            open_ = [d for d in deliveries if d.state in (QUEUED, HELD, FAILED, UNKNOWN)]
            if not open_:
                done = post.status
                raise Refused(
                    f"post {post_id} is {done}; there is nothing left to cancel"
                    + (" (it has already been published)" if done == PUBLISHED else "")
                )
            for d in open_:
                d.state = CANCELLED
                d.updated_at = utcnow()
                s.add(d)
            s.flush()
            self._refresh_status(s, post)
            s.flush()
            continue_series(s.connection(), post_id, utcnow())
            self.notify(s)
            return post, [d.target for d in open_]

    def needing_check(self, limit: int) -> list[Post]:
        """Occurrences the daemon created that still wait for their queue-time checks."""
        with self.read() as s:
            q = (
                select(Post)
                .where(col(Post.needs_check), Post.status == QUEUED)
                .order_by(col(Post.scheduled_at))
                .limit(limit)
            )
            return list(s.exec(q))

    def settle_check(
        self,
        post_id: int,
        held: str | None,
        audit: Sequence[AuditEntry] = (),
        *,
        moved: When | None = None,
    ) -> bool:
        """Record an occurrence's queue-time checks: passed, or ``held`` (the note saying
        why) with its targets held for the user; ``moved``: its new time (``slot_jitter``),
        with the note saying so. False when another daemon did it first."""
        with self.write() as s:
            post, deliveries = self.locked_post(s, post_id)
            if not post.needs_check:
                return False
            post.needs_check = False
            if moved is not None:
                for d in deliveries:
                    if d.state == QUEUED and d.due_at == post.scheduled_at:
                        d.due_at = moved.utc
                        s.add(d)
                post.scheduled_at = moved.utc
                post.note = moved.note
            if held is not None:
                for d in deliveries:
                    if d.state == QUEUED:
                        d.state = HELD
                        d.updated_at = utcnow()
                        s.add(d)
                post.note = held
                s.flush()
                self._refresh_status(s, post)
            s.add(post)
            for a in audit:
                self._append_audit(s, a, post_id)
            return True

    def series(self, series_ids: Sequence[int]) -> dict[int, Recurrence]:
        """Series by id (``list`` and ``show`` say how a post recurs)."""
        ids = sorted(set(series_ids))
        if not ids:
            return {}
        with self.read() as s:
            rows = s.exec(select(Recurrence).where(col(Recurrence.id).in_(ids)))
            return {r.id: r for r in rows if r.id is not None}

    def _cancel_series(
        self, s: Session, post: Post, deliveries: list[Delivery]
    ) -> tuple[Post, list[str]]:
        """``cancel --series``: end the series of ``post`` and cancel what of it has not
        started (queued or held targets of any of its occurrences)."""
        from .series import end_series

        if post.series_id is None:
            raise Refused(
                f"post {post.id} is not a recurring post; there is no series to stop",
                hint=f"'crosspost cancel {post.id}' cancels the post itself",
            )
        now = utcnow()
        end_series(s.connection(), post.series_id, now, f"stopped with 'cancel {post.id} --series'")
        ids = list(s.exec(select(Post.id).where(Post.series_id == post.series_id)))
        cancelled: list[str] = []
        for pid in ids:
            other, ds = (post, deliveries) if pid == post.id else self.locked_post(s, pid)  # type: ignore[arg-type]
            open_ = [d for d in ds if d.state in (QUEUED, HELD)]
            for d in open_:
                d.state = CANCELLED
                d.updated_at = now
                s.add(d)
            if open_:
                s.flush()
                self._refresh_status(s, other)
                cancelled += [f"{d.target} (post {pid})" for d in open_]
        self.notify(s)
        return post, cancelled

    def reschedule(self, post_id: int, at: datetime, *, release: bool = False) -> Post:
        """Move what has not gone out to ``at``; ``release`` also frees held posts."""
        with self.write() as s:
            post, deliveries = self.locked_post(s, post_id)
            unsure = [d.target for d in deliveries if d.state == QUEUED and d.needs_lookup]
            if unsure:
                raise Refused(
                    f"post {post_id}: an earlier attempt to {', '.join(unsure)} may have reached "
                    "the platform; the daemon checks that before anything else",
                    hint="wait for the daemon, or cancel the post",
                )
            movable = [d for d in deliveries if d.state in (QUEUED, HELD)]
            if not movable:
                raise Refused(
                    f"post {post_id} is {post.status}; only queued or held posts can be "
                    "rescheduled",
                    hint="use 'crosspost retry' for failed or unknown targets",
                )
            for d in movable:
                d.state = QUEUED
                d.due_at = at
                d.updated_at = utcnow()
                s.add(d)
            post.scheduled_at = at
            post.note = None
            s.flush()
            self._refresh_status(s, post)
            self.notify(s)
            return post

    # -- audit ------------------------------------------------------------------------------

    def audit(self, entries: Sequence[AuditEntry], post_id: int | None = None) -> None:
        if not entries:
            return
        key = self.audit_key() if self.audit_key else None  # before taking the write lock
        with self.write() as s:
            s.info["audit_key"] = key
            for a in entries:
                self._append_audit(s, a, post_id)

    def _append_audit(self, s: Session, a: AuditEntry, post_id: int | None) -> None:
        if "audit_key" not in s.info:
            s.info["audit_key"] = self.audit_key() if self.audit_key else None
        key = s.info["audit_key"]
        rec = AuditRecord(
            kind=a.kind,
            persona=a.persona,
            post_id=post_id,
            rule=a.rule,
            reason=a.reason,
            detail=auditlog.seal(a.detail, key),
            prev_hash="",
            hash="",
        )
        self._chain(s, rec, key)

    def _chain(
        self,
        s: Session,
        rec: AuditRecord,
        key: bytes | None,
        sign: Callable[[AuditRecord], None] | None = None,
    ) -> None:
        """Append ``rec`` after the last record and move the head along, in ``s``'s
        transaction; ``sign`` completes the record once its predecessor is known."""
        if not self.is_sqlite:
            s.execute(text(f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK})"))
        last = s.exec(
            select(AuditRecord.hash).order_by(col(AuditRecord.id).desc()).limit(1)
        ).first()
        rec.prev_hash = last or GENESIS
        if sign is not None:
            sign(rec)
        rec.hash = _record_hash(rec.prev_hash, rec)
        s.add(rec)
        s.flush()
        head = s.get(AuditHead, 1)
        if head is None:
            return  # removed behind the triggers' back: verify keeps saying so; never re-made
        head.records += 1
        head.head_hash = rec.hash
        head.updated_at = utcnow()
        head.mac = auditlog.head_mac(key, head.records, rec.hash) if key else None
        s.add(head)
        s.flush()

    def audit_records(self, limit: int = 50, offset: int = 0) -> tuple[list[AuditRecord], int]:
        with self.read() as s:
            total = s.exec(select(func.count()).select_from(AuditRecord)).one()
            rows = s.exec(
                select(AuditRecord).order_by(col(AuditRecord.id).desc()).offset(offset).limit(limit)
            )
            return list(rows), int(total)

    def verify_audit(self, key: bytes | None = None) -> list[str]:
        """Problems in the hash chain and head; empty when every record is intact and in order."""
        return self.check_audit(key).problems

    def check_audit(self, key: bytes | None = None) -> AuditCheck:
        """The chain, the separately kept head, and redaction records' signatures (with ``key``).

        Read in one snapshot, so a record appended meanwhile cannot look like a mismatch.
        """
        with self._audit_snapshot() as s:
            rows = list(s.exec(select(AuditRecord).order_by(col(AuditRecord.id))))
            kept = s.get(AuditHead, 1)
        problems = _chain_problems(rows)
        notes: list[str] = []
        last = rows[-1].hash if rows else GENESIS
        problems += _head_problems(kept, len(rows), last, chain_ok=not problems)
        if kept is not None and kept.mac is None:
            notes.append(
                "the head is not signed yet (written by the upgrade, or without the guard key); "
                "the next record signs it"
            )
        elif kept is not None and key is None:
            notes.append("signatures not checked: the guard key is not in the keyring")
        elif (
            kept is not None
            and key is not None
            and not auditlog.same(kept.mac, auditlog.head_mac(key, kept.records, kept.head_hash))
        ):
            problems.append(
                "the head's signature does not match: its length or hash was rewritten "
                "without the guard key (records removed from the end?)"
            )
        redactions = [_check_redaction(r, key, problems) for r in rows if r.kind == REDACTION]
        plain = [r.id for r in rows if _holds_match(r)]
        if plain:
            n = len(plain)
            notes.append(
                f"{n} record{'s hold' if n != 1 else ' holds'} matched text (written before "
                f"matches were hashed): records {_ids(plain)}; remove it with 'crosspost audit "
                "redact'"
            )
        return AuditCheck(
            problems,
            notes,
            len(rows),
            last,
            None
            if kept is None
            else {
                "records": kept.records,
                "hash": kept.head_hash,
                "signed": kept.mac is not None,
            },
            redactions,
        )

    @contextmanager
    def _audit_snapshot(self) -> Iterator[Session]:
        if self.is_sqlite:  # one read transaction: WAL gives it a snapshot
            with self.read() as s:
                yield s
            return
        conn = self.engine.connect().execution_options(isolation_level="REPEATABLE READ")
        try:
            with Session(bind=conn, expire_on_commit=False) as s:
                yield s
        finally:
            conn.close()

    def redact_audit(self, key: bytes) -> Redaction | None:
        """Rewrite records written before matches were hashed; None when there are none.

        The only code that lifts the append-only trigger, for one transaction: the records'
        matched text becomes ``match_hmac`` (and messages that repeat it go), every record from
        the first one changed on is re-chained, and a signed ``redaction`` record says which
        records and fields changed and commits to the head they had. A log that fails
        verification is refused: re-chaining would hide the damage.
        """
        with self.write() as s:
            if not self.is_sqlite:
                s.execute(text(f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK})"))
            rows = list(s.exec(select(AuditRecord).order_by(col(AuditRecord.id))))
            changes: dict[int, dict[str, Any]] = {}
            fields: dict[str, list[int]] = {}
            for r in rows:
                new, removed = auditlog.redact(r.rule, r.detail, key)
                if removed:
                    changes[r.id] = new  # type: ignore[index]
                    for f in removed:
                        fields.setdefault(f, []).append(r.id)  # type: ignore[arg-type]
            if not changes:
                return None
            last = rows[-1].hash
            bad = _chain_problems(rows) + _head_problems(
                s.get(AuditHead, 1), len(rows), last, chain_ok=True
            )
            if bad:
                raise Refused(
                    f"the audit log fails verification ({bad[0]}); redacting would re-chain "
                    "over the damage",
                    hint="see 'crosspost audit --verify'",
                )
            first = min(changes)
            self._lift_append_only(s)
            prev = GENESIS
            for r in rows:
                if r.id is not None and r.id >= first:
                    if r.id in changes:
                        r.detail = changes[r.id]
                    r.prev_hash = prev
                    r.hash = _record_hash(prev, r)
                    s.add(r)
                prev = r.hash
            s.flush()
            self._restore_append_only(s)
            records = sorted(changes)
            body: dict[str, Any] = {
                "records": records,
                "fields": fields,
                "rechained_from": first,
                "old_records": len(rows),
                "old_head_hmac": auditlog.old_head_commitment(key, last),
            }
            rec = AuditRecord(kind=REDACTION, persona="*", detail=body, prev_hash="", hash="")

            def sign(r: AuditRecord) -> None:
                r.detail = {
                    **body,
                    "signature": auditlog.redaction_signature(
                        key, r.prev_hash, _signed_body(r, body)
                    ),
                }

            self._chain(s, rec, key, sign)
            rid = rec.id
        assert rid is not None
        return Redaction(rid, records, fields, first, len(rows), last, self._compact())

    def _lift_append_only(self, s: Session) -> None:
        if self.is_sqlite:
            s.execute(text("PRAGMA secure_delete = ON"))  # the old text is zeroed, not freed
            s.execute(text("DROP TRIGGER auditrecord_no_update"))
        else:
            s.execute(text("ALTER TABLE auditrecord DISABLE TRIGGER auditrecord_append_only"))

    def _restore_append_only(self, s: Session) -> None:
        if self.is_sqlite:
            s.execute(text(_SQLITE_NO_UPDATE))
            s.execute(text("PRAGMA secure_delete = OFF"))
        else:
            s.execute(text("ALTER TABLE auditrecord ENABLE TRIGGER auditrecord_append_only"))

    def _compact(self) -> bool:
        """Rewrite the database so the replaced text is gone from its files, not just unused:
        SQLite's VACUUM and a WAL checkpoint that empties the WAL file; PostgreSQL's VACUUM
        FULL of the table (its own write-ahead log and backups age out on their own)."""
        import sqlite3

        try:
            if self.is_sqlite:
                raw = self.engine.raw_connection()  # autocommit: VACUUM needs no transaction
                try:
                    cur = raw.cursor()
                    cur.execute("VACUUM")
                    cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    # (busy, log pages, checkpointed pages); no row would be a checkpoint that
                    # did not run
                    row = cur.fetchone()
                    busy = row is None or bool(row[0])
                finally:
                    raw.close()
                return not busy
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM FULL auditrecord"))
            return True
        except (OperationalError, sqlite3.OperationalError):
            return False


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    """``values`` in slices of ``size`` (a bound on the parameters of one ``IN``)."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _count(n: int, noun: str) -> str:
    return f"1 {noun} was" if n == 1 else f"{n} {noun}s were"


def _ids(ids: Sequence[int | None], most: int = 20) -> str:
    shown = ", ".join(str(i) for i in ids[:most])
    return shown if len(ids) <= most else f"{shown}, … ({len(ids)} in all)"


def _chain_problems(rows: Sequence[AuditRecord]) -> list[str]:
    problems = []
    prev = GENESIS
    for r in rows:
        if r.prev_hash != prev:
            problems.append(
                f"record {r.id}: does not follow the previous record "
                "(a record was removed or reordered)"
            )
        if _record_hash(r.prev_hash, r) != r.hash:
            problems.append(f"record {r.id}: content does not match its hash (edited)")
        prev = r.hash
    return problems


def _head_problems(kept: AuditHead | None, records: int, last: str, *, chain_ok: bool) -> list[str]:
    """The log against its separately kept length and last hash."""
    if kept is None:
        return [
            "the head of the log (table audit_head) is missing: it was deleted behind the "
            "triggers' back, so records removed from the end cannot be ruled out"
        ]
    said = f"its head says {kept.records} records ending in hash {kept.head_hash[:16]}…"
    has = f"the log has {records} ending in {last[:16]}…"
    if kept.records > records:
        where = " from the end" if chain_ok else ""
        return [f"{_count(kept.records - records, 'record')} removed{where}: {has}, {said}"]
    if kept.records < records:
        return [
            f"{_count(records - kept.records, 'record')} added behind crosspost's back: "
            f"{has}, {said}"
        ]
    if kept.head_hash != last:
        return [f"the last record was replaced: {has}, {said}"]
    return []


def _holds_match(r: AuditRecord) -> bool:
    return r.kind != REDACTION and "match" in (r.detail or {})


def _signed_body(r: AuditRecord, body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "at": r.at.astimezone(UTC).isoformat()}


def _check_redaction(r: AuditRecord, key: bytes | None, problems: list[str]) -> dict[str, Any]:
    detail = dict(r.detail or {})
    signature = detail.pop("signature", None)
    if key is None:
        status = "not checked"
    elif auditlog.same(
        signature, auditlog.redaction_signature(key, r.prev_hash, _signed_body(r, detail))
    ):
        status = "valid"
    else:
        status = "invalid"
        problems.append(
            f"redaction record {r.id}: its signature does not match (not written by "
            "'crosspost audit redact' with this guard key)"
        )
    return {
        "id": r.id,
        "at": r.at,
        "records": detail.get("records", []),
        "fields": detail.get("fields", {}),
        "signature": status,
    }


def refuse_unless_editable(post: Post, deliveries: Sequence[Delivery]) -> None:
    """A post can be edited only while none of its targets has started publishing."""
    started = [
        d.target
        for d in deliveries
        if d.state not in (QUEUED, HELD, CANCELLED)
        or d.needs_lookup
        or any(p.get("remote_id") for p in d.parts or ())  # part of a thread is out
    ]
    if started:
        raise Refused(
            f"post {post.id} is {post.status}: publishing to {', '.join(started)} has started, "
            "so it can no longer be edited",
            hint="queue the changed entry as a new post (--again), and cancel what is left of "
            "this one if needed",
        )
    if not any(d.state in (QUEUED, HELD) for d in deliveries):
        raise Refused(
            f"post {post.id} is {post.status}; only queued or held posts can be edited",
            hint="queue the entry again instead",
        )


#: post statuses of ``list``'s default view: what is still to go out or waits for the user
#: (a failed post until it is retried, resolved or cancelled; a partial post too while one of
#: its targets has failed)
UPCOMING = (QUEUED, PUBLISHING, HELD, UNKNOWN, FAILED)
#: post statuses of ``list --history``: nothing more happens to them by itself
FINISHED = (PUBLISHED, CANCELLED, FAILED, PARTIAL)


def _scope_terms(
    persona: str | None, start: datetime | None, end: datetime | None, *, indexed: bool
) -> list[Any]:
    """``list``'s filters other than the status (what is "in scope"). ``indexed=False``
    writes them as expressions no index serves, so the database uses the status index."""
    persona_col: Any = col(Post.persona) if indexed else col(Post.persona).concat("")
    time_col: Any = (
        col(Post.scheduled_at) if indexed else func.coalesce(Post.scheduled_at, Post.scheduled_at)
    )
    terms: list[Any] = []
    if persona:
        terms.append(persona_col == persona)
    if start is not None:
        terms.append(time_col >= start)
    if end is not None:
        terms.append(time_col < end)
    return terms


def _status_terms(states: Sequence[str] | None, upcoming: bool, *, indexed: bool) -> list[Any]:
    """``list``'s status filter as disjoint alternatives (OR them; none: any status).

    ``indexed=False`` writes the status as an expression (``status || ''``) that no index
    serves, so the database walks the time index in order instead of the status index.
    """
    status: Any = col(Post.status) if indexed else col(Post.status).concat("")
    terms: list[Any] = []
    if states:
        terms.append(status.in_(list(states)))
    if upcoming:
        # not a correlated EXISTS: without statistics SQLite would run it per partial post
        # through the (state, due_at) index; failed deliveries are few, read them once
        with_failed_target = sa_select(col(Delivery.post_id)).where(col(Delivery.state) == FAILED)
        upcoming_terms = [
            status.in_(UPCOMING),
            and_(status == PARTIAL, col(Post.id).in_(with_failed_target)),
        ]
        terms = upcoming_terms if not terms else [and_(terms[0], or_(*upcoming_terms))]
    return terms


def _per_status_terms(states: Sequence[str] | None, upcoming: bool) -> list[Any]:
    """``list``'s status filter as one equality per status (each served by the
    ``(status, scheduled_at)`` index in time order); empty when it cannot be written so."""
    status = col(Post.status)
    if states and not upcoming:
        return [status == s for s in dict.fromkeys(states)]
    if upcoming and not states:
        with_failed_target = sa_select(col(Delivery.post_id)).where(col(Delivery.state) == FAILED)
        return [status == s for s in UPCOMING] + [
            and_(status == PARTIAL, col(Post.id).in_(with_failed_target))
        ]
    return []


def _page_ids(
    s: Session, terms: Sequence[Any], newest_first: bool, offset: int, limit: int
) -> list[int]:
    """The ids of one page of posts matching any of ``terms`` (disjoint), in time order.

    Each term reads at most ``offset + limit`` rows in order through the ``(status,
    scheduled_at)`` index, and only those are merged and sorted: the page costs the same
    with 100 posts queued as with 100,000, whatever their states (one query over the OR of
    the statuses would have to sort every match, or walk the time index past every post in
    another state).
    """
    t = _POST_T

    def order(at: Any, post_id: Any) -> tuple[Any, Any]:
        return (at.desc(), post_id.desc()) if newest_first else (at, post_id)

    parts = []
    for term in terms:
        sub = (
            sa_select(t.c.id, t.c.scheduled_at)
            .where(term)
            .order_by(*order(t.c.scheduled_at, t.c.id))
            .limit(offset + limit)
            .subquery()
        )
        parts.append(sa_select(sub.c.id, sub.c.scheduled_at))
    merged = union_all(*parts).subquery()
    page = (
        sa_select(merged.c.id)
        .order_by(*order(merged.c.scheduled_at, merged.c.id))
        .offset(offset)
        .limit(limit)
    )
    return [int(i) for i in s.connection().execute(page).scalars()]


def _sqlite_list_plan(
    count: Callable[..., int],
    persona: str | None,
    start: datetime | None,
    end: datetime | None,
    states: Sequence[str] | None,
    upcoming: bool,
) -> tuple[list[Any], int]:
    """The WHERE terms of ``list``'s page query on SQLite, and the total matching.

    No index serves both the status filter and the time order (or the persona), and
    without statistics SQLite often drives a query through the index that matches more
    rows. So the counts decide, each read from one covering index: the total is counted
    through the smaller side, and when most posts in scope match, the page walks the time
    index in order and stops after one page; when few match, it reads them through the
    status index and sorts only those. A side is kept off its index by writing it as an
    expression (``status || ''``, ``coalesce(t, t)``). The status alternatives are
    counted one by one: their OR would make SQLite collect and deduplicate row ids.
    """
    scope = _scope_terms(persona, start, end, indexed=True)
    scope_free = _scope_terms(persona, start, end, indexed=False)
    by_status = _status_terms(states, upcoming, indexed=True)
    status_free = _status_terms(states, upcoming, indexed=False)
    in_scope = count(*scope)
    if not scope:
        total = sum(count(t) for t in by_status)
    elif not in_scope:
        total = 0
    elif in_scope <= sum(count(t) for t in by_status):
        total = sum(count(*scope, t) for t in status_free)
    else:
        total = sum(count(*scope_free, t) for t in by_status)
    if 2 * total >= in_scope:
        return [*scope, or_(*status_free)], total
    return [*scope_free, or_(*by_status)], total


@dataclass(frozen=True)
class SchemaCheck:
    """The database as ``crosspost doctor`` finds it, without creating or upgrading it."""

    url: str  #: password masked
    #: the recorded schema revision; None when there is no database or no tables yet
    revision: str | None
    head: str  #: the newest revision this version ships
    read_only: str | None  #: why this user cannot write it (None: it can)

    @property
    def state(self) -> str:
        """ "new" (created on first use), "current", "older" or "newer" than this version."""
        if self.revision is None:
            return "new"
        if self.revision == self.head:
            return "current"
        return "older" if self.revision in known_revisions() else "newer"


def check_database(url: str, *, create_folder: bool = True) -> SchemaCheck:
    """Open the database read-only where possible and read its schema revision; a
    StoreError says why it cannot be used. A SQLite file that does not exist yet is not
    created: the first command that queues a post does that."""
    head = known_revisions()[-1]
    parsed = parse_database_url(url)
    path = sqlite_file(parsed)
    if path is not None and not path.exists():
        if path.parent.is_dir() or not create_folder:
            _check_sqlite_file(path, create_folder=False)  # what would stop creating it
        return SchemaCheck(parsed.render_as_string(hide_password=True), None, head, None)
    store = Store(url, migrate=False, create_folder=False)
    try:
        revision = store.current_revision()
    except DBAPIError as e:
        raise opening_problem(e, store.where) from None
    finally:
        store.engine.dispose()
    return SchemaCheck(store.display_url(), revision, head, store.read_only)


_POST_T = Post.__table__  # type: ignore[attr-defined]
_DELIVERY_T = Delivery.__table__  # type: ignore[attr-defined]
_POSTS_BY_IDS = sa_select(_POST_T).where(_POST_T.c.id.in_(bindparam("post_ids", expanding=True)))
_DELIVERIES_OF_POSTS = (
    sa_select(_DELIVERY_T)
    .where(_DELIVERY_T.c.post_id.in_(bindparam("post_ids", expanding=True)))
    .order_by(_DELIVERY_T.c.post_id, _DELIVERY_T.c.role, _DELIVERY_T.c.id)
)


def _open_writer_lock(database: str | None) -> int | None:
    """The file the writers of one SQLite database queue on; None for an in-memory database
    or where it cannot be created (SQLite's busy timeout still serialises writers)."""
    if not database or database == ":memory:" or fcntl is None:
        return None
    try:
        fd = os.open(database + "-writer.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    return fd


def _open_job_lock(database: str | None, name: str) -> int | None:
    """The file job ``name`` of one SQLite database is locked on (see ``Store.only_one``)."""
    if not database or database == ":memory:" or fcntl is None:
        return None
    tag = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    try:
        return os.open(f"{database}-job-{tag}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None


def _try_flock(fd: int) -> bool:
    assert fcntl is not None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def parse_database_url(url: str) -> URL:
    """``url`` parsed, or a StoreError naming it (password masked) and the forms that work."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise StoreError(
            f"database_url {mask_url(url)!r} is not a database URL", hint=URL_FORMS
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise StoreError(
            f"database_url {mask_url(url)!r}: crosspost cannot use {backend!r} databases; "
            "it works with SQLite and PostgreSQL",
            hint=URL_FORMS,
        )
    if "@" in (parsed.host or ""):
        raise StoreError(
            f"database_url {mask_url(url)!r}: an '@' in the user name or password must be "
            "written as %40",
            hint=URL_FORMS,
        )
    if backend == "sqlite" and (parsed.host or parsed.port or parsed.username):
        raise StoreError(
            f"database_url {mask_url(url)!r}: a SQLite URL has no host part", hint=URL_FORMS
        )
    return parsed


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL and in-memory databases."""
    db = url.database
    if url.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db).absolute()


def _check_sqlite_file(path: Path, create_folder: bool) -> str | None:
    """Why this user cannot write the database file (None: it can); a StoreError when it
    cannot be used at all. ``os.access`` sees read-only mounts and immutable files too."""
    folder = path.parent
    if not folder.is_dir():
        if folder.exists() or not create_folder:
            raise StoreError(
                f"the folder {folder} of the database file {path.name} "
                + ("is not a folder" if folder.exists() else "does not exist"),
                hint=f"create it (mkdir -p {folder}) or fix database_url in config.toml",
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(
                f"cannot create the folder {folder} for the database: {e.strerror}",
                hint="set database_url or data_dir in config.toml to a folder this user may write",
            ) from None
    if path.is_dir():
        raise StoreError(
            f"the database file {path} is a folder", hint="fix database_url in config.toml"
        )
    exists = path.exists()
    if exists and not os.access(path, os.R_OK):
        raise StoreError(
            f"cannot read the database file {path} (permission denied)",
            hint="make it readable for this user, or run crosspost as the user who owns it",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        if not exists:
            raise StoreError(
                f"cannot create the database file {path}: its folder is read-only here",
                hint=f"make {folder} writable for this user, or fix database_url in config.toml",
            )
        return "its folder is read-only"
    if exists and not os.access(path, os.W_OK):
        return "the file is read-only"
    return None


def _make_engine(url: URL, path: Path | None, read_only: str | None) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if path is not None and read_only is not None:
        url = _read_only_url(path)
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        # the daemon's worker threads each hold a connection briefly; keep them open
        pool_size=32,
        max_overflow=32,
    )
    _sqlite_setup(engine, read_only=read_only is not None)
    return engine


def _read_only_url(path: Path) -> URL:
    """Open ``path`` without ever writing to it or beside it.

    ``mode=ro`` reads the WAL of a database another user's daemon has open. With no WAL file,
    nobody has the database open, and ``immutable=1`` reads it without creating the WAL and
    shared-memory files that ``mode=ro`` needs, which a read-only folder could not hold.
    """
    query = {"mode": "ro", "uri": "true"}
    if not Path(f"{path}-wal").exists():
        query["immutable"] = "1"
    return URL.create("sqlite", database="file:" + quote(str(path)), query=query)


def _sqlite_setup(engine: Engine, *, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy's "begin" event below issue BEGIN itself
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        if read_only:  # journal_mode would write the file's header
            cur.execute("PRAGMA query_only = ON")
        else:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
