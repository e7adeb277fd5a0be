"""``crosspost audit-exposure`` against local fakes: what each persona has already published
(posts and profiles) is read back through the real client libraries and checked by the guard
for the other personas."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.bluesky import FakeBlueskyPDS
from tests.fakes.mastodon import FakeMastodon

PRO_TOKEN = "pro-token-Hq3x8PzY1wRdK2"
HOME_TOKEN = "home-token-9TnVf2LkQ8sWm4"
BSKY_PASSWORD = "abcd-efgh-ijkl-mnop"

#: top-level keys of ``--format json``, and of each target and finding
AUDIT_KEYS = {"blocked", "targets", "findings"}
TARGET_KEYS = {"persona", "target", "platform", "items", "profile", "imported", "notes"}
FINDING_KEYS = {
    "persona",
    "target",
    "platform",
    "kind",
    "url",
    "field",
    "published_at",
    "rule",
    "severity",
    "message",
    "owner",
}


@dataclass
class Servers:
    pro: FakeMastodon
    home: FakeMastodon
    pds: FakeBlueskyPDS


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def servers(ws, isolated) -> Iterator[Servers]:  # type: ignore[no-untyped-def]
    """Both personas on their fakes: the professional one's Mastodon, the personal one's
    Mastodon and Bluesky; no X account (its API cannot be pointed at a fake from a profile)
    and static blogs with one clean entry each."""
    with (
        FakeMastodon(access_token=PRO_TOKEN) as pro,
        FakeMastodon(access_token=HOME_TOKEN, username="anabee") as home,
        FakeBlueskyPDS(password=BSKY_PASSWORD) as pds,
    ):
        home.account.display_name = "Ana Bee"
        prof = ws.profiles / "professional.toml"
        text = prof.read_text()
        text = text.replace(
            '[[accounts]]\nname = "pro-x"\nplatform = "x"\nhandle = "@DrAnaReyes"\n\n', ""
        )
        text = text.replace('instance = "https://psych.social"', f'instance = "{pro.url}"')
        prof.write_text(text)
        personal = ws.profiles / "personal.toml"
        text = personal.read_text().replace(
            'handle = "anabee.bsky.social"\n',
            f'handle = "anabee.bsky.social"\ninstance = "{pds.url}"\n',
        )
        text += (
            f'\n[[accounts]]\nname = "home-mastodon"\nplatform = "mastodon"\n'
            f'handle = "@anabee@home.example"\ninstance = "{home.url}"\n'
        )
        personal.write_text(text)
        isolated.set_password("crosspost/professional/pro-mastodon", "access_token", PRO_TOKEN)
        isolated.set_password("crosspost/personal/home-mastodon", "access_token", HOME_TOKEN)
        isolated.set_password("crosspost/personal/home-bsky", "app_password", BSKY_PASSWORD)
        ws.write(
            "site-pro/content/posts/sleep.md",
            """
            +++
            title = "Five small habits for better sleep"
            date = 2026-03-02T09:00:00-06:00
            slug = "sleep"
            +++
            Keep a regular wake-up time, even on weekends.
            """,
        )
        ws.write(
            "site-home/content/posts/hives.md",
            """
            +++
            title = "Spring hive check"
            date = 2026-04-11T10:00:00-05:00
            +++
            The bees made it through the winter. ![a frame full of brood](frame.jpg)
            """,
        )
        pro.add_status("New on the blog: better sleep https://harborpsych.example/posts/sleep/")
        home.add_status("Spring hive check went well today, the bees are calm and busy.")
        pds.add_post("First honey of the year from Bee Hollow Apiary, very proud of it")
        yield Servers(pro, home, pds)
    for fake in (pro, home):
        assert fake.problems == [], "the fake Mastodon saw invalid requests"
    assert pds.problems == [], "the fake PDS saw invalid requests"


def test_clean_accounts_exit_0(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    r = ws.run("audit-exposure")
    assert r.code == 0, r.out + r.err
    assert "clean" in r.out
    assert "5 posts and 3 profiles checked" in r.out
    # every target was read; the personal feed file does not exist yet: nothing in it
    assert "read personal/home-mastodon (mastodon): 1 posts, profile" in r.err
    assert "read professional/blog (static): 1 posts" in r.err
    assert "note" not in r.out


def test_a_bio_naming_the_other_persona_blocks_with_its_link(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    servers.home.account.note = "Beekeeper. Weekdays I am Ana Reyes, psychologist."
    r = ws.run("audit-exposure", "--format", "json")
    assert r.code == 1, r.out + r.err
    data = r.json()
    assert data["blocked"] is True
    [finding] = [f for f in data["findings"] if f["kind"] == "profile"]
    assert finding["persona"] == "personal"
    assert finding["target"] == "home-mastodon"
    assert finding["field"] == "bio"
    assert finding["severity"] == "block"
    assert finding["rule"].startswith("identity")
    assert finding["owner"] == "professional"
    assert finding["url"] == f"{servers.home.url}/@anabee"
    assert finding["message"].endswith("identifies persona 'professional'")

    text = ws.run("audit-exposure", "--persona", "personal")
    assert text.code == 1
    assert f"{servers.home.url}/@anabee" in text.out
    assert "profile: bio" in text.out
    assert "exposed" in text.out


def test_profile_fields_and_avatar_description_are_checked(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    servers.home.account.fields = [("Work", "https://harborpsych.example")]
    servers.home.account.avatar_description = "Dr. Reyes at her desk"
    r = ws.run("audit-exposure", "--persona", "personal", "--format", "json")
    assert r.code == 1
    fields = sorted(f["field"] for f in r.json()["findings"])
    assert fields == ["avatar alt", "field Work"]


def test_posts_made_outside_crosspost_are_checked(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    uri = servers.pds.add_post("Proud of my wife Ana Reyes and her practice, go say hi")
    status = servers.pro.add_status("Weekend plans: Bee Hollow Apiary open day with the family")
    r = ws.run("audit-exposure", "--format", "json")
    assert r.code == 1
    by_target = {f["target"]: f for f in r.json()["findings"]}
    assert set(by_target) == {"home-bsky", "pro-mastodon"}
    did, _, rkey = uri.removeprefix("at://").partition("/app.bsky.feed.post/")
    assert by_target["home-bsky"]["url"] == f"https://bsky.app/profile/{did}/post/{rkey}"
    assert by_target["home-bsky"]["owner"] == "professional"
    assert by_target["pro-mastodon"]["url"] == f"{servers.pro.url}/@anareyes/{status['id']}"
    assert by_target["pro-mastodon"]["owner"] == "personal"
    assert by_target["pro-mastodon"]["published_at"] is not None


def test_bluesky_profile_record_is_checked(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    servers.pds.set_profile(displayName="Ana Bee", description="mail me: ana@harborpsych.example")
    r = ws.run("audit-exposure", "--persona", "personal", "--format", "json")
    assert r.code == 1
    [finding] = r.json()["findings"]
    assert (finding["target"], finding["kind"], finding["field"]) == ("home-bsky", "profile", "bio")
    assert finding["url"] == f"https://bsky.app/profile/{servers.pds.account.did}"


def test_json_shape(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    servers.home.add_status("Lovely chat with Dr. Reyes about the hives today, thank you")
    r = ws.run("audit-exposure", "--format", "json", "--limit", "10")
    data = r.json()
    assert set(data) == AUDIT_KEYS
    assert [(t["persona"], t["target"]) for t in data["targets"]] == [
        ("personal", "blog"),
        ("personal", "home-bsky"),
        ("personal", "home-feed"),
        ("personal", "home-mastodon"),
        ("professional", "blog"),
        ("professional", "pro-mastodon"),
    ]
    for t in data["targets"]:
        assert set(t) == TARGET_KEYS
    assert {t["target"]: t["items"] for t in data["targets"]}["home-mastodon"] == 2
    assert data["findings"]
    for f in data["findings"]:
        assert set(f) == FINDING_KEYS
    assert r.err == ""  # no progress lines mixed into a script's output


def test_an_unreachable_account_is_a_note_and_the_rest_is_audited(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    personal = ws.profiles / "personal.toml"
    personal.write_text(personal.read_text().replace(servers.home.url, _closed_port_url()))
    servers.pds.add_post("Proud of my wife Ana Reyes and her practice, go say hi")
    r = ws.run("audit-exposure", "--persona", "personal", "--format", "json")
    assert r.code == 1  # the Bluesky finding still counts
    data = r.json()
    notes = {t["target"]: t["notes"] for t in data["targets"]}
    assert notes["home-bsky"] == []
    [posts, profile] = notes["home-mastodon"]
    assert posts.startswith("posts not read:") and "could not" in posts.lower()
    assert profile.startswith("profile not read:")
    assert [f["target"] for f in data["findings"]] == ["home-bsky"]

    text = ws.run("audit-exposure", "--persona", "personal")
    assert "note personal/home-mastodon: posts not read" in text.out
    assert "Traceback" not in text.out + text.err


def test_missing_credentials_name_the_login(ws, servers: Servers, isolated) -> None:  # type: ignore[no-untyped-def]
    isolated.delete_password("crosspost/personal/home-mastodon", "access_token")
    r = ws.run("audit-exposure", "--persona", "personal", "--format", "json")
    assert r.code == 0
    notes = {t["target"]: t["notes"] for t in r.json()["targets"]}
    assert notes["home-mastodon"] == [
        "posts not read: no credentials for 'home-mastodon' of persona 'personal' "
        "(missing: access_token) (run 'crosspost accounts login home-mastodon')",
        "profile not read: same reason",
    ]


def test_a_platform_that_cannot_be_read_is_a_note(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    personal = ws.profiles / "personal.toml"
    personal.write_text(
        personal.read_text()
        + '\n[[accounts]]\nname = "home-linkedin"\nplatform = "linkedin"\n'
        + 'handle = "ana-bee"\n'
    )
    r = ws.run("audit-exposure", "--persona", "personal", "--format", "json")
    notes = {t["target"]: t["notes"] for t in r.json()["targets"]}
    assert notes["home-linkedin"] == [
        "posts not read: crosspost cannot read what was published on linkedin",
        "profile not read: crosspost cannot read linkedin profiles",
    ]
    assert r.code == 0


def test_limit_bounds_what_is_read(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    for n in range(45):
        servers.home.add_status(f"Hive note number {n}: the colony is calm and the queen laying")
    r = ws.run("audit-exposure", "--persona", "personal", "--format", "json", "--limit", "42")
    items = {t["target"]: t["items"] for t in r.json()["targets"]}
    assert items["home-mastodon"] == 42  # two pages of statuses, stopped at the limit
    all_of_them = ws.run("audit-exposure", "--persona", "personal", "--format", "json")
    assert {t["target"]: t["items"] for t in all_of_them.json()["targets"]}["home-mastodon"] == 46


def test_unknown_persona_is_a_usage_error(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    r = ws.run("audit-exposure", "--persona", "nobody")
    assert r.code == 2
    assert "unknown persona 'nobody'" in r.err


# -- imported history feeds the correlation checks ----------------------------------------------

HAND_TEXT = (
    "Five small habits that help with sleep when the days get shorter and the "
    "evenings feel long and restless"
)


def _minutes_ago(minutes: int) -> str:
    at = datetime.now(UTC) - timedelta(minutes=minutes)
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_posts_made_by_hand_count_in_near_duplicate_and_separation(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    uri = servers.pds.add_post(HAND_TEXT, created_at=_minutes_ago(10))
    did, _, rkey = uri.removeprefix("at://").partition("/app.bsky.feed.post/")
    link = f"https://bsky.app/profile/{did}/post/{rkey}"
    r = ws.run("audit-exposure", "--format", "json")
    assert r.code == 0, r.out
    imported = {t["target"]: t["imported"] for t in r.json()["targets"]}
    assert imported["home-bsky"] == 2 and imported["home-mastodon"] == 1

    copy = HAND_TEXT.replace("Five", "5")
    dup = ws.run("queue", "--persona", "professional", "--text", copy, "--at", "+5h")
    assert dup.code == 1
    assert "near-duplicate" in dup.err and link in dup.err

    close = ws.run("queue", "--persona", "professional", "--text", "Office closed.", "--at", "+5m")
    assert close.code == 1
    # the nearest of the personal persona's posts (the fixture's, made just now) is named
    assert "separation" in close.err and "home-bsky's post https://bsky.app/profile/" in close.err
    later = ws.run("queue", "--persona", "professional", "--text", "Office closed.", "--at", "+1h")
    assert later.code == 0, later.err

    # read again: nothing new
    again = ws.run("audit-exposure", "--persona", "personal", "--format", "json")
    assert {t["target"]: t["imported"] for t in again.json()["targets"]}["home-bsky"] == 0


def test_no_import_keeps_nothing(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    servers.pds.add_post(HAND_TEXT, created_at=_minutes_ago(10))
    r = ws.run("audit-exposure", "--no-import", "--format", "json")
    assert all(t["imported"] == 0 for t in r.json()["targets"])
    copy = HAND_TEXT.replace("Five", "5")
    queued = ws.run("queue", "--persona", "professional", "--text", copy, "--at", "+5h")
    assert queued.code == 0, queued.err


def test_published_at_is_utc_with_a_z(ws, servers: Servers) -> None:  # type: ignore[no-untyped-def]
    servers.pds.add_post("Proud of my wife Ana Reyes and her practice", created_at=_minutes_ago(3))
    [finding] = ws.run("audit-exposure", "--persona", "personal", "--format", "json").json()[
        "findings"
    ]
    at = datetime.fromisoformat(finding["published_at"])
    assert finding["published_at"].endswith("Z")
    assert timedelta(minutes=2) < datetime.now(UTC) - at < timedelta(minutes=10)


def test_an_unexpected_failure_is_a_note_without_secrets(ws, servers: Servers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from crosspost.platforms.mastodon import MastodonAdapter

    def broken(self, limit=200):  # type: ignore[no-untyped-def]
        raise KeyError(f"no 'id' in the answer to token {HOME_TOKEN}")

    monkeypatch.setattr(MastodonAdapter, "history", broken)
    r = ws.run("audit-exposure", "--persona", "personal", "--format", "json")
    notes = {t["target"]: t["notes"] for t in r.json()["targets"]}
    [note] = notes["home-mastodon"]
    assert note.startswith("posts not read: unexpected KeyError:")
    assert HOME_TOKEN not in r.out and "***" in note
    assert "Traceback" not in r.out + r.err
