"""Publishing through the daemon to servers that speak Mastodon's API but are not Mastodon
(GoToSocial: ULID ids, no Idempotency-Key, code points counted), against tests/fakes/mastodon.py.
"""

from __future__ import annotations

import io
import logging
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from crosspost.platforms import mastodon as mastodon_module
from tests.fakes.mastodon import FakeMastodon

TOKEN = "gts-token-5d4c3b2a19f8e7d6c5b4"

PROFESSIONAL = """
display_name = "Dr. Ana Reyes"
timezone = "America/Chicago"
[identity]
names = ["Ana Reyes"]
[[accounts]]
name = "pro-mastodon"
platform = "mastodon"
handle = "@anareyes@127.0.0.1"
instance = "{url}"
"""


@pytest.fixture(autouse=True)
def _fresh_limits():
    mastodon_module.clear_instance_cache()
    yield
    mastodon_module.clear_instance_cache()


@pytest.fixture
def gts():
    f = FakeMastodon(access_token=TOKEN, ids="ulid", idempotency=False).start()
    yield f
    f.stop()
    assert f.problems == [], "the fake saw invalid requests"


def setup(ws, monkeypatch, fake: FakeMastodon) -> None:
    ws.write("profiles/professional.toml", PROFESSIONAL.format(url=fake.url))
    monkeypatch.setattr(sys, "stdin", io.StringIO(TOKEN + "\n"))
    assert ws.run("accounts", "login", "pro-mastodon", "--stdin").code == 0
    monkeypatch.setenv("CROSSPOST_DAEMON__RETRY__BASE_DELAY", "0s")


def queue_due_now(ws, text: str) -> int:
    r = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        text,
        "--to",
        "pro-mastodon",
        "--at",
        "+1h",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    post_id = r.json()["id"]
    from crosspost.models import Delivery, Post

    now = datetime.now(UTC) - timedelta(seconds=1)
    with ws.app().store.write() as s:
        post = s.get(Post, post_id)
        post.scheduled_at = now
        s.add(post)
        for d in s.exec(select(Delivery).where(Delivery.post_id == post_id)):
            d.due_at = now
            s.add(d)
    return post_id


def target(ws, post_id: int) -> dict:
    r = ws.run("show", str(post_id), "--format", "json")
    assert r.code == 0, r.err
    [t] = r.json()["targets"]
    return t


def test_lost_answer_on_gotosocial_is_found_and_published_once(ws, monkeypatch, caplog, gts):
    """The server created the status, the answer was lost, the key is ignored: the retry
    asks first (lookup over ULID ids) and records the status instead of posting again."""
    setup(ws, monkeypatch, gts)
    gts.add_status("Yesterday's post", created_at=datetime.now(UTC) - timedelta(days=1))
    post_id = queue_due_now(ws, "Sleep and anxiety: three small habits that help.")
    gts.drop("POST /api/v1/statuses")
    caplog.set_level(logging.INFO, logger="crosspost.publisher")

    assert ws.run("daemon", "--once").code == 0  # attempt, lost answer, retry (no delay)
    done = target(ws, post_id)
    status = gts.statuses[-1]
    assert done["state"] == "published", done
    assert done["remote_id"] == status["id"]
    assert done["remote_url"] == f"{gts.url}/@anareyes/{status['id']}"
    assert "found from an earlier attempt" in caplog.text
    assert gts.calls["POST /api/v1/statuses"] == 1
    assert len(gts.statuses) == 2  # yesterday's and this one

    assert ws.run("daemon", "--once").code == 0  # nothing left to do
    assert gts.calls["POST /api/v1/statuses"] == 1


def test_once_retries_a_quick_failure_even_when_it_finished_before_the_loop_looked(
    ws, monkeypatch, gts
):
    """``daemon --once`` must not stop while a retry is due: the worker may finish (and
    queue the retry) before the loop collects what is in flight. Each dispatch here waits
    until its deliveries have finished, which made the loop see nothing and stop."""
    from crosspost.daemon import Daemon

    setup(ws, monkeypatch, gts)
    post_id = queue_due_now(ws, "Sleep and anxiety: three small habits that help.")
    gts.drop("POST /api/v1/statuses")
    dispatch = Daemon.dispatch

    def dispatch_then_let_the_workers_finish(self: Daemon) -> None:
        dispatch(self)
        deadline = time.monotonic() + 30
        while self.inflight and time.monotonic() < deadline:
            time.sleep(0.01)

    monkeypatch.setattr(Daemon, "dispatch", dispatch_then_let_the_workers_finish)
    assert ws.run("daemon", "--once").code == 0
    assert target(ws, post_id)["state"] == "published"
    assert gts.calls["POST /api/v1/statuses"] == 1


def test_the_daemon_fits_a_share_to_gotosocials_counting(ws, monkeypatch):
    """GoToSocial counts code points with URLs in full: a text fitted by Mastodon's rule
    (URL = 23) would be refused; the counting detected from the instance fits it."""
    url = "https://harborpsych.org/posts/2024/05/" + "sleep-and-anxiety-" * 5
    text = "Three small habits that help with sleep and anxiety. " * 12 + url
    with FakeMastodon(
        access_token=TOKEN,
        ids="ulid",
        idempotency=False,
        software="gotosocial",
        counting="codepoints",
    ) as f:
        setup(ws, monkeypatch, f)
        post_id = queue_due_now(ws, text)
        assert ws.run("daemon", "--once").code == 0
        done = target(ws, post_id)
        assert done["state"] == "published", done
        [status] = f.statuses
        assert len(status["text"]) <= 500 and status["text"].endswith(url)
        assert f.problems == []
