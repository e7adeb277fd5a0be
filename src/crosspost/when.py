"""Parse the times users type (``--at``) into UTC instants.

Accepted: ISO 8601 (with an offset it is absolute; without, it is the persona's local time),
``YYYY-MM-DD HH:MM`` in the persona's timezone, relative ``+2h``/``+30m``/``+1h30m``/``+1d``,
``now``, ``today 18:00``, ``tomorrow 09:00`` and weekday names (``mon 09:00``, the next one).

DST rule (documented in the README): a local time that does not exist because clocks spring
forward is moved forward by the length of the gap (02:30 → 03:30 on the spring-forward day in
America/Chicago); a local time that happens twice because clocks fall back means the first
occurrence (daylight time). Both cases are reported so the user sees which instant was chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from .durations import parse_duration
from .errors import UsageError
from .slots import DAYS

_REL = re.compile(r"^(?P<sign>[+-])\s*(?P<rest>.+)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAYTIME = re.compile(r"^(?P<day>[A-Za-z]+)\s+(?P<h>\d{1,2}):(?P<m>\d{2})$")
_LOCAL = re.compile(r"^(?P<d>\d{4}-\d{2}-\d{2})[ T](?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")

FORMS = "ISO 8601, 'YYYY-MM-DD HH:MM', '+2h', '+30m', 'tomorrow 09:00' or 'now'"
#: no schedule reaches this far; the year of headroom keeps every later step (another
#: persona's timezone, a separation window, a retry's backoff) inside what datetime can hold
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def format_local(dt: datetime, tz: tzinfo | str) -> str:
    """``dt`` as a person reads it: "Tue 2026-12-01 09:00 CST" in ``tz`` (a tzinfo or an
    IANA name).

    The one place times are formatted for people (messages, tables, logs), so every time
    a user sees is in the persona's zone and names it; machines get UTC ISO 8601 instead.
    The weekday is spelled here, not by ``%a``, so a locale cannot change it. A naive
    ``dt`` is UTC, as the store keeps them.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    aware = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    return f"{_WEEKDAYS[local.weekday()]} {local:%Y-%m-%d %H:%M} {local.tzname()}"


@dataclass(frozen=True)
class When:
    utc: datetime
    #: set when a DST gap or fold changed the meaning; say it to the user
    note: str | None = None


def localize(naive: datetime, tz: ZoneInfo) -> When:
    """Attach ``tz`` to a wall-clock time following the documented DST rule.

    A time that cannot be scheduled (its UTC instant would be after 9998 or before year 1) is
    a UsageError, not an OverflowError half-way through a command."""
    try:
        when = _localize(naive, tz)
        if when.utc < LATEST:
            return when
    except OverflowError:
        pass
    raise _out_of_range(f"{naive:%Y-%m-%d %H:%M}")


def absolute(dt: datetime, what: str) -> When:
    """An aware ``dt`` (front matter with an offset) as a When, or a UsageError naming ``what``
    when it cannot be scheduled."""
    try:
        when = When(dt.astimezone(UTC))
        if when.utc < LATEST:
            return when
    except OverflowError:
        pass
    raise _out_of_range(what)


def _out_of_range(what: str) -> UsageError:
    return UsageError(
        f"{what} is out of range: crosspost schedules up to {LATEST - timedelta(days=1):%Y-%m-%d}",
        hint="give a time like 'tomorrow 09:00', '2027-03-01 09:00' or '+2h'",
    )


def _localize(naive: datetime, tz: ZoneInfo) -> When:
    candidate = naive.replace(tzinfo=tz, fold=0)
    utc = candidate.astimezone(UTC)
    back = utc.astimezone(tz).replace(tzinfo=None)
    if back != naive:
        gap = back - naive
        return When(
            utc,
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz.key} (clocks spring forward); "
            f"moved forward by {int(gap.total_seconds() // 60)} minutes to "
            f"{format_local(utc, tz)}",
        )
    other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if other != utc:
        return When(
            utc,
            f"{naive:%Y-%m-%d %H:%M} happens twice in {tz.key} (clocks fall back); "
            f"using the first occurrence, {format_local(utc, tz)} (the second would be "
            f"{format_local(other, tz)})",
        )
    return When(utc)


def parse_when(text: str, tz: ZoneInfo, now: datetime | None = None) -> When:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    when = parse_time(text, tz, now)
    if when.utc < now - timedelta(seconds=1):
        raise UsageError(
            f"--at {text!r} is in the past ({format_local(when.utc, tz)}; "
            f"now is {format_local(now, tz)})",
            hint="give a future time",
        )
    return when


def parse_time(
    text: str, tz: ZoneInfo, now: datetime | None = None, *, option: str = "--at"
) -> When:
    """Any ``--at`` form, past or future (``-2d`` counts back); ``option`` names the option
    in errors. ``list --from/--to`` look back as well as forward."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    try:
        when = _parse(text.strip(), tz, now, option)
        if when.utc < LATEST:
            return when
    except OverflowError:  # the time, or it in the persona's zone, is beyond datetime's years
        pass
    raise _out_of_range(f"{option} {text!r}")


def needs_timezone(text: str) -> bool:
    """Whether ``text`` is a wall-clock time (its meaning depends on a timezone) rather than
    ``now``, a relative time or ISO 8601 with an offset."""
    s = text.strip()
    if s.lower() == "now" or _REL.match(s):
        return False
    if _DATE.match(s) or _LOCAL.match(s) or _DAYTIME.match(s):
        return True
    try:
        return datetime.fromisoformat(s).tzinfo is None
    except ValueError:
        return True  # not a time at all: parsing it says so


def span_of(
    text: str, tz: ZoneInfo, now: datetime | None = None, *, option: str
) -> tuple[datetime, datetime]:
    """The UTC span ``[start, end)`` a time names: a bare date (``2026-12-07``) is that whole
    day in ``tz``, anything else the minute it falls in. ``list --from X --to Y`` then
    includes the day or minute of both ends, as people mean it."""
    s = text.strip()
    if _DATE.match(s):
        day = _naive(s, "0", "00", None, s, option)
        start = localize(day, tz).utc
        return start, localize(day + timedelta(days=1), tz).utc
    at = parse_time(s, tz, now, option=option).utc
    start = at.replace(second=0, microsecond=0)
    return start, start + timedelta(minutes=1)


def _parse(s: str, tz: ZoneInfo, now: datetime, option: str = "--at") -> When:
    low = s.lower()
    if low == "now":
        return When(now)
    m = _REL.match(s)
    if m:
        try:
            delta = parse_duration(m["rest"])
        except ValueError:
            raise UsageError(
                f"{option} {s!r}: not a relative time; write '+2h', '+30m' or '+1d'"
            ) from None
        return When(now + delta if m["sign"] == "+" else now - delta)
    m = _LOCAL.match(s)
    if m:
        return _localize(_naive(m["d"], m["h"], m["m"], m["s"], s, option), tz)
    m = _DAYTIME.match(s)
    if m:
        day = _relative_day(m["day"].lower(), now.astimezone(tz).date(), s, option)
        return _localize(_naive(day.isoformat(), m["h"], m["m"], None, s, option), tz)
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        raise UsageError(f"{option} {s!r} is not a time I understand; use {FORMS}") from None
    if parsed.tzinfo is None:
        return _localize(parsed, tz)
    return When(parsed.astimezone(UTC))


def _naive(
    d: str, h: str, m: str, sec: str | None, original: str, option: str = "--at"
) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(d), time(int(h), int(m), int(sec or 0)))
    except ValueError as e:
        raise UsageError(f"{option} {original!r}: {e}; use {FORMS}") from None


def _relative_day(word: str, today: date, original: str, option: str = "--at") -> date:
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word[:3] in DAYS:
        ahead = (DAYS.index(word[:3]) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    raise UsageError(f"{option} {original!r}: unknown day {word!r}; use {FORMS}")
