"""The Bluesky adapter against a local fake PDS (tests/fakes/bluesky.py), which checks every
request it gets; the same scenarios against a real PDS are in test_bluesky_real.py."""

from __future__ import annotations

import logging
import random
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosspost import credentials
from crosspost.errors import PermanentError, TransientError
from crosspost.platforms import make_adapter
from crosspost.platforms.base import AdapterContext, MediaItem, Publication, Result
from crosspost.platforms.bluesky import (
    BlueskyAdapter,
    build_facets,
    prepare_image,
    record_key,
    tid_encode,
)
from crosspost.profiles import Persona, make_account
from tests.fakes.bluesky import TID_RE, FakeBlueskyPDS
from tests.support.publications import make_publication

APP_PASSWORD = "abcd-efgh-ijkl-mnop"
HANDLE = "anabee.bsky.social"
WHEN = datetime(2025, 3, 8, 16, 0, tzinfo=UTC)

# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def pds():
    fake = FakeBlueskyPDS(handle=HANDLE, password=APP_PASSWORD).start()
    yield fake
    fake.stop()
    assert fake.problems == [], "the fake PDS saw invalid requests"


def _ctx(instance: str | None = None) -> AdapterContext:
    account = make_account(name="home-bsky", platform="bluesky", handle=HANDLE, instance=instance)
    persona = Persona(name="personal", display_name="Ana Bee", accounts=[account])
    return AdapterContext(persona=persona, account=account)


@pytest.fixture
def login(isolated):
    credentials.store("personal", "home-bsky", {"app_password": APP_PASSWORD})


def adapter(pds: FakeBlueskyPDS, *, timeout: float = 5.0) -> BlueskyAdapter:
    return BlueskyAdapter(_ctx(), base_url=pds.url, timeout=timeout)


def pub(
    text: str = "New on the blog: Spring hive check https://anabee.example/posts/hives/", **kw
) -> Publication:
    defaults = dict(
        post_id=1,
        persona="personal",
        target="home-bsky",
        platform="bluesky",
        idempotency_key="post-1/home-bsky",
        kind="entry",
        title="Spring hive check",
        body="The bees made it through the winter.",
        summary="The bees made it through the winter.",
        tags=("bees",),
        categories=(),
        slug="hives",
        lang="en",
        scheduled_at=WHEN,
        text=text,
        canonical_url="https://anabee.example/posts/hives/",
    )
    return make_publication(**{**defaults, **kw})


def covered(text: str, facets: list[dict]) -> list[tuple[str, str, str]]:
    """(covered text, feature kind, value) of each facet, decoded from the UTF-8 byte offsets."""
    raw = text.encode("utf-8")
    out = []
    for f in facets:
        i = f["index"]
        feature = f["features"][0]
        kind = feature["$type"].rpartition("#")[2]
        value = feature.get("uri") or feature.get("tag") or feature.get("did")
        out.append((raw[i["byteStart"] : i["byteEnd"]].decode("utf-8"), kind, value))
    return out


# --------------------------------------------------------------------------------------------
# Facets

FRIEND_DID = "did:plc:friendfakeaaaaaaaaaaaaaa"
RESOLVE = {"friend.bsky.social": FRIEND_DID}.get

FACET_CASES = [
    pytest.param(
        "Café ✨ new post: https://anabee.example/posts/hives/",
        [("https://anabee.example/posts/hives/", "link", "https://anabee.example/posts/hives/")],
        id="accent-and-emoji",
    ),
    pytest.param(
        "👩‍👩‍👧 family day https://anabee.example/f #family",
        [
            ("https://anabee.example/f", "link", "https://anabee.example/f"),
            ("#family", "tag", "family"),
        ],
        id="zwj-emoji",
    ),
    pytest.param(
        "新しい記事です https://anabee.example/ja #日本語 #蜂",
        [
            ("https://anabee.example/ja", "link", "https://anabee.example/ja"),
            ("#日本語", "tag", "日本語"),
            ("#蜂", "tag", "蜂"),
        ],
        id="cjk",
    ),
    pytest.param(
        "Cafe\u0301 notes #cafe\u0301 https://anabee.example/c",
        [
            ("#cafe\u0301", "tag", "cafe\u0301"),
            ("https://anabee.example/c", "link", "https://anabee.example/c"),
        ],
        id="combining-marks",
    ),
    pytest.param(
        "one https://a.example/1 two https://b.example/2?x=1&y=ü three",
        [
            ("https://a.example/1", "link", "https://a.example/1"),
            ("https://b.example/2?x=1&y=ü", "link", "https://b.example/2?x=1&y=ü"),
        ],
        id="multiple-links",
    ),
    pytest.param("reading list #books", [("#books", "tag", "books")], id="hashtag-at-end"),
    pytest.param("reading list #books.", [("#books", "tag", "books")], id="hashtag-punctuation"),
    pytest.param(
        "see https://anabee.example/post#section-2 now",
        [
            (
                "https://anabee.example/post#section-2",
                "link",
                "https://anabee.example/post#section-2",
            )
        ],
        id="url-fragment-is-not-a-tag",
    ),
    pytest.param(
        "(see https://anabee.example/a).",
        [("https://anabee.example/a", "link", "https://anabee.example/a")],
        id="link-in-parentheses",
    ),
    pytest.param(
        "find us at anabee.org today",
        [("anabee.org", "link", "https://anabee.org")],
        id="bare-domain",
    ),
    pytest.param("notes on anabee.example", [], id="bare-domain-unknown-tld"),
    pytest.param(
        "thanks @friend.bsky.social! and @nobody.bsky.social",
        [("@friend.bsky.social", "mention", FRIEND_DID)],
        id="mentions-resolved-or-plain",
    ),
    pytest.param("mail ana@anabee.org or @anareyes@psych.social", [], id="emails-are-not-mentions"),
    pytest.param("episode #1 of 3", [], id="numeric-tag"),
    pytest.param(
        "#" + "a" * 64 + " ok", [("#" + "a" * 64, "tag", "a" * 64)], id="tag-64-graphemes"
    ),
    pytest.param("#" + "a" * 65 + " too long", [], id="tag-65-graphemes"),
    pytest.param(
        "#" + "e\u0301" * 64,
        [("#" + "e\u0301" * 64, "tag", "e\u0301" * 64)],
        id="tag-64-with-marks",
    ),
    pytest.param("price $AAPL", [], id="no-cashtags"),
]


@pytest.mark.parametrize(("text", "expected"), FACET_CASES)
def test_facets(text: str, expected: list[tuple[str, str, str]]) -> None:
    facets = build_facets(text, RESOLVE)
    assert covered(text, facets) == expected
    starts = [f["index"]["byteStart"] for f in facets]
    assert starts == sorted(starts)


def test_facet_byte_start_is_utf8_offset() -> None:
    text = "Café ✨ new post: https://anabee.example/posts/hives/"
    facets = build_facets(text)
    assert facets[0]["index"] == {"byteStart": 20, "byteEnd": 20 + 35}
    assert facets[0]["features"][0] == {
        "$type": "app.bsky.richtext.facet#link",
        "uri": "https://anabee.example/posts/hives/",
    }


def test_facets_without_resolver_skip_mentions() -> None:
    assert build_facets("hi @friend.bsky.social") == []


# --------------------------------------------------------------------------------------------
# Record keys


def test_record_key_is_deterministic_tid() -> None:
    a = record_key("post-1/home-bsky", WHEN)
    assert a == record_key("post-1/home-bsky", WHEN)
    assert len(a) == 13 and TID_RE.match(a)


def test_record_key_differs_per_delivery() -> None:
    keys = {record_key(f"post-{i}/home-bsky", WHEN) for i in range(2000)}
    assert len(keys) == 2000
    assert record_key("post-1/home-bsky", WHEN) != record_key(
        "post-1/home-bsky", WHEN + timedelta(hours=1)
    )


def test_record_key_carries_the_scheduled_second() -> None:
    _ALPHA = "234567abcdefghijklmnopqrstuvwxyz"
    key = record_key("post-7/home-bsky", WHEN)
    value = 0
    for ch in key:
        value = value * 32 + _ALPHA.index(ch)
    micros = value >> 10
    assert int(WHEN.timestamp()) * 1_000_000 <= micros < (int(WHEN.timestamp()) + 1) * 1_000_000
    # later posts sort later, as TIDs should
    assert record_key("post-1/x", WHEN) < record_key("post-0/x", WHEN + timedelta(seconds=1))


def test_record_key_needs_aware_time() -> None:
    with pytest.raises(ValueError):
        record_key("k", datetime(2025, 1, 1))
    assert tid_encode(0) == "2222222222222"


# --------------------------------------------------------------------------------------------
# Images


def _noise_png(path: Path, size: int) -> Path:
    from PIL import Image

    rng = random.Random(7)
    img = Image.frombytes(
        "RGB", (size, size), bytes(rng.getrandbits(8) for _ in range(size * size * 3))
    )
    img.save(path, "PNG")
    return path


def test_prepare_image_shrinks_large_images(tmp_path: Path) -> None:
    big = _noise_png(tmp_path / "big.png", 1100)
    assert big.stat().st_size > 1_000_000
    prepared = prepare_image(big)
    assert prepared is not None
    assert len(prepared.data) <= 1_000_000 and prepared.mime == "image/jpeg"
    assert prepared.data[:3] == b"\xff\xd8\xff"


def test_prepare_image_keeps_small_images(tmp_path: Path) -> None:
    small = _noise_png(tmp_path / "small.png", 40)
    prepared = prepare_image(small)
    assert prepared is not None
    assert prepared.data == small.read_bytes()
    assert (prepared.mime, prepared.width, prepared.height) == ("image/png", 40, 40)


def test_prepare_image_gives_up_below_a_tiny_limit(tmp_path: Path) -> None:
    assert prepare_image(_noise_png(tmp_path / "n.png", 300), limit=200) is None


# --------------------------------------------------------------------------------------------
# Publishing


def test_publish_entry_share_with_link_card(
    pds: FakeBlueskyPDS, login: None, tmp_path: Path
) -> None:
    thumb = _noise_png(tmp_path / "hive.png", 1100)  # over 1 MB: re-encoded
    text = "Café ✨ new post: https://anabee.example/posts/hives/ #bees"
    result = adapter(pds).publish(pub(text, media=(MediaItem(thumb, alt="a hive"),)))

    rkey = record_key("post-1/home-bsky", WHEN)
    uri = f"at://{pds.account.did}/app.bsky.feed.post/{rkey}"
    assert result == Result(
        remote_id=uri,
        url=f"https://bsky.app/profile/{pds.account.did}/post/{rkey}",
        # what a reply to it names (threads)
        cid=pds.records[(pds.account.did, rkey)]["cid"],
    )
    [post] = pds.posts()
    assert post["text"] == text
    assert post["langs"] == ["en"]
    assert post["createdAt"].endswith("Z")
    assert covered(text, post["facets"]) == [
        ("https://anabee.example/posts/hives/", "link", "https://anabee.example/posts/hives/"),
        ("#bees", "tag", "bees"),
    ]
    assert post["facets"][0]["index"]["byteStart"] == 20
    external = post["embed"]["external"]
    assert post["embed"]["$type"] == "app.bsky.embed.external"
    assert external["uri"] == "https://anabee.example/posts/hives/"
    assert external["title"] == "Spring hive check"
    assert external["description"] == "The bees made it through the winter."
    assert external["thumb"]["mimeType"] == "image/jpeg"
    assert external["thumb"]["size"] <= 1_000_000


def test_link_card_without_usable_thumb_still_posts(
    pds: FakeBlueskyPDS, login: None, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    adapter(pds).publish(pub(media=(MediaItem(broken, alt=""),), summary=None))
    [post] = pds.posts()
    assert "thumb" not in post["embed"]["external"]
    assert post["embed"]["external"]["description"] == ""
    assert pds.calls["com.atproto.repo.uploadBlob"] == 0


def test_link_card_skips_thumb_that_cannot_be_made_small(
    pds: FakeBlueskyPDS, login: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crosspost.platforms import bluesky

    monkeypatch.setattr(bluesky, "MAX_BLOB_BYTES", 200)
    adapter(pds).publish(pub(media=(MediaItem(_noise_png(tmp_path / "n.png", 300)),)))
    assert "thumb" not in pds.posts()[0]["embed"]["external"]


def test_short_post_with_images(pds: FakeBlueskyPDS, login: None, tmp_path: Path) -> None:
    media = tuple(
        MediaItem(_noise_png(tmp_path / f"{i}.png", 30 + i), alt=f"frame {i}") for i in range(5)
    )
    p = pub(
        "Frames from the hive 🐝",
        canonical_url=None,
        kind="short",
        title=None,
        media=media,
        lang=None,
    )
    adapter(pds).publish(p)
    [post] = pds.posts()
    assert "langs" not in post and "facets" not in post
    images = post["embed"]["images"]
    assert post["embed"]["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in images] == ["frame 0", "frame 1", "frame 2", "frame 3"]
    assert (images[1]["aspectRatio"]["width"], images[1]["aspectRatio"]["height"]) == (31, 31)


def test_unreadable_image_is_permanent(pds: FakeBlueskyPDS, login: None, tmp_path: Path) -> None:
    p = pub("x", canonical_url=None, media=(MediaItem(tmp_path / "gone.png", alt="x"),))
    with pytest.raises(PermanentError, match=r"gone\.png"):
        adapter(pds).publish(p)
    assert pds.records == {}


def test_mentions_resolve_through_the_pds(pds: FakeBlueskyPDS, login: None) -> None:
    text = "with @friend.bsky.social and @stranger.bsky.social https://anabee.example/posts/hives/"
    adapter(pds).publish(pub(text))
    assert covered(text, pds.posts()[0]["facets"]) == [
        ("@friend.bsky.social", "mention", FRIEND_DID),
        ("https://anabee.example/posts/hives/", "link", "https://anabee.example/posts/hives/"),
    ]
    assert pds.calls["com.atproto.identity.resolveHandle"] == 2


def test_registry_builds_the_adapter_from_the_account(pds: FakeBlueskyPDS, login: None) -> None:
    made = make_adapter(_ctx(instance=pds.url))
    assert isinstance(made, BlueskyAdapter)
    assert made.verify() == f"Bluesky account @{HANDLE} ({pds.account.did})"


# --------------------------------------------------------------------------------------------
# Exactly once


def test_republishing_the_same_delivery_keeps_one_post(pds: FakeBlueskyPDS, login: None) -> None:
    first = adapter(pds).publish(pub())
    second = adapter(pds).publish(pub())  # the PDS answers 500 for the taken key
    assert first == second
    assert len(pds.records) == 1
    assert pds.calls["com.atproto.repo.createRecord"] == 2
    assert pds.calls["com.atproto.repo.getRecord"] == 1


def test_accept_then_timeout_is_resolved_by_reading_back(pds: FakeBlueskyPDS, login: None) -> None:
    pds.hang("com.atproto.repo.createRecord", after=True)
    result = adapter(pds, timeout=0.5).publish(pub())
    assert len(pds.records) == 1
    assert result.remote_id == next(iter(pds.records.values()))["uri"]
    assert pds.calls["com.atproto.repo.createRecord"] == 1


def test_retry_after_accept_then_timeout_creates_one_post(pds: FakeBlueskyPDS, login: None) -> None:
    pds.hang("com.atproto.repo.createRecord", after=True)
    pds.hang("com.atproto.repo.getRecord", after=True)
    a = adapter(pds, timeout=0.5)
    with pytest.raises(TransientError) as exc:
        a.publish(pub())
    assert exc.value.maybe_sent is True

    # what the publisher does next: ask, then (if it must) publish again
    found = adapter(pds).lookup(pub())
    assert found is not None
    again = adapter(pds).publish(pub())
    assert again == found
    assert len(pds.records) == 1


def test_timeout_before_the_server_acted(pds: FakeBlueskyPDS, login: None) -> None:
    pds.hang("com.atproto.repo.createRecord", after=False)
    with pytest.raises(TransientError) as exc:
        adapter(pds, timeout=0.5).publish(pub())
    assert exc.value.maybe_sent is True  # the server may still be working on it
    assert pds.records == {}
    assert adapter(pds).publish(pub()).remote_id.startswith("at://")
    assert len(pds.records) == 1


def test_taken_key_with_other_text_is_not_ours(pds: FakeBlueskyPDS, login: None) -> None:
    adapter(pds).publish(pub("first text"))
    with pytest.raises(PermanentError, match="different post"):
        adapter(pds).publish(pub("edited text"))
    assert [p["text"] for p in pds.posts()] == ["first text"]


def test_lookup(pds: FakeBlueskyPDS, login: None) -> None:
    assert adapter(pds).lookup(pub()) is None
    published = adapter(pds).publish(pub())
    assert adapter(pds).lookup(pub()) == published
    assert adapter(pds).lookup(pub(idempotency_key="post-2/home-bsky")) is None


# --------------------------------------------------------------------------------------------
# Sessions


def _stored_session() -> str | None:
    return credentials.get_secret("crosspost/personal/home-bsky", "session")


def test_session_is_reused(pds: FakeBlueskyPDS, login: None) -> None:
    adapter(pds).publish(pub())
    stored = _stored_session()
    assert stored and HANDLE in stored
    adapter(pds).publish(pub(idempotency_key="post-2/home-bsky"))
    adapter(pds).verify()
    assert pds.calls["com.atproto.server.createSession"] == 1
    assert pds.calls["app.bsky.actor.getProfile"] == 0  # no profile lookups needed


def test_session_is_refreshed_and_kept() -> None:
    with FakeBlueskyPDS(handle=HANDLE, password=APP_PASSWORD, access_ttl=60) as pds:
        credentials.store("personal", "home-bsky", {"app_password": APP_PASSWORD})
        adapter(pds).verify()
        first = _stored_session()
        adapter(pds).publish(pub())  # the access token is within 15 min of expiry: refresh
        assert pds.calls["com.atproto.server.refreshSession"] >= 1
        assert pds.calls["com.atproto.server.createSession"] == 1
        assert _stored_session() != first
        assert pds.problems == []


def test_expired_session_falls_back_to_one_login(pds: FakeBlueskyPDS, login: None) -> None:
    adapter(pds).verify()
    pds.revoke_sessions()
    adapter(pds).publish(pub())
    assert pds.calls["com.atproto.server.createSession"] == 2
    assert len(pds.records) == 1


def test_corrupt_stored_session_logs_in_again(pds: FakeBlueskyPDS, login: None) -> None:
    credentials.set_secret("crosspost/personal/home-bsky", "session", "garbage")
    assert "did:plc" in adapter(pds).verify()
    assert pds.calls["com.atproto.server.createSession"] == 1


def test_session_of_another_handle_is_not_used(pds: FakeBlueskyPDS, login: None) -> None:
    BlueskyAdapter(_ctx(), base_url=pds.url).verify()
    stored = _stored_session()
    assert stored is not None
    other = stored.replace(HANDLE, "someone-else.bsky.social")
    credentials.set_secret("crosspost/personal/home-bsky", "session", other)
    adapter(pds).verify()
    assert pds.calls["com.atproto.server.createSession"] == 2
    assert _stored_session() != other


def test_login_flow(pds: FakeBlueskyPDS, isolated) -> None:
    said: list[str] = []
    asked: list[tuple[str, bool]] = []

    def ask(prompt: str, secret: bool) -> str:
        asked.append((prompt, secret))
        return APP_PASSWORD + "\n"

    values = BlueskyAdapter.login_flow(_ctx(), ask, said.append, base_url=pds.url)
    assert values["app_password"] == APP_PASSWORD
    assert HANDLE in values["session"]
    assert asked == [("Bluesky app password", True)]
    assert any("App passwords" in line for line in said)
    assert isolated.items == {}  # storing is the caller's job
    credentials.store("personal", "home-bsky", values)
    adapter(pds).verify()
    assert pds.calls["com.atproto.server.createSession"] == 1


def test_login_flow_rejects_wrong_password(pds: FakeBlueskyPDS, isolated) -> None:
    with pytest.raises(PermanentError, match="Invalid identifier or password") as exc:
        BlueskyAdapter.login_flow(
            _ctx(), lambda p, s: "wrong-pass-word-xxxx", print, base_url=pds.url
        )
    assert "wrong-pass-word-xxxx" not in str(exc.value)


# --------------------------------------------------------------------------------------------
# Errors


def test_missing_credentials(pds: FakeBlueskyPDS) -> None:
    with pytest.raises(PermanentError) as exc:
        adapter(pds).publish(pub())
    assert exc.value.hint == "run 'crosspost accounts login home-bsky'"


def test_wrong_app_password(pds: FakeBlueskyPDS) -> None:
    credentials.store("personal", "home-bsky", {"app_password": "zzzz-zzzz-zzzz-zzzz"})
    with pytest.raises(PermanentError) as exc:
        adapter(pds).verify()
    assert "Invalid identifier or password" in str(exc.value)
    assert "crosspost accounts login home-bsky" in (exc.value.hint or "")


def test_rate_limited(pds: FakeBlueskyPDS, login: None) -> None:
    reset = int(time.time()) + 120
    pds.fail(
        "com.atproto.repo.createRecord",
        429,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
        headers={
            "ratelimit-limit": "5000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(reset),
        },
    )
    with pytest.raises(TransientError) as exc:
        adapter(pds).publish(pub())
    assert exc.value.maybe_sent is False
    assert exc.value.retry_after is not None and 100 < exc.value.retry_after <= 121
    assert pds.calls["com.atproto.repo.getRecord"] == 0


def test_login_rate_limited(pds: FakeBlueskyPDS, login: None) -> None:
    pds.fail(
        "com.atproto.server.createSession",
        429,
        headers={"ratelimit-reset": str(int(time.time()) + 300)},
    )
    with pytest.raises(TransientError) as exc:
        adapter(pds).verify()
    assert exc.value.retry_after is not None and exc.value.retry_after > 250


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient_and_checked(
    pds: FakeBlueskyPDS, login: None, status: int
) -> None:
    pds.fail("com.atproto.repo.createRecord", status)
    with pytest.raises(TransientError) as exc:
        adapter(pds).publish(pub())
    assert exc.value.maybe_sent is True
    assert pds.calls["com.atproto.repo.getRecord"] == 1
    assert pds.records == {}


def test_conflict_is_checked(pds: FakeBlueskyPDS, login: None) -> None:
    adapter(pds).publish(pub())
    pds.fail("com.atproto.repo.createRecord", 409)
    assert adapter(pds).publish(pub()).remote_id.startswith("at://")


def test_unauthorized_twice_is_permanent(pds: FakeBlueskyPDS, login: None) -> None:
    pds.fail("com.atproto.repo.createRecord", 401, times=2)
    with pytest.raises(PermanentError) as exc:
        adapter(pds).publish(pub())
    assert exc.value.hint == "run 'crosspost accounts login home-bsky'"
    assert pds.calls["com.atproto.server.createSession"] == 2  # one fallback login


def test_forbidden_is_permanent(pds: FakeBlueskyPDS, login: None) -> None:
    pds.fail("com.atproto.repo.createRecord", 403, "AccountTakedown", "Account has been taken down")
    with pytest.raises(PermanentError, match="taken down"):
        adapter(pds).publish(pub())


def test_text_too_long_is_permanent_with_server_message(pds: FakeBlueskyPDS, login: None) -> None:
    with pytest.raises(PermanentError, match=r"grapheme too big \(maximum 300, got 301\)"):
        adapter(pds).publish(pub("🐝" * 301, canonical_url=None))
    assert pds.calls["com.atproto.repo.getRecord"] == 0


def test_payload_too_large_is_permanent(pds: FakeBlueskyPDS, login: None) -> None:
    pds.fail("com.atproto.repo.createRecord", 413)
    with pytest.raises(PermanentError):
        adapter(pds).publish(pub())


def test_upload_failure_is_transient_and_not_sent(
    pds: FakeBlueskyPDS, login: None, tmp_path: Path
) -> None:
    pds.fail("com.atproto.repo.uploadBlob", 500)
    with pytest.raises(TransientError) as exc:
        adapter(pds).publish(pub(media=(MediaItem(_noise_png(tmp_path / "a.png", 20)),)))
    assert exc.value.maybe_sent is False
    assert pds.calls["com.atproto.repo.createRecord"] == 0


def test_handle_resolution_failure_is_transient(pds: FakeBlueskyPDS, login: None) -> None:
    pds.fail("com.atproto.identity.resolveHandle", 502)
    with pytest.raises(TransientError) as exc:
        adapter(pds).publish(pub("hi @friend.bsky.social"))
    assert exc.value.maybe_sent is False


def test_unreachable_server_is_transient_and_not_sent(pds: FakeBlueskyPDS, login: None) -> None:
    a = adapter(pds)
    a.verify()
    pds.stop()
    with pytest.raises(TransientError) as exc:
        a.publish(pub())
    assert exc.value.maybe_sent is False
    assert "could not reach" in str(exc.value)


def test_no_secrets_in_errors_or_logs(
    pds: FakeBlueskyPDS, login: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []

    def attempt(fn) -> None:  # type: ignore[no-untyped-def]
        try:
            fn()
        except (TransientError, PermanentError) as e:
            errors.append(e)

    adapter(pds).publish(pub())
    pds.fail("com.atproto.repo.createRecord", 401, times=2)
    attempt(lambda: adapter(pds).publish(pub(idempotency_key="k2")))
    pds.fail("com.atproto.repo.createRecord", 500)
    attempt(lambda: adapter(pds).publish(pub(idempotency_key="k3")))
    pds.hang("com.atproto.repo.createRecord", after=False)
    pds.hang("com.atproto.repo.getRecord", after=False)
    attempt(lambda: adapter(pds, timeout=0.3).publish(pub(idempotency_key="k4")))
    pds.revoke_sessions()
    credentials.store("personal", "home-bsky", {"app_password": "wxyz-wxyz-wxyz-wxyz"})
    attempt(lambda: adapter(pds).verify())
    assert len(errors) == 4

    secrets = [APP_PASSWORD, "wxyz-wxyz-wxyz-wxyz", *pds.issued]
    assert len(pds.issued) >= 4
    texts = [caplog.text]
    for e in errors:
        texts += [str(e), repr(e), "".join(traceback.format_exception(e))]
    for text in texts:
        for secret in secrets:
            assert secret not in text
