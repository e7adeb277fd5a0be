"""fingerprint.rhythm: two personas posting at the same time of day on several days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crosspost.guard.correlation import RecentPost
from crosspost.guard.rhythm import check_rhythm

DAY0 = datetime(2030, 3, 4, tzinfo=UTC)
NOW = DAY0 - timedelta(days=1)


def posts(persona: str, hh: int, mm: int, days: range, start_id: int = 1) -> list[RecentPost]:
    return [
        RecentPost(persona, start_id + i, "", DAY0 + timedelta(days=d, hours=hh, minutes=mm))
        for i, d in enumerate(days)
    ]


def at(day: int, hh: int, mm: int) -> datetime:
    return DAY0 + timedelta(days=day, hours=hh, minutes=mm)


def test_converging_schedules_warn() -> None:
    # professional at 14:30 on Mon-Wed, personal at 14:40 on Thu-Fri and now Saturday
    history = posts("pro", 14, 30, range(3)) + posts("home", 14, 40, range(3, 5), 10)
    found = check_rhythm("home", at(5, 14, 38), history, NOW, {})
    assert [f.rule for f in found] == ["fingerprint.rhythm"]
    f = found[0]
    assert f.severity == "warn" and f.owner == "pro" and f.field == "at"
    assert "3 of this persona's 3" in f.message and "on 3 days" in f.message


def test_other_times_of_day_do_not_warn() -> None:
    history = posts("pro", 14, 30, range(3)) + posts("home", 23, 0, range(3, 5), 10)
    assert check_rhythm("home", at(5, 23, 5), history, NOW, {}) == []


def test_a_new_post_away_from_the_shared_time_does_not_warn() -> None:
    history = posts("pro", 14, 30, range(5)) + posts("home", 14, 35, range(5, 9), 10)
    assert check_rhythm("home", at(10, 19, 0), history, NOW, {}) == []
    assert check_rhythm("home", at(10, 14, 20), history, NOW, {}) != []


def test_a_single_coincidence_is_no_rhythm() -> None:
    # one earlier post of the persona's near the other's habit; the rest at other times
    history = (
        posts("pro", 9, 0, range(6))
        + posts("home", 9, 5, range(6, 7), 10)
        + posts("home", 18, 0, range(7, 11), 20)
    )
    assert check_rhythm("home", at(12, 9, 10), history, NOW, {}) == []


def test_wraps_around_midnight() -> None:
    history = posts("pro", 23, 55, range(3)) + posts("home", 0, 5, range(4, 6), 10)
    assert check_rhythm("home", at(7, 0, 2), history, NOW, {}) != []


def test_schedule_without_a_new_post() -> None:
    history = posts("pro", 14, 30, range(3)) + posts("home", 14, 40, range(3, 6), 10)
    assert check_rhythm("home", None, history, NOW, {}) != []
    apart = posts("pro", 14, 30, range(3)) + posts("home", 16, 0, range(3, 6), 10)
    assert check_rhythm("home", None, apart, NOW, {}) == []


def test_severity_per_persona() -> None:
    history = posts("pro", 14, 30, range(3)) + posts("home", 14, 40, range(3, 5), 10)
    when = at(5, 14, 38)
    assert check_rhythm("home", when, history, NOW, {"fingerprint.rhythm": "off"}) == []
    blocked = check_rhythm("home", when, history, NOW, {"fingerprint": "block"})
    assert [f.severity for f in blocked] == ["block"]
