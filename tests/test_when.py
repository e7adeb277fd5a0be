from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crosspost.errors import UsageError
from crosspost.slots import next_free_slot, parse_slot
from crosspost.when import parse_when

CHI = ZoneInfo("America/Chicago")
BER = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2026-03-02 09:00", CHI, datetime(2026, 3, 2, 15, 0, tzinfo=UTC)),
        ("2026-03-02T09:00", BER, datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
        ("2026-03-02T09:00:00+00:00", CHI, datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        ("2026-03-02T09:00Z", CHI, datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        ("+2h", CHI, NOW + timedelta(hours=2)),
        ("+30m", CHI, NOW + timedelta(minutes=30)),
        ("+1h30m", CHI, NOW + timedelta(minutes=90)),
        ("now", CHI, NOW),
        ("tomorrow 09:00", CHI, datetime(2026, 3, 2, 15, 0, tzinfo=UTC)),
        ("today 18:00", CHI, datetime(2026, 3, 2, 0, 0, tzinfo=UTC)),
        ("mon 08:30", CHI, datetime(2026, 3, 2, 14, 30, tzinfo=UTC)),
    ],
)
def test_forms(text, tz, expected):
    assert parse_when(text, tz, NOW).utc == expected


@pytest.mark.parametrize(
    ("text", "tz", "expected_utc", "note"),
    [
        # spring forward: 02:30 does not exist, moved forward by the gap
        ("2026-03-08 02:30", CHI, datetime(2026, 3, 8, 8, 30, tzinfo=UTC), "spring forward"),
        ("2026-03-29 02:30", BER, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "spring forward"),
        # fall back: 01:30 happens twice, the first (daylight) occurrence is used
        ("2026-11-01 01:30", CHI, datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "first occurrence"),
        ("2026-10-25 02:30", BER, datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "first occurrence"),
    ],
)
def test_dst_rule(text, tz, expected_utc, note):
    w = parse_when(text, tz, NOW)
    assert w.utc == expected_utc
    assert w.note and note in w.note


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-01-01 09:00", "in the past"),
        ("yesterday 09:00", "unknown day"),
        ("next week", "not a time I understand"),
        ("2026-02-30 09:00", "day is out of range"),
        ("+soon", "not a relative time"),
    ],
)
def test_bad_times(text, expected):
    with pytest.raises(UsageError, match=expected):
        parse_when(text, CHI, NOW)


def test_slots():
    days, t = parse_slot("Mon-Fri 08:30")
    assert days == frozenset(range(5)) and (t.hour, t.minute) == (8, 30)
    assert parse_slot("Sat,Sun 10:00")[0] == frozenset({5, 6})
    assert parse_slot("09:15")[0] == frozenset(range(7))
    assert parse_slot("Fri-Mon 07:00")[0] == frozenset({4, 5, 6, 0})
    with pytest.raises(ValueError):
        parse_slot("Mon 25:00")


def test_next_free_slot_skips_taken():
    # Sunday 2026-03-01 12:00 UTC; next weekday slots are Monday 08:30 and 12:15 Chicago
    first = next_free_slot(["Mon-Fri 08:30", "Mon-Fri 12:15"], CHI, NOW, [])
    assert first == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    second = next_free_slot(["Mon-Fri 08:30", "Mon-Fri 12:15"], CHI, NOW, [first])
    assert second == datetime(2026, 3, 2, 18, 15, tzinfo=UTC)
