"""`crosspost doctor` checks what publishing needs and says how to fix each problem."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from crosspost.credentials import service_name
from tests.support.pgdb import new_database
from tests.support.readonly import read_only

SITE_FOLDERS = ("site-pro/content/posts", "site-home/content/posts")


def log_in_everywhere(ring) -> None:
    from crosspost.platforms import adapter_class

    for persona, target, platform in [
        ("professional", "pro-x", "x"),
        ("professional", "pro-mastodon", "mastodon"),
        ("personal", "home-bsky", "bluesky"),
    ]:
        for field in adapter_class(platform).credential_fields:
            ring.set_password(service_name(persona, target), field.name, "s3cret-value")


@pytest.fixture
def healthy(ws, isolated):
    for folder in SITE_FOLDERS:
        (ws.root / folder).mkdir(parents=True)
    log_in_everywhere(isolated)
    assert ws.run("list").code == 0  # creates the database
    return ws


def doctor(ws) -> tuple[int, dict[str, dict]]:
    r = ws.run("doctor", "--format", "json")
    assert "Traceback" not in r.err, r.err
    data = r.json()
    assert data["ok"] == (r.code == 0)
    for c in data["checks"]:
        assert set(c) == {"check", "ok", "detail", "fix"}
        assert (c["fix"] is None) == c["ok"], c
    return r.code, {c["check"]: c for c in data["checks"]}


def failing(checks: dict[str, dict]) -> set[str]:
    return {name for name, c in checks.items() if not c["ok"]}


def test_all_is_well(healthy):
    code, checks = doctor(healthy)
    assert code == 0 and failing(checks) == set()
    assert {
        "config",
        "profiles",
        "keyring",
        "database",
        "professional/blog",
        "professional/pro-x",
        "professional/pro-mastodon",
        "personal/blog",
        "personal/home-bsky",
        "personal/home-feed",
    } <= set(checks)
    assert "current" in checks["database"]["detail"]
    r = healthy.run("doctor")
    assert r.code == 0 and r.out.startswith("ok   config: ")


def test_a_missing_blog_folder(healthy):
    (healthy.root / "site-pro" / "content" / "posts").rmdir()
    code, checks = doctor(healthy)
    assert code == 1 and failing(checks) == {"professional/blog"}
    fix = checks["professional/blog"]["fix"]
    assert "mkdir -p" in fix and "content_dir" in fix and "professional.toml" in fix


def test_a_missing_feed_folder(healthy):
    healthy.write(
        "profiles/personal.toml",
        (healthy.profiles / "personal.toml")
        .read_text()
        .replace('path = "site-home/feed.xml"', 'path = "site-hme/feed.xml"'),
    )
    code, checks = doctor(healthy)
    assert code == 1 and failing(checks) == {"personal/home-feed"}
    assert "site-hme" in checks["personal/home-feed"]["detail"]
    assert "path of account 'home-feed'" in checks["personal/home-feed"]["fix"]


def test_a_read_only_blog_folder(healthy):
    with read_only(healthy.root / "site-pro" / "content" / "posts"):
        code, checks = doctor(healthy)
    assert code == 1 and failing(checks) == {"professional/blog"}
    assert "writable" in checks["professional/blog"]["fix"]


def test_missing_credentials(healthy, isolated):
    isolated.delete_password(service_name("professional", "pro-mastodon"), "access_token")
    code, checks = doctor(healthy)
    assert code == 1 and failing(checks) == {"professional/pro-mastodon"}
    assert (
        checks["professional/pro-mastodon"]["fix"] == "run 'crosspost accounts login pro-mastodon'"
    )


def test_the_null_keyring_is_not_a_keyring(healthy):
    import keyring
    from keyring.backends import null

    keyring.set_keyring(null.Keyring())  # the conftest fixture puts the test keyring back
    code, checks = doctor(healthy)
    assert code == 1
    assert failing(checks) == {
        "keyring",
        "professional/pro-x",
        "professional/pro-mastodon",
        "personal/home-bsky",
    }
    assert "PYTHON_KEYRING_BACKEND" in checks["keyring"]["fix"]
    assert "credentials not checked" in checks["professional/pro-x"]["detail"]


class LockedKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service, username):
        raise RuntimeError("the collection is locked")

    def set_password(self, service, username, password):
        raise RuntimeError("the collection is locked")

    def delete_password(self, service, username):
        raise RuntimeError("the collection is locked")


class WaitingKeyring(LockedKeyring):
    """Waits for an unlock prompt nobody answers."""

    def __init__(self) -> None:
        super().__init__()
        self.answered = threading.Event()

    def get_password(self, service, username):
        self.answered.wait()
        return None


def test_a_keyring_that_cannot_be_read(healthy):
    import keyring

    keyring.set_keyring(LockedKeyring())
    code, checks = doctor(healthy)
    assert code == 1 and "keyring" in failing(checks)
    assert "RuntimeError" in checks["keyring"]["detail"]


def test_a_keyring_waiting_for_a_prompt_does_not_hang_doctor(healthy, monkeypatch):
    import keyring

    monkeypatch.setattr("crosspost.cli_admin.KEYRING_PROBE_TIMEOUT", 0.2)
    ring = WaitingKeyring()
    keyring.set_keyring(ring)
    try:
        code, checks = doctor(healthy)
    finally:
        ring.answered.set()
    assert code == 1 and "did not answer" in checks["keyring"]["detail"]
    assert "credentials not checked" in checks["professional/pro-mastodon"]["detail"]


def test_an_encrypted_file_keyring_without_its_password_would_prompt(healthy, tmp_path):
    """What a daemon started by systemd without KEYRING_CRYPTFILE_PASSWORD would meet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CROSSPOST_", "KEYRING_"))}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "home" / "data"),
        PYTHON_KEYRING_BACKEND="keyrings.cryptfile.cryptfile.CryptFileKeyring",
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "crosspost",
            "--config",
            str(healthy.config),
            "doctor",
            "--format",
            "json",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        start_new_session=True,  # no terminal to prompt on, like a daemon
    )
    assert r.returncode == 1, r.stderr
    checks = {c["check"]: c for c in json.loads(r.stdout)["checks"]}
    assert not checks["keyring"]["ok"]
    assert "KEYRING_CRYPTFILE_PASSWORD" in checks["keyring"]["fix"]
    assert "password" not in r.stderr.lower()  # nothing asked for it


def test_doctor_creates_no_database(ws):
    _, checks = doctor(ws)
    assert checks["database"]["ok"] and "not created yet" in checks["database"]["detail"]
    assert not (ws.root / "data").exists()


def test_a_newer_schema(healthy):
    with sqlite3.connect(healthy.root / "data" / "crosspost.db") as c:
        c.execute("UPDATE alembic_version SET version_num = '9999'")
    c.close()
    code, checks = doctor(healthy)
    assert code == 1 and failing(checks) == {"database"}
    assert "newer crosspost" in checks["database"]["detail"]


def one_migration_ahead(monkeypatch) -> str:
    """Pretend to be a crosspost one migration newer; returns the revision shipped now."""
    from crosspost.store import known_revisions

    shipped = known_revisions()
    monkeypatch.setattr("crosspost.store.known_revisions", lambda: [*shipped, "9999"])
    return shipped[-1]


def test_an_older_schema_is_reported_and_left_alone(healthy, monkeypatch):
    current = one_migration_ahead(monkeypatch)
    code, checks = doctor(healthy)
    assert code == 1 and failing(checks) == {"database"}
    assert f"{current} is older than this version's 9999" in checks["database"]["detail"]
    with sqlite3.connect(healthy.root / "data" / "crosspost.db") as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchone() == (current,)
    c.close()


def test_a_read_only_database(healthy):
    db = healthy.root / "data" / "crosspost.db"
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    with read_only(db):
        code, checks = doctor(healthy)
    assert code == 1 and failing(checks) == {"database"}
    assert "read-only" in checks["database"]["detail"]
    assert "writable" in checks["database"]["fix"]


def test_a_damaged_database(healthy):
    db = healthy.root / "data" / "crosspost.db"
    for extra in Path(db.parent).glob("crosspost.db-*"):
        extra.unlink()
    db.write_bytes(b"\x00\x01" * 5000)
    code, checks = doctor(healthy)
    assert code == 1 and failing(checks) == {"database"}
    assert "damaged" in checks["database"]["detail"] and str(db) in checks["database"]["detail"]


def test_an_unreachable_database_server(healthy):
    healthy.write(
        "config.toml",
        'profiles_dir = "profiles"\ndata_dir = "data"\n'
        'database_url = "postgresql://maya:pw-123@127.0.0.1:1/crosspost"\n',
    )
    code, checks = doctor(healthy)
    assert code == 1 and failing(checks) == {"database"}
    detail = checks["database"]["detail"]
    assert "127.0.0.1" in detail and "pw-123" not in detail


@pytest.fixture
def pg_url():
    with new_database() as url:
        yield url


@pytest.mark.postgres
def test_a_postgresql_database(healthy, pg_url, monkeypatch):
    healthy.write("config.toml", f'profiles_dir = "profiles"\ndatabase_url = "{pg_url}"\n')
    code, checks = doctor(healthy)
    assert code == 0 and "empty" in checks["database"]["detail"]
    assert healthy.run("list").code == 0  # sets it up
    code, checks = doctor(healthy)
    assert code == 0 and "current" in checks["database"]["detail"]
    one_migration_ahead(monkeypatch)
    code, checks = doctor(healthy)
    assert code == 1 and "older" in checks["database"]["detail"]
