"""The daemon on the embedded default: static-site blog and feed, real processes."""

from __future__ import annotations

import json
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import feedparser
from sqlmodel import select

from crosspost.when import format_local
from tests.support.procs import crosspost, env_for, start_daemon, wait_for

ENTRY = """---
title: Boundaries Online
summary: Keeping the therapeutic frame on social media.
tags: [ethics]
---
Blogging can counter stigma; the frame still matters.
"""


def set_due_now(ws, post_id: int, at: datetime) -> None:
    """Move a queued post into the past as if the machine had been down."""
    from crosspost.models import Delivery, Post

    store = ws.app().store
    with store.write() as s:
        p = s.get(Post, post_id)
        p.scheduled_at = at
        s.add(p)
        for d in s.exec(select(Delivery).where(Delivery.post_id == post_id)):
            d.due_at = at
            s.add(d)


def queue_json(ws, *args: str) -> dict:
    r = ws.run("queue", *args, "--format", "json")
    assert r.code == 0, r.err
    return r.json()


CHICAGO = ZoneInfo("America/Chicago")


def summary(r) -> str:  # type: ignore[no-untyped-def]
    """The last line 'daemon --once' prints: what became of the targets it handled."""
    return r.out.strip().splitlines()[-1]


def log_lines(r, level: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [line for line in r.err.splitlines() if f" {level} " in line]


def chicago(at: datetime) -> str:
    return format_local(at, CHICAGO)


def test_once_publishes_blog_first_then_feed_with_its_url(ws):
    entry = ws.write("e.md", ENTRY)
    (ws.root / "site-home" / "content" / "posts").mkdir(parents=True)
    q = queue_json(ws, str(entry), "--persona", "personal", "--at", "+1h", "--to", "blog,home-feed")
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(seconds=5))
    r = ws.run("daemon", "--once")
    assert r.code == 0, r.err
    assert summary(r) == "targets: published 2, failed 0, blocked 0, unknown 0, held 0, retrying 0"
    assert not log_lines(r, "WARNING") and not log_lines(r, "ERROR"), r.err
    shown = ws.run("show", str(q["id"]), "--format", "json").json()
    assert shown["status"] == "published", [(t["target"], t["error"]) for t in shown["targets"]]
    targets = {t["target"]: t for t in shown["targets"]}
    blog_url = targets["blog"]["remote_url"]
    assert blog_url == "https://anabee.example/posts/boundaries-online/"
    assert targets["home-feed"]["state"] == "published"
    written = ws.root / "site-home" / "content" / "posts" / "boundaries-online.md"
    assert "Blogging can counter stigma" in written.read_text()
    feed = feedparser.parse((ws.root / "site-home" / "feed.xml").read_text())
    assert feed.bozo == 0
    assert feed.entries[0].link == blog_url
    assert targets["blog"]["published_at"] <= targets["home-feed"]["published_at"]
    # a second run finds nothing to do and writes nothing twice
    again = ws.run("daemon", "--once")
    assert again.code == 0
    assert summary(again) == (
        "targets: published 0, failed 0, blocked 0, unknown 0, held 0, retrying 0"
    )
    feed = feedparser.parse((ws.root / "site-home" / "feed.xml").read_text())
    assert len(feed.entries) == 1


def test_restart_publishes_slightly_late_and_holds_very_late(ws):
    a = queue_json(
        ws,
        "--persona",
        "personal",
        "--text",
        "One minute late.",
        "--at",
        "+1h",
        "--to",
        "home-feed",
    )
    b = queue_json(
        ws, "--persona", "personal", "--text", "A day late.", "--at", "+2h", "--to", "home-feed"
    )
    now = datetime.now(UTC)
    set_due_now(ws, a["id"], now - timedelta(minutes=1))
    set_due_now(ws, b["id"], now - timedelta(days=1))
    r = ws.run("daemon", "--once")
    assert r.code == 1, "a held post needs the user: cron must hear of it"
    assert summary(r) == "targets: published 1, failed 0, blocked 0, unknown 0, held 1, retrying 0"
    (held_line,) = log_lines(r, "WARNING")
    assert f'post {b["id"]} "A day late."' in held_line
    assert "persona 'personal'" in held_line and "home-feed" in held_line
    assert f"scheduled for {chicago(now - timedelta(days=1))}" in held_line
    assert "to home-feed: held: 24.0 h overdue" in held_line
    assert f"crosspost release {b['id']}" in held_line
    states = {
        p["id"]: p["status"] for p in ws.run("list", "--all", "--format", "json").json()["posts"]
    }
    assert states == {a["id"]: "published", b["id"]: "held"}
    held = ws.run("list", "--status", "held")
    assert f"{b['id']}" in held.out
    shown = ws.run("show", str(b["id"]), "--format", "json").json()
    assert f"crosspost release {b['id']}" in shown["note"]
    assert ws.run("release", str(b["id"])).code == 0
    released = ws.run("daemon", "--once")
    assert released.code == 0, released.err
    assert summary(released).startswith("targets: published 1, failed 0,")
    assert ws.run("show", str(b["id"]), "--format", "json").json()["status"] == "published"


def test_guard_runs_again_at_publish_time(ws):
    q = queue_json(
        ws,
        "--persona",
        "personal",
        "--text",
        "Lunch with Maple Grove friends.",
        "--at",
        "+1h",
        "--to",
        "home-feed",
    )
    # the professional persona's identity grows after queueing
    ws.add_professional_term("Maple Grove")
    due = datetime.now(UTC) - timedelta(seconds=1)
    set_due_now(ws, q["id"], due)
    r = ws.run("daemon", "--once")
    assert r.code == 1
    assert summary(r) == "targets: published 0, failed 0, blocked 1, unknown 0, held 0, retrying 0"
    (line,) = log_lines(r, "ERROR")
    assert f'post {q["id"]} "Lunch with Maple Grove friends."' in line
    assert "persona 'personal'" in line and f"scheduled for {chicago(due)}" in line
    assert "to home-feed: blocked by the leak guard at publish time" in line
    # where the finding is, once, and never the matched text (logs are stored too)
    assert line.count("[identity] in body 11–22 (identifies persona 'professional')") == 1
    assert "term 'Maple Grove'" not in line
    shown = ws.run("show", str(q["id"]), "--format", "json").json()
    assert shown["status"] == "failed"
    assert "blocked by the leak guard at publish time" in shown["targets"][0]["error"]
    assert not (ws.root / "site-home" / "feed.xml").exists()
    audit = ws.run("audit", "--format", "json").json()["records"]
    assert audit[0]["kind"] == "blocked" and audit[0]["detail"]["at"] == "publish"


def test_missing_credentials_fail_with_login_hint(ws):
    q = queue_json(
        ws,
        "--persona",
        "professional",
        "--text",
        "A short note.",
        "--at",
        "+1h",
        "--to",
        "pro-mastodon",
    )
    due = datetime.now(UTC) - timedelta(seconds=1)
    set_due_now(ws, q["id"], due)
    r = ws.run("daemon", "--once")
    assert r.code == 1
    assert summary(r) == "targets: published 0, failed 1, blocked 0, unknown 0, held 0, retrying 0"
    (line,) = log_lines(r, "ERROR")
    assert f'post {q["id"]} "A short note."' in line and "persona 'professional'" in line
    assert f"scheduled for {chicago(due)}" in line
    assert "to pro-mastodon failed: no credentials for 'pro-mastodon'" in line
    assert "crosspost accounts login pro-mastodon" in line
    t = ws.run("show", str(q["id"]), "--format", "json").json()["targets"][0]
    assert t["state"] == "failed"
    assert "crosspost accounts login pro-mastodon" in (t["hint"] or "")


def test_daemon_picks_up_new_posts_and_stops_on_sigterm(ws, tmp_path):
    env = env_for(tmp_path)
    proc = start_daemon(ws.config, env, tmp_path / "daemon.log")
    try:
        time.sleep(1.5)  # let it start and go idle
        r = crosspost(
            ws.config,
            "queue",
            "--persona",
            "personal",
            "--text",
            "Queued live.",
            "--to",
            "home-feed",
            "--at",
            "+2s",
            env=env,
        )
        assert r.returncode == 0, r.stderr
        queued_at = time.monotonic()

        def published():
            out = crosspost(ws.config, "list", "--all", "--format", "json", env=env).stdout
            return json.loads(out)["posts"][0]["status"] == "published"

        wait_for(published, timeout=20, interval=0.3)
        assert time.monotonic() - queued_at < 8, "the daemon must wake at the due time"
        second = crosspost(ws.config, "daemon", env=env, timeout=20)
        assert second.returncode == 1
        assert "already running" in second.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, (tmp_path / "daemon.log").read_text()
    assert "daemon stopped" in (tmp_path / "daemon.log").read_text()


def test_separation_holds_at_publish_time_for_posts_that_went_out_late(ws):
    """Both posts were far apart when queued; after downtime they are due together. The
    earlier one goes out, the other waits until the separation window (45 min) has passed."""
    (ws.root / "site-pro" / "content" / "posts").mkdir(parents=True)
    pro = queue_json(
        ws, str(ws.write("e.md", ENTRY)), "--persona", "professional", "--at", "+1h", "--to", "blog"
    )
    home = queue_json(
        ws,
        "--persona",
        "personal",
        "--text",
        "Garden day, bees everywhere.",
        "--at",
        "+3h",
        "--to",
        "home-feed",
    )
    now = datetime.now(UTC)
    set_due_now(ws, pro["id"], now - timedelta(minutes=2))
    set_due_now(ws, home["id"], now - timedelta(minutes=1))
    r = ws.run("daemon", "--once")
    assert r.code == 0, "waiting for the separation window is no failure"
    assert summary(r) == (
        "targets: published 1, failed 0, blocked 0, unknown 0, held 0, retrying 0, waiting 1"
    )

    blog = ws.run("show", str(pro["id"]), "--format", "json").json()["targets"][0]
    assert blog["state"] == "published"
    waiting = ws.run("show", str(home["id"]), "--format", "json").json()["targets"][0]
    assert waiting["state"] == "queued" and waiting["attempts"] == 0
    assert "separation from persona 'professional'" in waiting["error"]
    published = datetime.fromisoformat(blog["published_at"].replace("Z", "+00:00"))
    due = datetime.fromisoformat(waiting["due_at"].replace("Z", "+00:00"))
    assert (
        timedelta(minutes=45) - timedelta(seconds=2)
        <= due - published
        <= timedelta(minutes=45, seconds=2)
    )
    assert not (ws.root / "site-home" / "feed.xml").exists()

    # an hour later (moved in the database): the window has passed, it goes out
    from crosspost.models import Delivery

    store = ws.app().store
    with store.write() as s:
        for d in s.exec(select(Delivery)):
            if d.published_at is not None:
                d.published_at -= timedelta(hours=1)
            d.due_at -= timedelta(hours=1)
            s.add(d)
    assert ws.run("daemon", "--once").code == 0
    shown = ws.run("show", str(home["id"]), "--format", "json").json()
    assert shown["status"] == "published"
    assert (ws.root / "site-home" / "feed.xml").exists()


def test_separation_allowed_at_queueing_is_not_held_at_publish_time(ws):
    (ws.root / "site-pro" / "content" / "posts").mkdir(parents=True)
    pro = queue_json(
        ws, str(ws.write("e.md", ENTRY)), "--persona", "professional", "--at", "+1h", "--to", "blog"
    )
    home = queue_json(
        ws,
        "--persona",
        "personal",
        "--text",
        "Open garden day.",
        "--at",
        "+1h",
        "--to",
        "home-feed",
        "--allow",
        "separation",
        "--reason",
        "public event",
    )
    now = datetime.now(UTC)
    set_due_now(ws, pro["id"], now - timedelta(minutes=2))
    set_due_now(ws, home["id"], now - timedelta(minutes=1))
    assert ws.run("daemon", "--once").code == 0
    for q in (pro, home):
        assert ws.run("show", str(q["id"]), "--format", "json").json()["status"] == "published"


def _set_state(ws, post_id: int, target: str, state: str, error: str | None = None) -> None:
    from crosspost.models import Delivery

    with ws.app().store.write() as s:
        for d in s.exec(select(Delivery).where(Delivery.post_id == post_id)):
            if d.target == target:
                d.state, d.last_error = state, error
                s.add(d)


def test_resolve_records_a_blog_entry_found_on_the_platform_and_sends_its_shares(ws):
    from crosspost.claims import NO_BLOG_URL

    (ws.root / "site-home" / "content" / "posts").mkdir(parents=True)
    q = queue_json(
        ws,
        str(ws.write("e.md", ENTRY)),
        "--persona",
        "personal",
        "--at",
        "+1h",
        "--to",
        "blog,home-feed",
    )
    # the blog's outcome was unclear and the share was given up for want of its URL
    _set_state(ws, q["id"], "blog", "unknown", "read timed out")
    _set_state(ws, q["id"], "home-feed", "failed", NO_BLOG_URL)
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(seconds=5))

    no_url = ws.run("resolve", str(q["id"]), "--target", "blog")
    assert no_url.code == 1 and "--url" in no_url.err
    bad = ws.run("resolve", str(q["id"]), "--target", "blog", "--url", "found it")
    assert bad.code != 0 and "not an address" in bad.err and "Traceback" not in bad.err
    wrong = ws.run("resolve", str(q["id"]), "--target", "nope", "--url", "https://x.example/")
    assert wrong.code == 1 and "no target 'nope'" in wrong.err

    url = "https://anabee.example/posts/found-it/"
    r = ws.run("resolve", str(q["id"]), "--target", "blog", "--url", url)
    assert r.code == 0, r.err
    assert "home-feed" in r.out
    again = ws.run("resolve", str(q["id"]), "--target", "blog", "--url", url)
    assert again.code == 1 and "is published" in again.err

    assert ws.run("daemon", "--once").code == 0
    shown = ws.run("show", str(q["id"]), "--format", "json").json()
    assert shown["status"] == "published"
    assert not (ws.root / "site-home" / "content" / "posts" / "boundaries-online.md").exists(), (
        "the blog entry is not written a second time"
    )
    feed = feedparser.parse((ws.root / "site-home" / "feed.xml").read_text())
    assert [e.link for e in feed.entries] == [url]


def test_resolve_refuses_targets_that_are_not_unknown_or_failed(ws):
    q = queue_json(
        ws, "--persona", "personal", "--text", "Queued only.", "--at", "+1h", "--to", "home-feed"
    )
    r = ws.run("resolve", str(q["id"]), "--target", "home-feed", "--url", "https://x.example/")
    assert r.code == 1 and "only unknown or failed" in r.err
    assert ws.run("show", str(q["id"]), "--format", "json").json()["status"] == "queued"


def test_a_worker_stops_as_soon_as_its_daemons_end_of_the_pipe_closes(ws):
    """The pipe tells a worker at once that its daemon is gone; the parent pid it was given
    still matches, so only the pipe can have noticed."""
    import os

    from crosspost.daemon import Daemon, Parent

    read_end, write_end = os.pipe()
    d = Daemon(ws.app(), worker=(1, 2), parent=Parent(os.getppid(), read_end))
    try:
        d._watch_parent()
        assert not d.stopping.wait(0.2), "its daemon is still there"
        os.close(write_end)
        assert d.stopping.wait(60)
    finally:
        d.pool.shutdown()
        os.close(read_end)


def test_once_exits_0_while_a_transient_failure_is_retried_and_says_so(ws, wp_blog):
    q = queue_json(
        ws, str(ws.write("e.md", ENTRY)), "--persona", "professional", "--at", "+1h", "--to", "blog"
    )
    due = datetime.now(UTC) - timedelta(seconds=1)
    set_due_now(ws, q["id"], due)
    wp_blog.fail_next(429, method="POST", path="/wp/v2/posts", headers={"Retry-After": "600"})
    r = ws.run("daemon", "--once")
    assert r.code == 0, "it will be retried: not a failure yet"
    assert summary(r) == "targets: published 0, failed 0, blocked 0, unknown 0, held 0, retrying 1"
    (line,) = log_lines(r, "WARNING")
    assert (
        f"post {q['id']} \"Boundaries Online\" (persona 'professional', scheduled for "
        f"{chicago(due)}) to blog: attempt 1 failed:" in line
    )
    assert re.search(r"; retrying at \w{3} \d{4}-\d\d-\d\d \d\d:\d\d C[SD]T$", line), line
    assert wp_blog.posts() == []


def test_once_exits_1_when_retries_are_used_up_and_names_the_post(ws, wp_blog):
    ws.write(
        "config.toml",
        'profiles_dir = "profiles"\ndata_dir = "data"\n[daemon.retry]\nmax_attempts = 1\n',
    )
    q = queue_json(
        ws, str(ws.write("e.md", ENTRY)), "--persona", "professional", "--at", "+1h", "--to", "blog"
    )
    due = datetime.now(UTC) - timedelta(seconds=1)
    set_due_now(ws, q["id"], due)
    wp_blog.fail_next(429, method="POST", path="/wp/v2/posts", headers={"Retry-After": "600"})
    r = ws.run("daemon", "--once")
    assert r.code == 1
    assert summary(r) == "targets: published 0, failed 1, blocked 0, unknown 0, held 0, retrying 0"
    (line,) = log_lines(r, "ERROR")
    assert (
        f"post {q['id']} \"Boundaries Online\" (persona 'professional', scheduled for "
        f"{chicago(due)}) to blog failed: gave up after 1 attempts:" in line
    )
    t = ws.run("show", str(q["id"]), "--format", "json").json()["targets"][0]
    assert t["state"] == "failed"


def test_once_exits_1_when_it_is_unclear_whether_a_target_was_posted(ws, monkeypatch):
    from crosspost.platforms.feed import FeedAdapter

    def breaks_mid_call(self, pub):  # type: ignore[no-untyped-def]
        raise RuntimeError("connection reset while writing")

    monkeypatch.setattr(FeedAdapter, "publish", breaks_mid_call)
    q = queue_json(
        ws,
        "--persona",
        "personal",
        "--text",
        "Hives wrapped for winter.",
        "--at",
        "+1h",
        "--to",
        "home-feed",
    )
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(seconds=1))
    r = ws.run("daemon", "--once")
    assert r.code == 1, "the user has to look on the platform"
    assert summary(r) == "targets: published 0, failed 0, blocked 0, unknown 1, held 0, retrying 0"
    line = next(x for x in log_lines(r, "ERROR") if "outcome unknown" in x)
    assert f"post {q['id']} \"Hives wrapped for winter.\" (persona 'personal'" in line
    assert "to home-feed: outcome unknown: unexpected error (RuntimeError)" in line
    assert f"crosspost resolve {q['id']} --target home-feed" in line


def test_the_stop_signal_handler_takes_no_lock(ws):
    """Python runs a signal handler in the main thread between two bytecodes, which may be
    while that thread holds the lock inside ``Event.wait``; a handler that sets the event
    there waits for that lock forever and the daemon never stops (seen under load)."""
    import threading

    from crosspost.daemon import Daemon

    d = Daemon(ws.app())
    try:
        with d.stopping._cond:  # the main thread, caught between bytecodes of Event.wait
            handler = threading.Thread(
                target=d._on_signal, args=(signal.SIGTERM, None), daemon=True
            )
            handler.start()
            handler.join(10)
            assert not handler.is_alive(), "the signal handler waits for the event's lock"
        assert d._signalled and not d.stopping.is_set()
    finally:
        d.pool.shutdown()


def test_a_delivery_in_flight_is_not_claimed_again_when_its_lease_runs_out(ws, monkeypatch):
    """A late heartbeat (a loaded machine, a laptop waking up) lets the lease of a delivery
    still being sent run out. The daemon's next claim must not take that delivery again: it
    would ask the platform, find nothing (the first request has not arrived yet) and post a
    second time."""
    import threading
    from collections import Counter

    from crosspost import daemon as daemon_module
    from crosspost.daemon import Daemon
    from crosspost.models import Delivery
    from crosspost.platforms.feed import FeedAdapter

    ws.write(
        "config.toml", 'profiles_dir = "profiles"\ndata_dir = "data"\n[daemon]\nlease = "1m"\n'
    )
    q = queue_json(ws, "--persona", "personal", "--text", "Hives wrapped.", "--to", "home-feed")
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(seconds=1))
    calls: Counter[str] = Counter()
    sending, release = threading.Event(), threading.Event()
    real_publish, real_lookup = FeedAdapter.publish, FeedAdapter.lookup

    def publish(self, pub):  # type: ignore[no-untyped-def]
        calls["publish"] += 1
        sending.set()
        release.wait(60)  # the request is on its way to the platform
        return real_publish(self, pub)

    def lookup(self, pub):  # type: ignore[no-untyped-def]
        calls["lookup"] += 1
        return real_lookup(self, pub)

    monkeypatch.setattr(FeedAdapter, "publish", publish)
    monkeypatch.setattr(FeedAdapter, "lookup", lookup)
    d = Daemon(ws.app())
    try:
        d.dispatch()
        assert sending.wait(60)
        # two minutes later, and no heartbeat has renewed the lease
        later = datetime.now(UTC) + timedelta(minutes=2)
        monkeypatch.setattr(daemon_module, "utcnow", lambda: later)
        d.dispatch()
        assert d.claimed == 1, "the delivery in flight was claimed a second time"
    finally:
        release.set()
        d.pool.shutdown(wait=True)
    with ws.app().store.read() as s:
        (delivery,) = s.exec(select(Delivery).where(Delivery.post_id == q["id"]))
    assert delivery.state == "published"
    assert calls == {"publish": 1}


def test_a_refill_asked_for_during_a_dispatch_waits_until_a_batch_fits(ws, monkeypatch):
    """Deliveries finishing while a dispatch runs ask for a refill; the dispatch running took
    what was free when it began, so it looks again only when a batch of claims fits (a
    quarter of the platform's), not for the one or two slots freed meanwhile."""
    from crosspost.daemon import CLAIM_AHEAD, Daemon

    d = Daemon(ws.app())
    try:
        cap = d.capacity.get("mastodon", d.default_capacity) * CLAIM_AHEAD
        runs: list[int] = []

        def dispatch_once() -> None:
            runs.append(d.busy["mastodon"])
            if len(runs) == 1:  # meanwhile a delivery finishes and asks for a refill
                d.busy["mastodon"] = cap - 1  # one slot free: no batch
                d.dispatch(refill=True)
            elif len(runs) == 2:
                raise AssertionError("dispatched again for one free slot")

        monkeypatch.setattr(d, "_dispatch_once", dispatch_once)
        d.busy["mastodon"] = cap
        d.dispatch()
        assert runs == [cap]

        # a quarter of the slots free by the time the first dispatch ends: it goes on
        runs.clear()

        def dispatch_twice() -> None:
            runs.append(d.busy["mastodon"])
            if len(runs) == 1:
                d.busy["mastodon"] = cap - max(1, cap // 4)
                d.dispatch(refill=True)

        monkeypatch.setattr(d, "_dispatch_once", dispatch_twice)
        d.busy["mastodon"] = cap
        d.dispatch()
        assert runs == [cap, cap - max(1, cap // 4)]

        # anything else that asks meanwhile (a wake-up, a change) always gets its dispatch
        runs.clear()

        def dispatch_woken() -> None:
            runs.append(d.busy["mastodon"])
            if len(runs) == 1:
                d.dispatch()

        monkeypatch.setattr(d, "_dispatch_once", dispatch_woken)
        d.busy["mastodon"] = cap
        d.dispatch()
        assert runs == [cap, cap]
    finally:
        d.pool.shutdown()
