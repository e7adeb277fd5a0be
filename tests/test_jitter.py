"""slot_jitter: a random offset fixed at queueing, never into the past or another persona's
separation window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crosspost.jitter import Window, jitter_bounds, jittered
from crosspost.slots import next_free_slot

T = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
NOW = T - timedelta(days=1)
J = timedelta(minutes=7)


class Fixed:
    """Always draws the same end of the range: ``low`` or ``high``."""

    def __init__(self, end: str) -> None:
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return a if self.end == "low" else b


def test_offset_stays_within_the_jitter_and_varies() -> None:
    rng = random.Random(7)
    times = {jittered(T, J, NOW, [], rng) for _ in range(50)}
    assert all(abs(t - T) <= J for t in times)
    assert all(t.microsecond == 0 for t in times)  # whole seconds
    assert len(times) > 10  # not one fixed offset
    assert any(t < T for t in times) and any(t > T for t in times)


def test_same_seed_same_time() -> None:
    assert jittered(T, J, NOW, [], random.Random(3)) == jittered(T, J, NOW, [], random.Random(3))


def test_no_jitter_leaves_the_time() -> None:
    assert jittered(T, timedelta(0), NOW, [], Fixed("low")) == T


def test_never_into_the_past() -> None:
    now = T - timedelta(minutes=2)
    assert jittered(T, J, now, [], Fixed("low")) == now
    assert jitter_bounds(T, J, now, []) == (now, T + J)


def test_cut_at_the_windows_on_each_side() -> None:
    before = Window(T - timedelta(minutes=50), timedelta(minutes=45))  # ends at T - 5m
    after = Window(T + timedelta(minutes=48), timedelta(minutes=45))  # starts at T + 3m
    assert jitter_bounds(T, J, NOW, [before, after]) == (
        T - timedelta(minutes=5),
        T + timedelta(minutes=3),
    )
    assert jittered(T, J, NOW, [before, after], Fixed("low")) == T - timedelta(minutes=5)
    assert jittered(T, J, NOW, [before, after], Fixed("high")) == T + timedelta(minutes=3)


def test_a_time_inside_a_window_is_left_for_the_guard() -> None:
    inside = Window(T + timedelta(minutes=10), timedelta(minutes=45))
    assert jittered(T, J, NOW, [inside], Fixed("high")) == T


def test_a_jittered_slot_still_counts_as_taken() -> None:
    tz = ZoneInfo("UTC")
    after = datetime(2030, 3, 4, 6, 0, tzinfo=UTC)  # a Monday
    slots = ["daily 09:00"]
    taken = [datetime(2030, 3, 4, 9, 6, 40, tzinfo=UTC)]  # today's 09:00, jittered +6m40s
    assert next_free_slot(slots, tz, after, taken) == datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    assert next_free_slot(slots, tz, after, taken, J) == datetime(2030, 3, 5, 9, 0, tzinfo=UTC)


# -- queue ---------------------------------------------------------------------------------------


@pytest.fixture
def jittery(ws):  # type: ignore[no-untyped-def]
    text = (ws.profiles / "personal.toml").read_text()
    ws.write(
        "profiles/personal.toml",
        text.replace("strip_metadata", 'slot_jitter = "7m"\nstrip_metadata', 1),
    )
    return ws


def test_queue_stores_the_jittered_time_and_says_so(jittery) -> None:  # type: ignore[no-untyped-def]
    from crosspost.entries import text_entry
    from crosspost.queueing import queue_entry

    app = jittery.app()
    at = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    post, plan = queue_entry(
        app,
        text_entry("Bees are busy today."),
        "personal",
        ["home-bsky"],
        at.isoformat(),
        False,
        rng=Fixed("high"),
    )
    assert post.scheduled_at == at + J
    assert plan.when.note is not None and "slot_jitter ±7m" in plan.when.note
    assert "+7m" in plan.when.note
    # a persona without slot_jitter keeps its exact time
    post2, _ = queue_entry(
        app,
        text_entry("Tuesday reading list for everyone."),
        "professional",
        ["pro-x"],
        (at + timedelta(hours=5)).isoformat(),
        False,
        rng=Fixed("high"),
    )
    assert post2.scheduled_at == at + timedelta(hours=5)


def test_queue_does_not_jitter_into_the_other_personas_window(jittery) -> None:  # type: ignore[no-untyped-def]
    from crosspost.entries import text_entry
    from crosspost.queueing import queue_entry

    app = jittery.app()
    at = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    # the professional persona posts 48 minutes later; separation 45m leaves 3 minutes
    queue_entry(
        app,
        text_entry("Office hours moved this week."),
        "professional",
        ["pro-x"],
        (at + timedelta(minutes=48)).isoformat(),
        False,
    )
    post, plan = queue_entry(
        app,
        text_entry("Bees are busy today."),
        "personal",
        ["home-bsky"],
        at.isoformat(),
        False,
        rng=Fixed("high"),
    )
    assert post.scheduled_at == at + timedelta(minutes=3)
    assert not plan.report.blocked


def test_next_slot_output_shows_the_jittered_time(jittery) -> None:  # type: ignore[no-untyped-def]
    r = jittery.run(
        "queue",
        "--text",
        "Bees again.",
        "--persona",
        "personal",
        "--to",
        "home-bsky",
        "--next-slot",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    data = r.json()
    at = datetime.fromisoformat(data["scheduled_at"].replace("Z", "+00:00"))
    local = at.astimezone(ZoneInfo("America/Chicago"))
    slot = local.replace(hour=10, minute=0, second=0)
    assert local.weekday() == 5 and abs(local - slot) <= J
    if at != slot:
        assert "slot_jitter" in data["note"]
    # the next --next-slot takes the following Saturday, not the same slot again
    r2 = jittery.run(
        "queue",
        "--text",
        "Bees once more.",
        "--persona",
        "personal",
        "--to",
        "home-bsky",
        "--next-slot",
        "--format",
        "json",
    )
    at2 = datetime.fromisoformat(r2.json()["scheduled_at"].replace("Z", "+00:00"))
    assert timedelta(days=6) < at2 - at < timedelta(days=8)


def test_preview_names_the_jitter(jittery) -> None:  # type: ignore[no-untyped-def]
    r = jittery.run("preview", "--text", "Bees.", "--persona", "personal", "--to", "home-bsky")
    assert "slot_jitter ±7m" in r.out
    r = jittery.run(
        "preview",
        "--text",
        "Bees.",
        "--persona",
        "personal",
        "--to",
        "home-bsky",
        "--format",
        "json",
    )
    assert r.json()["slot_jitter"] == "7m"
    r = jittery.run(
        "preview",
        "--text",
        "News.",
        "--persona",
        "professional",
        "--to",
        "pro-x",
        "--format",
        "json",
    )
    assert r.json()["slot_jitter"] is None
