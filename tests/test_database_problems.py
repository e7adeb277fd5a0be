"""A database that cannot be used is one line saying which and how to fix it, exit 2.

Damaged files, unsupported or malformed URLs, servers that do not answer, missing folders,
and read-only files or folders (reading commands still work there).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from crosspost.errors import StoreError
from crosspost.store import Store, known_revisions
from tests.support.readonly import read_only


def one_line_error(r, code: int = 2) -> str:
    assert r.code == code, (r.code, r.out, r.err)
    assert r.err.startswith("error: "), r.err
    assert r.err.strip().count("\n") == 0, r.err
    assert "Traceback" not in r.err and "unexpected" not in r.err, r.err
    assert "SELECT" not in r.err and "INSERT" not in r.err, r.err
    return r.err


def use_database(ws, url: str) -> None:
    ws.write(
        "config.toml", f'profiles_dir = "profiles"\ndata_dir = "data"\ndatabase_url = "{url}"\n'
    )


def queue_one(ws, text: str = "Boundaries matter.") -> int:
    r = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        text,
        "--at",
        "+1h",
        "--to",
        "pro-x",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    return r.json()["id"]


def checkpoint(db: Path) -> None:
    """Everything in the main file, no WAL beside it (what a closed database looks like)."""
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


# -- damaged files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["show", "1"],
        ["audit", "--verify"],
        ["queue", "--persona", "professional", "--text", "x"],
    ],
)
def test_a_file_of_random_bytes_is_a_damaged_database(ws, command):
    db = ws.root / "data" / "crosspost.db"
    db.parent.mkdir()
    db.write_bytes(bytes(range(256)) * 40)
    err = one_line_error(ws.run(*command))
    assert str(db) in err and "damaged" in err and "backup" in err


def test_a_truncated_database_is_damaged(ws):
    queue_one(ws)
    db = ws.root / "data" / "crosspost.db"
    checkpoint(db)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])
    err = one_line_error(ws.run("list"))
    assert str(db) in err and "damaged" in err


def test_damage_found_in_the_middle_of_a_command_names_the_file(ws):
    """The schema opens fine; the posts' own page is garbage."""
    queue_one(ws)
    db = ws.root / "data" / "crosspost.db"
    checkpoint(db)
    with sqlite3.connect(db) as c:
        page_size = c.execute("PRAGMA page_size").fetchone()[0]
        root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = 'post'").fetchone()[0]
    c.close()
    with db.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * page_size)
    err = one_line_error(ws.run("list"))
    assert str(db) in err and "damaged" in err


def test_an_unexpected_database_error_never_shows_the_statement_or_the_post(ws):
    """Not the user's to fix, so reported as unexpected: but without SQL or parameters."""
    queue_one(ws)
    with sqlite3.connect(ws.root / "data" / "crosspost.db") as c:
        c.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON post BEGIN "
            "SELECT RAISE(ABORT, 'refused by a trigger'); END"
        )
    c.close()
    r = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        "my very private words",
        "--at",
        "+2h",
        "--to",
        "pro-x",
    )
    assert r.code == 1
    assert "refused by a trigger" in r.err
    assert "my very private words" not in r.err and "INSERT" not in r.err
    assert r.err.count("\n") == 2  # the error line and its "(… please report it)"


# -- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://maya:hunter2secret@db.example/crosspost", "cannot use 'mysql' databases"),
        ("sqlite:/relative.db", "is not a database URL"),
        ("sqlite://somehost/x.db", "has no host part"),
        ("not a url at all", "is not a database URL"),
        ("postgresql://maya:hunter2secret@127.0.0.1:1/crosspost", "Connection refused"),
        ("postgresql://maya:hunter2@secret@127.0.0.1:1/crosspost", "%40"),
    ],
)
def test_unusable_database_urls(ws, url, expected):
    use_database(ws, url)
    err = one_line_error(ws.run("list"))
    assert expected in err
    assert "hunter2" not in err and "secret" not in err
    assert "database_url" in err


def test_a_missing_database_folder_is_not_created(ws):
    missing = ws.root / "unmounted-disk" / "queue"
    use_database(ws, f"sqlite:///{missing}/crosspost.db")
    err = one_line_error(ws.run("list"))
    assert f"mkdir -p {missing}" in err
    assert not missing.exists()


def test_the_default_database_folder_is_created(ws):
    assert ws.run("list").code == 0
    assert (ws.root / "data" / "crosspost.db").exists()


@pytest.fixture
def pg_base():
    base = os.environ.get("CROSSPOST_TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "PostgreSQL tests skipped: set CROSSPOST_TEST_DATABASE_URL "
            "(e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return base


def test_a_postgresql_database_that_does_not_exist(ws, pg_base):
    use_database(ws, pg_base.rsplit("/", 1)[0] + "/crosspost_no_such_database")
    err = one_line_error(ws.run("list"))
    assert "crosspost_no_such_database" in err and "does not exist" in err


# -- read-only databases ------------------------------------------------------------------------

READING = [
    ["list"],
    ["show", "1"],
    ["audit"],
    ["audit", "--verify"],
    ["personas"],
    ["preview", "--persona", "professional", "--text", "Boundaries matter."],
]


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("what", ["file", "folder"])
def test_reading_commands_work_on_a_read_only_database(ws, what):
    from PIL import Image

    queue_one(ws)
    Image.new("RGB", (4, 4), "white").save(ws.root / "hives.png")
    entry = ws.write(
        "entry.md",
        "---\ntitle: Hives\nmedia:\n  - path: hives.png\n"
        "    alt: hives\n---\nWrapped for winter.\n",
    )
    data = ws.root / "data"
    db = data / "crosspost.db"
    checkpoint(db)
    before = files_in(data)
    with read_only(db if what == "file" else data):
        for command in READING:
            r = ws.run(*command, "--format", "json")
            assert r.code == 0, (command, r.err)
        assert ws.run("list", "--format", "json").json()["total"] == 1
        # blocked: the report still comes, only the audit record cannot be written
        r = ws.run(
            "check", "--persona", "professional", "--text", "Ana Bee keeps bees", "--format", "json"
        )
        assert r.code == 1 and r.json()["blocked"]
        assert "not in the audit log" in r.err and "read-only" in r.err
        # changing the queue is refused before anything is tried
        err = one_line_error(ws.run("cancel", "1"))
        assert "read-only" in err and str(db) in err
        err = one_line_error(
            ws.run("queue", str(entry), "--persona", "personal", "--to", "home-feed", "--at", "+2h")
        )
        assert "read-only" in err
        err = one_line_error(ws.run("edit", "1", str(entry)))
        assert "read-only" in err
        err = one_line_error(ws.run("daemon", "--once"))
        assert "read-only" in err
        # no WAL, no shared memory, no lock files (preview may cache an instance's limits)
        assert files_in(data) - {"cache"} == before - {"cache"}
    assert ws.run("show", "1", "--format", "json").json()["status"] == "queued"


def test_a_read_only_database_is_opened_read_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    Store(url).engine.dispose()
    checkpoint(tmp_path / "q.db")
    with read_only(tmp_path / "q.db"):
        store = Store(url)
        assert store.read_only == "the file is read-only"
        with store.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA query_only").scalar() == 1
        assert store.current_revision() == known_revisions()[-1]
        with pytest.raises(StoreError, match="read-only"), store.write():
            pass
        store.engine.dispose()


def test_an_outdated_schema_on_a_read_only_database_is_explained(ws, monkeypatch):
    queue_one(ws)
    db = ws.root / "data" / "crosspost.db"
    checkpoint(db)
    from crosspost.store import known_revisions

    shipped = known_revisions()
    current = shipped[-1]
    # a newer crosspost, one migration ahead of this database
    monkeypatch.setattr("crosspost.store.known_revisions", lambda: [*shipped, "9999"])
    with read_only(db):
        err = one_line_error(ws.run("list"))
    assert "read-only" in err and current in err and "older" in err and "cannot upgrade" in err
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchone() == (current,)
    c.close()


def test_an_empty_read_only_database_is_explained(ws):
    db = ws.root / "data" / "crosspost.db"
    db.parent.mkdir()
    db.touch()
    with read_only(db):
        err = one_line_error(ws.run("list"))
    assert "read-only" in err and "no crosspost tables" in err


def test_a_read_only_folder_without_a_database(ws):
    data = ws.root / "data"
    data.mkdir()
    with read_only(data):
        err = one_line_error(ws.run("list"))
    assert "cannot create the database file" in err and "read-only" in err


def _nobody() -> list[str]:
    """Run as an unprivileged user: how another account on the machine sees the database."""
    if os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists():
        pytest.skip("needs root and setpriv to run a command as another user")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_another_user_reads_the_queue_but_cannot_change_it(tmp_path):
    as_nobody = _nobody()
    probe = subprocess.run(
        [*as_nobody, sys.executable, "-c", "import crosspost"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("this Python cannot run as an unprivileged user here")
    root = Path(tempfile.mkdtemp(prefix="crosspost-ro-", dir="/tmp"))
    try:
        root.chmod(0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_")}
        env.update(
            HOME=str(root),
            XDG_DATA_HOME=str(root / "xdg"),
            XDG_CACHE_HOME=str(root / "xdg"),
            XDG_CONFIG_HOME=str(root / "xdg"),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )

        def crosspost(*args: str, user: list[str]) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [
                    *user,
                    sys.executable,
                    "-m",
                    "crosspost",
                    "--config",
                    str(root / "site" / "config.toml"),
                    *args,
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )

        assert crosspost("init", str(root / "site"), user=[]).returncode == 0
        assert (
            crosspost(
                "queue",
                "--persona",
                "personal",
                "--text",
                "Hives wrapped.",
                "--at",
                "+1h",
                "--to",
                "home-feed",
                user=[],
            ).returncode
            == 0
        )
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames:
                (Path(dirpath) / name).chmod(0o755)
            for name in filenames:
                (Path(dirpath) / name).chmod(0o644)
        data = root / "site" / "data"
        before = files_in(data)
        r = crosspost("list", "--format", "json", user=as_nobody)
        assert r.returncode == 0, r.stderr
        assert '"total": 1' in r.stdout
        r = crosspost("cancel", "1", user=as_nobody)
        assert r.returncode == 2 and "read-only" in r.stderr and "Traceback" not in r.stderr
        assert files_in(data) == before
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)
