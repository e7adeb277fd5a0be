"""``slot_jitter``: a random offset for a scheduled time, fixed when the post is queued.

Two personas that both post "at 09:00" go out in the same minute every time, which an observer
can line up. With ``slot_jitter = "7m"`` a persona's post queued into a slot (or at a time
given with ``--at`` or front matter ``at``) is stored at a time drawn uniformly from
``[t - 7m, t + 7m]``, in whole seconds. The offset is drawn once, at queueing, and stored as
the post's scheduled time, so ``list``, the calendar and the daemon all see the same instant.

The draw is bounded so that it never makes things worse than the time the user chose:

* never before ``now`` (a post is not moved into the past);
* never into or across another persona's separation window: the range is cut at the nearest
  window on each side of ``t``;
* when ``t`` itself is inside such a window the time is left alone, so the separation finding
  speaks about the time the user asked for.

A recurring post's occurrences (``--every``) are each moved, the first when it is queued and
every later one when the daemon checks it, but only later, within ``[t, t + 7m]``: the next
occurrence is the rule's first time after the one before, so one moved before its rule's time
would be followed by that same time again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class Uniform(Protocol):
    """What is drawn from: ``random.Random`` (or ``SystemRandom``); tests pass a seeded one."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class Window:
    """Another persona's post at ``at``: nothing of ours may go out within ``gap`` of it."""

    at: datetime
    gap: timedelta


def jitter_bounds(
    at: datetime,
    jitter: timedelta,
    now: datetime,
    windows: Sequence[Window],
    *,
    forward: bool = False,
) -> tuple[datetime, datetime] | None:
    """The range a jittered ``at`` may be drawn from, or None when ``at`` must stay.

    ``forward``: never before ``at`` (a recurring post's occurrence: moved before its rule's
    time, the rule's next time would be that same one, and it would go out twice)."""
    if jitter <= timedelta(0):
        return None
    lo, hi = (at if forward else max(at - jitter, now)), at + jitter
    for w in windows:
        start, end = w.at - w.gap, w.at + w.gap
        if start < at < end:
            return None  # the user's own time already conflicts: the guard will say so
        if end <= at:
            lo = max(lo, end)
        else:
            hi = min(hi, start)
    if hi <= lo:
        return None
    return lo, hi


def jittered(
    at: datetime,
    jitter: timedelta,
    now: datetime,
    windows: Sequence[Window],
    rng: Uniform,
    *,
    forward: bool = False,
) -> datetime:
    """``at`` moved by a random offset within ``jitter`` (see the module docstring)."""
    bounds = jitter_bounds(at, jitter, now, windows, forward=forward)
    if bounds is None:
        return at
    lo, hi = (b - at for b in bounds)
    low, high = math.ceil(lo.total_seconds()), math.floor(hi.total_seconds())
    if high < low:
        return at
    return at + timedelta(seconds=round(rng.uniform(low, high)))
