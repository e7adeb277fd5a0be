"""The calendar's days: each post on the day and at the minute it has in its persona's zone.

Both personas share one grid, so a clinician sees at a glance that the practice's post and the
family post are not an hour apart; the separation window is drawn around each post for that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ..models import FAILED, HELD, PARTIAL, UNKNOWN, Delivery, Post

#: states the user has to act on: marked on the calendar, with their actions on the post's page
ATTENTION = (HELD, UNKNOWN, FAILED, PARTIAL)


@dataclass(frozen=True)
class Lane:
    """A persona's column in each day: its colour index, zone and separation."""

    name: str
    tz: tzinfo
    separation: timedelta | None
    colour: int


@dataclass
class Item:
    id: int
    persona: str
    label: str
    status: str
    local: datetime
    #: minutes since the local midnight, and the separation in minutes (0: none)
    minute: int
    window: int
    attention: bool
    targets: list[tuple[str, str]]


@dataclass
class Day:
    day: date
    lanes: dict[str, list[Item]] = field(default_factory=dict)
    in_month: bool = True

    def by_time(self) -> list[Item]:
        """Every persona's posts of the day in time order (the month view's list)."""
        return sorted((i for items in self.lanes.values() for i in items), key=lambda i: i.minute)


def week_days(anchor: date) -> list[date]:
    monday = anchor - timedelta(days=anchor.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def month_days(anchor: date) -> list[date]:
    """The weeks (Monday to Sunday) that cover ``anchor``'s month."""
    first = anchor.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    start = first - timedelta(days=first.weekday())
    end = nxt + timedelta(days=(7 - nxt.weekday()) % 7)
    return [start + timedelta(days=i) for i in range((end - start).days)]


def utc_span(days: Sequence[date], lanes: Sequence[Lane]) -> tuple[datetime, datetime]:
    """The UTC range that holds every lane's local days ``days``."""
    starts = [datetime.combine(days[0], time(), lane.tz).astimezone(UTC) for lane in lanes]
    ends = [
        datetime.combine(days[-1] + timedelta(days=1), time(), lane.tz).astimezone(UTC)
        for lane in lanes
    ]
    if not lanes:
        starts = [datetime.combine(days[0], time(), UTC)]
        ends = [datetime.combine(days[-1] + timedelta(days=1), time(), UTC)]
    return min(starts), max(ends)


def label_of(post: Post) -> str:
    from ..entries import first_words

    return post.title or first_words(post.body, 40)


def build_days(
    days: Sequence[date],
    lanes: Sequence[Lane],
    rows: Sequence[tuple[Post, list[Delivery]]],
    month: date | None = None,
) -> list[Day]:
    by_day = {
        d: Day(d, {lane.name: [] for lane in lanes}, month is None or d.month == month.month)
        for d in days
    }
    known = {lane.name: lane for lane in lanes}
    for post, deliveries in rows:
        lane = known.get(post.persona)
        if lane is None or post.id is None:
            continue
        at = post.scheduled_at
        local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(lane.tz)
        day = by_day.get(local.date())
        if day is None:
            continue
        states = {d.state for d in deliveries}
        window = int(lane.separation.total_seconds() // 60) if lane.separation else 0
        day.lanes[lane.name].append(
            Item(
                id=post.id,
                persona=post.persona,
                label=label_of(post),
                status=post.status,
                local=local,
                minute=local.hour * 60 + local.minute,
                window=window,
                attention=post.status in ATTENTION or bool(states & set(ATTENTION)),
                targets=[(d.target, d.state) for d in deliveries],
            )
        )
    for day in by_day.values():
        for items in day.lanes.values():
            items.sort(key=lambda i: (i.minute, i.id))
    return [by_day[d] for d in days]
