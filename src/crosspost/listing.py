"""Which posts ``crosspost list`` shows, and in which order.

People open the list to see what is coming, so the default view is the posts that are not
finished: queued, publishing and held posts, and the problems that wait for the user (an
``unknown`` target, a failed post, a partial post with a failed target), soonest first.
``--history`` shows the finished posts (published, cancelled, failed, partial), newest first;
``--all`` every post, oldest first (the order of earlier versions, for scripts).

The options only build a query: filtering, ordering and paging happen in SQL
(:meth:`Store.list_posts`), so ``list`` stays fast with a long history.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .errors import UsageError
from .models import POST_STATUSES
from .store import FINISHED

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Listing:
    """What to fetch: the view's name, its filters and its order."""

    view: str  # "upcoming", "history" or "all"
    persona: str | None = None
    states: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    @property
    def newest_first(self) -> bool:
        return self.view == "history"

    @property
    def upcoming(self) -> bool:
        """The default view's own filter (unfinished posts and unresolved problems); states
        given with ``--state`` replace it."""
        return self.view == "upcoming" and not self.states


def parse_states(values: Sequence[str]) -> tuple[str, ...]:
    """``--state queued,held --state failed`` → the states, each checked."""
    states = [p.strip().lower() for v in values for p in v.split(",") if p.strip()]
    for s in states:
        if s not in POST_STATUSES:
            close = difflib.get_close_matches(s, POST_STATUSES, n=1)
            tip = f" (did you mean '{close[0]}'?)" if close else ""
            raise UsageError(f"unknown state '{s}'{tip}; use one of {', '.join(POST_STATUSES)}")
    return tuple(dict.fromkeys(states))


def build_listing(
    *,
    persona: str | None,
    states: Sequence[str],
    history: bool,
    everything: bool,
    start: str | None,
    end: str | None,
    week: bool,
    tz: Callable[[], ZoneInfo],
    now: datetime,
) -> Listing:
    """The query the options ask for; ``tz()`` gives the timezone ``start``/``end`` are in
    (asked only when they are given: it may need the profiles, or fail)."""
    from .when import span_of

    if history and everything:
        raise UsageError("give --history or --all, not both")
    if week and (start or end):
        raise UsageError("give --week or --from/--to, not both")
    chosen = parse_states(states)
    if everything:
        view = "all"
    elif history or (chosen and all(s in FINISHED for s in chosen)):
        view = "history"  # "--state published" reads like history: newest first
    else:
        view = "upcoming"
    lo = hi = None
    if week:
        lo, hi = (now - WEEK, now) if view == "history" else (now, now + WEEK)
    if start:
        lo = span_of(start, _zone(start, tz), now, option="--from")[0]
    if end:
        hi = span_of(end, _zone(end, tz), now, option="--to")[1]
    if lo is not None and hi is not None and hi <= lo:
        raise UsageError("--to is before --from; swap them")
    if view == "history" and not chosen:
        chosen = FINISHED
    return Listing(view, persona, chosen, lo, hi)


def _zone(text: str, tz: Callable[[], ZoneInfo]) -> ZoneInfo:
    """``tz()`` only for wall-clock times: "+2h" or an offset need no timezone to agree on."""
    from .when import needs_timezone

    return tz() if needs_timezone(text) else ZoneInfo("UTC")


def typing_timezone(
    persona: str | None, configured: str | None, zones: Mapping[str, str]
) -> ZoneInfo:
    """The timezone of ``--from``/``--to``: the persona's, else config.toml's ``timezone``,
    else the one all personas share. ``zones`` maps persona names to IANA names."""
    if persona and persona in zones:
        return ZoneInfo(zones[persona])
    if configured:
        return ZoneInfo(configured)
    shared = set(zones.values())
    if len(shared) == 1:
        return ZoneInfo(shared.pop())
    listed = ", ".join(f"{name} {z}" for name, z in sorted(zones.items()))
    raise UsageError(
        "which timezone are --from/--to in? "
        + (f"The personas differ ({listed})" if listed else "No persona could be read"),
        hint="add --persona, set timezone in config.toml, or give the time with an offset "
        "like 2026-12-01T09:00-06:00",
    )
