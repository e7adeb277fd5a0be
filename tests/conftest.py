"""Shared fixtures: every test gets its own config folder, data folder and keyring."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fakes.wordpress import FakeWordPress
from tests.support.memkeyring import MemoryKeyring

if TYPE_CHECKING:
    from crosspost.platforms.base import Publication

PROFESSIONAL = """
display_name = "Dr. Ana Reyes"
timezone = "America/Chicago"
slots = ["Mon-Fri 08:30", "Mon-Fri 12:15"]
share = "New on the blog: {title} {url}"

[identity]
names = ["Ana Reyes", "Dr. Reyes"]
handles = ["@DrAnaReyes", "@anareyes@psych.social"]
domains = ["harborpsych.example"]
emails = ["ana@harborpsych.example"]
phones = ["+1 503 555 0142"]
terms = ["Harbor Psychology"]

[guard]
never_mention = ["Alberta Arts District"]
packs = ["clinician"]
separation = "45m"

[blog]
platform = "static"
url = "https://harborpsych.example"
content_dir = "site-pro/content/posts"

[[accounts]]
name = "pro-x"
platform = "x"
handle = "@DrAnaReyes"

[[accounts]]
name = "pro-mastodon"
platform = "mastodon"
handle = "@anareyes@psych.social"
instance = "https://psych.social"
"""

PERSONAL = """
display_name = "Ana Bee"
timezone = "America/Chicago"
slots = ["Sat 10:00"]
strip_metadata = true

[identity]
names = ["Ana Bee", "Tomasz Bee"]
handles = ["anabee.bsky.social"]
domains = ["anabee.example"]
emails = ["ana.bee@gmail.com"]
terms = ["Bee Hollow Apiary"]

[guard]
separation = "45m"

[blog]
platform = "static"
url = "https://anabee.example"
content_dir = "site-home/content/posts"

[[accounts]]
name = "home-bsky"
platform = "bluesky"
handle = "anabee.bsky.social"

[[accounts]]
name = "home-feed"
platform = "feed"
path = "site-home/feed.xml"
"""


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):  # type: ignore[no-untyped-def]
        import json

        return json.loads(self.out)


@dataclass
class Workspace:
    root: Path
    config: Path
    capsys: pytest.CaptureFixture[str]

    @property
    def profiles(self) -> Path:
        return self.root / "profiles"

    def write(self, rel: str, text: str) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return p

    def run(self, *args: str) -> Result:
        from crosspost.cli import run

        self.capsys.readouterr()
        code = run(["--config", str(self.config), *args])
        cap = self.capsys.readouterr()
        return Result(code, cap.out, cap.err)

    def add_professional_term(self, term: str) -> None:
        """The professional persona's identity grows by ``term`` (after something was
        queued: what the guard at publish time knows and queueing did not)."""
        pro = self.profiles / "professional.toml"
        old = 'terms = ["Harbor Psychology"]'
        assert old in pro.read_text()
        pro.write_text(pro.read_text().replace(old, f'terms = ["Harbor Psychology", "{term}"]'))

    def app(self):  # type: ignore[no-untyped-def]
        from crosspost.app import App

        return App(self.config)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    for key in list(os.environ):
        if key.startswith("CROSSPOST_") and key != "CROSSPOST_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("COLUMNS", "200")
    import keyring

    from crosspost import credentials

    ring = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(ring)
    credentials.keep_in_memory(0)  # a daemon started by an earlier test kept its secrets
    import logging

    from crosspost import checking, logs

    # a command run in this process quiets these loggers for good; later tests may read them
    levels = {name: logging.getLogger(name).level for name in (*logs.NOISY, "apscheduler")}
    try:
        yield ring
    finally:
        keyring.set_keyring(previous)
        checking._matcher.cache_clear()
        if logs._handler is not None:  # bound to this test's captured stderr
            logging.getLogger().removeHandler(logs._handler)
            logs._handler = None
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    w = Workspace(root, root / "config.toml", capsys)
    w.write("config.toml", 'profiles_dir = "profiles"\ndata_dir = "data"\n')
    w.write("profiles/professional.toml", PROFESSIONAL)
    w.write("profiles/personal.toml", PERSONAL)
    return w


@pytest.fixture
def make_publication() -> Callable[..., Publication]:
    """``make_publication(**overrides)``: a Publication with ordinary defaults."""
    from tests.support.publications import make_publication

    return make_publication


WP_PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"


@pytest.fixture
def wp_blog(ws, isolated):  # type: ignore[no-untyped-def]
    """The professional persona blogs on a (fake) WordPress."""
    with FakeWordPress(app_password=WP_PASSWORD) as wp:
        pro = ws.profiles / "professional.toml"
        pro.write_text(
            pro.read_text().replace(
                'platform = "static"\nurl = "https://harborpsych.example"\n'
                'content_dir = "site-pro/content/posts"',
                f'platform = "wordpress"\nurl = "{wp.url}"\nusername = "admin"',
            )
        )
        isolated.set_password("crosspost/professional/blog", "app_password", WP_PASSWORD)
        yield wp
    wp.db.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ws_database(request: pytest.FixtureRequest, ws: Workspace) -> Iterator[None]:
    """The workspace on SQLite, or on a new PostgreSQL database when
    ``CROSSPOST_TEST_DATABASE_URL`` is set (dropped after the test)."""
    if request.param == "sqlite":
        yield
        return
    from tests.support.pgdb import new_database

    with new_database() as url:
        ws.write(
            "config.toml",
            f'profiles_dir = "profiles"\ndata_dir = "data"\ndatabase_url = "{url}"\n',
        )
        yield
