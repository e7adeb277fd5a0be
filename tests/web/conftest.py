"""The web app over a workspace whose personas publish to local files only (static blogs and
feeds), so the daemon can publish what the browser queued without any network."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.conftest import PERSONAL, PROFESSIONAL

LOCAL_PRO = PROFESSIONAL.split("[[accounts]]")[0] + (
    '[[accounts]]\nname = "pro-feed"\nplatform = "feed"\npath = "site-pro/feed.xml"\n'
)
LOCAL_HOME = PERSONAL.split("[[accounts]]")[0] + (
    '[[accounts]]\nname = "home-feed"\nplatform = "feed"\npath = "site-home/feed.xml"\n'
)


@pytest.fixture
def site(ws):
    ws.write("profiles/professional.toml", LOCAL_PRO)
    ws.write("profiles/personal.toml", LOCAL_HOME)
    for folder in ("site-pro/content/posts", "site-home/content/posts"):
        (ws.root / folder).mkdir(parents=True)
    return ws


@dataclass
class Web:
    client: object
    token: str
    app: object

    def login(self):
        r = self.client.get(f"/?token={self.token}", follow_redirects=False)
        assert r.status_code == 303, r.text
        return self

    def csrf(self) -> str:
        page = self.client.get("/calendar")
        return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def web_over(ws):
    """The app over ``ws``, with a client that stands for one browser."""
    from starlette.testclient import TestClient

    from crosspost.web.app import build_app
    from crosspost.web.security import OneTimeToken

    app = ws.app()
    token = OneTimeToken()
    asgi = build_app(app, token, allowed_hosts=["127.0.0.1", "localhost"])
    return Web(TestClient(asgi, base_url="http://127.0.0.1"), token.value, app)


@pytest.fixture
def web(site):
    w = web_over(site)
    with w.client:
        yield w


def start_serve(config, env, cwd, *extra: str, timeout: float = 120.0):
    """``crosspost serve --no-browser --port 0`` as a user starts it: (process, link). Waits
    for the printed link at most ``timeout`` seconds (the machine may be loaded)."""
    import queue
    import subprocess
    import sys
    import threading

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crosspost",
            "--config",
            str(config),
            "serve",
            "--no-browser",
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=timeout)
            if line is None:
                raise AssertionError(f"serve exited without a link: {proc.stderr.read()}")
            m = re.search(r"(https?://127\.0\.0\.1:\d+/\?token=\S+)", line)
            if m:
                return proc, m.group(1)
    except BaseException:
        proc.kill()
        proc.wait(timeout=30)
        raise
