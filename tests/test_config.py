from __future__ import annotations

from datetime import timedelta

import pytest

from crosspost.errors import ConfigError, UsageError
from crosspost.settings import load_settings


def test_settings_from_file_and_env(ws, monkeypatch):
    ws.write(
        "config.toml", 'profiles_dir = "profiles"\nmax_lateness = "2h"\n[daemon]\nlease = "90s"\n'
    )
    s = load_settings(ws.config)
    assert s.max_lateness == timedelta(hours=2)
    assert s.daemon.lease == timedelta(seconds=90)
    monkeypatch.setenv("CROSSPOST_MAX_LATENESS", "30m")
    monkeypatch.setenv("CROSSPOST_DAEMON__LEASE", "5m")
    s = load_settings(ws.config)
    assert s.max_lateness == timedelta(minutes=30)
    assert s.daemon.lease == timedelta(minutes=5)


def test_config_found_via_env_var(ws, monkeypatch):
    monkeypatch.setenv("CROSSPOST_CONFIG", str(ws.config))
    s = load_settings(None)
    assert s.config_path == ws.config.resolve()
    assert s.resolved_profiles_dir() == ws.profiles


def test_default_config_in_user_config_dir(tmp_path):
    s = load_settings(None)
    assert s.config_path is not None
    assert str(s.config_path).startswith(str(tmp_path / "xdg-config"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("profiles_dir = [", "invalid TOML"),
        ("profile_dir = 'x'", "did you mean 'profiles_dir'"),
        ("max_lateness = 'soon'", "not a duration"),
        ("[daemon]\nleese = '1m'", "did you mean 'lease'"),
        ("log_level = 'LOUD'", "log_level"),
    ],
)
def test_config_errors_name_file_and_fix(ws, text, expected):
    ws.write("config.toml", text)
    r = ws.run("personas")
    assert r.code == 2
    assert str(ws.config) in r.err
    assert expected in r.err
    assert "Traceback" not in r.err


def test_missing_explicit_config(ws, tmp_path):
    from crosspost.cli import run

    code = run(["--config", str(tmp_path / "nope.toml"), "personas"])
    assert code == 2


def test_personas_listed(ws):
    r = ws.run("personas", "--format", "json")
    assert r.code == 0
    data = r.json()["personas"]
    assert [p["name"] for p in data] == ["personal", "professional"]
    pro = data[1]
    assert pro["blog"]["platform"] == "static"
    assert {a["name"] for a in pro["accounts"]} == {"pro-x", "pro-mastodon"}


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (
            ('timezone = "America/Chicago"', 'timezone = "Mars/Olympus"'),
            "unknown timezone 'Mars/Olympus'",
        ),
        (("display_name", "displayname"), "did you mean 'display_name'"),
        (('platform = "x"', 'platform = "myspace"'), "accounts[0].platform"),
        (('slots = ["Mon-Fri 08:30"', 'slots = ["Funday 08:30"'), "not a weekday"),
        (("[blog]", "[blogg]"), "did you mean 'blog'"),
        (('name = "pro-x"', 'name = "Pro X"'), "lowercase"),
        (
            ('platform = "x"', 'platform = "x"\nvisibility = "unlisted"'),
            "visibility is a mastodon or linkedin setting; remove it for x",
        ),
        (
            ('platform = "mastodon"', 'platform = "mastodon"\nvisibility = "secret"'),
            "accounts[1].visibility",
        ),
        (
            ('platform = "mastodon"', 'platform = "mastodon"\ncounting = "graphemes"'),
            "accounts[1].counting: counting 'graphemes' is not known; use \"mastodon\"",
        ),
        (
            ('platform = "x"', 'platform = "x"\ncounting = "codepoints"'),
            "counting is a mastodon setting; remove it for x",
        ),
    ],
)
def test_profile_errors(ws, patch, expected):
    path = ws.profiles / "professional.toml"
    text = path.read_text()
    assert patch[0] in text
    path.write_text(text.replace(patch[0], patch[1], 1))
    r = ws.run("personas")
    assert r.code == 2, r.out
    assert "professional.toml" in r.err
    assert expected in r.err
    assert "Traceback" not in r.err


def test_missing_display_name(ws):
    path = ws.profiles / "personal.toml"
    path.write_text(path.read_text().replace('display_name = "Ana Bee"\n', ""))
    r = ws.run("personas")
    assert r.code == 2
    assert "personal.toml: missing required field 'display_name'" in r.err


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ('name = "home-bsky"', 'name = "pro-x"', "account 'pro-x'"),
        (
            'domains = ["anabee.example"]',
            'domains = ["anabee.example", "harborpsych.example"]',
            "domain 'harborpsych.example'",
        ),
        (
            'emails = ["ana.bee@gmail.com"]',
            'emails = ["ANA@harborpsych.example"]',
            "email 'ana@harborpsych.example'",
        ),
        (
            'handles = ["anabee.bsky.social"]',
            'handles = ["drANAreyes"]',
            "handle 'draanareyes'".replace("draanareyes", "dranareyes"),
        ),
    ],
)
def test_identifier_claimed_by_two_personas(ws, old, new, kind):
    path = ws.profiles / "personal.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    r = ws.run("personas")
    assert r.code == 2
    assert kind in r.err
    assert "personal.toml" in r.err and "professional.toml" in r.err


def test_all_problems_reported_at_once(ws):
    ws.write("profiles/professional.toml", 'display_name = "x"\ntimezone = "Nowhere/Here"\n')
    ws.write("profiles/personal.toml", 'displayname = "y"\n')
    r = ws.run("personas")
    assert r.code == 2
    assert "Nowhere/Here" in r.err
    assert "displayname" in r.err


def test_non_utf8_profile(ws):
    (ws.profiles / "personal.toml").write_bytes(b'display_name = "Ana \xff"\n')
    r = ws.run("personas")
    assert r.code == 2
    assert "not UTF-8" in r.err


def test_unknown_persona(ws):
    from crosspost.app import App

    with pytest.raises(UsageError, match="unknown persona 'work'.*known: personal, professional"):
        App(ws.config).personas.get("work")


def test_missing_profiles_dir(ws):
    ws.write("config.toml", 'profiles_dir = "nowhere"\n')
    r = ws.run("personas")
    assert r.code == 2
    assert "profiles folder not found" in r.err


def test_example_profiles_load(tmp_path):
    """The shipped examples (what `crosspost init` writes) are valid and separate."""
    from crosspost.init import init_config
    from crosspost.profiles import load_personas

    cfg = tmp_path / "c" / "config.toml"
    written = init_config(cfg)
    assert all(created for _, created in written)
    personas = load_personas(cfg.parent / "profiles", cfg.parent)
    assert personas.names() == ["personal", "professional"]
    again = init_config(cfg)
    assert not any(created for _, created in again)


def test_config_error_lists_problems():
    e = ConfigError(["a: one", "b: two"])
    assert "a: one" in str(e) and "b: two" in str(e)
