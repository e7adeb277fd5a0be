"""Threads under kill -9: real daemon processes against a fake Mastodon, counting what the
*platform* holds. The fake does not honour Idempotency-Key here, so a part sent twice shows as
two statuses.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crosspost.credentials import service_name
from tests.fakes.failures import Failure
from tests.fakes.mastodon import FakeMastodon, id_order
from tests.support.procs import crosspost, env_for, wait_for

CREATE = "POST /api/v1/statuses"
TOKEN = "mt-Yc5Qv8Lp2Rz7Wk4Nb1Hx6Ds3Fg9Ja"
PERSONA = """
display_name = "Sam Lee"
timezone = "UTC"

[identity]
names = ["Sam Lee"]

[[accounts]]
name = "t-masto"
platform = "mastodon"
instance = "{url}"
thread = true
thread_numbering = true
"""
#: five parts of at most 200 characters
TEXT = " ".join(f"Sentence {n} of a long thought about boundaries and rest." for n in range(1, 15))


def make_site(tmp_path: Path, url: str) -> Path:
    root = tmp_path / "site"
    (root / "profiles").mkdir(parents=True)
    (root / "profiles" / "threads.toml").write_text(PERSONA.format(url=url))
    (root / "config.toml").write_text(
        'profiles_dir = "profiles"\ndata_dir = "data"\n'
        '[daemon]\nlease = "1s"\nrequest_timeout = "5s"\n'
    )
    (tmp_path / "keyring.json").write_text(
        json.dumps({f"{service_name('threads', 't-masto')}\naccess_token": TOKEN})
    )
    return root / "config.toml"


def enqueue(config: Path) -> None:
    from crosspost.app import App
    from crosspost.models import Post
    from crosspost.store import Target

    App(config).store.enqueue(
        Post(
            persona="threads",
            kind="short",
            body=TEXT,
            slug="long-thought",
            scheduled_at=datetime.now(UTC) - timedelta(seconds=5),
        ),
        [Target("t-masto", "mastodon", "share")],
    )


def state(config: Path) -> tuple[str, list[dict[str, str | None]]]:
    from crosspost.app import App

    _, (d,) = App(config).store.get(1)
    return d.state, list(d.parts or [])


def test_kill_9_after_a_part_was_created_resumes_without_sending_it_again(tmp_path):
    fake = FakeMastodon(access_token=TOKEN, max_characters=200, idempotency=False).start()
    try:
        config = make_site(tmp_path, fake.url)
        env = env_for(tmp_path)
        enqueue(config)
        for sent in (2, 4):
            # the platform creates part ``sent`` and its answer never comes: the worst moment
            # to die, after the post exists and before its id is recorded
            fake.inject(Failure(delay=60, after=True, route=CREATE, skip=1))
            p = subprocess.Popen(
                [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_for(lambda n=sent: len(fake.statuses) >= n, timeout=60, interval=0.01)
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=10)
            fake.clear_failures()
            assert len(fake.statuses) == sent
            now, parts = state(config)
            assert now == "publishing"
            assert sum(1 for part in parts if part.get("remote_id")) == sent - 1
            time.sleep(1.1)  # the lease of the killed worker runs out
        for _ in range(10):
            if state(config)[0] == "published":
                break
            r = crosspost(config, "daemon", "--once", env=env, timeout=120)
            assert r.returncode in (0, 1), r.stderr
            time.sleep(1.1)
        final, parts = state(config)
        statuses = sorted(fake.statuses, key=lambda s: id_order(s["id"]))
        texts = [s["text"] for s in statuses]
        assert len(texts) == len(set(texts)), f"a part was posted twice: {texts}"
        assert final == "published", final
        assert len(parts) >= 3 and texts == [part["text"] for part in parts]
        assert [part["remote_id"] for part in parts] == [s["id"] for s in statuses]
        assert [s.get("in_reply_to") for s in statuses] == [
            None,
            *[s["id"] for s in statuses[:-1]],
        ]
        assert fake.problems == []
    finally:
        fake.stop()
