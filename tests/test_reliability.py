"""Never double-post, never lose a post: real daemon processes against a fake WordPress.

The fake runs in its own process and keeps its posts in a SQLite file, so the test counts what
the *platform* received — the only count that matters for "exactly once".
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from tests.fakes.wordpress import FakeWordPress
from tests.support.pgdb import new_database
from tests.support.procs import crosspost, env_for, run_daemons_until, wait_for

REPO = Path(__file__).resolve().parents[1]

PERSONA = """
display_name = "Dr. Ana Reyes"
timezone = "America/Chicago"

[identity]
names = ["Ana Reyes"]
domains = ["harborpsych.example"]

[blog]
platform = "wordpress"
url = "{url}"
username = "admin"
"""

OTHER = """
display_name = "Ana Bee"
timezone = "America/Chicago"

[identity]
names = ["Ana Bee"]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FakeProc:
    url: str
    db: Path
    proc: subprocess.Popen[str]

    def control(self, path: str, body: dict | None = None) -> dict:
        req = urllib.request.Request(
            self.url + "/__fake/" + path,
            data=json.dumps(body or {}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def count(self, key: str) -> int:
        return FakeWordPress.count_marker_in_db(self.db, key)

    def total(self) -> int:
        import sqlite3

        con = sqlite3.connect(str(self.db), timeout=10)
        try:
            return int(con.execute("SELECT count(*) FROM posts WHERE type = 'post'").fetchone()[0])
        finally:
            con.close()


@pytest.fixture
def fake_wp(tmp_path):
    db = tmp_path / "wp.sqlite3"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.wordpress",
            "--port",
            str(free_port()),
            "--db",
            str(db),
            "--latency",
            "0.2",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith("FAKE_WORDPRESS_URL="), line
    fake = FakeProc(line.split("=", 1)[1], db, proc)
    yield fake
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def make_site(tmp_path: Path, url: str, database_url: str | None = None, **daemon: str) -> Path:
    root = tmp_path / "site"
    (root / "profiles").mkdir(parents=True)
    (root / "profiles" / "professional.toml").write_text(PERSONA.format(url=url))
    (root / "profiles" / "personal.toml").write_text(OTHER)
    lines = ['profiles_dir = "profiles"', 'data_dir = "data"']
    if database_url:
        lines.append(f'database_url = "{database_url}"')
    lines.append("[daemon]")
    lines += [f'{k} = "{v}"' for k, v in daemon.items()]
    (root / "config.toml").write_text("\n".join(lines) + "\n")
    return root / "config.toml"


def login(config: Path, env: dict[str, str]) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "crosspost",
            "--config",
            str(config),
            "accounts",
            "login",
            "blog",
            "--persona",
            "professional",
            "--stdin",
        ],
        input="abcd EFGH 1234 ijkl MNOP 5678\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert r.returncode == 0, r.stderr


def enqueue_many(config: Path, n: int, at: datetime) -> list[str]:
    """Queue n entries for the blog directly through the store (fast), due at ``at``."""
    from crosspost.app import App
    from crosspost.models import Delivery, Post
    from crosspost.store import Target

    store = App(config).store
    for i in range(n):
        store.enqueue(
            Post(
                persona="professional",
                kind="entry",
                title=f"Entry {i}",
                body=f"Body of entry {i}.",
                slug=f"entry-{i}",
                scheduled_at=at,
            ),
            [Target("blog", "wordpress", "blog")],
        )
    with store.read() as s:
        return [d.idempotency_key for d in s.exec(select(Delivery))]


def make_due(config: Path, at: datetime) -> None:
    """Move every queued post to ``at``, as the CLI's reschedule would."""
    from crosspost.app import App
    from crosspost.models import Delivery, Post

    with App(config).store.write() as s:
        for p in s.exec(select(Post)):
            p.scheduled_at = at
            s.add(p)
        for d in s.exec(select(Delivery)):
            d.due_at = at
            s.add(d)


def delivery_states(config: Path) -> dict[str, str]:
    from crosspost.app import App
    from crosspost.models import Delivery

    with App(config).store.read() as s:
        return {d.idempotency_key: d.state for d in s.exec(select(Delivery))}


def settle(config: Path, env: dict[str, str], keys: list[str], lease: float) -> dict[str, str]:
    """Let leases of killed workers expire and run the daemon until nothing is in flight."""
    for _ in range(10):
        time.sleep(lease + 0.2)
        r = crosspost(config, "daemon", "--once", env=env, timeout=120)
        # exit 1 says a target needs the user (e.g. unknown); the states are checked below
        assert r.returncode in (0, 1) and r.stdout.startswith("targets: "), r.stderr
        states = delivery_states(config)
        if all(states[k] in ("published", "unknown", "failed") for k in keys):
            return states
    return delivery_states(config)


def kill_at_random(config: Path, env: dict[str, str], rng: random.Random, times: int) -> None:
    """Start the daemon and kill -9 it, ``times`` times, each after a random 0.3–1.4 s.

    Start-up takes ~0.5 s: early kills land before the claim, later ones after the claim,
    inside the HTTP call, or between the reply and the commit. An in-flight request the
    daemon never saw answered still completes on the server."""
    for _ in range(times):
        p = subprocess.Popen(
            [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.4))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)


def test_kill_9_at_random_points_never_duplicates_or_loses(tmp_path, fake_wp):
    config = make_site(tmp_path, fake_wp.url, lease="1s", request_timeout="5s")
    env = env_for(tmp_path, CROSSPOST_DAEMON__CONCURRENCY__DEFAULT="3")
    login(config, env)
    keys = enqueue_many(config, 60, datetime.now(UTC) - timedelta(seconds=1))
    kill_at_random(config, env, random.Random(20261125), 36)
    states = settle(config, env, keys, lease=1.0)
    counts = {k: fake_wp.count(k) for k in keys}
    duplicates = {k: c for k, c in counts.items() if c > 1}
    assert not duplicates, f"posted twice: {duplicates}"
    lost = [k for k in keys if states[k] not in ("published", "unknown")]
    assert not lost, f"neither published nor visibly unknown: {[states[k] for k in lost]}"
    for k in keys:
        if states[k] == "published":
            assert counts[k] == 1
    assert fake_wp.total() == sum(counts.values())


def test_kill_after_the_platform_accepted_before_the_commit(tmp_path, fake_wp):
    """The server creates the post, the daemon dies before recording it: one post, published."""
    # generous times: on a loaded machine the daemon's start-up alone can take many seconds,
    # and its request must still be hanging (not timed out) when it is killed
    config = make_site(tmp_path, fake_wp.url, lease="1s", request_timeout="60s")
    env = env_for(tmp_path)
    login(config, env)
    (key,) = enqueue_many(config, 1, datetime.now(UTC) - timedelta(seconds=1))
    fake_wp.control("accept_then_hang", {"seconds": 90, "n": 1})
    p = subprocess.Popen(
        [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: fake_wp.count(key) == 1, timeout=120)
    assert delivery_states(config)[key] == "publishing"
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    fake_wp.control("clear")
    states = settle(config, env, [key], lease=1.0)
    assert states[key] == "published"
    assert fake_wp.count(key) == 1


def test_accepted_then_timed_out_is_looked_up_not_reposted(tmp_path, fake_wp):
    config = make_site(tmp_path, fake_wp.url, request_timeout="1s")
    env = env_for(tmp_path, CROSSPOST_DAEMON__RETRY__BASE_DELAY="1s")
    login(config, env)
    (key,) = enqueue_many(config, 1, datetime.now(UTC) - timedelta(seconds=1))
    fake_wp.control("accept_then_hang", {"seconds": 3, "n": 1})
    r = crosspost(config, "daemon", "--once", env=env)
    assert r.returncode == 0
    from crosspost.app import App

    _, (d,) = App(config).store.get(1)
    assert d.state == "queued" and d.needs_lookup, d.last_error
    assert fake_wp.count(key) == 1
    time.sleep(1.2)
    r = crosspost(config, "daemon", "--once", env=env)
    assert delivery_states(config)[key] == "published"
    assert fake_wp.count(key) == 1


@pytest.fixture
def pg_url():
    with new_database() as url:
        yield url


@pytest.mark.postgres
def test_three_daemons_on_postgresql_publish_each_delivery_once(tmp_path, pg_url, fake_wp):
    fake_wp.control("latency", {"seconds": 0.01})
    config = make_site(tmp_path, fake_wp.url, database_url=pg_url)
    env = env_for(tmp_path, CROSSPOST_DAEMON__CONCURRENCY__DEFAULT="8")
    login(config, env)
    keys = enqueue_many(config, 2000, datetime.now(UTC) + timedelta(seconds=8))

    def done() -> bool:
        return all(s == "published" for s in delivery_states(config).values())

    run_daemons_until(config, env, [tmp_path / f"d{i}.log" for i in range(3)], done)
    counts = [fake_wp.count(k) for k in keys]
    assert counts.count(1) == 2000, {c: counts.count(c) for c in set(counts)}
    assert fake_wp.total() == 2000
    from crosspost.app import App
    from crosspost.models import Delivery

    with App(config).store.read() as s:
        workers = {d.claimed_by.rsplit(":", 1)[0] for d in s.exec(select(Delivery))}
    assert len(workers) == 3, "all three daemons took part"


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()


def test_worker_processes_share_one_sqlite_queue(tmp_path, fake_wp):
    """daemon.workers = 2: two processes claim from one SQLite queue, each delivery goes out
    once, requests in flight stay within the platform's concurrency, and SIGTERM stops both."""
    fake_wp.control("latency", {"seconds": 0.1})
    config = make_site(tmp_path, fake_wp.url)
    env = env_for(
        tmp_path, CROSSPOST_DAEMON__WORKERS="2", CROSSPOST_DAEMON__CONCURRENCY__DEFAULT="4"
    )
    login(config, env)
    keys = enqueue_many(config, 120, datetime.now(UTC) + timedelta(hours=1))
    log = tmp_path / "daemon.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        children = wait_for(lambda: _children(proc.pid), timeout=60)
        assert len(children) == 1, "one more worker besides the daemon itself"
        # due only once both processes run (starting one may take seconds on a busy machine)
        wait_for(
            lambda: "(worker 1 of 2)" in log.read_text() and "(worker 2 of 2)" in log.read_text(),
            timeout=120,
            interval=0.2,
        )
        make_due(config, datetime.now(UTC) - timedelta(seconds=1))
        second = crosspost(config, "daemon", env=env, timeout=30)
        assert second.returncode == 1 and "already running" in second.stderr

        def done() -> bool:
            return all(s == "published" for s in delivery_states(config).values())

        wait_for(done, timeout=120, interval=0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()[-2000:]
    assert not any(_alive(c) for c in children), "the worker stopped with the daemon"
    counts = [fake_wp.count(k) for k in keys]
    assert counts == [1] * len(keys)
    stats = fake_wp.control("stats")
    assert 1 < stats["max_in_flight"] <= 4, stats
    from crosspost.app import App
    from crosspost.models import Delivery

    with App(config).store.read() as s:
        pids = {d.claimed_by.split(":")[1] for d in s.exec(select(Delivery))}
    assert pids == {str(proc.pid), str(children[0])}, "both processes published"


def test_workers_stop_when_the_daemon_is_killed(tmp_path, fake_wp):
    """kill -9 of the daemon: its worker notices within seconds and stops; the lock it
    inherited is free again afterwards, so a new daemon starts."""
    config = make_site(tmp_path, fake_wp.url)
    env = env_for(tmp_path, CROSSPOST_DAEMON__WORKERS="2")
    login(config, env)
    log = tmp_path / "daemon.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    children = wait_for(lambda: _children(proc.pid), timeout=60)
    # both running (a busy machine may take many seconds to start a Python process)
    wait_for(
        lambda: "(worker 1 of 2)" in log.read_text() and "(worker 2 of 2)" in log.read_text(),
        timeout=120,
        interval=0.2,
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    wait_for(lambda: not any(_alive(c) for c in children), timeout=60, interval=0.2)
    assert "is gone; stopping" in log.read_text(), log.read_text()[-2000:]
    log2 = tmp_path / "again.log"
    again = subprocess.Popen(
        [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
        env={**env, "CROSSPOST_DAEMON__WORKERS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=log2.open("w"),
    )
    try:
        wait_for(
            lambda: again.poll() is not None or " started on " in log2.read_text(),
            timeout=120,
            interval=0.2,
        )
        assert again.poll() is None, log2.read_text()[-2000:]
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=60) == 0, log2.read_text()[-2000:]


#: stands in for a slow interpreter start: runs the worker only once its daemon has died
SLOW_START = """
import os, sys, time
parent = int(sys.argv[1])
while os.getppid() == parent:
    time.sleep(0.01)
os.execv(sys.argv[2], sys.argv[2:])
"""

#: a daemon that starts its worker the real way and is killed while the worker starts up
DIES_WHILE_WORKER_STARTS = """
import os, signal, subprocess, sys
from pathlib import Path
from crosspost.app import App
from crosspost.daemon import Daemon

config, slow_start = Path(sys.argv[1]), sys.argv[2]
real_popen = subprocess.Popen
subprocess.Popen = lambda cmd, **kw: real_popen(
    [sys.executable, slow_start, str(os.getpid()), *cmd], **kw
)
daemon = Daemon(App(config))
daemon._single_instance()
daemon._start_worker(1)
print(daemon.children[1].pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_worker_whose_daemon_died_before_it_started_stops(tmp_path, fake_wp):
    """kill -9 of the daemon while its worker is still starting: the worker first looks at
    its parent after it has already been re-parented, and must still see that its daemon is
    gone, stop, and free the single-instance lock it inherited."""
    config = make_site(tmp_path, fake_wp.url)
    env = env_for(tmp_path, CROSSPOST_DAEMON__WORKERS="2")
    slow_start = tmp_path / "slow_start.py"
    slow_start.write_text(SLOW_START)
    log = tmp_path / "worker.log"
    with log.open("w") as err:
        starter = subprocess.Popen(
            [sys.executable, "-c", DIES_WHILE_WORKER_STARTS, str(config), str(slow_start)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        assert starter.stdout is not None
        worker = int(starter.stdout.readline())
        assert starter.wait(timeout=60) == -signal.SIGKILL
    try:
        wait_for(lambda: not _alive(worker), timeout=60, interval=0.2)
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)
    assert "is gone; stopping" in log.read_text(), log.read_text()[-2000:]
    again = crosspost(config, "daemon", "--once", env=env, timeout=120)
    assert "already running" not in again.stderr
    assert again.returncode == 0, again.stderr


def test_sigterm_gives_back_claims_still_waiting_for_a_request_slot(tmp_path, fake_wp):
    """The daemon claims ahead of its request slots; on SIGTERM the delivery being sent
    finishes, the ones still waiting for a slot go back to the queue untouched."""
    fake_wp.control("latency", {"seconds": 1.5})
    config = make_site(tmp_path, fake_wp.url)
    env = env_for(tmp_path, CROSSPOST_DAEMON__CONCURRENCY__DEFAULT="1")
    login(config, env)
    keys = enqueue_many(config, 4, datetime.now(UTC) - timedelta(seconds=1))
    before = fake_wp.control("stats")["requests"]
    log = tmp_path / "daemon.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        # one request is at the server (1.5 s to answer), a second claim waits for the slot
        wait_for(lambda: fake_wp.control("stats")["requests"] > before, timeout=20, interval=0.05)
        assert list(delivery_states(config).values()).count("publishing") == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("no exit 60 s after SIGTERM: " + log.read_text()[-2000:]) from None
    assert code == 0, log.read_text()[-2000:]
    from crosspost.app import App
    from crosspost.models import Delivery

    with App(config).store.read() as s:
        rows = {d.idempotency_key: d for d in s.exec(select(Delivery))}
    states = sorted(rows[k].state for k in keys)
    assert states == ["published", "queued", "queued", "queued"], states
    for k in keys:
        d = rows[k]
        assert fake_wp.count(k) == (1 if d.state == "published" else 0)
        if d.state == "queued":
            assert d.attempts == 0 and not d.needs_lookup


# -- recurring posts -----------------------------------------------------------------------------
# The fake platform here is the blog; the series machinery does not look at a target's role.


def enqueue_series(config: Path, n: int, at: datetime) -> list[str]:
    """Queue n recurring posts (each its own daily series), first occurrence due at ``at``;
    the idempotency keys of the first occurrences."""
    from zoneinfo import ZoneInfo

    from crosspost.app import App
    from crosspost.models import Delivery, Post, Recurrence
    from crosspost.store import Target

    store = App(config).store
    chicago = ZoneInfo("America/Chicago")
    for i in range(n):
        store.enqueue(
            Post(
                persona="professional",
                kind="entry",
                title=f"Weekly {i}",
                body=f"Body of weekly {i}.",
                slug=f"weekly-{i}",
                scheduled_at=at,
            ),
            [Target("blog", "wordpress", "blog")],
            series=Recurrence(
                persona="professional",
                rule="FREQ=DAILY",
                dtstart=at.astimezone(chicago).replace(tzinfo=None, microsecond=0).isoformat(),
                timezone="America/Chicago",
            ),
        )
    with store.read() as s:
        return [d.idempotency_key for d in s.exec(select(Delivery))]


def series_posts(config: Path) -> dict[int, list[tuple[int, str, datetime]]]:
    """Each series' posts: (occurrence, status, scheduled_at) in order."""
    from crosspost.app import App
    from crosspost.models import Post

    out: dict[int, list[tuple[int, str, datetime]]] = {}
    with App(config).store.read() as s:
        for p in s.exec(select(Post).order_by(Post.series_id, Post.occurrence)):
            out.setdefault(p.series_id, []).append((p.occurrence, p.status, p.scheduled_at))
    return out


def test_recurring_kill_after_the_platform_accepted_before_the_commit(tmp_path, fake_wp):
    """The daemon dies between the platform's reply and marking the occurrence done: after the
    restart it is found (not sent again), and the next occurrence exists exactly once, a day
    later at the same local time."""
    config = make_site(tmp_path, fake_wp.url, lease="1s", request_timeout="60s")
    env = env_for(tmp_path)
    login(config, env)
    at = datetime.now(UTC) - timedelta(seconds=1)
    (key,) = enqueue_series(config, 1, at)
    fake_wp.control("accept_then_hang", {"seconds": 90, "n": 1})
    p = subprocess.Popen(
        [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: fake_wp.count(key) == 1, timeout=120)
    assert delivery_states(config)[key] == "publishing"
    assert len(series_posts(config)[1]) == 1
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    fake_wp.control("clear")
    states = settle(config, env, [key], lease=1.0)
    assert states[key] == "published" and fake_wp.count(key) == 1
    (posts,) = series_posts(config).values()
    assert [(o, s) for o, s, _ in posts] == [(1, "published"), (2, "queued")]
    # a day later at the same wall time (America/Chicago has no DST change in December)
    assert posts[1][2] == at.replace(microsecond=0) + timedelta(days=1)
    # more runs (restarts) add nothing
    crosspost(config, "daemon", "--once", env=env, timeout=120)
    assert len(series_posts(config)[1]) == 2


def test_recurring_kill_9_at_random_points_never_doubles_or_loses_an_occurrence(tmp_path, fake_wp):
    config = make_site(tmp_path, fake_wp.url, lease="1s", request_timeout="5s")
    env = env_for(tmp_path, CROSSPOST_DAEMON__CONCURRENCY__DEFAULT="3")
    login(config, env)
    keys = enqueue_series(config, 24, datetime.now(UTC) - timedelta(seconds=1))
    kill_at_random(config, env, random.Random(20261203), 20)
    states = settle(config, env, keys, lease=1.0)
    counts = {k: fake_wp.count(k) for k in keys}
    assert not {k: c for k, c in counts.items() if c > 1}, "posted twice"
    assert all(states[k] in ("published", "unknown") for k in keys)
    series = series_posts(config)
    assert len(series) == 24
    for posts in series.values():
        first = posts[0][1]
        if first == "published":
            assert [(o, s) for o, s, _ in posts] == [(1, "published"), (2, "queued")]
        else:  # unknown: the series waits for the user ('resolve' or 'retry')
            assert [(o, s) for o, s, _ in posts] == [(1, "unknown")]


@pytest.mark.postgres
def test_two_daemons_on_postgresql_create_each_next_occurrence_once(tmp_path, pg_url, fake_wp):
    fake_wp.control("latency", {"seconds": 0.01})
    config = make_site(tmp_path, fake_wp.url, database_url=pg_url)
    env = env_for(tmp_path, CROSSPOST_DAEMON__CONCURRENCY__DEFAULT="8")
    login(config, env)
    keys = enqueue_series(config, 300, datetime.now(UTC) + timedelta(seconds=6))

    def done() -> bool:
        states = delivery_states(config)
        return all(states[k] == "published" for k in keys)

    run_daemons_until(config, env, [tmp_path / f"d{i}.log" for i in range(2)], done)
    assert [fake_wp.count(k) for k in keys] == [1] * 300
    series = series_posts(config)
    assert len(series) == 300
    assert all(
        [(o, s) for o, s, _ in p] == [(1, "published"), (2, "queued")] for p in series.values()
    )
