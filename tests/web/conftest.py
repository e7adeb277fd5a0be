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
