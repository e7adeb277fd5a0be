"""Per-account caps: refused at queue time with the next allowed time, kept by the daemon
(in its claim transaction) across restarts, for posts queued before the cap was set."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import feedparser
import pytest
from sqlmodel import select

from crosspost.caps import Cap, first_fit, next_after_past, next_minute, violations
from crosspost.claims import CapWait, claim, record, record_parts
from crosspost.models import Delivery, Post
from crosspost.store import Store, Target
from crosspost.when import format_local
from tests import test_reliability
from tests.support.procs import env_for
from tests.test_daemon import queue_json, set_due_now, summary

LEASE = timedelta(minutes=2)
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
CHICAGO = ZoneInfo("America/Chicago")


def cap(daily: int | None = None, interval: timedelta | None = None) -> Cap:
    return Cap("capped", daily, interval, UTC)


# -- the arithmetic ------------------------------------------------------------------------------


def test_daily_cap_is_a_rolling_24_hours():
    c = cap(daily=3)
    times = [T0, T0 + H, T0 + 2 * H]
    assert violations(c, times, T0 + 3 * H) == ["daily_cap 3 posts per 24 h"]
    # the first post leaves the window exactly 24 h after it went out
    assert first_fit(c, times, T0 + 3 * H) == T0 + 24 * H
    assert next_after_past(c, times, T0 + 3 * H) == T0 + 24 * H
    assert not violations(c, times, T0 + 24 * H)
    # a post before them all would make the window that ends with them hold four
    assert violations(c, times, T0 - 12 * H)
    assert not violations(c, times, T0 - 24 * H)


def test_min_interval_on_both_sides_and_with_the_daily_cap():
    c = cap(interval=timedelta(minutes=30))
    times = [T0, T0 + timedelta(minutes=50)]
    assert violations(c, times, T0 + timedelta(minutes=20)) == ["min_interval 30m"]
    # 30 min after the first is too close to the second; 30 min after the second fits
    assert first_fit(c, times, T0 + timedelta(minutes=20)) == T0 + timedelta(minutes=80)
    both = cap(daily=2, interval=timedelta(minutes=30))
    assert first_fit(both, times, T0 + timedelta(minutes=55)) == T0 + 24 * H
    assert next_after_past(both, [T0], T0 + timedelta(minutes=1)) == T0 + timedelta(minutes=30)


def test_next_minute_rounds_up_only_when_needed():
    assert next_minute(T0) == T0
    assert next_minute(T0 + timedelta(seconds=1)) == T0 + timedelta(minutes=1)


# -- the claim ------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'q.db'}")


def enqueue_shares(store: Store, n: int, at: datetime, target: str = "capped") -> list[int]:
    ids = []
    for i in range(n):
        post = Post(persona="p", kind="note", body=f"note {i}", slug=f"n{i}", scheduled_at=at)
        ids.append(store.enqueue(post, [Target(target, "feed", "share")]).id)
    return ids


def due(store: Store) -> dict[int, tuple[str, datetime, str | None]]:
    with store.read() as s:
        return {d.post_id: (d.state, d.due_at, d.last_error) for d in s.exec(select(Delivery))}


def test_claim_takes_what_fits_and_moves_the_rest_to_the_next_allowed_time(store):
    ids = enqueue_shares(store, 4, T0)
    other = enqueue_shares(store, 1, T0, target="free")
    caps = {"capped": cap(daily=2)}
    waits: list[CapWait] = []
    claims = claim(store, "w", T0, LEASE, {}, 8, caps=caps, waits=waits)
    assert sorted(c.post_id for c in claims) == sorted([*ids[:2], *other])
    assert [(w.post_id, w.until) for w in waits] == [(ids[2], T0 + 24 * H), (ids[3], T0 + 24 * H)]
    state, at, note = due(store)[ids[2]]
    assert state == "queued" and at == T0 + 24 * H
    assert note is not None and "account 'capped' is at its cap (daily_cap 2" in note
    for c in claims:
        record(store, c, state="published", now=T0, remote_id="r")
    # a restart finds nothing more to do before the window has passed ...
    assert claim(store, "w2", T0 + 23 * H, LEASE, {}, 8, caps=caps) == []
    # ... and then the two that waited fit
    later = claim(store, "w2", T0 + 24 * H, LEASE, {}, 8, caps=caps)
    assert sorted(c.post_id for c in later) == ids[2:]


def test_a_thread_counts_as_one_post(store):
    ids = enqueue_shares(store, 3, T0)
    caps = {"capped": cap(daily=2)}
    (c,) = claim(store, "w", T0, LEASE, {}, 1, caps=caps)
    parts = [
        {"text": f"part {k}", "remote_id": f"r{k}", "url": None, "cid": None} for k in (1, 2, 3)
    ]
    assert record_parts(store, c, parts)
    record(store, c, state="published", now=T0, remote_id="r1")
    (second,) = claim(store, "w", T0 + H, LEASE, {}, 8, caps=caps)
    assert second.post_id == ids[1], "three replies took one place of two"
    assert due(store)[ids[2]][1] == T0 + 24 * H


def test_posts_going_out_count_and_expired_leases_are_not_held_back(store):
    ids = enqueue_shares(store, 2, T0)
    caps = {"capped": cap(interval=timedelta(minutes=30))}
    (first,) = claim(store, "w", T0, LEASE, {}, 1, caps=caps)
    # the first is in flight (not recorded): the second waits for it
    assert claim(store, "w", T0 + timedelta(minutes=1), LEASE, {}, 8, caps=caps) == []
    assert due(store)[ids[1]][1] == T0 + timedelta(minutes=30)
    # its worker died: the first is claimed again to ask the platform, whatever the cap
    again = claim(store, "w2", T0 + timedelta(minutes=5), LEASE, {}, 8, caps=caps)
    assert [(c.post_id, c.reconcile) for c in again] == [(first.post_id, True)]


def test_an_unclear_post_counts_until_it_is_a_day_old(store):
    """An ``unknown`` delivery may have gone out: the platform counted it, so the cap does."""
    ids = enqueue_shares(store, 2, T0)
    caps = {"capped": cap(interval=timedelta(hours=2))}
    (first,) = claim(store, "w", T0, LEASE, {}, 1, caps=caps)
    record(store, first, state="unknown", now=T0 + timedelta(minutes=1), error="reset")
    assert claim(store, "w", T0 + H, LEASE, {}, 8, caps=caps) == []
    state, at, _ = due(store)[ids[1]]
    assert state == "queued" and at == T0 + timedelta(minutes=121)
    (second,) = claim(store, "w", at, LEASE, {}, 8, caps=caps)
    assert second.post_id == ids[1]


def test_a_post_waiting_to_be_looked_up_counts_but_not_against_itself(store):
    """An attempt whose answer never came is queued again to be looked up (it may be out):
    the platform may well have counted it, so another post of the account waits for the
    cap; the delivery itself is claimed, since looking it up (or sending it after all) is
    still one post."""
    ids = enqueue_shares(store, 2, T0)
    caps = {"capped": cap(interval=timedelta(hours=2))}
    (first,) = claim(store, "w", T0, LEASE, {}, 1, caps=caps)
    at = T0 + timedelta(minutes=1)
    record(store, first, state="queued", now=at, due_at=at, error="timeout", needs_lookup=True)
    claims = claim(store, "w", T0 + H, LEASE, {}, 8, caps=caps)
    assert [(c.post_id, c.reconcile) for c in claims] == [(first.post_id, True)]
    state, when, _ = due(store)[ids[1]]
    assert state == "queued" and when == T0 + timedelta(minutes=121)


def test_queue_counts_an_unclear_post_against_the_cap(ws):
    set_caps(ws, min_interval='"2h"')
    first = queue_json(
        ws, "--persona", "personal", "--text", "One.", "--at", "+1h", "--to", "home-feed"
    )
    store = ws.app().store
    with store.write() as s:
        (d,) = s.exec(select(Delivery).where(Delivery.post_id == first["id"]))
        d.state, d.updated_at = "unknown", datetime.now(UTC)
        s.add(d)
    r = queue_note(ws, "Two.", "+30m")
    assert r.code == 1 and "min_interval 2h" in r.err, r.err
    assert "unclear" in r.err


# -- queue time -----------------------------------------------------------------------------------


def set_caps(ws, **caps: str) -> None:
    path = ws.profiles / "personal.toml"
    lines = "".join(f"{k} = {v}\n" for k, v in caps.items())
    text = path.read_text().replace(
        'path = "site-home/feed.xml"\n', f'path = "site-home/feed.xml"\n{lines}'
    )
    path.write_text(text)


def queue_note(ws, text: str, at: str):  # type: ignore[no-untyped-def]
    return ws.run("queue", "--persona", "personal", "--text", text, "--at", at, "--to", "home-feed")


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_queue_refuses_a_post_over_the_daily_cap_naming_the_next_allowed_time(ws):
    set_caps(ws, daily_cap="2")
    first = queue_json(
        ws, "--persona", "personal", "--text", "One.", "--at", "+1h", "--to", "home-feed"
    )
    queue_json(ws, "--persona", "personal", "--text", "Two.", "--at", "+2h", "--to", "home-feed")
    r = queue_note(ws, "Three.", "+3h")
    assert r.code == 1, r.err
    allowed = next_minute(utc(first["scheduled_at"]) + 24 * H)
    assert "account 'home-feed'" in r.err and "daily_cap 2 posts per 24 h" in r.err
    assert f"the next allowed time is {format_local(allowed, CHICAGO)}" in r.err
    assert "Traceback" not in r.err
    assert ws.run("list", "--format", "json").json()["total"] == 2, "nothing was queued"
    # the time it named is accepted
    local = allowed.astimezone(CHICAGO).strftime("%Y-%m-%d %H:%M")
    assert queue_note(ws, "Three.", local).code == 0


def test_queue_refuses_a_post_too_close_to_another_and_edit_keeps_the_cap(ws):
    set_caps(ws, min_interval='"30m"')
    first = queue_json(
        ws, "--persona", "personal", "--text", "One.", "--at", "+1h", "--to", "home-feed"
    )
    r = queue_note(ws, "Two.", "+1h10m")
    assert r.code == 1 and "min_interval 30m" in r.err, r.err
    allowed = next_minute(utc(first["scheduled_at"]) + timedelta(minutes=30))
    assert format_local(allowed, CHICAGO) in r.err
    second = queue_json(
        ws, "--persona", "personal", "--text", "Two.", "--at", "+2h", "--to", "home-feed"
    )
    moved = ws.run("reschedule", str(second["id"]), "--at", "+1h15m")
    assert moved.code == 1 and "min_interval" in moved.err, moved.err
    assert ws.run("reschedule", str(first["id"]), "--at", "+3h").code == 0, "not with itself"


# -- the daemon -----------------------------------------------------------------------------------


def shift_back(ws, by: timedelta) -> None:
    """Move every time in the store back, as if ``by`` had passed."""
    store = ws.app().store
    with store.write() as s:
        for d in s.exec(select(Delivery)):
            d.due_at -= by
            if d.published_at is not None:
                d.published_at -= by
            s.add(d)
        for p in s.exec(select(Post)):
            p.scheduled_at -= by
            s.add(p)


def targets(ws, post_id: int) -> dict:
    return ws.run("show", str(post_id), "--format", "json").json()["targets"][0]


def test_daemon_holds_back_posts_queued_before_the_cap_across_restarts(ws):
    posts = [
        queue_json(
            ws, "--persona", "personal", "--text", t, "--at", f"+{i + 1}h", "--to", "home-feed"
        )
        for i, t in enumerate(["One.", "Two.", "Three."])
    ]
    set_caps(ws, daily_cap="2")  # after queueing: the daemon has to keep it
    now = datetime.now(UTC)
    for i, p in enumerate(posts):
        set_due_now(ws, p["id"], now - timedelta(minutes=3 - i))
    r = ws.run("daemon", "--once")
    assert r.code == 0, "waiting for a cap is no failure"
    assert summary(r) == (
        "targets: published 2, failed 0, blocked 0, unknown 0, held 0, retrying 0, waiting 1"
    )
    last = targets(ws, posts[2]["id"])
    assert last["state"] == "queued" and last["attempts"] == 0
    assert "account 'home-feed' is at its cap (daily_cap 2 posts per 24 h)" in last["error"]
    published = min(utc(targets(ws, p["id"])["published_at"]) for p in posts[:2])
    # counted from when the first was claimed, just before it went out
    assert abs(utc(last["due_at"]) - (published + 24 * H)) < timedelta(seconds=5)
    listed = ws.run("list", "--all", "--format", "json").json()["posts"]
    assert [p["status"] for p in listed] == ["published", "published", "queued"]
    shown = ws.run("list")
    assert f"home-feed:queued (next {format_local(utc(last['due_at']), CHICAGO)})" in shown.out
    assert "is at its cap (daily_cap 2" in ws.run("show", str(posts[2]["id"])).out

    # a restart changes nothing: still two in the last 24 h
    again = ws.run("daemon", "--once")
    assert again.code == 0 and "published 0" in summary(again), again.err
    assert targets(ws, posts[2]["id"])["state"] == "queued"

    # a day later it goes out, although it was scheduled more than max_lateness ago
    shift_back(ws, 24 * H)
    later = ws.run("daemon", "--once")
    assert later.code == 0, later.err
    assert summary(later).startswith("targets: published 1, failed 0, blocked 0, unknown 0, held 0")
    done = targets(ws, posts[2]["id"])
    assert done["state"] == "published" and done["error"] is None


def test_daemon_keeps_min_interval_then_publishes_when_allowed(ws):
    set_caps(ws, min_interval='"30m"')
    a = queue_note(ws, "One.", "+1h")
    b = queue_note(ws, "Two.", "+2h")
    assert a.code == 0 and b.code == 0, a.err + b.err
    ids = [p["id"] for p in ws.run("list", "--format", "json").json()["posts"]]
    now = datetime.now(UTC)
    set_due_now(ws, ids[0], now - timedelta(minutes=2))
    set_due_now(ws, ids[1], now - timedelta(minutes=1))
    r = ws.run("daemon", "--once")
    assert "published 1" in summary(r) and "waiting 1" in summary(r), r.err
    waiting = next(targets(ws, i) for i in ids if targets(ws, i)["state"] == "queued")
    went = next(targets(ws, i) for i in ids if targets(ws, i)["state"] == "published")
    gap = utc(waiting["due_at"]) - utc(went["published_at"])
    assert abs(gap - timedelta(minutes=30)) < timedelta(seconds=5)
    shift_back(ws, timedelta(minutes=31))
    assert "published 1" in summary(ws.run("daemon", "--once"))
    assert {targets(ws, i)["state"] for i in ids} == {"published"}


# -- several daemons on PostgreSQL ----------------------------------------------------------------

pg_url = test_reliability.pg_url


@pytest.mark.postgres
def test_concurrent_claims_on_postgresql_never_exceed_the_cap(pg_url):
    """Four claimers (four daemons' connections) race for the room of eight accounts, one
    delivery per claim: together they take exactly each account's cap."""
    stores = [Store(pg_url) for _ in range(4)]
    accounts = [f"capped{k}" for k in range(8)]
    for a in accounts:
        enqueue_shares(stores[0], 10, T0, target=a)
    caps = {a: Cap(a, 3, None, UTC) for a in accounts}
    start = threading.Barrier(len(stores))
    taken: list[list[str]] = [[] for _ in stores]

    def run(i: int) -> None:
        start.wait()
        for _ in range(100):
            got = claim(stores[i], f"w{i}", T0, LEASE, {"feed": 1}, 1, caps=caps)
            taken[i] += [c.target for c in got]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    per_account = Counter(a for got in taken for a in got)
    assert per_account == dict.fromkeys(accounts, 3), per_account
    with stores[0].read() as s:
        rows = list(s.exec(select(Delivery)))
    assert Counter(d.state for d in rows) == {"publishing": 24, "queued": 56}
    assert {d.due_at for d in rows if d.state == "queued"} == {T0 + 24 * H}
    for st in stores:
        st.engine.dispose()


FEED_PERSONA = """
display_name = "Ana Bee"
timezone = "America/Chicago"

[identity]
names = ["Ana Bee"]

[[accounts]]
name = "capped-feed"
platform = "feed"
path = "site/feed.xml"
daily_cap = 3
"""


@pytest.mark.postgres
def test_two_daemons_on_postgresql_keep_the_daily_cap_across_restarts(tmp_path, pg_url):
    root = tmp_path / "ws"
    (root / "profiles").mkdir(parents=True)
    (root / "profiles" / "home.toml").write_text(FEED_PERSONA)
    config = root / "config.toml"
    config.write_text(f'profiles_dir = "profiles"\ndata_dir = "data"\ndatabase_url = "{pg_url}"\n')
    from crosspost.app import App

    store = App(config).store
    now = datetime.now(UTC)
    for i in range(12):
        post = Post(
            persona="home",
            kind="short",
            body=f"Note {i} from the hives.",
            slug=f"note-{i}",
            scheduled_at=now,
        )
        store.enqueue(post, [Target("capped-feed", "feed", "share")])
    store.engine.dispose()
    env = env_for(tmp_path)

    def two_daemons() -> None:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "crosspost", "--config", str(config), "daemon", "--once"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err[-2000:]

    two_daemons()
    with App(config).store.read() as s:
        rows = list(s.exec(select(Delivery)))
    assert sum(d.state == "published" for d in rows) == 3
    feed = feedparser.parse((root / "site" / "feed.xml").read_text())
    assert len(feed.entries) == 3, "the platform received three posts, not more"
    waiting = [d for d in rows if d.state == "queued"]
    assert len(waiting) == 9 and all("is at its cap (daily_cap 3" in d.last_error for d in waiting)
    first = min(d.published_at for d in rows if d.published_at is not None)
    assert all(d.due_at >= first + 24 * H - timedelta(seconds=5) for d in waiting)

    two_daemons()  # restarted: still three in the last 24 h
    assert len(feedparser.parse((root / "site" / "feed.xml").read_text()).entries) == 3


def test_next_slot_skips_slots_over_a_cap(ws):
    """Personal posts on Saturdays: with min_interval 8d the slot a week later is too close,
    so --next-slot takes the one after; rescheduling to the next slot keeps the cap too."""
    set_caps(ws, min_interval='"8d"')
    first = queue_json(ws, "--persona", "personal", "--text", "One.", "--next-slot")
    second = queue_json(ws, "--persona", "personal", "--text", "Two.", "--next-slot")
    a, b = utc(first["scheduled_at"]), utc(second["scheduled_at"])
    assert b - a == timedelta(days=14), (a, b)
    assert b.astimezone(CHICAGO).strftime("%a %H:%M") == "Sat 10:00"
    # the first moves to its next slot: the week after it is still too close to the second
    r = ws.run("reschedule", str(first["id"]), "--next-slot")
    assert r.code == 0, r.err
    moved = utc(ws.run("show", str(first["id"]), "--format", "json").json()["scheduled_at"])
    assert moved - b >= timedelta(days=8), (moved, b)
