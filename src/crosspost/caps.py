"""Per-account posting caps: ``daily_cap`` posts in any 24 hours and ``min_interval`` between
two posts of one account.

Platforms limit how often an account may post (X's free API tier: 17 posts per 24 h) and
refuse, or flag the account, past it. Queueing refuses a post that would go over a cap at its
scheduled time, naming the next time that fits; the daemon checks again inside its claim
transaction (:func:`crosspost.claims.claim`), because posts queued before a cap was set, late
posts after downtime and retries all move. A delivery counts as one post whatever it becomes
(a thread of five replies is one post).

Two posts conflict when they are less than 24 hours (``daily_cap``) or ``min_interval`` apart;
posts exactly that far apart do not, on both sides of the check.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from .durations import format_duration
from .when import format_local

if TYPE_CHECKING:
    from .profiles import Persona

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Cap:
    """One account's caps, and the zone its user reads times in."""

    account: str
    daily: int | None
    interval: timedelta | None
    tz: tzinfo

    @property
    def reach(self) -> timedelta:
        """How far back (and ahead) another post of the account can matter."""
        return max(DAY, self.interval or timedelta(0))

    def daily_text(self) -> str:
        return f"daily_cap {self.daily} posts per 24 h"

    def interval_text(self) -> str:
        return f"min_interval {format_duration(self.interval or timedelta(0))}"

    def describe(self) -> str:
        parts = []
        if self.daily is not None:
            parts.append(self.daily_text())
        if self.interval:
            parts.append(self.interval_text())
        return ", ".join(parts)


def caps_of(personas: Iterable[Persona]) -> dict[str, Cap]:
    """Every account that has a cap, by name (account names are unique across personas)."""
    out: dict[str, Cap] = {}
    for p in personas:
        for a in p.accounts:
            interval = a.min_interval if a.min_interval else None
            if a.daily_cap is not None or interval is not None:
                out[a.name] = Cap(a.name, a.daily_cap, interval, p.tz)
    return out


def next_after_past(cap: Cap, times: Sequence[datetime], now: datetime) -> datetime:
    """When one more post fits, given the account's posts at ``times`` (none after ``now``):
    ``now`` if it fits now."""
    out = now
    if cap.daily is not None:
        window = sorted(t for t in times if t > now - DAY)
        if len(window) >= cap.daily:
            # the oldest posts have to leave the window until one place is free
            out = max(out, window[len(window) - cap.daily] + DAY)
    if cap.interval and times:
        out = max(out, max(times) + cap.interval)
    return out


def violations(cap: Cap, times: Sequence[datetime], at: datetime) -> list[str]:
    """What a post at ``at`` breaks, next to the account's other posts at ``times`` (past
    and future): the caps by name, empty when it fits."""
    out = []
    if cap.interval and any(abs(at - t) < cap.interval for t in times):
        out.append(cap.interval_text())
    if cap.daily is not None and _busiest_day(sorted(times), at) + 1 > cap.daily:
        out.append(cap.daily_text())
    return out


def _busiest_day(ordered: Sequence[datetime], at: datetime) -> int:
    """The most posts in one 24-hour window that contains ``at`` (``ordered`` sorted).

    The busiest window starts at ``at`` or at a post less than 24 h before it: moving a
    window's start right to the next post (or to ``at``) loses no post and may gain some."""
    lo = bisect.bisect_right(ordered, at - DAY)
    hi = bisect.bisect_right(ordered, at)
    starts = [*ordered[lo:hi], at]
    return max(
        bisect.bisect_left(ordered, s + DAY) - bisect.bisect_left(ordered, s) for s in starts
    )


def first_fit(cap: Cap, times: Sequence[datetime], at: datetime) -> datetime:
    """The earliest time from ``at`` on when a post fits between the account's posts.

    A conflict ends only where a post leaves the 24-hour or ``min_interval`` distance, so
    those moments are the only candidates."""
    candidates = {at}
    for t in times:
        for gap in (DAY, cap.interval):
            if gap and t + gap > at:
                candidates.add(t + gap)
    for c in sorted(candidates):
        if not violations(cap, times, c):
            return c
    raise AssertionError("a time after every post always fits")  # pragma: no cover


def next_minute(t: datetime) -> datetime:
    """``t`` rounded up to a whole minute (what a person can type back as ``--at``)."""
    seconds = t.second + t.microsecond / 1e6
    if seconds == 0:
        return t
    return t.replace(second=0, microsecond=0) + timedelta(minutes=math.ceil(seconds / 60))


def waiting_note(cap: Cap, until: datetime) -> str:
    """What ``list``/``show`` say about a delivery the daemon holds back for a cap."""
    return (
        f"waiting: account '{cap.account}' is at its cap ({cap.describe()}); not before "
        f"{format_local(until, cap.tz)}"
    )
