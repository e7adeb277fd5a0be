"""The practice calendar: read from the persona's ICS file (recurring events expanded in the
calendar's timezone), checked at queue time and by ``check``/``preview`` for an entry with its
own time, and refused on load when it cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from crosspost.errors import ConfigError
from crosspost.guard.matcher import TextField
from crosspost.guard.sessionhours import check_session_hours
from crosspost.practicehours import appointments, around
from tests.conftest import PROFESSIONAL

CHICAGO = ZoneInfo("America/Chicago")
ABOUT = "Tough session with a teenage client today."


def _ics(*events: str) -> str:
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:e{i}@practice.example\r\nDTSTAMP:20260101T000000Z\r\n{e}"
        "END:VEVENT\r\n"
        for i, e in enumerate(events)
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//practice//EN\r\n{body}END:VCALENDAR\r\n"


WEEKLY = _ics(
    # a client every Tuesday 10:00-10:50 Chicago time, across the change to summer time
    # (2026-03-08); one week skipped
    "DTSTART;TZID=America/Chicago:20260224T100000\r\n"
    "DTEND;TZID=America/Chicago:20260224T105000\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=TU\r\nEXDATE;TZID=America/Chicago:20260317T100000\r\n"
    "SUMMARY:Client\r\n",
    "DTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260311\r\nSUMMARY:Conference\r\n",
    "DTSTART:20260303T140000\r\nDTEND:20260303T150000\r\nSUMMARY:Group (floating)\r\n",
)


def test_a_weekly_appointment_keeps_its_local_hour_across_summer_time(tmp_path: Path) -> None:
    path = tmp_path / "hours.ics"
    path.write_text(WEEKLY)
    got = appointments(
        path,
        datetime(2026, 2, 23, tzinfo=UTC),
        datetime(2026, 3, 25, tzinfo=UTC),
        CHICAGO,
    )
    weekly = [a for a in got if a.end - a.start == timedelta(minutes=50)]
    local = [a.start.astimezone(CHICAGO) for a in weekly]
    assert [t.date().isoformat() for t in local] == [
        "2026-02-24", "2026-03-03", "2026-03-10", "2026-03-24"
    ]  # fmt: skip
    assert {(t.hour, t.minute) for t in local} == {(10, 0)}
    # 16:00 UTC in winter, 15:00 UTC in summer
    assert [a.start.astimezone(UTC).hour for a in weekly] == [16, 16, 15, 15]
    # the all-day entry is no appointment; the floating one is in the persona's time
    [floating] = [a for a in got if a.end - a.start == timedelta(hours=1)]
    assert floating.start == datetime(2026, 3, 3, 14, 0, tzinfo=CHICAGO)


def test_after_summer_time_the_window_follows_the_local_hour(tmp_path: Path) -> None:
    path = tmp_path / "hours.ics"
    path.write_text(WEEKLY)
    after = timedelta(minutes=30)

    def check(local: datetime) -> list:  # type: ignore[type-arg]
        at = local.replace(tzinfo=CHICAGO).astimezone(UTC)
        found = around(path, at, after, CHICAGO)
        return check_session_hours([TextField("body", ABOUT)], at, found, {}, after=after)

    # 11:15 local, 25 minutes after the 10:50 end: warns
    assert len(check(datetime(2026, 3, 24, 11, 15))) == 1
    # 11:35 local is 45 minutes after; read in UTC as if it were winter it would fall in it
    assert check(datetime(2026, 3, 24, 11, 35)) == []
    # the skipped week
    assert check(datetime(2026, 3, 17, 11, 15)) == []


def test_a_malformed_calendar_is_refused_on_load_naming_the_file(ws) -> None:  # type: ignore[no-untyped-def]
    ws.write("profiles/professional.toml", 'practice_calendar = "hours.ics"\n' + PROFESSIONAL)
    ws.write("hours.ics", "this is not a calendar\n")
    r = ws.run("check", "--text", "Hello.", "--persona", "professional")
    assert r.code == 2
    assert str(ws.root / "hours.ics") in r.err and "practice_calendar" in r.err
    assert "Traceback" not in r.err
    ws.write("hours.ics", _ics("DTSTART:notadate\r\nSUMMARY:x\r\n"))
    r = ws.run("check", "--text", "Hello.", "--persona", "professional")
    assert r.code == 2 and "not a readable iCalendar" in r.err
    (ws.root / "hours.ics").unlink()
    r = ws.run("check", "--text", "Hello.", "--persona", "professional")
    assert r.code == 2 and "cannot be read" in r.err and "Traceback" not in r.err


def test_a_malformed_calendar_error_repeats_none_of_its_text(ws) -> None:  # type: ignore[no-untyped-def]
    """The calendar holds clients' names: a parse error (printed, and logged by the daemon)
    names the file and the broken property, never what the line says."""
    ws.write("profiles/professional.toml", 'practice_calendar = "hours.ics"\n' + PROFESSIONAL)
    ws.write("hours.ics", _ics("DTSTART:Jane Marsh intake\r\nSUMMARY:x\r\n"))
    r = ws.run("check", "--text", "Hello.", "--persona", "professional")
    assert r.code == 2 and "not a readable iCalendar" in r.err and "DTSTART" in r.err
    assert "Marsh" not in r.err
    ws.write("hours.ics", "Jane Marsh, Tuesday 10:00\n")
    r = ws.run("check", "--text", "Hello.", "--persona", "professional")
    assert r.code == 2 and "not a readable iCalendar" in r.err
    assert "Marsh" not in r.err


def test_appointments_of_a_broken_file_raise_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "hours.ics"
    path.write_text(_ics("DTSTART:20260101T100000Z\r\nRRULE:FREQ=SOMETIMES\r\n"))
    try:
        appointments(path, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), UTC)
    except ConfigError as e:
        assert str(path) in str(e)
    else:
        raise AssertionError("a broken RRULE was accepted")


def _tomorrow(hh: int, mm: int = 0, days: int = 1) -> datetime:
    day = datetime.now(CHICAGO).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=CHICAGO)


def _with_calendar(ws) -> None:  # type: ignore[no-untyped-def]
    start = _tomorrow(10)
    stamp = "%Y%m%dT%H%M%S"
    ws.write("profiles/professional.toml", 'practice_calendar = "hours.ics"\n' + PROFESSIONAL)
    ws.write(
        "hours.ics",
        _ics(
            f"DTSTART;TZID=America/Chicago:{start.strftime(stamp)}\r\n"
            f"DTEND;TZID=America/Chicago:{(start + timedelta(minutes=50)).strftime(stamp)}\r\n"
            "SUMMARY:Client\r\n"
        ),
    )


def _session_hours(findings: list) -> list:  # type: ignore[type-arg]
    return [f for f in findings if f["rule"] == "fingerprint.session-hours"]


def test_queue_warns_an_hour_after_an_appointment(ws) -> None:  # type: ignore[no-untyped-def]
    _with_calendar(ws)
    at = _tomorrow(11, 50).isoformat()
    args = ("--persona", "professional", "--to", "pro-x", "--format", "json")
    r = ws.run("queue", "--text", ABOUT, "--at", at, *args)
    assert r.code == 0, r.err  # a warning: queued
    [f] = _session_hours(r.json()["guard"]["findings"])
    assert f["severity"] == "warn" and "10:00" in f["message"] and "10:50" in f["message"]
    # two days later: nothing
    later = _tomorrow(11, 50, days=3).isoformat()
    r = ws.run("queue", "--text", ABOUT, "--at", later, "--again", *args)
    assert r.code == 0 and _session_hours(r.json()["guard"]["findings"]) == []
    # a text not about a session, during the appointment: nothing
    during = _tomorrow(10, 20).isoformat()
    r = ws.run("queue", "--text", "Sessions are 50 minutes.", "--at", during, *args)
    assert r.code == 0 and _session_hours(r.json()["guard"]["findings"]) == []


def test_check_and_preview_use_the_entrys_own_time(ws) -> None:  # type: ignore[no-untyped-def]
    _with_calendar(ws)
    entry = ws.write("post.md", f"---\nat: {_tomorrow(12, 30).isoformat()}\n---\n{ABOUT}\n")
    r = ws.run("check", str(entry), "--persona", "professional", "--format", "json")
    assert r.code == 0, r.err
    assert len(_session_hours(r.json()["findings"])) == 1
    r = ws.run("preview", str(entry), "--persona", "professional", "--to", "pro-x")
    assert r.code == 0 and "fingerprint.session-hours" in r.out
    # without a time there is nothing to compare
    r = ws.run("check", "--text", ABOUT, "--persona", "professional", "--format", "json")
    assert _session_hours(r.json()["findings"]) == []


def test_check_and_preview_take_a_time_of_their_own(ws) -> None:  # type: ignore[no-untyped-def]
    _with_calendar(ws)
    args = ("--text", ABOUT, "--persona", "professional", "--format", "json")
    r = ws.run("check", *args, "--at", _tomorrow(11, 0).isoformat())
    assert r.code == 0, r.err
    [f] = _session_hours(r.json()["findings"])
    assert "during" not in f["message"] and "after the appointment" in f["message"]
    r = ws.run("check", *args, "--at", _tomorrow(11, 0, days=2).isoformat())
    assert _session_hours(r.json()["findings"]) == []
    r = ws.run("preview", *args, "--to", "pro-x", "--at", _tomorrow(10, 30).isoformat())
    assert len(_session_hours(r.json()["guard"]["findings"])) == 1
    # a time that cannot be read is the user's to fix
    r = ws.run("check", *args, "--at", "someday")
    assert r.code == 2 and "Traceback" not in r.err
