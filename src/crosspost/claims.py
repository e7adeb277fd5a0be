"""Claiming deliveries and recording their results: the publisher's SQL.

A claim moves a delivery to ``publishing``, bumps its fencing token and gives it a lease. Every
result is written with ``WHERE fence = <token of the claim>``, so a worker whose lease expired
(and whose delivery another worker took over) cannot overwrite the newer claim's outcome.

SQLite serialises claimers with ``BEGIN IMMEDIATE``; PostgreSQL uses
``SELECT … FOR UPDATE SKIP LOCKED`` so several daemons share one queue without waiting on each
other. A ``publishing`` delivery whose lease ran out belonged to a worker that crashed or hung:
it is claimed again in *reconcile* mode, which asks the platform before posting anything.

Accounts' caps (:mod:`crosspost.caps`) are checked in the same transaction as the claim: a
delivery that would go over one is not claimed but moved to the next allowed time. On
PostgreSQL the check of an account takes a transaction-scoped advisory lock on it first, so two
daemons never both count the same posts and both decide there is room.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select

from .caps import Cap, next_after_past, waiting_note
from .durations import format_duration
from .errors import NotFound, Refused, UsageError
from .models import (
    FAILED,
    HELD,
    PUBLISHED,
    PUBLISHING,
    QUEUED,
    UNKNOWN,
    Delivery,
    Post,
    UTCDateTime,
    utcnow,
)
from .series import FINISHED, continue_series
from .store import Store


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    post_id: int
    fence: int
    target: str
    platform: str
    role: str
    attempt: int
    #: ask the platform whether an earlier attempt went through before posting
    reconcile: bool
    worker: str


def hold_overdue(store: Store, now: datetime, max_lateness: timedelta) -> list[int]:
    """Hold posts that never started and are later than ``max_lateness`` (after downtime).

    Lateness counts from when the post was last due: a delivery the daemon moved on purpose
    (an account's cap, a persona's separation) is late only once that moved time is long past.
    """
    cutoff = now - max_lateness
    started = aliased(Delivery)
    moved = aliased(Delivery)
    with store.write() as s:
        q = select(Post).where(
            Post.status == QUEUED,
            Post.scheduled_at < cutoff,
            ~exists().where(
                and_(
                    col(started.post_id) == Post.id,
                    or_(col(started.state) != QUEUED, col(started.attempts) > 0),
                )
            ),
            ~exists().where(
                and_(
                    col(moved.post_id) == Post.id,
                    col(moved.state) == QUEUED,
                    col(moved.due_at) >= cutoff,
                )
            ),
        )
        if not store.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        posts = list(s.exec(q))
        for p in posts:
            late = now - p.scheduled_at
            hours = late.total_seconds() / 3600
            p.status = HELD
            p.note = (
                f"held: {hours:.1f} h overdue when the daemon got to it (max_lateness is "
                f"{format_duration(max_lateness)}); run 'crosspost release {p.id}' to publish "
                f"it now, or 'crosspost reschedule {p.id} --at WHEN'"
            )
            p.updated_at = now
            s.add(p)
            s.execute(
                update(Delivery)
                .where(col(Delivery.post_id) == p.id, col(Delivery.state) == QUEUED)
                .values(state=HELD, updated_at=now)
            )
        return [p.id for p in posts if p.id is not None]


# The statements the daemon runs for every claim and every delivery, built once: SQLAlchemy
# Core on the tables, with bound parameters, so each execution only looks up the compiled form.
_D = Delivery.__table__  # type: ignore[attr-defined]
_P = Post.__table__  # type: ignore[attr-defined]
_NOW = bindparam("now", type_=UTCDateTime())
_BLOG = _D.alias("blog")
#: a share target may go once its post's blog target (if any) has published
_BLOG_DONE = or_(
    _D.c.role == "blog",
    ~exists().where(
        _BLOG.c.post_id == _D.c.post_id, _BLOG.c.role == "blog", _BLOG.c.state != PUBLISHED
    ),
)
_COLUMNS = (
    _D.c.id,
    _D.c.post_id,
    _D.c.fence,
    _D.c.target,
    _D.c.platform,
    _D.c.role,
    _D.c.attempts,
    _D.c.state,
    _D.c.needs_lookup,
)
_NOT_FULL = and_(
    _D.c.platform.not_in(bindparam("full", expanding=True)),
    # accounts whose caps another daemon is checking right now (PostgreSQL)
    _D.c.target.not_in(bindparam("busy", expanding=True)),
)
#: claimable deliveries in due order, from platforms that still have room. Two queries rather
#: than one with OR, so each walks the (state, due_at) index and stops at the LIMIT instead of
#: sorting every due row (10,000 after downtime) on every claim.
#: a lease that ran out while its own daemon is still sending (a late heartbeat on a loaded
#: machine or after a suspend) is not that daemon's to take again: asking the platform before
#: the first request has arrived finds nothing, and the delivery would go out twice
_NOT_MINE = _D.c.id.not_in(bindparam("mine", expanding=True))
_EXPIRED = (
    sa_select(*_COLUMNS)
    .where(_D.c.state == PUBLISHING, _D.c.lease_until < _NOW, _NOT_MINE, _BLOG_DONE, _NOT_FULL)
    .order_by(_D.c.due_at, _D.c.id)
    .limit(bindparam("limit"))
)
_QUEUED = (
    sa_select(*_COLUMNS)
    .where(_D.c.state == QUEUED, _D.c.due_at <= _NOW, _BLOG_DONE, _NOT_FULL)
    .order_by(_D.c.due_at, _D.c.id)
    .limit(bindparam("limit"))
)
_EXPIRED_LOCKED = _EXPIRED.with_for_update(skip_locked=True, of=_D)
_QUEUED_LOCKED = _QUEUED.with_for_update(skip_locked=True, of=_D)
_TAKE = update(_D).where(_D.c.id == bindparam("d_id"))
_RENEW = (
    update(_D)
    .where(
        _D.c.id == bindparam("d_id"),
        _D.c.fence == bindparam("d_fence"),
        _D.c.state == PUBLISHING,
    )
    .values(lease_until=bindparam("lease", type_=UTCDateTime()))
)
#: a result counts only for the claim that still holds the delivery (fencing)
_RESULT = update(_D).where(
    _D.c.id == bindparam("d_id"),
    _D.c.fence == bindparam("d_fence"),
    _D.c.state == PUBLISHING,
)
_LOCK_POST = sa_select(_P.c.id).where(_P.c.id == bindparam("p_id")).with_for_update()
_SHARES_DUE_NOW = (
    update(_D)
    .where(
        _D.c.post_id == bindparam("p_id"),
        _D.c.state == QUEUED,
        _D.c.due_at < _NOW,
    )
    .values(due_at=_NOW)
)
#: what a share target says when its blog entry failed (``resolve`` queues those again)
NO_BLOG_URL = "not sent: the blog entry failed, so there is no URL to share"
_SHARES_FAIL = (
    update(_D)
    .where(_D.c.post_id == bindparam("p_id"), _D.c.state == QUEUED)
    .values(
        state=FAILED,
        last_error=NO_BLOG_URL,
        hint=bindparam("s_hint"),
        updated_at=_NOW,
    )
)
#: an account's posts that count against its caps: published lately, going out now (since
#: their claim), or lately unclear (``unknown``, or queued again to be looked up after an
#: attempt whose answer never came: the platform may well have counted it)
_CAP_TIMES = sa_select(_D.c.id, _D.c.state, _D.c.published_at, _D.c.updated_at).where(
    _D.c.target == bindparam("target"),
    or_(
        and_(
            _D.c.state == PUBLISHED,
            _D.c.published_at > bindparam("since", type_=UTCDateTime()),
        ),
        _D.c.state == PUBLISHING,
        and_(
            or_(_D.c.state == UNKNOWN, and_(_D.c.state == QUEUED, _D.c.needs_lookup)),
            _D.c.updated_at > bindparam("since", type_=UTCDateTime()),
        ),
    ),
)
#: one account's caps are checked by one claim at a time; the first key says "caps"
_CAP_LOCK = text("SELECT pg_try_advisory_xact_lock(1667330163, hashtext(:target))")
_STATES = sa_select(_D.c.state).where(_D.c.post_id == bindparam("p_id"))
_ROLLUP = (
    update(_P)
    .where(_P.c.id == bindparam("p_id"))
    .values(status=bindparam("p_status"), updated_at=_NOW)
    # whether the post is an occurrence of a series, in the same round trip
    .returning(_P.c.series_id)
)


@dataclass(frozen=True)
class CapWait:
    """A delivery not claimed because its account is at a cap: it waits until ``until``."""

    delivery_id: int
    post_id: int
    target: str
    until: datetime
    note: str


class _Ledger:
    """The capped accounts' recent posts as this claim transaction sees them, and the posts
    it claims on top."""

    def __init__(self, conn: Any, caps: Mapping[str, Cap], now: datetime, postgres: bool):
        self.conn = conn
        self.caps = caps
        self.now = now
        self.postgres = postgres
        #: per account, the time each counted delivery (by id) went out or was claimed
        self.times: dict[str, dict[int, datetime]] = {}
        #: accounts another claim (another daemon) is checking: left for now
        self.busy: set[str] = set()

    def until(self, target: str, delivery_id: int) -> datetime | None:
        """When delivery ``delivery_id`` to ``target`` may go (``now``: it may); None when
        another claim is checking the account (its lock is taken). The delivery's own earlier
        attempt does not count against it: looking it up, or sending it after all, is still
        one post."""
        if target in self.busy:
            return None
        times = self.times.get(target)
        if times is None:
            # held to the end of this transaction: a claim at the same moment leaves the
            # account alone, a later one counts what this one claimed (READ COMMITTED reads
            # anew per statement, after the lock is taken)
            if self.postgres and not self.conn.execute(_CAP_LOCK, {"target": target}).scalar():
                self.busy.add(target)
                return None
            cap = self.caps[target]
            rows = self.conn.execute(
                _CAP_TIMES, {"target": target, "since": self.now - cap.reach}
            ).all()
            times = {r.id: r.published_at if r.state == PUBLISHED else r.updated_at for r in rows}
            self.times[target] = times
        others = [t for i, t in times.items() if i != delivery_id]
        return next_after_past(self.caps[target], others, self.now)

    def took(self, target: str, delivery_id: int) -> None:
        self.times[target][delivery_id] = self.now


def claim(
    store: Store,
    worker: str,
    now: datetime,
    lease: timedelta,
    capacity: Mapping[str, int],
    default_capacity: int,
    caps: Mapping[str, Cap] | None = None,
    waits: list[CapWait] | None = None,
    in_flight: Collection[int] = (),
) -> list[Claim]:
    """Claim due deliveries, at most ``capacity[platform]`` per platform.

    Deliveries whose lease expired (their worker crashed or hung) come first, then queued
    ones in due order. Each query asks only for platforms that still have room; when a page
    brings more of one platform than fits, that platform is left out and the page asked again.

    A queued delivery to an account at one of its ``caps`` is moved to the next allowed time
    instead (added to ``waits``). Expired leases are claimed whatever the caps: their first
    claim was counted, and they may already be out. Deliveries the caller is still sending
    (``in_flight``, by id) are never claimed again, whatever their lease says.
    """
    out: list[Claim] = []
    room: dict[str, int] = {}
    full = {p for p, n in capacity.items() if n <= 0}
    limit = max(1, sum(n for n in capacity.values() if n > 0) + max(default_capacity, 0))
    until = now + lease
    sources = (_EXPIRED, _QUEUED) if store.is_sqlite else (_EXPIRED_LOCKED, _QUEUED_LOCKED)
    caps = caps or {}
    with store.write_conn() as conn:
        ledger = _Ledger(conn, caps, now, postgres=not store.is_sqlite)
        for query in sources:
            capped = caps if query in (_QUEUED, _QUEUED_LOCKED) else {}
            for _ in range(64):  # each round takes or moves a delivery, or fills a platform
                params = {
                    "now": now,
                    "full": sorted(full),
                    "busy": sorted(ledger.busy),
                    "mine": sorted(in_flight),
                    "limit": limit,
                }
                rows = conn.execute(query, params).all()
                taken = []
                moved: list[CapWait] = []
                for d in rows:
                    left = room.setdefault(d.platform, capacity.get(d.platform, default_capacity))
                    if left <= 0:
                        full.add(d.platform)
                        continue
                    if d.target in capped:
                        allowed = ledger.until(d.target, d.id)
                        if allowed is None:
                            continue
                        if allowed > now:
                            note = waiting_note(capped[d.target], allowed)
                            moved.append(CapWait(d.id, d.post_id, d.target, allowed, note))
                            continue
                        ledger.took(d.target, d.id)
                    room[d.platform] = left - 1
                    taken.append(d)
                full |= {p for p, n in room.items() if n <= 0}
                if taken:
                    out.extend(_take(conn, taken, worker, now, until))
                if moved:
                    _move(conn, moved, now)
                    if waits is not None:
                        waits.extend(moved)
                if len(rows) < limit:
                    break
    return out


def _move(conn: Any, moved: list[CapWait], now: datetime) -> None:
    """Queue deliveries again for their next allowed time, with the reason (``list``/``show``
    show it); the attempt is not counted, since nothing was sent."""
    conn.execute(
        _TAKE,
        [
            {"d_id": w.delivery_id, "due_at": w.until, "last_error": w.note, "updated_at": now}
            for w in moved
        ],
    )


def _take(conn: Any, rows: list[Any], worker: str, now: datetime, until: datetime) -> list[Claim]:
    """Mark rows as claimed. They are ours until commit (BEGIN IMMEDIATE on SQLite, FOR UPDATE
    on PostgreSQL), so the fence computed here is the one written."""
    conn.execute(
        _TAKE,
        [
            {
                "d_id": d.id,
                "state": PUBLISHING,
                "fence": d.fence + 1,
                "attempts": d.attempts + 1,
                "lease_until": until,
                "claimed_by": worker,
                "updated_at": now,
            }
            for d in rows
        ],
    )
    return [
        Claim(
            delivery_id=d.id,
            post_id=d.post_id,
            fence=d.fence + 1,
            target=d.target,
            platform=d.platform,
            role=d.role,
            attempt=d.attempts + 1,
            reconcile=d.state == PUBLISHING or bool(d.needs_lookup),
            worker=worker,
        )
        for d in rows
    ]


def renew(store: Store, claims: list[Claim], lease: timedelta) -> None:
    """Extend the leases of deliveries still in flight (a heartbeat)."""
    if not claims:
        return
    until = utcnow() + lease
    with store.write_conn() as conn:
        conn.execute(
            _RENEW, [{"d_id": c.delivery_id, "d_fence": c.fence, "lease": until} for c in claims]
        )


def next_wakeup(store: Store) -> datetime | None:
    """The earliest time something may become claimable."""
    with store.read() as s:
        due = s.exec(select(func.min(Delivery.due_at)).where(col(Delivery.state) == QUEUED)).one()
        lease = s.exec(
            select(func.min(Delivery.lease_until)).where(col(Delivery.state) == PUBLISHING)
        ).one()
    times = [t for t in (due, lease) if t is not None]
    return min(times) if times else None


def record(
    store: Store,
    c: Claim,
    *,
    state: str,
    now: datetime,
    remote_id: str | None = None,
    remote_url: str | None = None,
    text: str | None = None,
    error: str | None = None,
    hint: str | None = None,
    due_at: datetime | None = None,
    needs_lookup: bool = False,
) -> bool:
    """Write one outcome; False when the claim was superseded (lease lost).

    Plain prebuilt Core statements rather than loaded objects: this runs once per delivery,
    inside the single-writer section, so it has to be short.
    """
    from .store import rollup

    values: dict[str, object] = {
        "state": state,
        "updated_at": now,
        "lease_until": None,
        "needs_lookup": needs_lookup,
        "last_error": error,
        "hint": hint,
    }
    if text is not None:
        values["text"] = text
    if state == PUBLISHED:
        values |= {"remote_id": remote_id, "remote_url": remote_url, "published_at": now}
    if due_at is not None:
        values["due_at"] = due_at
    post = {"p_id": c.post_id}
    with store.write_conn() as conn:
        if not store.is_sqlite:  # one writer per post at a time, for a consistent rollup
            conn.execute(_LOCK_POST, post)
        done = conn.execute(_RESULT, {"d_id": c.delivery_id, "d_fence": c.fence, **values})
        if done.rowcount != 1:
            return False
        if c.role == "blog" and state == PUBLISHED:
            # shares were waiting for the URL: they are due now, not at an old due time
            conn.execute(_SHARES_DUE_NOW, {**post, "now": now})
        elif c.role == "blog" and state == FAILED:
            conn.execute(
                _SHARES_FAIL,
                {**post, "now": now, "s_hint": f"fix the blog, then 'crosspost retry {c.post_id}'"},
            )
        states = conn.execute(_STATES, post).scalars().all()
        status = rollup(list(states))
        series_id = conn.execute(_ROLLUP, {**post, "p_status": status, "now": now}).scalar()
        if status in FINISHED and series_id is not None:
            # a recurring post's next occurrence, in this transaction: never lost, never two
            continue_series(conn, c.post_id, now)
        return True


def record_parts(store: Store, c: Claim, parts: list[dict[str, str | None]]) -> bool:
    """Write the parts of a thread as they stand (their texts, and the remote ids of those
    the platform created), while the claim still holds the delivery; False when it does not
    (the caller must then stop sending: another attempt owns the thread)."""
    with store.write_conn() as conn:
        done = conn.execute(
            _RESULT, {"d_id": c.delivery_id, "d_fence": c.fence, "parts": list(parts)}
        )
        return bool(done.rowcount == 1)


def unclaim(
    store: Store,
    c: Claim,
    now: datetime,
    *,
    due_at: datetime | None = None,
    note: str | None = None,
) -> bool:
    """Give back a claim whose request never went out (the daemon is stopping, or the post
    waits for a separation window): queued again, the attempt not counted, and still asking
    the platform first if this claim had to. ``due_at``/``note`` say when and why."""
    values: dict[str, object] = {
        "d_id": c.delivery_id,
        "d_fence": c.fence,
        "state": QUEUED,
        "lease_until": None,
        "attempts": c.attempt - 1,
        "needs_lookup": c.reconcile,
        "updated_at": now,
    }
    if due_at is not None:
        values["due_at"] = due_at
    if note is not None:
        values["last_error"] = note
    with store.write_conn() as conn:
        return conn.execute(_RESULT, values).rowcount == 1


#: other personas' deliveries that went out since ``since`` or are going out now
_OTHERS_RECENT = (
    sa_select(_P.c.persona, _P.c.id, _P.c.scheduled_at, _D.c.state, _D.c.published_at)
    .select_from(_D.join(_P, _P.c.id == _D.c.post_id))
    .where(
        _P.c.persona != bindparam("persona"),
        or_(
            and_(
                _D.c.state == PUBLISHED,
                _D.c.published_at >= bindparam("since", type_=UTCDateTime()),
            ),
            _D.c.state == PUBLISHING,
        ),
    )
)


@dataclass(frozen=True)
class OtherPublication:
    persona: str
    post_id: int
    scheduled_at: datetime
    #: when it went out; None while it is going out (claimed)
    published_at: datetime | None


def others_recent(store: Store, persona: str, since: datetime) -> list[OtherPublication]:
    """What other personas published since ``since`` or are publishing right now."""
    with store.engine.connect() as conn:
        rows = conn.execute(_OTHERS_RECENT, {"persona": persona, "since": since}).all()
        conn.rollback()
    return [
        OtherPublication(
            r.persona, r.id, r.scheduled_at, r.published_at if r.state == PUBLISHED else None
        )
        for r in rows
    ]


def retry(store: Store, post_id: int, target: str | None, now: datetime) -> list[str]:
    """Queue failed or unknown targets again (the user has checked the platform)."""
    from .store import rollup

    with store.write() as s:
        post, deliveries = store.locked_post(s, post_id)
        if target is not None and target not in {d.target for d in deliveries}:
            raise NotFound(
                f"post {post_id} has no target '{target}'",
                hint=f"its targets: {', '.join(d.target for d in deliveries)}",
            )
        chosen = [
            d
            for d in deliveries
            if d.state in (FAILED, UNKNOWN) and (target is None or d.target == target)
        ]
        if not chosen:
            raise Refused(
                f"post {post_id} has no failed or unknown target"
                + (f" named '{target}'" if target else "")
                + " to retry",
                hint="see 'crosspost show " + str(post_id) + "'",
            )
        for d in chosen:
            # after 'unknown' the user has checked the platform: post again; after a failure
            # that may have reached the platform, still ask it first
            d.needs_lookup = d.needs_lookup and d.state == FAILED
            d.state = QUEUED
            d.due_at = now
            d.attempts = 0
            d.last_error = None
            d.hint = None
            d.updated_at = now
            s.add(d)
        post.status = rollup([d.state for d in deliveries])
        post.note = None
        s.add(post)
        store.notify(s)
        return [d.target for d in chosen]


def resolve(store: Store, post_id: int, target: str, url: str | None, now: datetime) -> list[str]:
    """Mark an ``unknown`` (or failed) target as published: the user found the post on the
    platform. A blog entry needs its URL, which its share targets then link to; shares that
    were given up because the blog failed are queued again. Returns the shares released."""
    from .store import rollup

    with store.write() as s:
        post, deliveries = store.locked_post(s, post_id)
        d = next((d for d in deliveries if d.target == target), None)
        if d is None:
            raise NotFound(
                f"post {post_id} has no target '{target}'",
                hint=f"its targets: {', '.join(x.target for x in deliveries)}",
            )
        if d.state not in (UNKNOWN, FAILED):
            raise Refused(
                f"post {post_id} to {target} is {d.state}; only unknown or failed targets can "
                "be marked as published",
                hint=f"see 'crosspost show {post_id}'",
            )
        if url is not None and not _looks_like_url(url):
            raise UsageError(
                f"--url {url!r} is not an address",
                hint="give the post's full address, e.g. https://example.org/posts/slug/",
            )
        if d.role == "blog" and not url:
            raise Refused(
                f"the blog entry of post {post_id} needs its address: the share targets link to it",
                hint=f"crosspost resolve {post_id} --target {target} --url https://…",
            )
        d.state = PUBLISHED
        d.remote_url = url
        d.published_at = now
        d.needs_lookup = False
        d.last_error = None
        d.hint = "marked as published by hand (crosspost resolve)"
        d.updated_at = now
        s.add(d)
        released = []
        if d.role == "blog":
            for share in deliveries:
                waiting = share.state == QUEUED
                gave_up = share.state == FAILED and share.last_error == NO_BLOG_URL
                if share.role == "share" and (waiting or gave_up):
                    share.state = QUEUED
                    share.due_at = min(share.due_at, now) if waiting else now
                    share.last_error = share.hint = None
                    share.updated_at = now
                    s.add(share)
                    released.append(share.target)
        post.status = rollup([x.state for x in deliveries])
        post.note = None
        s.add(post)
        s.flush()
        continue_series(s.connection(), post_id, now)
        store.notify(s)
        return released


def _looks_like_url(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    return (parts.scheme in ("http", "https") and bool(parts.netloc)) or (
        parts.scheme == "file" and bool(parts.path)
    )
