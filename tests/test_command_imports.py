"""Commands import only what they use: a platform SDK, the scheduler or the database layer
each cost tens to hundreds of milliseconds a command pays on every run.

What ``check`` needs the database for: the rhythm sample (each persona's posts nearest the
new one: two indexed queries per persona) when a queue exists, the same-image comparison for
a post with images, and the audit record of a blocked attempt. A clean ``check`` before
anything is queued needs none of them, and a SQLite queue of the current schema is sampled
with the standard library's sqlite3 (``crosspost.queuefile``), so a clean ``check`` or
``preview`` of a text imports no SQLAlchemy either. ``queue`` writes through the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: (``requests`` is not listed: the guard's domain parser, tldextract, imports it)
SDKS = ("tweepy", "mastodon", "atproto", "atproto_client")
SCHEDULER = ("apscheduler",)
#: the perceptual image hash and what it brings (numpy, scipy): only for posts with images
IMAGES = ("imagehash", "numpy", "scipy", "pywt")
DATABASE = ("sqlalchemy", "sqlmodel", "alembic", "psycopg")
#: the web app's stack: only ``serve`` needs it
WEB = ("starlette", "uvicorn", "jinja2", "multipart")
#: the leak guard and its automaton and phone number libraries: only to scan a text
GUARD = ("crosspost.guard", "ahocorasick", "phonenumbers")
#: front matter parsers: only for a file (a ``--text`` post has none)
FRONT_MATTER = ("frontmatter", "yaml")

PROBE = """
import json, sys
from crosspost.cli import run
try:
    run(sys.argv[1:])
except SystemExit:
    pass
names = {n for m in sys.modules for n in (m, m.split(".")[0])}
heavy = sorted(names & set(json.loads(sys.stdin.read())))
print("IMPORTED=" + json.dumps(heavy), file=sys.stderr)
"""

ENTRY = """---
title: Sleep and anxiety
tags: [sleep]
---
Three small habits that help. More at https://harborpsych.org/posts/sleep/
"""


def imported(ws, *args: str, forbidden: tuple[str, ...]) -> list[str]:
    env = {**os.environ, "CROSSPOST_CONFIG": str(ws.config)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(forbidden),
        capture_output=True,
        text=True,
        env=env,
        cwd=ws.root,
        timeout=120,
        check=False,
    )
    line = [ln for ln in out.stderr.splitlines() if ln.startswith("IMPORTED=")]
    assert line, out.stderr
    return list(json.loads(line[-1].removeprefix("IMPORTED=")))


def test_help_imports_neither_database_scheduler_nor_sdks(ws):
    assert imported(ws, "--help", forbidden=SDKS + SCHEDULER + DATABASE + WEB + ("requests",)) == []


@pytest.mark.parametrize(
    "args",
    [
        ("list",),
        ("personas",),
        ("check", "entry.md", "--persona", "professional"),
        ("preview", "entry.md", "--persona", "professional", "--to", "pro-x"),
        ("queue", "entry.md", "--persona", "professional", "--at", "+2h"),
    ],
    ids=lambda a: a[0],
)
def test_everyday_commands_import_no_sdk_no_scheduler_and_no_image_hashing(ws, args):
    ws.write("entry.md", ENTRY)
    assert imported(ws, *args, forbidden=SDKS + SCHEDULER + IMAGES + WEB) == []


def test_a_clean_check_without_a_queue_imports_no_database_layer(ws):
    """The verdict comes from the profiles alone: the queue that does not exist yet is not
    created to learn that it holds no posts."""
    ws.write("entry.md", ENTRY)
    db = ws.root / "data" / "crosspost.db"
    heavy = imported(
        ws,
        "check",
        "entry.md",
        "--persona",
        "professional",
        forbidden=SDKS + SCHEDULER + IMAGES + WEB + DATABASE,
    )
    assert heavy == []
    assert not db.exists()


def test_check_and_preview_read_a_current_sqlite_queue_without_the_database_layer(ws):
    """With a queue, the rhythm sample is two indexed look-ups per persona, read with the
    standard library's sqlite3 (``crosspost.queuefile``), not through SQLAlchemy."""
    ws.write("entry.md", ENTRY)
    r = ws.run("queue", str(ws.root / "entry.md"), "--persona", "professional", "--at", "+2h")
    assert r.code == 0, r.err
    for command in ("check", "preview"):
        heavy = imported(
            ws,
            command,
            "entry.md",
            "--persona",
            "personal",
            "--to",
            "home-feed",
            forbidden=SDKS + SCHEDULER + IMAGES + WEB + DATABASE,
        )
        assert heavy == [], command


def test_check_leaves_an_older_queue_to_the_store(ws):
    """A schema the store would upgrade is not read around it: the store opens (and
    upgrades) it, as before."""
    import sqlite3

    ws.write("entry.md", ENTRY)
    r = ws.run("queue", str(ws.root / "entry.md"), "--persona", "professional", "--at", "+2h")
    assert r.code == 0, r.err
    db = ws.root / "data" / "crosspost.db"
    with sqlite3.connect(db) as c:
        c.execute("UPDATE alembic_version SET version_num = '0009'")
    c.close()
    heavy = imported(
        ws,
        "check",
        "entry.md",
        "--persona",
        "personal",
        "--to",
        "home-feed",
        forbidden=SDKS + SCHEDULER + IMAGES + WEB + DATABASE,
    )
    assert "sqlalchemy" in heavy
    assert not set(heavy) & set(SDKS + SCHEDULER + IMAGES + WEB)


@pytest.mark.parametrize("command", ["check", "preview", "queue"])
def test_a_text_post_imports_no_front_matter_parser(ws, command):
    args = ["--persona", "personal", "--to", "home-feed", "--text", "Hives wrapped for winter."]
    if command == "queue":
        args += ["--at", "+2h"]
    heavy = imported(ws, command, *args, forbidden=FRONT_MATTER + SDKS + SCHEDULER + WEB)
    assert heavy == []


@pytest.mark.parametrize("args", [("--help",), ("list",), ("personas",)], ids=lambda a: a[0])
def test_commands_that_scan_no_text_import_no_guard(ws, args):
    """(Once the queue exists: creating it runs the migration that indexes stored texts.)"""
    assert ws.run("list").code == 0
    assert imported(ws, *args, forbidden=GUARD + FRONT_MATTER) == []
