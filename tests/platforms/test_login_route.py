"""The logins keep the target's network route too: the interactive logins of X and Mastodon
send the account's User-Agent through its proxy, and Mastodon registers its app under the
account's ``app_name`` (many instances show it under every post)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crosspost.contexts import adapter_context
from crosspost.platforms.base import AdapterContext
from crosspost.platforms.mastodon import MastodonAdapter
from crosspost.platforms.x import XAdapter
from crosspost.profiles import Persona, make_account
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.proxy import ForwardingProxy
from tests.fakes.x import FakeX

from . import test_mastodon, test_x

AGENT = "Quill/1.0 (+https://quill.example)"


def _ctx(persona: str = "professional", **account: Any) -> AdapterContext:
    a = make_account(**account)
    p = Persona(display_name="Dr. Ana Reyes", accounts=[a])
    p.name = persona
    return adapter_context(p, a.name, timeout=5.0, cache_dir=None)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardingProxy]:
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ForwardingProxy() as p:
        yield p


def test_mastodon_login_registers_the_app_name_through_the_proxy(
    proxy: ForwardingProxy, isolated: object
) -> None:
    fake = FakeMastodon(access_token=test_mastodon.TOKEN).start()
    try:
        ctx = _ctx(
            name="pro-mastodon",
            platform="mastodon",
            handle="@anareyes@psych.social",
            instance=fake.url,
            app_name="Harbor Notes",
            user_agent=AGENT,
            proxy=proxy.url,
        )
        t = test_mastodon.Terminal(fake)
        values = MastodonAdapter.login_flow(ctx, t.ask, t.say)
    finally:
        fake.stop()
    assert fake.apps[values["client_id"]]["name"] == "Harbor Notes"
    assert {r.header("User-Agent") for r in fake.requests} == {AGENT}
    assert len(fake.requests) >= 3
    assert len(proxy.passed) == len(fake.requests)
    assert all(p.proxied for p in proxy.passed)


def test_mastodon_login_names_the_app_after_the_persona_by_default(isolated: object) -> None:
    """Two personas without ``app_name`` register apps of different names, neither of them
    "crosspost": the name shows as "via <app>" under every post."""
    fake = FakeMastodon(access_token=test_mastodon.TOKEN).start()
    try:
        ctx = _ctx(name="pro-mastodon", platform="mastodon", instance=fake.url)
        t = test_mastodon.Terminal(fake)
        values = MastodonAdapter.login_flow(ctx, t.ask, t.say)
        home = _ctx("personal", name="home-mastodon", platform="mastodon", instance=fake.url)
        t2 = test_mastodon.Terminal(fake)
        other = MastodonAdapter.login_flow(home, t2.ask, t2.say)
        pasted = test_mastodon.Terminal(fake, way="t", token=test_mastodon.TOKEN)
        MastodonAdapter.login_flow(
            _ctx(name="m2", platform="mastodon", instance=fake.url, app_name="Harbor Notes"),
            pasted.ask,
            pasted.say,
        )
    finally:
        fake.stop()
    names = [fake.apps[v["client_id"]]["name"] for v in (values, other)]
    assert names == [ctx.client_name, home.client_name]
    assert names[0] != names[1]
    assert not any("crosspost" in n.lower() for n in names)
    # a token made by hand: the instructions name the account's app
    assert any("Name it 'Harbor Notes'" in s for s in pasted.said)


def test_x_login_sends_the_user_agent_through_the_proxy(
    proxy: ForwardingProxy, isolated: object
) -> None:
    fake = FakeX(
        consumer_key=test_x.CK,
        consumer_secret=test_x.CS,
        access_token=test_x.AT,
        access_token_secret=test_x.ATS,
    ).start()
    try:
        ctx = _ctx(
            name="pro-x", platform="x", handle="@DrAnaReyes", user_agent=AGENT, proxy=proxy.url
        )
        t = test_x.Terminal(fake)
        XAdapter.login_flow(ctx, t.ask, t.say, base_url=fake.url, timeout=5)
    finally:
        fake.stop()
    routes = [r.route for r in fake.requests]
    assert "POST /oauth/request_token" in routes and "POST /oauth/access_token" in routes
    assert {r.header("User-Agent") for r in fake.requests} == {AGENT}
    assert len(proxy.passed) == len(fake.requests)
    assert all(p.proxied for p in proxy.passed)
