"""Commands import only what they use: a platform SDK, the scheduler or the database layer
each cost tens to hundreds of milliseconds a command pays on every run. (``check`` and
``preview`` read the queue for the guard's near-duplicate check, so they need the database.)"""

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

PROBE = """
import json, sys
from crosspost.cli import run
try:
    run(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.stdin.read())))
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
