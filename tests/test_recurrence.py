"""Recurring posts: rules in local time, the next occurrence exactly once, the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from crosspost.claims import claim, record, resolve
from crosspost.errors import UsageError
from crosspost.models import Post, Recurrence
from crosspost.recurrence import Rule, parse_every, parse_until, with_end
from crosspost.series import continue_series
from crosspost.store import Store, Target

LONDON = ZoneInfo("Europe/London")
LEASE = timedelta(minutes=2)


# -- rules -----------------------------------------------------------------------------------


def test_weekly_0900_london_stays_0900_local_across_both_dst_changes():
    # 2027: clocks go forward on Sunday 28 March, back on Sunday 31 October
    rule = Rule("FREQ=WEEKLY", datetime(2027, 3, 15, 9, 0), "Europe/London")
    at = datetime(2027, 3, 15, 9, 0, tzinfo=LONDON).astimezone(UTC)
    seen = [at]
    while at < datetime(2027, 11, 15, tzinfo=UTC):
        nxt = rule.next_after(at)
        assert nxt is not None
        seen.append(nxt)
        at = nxt
    local = [t.astimezone(LONDON) for t in seen]
    assert {(t.hour, t.minute) for t in local} == {(9, 0)}
    assert {t.weekday() for t in local} == {0}
    utc_hours = {t.date().isoformat(): t.hour for t in seen}
    assert utc_hours["2027-03-22"] == 9  # GMT
    assert utc_hours["2027-03-29"] == 8  # BST, the Monday after the change
    assert utc_hours["2027-10-25"] == 8
    assert utc_hours["2027-11-01"] == 9  # GMT again
    assert all(
        b - a in (timedelta(days=7), timedelta(days=7, hours=1), timedelta(hours=167))
        for a, b in pairwise(seen)
    )


@pytest.mark.parametrize(
    ("every", "body"),
    [
        ("2w", "FREQ=WEEKLY;INTERVAL=2"),
        ("1w", "FREQ=WEEKLY"),
        ("weekly", "FREQ=WEEKLY"),
        ("fortnightly", "FREQ=WEEKLY;INTERVAL=2"),
        ("3d", "FREQ=DAILY;INTERVAL=3"),
        ("48h", "FREQ=DAILY;INTERVAL=2"),
        ("1mo", "FREQ=MONTHLY"),
        ("2 months", "FREQ=MONTHLY;INTERVAL=2"),
        ("FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=WEEKLY;BYDAY=MO,TH"),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=1", "FREQ=MONTHLY;BYMONTHDAY=1"),
    ],
)
def test_every_forms(every, body):
    assert parse_every(every) == body


@pytest.mark.parametrize(
    ("every", "why"),
    [
        ("", "empty"),
        ("often", "not a repeat interval"),
        ("6h", "at most once a day"),
        ("36h", "whole days"),
        ("0w", "at least 1"),
        ("FREQ=HOURLY", "at most once a day"),
        ("FREQ=WEEKLY;BYDAY=XX", "not a valid RRULE"),
        ("FREQ=DAILY;BYHOUR=9,17", "one BYHOUR"),
        ("FREQ=DAILY;COUNT=3", "--count"),
        ("DTSTART=20270101T090000;FREQ=DAILY", "DTSTART"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never"),
    ],
)
def test_bad_every_says_why(every, why):
    with pytest.raises(UsageError, match=why) as e:
        parse_every(every)
    assert "write it like" in (e.value.hint or "")


def test_count_and_until_end_the_rule():
    start = datetime(2027, 1, 4, 9, 0)
    first = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)
    counted = Rule(with_end("FREQ=WEEKLY", None, 3), start, "Europe/London")
    second = counted.next_after(first)
    third = counted.next_after(second)
    assert [second.date().isoformat(), third.date().isoformat()] == ["2027-01-11", "2027-01-18"]
    assert counted.next_after(third) is None
    until = parse_until("2027-01-18", LONDON, datetime(2027, 1, 1, tzinfo=UTC))
    ended = Rule(with_end("FREQ=WEEKLY", until, None), start, "Europe/London")
    assert ended.next_after(second) == third  # the last day is included
    assert ended.next_after(third) is None
    assert ended.describe() == "every week at 09:00 Europe/London until 2027-01-18"
    assert counted.describe() == "every week at 09:00 Europe/London, 3 times"
    with pytest.raises(UsageError, match="not both"):
        with_end("FREQ=WEEKLY", until, 3)


# -- the next occurrence ---------------------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'q.db'}")


T0 = datetime(2030, 3, 18, 9, 0, tzinfo=LONDON).astimezone(UTC)  # a Monday


def enqueue_series(store: Store, rule: str = "FREQ=WEEKLY", at: datetime = T0) -> Post:
    series = Recurrence(
        persona="professional",
        rule=rule,
        dtstart=at.astimezone(LONDON).replace(tzinfo=None).isoformat(),
        timezone="Europe/London",
    )
    post = Post(
        persona="professional",
        kind="short",
        body="Office hours today.",
        slug="oh",
        scheduled_at=at,
        share={"pro-x": "Office hours today."},
    )
    return store.enqueue(
        post, [Target("pro-x", "x", "share"), Target("pro-m", "mastodon", "share")], series=series
    )


def occurrences(store: Store, series_id: int) -> list[Post]:
    with store.read() as s:
        q = select(Post).where(Post.series_id == series_id).order_by(Post.occurrence)
        return list(s.exec(q))


def publish_all(store: Store, now: datetime) -> None:
    for c in claim(store, "w1", now, LEASE, {}, 4):
        assert record(store, c, state="published", now=now, remote_id="r", remote_url="u")


def test_publishing_an_occurrence_creates_the_next_once(store):
    first = enqueue_series(store)
    assert (first.series_id, first.occurrence) == (1, 1)
    (a, b) = claim(store, "w1", T0, LEASE, {}, 4)
    assert record(store, a, state="published", now=T0, remote_id="1")
    assert len(occurrences(store, 1)) == 1, "not before every target has finished"
    assert record(store, b, state="published", now=T0, remote_id="2")
    posts = occurrences(store, 1)
    assert [p.occurrence for p in posts] == [1, 2]
    nxt = posts[1]
    assert nxt.status == "queued" and nxt.needs_check and nxt.body == first.body
    assert nxt.scheduled_at == T0 + timedelta(days=7)
    _, ds = store.get(nxt.id)
    assert {d.target: d.state for d in ds} == {"pro-x": "queued", "pro-m": "queued"}
    _, old = store.get(first.id)
    assert not {d.idempotency_key for d in ds} & {d.idempotency_key for d in old}
    # a stale claim (lease lost) and a second look change nothing
    assert not record(store, b, state="published", now=T0, remote_id="2")
    with store.write_conn() as conn:
        assert continue_series(conn, first.id, T0) is None
    assert len(occurrences(store, 1)) == 2


def test_after_downtime_only_the_next_future_occurrence_is_created(store):
    enqueue_series(store, rule="FREQ=DAILY")
    late = T0 + timedelta(days=5, hours=2)  # five occurrences were missed
    publish_all(store, late)
    posts = occurrences(store, 1)
    assert len(posts) == 2
    assert posts[1].scheduled_at == T0 + timedelta(days=6)


def test_the_series_ends_with_its_rule(store):
    enqueue_series(store, rule="FREQ=WEEKLY;COUNT=2")
    publish_all(store, T0)
    publish_all(store, T0 + timedelta(days=7))
    assert [p.status for p in occurrences(store, 1)] == ["published", "published"]
    with store.read() as s:
        series = s.get(Recurrence, 1)
    assert series.ended_at is not None and "no more occurrences" in series.ended_reason


def test_failed_and_resolved_occurrences_go_on(store):
    first = enqueue_series(store)
    for c in claim(store, "w1", T0, LEASE, {}, 4):
        record(store, c, state="unknown", now=T0, error="timed out")
    assert len(occurrences(store, 1)) == 1, "an unknown outcome waits for the user"
    resolve(store, first.id, "pro-x", "https://x.example/1", T0)
    resolve(store, first.id, "pro-m", "https://m.example/1", T0)
    assert [p.occurrence for p in occurrences(store, 1)] == [1, 2]


def test_cancel_skips_one_occurrence_and_series_stops_them_all(store):
    first = enqueue_series(store)
    store.cancel(first.id)
    posts = occurrences(store, 1)
    assert [p.status for p in posts] == ["cancelled", "queued"]
    _, cancelled = store.cancel(first.id, series=True)
    assert cancelled == [f"pro-x (post {posts[1].id})", f"pro-m (post {posts[1].id})"]
    assert [p.status for p in occurrences(store, 1)] == ["cancelled", "cancelled"]
    with store.read() as s:
        assert s.get(Recurrence, 1).ended_at is not None
    with store.write_conn() as conn:
        assert continue_series(conn, posts[1].id, T0) is None


def test_crash_between_publish_and_mark_done_still_makes_one_next(store):
    """The worker dies after the platform took the post: the lease runs out, the next claim
    asks the platform (reconcile) and records it; the next occurrence comes with that."""
    enqueue_series(store)
    claims = claim(store, "w1", T0, LEASE, {}, 4)
    assert len(claims) == 2  # ...and the worker is killed before recording anything
    later = T0 + LEASE + timedelta(seconds=1)
    again = claim(store, "w2", later, LEASE, {}, 4)
    assert all(c.reconcile for c in again) and len(again) == 2
    for c in again:
        record(store, c, state="published", now=later, remote_id="found")
    for c in claims:  # the dead worker's results, were they ever written, are fenced off
        assert not record(store, c, state="published", now=later, remote_id="old")
    assert [p.occurrence for p in occurrences(store, 1)] == [1, 2]


# -- the CLI ---------------------------------------------------------------------------------


def count_posts(ws) -> int:
    return ws.run("list", "--format", "json").json()["total"]


def test_queue_every_until_shows_in_list_and_show(ws):
    r = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        "Office hours on Monday.",
        "--to",
        "pro-x",
        "--at",
        "2099-01-05 09:00",
        "--every",
        "2w",
        "--until",
        "2099-03-01",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    q = r.json()
    assert q["recurrence"]["occurrence"] == 1
    assert q["recurrence"]["rule"] == "FREQ=WEEKLY;INTERVAL=2;UNTIL=20990301T235959"
    every = "every 2 weeks at 09:00 America/Chicago until 2099-03-01"
    assert q["recurrence"]["every"] == every
    listed = ws.run("list", "--format", "json").json()["posts"][0]
    assert listed["recurrence"]["every"] == every
    assert "every 2 weeks" in ws.run("list").out
    assert f"repeats: ↻ {every} (#1)" in ws.run("show", str(q["id"])).out
    r = ws.run("cancel", str(q["id"]), "--series")
    assert r.code == 0 and "stopped the series" in r.out
    shown = ws.run("show", str(q["id"]), "--format", "json").json()
    assert shown["recurrence"]["ended"] is True and shown["status"] == "cancelled"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--every", "sometimes"], "--every 'sometimes': not a repeat interval"),
        (["--every", "4h"], "at most once a day"),
        (["--count", "3"], "they go with --every"),
        (["--every", "1w", "--count", "0"], "--count must be at least 1"),
        (["--every", "1w", "--count", "2", "--until", "2099-03-01"], "not both"),
        (["--every", "1w", "--until", "2099-01-01"], "before the first post"),
        (["--every", "1w", "--until", "someday"], "not a time I understand"),
    ],
)
def test_bad_recurrence_is_one_readable_error_and_queues_nothing(ws, args, message):
    r = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        "Office hours.",
        "--to",
        "pro-x",
        "--at",
        "2099-01-05 09:00",
        *args,
    )
    assert r.code == 2, (r.out, r.err)
    assert message in r.err and "Traceback" not in r.err
    assert count_posts(ws) == 0


def test_a_blog_entry_does_not_recur(ws):
    entry = ws.write("e.md", "---\ntitle: A title\n---\nSome text.\n")
    r = ws.run("queue", str(entry), "--persona", "professional", "--at", "+2h", "--every", "1w")
    assert r.code == 2 and "repeats shares only" in r.err
    assert count_posts(ws) == 0


def weekly_office_hours(ws, text: str = "Office hours today.") -> int:
    """A weekly share of the professional persona from Monday 2099-01-05 09:00 (Chicago)."""
    r = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        text,
        "--to",
        "pro-x",
        "--at",
        "2099-01-05 09:00",
        "--every",
        "1w",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    return int(r.json()["id"])


def publish_first(app, post_id: int) -> None:  # type: ignore[no-untyped-def]
    """The daemon's part, by hand: claim the first occurrence at its time and publish it."""
    at = app.store.get(post_id)[0].scheduled_at
    (c,) = claim(app.store, "w", at, LEASE, {}, 4)
    record(app.store, c, state="published", now=at, remote_id="1")


def test_a_new_occurrence_is_checked_and_held_when_the_guard_blocks_it(ws):
    """The daemon runs the queue-time checks on an occurrence it created: one that would go
    out within another persona's separation window is held, with the finding audited."""
    from crosspost.queueing import check_new_occurrences

    first = weekly_office_hours(ws)
    # the personal persona posts ten minutes after next week's occurrence
    r = ws.run(
        "queue",
        "--persona",
        "personal",
        "--text",
        "Hives are quiet.",
        "--to",
        "home-bsky",
        "--at",
        "2099-01-12 09:10",
    )
    assert r.code == 0, r.err
    app = ws.app()
    publish_first(app, first)
    posts = occurrences(app.store, 1)
    assert posts[1].needs_check
    assert check_new_occurrences(app) == [posts[1].id]
    held, _ = app.store.get(posts[1].id)
    assert held.status == "held" and not held.needs_check
    assert "separation" in held.note and "Hives" not in held.note
    audit = ws.run("audit", "--format", "json").json()["records"]
    assert audit[0]["kind"] == "blocked" and audit[0]["post_id"] == posts[1].id
    assert check_new_occurrences(app) == []  # checked once


def test_a_clean_occurrence_passes_its_check(ws):
    from crosspost.queueing import check_new_occurrences

    app = ws.app()
    publish_first(app, weekly_office_hours(ws))
    assert check_new_occurrences(app) == []
    nxt = occurrences(app.store, 1)[1]
    assert nxt.status == "queued" and not nxt.needs_check
    local = nxt.scheduled_at.astimezone(ZoneInfo("America/Chicago"))
    assert (local.date().isoformat(), local.hour) == ("2099-01-12", 9)


class _End:
    """Draws one end of the jitter's range: ``low`` or ``high``."""

    def __init__(self, end: str) -> None:
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return a if self.end == "low" else b


def test_slot_jitter_moves_every_occurrence_only_later(ws):
    """A weekly post at the rule's exact minute every week lines up with the other persona
    as an unjittered slot would: each occurrence is moved, the first at queueing and each
    later one when the daemon checks it. Never earlier than the rule's time: the next
    occurrence is the rule's first time after the one before, so an occurrence moved to 08:57
    would be followed by 09:00 the same day."""
    from crosspost.entries import text_entry
    from crosspost.queueing import Repeat, check_new_occurrences, queue_entry

    chicago = ZoneInfo("America/Chicago")

    def local(post: Post) -> tuple[str, int, int]:
        t = post.scheduled_at.astimezone(chicago)
        return (t.date().isoformat(), t.hour, t.minute)

    pro = ws.profiles / "professional.toml"
    pro.write_text('slot_jitter = "7m"\n' + pro.read_text())
    app = ws.app()
    first, _ = queue_entry(
        app,
        text_entry("Office hours today."),
        "professional",
        ["pro-x"],
        "2099-01-05 09:00",
        False,
        rng=_End("low"),
        repeat=Repeat("1w"),
    )
    assert first.id is not None and local(first) == ("2099-01-05", 9, 0)
    publish_first(app, first.id)
    assert check_new_occurrences(app, rng=_End("low")) == []
    second = occurrences(app.store, 1)[1]
    assert local(second) == ("2099-01-12", 9, 0), "not the same day again"
    publish_first(app, second.id)
    assert check_new_occurrences(app, rng=_End("high")) == []
    third = occurrences(app.store, 1)[2]
    assert local(third) == ("2099-01-19", 9, 7)
    assert third.status == "queued" and not third.needs_check
    assert "slot_jitter ±7m" in (third.note or "")
    (d,) = app.store.get(third.id)[1]
    assert d.due_at == third.scheduled_at
    # the one after a later-moved occurrence starts again from the rule's minute
    publish_first(app, third.id)
    check_new_occurrences(app, rng=_End("low"))
    assert [local(p) for p in occurrences(app.store, 1)][3:] == [("2099-01-26", 9, 0)]


def test_an_edit_carries_on_to_later_occurrences_and_keeps_them_share_only(ws):
    first = weekly_office_hours(ws)
    r = ws.run("edit", str(first), "--text", "Office hours today, room 2.")
    assert r.code == 0, r.err
    r = ws.run("edit", str(first), "--text", "Office hours.", "--to", "blog,pro-x")
    assert r.code == 2 and "repeats shares only" in r.err
    app = ws.app()
    publish_first(app, first)
    nxt = occurrences(app.store, 1)[1]
    assert nxt.body == "Office hours today, room 2."


def test_one_occurrence_whose_check_fails_leaves_the_others_their_check(ws, monkeypatch):
    """A surprise in one post's check is logged; the next occurrences are still checked."""
    import crosspost.checking as checking
    from crosspost.queueing import check_new_occurrences

    app = ws.app()
    firsts = [weekly_office_hours(ws, text) for text in ("Office hours today.", "Quiet week.")]
    at = app.store.get(firsts[0])[0].scheduled_at
    for c in claim(app.store, "w", at, LEASE, {}, 4):
        record(app.store, c, state="published", now=at, remote_id=f"r{c.post_id}")
    real = checking.check_entry

    def check_entry(personas, persona, entry, **kw):  # type: ignore[no-untyped-def]
        if entry.body == "Office hours today.":
            raise RuntimeError("a parser's bug")
        return real(personas, persona, entry, **kw)

    monkeypatch.setattr(checking, "check_entry", check_entry)
    assert check_new_occurrences(app) == []
    still = app.store.needing_check(50)
    assert [p.body for p in still] == ["Office hours today."], "the other one was checked"
