"""``crosspost preview`` fits and counts a Mastodon share the way the daemon will: the
instance's limit and counting, asked without credentials, cached on disk, and says so."""

from __future__ import annotations

import socket

import pytest

from crosspost.platforms import mastodon as mastodon_module
from tests.fakes.mastodon import FakeMastodon

PROFESSIONAL = """
display_name = "Dr. Ana Reyes"
timezone = "America/Chicago"
share = "{{title}}\\n\\n{{body}}\\n\\n{{url}}"
[identity]
names = ["Ana Reyes"]
[blog]
platform = "static"
url = "https://harborpsych.example"
content_dir = "site"
permalink = "/posts/2024/05/{{slug}}-and-what-clinicians-can-do-about-it-without-losing-the-frame/"
[[accounts]]
name = "pro-mastodon"
platform = "mastodon"
handle = "@anareyes@127.0.0.1"
instance = "{url}"
"""

ENTRY = "---\ntitle: Therapy and Social Networking\n---\n" + (
    "Clinicians can take part in social networks without losing the therapeutic frame. " * 20
)


@pytest.fixture(autouse=True)
def _fresh_limits():
    mastodon_module.clear_instance_cache()
    yield
    mastodon_module.clear_instance_cache()


def preview(ws, url: str, *fmt: str):  # type: ignore[no-untyped-def]
    ws.write("profiles/professional.toml", PROFESSIONAL.format(url=url))
    entry = ws.write("entry.md", ENTRY)
    r = ws.run("preview", str(entry), "--persona", "professional", "--to", "pro-mastodon", *fmt)
    assert r.code == 0, r.err
    return r


def item(ws, url: str) -> dict:
    [it] = preview(ws, url, "--format", "json").json()["targets"]
    return it


def test_the_instance_limit_is_used_and_cached(ws):
    with FakeMastodon(access_token="unused", max_characters=1000) as fake:
        host = fake.url.removeprefix("http://")
        first = item(ws, fake.url)
        assert (first["limit"], first["limit_source"], first["limit_note"]) == (
            1000,
            "instance",
            f"from {host}",
        )
        assert 900 < first["length"] <= 1000 and first["over"] is False
        assert first["counting"] == "mastodon" and first["unit"] == "characters"
        again = item(ws, fake.url)
        assert (again["limit_source"], again["limit_note"]) == ("cache", f"from {host}, cached")
        assert again["text"] == first["text"]
        mastodon_module.clear_instance_cache()  # the next preview is a new process: the file
        text = preview(ws, fake.url).out
        assert f"/1000 characters; limit 1000 (from {host}, cached)" in text
        assert fake.calls["GET /api/v2/instance"] == 1
        assert not [r for r in fake.requests if "Authorization" in r.headers]
        assert fake.problems == []


def test_an_unreachable_instance_falls_back_and_says_so(ws):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    it = item(ws, url)
    assert (it["limit"], it["limit_source"], it["limit_note"]) == (
        500,
        "default",
        f"default; 127.0.0.1:{port} not reachable",
    )
    assert it["length"] <= 500
    out = preview(ws, url).out
    assert f"limit 500 (default; 127.0.0.1:{port} not reachable)" in out


def test_a_gotosocial_instance_is_counted_in_code_points(ws):
    with FakeMastodon(access_token="unused", software="gotosocial", counting="codepoints") as f:
        it = item(ws, f.url)
        out = preview(ws, f.url).out
    assert it["counting"] == "codepoints" and it["unit"] == "code points"
    assert it["limit"] == 500
    assert it["length"] == len(it["text"]) <= 500
    assert it["text"].endswith(it["url"]) and len(it["url"]) > 100  # counted at full length
    assert "code points; limit 500 (from" in out


def test_the_account_limit_wins_and_is_named(ws):
    with FakeMastodon(access_token="unused", max_characters=1000) as fake:
        ws.write(
            "profiles/professional.toml",
            PROFESSIONAL.format(url=fake.url) + 'limit = 700\ncounting = "mastodon"\n',
        )
        entry = ws.write("entry.md", ENTRY)
        r = ws.run("preview", str(entry), "--persona", "professional", "--format", "json")
        assert r.code == 0, r.err
        [it] = r.json()["targets"][1:]
        assert (it["limit"], it["limit_source"], it["limit_note"]) == (
            700,
            "account",
            "the account's limit",
        )
        assert fake.requests == []  # nothing left to ask the instance
