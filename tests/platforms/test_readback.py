"""Reading back what a target published (``history``) and its profile (``profile``), per
platform, against the local fakes and folders: what the exposure audit checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosspost import credentials
from crosspost.errors import PermanentError
from crosspost.platforms.base import MediaItem, ReadUnsupported
from crosspost.platforms.bluesky import BlueskyAdapter
from crosspost.platforms.feed import FeedAdapter
from crosspost.platforms.static import StaticSiteAdapter
from crosspost.platforms.x import XAdapter
from tests.fakes.bluesky import FakeBlueskyPDS
from tests.fakes.wordpress import FakeWordPress
from tests.fakes.x import FakeX

from .localfiles import blog, feed_ctx, pub, short, static_ctx
from .test_bluesky import APP_PASSWORD as BSKY_PASSWORD
from .test_bluesky import _ctx as bsky_ctx
from .test_bluesky import pub as bsky_pub
from .test_wordpress import PASSWORD
from .test_wordpress import make as make_wordpress
from .test_wordpress import pub as wordpress_pub
from .test_x import AT, ATS, CK, CS
from .test_x import _ctx as x_ctx

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


# -- X ------------------------------------------------------------------------------------------


@pytest.fixture
def fake_x(isolated):  # type: ignore[no-untyped-def]
    credentials.store(
        "professional",
        "pro-x",
        {"consumer_key": CK, "consumer_secret": CS, "access_token": AT, "access_token_secret": ATS},
    )
    f = FakeX(consumer_key=CK, consumer_secret=CS, access_token=AT, access_token_secret=ATS)
    f.start()
    yield f
    f.stop()
    assert f.problems == [], "the fake X saw invalid requests"


def x_adapter(fake: FakeX) -> XAdapter:
    return XAdapter(x_ctx(), base_url=fake.url, timeout=5.0, connect_timeout=1.0)


def test_x_history_reads_posts_with_links_expanded(fake_x: FakeX) -> None:
    old = fake_x.add_tweet(
        "Weekend at Bee Hollow Apiary https://anabee.example/hives/",
        created_at=datetime.now(UTC) - timedelta(days=400),
    )
    new = fake_x.add_tweet("Sleep & anxiety, a thread")  # X serves it escaped
    items = x_adapter(fake_x).history()
    assert [i.remote_id for i in items] == [new["id"], old["id"]]
    assert items[0].text == "Sleep & anxiety, a thread"
    assert "https://anabee.example/hives/" in items[1].text  # not only the t.co link
    assert items[1].url == f"https://x.com/DrAnaReyes/status/{old['id']}"
    assert items[1].published_at is not None


def test_x_history_pages_up_to_the_limit(fake_x: FakeX) -> None:
    for n in range(12):
        fake_x.add_tweet(f"Post number {n} about sleep and habits")
    assert len(x_adapter(fake_x).history(limit=7)) == 7
    assert len(x_adapter(fake_x).history(limit=200)) == 12


def test_x_history_refused_by_the_api_tier_is_unsupported(fake_x: FakeX) -> None:
    fake_x.fail(
        "GET /2/users/:id/tweets",
        403,
        "When authenticating requests to the Twitter API v2 endpoints, you must use keys and "
        "tokens from a Twitter developer App that is attached to a Project.",
    )
    with pytest.raises(ReadUnsupported, match="paid API tier"):
        x_adapter(fake_x).history()


def test_x_profile(fake_x: FakeX) -> None:
    fake_x.user.description = "Psychologist in Portland."
    fake_x.user.location = "Portland, OR"
    fake_x.user.url = "https://harborpsych.example"
    profile = x_adapter(fake_x).profile()
    assert profile.url == "https://x.com/DrAnaReyes"
    fields = dict(profile.fields)
    assert fields["display name"] == "Dr. Ana Reyes"
    assert fields["bio"] == "Psychologist in Portland."
    assert fields["location"] == "Portland, OR"
    assert "https://harborpsych.example" in fields["website"]


def test_x_history_without_credentials_names_the_login(isolated) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(credentials.MissingCredentials) as e:
        XAdapter(x_ctx(), base_url="http://127.0.0.1:9").history()
    assert "crosspost accounts login pro-x" in (e.value.hint or "")


# -- WordPress ----------------------------------------------------------------------------------


@pytest.fixture
def wp(isolated):  # type: ignore[no-untyped-def]
    isolated.set_password("crosspost/professional/blog", "app_password", PASSWORD)
    fake = FakeWordPress(app_password=PASSWORD)
    with fake:
        yield fake
    fake.db.close()


def test_wordpress_history_is_what_readers_see(wp: FakeWordPress, tmp_path: Path) -> None:
    img = tmp_path / "lake.png"
    img.write_bytes(PNG)
    adapter = make_wordpress(wp.url)
    first = adapter.publish(wordpress_pub(idempotency_key="a" * 32, slug="first"))
    second = adapter.publish(
        wordpress_pub(
            idempotency_key="b" * 32,
            slug="second",
            title="Q&A: sleep",
            body="See [the clinic](https://harborpsych.example/contact/).",
            media=(MediaItem(img, "A calm lake"),),
        )
    )
    items = adapter.history()
    assert [i.url for i in items] == [second.url, first.url]
    assert items[0].title == "Q&A: sleep"
    assert "the clinic (https://harborpsych.example/contact/)" in items[0].text
    assert "A calm lake" in items[0].alts
    assert "<" not in items[1].text  # HTML read as text
    assert len(adapter.history(limit=1)) == 1


def test_wordpress_history_pages(wp: FakeWordPress) -> None:
    adapter = make_wordpress(wp.url)
    for n in range(5):
        adapter.publish(wordpress_pub(idempotency_key=f"{n:032d}", slug=f"post-{n}"))
    assert len(adapter.history(limit=3)) == 3
    assert len(adapter.history()) == 5


def test_wordpress_profile_is_the_site_and_the_author(wp: FakeWordPress) -> None:
    wp.site_title = "Harbor Psychology"
    wp.tagline = "Sleep &amp; anxiety care"
    wp.bio = "Ana also keeps bees."
    wp.website = "https://anabee.example"
    profile = make_wordpress(wp.url).profile()
    assert profile.url == wp.url
    assert dict(profile.fields) == {
        "site title": "Harbor Psychology",
        "site tagline": "Sleep & anxiety care",
        "author name": "Site Admin",
        "author bio": "Ana also keeps bees.",
        "author website": "https://anabee.example",
    }


# -- static site and feed -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["hugo", "jekyll", "pelican"])
def test_static_history_reads_every_entry_file(tmp_path: Path, fmt: str) -> None:
    img = tmp_path / "hive.png"
    img.write_bytes(PNG)
    (tmp_path / "site").mkdir()
    adapter = StaticSiteAdapter(static_ctx(blog(tmp_path / "site" / "posts", fmt)))
    older = pub(scheduled_at=datetime(2026, 1, 5, 15, 0, tzinfo=UTC), idempotency_key="k1")
    newer = pub(
        scheduled_at=datetime(2026, 2, 5, 15, 0, tzinfo=UTC),
        idempotency_key="k2",
        slug="bees",
        title="Bees",
        body="The hives are calm.",
        media=(MediaItem(img, "a frame of brood"),),
    )
    adapter.publish(older)
    written = adapter.publish(newer)
    # a file written by hand counts too
    by_hand = tmp_path / "site" / "posts" / "by-hand.md"
    by_hand.write_text("Just a note without front matter.\n", encoding="utf-8")
    items = adapter.history()
    assert len(items) == 3
    bees = next(i for i in items if i.title == "Bees")
    assert bees.remote_id == written.remote_id
    assert "The hives are calm." in bees.text
    assert "+++" not in bees.text and "Title:" not in bees.text
    assert bees.alts == ("a frame of brood",)
    assert bees.url is not None and bees.url.startswith("file://")
    dated = [i for i in items if i.title in ("Bees", "Sleep and anxiety")]
    assert [i.title for i in dated] == ["Bees", "Sleep and anxiety"]  # newest first
    assert adapter.profile() is None


def test_static_history_of_a_missing_folder_says_so(tmp_path: Path) -> None:
    adapter = StaticSiteAdapter(static_ctx(blog(tmp_path / "nope" / "posts")))
    with pytest.raises(PermanentError, match="does not exist"):
        adapter.history()


def test_feed_history_and_profile(tmp_path: Path) -> None:
    adapter = FeedAdapter(feed_ctx(tmp_path / "site" / "feed.xml"))
    assert adapter.history() == [] and adapter.profile() is None
    adapter.publish(short(body="Out of office until Monday, back with news about groups."))
    adapter.publish(
        short(idempotency_key="second", body="Group therapy starts in May, sign up now")
    )
    items = adapter.history()
    assert [i.text for i in items] == [
        "Group therapy starts in May, sign up now",
        "Out of office until Monday, back with news about groups.",
    ]
    assert all(i.published_at is not None for i in items)
    profile = adapter.profile()
    assert profile is not None
    assert dict(profile.fields)["feed author"] == "Dr. Nora Lindqvist"


# -- Bluesky ------------------------------------------------------------------------------------


@pytest.fixture
def pds(isolated):  # type: ignore[no-untyped-def]
    credentials.store("personal", "home-bsky", {"app_password": BSKY_PASSWORD})
    with FakeBlueskyPDS(password=BSKY_PASSWORD) as fake:
        yield fake
    assert fake.problems == [], "the fake PDS saw invalid requests"


def test_bluesky_history_pages_through_the_repository(pds: FakeBlueskyPDS) -> None:
    uris = [pds.add_post(f"Hive note {n}: calm colony, queen laying") for n in range(105)]
    adapter = BlueskyAdapter(bsky_ctx(), base_url=pds.url, timeout=5.0)
    items = adapter.history(limit=103)
    assert len(items) == 103
    assert items[0].remote_id == uris[-1]  # newest first
    assert len(adapter.history()) == 105


def test_bluesky_history_keeps_links_cards_and_alt_texts(
    pds: FakeBlueskyPDS, tmp_path: Path
) -> None:
    from PIL import Image

    img = tmp_path / "hive.png"
    Image.new("RGB", (40, 30), (240, 180, 20)).save(img, "PNG")
    adapter = BlueskyAdapter(bsky_ctx(), base_url=pds.url, timeout=5.0)
    adapter.publish(
        bsky_pub(
            "New post: anabee.example/posts/hives",
            canonical_url="https://anabee.example/posts/hives/",
            media=(MediaItem(img, alt="a frame of brood"),),
        )
    )
    [item] = adapter.history()
    assert "https://anabee.example/posts/hives" in item.text  # the facet's full link
    assert "Spring hive check" in item.text  # the link card's title
    assert item.url is not None and item.url.startswith("https://bsky.app/profile/did:plc:")


def test_bluesky_profile_without_a_record_is_the_handle(pds: FakeBlueskyPDS) -> None:
    adapter = BlueskyAdapter(bsky_ctx(), base_url=pds.url, timeout=5.0)
    assert adapter.profile().fields == (("handle", "anabee.bsky.social"),)
    pds.set_profile(displayName="Ana Bee", description="Bees, mostly.", pronouns="she/her")
    assert dict(adapter.profile().fields) == {
        "handle": "anabee.bsky.social",
        "display name": "Ana Bee",
        "bio": "Bees, mostly.",
        "pronouns": "she/her",
    }


# -- Threads ------------------------------------------------------------------------------------


def test_threads_history_and_profile(isolated) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes.threads import FakeThreads

    from .test_threads import TOKEN, _store
    from .test_threads import adapter as threads_adapter

    fake = FakeThreads(access_token=TOKEN)
    fake.start()
    try:
        _store(fake)
        posts = [fake.add_post(f"Note {n} about sleep and small habits") for n in range(130)]
        fake.biography = "Psychologist. Bees on weekends."
        adapter = threads_adapter(fake)
        items = adapter.history(limit=120)
        assert len(items) == 120  # two pages
        assert items[0].url == posts[-1]["permalink"] and items[0].published_at is not None
        assert len(adapter.history()) == 130
        profile = adapter.profile()
        assert profile.url == f"https://www.threads.net/@{fake.username}"
        assert dict(profile.fields)["bio"] == "Psychologist. Bees on weekends."
    finally:
        fake.stop()
    assert fake.problems == []


# -- Micropub -----------------------------------------------------------------------------------


@pytest.mark.parametrize("listing", [True, False])
def test_micropub_history_needs_a_server_that_lists_posts(isolated, listing: bool) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes.micropub import FakeMicropub

    from .test_micropub import TOKEN
    from .test_micropub import make as make_micropub
    from .test_micropub import pub as micropub_pub

    isolated.set_password("crosspost/personal/blog", "token", TOKEN)
    with FakeMicropub(token=TOKEN, post_list=listing) as mp:
        adapter = make_micropub(mp.url)
        result = adapter.publish(micropub_pub())
        assert adapter.profile() is None
        if not listing:
            with pytest.raises(ReadUnsupported, match="cannot list posts"):
                adapter.history()
            return
        [item] = adapter.history()
        assert item.url == result.url
        assert item.title == "Spring at the hives"
        assert "busy" in item.text
