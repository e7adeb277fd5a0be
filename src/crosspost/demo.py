"""``crosspost demo``: the whole flow, offline, in a folder of its own.

Two personas with static-site blogs and Atom feeds (no network, no credentials), an entry for
the practice and a personal post queued a few seconds ahead, a personal post that would leak
the practice (blocked, with the guard's explanation), then the real daemon in its own process
until both posts are published. Every step prints the command a user would type.

The demo runs the commands through the ``run`` it is given (``crosspost.cli.run``), so it does
not import the command line that starts it.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import click

PROFESSIONAL = """\
display_name = "Dr. Nora Lindqvist"
timezone = "America/Chicago"
share = "New on the blog: {title} {url}"

[identity]
names = ["Nora Lindqvist", "Dr. Lindqvist"]
handles = ["@DrNoraLindqvist"]
domains = ["northlight-therapy.example"]
emails = ["office@northlight-therapy.example"]
phones = ["+1 312 555 0188"]
terms = ["Northlight Psychotherapy"]

[guard]
packs = ["clinician"]
# short for the demo; a real profile would use something like "45m"
separation = "2s"

[blog]
platform = "static"
url = "https://northlight-therapy.example"
content_dir = "sites/professional/content/posts"

[[accounts]]
name = "pro-feed"
platform = "feed"
path = "sites/professional/public/feed.xml"
share = "{title}: {summary}"
"""

PERSONAL = """\
display_name = "Nora Vale"
timezone = "America/Chicago"

[identity]
names = ["Nora Vale"]
handles = ["noravale.bsky.social"]
domains = ["noravale.example"]
terms = ["Prairie Bees"]

[guard]
separation = "2s"

[blog]
platform = "static"
url = "https://noravale.example"
content_dir = "sites/personal/content/posts"

[[accounts]]
name = "home-feed"
platform = "feed"
path = "sites/personal/public/feed.xml"
"""

ENTRY = """\
---
title: Therapy and Social Networking
summary: How clinicians can take part in social media without losing the therapeutic frame.
tags: [social media, ethics, boundaries]
---
Blogging and social networking can bring exciting opportunities to share information,
counter stigma and collaborate with other clinicians.

As a psychologist with an online presence I am also aware of what it means for a client to
come across their therapist on the internet. How do we keep our personal and professional
presences apart, and keep up with an online world that keeps changing its privacy rules?
These are questions worth discussing openly, with colleagues, in public.
"""

PERSONAL_POST = "The first frost came early this year; the hives are wrapped and quiet."

LEAKY_POST = (
    "Proud of my colleagues at Northlight Psychotherapy! "
    "More at https://www.northlight-therapy.example/about"
)


#: runs one command line (without the program name) and returns its exit code
Runner = Callable[[list[str]], int]


def run_demo(directory: Path | None, delay: int, run: Runner) -> None:
    root = Path(directory or tempfile.mkdtemp(prefix="crosspost-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.toml"
    if not config.exists():
        config.write_text(
            'profiles_dir = "profiles"\ndata_dir = "data"\n\n[daemon]\nchange_check = "0.5s"\n',
            encoding="utf-8",
        )
    (root / "profiles").mkdir(exist_ok=True)
    for name, text in (("professional", PROFESSIONAL), ("personal", PERSONAL)):
        path = root / "profiles" / f"{name}.toml"
        if not path.exists():
            path.write_text(text, encoding="utf-8")
    for persona in ("professional", "personal"):
        (root / "sites" / persona / "content" / "posts").mkdir(parents=True, exist_ok=True)
        (root / "sites" / persona / "public").mkdir(parents=True, exist_ok=True)
    entry = root / "therapy-and-social-networking.md"
    entry.write_text(ENTRY, encoding="utf-8")

    crosspost = partial(step, run, config)
    say(f"crosspost demo in {root}")
    say("Two personas: 'professional' (the practice) and 'personal' (private life).")
    crosspost("personas")

    say("\n1. A personal post that names the practice and links its site is refused:")
    leak = crosspost("check", "--persona", "personal", "--text", LEAKY_POST, check=False)
    if leak != 1:
        raise click.ClickException("the leak guard did not block the leaky post")

    say(f"\n2. Queue the practice's entry, due in {delay} s (blog first, then its feed):")
    # --again: a demo run again in the same folder queues its posts once more
    crosspost("queue", str(entry), "--persona", "professional", "--at", f"+{delay}s", "--again")
    say("\n3. Queue a personal post a little later (outside the separation window):")
    crosspost(
        "queue",
        "--persona",
        "personal",
        "--text",
        PERSONAL_POST,
        "--at",
        f"+{delay + 3}s",
        "--again",
    )
    crosspost("list")

    say("\n4. Start the daemon and wait until both posts are published:")
    say(f"$ crosspost --config {shlex.quote(str(config))} daemon")
    proc = subprocess.Popen(
        [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
        env={**os.environ, "CROSSPOST_LOG_LEVEL": "INFO"},
    )
    try:
        wait_published(config, timeout=delay + 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    crosspost("list", "--history")
    say("\nResults:")
    for p in sorted((root / "sites").rglob("*")):
        if p.is_file():
            say(f"  {p}")
    say(f"\nEverything is in {root}; run more commands with --config {config}")


def say(text: str) -> None:
    click.echo(text)


def step(run: Runner, config: Path, *args: str, check: bool = True) -> int:
    say(f"$ crosspost {' '.join(shlex.quote(a) for a in args)}")
    code = run(["--config", str(config), *args])
    if check and code != 0:
        raise click.ClickException(f"'crosspost {args[0]}' failed with exit code {code}")
    return code


def wait_published(config: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "crosspost",
                "--config",
                str(config),
                "list",
                "--all",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode == 0:
            posts = json.loads(out.stdout)["posts"]
            if posts and all(p["status"] in ("published", "failed", "partial") for p in posts):
                if any(p["status"] != "published" for p in posts):
                    raise click.ClickException("a post did not publish; see the list above")
                return
        time.sleep(1)
    raise click.ClickException(f"the posts were not published within {timeout:.0f} s")
