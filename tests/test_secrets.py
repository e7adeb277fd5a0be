"""No credential ever reaches config files, the database, logs or JSON output.

A full cycle — log in through the CLI, queue, publish with debug logging through the real
WordPress, Mastodon and Bluesky adapters against local fakes — then every place crosspost
writes to is searched for every secret.
"""

from __future__ import annotations

import io
import logging
import sys
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from tests.fakes.bluesky import FakeBlueskyPDS
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.wordpress import FakeWordPress

WP_PASSWORD = "wpAp pPas s123 4567 89ab cdef"
MASTODON_TOKEN = "mastodon-token-9f8e7d6c5b4a39281706"
BSKY_PASSWORD = "bsky-appp-assw-0rd1"

PROFESSIONAL = """
display_name = "Dr. Ana Reyes"
timezone = "America/Chicago"
[identity]
names = ["Ana Reyes"]
[blog]
platform = "wordpress"
url = "{wp}"
username = "admin"
[[accounts]]
name = "pro-mastodon"
platform = "mastodon"
handle = "@anareyes@127.0.0.1"
instance = "{masto}"
"""

PERSONAL = """
display_name = "Ana Bee"
timezone = "America/Chicago"
[identity]
names = ["Ana Bee"]
[[accounts]]
name = "home-bsky"
platform = "bluesky"
handle = "anabee.bsky.social"
instance = "{pds}"
"""


def login(ws, monkeypatch, *args: str, secret: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(secret + "\n"))
    r = ws.run("accounts", "login", *args, "--stdin")
    assert r.code == 0, r.err
    assert secret not in r.out + r.err


def test_no_secret_anywhere_after_a_full_publish_cycle(ws, monkeypatch, caplog, isolated):
    wp = FakeWordPress(app_password=WP_PASSWORD).start()
    masto = FakeMastodon(access_token=MASTODON_TOKEN).start()
    pds = FakeBlueskyPDS(handle="anabee.bsky.social", password=BSKY_PASSWORD).start()
    try:
        ws.write("profiles/professional.toml", PROFESSIONAL.format(wp=wp.url, masto=masto.url))
        ws.write("profiles/personal.toml", PERSONAL.format(pds=pds.url))
        login(ws, monkeypatch, "blog", "--persona", "professional", secret=WP_PASSWORD)
        login(ws, monkeypatch, "pro-mastodon", secret=MASTODON_TOKEN)
        login(ws, monkeypatch, "home-bsky", secret=BSKY_PASSWORD)
        assert ws.run("accounts", "test", "pro-mastodon").code == 0

        entry = ws.write(
            "e.md", "---\ntitle: Sleep and Anxiety\ntags: [sleep]\n---\nRest matters.\n"
        )
        a = ws.run("queue", str(entry), "--persona", "professional", "--format", "json")
        assert a.code == 0, a.err
        b = ws.run(
            "queue",
            "--persona",
            "personal",
            "--text",
            "Frost on the hives.",
            "--at",
            "+1h",
            "--format",
            "json",
        )
        assert b.code == 0, b.err
        from crosspost.models import Delivery

        store = ws.app().store
        with store.write() as s:  # the personal post is due now too
            for d in s.exec(select(Delivery).where(Delivery.post_id == b.json()["id"])):
                d.due_at = datetime.now(UTC) - timedelta(seconds=1)
                s.add(d)
        # one failure on the way, so error paths are logged too
        masto.fail("POST /api/v1/statuses", 503)

        monkeypatch.setenv("CROSSPOST_LOG_LEVEL", "DEBUG")
        monkeypatch.setenv("CROSSPOST_DAEMON__RETRY__BASE_DELAY", "0s")
        caplog.set_level(logging.DEBUG)
        outputs = []
        for _ in range(3):
            r = ws.run("daemon", "--once")
            assert r.code == 0
            outputs.append(r.out + r.err)
        listing = ws.run("list", "--all", "--format", "json")
        states = {t["target"]: t["state"] for p in listing.json()["posts"] for t in p["targets"]}
        assert states == {
            "blog": "published",
            "pro-mastodon": "published",
            "home-bsky": "published",
        }, listing.out
        assert len(masto.statuses) == 1 and wp.posts()

        for cmd in (
            ["list"],
            ["show", "1"],
            ["show", "2"],
            ["audit"],
            ["personas"],
            ["doctor"],
            ["preview", str(entry), "--persona", "professional"],
        ):
            outputs.append(ws.run(*cmd, "--format", "json").out)
        outputs.append(caplog.text)
        files = [p for p in ws.root.rglob("*") if p.is_file()]
        blobs = [p.read_bytes() for p in files]
        assert any(p.name == "crosspost.db" for p in files)
        for secret in (WP_PASSWORD, MASTODON_TOKEN, BSKY_PASSWORD):
            for text in outputs:
                assert secret not in text
            for path, blob in zip(files, blobs, strict=True):
                assert secret.encode() not in blob, f"{secret!r} found in {path}"
        # the keyring holds them, namespaced per persona and account
        services = {service for service, _ in isolated.items}
        assert {
            "crosspost/professional/blog",
            "crosspost/professional/pro-mastodon",
            "crosspost/personal/home-bsky",
        } <= services
    finally:
        wp.stop()
        masto.stop()
        pds.stop()
