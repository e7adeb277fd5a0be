"""Posting schedules ("Mon-Fri 08:30") and the next free slot, Buffer-style."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SLOT = re.compile(r"^\s*(?:(?P<days>[A-Za-z,\- ]+?)\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})\s*$")


def _day(token: str, slot: str) -> int:
    t = token.strip().lower()[:3]
    if t not in DAYS:
        raise ValueError(
            f"slot {slot!r}: {token.strip()!r} is not a weekday; use Mon..Sun, "
            "ranges like 'Mon-Fri', lists like 'Mon,Wed' or 'daily'"
        )
    return DAYS.index(t)


def parse_slot(slot: str) -> tuple[frozenset[int], time]:
    """``"Mon-Fri 08:30"`` → ({0..4}, 08:30). Days: names, ranges, lists, ``daily``, or none."""
    m = _SLOT.match(slot)
    if not m:
        raise ValueError(f"slot {slot!r} must look like 'Mon-Fri 08:30', 'Sat 10:00' or '09:15'")
    hour, minute = int(m["h"]), int(m["m"])
    if hour > 23 or minute > 59:
        raise ValueError(f"slot {slot!r}: {hour:02d}:{minute:02d} is not a time of day")
    spec = (m["days"] or "daily").strip().lower()
    days: set[int] = set()
    if spec in ("daily", "every day", "everyday", "*"):
        days = set(range(7))
    else:
        for part in spec.split(","):
            if "-" in part:
                a, b = part.split("-", 1)
                i, j = _day(a, slot), _day(b, slot)
                days.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(j + 1)])
            else:
                days.add(_day(part, slot))
    return frozenset(days), time(hour, minute)


def slot_instants(
    slots: Iterable[str], tz: ZoneInfo, after: datetime, days_ahead: int = 60
) -> Iterable[datetime]:
    """UTC instants of the schedule after ``after``, in order."""
    parsed = [parse_slot(s) for s in slots]
    start: date = after.astimezone(tz).date()
    for offset in range(days_ahead + 1):
        d = start + timedelta(days=offset)
        todays = sorted({t for days, t in parsed if d.weekday() in days})
        for t in todays:
            instant = datetime.combine(d, t, tzinfo=tz).astimezone(UTC)
            if instant > after:
                yield instant


def next_free_slot(
    slots: list[str],
    tz: ZoneInfo,
    after: datetime,
    taken: Iterable[datetime],
    jitter: timedelta = timedelta(0),
    fits: Callable[[datetime], bool] | None = None,
) -> datetime | None:
    """First slot after ``after`` not already used by one of this persona's queued posts
    (and, with ``fits``, where a post fits: its accounts' caps).

    A post queued with ``slot_jitter`` is stored up to ``jitter`` away from its slot, so a
    slot counts as used when a queued post is within ``jitter`` of it (same minute without).
    """
    busy = sorted(t.astimezone(UTC).replace(second=0, microsecond=0) for t in taken)
    for instant in slot_instants(slots, tz, after):
        mark = instant.replace(second=0, microsecond=0)
        if any(abs(t - mark) <= jitter for t in busy):
            continue
        if fits is None or fits(instant):
            return instant
    return None
