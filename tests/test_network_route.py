"""The network route of a target: ``user_agent`` and ``proxy`` of the persona and of each
account or blog, how they are checked on load, and how the one context builder combines them.

That every adapter then uses them for every request is the HTTP contract's part
(tests/platforms/test_contract.py)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from crosspost import agentnames
from crosspost.contexts import adapter_context, route
from crosspost.errors import UsageError
from crosspost.platforms.spec import DEFAULT_USER_AGENT
from crosspost.profiles import Persona, make_account, make_blog

#: the module (``crosspost.platforms.spec`` the attribute is the registry's function)
spec_module = importlib.import_module("crosspost.platforms.spec")
TOP = 'display_name = "Dr. Ana Reyes"\n'


def _persona(**kw: Any) -> Persona:
    accounts = kw.pop("accounts", [])
    blog = kw.pop("blog", None)
    p = Persona(display_name="Dr. Ana Reyes", accounts=accounts, blog=blog, **kw)
    p.name = "professional"
    return p


# -- which one wins ----------------------------------------------------------------------------


def test_the_account_wins_over_the_persona() -> None:
    own = make_account(
        name="pro-x", platform="x", user_agent="Quill/1.0", proxy="http://10.0.0.2:3128"
    )
    plain = make_account(name="pro-mastodon", platform="mastodon", instance="https://a.example")
    p = _persona(user_agent="Lantern/3.2", proxy="http://10.0.0.1:3128", accounts=[own, plain])
    assert route(p, own) == ("Quill/1.0", "http://10.0.0.2:3128")
    assert route(p, plain) == ("Lantern/3.2", "http://10.0.0.1:3128")


def test_without_settings_the_personas_own_name_and_the_environment(tmp_path: Path) -> None:
    account = make_account(name="pro-x", platform="x")
    p = _persona(accounts=[account])
    ctx = adapter_context(p, "pro-x", timeout=7.0, cache_dir=tmp_path)
    seed = (tmp_path / agentnames.SEED_FILE).read_text().strip()
    assert len(bytes.fromhex(seed)) == 32
    assert (ctx.proxy, ctx.timeout) == (None, 7.0)
    assert ctx.user_agent == agentnames.user_agent(bytes.fromhex(seed), "professional")
    assert ctx.client_name is not None and ctx.user_agent.startswith(ctx.client_name + "/")
    assert ctx.user_agent != DEFAULT_USER_AGENT and "crosspost" not in ctx.user_agent.lower()
    # stable: the next context (the next start of the daemon) reads the same seed
    again = adapter_context(p, "pro-x", timeout=7.0, cache_dir=tmp_path)
    assert (again.user_agent, again.client_name) == (ctx.user_agent, ctx.client_name)


def test_two_personas_without_settings_do_not_share_a_client_name(tmp_path: Path) -> None:
    """The User-Agent in the platforms' logs and the Mastodon app name under every post
    differ between personas, and neither names crosspost."""
    pro = _persona(accounts=[make_account(name="pro-m", platform="mastodon")])
    home = _persona(accounts=[make_account(name="home-m", platform="mastodon")])
    home.name = "personal"
    a = adapter_context(pro, "pro-m", timeout=None, cache_dir=tmp_path)
    b = adapter_context(home, "home-m", timeout=None, cache_dir=tmp_path)
    assert a.user_agent != b.user_agent and a.client_name != b.client_name
    for ctx in (a, b):
        assert ctx.user_agent and ctx.client_name
        assert "crosspost" not in (ctx.user_agent + ctx.client_name).lower()
    # another installation (another seed) names the same personas differently
    elsewhere = adapter_context(pro, "pro-m", timeout=None, cache_dir=tmp_path / "other")
    assert elsewhere.user_agent != a.user_agent


def test_an_explicit_setting_wins_over_the_made_up_name(tmp_path: Path) -> None:
    own = make_account(name="pro-x", platform="x", user_agent="Quill/1.0")
    plain = make_account(name="pro-m", platform="mastodon")
    p = _persona(accounts=[own, plain], user_agent="Lantern/3.2")
    assert adapter_context(p, "pro-x", timeout=None, cache_dir=tmp_path).user_agent == "Quill/1.0"
    assert adapter_context(p, "pro-m", timeout=None, cache_dir=tmp_path).user_agent == "Lantern/3.2"


def test_an_unwritable_folder_still_gives_each_persona_its_own_name(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert agentnames.seed(blocked) == b""
    assert agentnames.user_agent(b"", "professional") != agentnames.user_agent(b"", "personal")


def test_a_blog_has_its_route_too(tmp_path: Any) -> None:
    blog = make_blog(
        platform="wordpress", url="https://blog.example", user_agent="Quill/1.0", username="a"
    )
    p = _persona(blog=blog, proxy="http://p.example:8")
    ctx = adapter_context(p, "blog", timeout=None, cache_dir=tmp_path)
    assert ctx.blog is blog and ctx.account is None
    assert (ctx.user_agent, ctx.proxy, ctx.cache_dir) == (
        "Quill/1.0",
        "http://p.example:8",
        tmp_path,
    )


def test_a_proxy_password_is_kept_out_of_the_logs() -> None:
    from crosspost.logs import REDACT

    account = make_account(name="pro-x", platform="x", proxy="http://ana:pr0xy%2Fpass@p.example:8")
    adapter_context(_persona(accounts=[account]), "pro-x", timeout=None, cache_dir=None)
    assert "pr0xy/pass" in REDACT.secrets


def test_an_unknown_target_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no account 'nope'"):
        adapter_context(_persona(), "nope", timeout=None, cache_dir=None)
    with pytest.raises(UsageError, match="has no blog"):
        adapter_context(_persona(), "blog", timeout=None, cache_dir=None)


# -- checked on load ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ftp://proxy.example:21", "is not a proxy URL"),
        ("proxy.example:3128", "is not a proxy URL"),
        ("http://", "is not a proxy URL"),
        ("http://proxy.example:port", "port that is not a number"),
        ("http://proxy.example:3128/path", "a proxy is a host and port only"),
        ("socks4://proxy.example:1080", "is not a proxy URL"),
    ],
)
def test_bad_proxy_urls_name_the_file_the_field_and_the_fix(
    ws: Any, value: str, expected: str
) -> None:
    path = ws.profiles / "professional.toml"
    path.write_text(path.read_text().replace(TOP, f'{TOP}proxy = "{value}"\n', 1))
    r = ws.run("personas")
    assert r.code == 2, r.out
    assert "professional.toml" in r.err
    assert "proxy" in r.err
    assert expected in r.err
    assert "socks5h://127.0.0.1:9050" in r.err or "host and port only" in r.err
    assert "Traceback" not in r.err


def test_a_bad_account_proxy_names_the_account(ws: Any) -> None:
    path = ws.profiles / "professional.toml"
    text = path.read_text()
    path.write_text(text.replace('name = "pro-x"\n', 'name = "pro-x"\nproxy = "gopher://x"\n'))
    r = ws.run("personas")
    assert r.code == 2, r.out
    assert "accounts[0].proxy" in r.err
    assert "is not a proxy URL" in r.err


def test_a_proxy_password_is_not_repeated_in_the_message(ws: Any) -> None:
    path = ws.profiles / "professional.toml"
    bad = "http://ana:s3cret-pw@proxy.example:notaport"
    path.write_text(path.read_text().replace(TOP, f'{TOP}proxy = "{bad}"\n', 1))
    r = ws.run("personas")
    assert r.code == 2
    assert "port that is not a number" in r.err
    assert "s3cret-pw" not in r.err


def test_socks_without_its_packages_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = spec_module.find_spec
    monkeypatch.setattr(
        spec_module, "find_spec", lambda name: None if name in ("socks", "socksio") else real(name)
    )
    with pytest.raises(ValueError, match=r"needs socksio and PySocks .*crosspost\[socks\]"):
        _persona(proxy="socks5://127.0.0.1:9050")


def test_socks_with_its_packages_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec_module, "find_spec", lambda name: object())
    assert _persona(proxy="SOCKS5H://127.0.0.1:9050").proxy == "socks5h://127.0.0.1:9050"
    account = make_account(name="pro-x", platform="x", proxy="socks5://tor.example:9050")
    assert account.proxy == "socks5://tor.example:9050"


@pytest.mark.parametrize("value", ["", "Quill/1.0\r\nX-Evil: 1", "é" * 3, "x" * 201])
def test_a_user_agent_is_one_printable_line(value: str) -> None:
    with pytest.raises(ValueError, match="user_agent"):
        _persona(user_agent=value)


def test_mastodon_app_name_is_checked() -> None:
    account = make_account(name="m", platform="mastodon", app_name="  Harbor Notes ")
    assert account.app_name == "Harbor Notes"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="app_name"):
        make_account(name="m", platform="mastodon", app_name="")
    with pytest.raises(ValueError, match="app_name"):
        make_account(name="x", platform="x", app_name="Harbor Notes")


def test_a_damaged_seed_is_replaced_and_then_kept(tmp_path: Path) -> None:
    (tmp_path / agentnames.SEED_FILE).write_text("")
    first = agentnames.seed(tmp_path)
    assert len(first) == 32
    assert agentnames.seed(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == [agentnames.SEED_FILE]  # no temporary left
    assert (tmp_path / agentnames.SEED_FILE).stat().st_mode & 0o077 == 0
