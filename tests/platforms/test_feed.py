"""FeedAdapter: a valid Atom file (checked with feedparser), idempotent, capped, never clobbered."""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from crosspost.errors import PermanentError, TransientError
from crosspost.platforms import static_files
from crosspost.platforms.feed import FeedAdapter, entry_id

from .localfiles import feed_ctx, pub, short

START = datetime(2024, 5, 1, 14, 30, tzinfo=UTC)
URL = "https://northlight.example/posts/sleep-and-anxiety/"


def ticking(start: datetime = START) -> Callable[[], datetime]:
    """A clock that moves one minute per call, so entries have distinct, ordered times."""
    state = {"t": start - timedelta(minutes=1)}

    def now() -> datetime:
        state["t"] += timedelta(minutes=1)
        return state["t"]

    return now


def feed_adapter(tmp_path: Path, **kw: object) -> FeedAdapter:
    ctx = feed_ctx(tmp_path / "static" / "feed.xml", **kw)  # type: ignore[arg-type]
    return FeedAdapter(ctx, clock=ticking())


def share(i: int, **changes: object) -> object:
    fields: dict[str, object] = {
        "idempotency_key": f"key-{i}",
        "target": "pro-feed",
        "platform": "feed",
        "title": f"Post {i}",
        "text": f"New on the blog: Post {i} {URL}{i}",
        "canonical_url": f"{URL}{i}",
    }
    return pub(**(fields | changes))


def parse(path: Path) -> feedparser.FeedParserDict:
    d = feedparser.parse(path.read_bytes())
    assert d.bozo == 0, d.get("bozo_exception")
    assert d.version == "atom10"
    return d


def test_first_publish_creates_a_valid_feed(tmp_path: Path) -> None:
    a = feed_adapter(tmp_path)
    p = share(1, tags=("sleep", "anxiety"), categories=("practice", "sleep"))
    result = a.publish(p)  # type: ignore[arg-type]

    d = parse(a.path)
    assert d.feed.title == "Dr. Nora Lindqvist"
    assert d.feed.author_detail.name == "Dr. Nora Lindqvist"
    assert d.feed.link == "https://northlight.example/"
    assert d.feed.id.startswith("urn:uuid:")
    assert d.feed.updated_parsed[:5] == (2024, 5, 1, 14, 30)
    [e] = d.entries
    assert e.id == result.remote_id == entry_id("key-1")
    assert e.title == "Post 1"
    assert e.link == f"{URL}1"
    assert e.published_parsed[:5] == (2024, 5, 1, 14, 30)
    assert e.updated_parsed[:5] == (2024, 5, 1, 14, 30)
    assert [t.term for t in e.tags] == ["sleep", "anxiety", "practice"]
    assert e.summary == "Why sleep matters."
    assert e.content[0].value == f"New on the blog: Post 1 {URL}1"
    assert result.url == f"{URL}1"


def test_entries_are_newest_first_and_feed_updated_moves(tmp_path: Path) -> None:
    a = feed_adapter(tmp_path)
    feed_id = None
    for i in range(1, 4):
        a.publish(share(i))  # type: ignore[arg-type]
        d = parse(a.path)
        feed_id = feed_id or d.feed.id
        assert d.feed.id == feed_id  # kept, not regenerated
    assert [e.title for e in d.entries] == ["Post 3", "Post 2", "Post 1"]
    assert [e.id for e in d.entries] == [entry_id(f"key-{i}") for i in (3, 2, 1)]
    assert d.feed.updated_parsed[:5] == (2024, 5, 1, 14, 32)
    assert d.entries[0].published_parsed > d.entries[1].published_parsed


def test_publish_is_idempotent_and_lookup_finds_the_entry(tmp_path: Path) -> None:
    a = feed_adapter(tmp_path)
    assert a.lookup(share(1)) is None  # type: ignore[arg-type] - no file yet
    first = a.publish(share(1))  # type: ignore[arg-type]
    before = a.path.read_bytes()
    assert a.publish(share(1)) == first  # type: ignore[arg-type]
    assert a.path.read_bytes() == before  # untouched, not even <updated>
    assert a.lookup(share(1)) == first  # type: ignore[arg-type]
    assert a.lookup(share(2)) is None  # type: ignore[arg-type]
    assert len(parse(a.path).entries) == 1


def test_at_most_fifty_entries_are_kept(tmp_path: Path) -> None:
    a = feed_adapter(tmp_path)
    for i in range(1, 56):
        a.publish(share(i))  # type: ignore[arg-type]
    d = parse(a.path)
    assert len(d.entries) == 50
    assert d.entries[0].title == "Post 55"
    assert d.entries[-1].title == "Post 6"
    assert a.lookup(share(5)) is None  # type: ignore[arg-type] - dropped off the end


def test_short_post_gets_first_words_as_title_and_a_file_url(tmp_path: Path) -> None:
    a = feed_adapter(tmp_path)
    text = "Out of office until Monday, back with news about the new evening group then."
    result = a.publish(short(body=text, idempotency_key="s1"))
    [e] = parse(a.path).entries
    assert e.title == "Out of office until Monday, back with news about the new…"
    assert e.guidislink  # feedparser's way of saying "no link of its own"
    assert a.path.read_text("utf-8").count("<link") == 1  # the feed's link to the blog only
    assert e.content[0].value == text
    assert result.url == a.path.resolve().as_uri()


@pytest.mark.parametrize(
    ("title", "text", "expected_title", "expected_text"),
    [
        (
            "<b>\"Q&A\"</b> ]]> 'it's'",
            "a < b && c > d ]]>",
            "<b>\"Q&A\"</b> ]]> 'it's'",
            "a < b && c > d ]]>",
        ),
        ("Emoji 😀 and 中文", "Emoji 😀\nand\ttabs", "Emoji 😀 and 中文", "Emoji 😀\nand\ttabs"),
        ("bell\x07 nul\x00 esc\x1b", "form\x0cfeed\ufffe", "bell nul esc", "formfeed"),
        ("two\nlines", "x", "two lines", "x"),
    ],
)
def test_text_is_escaped(
    tmp_path: Path, title: str, text: str, expected_title: str, expected_text: str
) -> None:
    a = feed_adapter(tmp_path)
    a.publish(
        share(
            1,
            title=title,
            text=text,
            tags=('"quoted" & <tag>',),  # type: ignore[arg-type]
            canonical_url='https://x.example/?a=1&b="2"',
        )
    )
    [e] = parse(a.path).entries
    assert e.title == expected_title
    assert e.content[0].value == expected_text
    assert e.tags[0].term == '"quoted" & <tag>'
    assert e.link == 'https://x.example/?a=1&b="2"'


def test_feed_without_a_blog_has_no_link_and_leaks_nothing(tmp_path: Path) -> None:
    a = feed_adapter(tmp_path, with_blog=False)
    a.publish(share(1))  # type: ignore[arg-type]
    parse(a.path)
    raw = a.path.read_text("utf-8")
    assert raw.count("<link") == 1  # the entry's, none for the feed
    assert "crosspost" not in raw.lower()  # no tool fingerprint shared by both personas' feeds
    assert "-05:00" not in raw  # UTC only: no persona time zone


@pytest.mark.parametrize(
    "content",
    [
        b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>",
        b"not xml at all",
        b"<?xml version='1.0'?><rss version='2.0'><channel/></rss>",
        b"\x00\x01 binary",
    ],
)
def test_corrupt_feed_is_permanent_and_left_alone(tmp_path: Path, content: bytes) -> None:
    a = feed_adapter(tmp_path)
    a.path.parent.mkdir(parents=True)
    a.path.write_bytes(content)
    with pytest.raises(PermanentError) as e:
        a.publish(share(1))  # type: ignore[arg-type]
    assert str(a.path) in e.value.message
    assert "move it away" in (e.value.hint or "")
    assert a.path.read_bytes() == content
    with pytest.raises(PermanentError):
        a.lookup(share(1))  # type: ignore[arg-type]
    with pytest.raises(PermanentError):
        a.verify()


def test_a_hand_written_feed_is_extended_and_keeps_its_extras(tmp_path: Path) -> None:
    a = feed_adapter(tmp_path)
    a.path.parent.mkdir(parents=True)
    a.path.write_text(
        """<?xml version="1.0" encoding="utf-8"?>
<a:feed xmlns:a="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <a:id>tag:northlight.example,2020:feed</a:id>
  <a:title>Hand made</a:title>
  <a:updated>2020-01-01T00:00:00Z</a:updated>
  <a:author><a:name>Nora</a:name></a:author>
  <a:entry>
    <a:id>tag:northlight.example,2020:old</a:id>
    <a:title>Old &amp; good</a:title>
    <a:updated>2020-01-01T00:00:00Z</a:updated>
    <a:content type="text">old</a:content>
    <media:thumbnail url="https://northlight.example/t.jpg"/>
  </a:entry>
</a:feed>
""",
        "utf-8",
    )
    a.publish(share(1))  # type: ignore[arg-type]
    d = parse(a.path)
    assert d.feed.id == "tag:northlight.example,2020:feed"
    assert d.feed.title == "Hand made"
    assert [e.title for e in d.entries] == ["Post 1", "Old & good"]
    assert d.entries[1].media_thumbnail[0]["url"] == "https://northlight.example/t.jpg"
    assert d.feed.updated_parsed[:3] == (2024, 5, 1)


def test_no_temp_files_and_failed_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = feed_adapter(tmp_path)
    a.publish(share(1))  # type: ignore[arg-type]
    before = a.path.read_bytes()

    def full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(static_files.os, "replace", full)
    with pytest.raises(TransientError) as e:
        a.publish(share(2))  # type: ignore[arg-type]
    assert e.value.maybe_sent is False
    assert a.path.read_bytes() == before
    assert sorted(p.name for p in a.path.parent.iterdir()) == ["feed.xml"]


def test_missing_folder_is_created_when_its_parent_exists(tmp_path: Path) -> None:
    a = feed_adapter(tmp_path)
    assert "will be created" in a.verify()
    a.publish(share(1))  # type: ignore[arg-type]
    assert "1 entries" in a.verify()
    deep = FeedAdapter(feed_ctx(tmp_path / "x" / "y" / "feed.xml"))
    with pytest.raises(PermanentError):
        deep.publish(share(1))  # type: ignore[arg-type]
    with pytest.raises(PermanentError):
        deep.verify()


def test_concurrent_publishers_do_not_lose_entries(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            feed_adapter(tmp_path).publish(share(i))  # type: ignore[arg-type]
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    d = parse(tmp_path / "static" / "feed.xml")
    assert sorted(e.id for e in d.entries) == sorted(entry_id(f"key-{i}") for i in range(12))


def test_entry_ids_are_stable_and_distinct() -> None:
    assert entry_id("a") == entry_id("a")
    assert entry_id("a") != entry_id("b")
    assert entry_id("a").startswith("urn:uuid:")


def test_empty_placeholder_file_becomes_a_feed_and_keeps_its_mode(tmp_path: Path) -> None:
    a = feed_adapter(tmp_path)
    a.path.parent.mkdir(parents=True)
    a.path.write_bytes(b"\n")
    a.path.chmod(0o640)
    a.publish(share(1))  # type: ignore[arg-type]
    assert len(parse(a.path).entries) == 1
    assert a.path.stat().st_mode & 0o777 == 0o640
