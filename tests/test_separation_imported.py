"""Posts made outside crosspost (``imported_post``, read back by ``crosspost audit-exposure``)
count for ``separation`` at queueing and again when the daemon publishes, on SQLite and
PostgreSQL: a post made by hand ten minutes ago links the personas as surely as one crosspost
sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.test_daemon import set_due_now

LINK = "https://psych.social/@anareyes/111"


def _made_by_hand(ws, minutes_ago: int) -> datetime:  # type: ignore[no-untyped-def]
    """The professional persona posted on Mastodon by hand; an audit read it back."""
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(microsecond=0)
    store = ws.app().store
    assert store.import_posts("professional", "pro-mastodon", [("111", LINK, "Office news", at)])
    return at


def _queue_personal(ws, at: str, *extra: str) -> dict:  # type: ignore[no-untyped-def]
    r = ws.run(
        "queue", "--persona", "personal", "--text", "Garden day, bees everywhere.",
        "--at", at, "--to", "home-feed", "--format", "json", *extra,
    )  # fmt: skip
    assert r.code == 0, r.err
    return r.json()


def test_queueing_next_to_an_imported_post_of_another_persona_is_refused(ws, ws_database) -> None:  # type: ignore[no-untyped-def]
    _made_by_hand(ws, 10)
    r = ws.run(
        "queue", "--persona", "personal", "--text", "Bees!", "--at", "+5m", "--to", "home-feed"
    )
    assert r.code == 1
    assert "separation" in r.err and LINK in r.err
    assert _queue_personal(ws, "+1h")["id"]


def test_publishing_next_to_an_imported_post_of_another_persona_waits(ws, ws_database) -> None:  # type: ignore[no-untyped-def]
    post = _queue_personal(ws, "+3h")
    made = _made_by_hand(ws, 10)
    # due a minute ago, as after downtime: queued far from the hand-made post, due next to it
    set_due_now(ws, post["id"], datetime.now(UTC) - timedelta(minutes=1))

    r = ws.run("daemon", "--once")
    assert r.code == 0, "waiting for the separation window is no failure"
    assert r.out.strip().splitlines()[-1].endswith("waiting 1")
    (target,) = ws.run("show", str(post["id"]), "--format", "json").json()["targets"]
    assert target["state"] == "queued" and target["attempts"] == 0
    assert "separation from persona 'professional'" in target["error"]
    assert LINK in target["error"] and "pro-mastodon" in target["error"]
    due = datetime.fromisoformat(target["due_at"].replace("Z", "+00:00"))
    assert abs(due - (made + timedelta(minutes=45))) <= timedelta(seconds=2)
    assert not (ws.root / "site-home" / "feed.xml").exists()


def test_an_imported_post_outside_the_window_or_of_the_same_persona_does_not_hold(
    ws, ws_database
) -> None:  # type: ignore[no-untyped-def]
    post = _queue_personal(ws, "+3h")
    _made_by_hand(ws, 50)  # longer ago than the 45-minute separation
    at = datetime.now(UTC) - timedelta(minutes=5)
    assert ws.app().store.import_posts("personal", "home-bsky", [("7", None, "Mine", at)])
    # due a minute ago, as after downtime: queued far from the hand-made post, due next to it
    set_due_now(ws, post["id"], datetime.now(UTC) - timedelta(minutes=1))
    assert ws.run("daemon", "--once").code == 0
    assert ws.run("show", str(post["id"]), "--format", "json").json()["status"] == "published"
