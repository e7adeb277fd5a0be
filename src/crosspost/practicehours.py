"""A persona's practice calendar (``practice_calendar``, an ICS file): its appointments.

The file is what the user's calendar app exports or syncs; it changes under us, so it is read
again whenever its size or modification time moved, and parsed once per version. Recurring
events (a weekly client at 10:00, RRULE with EXDATE and moved occurrences) are expanded by
``recurring-ical-events`` in the calendar's own timezones, so a weekly 10:00 stays at 10:00
local time across a change to or from summer time. Floating times (no timezone) are the
persona's local time. All-day entries (holidays, "practice closed") say nothing about the
hours and are left out, as are cancelled events.

A file that cannot be read or parsed is a configuration error naming the file, raised when
the profiles are loaded, so it shows before the first post that would need it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .guard.sessionhours import Appointment

#: (path, mtime_ns, size) of the last version read, and its parsed calendar
_parsed: dict[str, tuple[tuple[int, int], Any]] = {}
_lock = threading.Lock()


def _calendar(path: Path) -> Any:
    import icalendar

    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        with _lock:
            known = _parsed.get(str(path))
        if known is not None and known[0] == stamp:
            return known[1]
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(
            f"{path}: practice_calendar cannot be read ({e.strerror or e}); export the "
            "practice calendar as an .ics file there, or remove practice_calendar from the "
            "persona file"
        ) from None
    try:
        cal = icalendar.Calendar.from_ical(data)
    except ValueError as e:
        raise _malformed(path, e) from None
    with _lock:
        _parsed[str(path)] = (stamp, cal)
    return cal


def _malformed(path: Path, e: Exception) -> ConfigError:
    """The parser's reason up to its first colon: after it icalendar quotes the broken line
    or value, which may be a client's name (the message is printed and logged)."""
    reason = str(e).split(":", 1)[0].strip() or type(e).__name__
    return ConfigError(
        f"{path}: practice_calendar is not a readable iCalendar (.ics) file ({reason}); export "
        "it again from the calendar app as .ics, or remove practice_calendar from the persona "
        "file"
    )


def appointments(path: Path, start: datetime, end: datetime, tz: tzinfo) -> list[Appointment]:
    """The timed, not cancelled appointments of the calendar at ``path`` overlapping
    ``[start, end]``; floating times read in ``tz``."""
    import recurring_ical_events

    cal = _calendar(path)
    try:
        events = recurring_ical_events.of(cal).between(start, end)
        out = []
        for ev in events:
            if str(ev.get("STATUS", "")).upper() == "CANCELLED":
                continue
            s = ev.decoded("DTSTART")
            e = ev.decoded("DTEND") if "DTEND" in ev else None
            if not isinstance(s, datetime):  # an all-day entry
                continue
            if e is None or not isinstance(e, datetime):
                duration = ev.decoded("DURATION") if "DURATION" in ev else timedelta(0)
                e = s + duration
            out.append(Appointment(_aware(s, tz), _aware(e, tz)))
    except ValueError as e:  # broken DTSTART, RRULE, …: icalendar's errors are ValueErrors
        raise _malformed(path, e) from None
    return sorted(out, key=lambda a: a.start)


def _aware(t: datetime, tz: tzinfo) -> datetime:
    return t.replace(tzinfo=tz) if t.tzinfo is None else t


def check_file(path: Path, tz: tzinfo, now: datetime | None = None) -> None:
    """Raise the configuration error of a calendar that cannot be read, parsed or expanded
    (tried on the coming week)."""
    now = now or datetime.now(UTC)
    appointments(path, now - timedelta(days=1), now + timedelta(days=8), tz)


def around(path: Path, at: datetime, after: timedelta, tz: tzinfo) -> list[Appointment]:
    """The appointments a post at ``at`` could fall in or shortly after."""
    return appointments(path, at - after - timedelta(days=1), at + timedelta(minutes=1), tz)
