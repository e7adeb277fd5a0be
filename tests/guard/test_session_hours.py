"""fingerprint.session-hours, the pure part: a post about a session during or shortly after an
appointment warns; the same text days later, or a text not about a session, does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from crosspost.guard import RULES
from crosspost.guard.matcher import TextField
from crosspost.guard.sessionhours import (
    DEFAULT_AFTER,
    RULE,
    Appointment,
    check_session_hours,
    session_reference,
)

START = datetime(2026, 5, 12, 15, 0, tzinfo=UTC)
HOUR = Appointment(START, START + timedelta(minutes=50))
ABOUT = "Tough session with a teenage client today."
NOT_ABOUT = "Sessions are 50 minutes and cost £70. Concessions available."


def _check(text: str, at: datetime, **kw: object) -> list:  # type: ignore[type-arg]
    return check_session_hours([TextField("body", text)], at, [HOUR], {}, **kw)  # type: ignore[arg-type]


def test_a_post_about_a_session_an_hour_after_the_appointment_warns() -> None:
    [f] = _check(ABOUT, HOUR.end + timedelta(hours=1))
    assert (f.rule, f.severity, f.field) == (RULE, "warn", "body")
    assert ABOUT[f.start : f.end] == f.match and "session" in f.match.lower()
    assert "after the appointment" in f.message and "dates the client" in f.message
    assert "2026-05-12 15:00" in f.message and "2026-05-12 15:50" in f.message


def test_during_the_appointment_warns_too() -> None:
    [f] = _check(ABOUT, START + timedelta(minutes=10))
    assert "during the appointment" in f.message


def test_two_days_later_the_same_text_is_fine() -> None:
    assert _check(ABOUT, START + timedelta(days=2)) == []
    # just past the window
    assert _check(ABOUT, HOUR.end + DEFAULT_AFTER + timedelta(minutes=1)) == []


def test_a_text_not_about_a_session_during_an_appointment_is_fine() -> None:
    assert _check(NOT_ABOUT, START + timedelta(minutes=10)) == []
    assert _check("Many of my clients find that anxiety peaks on Sunday evenings.", START) == []


def test_the_window_is_the_personas() -> None:
    at = HOUR.end + timedelta(hours=1)
    assert _check(ABOUT, at, after=timedelta(minutes=30)) == []
    [f] = _check(ABOUT, at, after=timedelta(hours=2))
    assert "more than 2h after" in f.message


def test_severity_overrides_and_no_calendar() -> None:
    at = HOUR.end + timedelta(hours=1)
    fields = [TextField("body", ABOUT)]
    assert check_session_hours(fields, at, [HOUR], {RULE: "off"}) == []
    [f] = check_session_hours(fields, at, [HOUR], {"fingerprint": "block"})
    assert f.blocks
    assert check_session_hours(fields, at, [], {}) == []
    assert RULES[RULE].severity == "warn"


def test_the_reference_is_found_in_any_field() -> None:
    ref = session_reference(
        [
            TextField("title", "Spring update"),
            TextField(
                "body",
                "Just finished with my last "
                "client of the day, a teacher who has been signed off with stress.",
            ),
        ]
    )
    assert ref is not None and ref[0] == "body"


def _corpus(name: str) -> list[str]:
    data = Path(__file__).resolve().parents[1] / "data" / "clinician" / name
    lines = data.read_text("utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_on_the_clinician_corpus() -> None:
    """An hour after an appointment at least 95 % of the disclosures warn and at most 5 % of
    the innocent posts; two days later none does (``benchmarks/session_hours_corpus.py``
    prints the figures)."""
    soon, later = HOUR.end + timedelta(hours=1), HOUR.end + timedelta(days=2)
    disclosures, innocent = _corpus("disclosures.txt"), _corpus("innocent.txt")
    assert len(disclosures) > 100 and len(innocent) > 100
    warned = [t for t in disclosures if _check(t, soon)]
    false = [t for t in innocent if _check(t, soon)]
    assert len(warned) >= 0.95 * len(disclosures)
    assert len(false) <= 0.05 * len(innocent), false
    assert not [t for t in disclosures + innocent if _check(t, later)]
