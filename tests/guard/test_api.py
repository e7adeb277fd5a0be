"""Public API surface, JSON contract, offline behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import crosspost.guard as guard
from crosspost.guard import (
    AccountRef,
    GuardProfile,
    Report,
    TextField,
    build_matcher,
    check_content,
)

from .conftest import SRC, make_profiles


def test_all_is_complete_and_importable() -> None:
    public = {n for n in dir(guard) if not n.startswith("_")}
    modules = {
        "confidential",
        "correlation",
        "findings",
        "matcher",
        "packs",
        "profile",
        "routing",
        "rules",
        "annotations",
        "media",
        "rhythm",
        "images",
        "sessionhours",
    }
    assert set(guard.__all__) == public - modules
    for name in guard.__all__:
        assert getattr(guard, name) is not None


def test_profiles_are_hashable_and_accept_config_shapes() -> None:
    p = GuardProfile(
        name="x",
        names=["A B"],
        severity={"clinician": "block"},
        separation="1h30m",
        accounts=[AccountRef("a", "x", "@ab")],
    )
    assert p.names == ("A B",) and p.separation.total_seconds() == 5400
    assert hash(p) == hash(
        GuardProfile(
            name="x",
            names=("A B",),
            severity={"clinician": "block"},
            separation="90m",
            accounts=(AccountRef("a", "x", "@ab"),),
        )
    )
    assert dict(p.severity) == {"clinician": "block"}


def test_report_json_contract(matcher) -> None:
    text = "Say hi to Tomasz Bee! In session today..."
    findings = check_content(
        matcher,
        "professional",
        [
            TextField("title", "anabee.example"),
            TextField("body", text),
        ],
    )
    report = Report("professional", tuple(findings))
    data = report.to_json()
    assert data["persona"] == "professional" and data["blocked"] is True
    assert all(
        set(f) == {"rule", "severity", "match", "start", "end", "message"} for f in data["findings"]
    ), "check --format json has exactly the contract's keys"
    rules = [(f["rule"], f["field"]) for f in report.to_json(detail=True)["findings"]]
    assert rules == [
        ("identity", "title"),
        ("identity", "body"),
        ("clinician.session-content", "body"),
    ]
    first = data["findings"][0]
    assert set(first) >= {"rule", "severity", "match", "start", "end", "message"}
    assert first["message"] == "domain 'anabee.example' identifies persona 'personal'"
    allowed = report.with_allowances({"identity": "family photo, agreed"})
    assert not allowed.blocked
    assert all(
        f.get("allowed")
        for f in allowed.to_json(detail=True)["findings"]
        if f["rule"] == "identity"
    )


def test_unknown_persona_is_checked_against_everyone(matcher) -> None:
    findings = check_content(matcher, "ghost", [TextField("body", "Ana Bee and Ana Reyes")])
    assert {f.owner for f in findings} == {"personal", "professional"}


def test_crisis_line_listed_as_identity_is_ignored_with_a_note() -> None:
    pro, per = make_profiles()
    per = GuardProfile(**{**per.__dict__, "phones": ("988", "1-800-273-8255")})
    m = build_matcher([pro, per])
    assert sum("crisis" in n for n in m.notes) == 2
    text = "Call 988 or 1-800-273-8255"
    assert check_content(m, "professional", [TextField("body", text)]) == []


def test_provider_and_instance_domains_are_not_identity() -> None:
    p = GuardProfile(
        name="personal",
        emails=("someone.else@gmail.com",),
        handles=("@someone@mastodon.social",),
        blog_url="https://someone.substack.com",
        domains=("www.custom-domain.example",),
    )
    m = build_matcher([p, GuardProfile(name="pro")])
    check = lambda t: check_content(m, "pro", [TextField("body", t)])  # noqa: E731
    assert check("gmail.com mastodon.social substack.com custom-domain") == []
    assert check("someone.substack.com")[0].message.startswith("domain 'someone.substack.com'")
    assert check("shop.custom-domain.example")[0].match == "custom-domain.example"


def test_matcher_build_is_offline_and_writes_no_cache(tmp_path: Path) -> None:
    """tldextract runs on its bundled snapshot: no network, no ~/.cache writes."""
    home = tmp_path / "home"
    home.mkdir()
    script = textwrap.dedent(
        f"""
        import socket, sys
        sys.path.insert(0, {str(SRC)!r})
        def refuse(*a, **k):
            raise AssertionError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from crosspost.guard import GuardProfile, TextField, build_matcher, check_content
        m = build_matcher([GuardProfile(name="a", domains=("blog.example.co.uk",),
                                        blog_url="https://x.github.io/blog"),
                           GuardProfile(name="b")])
        f = check_content(m, "b", [TextField("body", "see www.example.co.uk and x.github.io")])
        assert [x.match for x in f] == ["example.co.uk", "x.github.io"], f
        print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLDEXTRACT")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert list(home.rglob("*")) == []
