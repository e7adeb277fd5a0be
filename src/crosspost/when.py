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
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .durations import parse_duration
from .errors import UsageError
from .slots import DAYS

_REL = re.compile(r"^\+\s*(.+)$")
_DAYTIME = re.compile(r"^(?P<day>[A-Za-z]+)\s+(?P<h>\d{1,2}):(?P<m>\d{2})$")
_LOCAL = re.compile(r"^(?P<d>\d{4}-\d{2}-\d{2})[ T](?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")

FORMS = "ISO 8601, 'YYYY-MM-DD HH:MM', '+2h', '+30m', 'tomorrow 09:00' or 'now'"
#: no schedule reaches this far; the year of headroom keeps every later step (another
#: persona's timezone, a separation window, a retry's backoff) inside what datetime can hold
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


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
            f"{back:%H:%M} {utc.astimezone(tz).tzname()}",
        )
    other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if other != utc:
        return When(
            utc,
            f"{naive:%Y-%m-%d %H:%M} happens twice in {tz.key} (clocks fall back); "
            f"using the first occurrence, {candidate.tzname()} ({utc:%H:%M} UTC)",
        )
    return When(utc)


def parse_when(text: str, tz: ZoneInfo, now: datetime | None = None) -> When:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    s = text.strip()
    try:
        when = _parse(s, tz, now)
        if when.utc < LATEST:
            return _not_past(when, text, tz, now)
    except OverflowError:  # the time, or it in the persona's zone, is beyond datetime's years
        pass
    raise _out_of_range(f"--at {text!r}")


def _out_of_range(what: str) -> UsageError:
    return UsageError(
        f"{what} is out of range: crosspost schedules up to {LATEST - timedelta(days=1):%Y-%m-%d}",
        hint="give a time like 'tomorrow 09:00', '2027-03-01 09:00' or '+2h'",
    )


def _not_past(when: When, text: str, tz: ZoneInfo, now: datetime) -> When:
    if when.utc < now - timedelta(seconds=1):
        local = when.utc.astimezone(tz)
        raise UsageError(
            f"--at {text!r} is in the past ({local:%Y-%m-%d %H:%M %Z}; "
            f"now is {now.astimezone(tz):%Y-%m-%d %H:%M %Z})",
            hint="give a future time",
        )
    return when


def _parse(s: str, tz: ZoneInfo, now: datetime) -> When:
    low = s.lower()
    if low == "now":
        return When(now)
    m = _REL.match(s)
    if m:
        try:
            return When(now + parse_duration(m.group(1)))
        except ValueError:
            raise UsageError(
                f"--at {s!r}: not a relative time; write '+2h', '+30m' or '+1d'"
            ) from None
    m = _LOCAL.match(s)
    if m:
        return _localize(_naive(m["d"], m["h"], m["m"], m["s"], s), tz)
    m = _DAYTIME.match(s)
    if m:
        day = _relative_day(m["day"].lower(), now.astimezone(tz).date(), s)
        return _localize(_naive(day.isoformat(), m["h"], m["m"], None, s), tz)
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        raise UsageError(f"--at {s!r} is not a time I understand; use {FORMS}") from None
    if parsed.tzinfo is None:
        return _localize(parsed, tz)
    return When(parsed.astimezone(UTC))


def _naive(d: str, h: str, m: str, sec: str | None, original: str) -> datetime:
    try:
        return datetime.combine(
            date.fromisoformat(d), time(int(h), int(m), int(sec or 0))
        )
    except ValueError as e:
        raise UsageError(f"--at {original!r}: {e}; use {FORMS}") from None


def _relative_day(word: str, today: date, original: str) -> date:
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word[:3] in DAYS:
        ahead = (DAYS.index(word[:3]) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    raise UsageError(f"--at {original!r}: unknown day {word!r}; use {FORMS}")
