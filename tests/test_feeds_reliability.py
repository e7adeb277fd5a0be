"""Feeds in, with real daemon processes: killed with SIGKILL at random points, or three at once
on one PostgreSQL queue, while the blog keeps publishing. Every item is shared exactly once:
counted in the queue and in what the persona's feed account (an Atom file) published."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from sqlmodel import select

from tests.fakes.blogfeed import BlogFeed, BlogItem
from tests.support.procs import crosspost, env_for, wait_for
from tests.test_reliability import pg_url  # noqa: F401 - the PostgreSQL database fixture

PERSONA = """
display_name = "Ana Bee"
timezone = "America/Chicago"

[identity]
names = ["Ana Bee"]
domains = ["anabee.example"]

[[accounts]]
name = "home-feed"
platform = "feed"
path = "site/feed.xml"

[[feeds]]
url = "{url}"
"""

OTHER = """
display_name = "Dr. Ana Reyes"
timezone = "America/Chicago"

[identity]
names = ["Ana Reyes"]
domains = ["harborpsych.example"]
"""


def make_site(tmp_path: Path, feed_url: str, database_url: str | None = None) -> Path:
    root = tmp_path / "site"
    (root / "profiles").mkdir(parents=True)
    (root / "profiles" / "personal.toml").write_text(PERSONA.format(url=feed_url))
    (root / "profiles" / "professional.toml").write_text(OTHER)
    lines = ['profiles_dir = "profiles"', 'data_dir = "data"']
    if database_url:
        lines.append(f'database_url = "{database_url}"')
    lines += ["[daemon]", 'feeds_interval = "1s"', 'lease = "1s"']
    (root / "config.toml").write_text("\n".join(lines) + "\n")
    return root / "config.toml"


def item(n: int) -> BlogItem:
    return BlogItem(
        title=f"Hive notes {n}",
        link=f"https://anabee.example/posts/hive-notes-{n}/",
        guid=f"https://anabee.example/?p={n}",
        published=datetime.now(UTC) + timedelta(minutes=1),
    )


def queued_links(config: Path) -> list[str]:
    from crosspost.app import App
    from crosspost.models import Post

    with App(config).store.read() as s:
        return [p.body.rsplit(" ", 1)[-1] for p in s.exec(select(Post))]


def published_links(config: Path) -> list[str]:
    path = config.parent / "site" / "feed.xml"
    if not path.exists():
        return []
    entries = feedparser.parse(path.read_bytes()).entries
    return [e.content[0].value.rsplit(" ", 1)[-1] for e in entries]


def states(config: Path) -> list[str]:
    from crosspost.app import App
    from crosspost.models import Delivery

    with App(config).store.read() as s:
        return [d.state for d in s.exec(select(Delivery))]


def expect_each_once(config: Path, n: int) -> None:
    want = sorted(item(i).link for i in range(n))
    queued = queued_links(config)
    assert sorted(queued) == want, {k: queued.count(k) for k in set(queued)}
    published = published_links(config)
    assert sorted(published) == want, {k: published.count(k) for k in set(published)}


def test_kill_9_while_reading_feeds_never_shares_twice_nor_loses_an_item(tmp_path):
    with BlogFeed() as blog:
        config = make_site(tmp_path, blog.feed_url)
        env = env_for(tmp_path)
        r = crosspost(config, "feeds", "check", env=env)  # the first read: no backlog
        assert r.returncode == 0, r.stderr
        rng = random.Random(20261203)
        published = 0
        log = tmp_path / "daemon.log"
        log.touch()
        for _ in range(16):
            for _ in range(rng.randint(1, 3)):
                blog.publish(item(published))
                published += 1
            started = log.read_text().count("started on")
            p = subprocess.Popen(
                [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log.open("a"),
            )
            # on a loaded machine start-up takes seconds: count from the moment it runs; then
            # kills land while the feed is read, its items are queued, their shares published
            wait_for(lambda n=started: log.read_text().count("started on") > n, timeout=60)
            time.sleep(rng.uniform(0.0, 1.2))
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=10)
        # on a loaded machine the random kills may all land before the feed is read: one more
        # daemon is killed right after it queued its first new item, whatever the load
        before = len(queued_links(config))
        for _ in range(3):
            blog.publish(item(published))
            published += 1
        p = subprocess.Popen(
            [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("a"),
        )
        wait_for(lambda: len(queued_links(config)) > before, timeout=60, interval=0.05)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        for _ in range(10):  # leases of killed daemons expire; then everything goes out
            time.sleep(1.2)
            r = crosspost(config, "daemon", "--once", env=env, timeout=120)
            assert r.returncode in (0, 1), r.stderr
            if len(queued_links(config)) == published and all(
                s == "published" for s in states(config)
            ):
                break
        expect_each_once(config, published)


@pytest.mark.postgres
def test_three_daemons_on_postgresql_share_each_item_once(tmp_path, pg_url):  # noqa: F811
    with BlogFeed() as blog:
        config = make_site(tmp_path, blog.feed_url, database_url=pg_url)
        env = env_for(tmp_path)
        r = crosspost(config, "feeds", "check", env=env)
        assert r.returncode == 0, r.stderr
        logs = [tmp_path / f"d{i}.log" for i in range(3)]
        daemons = [
            subprocess.Popen(
                [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log.open("w"),
            )
            for log in logs
        ]
        try:
            for n in range(12):
                blog.publish(item(n))
                time.sleep(0.4)

            def done() -> bool:
                return len(published_links(config)) >= 12 and all(
                    s == "published" for s in states(config)
                )

            wait_for(done, timeout=120, interval=0.5)
            time.sleep(2.5)  # more rounds of all three daemons: nothing new may appear
        finally:
            for d in daemons:
                d.send_signal(signal.SIGTERM)
            codes = [d.wait(timeout=60) for d in daemons]
        assert codes == [0, 0, 0], [log.read_text()[-2000:] for log in logs]
        expect_each_once(config, 12)


@pytest.mark.postgres
def test_pollers_at_once_on_postgresql_queue_an_item_once(tmp_path, pg_url):  # noqa: F811
    with BlogFeed() as blog:
        config = make_site(tmp_path, blog.feed_url, database_url=pg_url)
        env = env_for(tmp_path)
        assert crosspost(config, "feeds", "check", env=env).returncode == 0
        for n in range(5):
            blog.publish(item(n))
        cmd = [sys.executable, "-m", "crosspost", "--config", str(config), "feeds", "check"]
        procs = [
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(4)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
        queued = queued_links(config)
        assert sorted(queued) == sorted(item(n).link for n in range(5))
