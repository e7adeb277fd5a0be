"""Claiming deliveries and recording their results: the publisher's SQL.

A claim moves a delivery to ``publishing``, bumps its fencing token and gives it a lease. Every
result is written with ``WHERE fence = <token of the claim>``, so a worker whose lease expired
(and whose delivery another worker took over) cannot overwrite the newer claim's outcome.

SQLite serialises claimers with ``BEGIN IMMEDIATE``; PostgreSQL uses
``SELECT … FOR UPDATE SKIP LOCKED`` so several daemons share one queue without waiting on each
other. A ``publishing`` delivery whose lease ran out belonged to a worker that crashed or hung:
it is claimed again in *reconcile* mode, which asks the platform before posting anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select

from .errors import NotFound, Refused
from .models import (
    FAILED,
    HELD,
    PUBLISHED,
    PUBLISHING,
    QUEUED,
    UNKNOWN,
    Delivery,
    Post,
    utcnow,
)
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


def _blog_done(d: type[Delivery]) -> object:
    """A share target may go once its post's blog target (if any) has published."""
    blog = aliased(Delivery)
    return or_(
        col(d.role) == "blog",
        ~exists().where(
            and_(blog.post_id == d.post_id, blog.role == "blog", blog.state != PUBLISHED)
        ),
    )


def hold_overdue(store: Store, now: datetime, max_lateness: timedelta) -> list[int]:
    """Hold posts that never started and are later than ``max_lateness`` (after downtime)."""
    cutoff = now - max_lateness
    started = aliased(Delivery)
    with store.write() as s:
        q = select(Post).where(
            Post.status == QUEUED,
            Post.scheduled_at < cutoff,
            ~exists().where(
                and_(
                    started.post_id == Post.id,
                    or_(started.state != QUEUED, started.attempts > 0),
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
                f"{max_lateness}); run 'crosspost release {p.id}' to publish it now, or "
                f"'crosspost reschedule {p.id} --at WHEN'"
            )
            p.updated_at = now
            s.add(p)
            s.execute(
                update(Delivery)
                .where(col(Delivery.post_id) == p.id, col(Delivery.state) == QUEUED)
                .values(state=HELD, updated_at=now)
            )
        return [p.id for p in posts if p.id is not None]


def claim(
    store: Store,
    worker: str,
    now: datetime,
    lease: timedelta,
    capacity: Mapping[str, int],
    default_capacity: int,
) -> list[Claim]:
    """Claim due deliveries, at most ``capacity[platform]`` per platform."""
    out: list[Claim] = []
    with store.write() as s:
        due = or_(
            and_(col(Delivery.state) == QUEUED, col(Delivery.due_at) <= now),
            and_(col(Delivery.state) == PUBLISHING, col(Delivery.lease_until) < now),
        )
        platforms = s.exec(
            select(Delivery.platform).where(due, _blog_done(Delivery)).distinct()
        ).all()
        for platform in platforms:
            room = capacity.get(platform, default_capacity)
            if room <= 0:
                continue
            q = (
                select(Delivery)
                .where(due, _blog_done(Delivery), col(Delivery.platform) == platform)
                .order_by(col(Delivery.due_at), col(Delivery.id))
                .limit(room)
            )
            if not store.is_sqlite:
                q = q.with_for_update(skip_locked=True, of=Delivery)  # type: ignore[arg-type]
            for d in s.exec(q):
                reconcile = d.state == PUBLISHING or d.needs_lookup
                d.state = PUBLISHING
                d.fence += 1
                d.attempts += 1
                d.lease_until = now + lease
                d.claimed_by = worker
                d.updated_at = now
                s.add(d)
                out.append(
                    Claim(
                        delivery_id=d.id,  # type: ignore[arg-type]
                        post_id=d.post_id,
                        fence=d.fence,
                        target=d.target,
                        platform=d.platform,
                        role=d.role,
                        attempt=d.attempts,
                        reconcile=reconcile,
                        worker=worker,
                    )
                )
    return out


def renew(store: Store, claims: list[Claim], lease: timedelta) -> None:
    """Extend the leases of deliveries still in flight (a heartbeat)."""
    if not claims:
        return
    now = utcnow()
    with store.write() as s:
        for c in claims:
            s.execute(
                update(Delivery)
                .where(
                    col(Delivery.id) == c.delivery_id,
                    col(Delivery.fence) == c.fence,
                    col(Delivery.state) == PUBLISHING,
                )
                .values(lease_until=now + lease)
            )


def next_wakeup(store: Store) -> datetime | None:
    """The earliest time something may become claimable."""
    with store.read() as s:
        due = s.exec(
            select(func.min(Delivery.due_at)).where(col(Delivery.state) == QUEUED)
        ).one()
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

    Plain UPDATE statements rather than loaded objects: this runs once per delivery, inside
    the single-writer section, so it has to be short.
    """
    from .store import rollup

    values: dict[str, object] = {
        "state": state, "updated_at": now, "lease_until": None, "needs_lookup": needs_lookup,
        "last_error": error, "hint": hint,
    }
    if text is not None:
        values["text"] = text
    if state == PUBLISHED:
        values |= {"remote_id": remote_id, "remote_url": remote_url, "published_at": now}
    if due_at is not None:
        values["due_at"] = due_at
    with store.write() as s:
        if not store.is_sqlite:  # one writer per post at a time, for a consistent rollup
            s.execute(select(Post.id).where(Post.id == c.post_id).with_for_update())
        done = s.execute(
            update(Delivery)
            .where(
                col(Delivery.id) == c.delivery_id,
                col(Delivery.fence) == c.fence,
                col(Delivery.state) == PUBLISHING,
            )
            .values(**values)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return False
        of_post = col(Delivery.post_id) == c.post_id
        if c.role == "blog" and state == PUBLISHED:
            # shares were waiting for the URL: they are due now, not at an old due time
            s.execute(
                update(Delivery)
                .where(of_post, col(Delivery.state) == QUEUED, col(Delivery.due_at) < now)
                .values(due_at=now)
            )
        elif c.role == "blog" and state == FAILED:
            s.execute(
                update(Delivery)
                .where(of_post, col(Delivery.state) == QUEUED)
                .values(
                    state=FAILED,
                    last_error="not sent: the blog entry failed, so there is no URL to share",
                    hint=f"fix the blog, then 'crosspost retry {c.post_id}'",
                    updated_at=now,
                )
            )
        states = s.execute(select(Delivery.state).where(of_post)).scalars().all()
        s.execute(
            update(Post)
            .where(col(Post.id) == c.post_id)
            .values(status=rollup(list(states)), updated_at=now)
        )
        return True


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
            d for d in deliveries
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
