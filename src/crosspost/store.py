"""The database: engine set-up, schema migrations, and every query the CLI needs.

SQLite is the embedded default. It runs in WAL mode with a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE`` so a writer waits for the lock up front instead of
failing half-way with "database is locked" when the daemon writes at the same moment.
PostgreSQL (psycopg 3) uses the same code; queue changes there send ``NOTIFY crosspost`` so a
running daemon wakes up.

Migrations are Alembic revisions in ``crosspost/migrations``. Opening a store compares the
recorded revision with the newest one this version ships, without importing Alembic when they
match (the CLI starts many times a day); an older schema is upgraded, a newer one is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy timeout alone serialises the writers there
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import and_, bindparam, event, func, or_, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, col, create_engine, select

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
    AuditRecord,
    Delivery,
    Post,
    utcnow,
)

MIGRATIONS = Path(__file__).with_name("migrations")
NOTIFY_CHANNEL = "crosspost"
GENESIS = "0" * 64


def known_revisions() -> list[str]:
    """Revisions shipped with this version, oldest first (file names start with the id)."""
    return sorted(
        p.name.split("_", 1)[0]
        for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py")
    )


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
    seed = f"crosspost:{post.id}:{target}:{post.created_at.isoformat()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Target:
    name: str
    platform: str
    role: str  # "blog" or "share"


@dataclass(frozen=True)
class AuditEntry:
    kind: str
    persona: str
    rule: str | None = None
    reason: str | None = None
    detail: dict[str, Any] | None = None


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


class Store:
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = normalise_url(url)
        self.engine = _make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._writer = threading.RLock()
        self._writer_depth = 0
        self._writer_file: int | None = None
        if self.is_sqlite:
            self._writer_file = _open_writer_lock(self.engine.url.database)
            if self._writer_file is not None:
                weakref.finalize(self, os.close, self._writer_file)
        if migrate:
            self.ensure_schema()

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

    def notify(self, s: Session) -> None:
        """Wake daemons on PostgreSQL; on SQLite they notice the commit via data_version."""
        if not self.is_sqlite:
            s.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))

    # -- schema -----------------------------------------------------------------------------

    def current_revision(self) -> str | None:
        try:
            with self.engine.connect() as c:
                return c.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError):
            return None

    def ensure_schema(self) -> None:
        known = known_revisions()
        try:
            current = self.current_revision()
        except OperationalError as e:
            raise StoreError(
                f"cannot open the database {self.display_url()}: {e.orig}",
                hint="check database_url in config.toml",
            ) from None
        if current == known[-1]:
            return
        if current is not None and current not in known:
            raise StoreError(
                f"the database {self.display_url()} was written by a newer crosspost "
                f"(schema revision {current}; this version knows up to {known[-1]})",
                hint="upgrade crosspost (pip install -U crosspost), "
                "or point database_url at another database",
            )
        self._upgrade()

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
        return self.engine.url.render_as_string(hide_password=True)

    # -- queue ------------------------------------------------------------------------------

    def enqueue(
        self, post: Post, targets: Sequence[Target], audit: Sequence[AuditEntry] = ()
    ) -> Post:
        with self.write() as s:
            post.status = QUEUED
            s.add(post)
            s.flush()
            for t in targets:
                s.add(
                    Delivery(
                        post_id=post.id,  # type: ignore[arg-type]
                        target=t.name,
                        platform=t.platform,
                        role=t.role,
                        due_at=post.scheduled_at,
                        idempotency_key=idempotency_key(post, t.name),
                    )
                )
            for a in audit:
                self._append_audit(s, a, post.id)
            self.notify(s)
        return post

    def get(self, post_id: int) -> tuple[Post, list[Delivery]]:
        with self.read() as s:
            post = s.get(Post, post_id)
            if post is None:
                raise NotFound(f"no post with id {post_id}", hint="see 'crosspost list'")
            deliveries = list(
                s.exec(select(Delivery).where(Delivery.post_id == post_id).order_by(
                    col(Delivery.role), col(Delivery.id)
                ))
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
            (col(Post.scheduled_at).desc(), col(Post.id).desc()) if newest_first
            else (col(Post.scheduled_at), col(Post.id))
        )
        with self.read() as s:

            def count(*terms: Any) -> int:
                return int(s.exec(select(func.count()).select_from(Post).where(*terms)).one())

            if not alternatives:
                where, total = scope, count(*scope)
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
            ids = [p.id for p in posts]
            by_post: dict[int, list[Delivery]] = {i: [] for i in ids if i is not None}
            if ids:
                for d in s.exec(
                    select(Delivery).where(col(Delivery.post_id).in_(ids)).order_by(
                        col(Delivery.post_id), col(Delivery.role), col(Delivery.id)
                    )
                ):
                    by_post[d.post_id].append(d)
            return [(p, by_post.get(p.id or 0, [])) for p in posts], total

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

    def recent_posts(self, since: datetime) -> list[Post]:
        """Posts of every persona scheduled since ``since`` (for correlation checks)."""
        with self.read() as s:
            return list(
                s.exec(
                    select(Post).where(
                        Post.scheduled_at >= since, Post.status != CANCELLED
                    )
                )
            )

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

    def cancel(self, post_id: int) -> tuple[Post, list[str]]:
        """Cancel what has not gone out; returns the post and the targets cancelled."""
        with self.write() as s:
            post, deliveries = self.locked_post(s, post_id)
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
            return post, [d.target for d in open_]

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
        with self.write() as s:
            for a in entries:
                self._append_audit(s, a, post_id)

    def _append_audit(self, s: Session, a: AuditEntry, post_id: int | None) -> None:
        if not self.is_sqlite:
            s.execute(text("SELECT pg_advisory_xact_lock(7238470002)"))
        last = s.exec(
            select(AuditRecord.hash).order_by(col(AuditRecord.id).desc()).limit(1)
        ).first()
        prev = last or GENESIS
        rec = AuditRecord(
            kind=a.kind,
            persona=a.persona,
            post_id=post_id,
            rule=a.rule,
            reason=a.reason,
            detail=a.detail or {},
            prev_hash=prev,
            hash="",
        )
        rec.hash = _record_hash(prev, rec)
        s.add(rec)
        s.flush()

    def audit_records(self, limit: int = 50, offset: int = 0) -> tuple[list[AuditRecord], int]:
        with self.read() as s:
            total = s.exec(select(func.count()).select_from(AuditRecord)).one()
            rows = s.exec(
                select(AuditRecord).order_by(col(AuditRecord.id).desc()).offset(offset).limit(limit)
            )
            return list(rows), int(total)

    def verify_audit(self) -> list[str]:
        """Problems in the hash chain; empty when every record is intact and in order."""
        problems = []
        prev = GENESIS
        with self.read() as s:
            for r in s.exec(select(AuditRecord).order_by(col(AuditRecord.id))):
                if r.prev_hash != prev:
                    problems.append(
                        f"record {r.id}: does not follow the previous record "
                        "(a record was removed or reordered)"
                    )
                if _record_hash(r.prev_hash, r) != r.hash:
                    problems.append(f"record {r.id}: content does not match its hash (edited)")
                prev = r.hash
        return problems


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
        with_failed_target = sa_select(col(Delivery.post_id)).where(
            col(Delivery.state) == FAILED
        )
        upcoming_terms = [
            status.in_(UPCOMING),
            and_(status == PARTIAL, col(Post.id).in_(with_failed_target)),
        ]
        terms = upcoming_terms if not terms else [and_(terms[0], or_(*upcoming_terms))]
    return terms


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


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1] if "///" in url else ""
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(
                    f"cannot create the folder for the database {path}: {e.strerror}",
                    hint="set database_url or data_dir in config.toml",
                ) from None
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            # the daemon's worker threads each hold a connection briefly; keep them open
            pool_size=32,
            max_overflow=32,
        )
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy's "begin" event below issue BEGIN itself
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
