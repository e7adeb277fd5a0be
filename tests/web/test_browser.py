"""crosspost serve in a real browser: the system's Chromium, driven by Playwright.

The browser is Debian's ``chromium`` package (never one downloaded at run time). The tests
run when it is installed; with ``CROSSPOST_TEST_BROWSER=1`` (as in CI) a missing or broken
browser fails them instead of skipping. With ``CROSSPOST_SCREENSHOTS=DIR`` the journey also
saves the calendar and the composer as PNGs there (``scripts/screenshots`` writes docs/img/).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.procs import crosspost, env_for
from tests.web.conftest import LOCAL_HOME, LOCAL_PRO, start_serve

REQUIRED = os.environ.get("CROSSPOST_TEST_BROWSER") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = os.environ.get("CROSSPOST_SCREENSHOTS")
#: a browser for tests: no network of its own, nothing fetched in the background
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: generous: the machine may be loaded
WAIT = 30_000
TZ = ZoneInfo("America/Chicago")

pytestmark = pytest.mark.skipif(
    not REQUIRED and CHROMIUM is None,
    reason="browser tests need Chromium (apt-get install chromium); "
    "CROSSPOST_TEST_BROWSER=1 makes a missing browser a failure",
)


class Server:
    """``crosspost serve`` as the user starts it, over a workspace of its own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "config.toml"
        self.env = env_for(root)
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> None:
        self.proc, link = start_serve(self.config, self.env, self.root)
        self.url, _, self.token = link.partition("/?token=")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def cli(self, *args: str) -> Any:
        r = crosspost(self.config, *args, env=self.env, timeout=120)
        assert r.returncode in (0, 1), r.stderr
        return r

    def posts(self) -> list[dict[str, Any]]:
        r = self.cli("list", "--all", "--format", "json")
        return list(json.loads(r.stdout)["posts"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("serve")
    (root / "config.toml").write_text('profiles_dir = "profiles"\ndata_dir = "data"\n')
    (root / "profiles").mkdir()
    (root / "profiles" / "professional.toml").write_text(LOCAL_PRO)
    (root / "profiles" / "personal.toml").write_text(LOCAL_HOME)
    for folder in ("site-pro/content/posts", "site-home/content/posts"):
        (root / folder).mkdir(parents=True)
    s = Server(root)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.fail("CROSSPOST_TEST_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=WAIT * 2)
        except Exception as e:  # noqa: BLE001 - whatever kept the browser from starting
            pytest.fail(f"Chromium ({CHROMIUM}) did not start: {e}")
        yield b
        b.close()


@pytest.fixture(scope="module")
def session(browser: Any, server: Server) -> Iterator[Any]:
    """One browser session (the token works once); each test opens its own tab in it."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT)
    page = context.new_page()
    page.goto(f"{server.url}/?token={server.token}")
    assert page.url.endswith("/calendar")
    page.close()
    yield context
    context.close()


def _local_input(dt: datetime) -> str:
    return dt.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=False)


def test_compose_check_schedule_publish(session: Any, server: Server) -> None:
    from playwright.sync_api import expect

    page = session.new_page()
    page.goto(f"{server.url}/calendar")
    page.get_by_role("link", name="New post").click()
    page.get_by_label("professional").check()
    page.get_by_role("button", name="Write the post").click()
    expect(page.locator("h1")).to_contain_text("as professional")
    # the persona decides the targets: the personal persona's accounts are not offered
    assert page.locator('input[name="to"][value="home-feed"]').count() == 0
    page.fill("#title", "Sleep in winter")
    page.fill("#body", "Three habits for better sleep. Ana Bee's honey helps too.")
    # the guard marks the leak before anything is saved
    mark = page.locator("#marked mark.finding")
    expect(mark).to_have_text("Ana Bee")
    expect(page.locator("#findings li").first).to_contain_text("identifies persona 'personal'")
    expect(page.locator("#check-status")).to_contain_text("block this post")
    _shot(page, "composer.png")
    assert server.posts() == []
    # an override starts from the finding: its rule filled in, the reason still to give
    page.locator("#findings li button", has_text="Override").first.click()
    expect(page.locator("#allow")).to_have_value("identity")
    expect(page.locator("#reason")).to_be_focused()
    page.fill("#allow", "")
    page.fill("#body", "Three habits for better sleep, and why the winter light matters.")
    expect(page.locator("#check-status")).to_contain_text("Clean")
    expect(page.locator("#preview .pv h3").first).to_contain_text("characters")
    at = datetime.now(TZ) + timedelta(hours=2)
    page.get_by_label("at", exact=True).check()
    page.fill("#at", _local_input(at))
    page.get_by_role("button", name="Check and queue").click()
    expect(page.locator(".flash-ok")).to_contain_text("queued post")
    post_id = int(re.search(r"/posts/(\d+)$", page.url).group(1))  # type: ignore[union-attr]
    # on the calendar, in the professional lane of its day
    page.goto(f"{server.url}/calendar?date={at.date().isoformat()}")
    lane = page.locator(f'ol.lane[data-day="{at.date().isoformat()}"][data-persona="professional"]')
    expect(lane.locator(f'a[href="/posts/{post_id}"]')).to_contain_text("Sleep in winter")
    # a personal post the same week, for the picture of both personas side by side
    home_at = (at + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    server.cli(
        "queue",
        "--persona",
        "personal",
        "--text",
        "Hives wrapped for winter.",
        "--to",
        "home-feed",
        "--at",
        home_at,
    )
    page.reload()
    expect(page.locator('ol.lane[data-persona="personal"] li.item')).to_have_count(1)
    _shot(page, "calendar.png")
    # publish it now, let the daemon run once, and follow it to "published"
    page.goto(f"{server.url}/posts/{post_id}")
    page.get_by_role("button", name="Publish now").click()
    expect(page.locator(".flash-ok")).to_contain_text("released")
    done = server.cli("daemon", "--once")
    assert done.returncode == 0, done.stdout + done.stderr
    page.reload()
    expect(page.locator("#post-status")).to_have_text("published")
    assert list((server.root / "site-pro" / "content" / "posts").iterdir())
    page.close()


def test_the_composer_works_with_the_keyboard_alone(session: Any, server: Server) -> None:
    from playwright.sync_api import expect

    page = session.new_page()
    page.goto(f"{server.url}/compose?persona=personal")
    for _ in range(30):
        if page.evaluate("document.activeElement && document.activeElement.id") == "title":
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("Tab never reached the title field")
    page.keyboard.type("Spring hive check")
    page.keyboard.press("Tab")
    page.keyboard.type("The bees made it through the winter.")
    page.keyboard.press("Tab")
    page.keyboard.type("bees, spring")
    expect(page.locator("#check-status")).to_contain_text("Clean")
    page.keyboard.press("Enter")  # submits the form: the next free slot is the default
    expect(page.locator(".flash-ok")).to_contain_text("queued post")
    titles = {p["title"] for p in server.posts()}
    assert "Spring hive check" in titles
    page.close()


def test_a_post_dragged_to_another_day_and_time_is_rescheduled(
    session: Any, server: Server
) -> None:
    from playwright.sync_api import expect

    week = datetime.now(TZ).date() + timedelta(days=14)
    monday = week - timedelta(days=week.weekday())
    wednesday, thursday = monday + timedelta(days=2), monday + timedelta(days=3)
    r = server.cli(
        "queue",
        "--persona",
        "professional",
        "--text",
        "Office hours moved.",
        "--to",
        "pro-feed",
        "--at",
        f"{wednesday.isoformat()} 10:00",
        "--format",
        "json",
    )
    post_id = json.loads(r.stdout)["id"]
    page = session.new_page()
    page.goto(f"{server.url}/calendar?date={wednesday.isoformat()}")
    item = page.locator(f'li.item[data-id="{post_id}"]')
    target = page.locator(
        f'ol.lane[data-day="{thursday.isoformat()}"][data-persona="professional"]'
    )
    # 40 px an hour: 14:00 is 560 px below the lane's top
    item.drag_to(target, target_position={"x": 20, "y": 561})
    moved = target.locator(f'li.item[data-id="{post_id}"]')
    expect(moved).to_contain_text("14:00")
    shown = json.loads(server.cli("show", str(post_id), "--format", "json").stdout)
    assert shown["scheduled_local"].startswith(f"{thursday.isoformat()}T14:00:00")
    page.close()
