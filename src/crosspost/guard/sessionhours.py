"""``fingerprint.session-hours``: a post about a session that goes out right after one.

"Tough session today…" names no one, but posted at 15:10 after the only appointment that
ended at 15:00 it dates the client: whoever knows who was in the waiting room then knows
whom the post is about. A persona that names its practice calendar (``practice_calendar``,
an ICS file) has each post that refers to a particular session or client checked against
it: one scheduled during an appointment, or within ``session_hours_after`` (default 3 hours)
after one ends, warns and says which appointment's hours and why.

A reference to a session is what the clinician pack's ``clinician.session-content`` and
``clinician.client-disclosure`` rules recognise (whether or not the persona opted into the
pack): "many of my clients…", "sessions are 50 minutes" are about the practice, not about an
appointment, and are left alone. The calendar is read outside (``crosspost.practicehours``)
and given here as the appointments around the post's time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ._text import Normalised
from .findings import Finding
from .matcher import TextField
from .packs.scan import scan_pack
from .rules import effective_severity

RULE = "fingerprint.session-hours"
#: how long after an appointment a post about a session still dates it, unless the persona
#: sets ``session_hours_after``
DEFAULT_AFTER = timedelta(hours=3)
#: the clinician pack's rules whose findings are references to one session or client
SESSION_RULES = frozenset({"clinician.session-content", "clinician.client-disclosure"})


@dataclass(frozen=True)
class Appointment:
    """One (expanded) event of the practice calendar, timezone-aware."""

    start: datetime
    end: datetime


def session_reference(fields: Sequence[TextField]) -> tuple[str, int, int, str] | None:
    """The first reference to a particular session or client: (field, start, end, text)."""
    for f in fields:
        n = Normalised(f.text)
        hits = [(s, e) for rule, s, e in scan_pack("clinician", n) if rule.id in SESSION_RULES]
        if hits:
            s, e = n.orig_span(*min(hits))
            return f.name, s, e, f.text[s:e]
    return None


def dating_appointment(
    at: datetime, appointments: Sequence[Appointment], after: timedelta
) -> Appointment | None:
    """The appointment ``at`` falls in or within ``after`` of its end (the latest such)."""
    hit = [a for a in appointments if a.start <= at <= a.end + after]
    return max(hit, key=lambda a: a.end) if hit else None


def check_session_hours(
    fields: Sequence[TextField],
    at: datetime,
    appointments: Sequence[Appointment],
    overrides: Mapping[str, str],
    *,
    after: timedelta = DEFAULT_AFTER,
    fmt: Callable[[datetime], str] = lambda t: t.strftime("%Y-%m-%d %H:%M %Z"),
) -> list[Finding]:
    """One finding when the post going out at ``at`` refers to a session and falls during or
    within ``after`` after one of ``appointments``; none otherwise."""
    severity = effective_severity(RULE, "warn", overrides)
    if severity == "off" or not appointments:
        return []
    appointment = dating_appointment(at, appointments, after)
    if appointment is None:
        return []
    ref = session_reference(fields)
    if ref is None:
        return []
    field, start, end, text = ref
    hours = f"{fmt(appointment.start)} to {fmt(appointment.end)}"
    where = "during" if at <= appointment.end else "after"
    return [
        Finding(
            rule=RULE,
            severity=severity,  # type: ignore[arg-type]
            match=text,
            start=start,
            end=end,
            field=field,
            message=(
                f"this post refers to a session and goes out at {fmt(at)}, {where} the "
                f"appointment of {hours} in the practice calendar: a post about a session "
                "right after a real one dates the client for anyone who knows who was there; "
                f"schedule it more than {_hours(after)} after any appointment"
            ),
        )
    ]


def _hours(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    h, m = divmod(minutes, 60)
    return f"{h}h{m:02d}" if m else f"{h}h"
