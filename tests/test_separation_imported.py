"""Posts made outside crosspost (``imported_post``, read back by ``crosspost audit-exposure``)
count for ``separation`` at queueing and again when the daemon publishes, on SQLite and
PostgreSQL: a post made by hand ten minutes ago links the personas as surely as one crosspost
sent."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

LINK = "https://psych.social/@anareyes/111"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, ws) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The workspace on SQLite, or on a new PostgreSQL database when
    ``CROSSPOST_TEST_DATABASE_URL`` is set."""
    if request.param == "sqlite":
        yield
        return
    base = os.environ.get("CROSSPOST_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL tests skipped: set CROSSPOST_TEST_DATABASE_URL")
    import psycopg

    name = f"crosspost_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    ws.write(
        "config.toml", f'profiles_dir = "profiles"\ndata_dir = "data"\ndatabase_url = "{url}"\n'
    )
    try:
        yield
    finally:
        with psycopg.connect(base, autocommit=True) as c:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


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


def _due_now(ws, post_id: int) -> None:  # type: ignore[no-untyped-def]
    """Due a minute ago, as after downtime: queued far from the hand-made post, due next to it."""
    from crosspost.models import Delivery, Post

    at = datetime.now(UTC) - timedelta(minutes=1)
    with ws.app().store.write() as s:
        p = s.get(Post, post_id)
        p.scheduled_at = at
        s.add(p)
        for d in s.exec(select(Delivery).where(Delivery.post_id == post_id)):
            d.due_at = at
            s.add(d)


def test_queueing_next_to_an_imported_post_of_another_persona_is_refused(ws, db) -> None:  # type: ignore[no-untyped-def]
    _made_by_hand(ws, 10)
    r = ws.run(
        "queue", "--persona", "personal", "--text", "Bees!", "--at", "+5m", "--to", "home-feed"
    )
    assert r.code == 1
    assert "separation" in r.err and LINK in r.err
    assert _queue_personal(ws, "+1h")["id"]


def test_publishing_next_to_an_imported_post_of_another_persona_waits(ws, db) -> None:  # type: ignore[no-untyped-def]
    post = _queue_personal(ws, "+3h")
    made = _made_by_hand(ws, 10)
    _due_now(ws, post["id"])

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


def test_an_imported_post_outside_the_window_or_of_the_same_persona_does_not_hold(ws, db) -> None:  # type: ignore[no-untyped-def]
    post = _queue_personal(ws, "+3h")
    _made_by_hand(ws, 50)  # longer ago than the 45-minute separation
    at = datetime.now(UTC) - timedelta(minutes=5)
    assert ws.app().store.import_posts("personal", "home-bsky", [("7", None, "Mine", at)])
    _due_now(ws, post["id"])
    assert ws.run("daemon", "--once").code == 0
    assert ws.run("show", str(post["id"]), "--format", "json").json()["status"] == "published"
