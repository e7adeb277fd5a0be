"""Share templates are checked when the profile or the entry is loaded, never at publish time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosspost.compose import PLACEHOLDERS, template_problem
from crosspost.entries import parse_entry
from crosspost.errors import ConfigError, EntryError

VALID = ", ".join("{" + p + "}" for p in PLACEHOLDERS)


def _patch_profile(ws, old: str, new: str) -> None:
    path = ws.profiles / "professional.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('share = "New on the blog: {title} {url}"', 'share = "New: {titel} {url}"', "share"),
        (
            'handle = "@DrAnaReyes"',
            'handle = "@DrAnaReyes"\nshare = "New: {titel} {url}"',
            "accounts[0].share",
        ),
        (
            'instance = "https://psych.social"',
            'instance = "https://psych.social"\nshare = "New: {titel} {url}"',
            "accounts[1].share",
        ),
    ],
)
@pytest.mark.parametrize(("command", "code"), [(["personas"], 2), (["doctor"], 1)])
def test_unknown_placeholder_is_a_config_error_naming_file_and_field(
    ws, old, new, field, command, code
):
    _patch_profile(ws, old, new)
    r = ws.run(*command)
    text = r.out + r.err
    assert r.code == code, text
    assert f"unknown placeholder {{titel}} in {ws.profiles / 'professional.toml'} {field}" in text
    assert "did you mean {title}?" in text
    assert VALID in text
    assert "Traceback" not in text


@pytest.mark.parametrize("command", ["check", "queue"])
def test_check_and_queue_report_the_broken_template(ws, command):
    _patch_profile(ws, 'share = "New on the blog: {title} {url}"', 'share = "{titel} {url}"')
    r = ws.run(command, "--persona", "personal", "--text", "Hives wrapped for winter.")
    assert r.code == 2, r.out + r.err
    assert "unknown placeholder {titel}" in r.err and "did you mean {title}?" in r.err


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("New: {title", "malformed"),
        ("New: title}", "malformed"),
        ("New: {0} {url}", "unknown placeholder {0}"),
        ("New: {} {url}", "unknown placeholder {}"),
        ("New: {title.upper} {url}", "placeholder {title.upper}"),
        ("New: {title[0]} {url}", "placeholder {title[0]}"),
        ("New: {title:>20} {url}", "takes no conversion or format spec"),
        ("New: {title!r} {url}", "takes no conversion or format spec"),
    ],
)
def test_malformed_templates_are_config_errors(ws, template, expected):
    _patch_profile(ws, 'share = "New on the blog: {title} {url}"', f"share = {template!r}")
    r = ws.run("personas")
    assert r.code == 2, r.out
    assert expected in r.err
    assert f"{ws.profiles / 'professional.toml'} share" in r.err
    assert "Traceback" not in r.err


@pytest.mark.parametrize(
    ("template", "suggestion"),
    [
        ("{titel}", "{title}"),
        ("{Title}", "{title}"),
        ("{link}", None),
        ("{tag}", "{tags}"),
        ("{summery}", "{summary}"),
    ],
)
def test_template_problem_suggests_the_closest_placeholder(template, suggestion):
    problem = template_problem(template, "here")
    assert problem is not None
    if suggestion:
        assert f"did you mean {suggestion}?" in problem
    else:
        assert "did you mean" not in problem
    assert VALID in problem


@pytest.mark.parametrize(
    "template",
    ["{title} {url}", "{{literal}} {title}", "{summary}\n\n{url} {tags}", "{body}", "no fields"],
)
def test_valid_templates_pass(template):
    assert template_problem(template, "here") is None


def test_front_matter_share_is_checked_when_the_entry_is_loaded(tmp_path):
    path = tmp_path / "entry.md"
    path.write_text("---\ntitle: T\nshare:\n  x: 'Read {titel}: {url}'\n---\nBody.\n")
    from crosspost.entries import read_entry

    with pytest.raises(EntryError) as e:
        read_entry(path)
    assert f"unknown placeholder {{titel}} in {path} share.x" in str(e.value)
    assert "did you mean {title}?" in str(e.value)


def test_front_matter_share_with_unbalanced_brace():
    with pytest.raises(EntryError, match=r"text share.mastodon.*malformed"):
        parse_entry("---\ntitle: T\nshare:\n  mastodon: 'Read {title'\n---\nBody.\n")


def test_a_broken_stored_template_fails_the_delivery_instead_of_unknown(ws):
    """A post queued before templates were checked at load time still has a readable outcome."""
    from sqlmodel import select

    from crosspost.models import Delivery, Post

    r = ws.run(
        "queue",
        "--persona",
        "personal",
        "--text",
        "Hives wrapped for winter.",
        "--to",
        "home-feed",
        "--at",
        "+1h",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    post_id = r.json()["id"]
    store = ws.app().store
    with store.write() as s:
        post = s.get(Post, post_id)
        post.share = {"home-feed": "Read {titel}"}
        post.scheduled_at = datetime.now(UTC) - timedelta(seconds=5)
        s.add(post)
        for d in s.exec(select(Delivery).where(Delivery.post_id == post_id)):
            d.due_at = post.scheduled_at
            s.add(d)
    ws.run("daemon", "--once")
    shown = ws.run("show", str(post_id), "--format", "json").json()
    target = shown["targets"][0]
    assert target["state"] == "failed", target
    assert "unknown placeholder {titel}" in target["error"]


def test_sharetext_render_raises_config_error():
    from crosspost.profiles import Persona, make_account
    from crosspost.sharetext import ShareSource, render_for

    persona = Persona(display_name="P")
    account = make_account(name="a", platform="feed", path="feed.xml")
    src = ShareSource("entry", "T", "Body", None, (), "t", {"a": "{titel}"})
    with pytest.raises(ConfigError, match="unknown placeholder"):
        render_for(src, persona, account, "https://example.org/t")
