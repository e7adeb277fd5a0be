"""The next occurrence of a recurring post, created in the transaction that finishes the one
before.

An occurrence is a post of its own. When it has finished (published, partly published,
failed or cancelled), the next one is inserted by the same transaction that wrote that last
result: a crash leaves either both changes or neither, so no occurrence is lost and none is
created twice (``(series_id, occurrence)`` is unique besides, for two daemons on one
PostgreSQL queue; the finished post's row is locked by the caller there).

The next occurrence is the rule's first one after *now*: after downtime the missed ones are
not sent in a burst. It copies the finished post (an edit carries on to later occurrences)
and waits for the daemon's queue-time checks (``needs_check``, see
:func:`crosspost.queueing.check_new_occurrences`) before it is due.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as sa_select

from .models import (
    CANCELLED,
    FAILED,
    PARTIAL,
    PUBLISHED,
    QUEUED,
    Delivery,
    Post,
    Recurrence,
    UTCDateTime,
    delivery_key,
)
from .recurrence import Rule

#: an occurrence in one of these states has finished: nothing more happens to it by itself
FINISHED = (PUBLISHED, PARTIAL, FAILED, CANCELLED)

_P = Post.__table__  # type: ignore[attr-defined]
_D = Delivery.__table__  # type: ignore[attr-defined]
_R = Recurrence.__table__  # type: ignore[attr-defined]
_NOW = bindparam("now", type_=UTCDateTime())

#: columns a new occurrence takes from the one before (what it publishes, and where from)
_COPIED = tuple(
    c.name
    for c in _P.columns
    if c.name
    not in (
        "id",
        "scheduled_at",
        "created_at",
        "updated_at",
        "status",
        "note",
        "occurrence",
        "needs_check",
    )
)
_POST = sa_select(_P).where(_P.c.id == bindparam("p_id"))
#: whether a post is an occurrence at all: most are not, and the whole row (its JSON
#: columns decoded) is read only for those that are
_SERIES_OF = sa_select(_P.c.series_id).where(_P.c.id == bindparam("p_id"))
_NEXT_EXISTS = sa_select(_P.c.id).where(
    _P.c.series_id == bindparam("s_id"), _P.c.occurrence > bindparam("occ")
)
_SERIES = sa_select(_R).where(_R.c.id == bindparam("s_id"))
_TARGETS = sa_select(_D.c.target, _D.c.platform, _D.c.role).where(_D.c.post_id == bindparam("p_id"))
_END = (
    update(_R)
    .where(_R.c.id == bindparam("s_id"), _R.c.ended_at.is_(None))
    .values(ended_at=_NOW, ended_reason=bindparam("reason"))
)


def rule_of(series: Any) -> Rule:
    """The :class:`Rule` of a ``recurrence`` row (or model)."""
    return Rule(series.rule, datetime.fromisoformat(series.dtstart), series.timezone)


def continue_series(conn: Any, post_id: int, now: datetime) -> int | None:
    """Create the occurrence after post ``post_id`` if that post is a finished occurrence
    whose series goes on and whose next occurrence does not exist yet; its id, else None.

    ``conn`` is the caller's write transaction (the one that finished the post)."""
    if conn.execute(_SERIES_OF, {"p_id": post_id}).scalar() is None:
        return None
    post = conn.execute(_POST, {"p_id": post_id}).one_or_none()
    if post is None or post.series_id is None or post.status not in FINISHED:
        return None
    occurrence = post.occurrence or 1
    if conn.execute(_NEXT_EXISTS, {"s_id": post.series_id, "occ": occurrence}).first():
        return None
    series = conn.execute(_SERIES, {"s_id": post.series_id}).one_or_none()
    if series is None or series.ended_at is not None:
        return None
    at = rule_of(series).next_after(max(post.scheduled_at, now))
    if at is None:
        end_series(conn, post.series_id, now, "its rule has no more occurrences")
        return None
    values = {name: getattr(post, name) for name in _COPIED}
    values |= {
        "scheduled_at": at,
        "created_at": now,
        "updated_at": now,
        "status": QUEUED,
        "note": None,
        "occurrence": occurrence + 1,
        "needs_check": True,
    }
    new_id = conn.execute(insert(_P).values(**values)).inserted_primary_key[0]
    targets = conn.execute(_TARGETS, {"p_id": post_id}).all()
    if targets:
        conn.execute(
            insert(_D),
            [
                {
                    "post_id": new_id,
                    "target": t.target,
                    "platform": t.platform,
                    "role": t.role,
                    "state": QUEUED,
                    "due_at": at,
                    "attempts": 0,
                    "needs_lookup": False,
                    "fence": 0,
                    "idempotency_key": delivery_key(new_id, now, t.target),
                    "updated_at": now,
                }
                for t in targets
            ],
        )
    return int(new_id)


def end_series(conn: Any, series_id: int, now: datetime, reason: str) -> None:
    """Stop a series: no occurrence after the ones that exist is created."""
    conn.execute(_END, {"s_id": series_id, "now": now, "reason": reason})
