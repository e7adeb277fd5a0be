"""``crosspost status``: the daemon's heartbeat, the queue's state, credentials, exit codes,
and the daemon's health endpoint, with real daemon processes."""

from __future__ import annotations

import json
import signal
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from crosspost.when import format_local
from tests import test_reliability
from tests.support.procs import crosspost, env_for, start_daemon, wait_for


def queue(ws, *args: str) -> dict:
    r = ws.run("queue", *args, "--format", "json")
    assert r.code == 0, r.err
    return r.json()


def set_due(ws, post_id: int, at: datetime) -> None:
    from crosspost.models import Delivery, Post

    with ws.app().store.write() as s:
        p = s.get(Post, post_id)
        p.scheduled_at = at
        s.add(p)
        for d in s.exec(select(Delivery).where(Delivery.post_id == post_id)):
            d.due_at = at
            s.add(d)


def secrets(ws) -> dict[tuple[str, str], str]:
    """(keyring service, field) → value for every account that needs credentials."""
    from crosspost.credentials import service_name
    from crosspost.platforms.registry import spec

    out = {}
    for p in ws.app().personas:
        for a in p.accounts:
            for f in spec(a.platform).credential_fields:
                if f.secret:
                    out[(service_name(p.name, a.name), f.name)] = "secret-" + f.name
    return out


def login_all(ws) -> None:
    """Credentials for every account, so only what a test breaks shows."""
    from crosspost.credentials import set_secret

    for (service, field), value in secrets(ws).items():
        set_secret(service, field, value)


def status(ws):
    r = ws.run("status", "--format", "json")
    return r.code, r.json()


def test_idle_queue_with_credentials_is_healthy(ws):
    login_all(ws)
    code, st = status(ws)
    assert code == 0, st["problems"]
    assert st["ok"] is True and st["problems"] == []
    assert st["daemon"] == {"running": False, "instances": []}
    assert st["queue_lag"]["seconds"] is None
    names = {p["name"]: p for p in st["personas"]}
    assert set(names) == {"professional", "personal"}
    creds = {c["target"]: c["state"] for c in names["professional"]["credentials"]}
    assert creds == {"blog": "none needed", "pro-x": "present", "pro-mastodon": "present"}
    assert names["personal"]["next"] is None


def test_missing_credentials_need_the_user(ws):
    code, st = status(ws)
    assert code == 1
    creds = {c["target"]: c["state"] for p in st["personas"] for c in p["credentials"]}
    assert creds["pro-x"] == "missing" and creds["home-bsky"] == "missing"
    assert creds["home-feed"] == "none needed"
    assert any("crosspost accounts login pro-x" in p for p in st["problems"])
    text = ws.run("status")
    assert text.code == 1
    assert "NEEDS ATTENTION" in text.out and "pro-x missing" in text.out


def test_next_post_counts_lag_and_no_daemon(ws):
    login_all(ws)
    later = queue(
        ws,
        "--persona",
        "personal",
        "--text",
        "Bees in the garden today.",
        "--at",
        "+3h",
        "--to",
        "home-feed",
    )
    due = queue(
        ws,
        "--persona",
        "personal",
        "--text",
        "Overdue honey note.",
        "--at",
        "+1h",
        "--to",
        "home-feed",
    )
    past = datetime.now(UTC) - timedelta(minutes=10)
    set_due(ws, due["id"], past)
    code, st = status(ws)
    assert code == 1, "a due post and no daemon needs the user"
    assert any("no daemon is running" in p for p in st["problems"])
    lag = st["queue_lag"]
    assert lag["post_id"] == due["id"] and lag["target"] == "home-feed"
    assert 600 <= lag["seconds"] < 700
    personal = next(p for p in st["personas"] if p["name"] == "personal")
    assert personal["next"]["id"] == due["id"]
    assert personal["next"]["summary"] == "Overdue honey note."
    assert personal["next"]["at_local"] == format_local(past, "America/Chicago")
    assert st["counts"]["posts"] == {"queued": 2}
    assert st["counts"]["targets"] == {"queued": 2}
    professional = next(p for p in st["personas"] if p["name"] == "professional")
    assert professional["next"] is None
    # once the overdue one is gone, nothing is due: healthy, and the next is the later one
    assert ws.run("cancel", str(due["id"])).code == 0
    code, st = status(ws)
    assert code == 0, st["problems"]
    personal = next(p for p in st["personas"] if p["name"] == "personal")
    assert personal["next"]["id"] == later["id"]


def test_failures_of_the_last_day_and_held_targets(ws):
    from crosspost.models import Delivery

    login_all(ws)
    a = queue(
        ws, "--persona", "personal", "--text", "Failing one.", "--at", "+1h", "--to", "home-feed"
    )
    b = queue(
        ws, "--persona", "personal", "--text", "Old failure.", "--at", "+2h", "--to", "home-feed"
    )
    now = datetime.now(UTC)
    with ws.app().store.write() as s:
        for post_id, when in (
            (a["id"], now - timedelta(hours=1)),
            (b["id"], now - timedelta(days=2)),
        ):
            d = s.exec(select(Delivery).where(Delivery.post_id == post_id)).one()
            d.state = "failed"
            d.last_error = "the feed file is read-only"
            d.updated_at = when
            s.add(d)
    code, st = status(ws)
    assert code == 1
    assert [f["post_id"] for f in st["failures_24h"]] == [a["id"]]
    assert st["failures_24h"][0]["error"] == "the feed file is read-only"
    assert st["counts"]["targets"]["failed"] == 2
    assert any("2 targets failed" in p for p in st["problems"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_daemon_heartbeat_and_health_endpoint(ws, tmp_path):
    port = _free_port()
    ws.write(
        "config.toml",
        f'profiles_dir = "profiles"\ndata_dir = "data"\n[daemon]\nhealth = "127.0.0.1:{port}"\n',
    )
    env = env_for(tmp_path)
    # every account logged in, in the keyring file the daemon process reads
    (tmp_path / "keyring.json").write_text(
        json.dumps({f"{service}\n{field}": v for (service, field), v in secrets(ws).items()})
    )
    r = crosspost(ws.config, "status", "--format", "json", env=env)
    assert r.returncode == 0, r.stdout
    assert json.loads(r.stdout)["daemon"]["running"] is False
    proc = start_daemon(ws.config, env, tmp_path / "daemon.log")
    try:
        # the heartbeat row is read in this process (a status subprocess per poll is slow on a
        # loaded machine); status itself is asked once the daemon has dispatched
        wait_for(lambda: any(r.last_dispatch_at for r in beats(ws)), timeout=120, interval=0.2)
        st = json.loads(crosspost(ws.config, "status", "--format", "json", env=env).stdout)
        (inst,) = st["daemon"]["instances"]
        assert inst["pid"] == proc.pid
        assert inst["host"] == socket.gethostname()
        assert inst["since"] is not None and inst["version"]
        code, health = _get(f"http://127.0.0.1:{port}/health")
        assert health["daemon"]["running"] is True
        assert health["daemon"]["instances"][0]["pid"] == proc.pid
        assert code == 200 and health["ok"] is True, health["problems"]
        assert set(health) == set(st)
        # a failed target makes it unhealthy: 503, with the same shape
        q = queue(
            ws, "--persona", "personal", "--text", "Will fail.", "--at", "+1h", "--to", "home-feed"
        )
        from crosspost.models import Delivery

        with ws.app().store.write() as s:
            d = s.exec(select(Delivery).where(Delivery.post_id == q["id"])).one()
            d.state = "failed"
            s.add(d)
        code, health = _get(f"http://127.0.0.1:{port}/health")
        assert code == 503 and health["ok"] is False
        assert any("failed" in p for p in health["problems"])
        code, _ = _get(f"http://127.0.0.1:{port}/nope")
        assert code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, (tmp_path / "daemon.log").read_text()
    # a clean stop removes the heartbeat at once
    st = json.loads(crosspost(ws.config, "status", "--format", "json", env=env).stdout)
    assert st["daemon"] == {"running": False, "instances": []}


def beats(ws) -> list:
    """The daemons' heartbeat rows, straight from the database."""
    from crosspost.models import DaemonBeat

    with ws.app().store.read() as s:
        return list(s.exec(select(DaemonBeat)))


def test_killed_daemon_is_not_running(ws, tmp_path):
    env = env_for(tmp_path)
    proc = start_daemon(ws.config, env, tmp_path / "daemon.log")
    try:
        wait_for(lambda: beats(ws), timeout=120, interval=0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    st = json.loads(crosspost(ws.config, "status", "--format", "json", env=env).stdout)
    (inst,) = st["daemon"]["instances"]
    assert st["daemon"]["running"] is False
    assert inst["running"] is False and "no longer exists" in inst["stopped_because"]


def test_stale_heartbeat_from_another_host_is_not_running(ws):
    from crosspost.heartbeat import daemons
    from crosspost.models import DaemonBeat

    store = ws.app().store
    now = datetime.now(UTC)
    with store.write() as s:
        for name, beat in (
            ("fresh", now - timedelta(seconds=20)),
            ("stale", now - timedelta(minutes=16)),
        ):
            s.add(
                DaemonBeat(
                    id=name,
                    host="elsewhere",
                    pid=1,
                    version="0.1.0",
                    started_at=now - timedelta(hours=1),
                    beat_at=beat,
                    wake_seconds=300,
                )
            )
    found = {d.id: d for d in daemons(store, now)}
    assert found["fresh"].running
    assert not found["stale"].running and "heartbeat" in found["stale"].gone


def test_health_address_is_checked(ws):
    ws.write("config.toml", 'profiles_dir = "profiles"\n[daemon]\nhealth = "localhost"\n')
    r = ws.run("status")
    assert r.code == 2
    assert "config.toml" in r.err and "host:port" in r.err


#: a fresh PostgreSQL database per test (skipped without CROSSPOST_TEST_DATABASE_URL)
pg_url = test_reliability.pg_url


@pytest.mark.postgres
def test_two_daemons_on_postgresql_each_show(ws, tmp_path, pg_url):
    ws.write(
        "config.toml",
        f'profiles_dir = "profiles"\ndata_dir = "data"\ndatabase_url = "{pg_url}"\n',
    )
    env = env_for(tmp_path)
    procs = [start_daemon(ws.config, env, tmp_path / f"d{i}.log") for i in range(2)]
    try:

        def both():
            st = json.loads(crosspost(ws.config, "status", "--format", "json", env=env).stdout)
            running = [d for d in st["daemon"]["instances"] if d["running"]]
            return running if len(running) == 2 else None

        running = wait_for(both, timeout=60, interval=0.5)
        assert {d["pid"] for d in running} == {p.pid for p in procs}
        procs[0].send_signal(signal.SIGTERM)
        assert procs[0].wait(timeout=30) == 0
        st = json.loads(crosspost(ws.config, "status", "--format", "json", env=env).stdout)
        assert [d["pid"] for d in st["daemon"]["instances"]] == [procs[1].pid]
        assert st["daemon"]["running"] is True
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)


def test_health_address_in_use_is_refused(ws, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ws.write(
            "config.toml",
            f'profiles_dir = "profiles"\ndata_dir = "data"\n[daemon]\nhealth = "127.0.0.1:{port}"\n',
        )
        r = crosspost(ws.config, "daemon", env=env_for(tmp_path), timeout=60)
    assert r.returncode == 1
    assert f"daemon.health 127.0.0.1:{port}: cannot listen there" in r.stderr
    assert "Traceback" not in r.stderr


LINKEDIN = """
[[accounts]]
name = "pro-linkedin"
platform = "linkedin"
"""


def login_linkedin(ws, expires_in: timedelta, refresh_in: timedelta | None = None) -> datetime:
    """A LinkedIn login as ``accounts login`` stores it; returns when it ends."""
    from crosspost.credentials import service_name, set_secret

    now = datetime.now(UTC)
    service = service_name("professional", "pro-linkedin")
    values = {
        "client_secret": "s",
        "access_token": "t",
        "expires_at": str(int((now + expires_in).timestamp())),
        "refresh_token": "r" if refresh_in else "",
        "refresh_expires_at": str(int((now + refresh_in).timestamp())) if refresh_in else "",
    }
    for field, value in values.items():
        set_secret(service, field, value)
    return datetime.fromtimestamp(int((now + (refresh_in or expires_in)).timestamp()), UTC)


def test_a_login_that_ends_soon_needs_the_user_and_shows_when(ws):
    (ws.profiles / "professional.toml").write_text(
        (ws.profiles / "professional.toml").read_text() + LINKEDIN
    )
    login_all(ws)
    ends = login_linkedin(ws, timedelta(days=3))
    code, st = status(ws)
    assert code == 1
    creds = {c["target"]: c for p in st["personas"] for c in p["credentials"]}
    assert creds["pro-linkedin"]["login_ends"] == ends.isoformat().replace("+00:00", "Z")
    assert creds["pro-x"]["login_ends"] is None, "X logins do not expire"
    local = format_local(ends, ZoneInfo("America/Chicago"))
    assert st["problems"] == [
        f"professional/pro-linkedin: the login ends {local}: "
        "run 'crosspost accounts login pro-linkedin'"
    ]


def test_a_refresh_token_keeps_the_login_until_it_expires(ws):
    """The access token expires in an hour, but the adapter renews it with the refresh
    token: the login ends with the refresh token, months away, and is not a problem yet."""
    (ws.profiles / "professional.toml").write_text(
        (ws.profiles / "professional.toml").read_text() + LINKEDIN
    )
    login_all(ws)
    ends = login_linkedin(ws, timedelta(hours=1), refresh_in=timedelta(days=300))
    code, st = status(ws)
    assert code == 0, st["problems"]
    creds = {c["target"]: c for p in st["personas"] for c in p["credentials"]}
    assert creds["pro-linkedin"]["login_ends"] == ends.isoformat().replace("+00:00", "Z")


def test_the_warning_time_is_a_setting(ws):
    (ws.profiles / "professional.toml").write_text(
        (ws.profiles / "professional.toml").read_text() + LINKEDIN
    )
    ws.write("config.toml", ws.config.read_text() + '\n[daemon]\nlogin_warning = "1d"\n')
    login_all(ws)
    login_linkedin(ws, timedelta(days=3))
    code, st = status(ws)
    assert code == 0, st["problems"]
