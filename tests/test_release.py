"""`release` is for held posts; publishing a queued post early needs `--now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crosspost.claims import hold_overdue


def _queue(ws, at: str = "+3h") -> dict:
    r = ws.run(
        "queue",
        "--persona",
        "personal",
        "--text",
        "Hives wrapped for winter.",
        "--to",
        "home-feed",
        "--at",
        at,
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    return r.json()


def _scheduled(ws, post_id: int) -> datetime:
    shown = ws.run("show", str(post_id), "--format", "json").json()
    return datetime.fromisoformat(shown["scheduled_at"].replace("Z", "+00:00"))


def test_release_of_a_queued_post_is_refused_and_changes_nothing(ws):
    q = _queue(ws)
    r = ws.run("release", str(q["id"]))
    assert r.code == 1, r.out
    assert f"post {q['id']} is queued, not held" in r.err
    assert f"crosspost release {q['id']} --now" in r.err
    assert "reschedule" in r.err
    assert _scheduled(ws, q["id"]).isoformat() == q["scheduled_at"].replace("Z", "+00:00")


def test_release_now_publishes_a_queued_post_now(ws):
    q = _queue(ws)
    r = ws.run("release", str(q["id"]), "--now")
    assert r.code == 0, r.err
    assert f"post {q['id']} released" in r.out
    assert abs(_scheduled(ws, q["id"]) - datetime.now(UTC)) < timedelta(minutes=5)


def test_release_of_a_held_post_needs_no_flag(ws):
    q = _queue(ws)
    store = ws.app().store
    late = datetime.now(UTC) + timedelta(days=2)
    assert hold_overdue(store, late, timedelta(hours=6)) == [q["id"]]
    r = ws.run("release", str(q["id"]))
    assert r.code == 0, r.err
    assert ws.run("show", str(q["id"]), "--format", "json").json()["status"] == "queued"


def test_release_of_a_cancelled_post_says_its_state(ws):
    q = _queue(ws)
    ws.run("cancel", str(q["id"]))
    r = ws.run("release", str(q["id"]))
    assert r.code == 1
    assert "is cancelled, not held" in r.err


def test_release_now_and_at_together_is_a_usage_error(ws):
    q = _queue(ws)
    r = ws.run("release", str(q["id"]), "--now", "--at", "+1h")
    assert r.code == 2
    assert "--now" in r.err and "--at" in r.err
