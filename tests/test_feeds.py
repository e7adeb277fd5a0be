"""Feeds in: a persona's blog feed on a real local HTTP server, changing between reads.

Every read goes through ``crosspost feeds check`` (a new App and Store each time, as a new
process would have), so "not shared twice" also means "not shared twice after a restart".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from tests.fakes.blogfeed import BlogFeed, BlogItem, rss
from tests.fakes.receivers import FakeWebhook

NOW = datetime.now(UTC)


def later(minutes: int = 1) -> datetime:
    """A publication time after the feed's first read (the default ``since``)."""
    return datetime.now(UTC) + timedelta(minutes=minutes)


def item(n: int, *, when: datetime | None = None, **kw: object) -> BlogItem:
    base: dict[str, object] = dict(
        title=f"Hive notes {n}",
        link=f"https://anabee.example/posts/hive-notes-{n}/",
        guid=f"https://anabee.example/?p={n}",
        published=when or later(),
        summary=f"<p>What the bees did in week {n}.</p>",
    )
    base.update(kw)
    return BlogItem(**base)  # type: ignore[arg-type]


def add_feed(ws, url: str, **keys: str) -> None:
    lines = ["", "[[feeds]]", f"url = {url!r}"]
    lines += [f"{k} = {v}" for k, v in keys.items()]
    path = ws.profiles / "personal.toml"
    path.write_text(path.read_text() + "\n".join(lines) + "\n")


def posts(ws) -> list:  # type: ignore[type-arg]
    from crosspost.models import Post

    with ws.app().store.read() as s:
        return list(s.exec(select(Post).order_by(Post.id)))


def shared(ws) -> list[str]:
    """The texts the persona's feed account (an Atom file) has published."""
    import feedparser

    path = ws.root / "site-home" / "feed.xml"
    if not path.exists():
        return []
    return [e.content[0].value for e in feedparser.parse(path.read_bytes()).entries]


def deliveries(ws, post_id: int) -> list:  # type: ignore[type-arg]
    return ws.app().store.get(post_id)[1]


@pytest.fixture
def blog():
    with BlogFeed() as server:
        yield server


@pytest.fixture
def fed(ws, blog):
    """The personal persona reads the blog's feed, sharing to its feed account only; the
    feed has been read once (no items yet), as after adding it to the profile."""
    add_feed(ws, blog.feed_url, accounts='["home-feed"]')
    r = ws.run("feeds", "check")
    assert r.code == 0, r.err
    return blog


def test_a_new_item_queues_one_share_with_its_link(ws, fed):
    fed.publish(item(1, tags=["bees"]))
    r = ws.run("feeds", "check")
    assert r.code == 0, r.err
    assert "queued post 1" in r.out
    (post,) = posts(ws)
    assert post.persona == "personal" and post.kind == "short" and post.status == "queued"
    assert post.body == "Hive notes 1 https://anabee.example/posts/hive-notes-1/"
    assert post.scheduled_at <= datetime.now(UTC)
    assert [d.target for d in deliveries(ws, 1)] == ["home-feed"]
    assert "from feed" in (post.note or "")


def test_the_same_item_edited_or_with_a_new_guid_or_link_is_not_shared_again(ws, fed):
    fed.publish(item(1))
    assert ws.run("feeds", "check").code == 0
    assert len(posts(ws)) == 1
    first = fed.items[0]
    variants = [
        item(1),  # the same again
        item(1, title="Hive notes 1 (updated)", summary="<p>Edited.</p>"),
        item(1, guid="tag:anabee.example,2026:hive-1"),  # the blog changed its GUIDs
        # then its permalinks (same new GUID): known by the GUID seen with the old link
        item(
            1,
            guid="tag:anabee.example,2026:hive-1",
            link="http://www.anabee.example/posts/hive-notes-1?utm_source=rss",
        ),
        item(
            1,
            guid="tag:anabee.example,2026:hive-1",
            link="https://anabee.example/2026/hive-notes-1/",
        ),
    ]
    for v in variants:
        fed.items = [v]
        r = ws.run("feeds", "check")
        assert r.code == 0, r.err
        assert "queued" not in r.out, (v, r.out)
    assert len(posts(ws)) == 1
    assert first.link in posts(ws)[0].body


def test_an_unchanged_feed_is_asked_with_its_etag_and_costs_a_304(ws, fed):
    fed.publish(item(1))
    assert ws.run("feeds", "check").code == 0
    etag = fed.seen("/feed.xml")[-1]
    r = ws.run("feeds", "check", "--format", "json")
    assert r.code == 0, r.err
    assert r.json()[0]["status"] == "not modified"
    last = fed.seen("/feed.xml")[-1]
    assert last is not etag
    assert (last.header("If-None-Match") or "").startswith('"')
    assert last.header("If-Modified-Since")
    assert len(posts(ws)) == 1
    fed.publish(item(2))  # a new ETag: read in full again
    r = ws.run("feeds", "check", "--format", "json")
    assert r.json()[0]["status"] == "checked" and r.json()[0]["queued"] == [2]


def test_malformed_xml_is_a_readable_warning_and_changes_nothing(ws, fed):
    from crosspost.models import FeedState

    fed.publish(item(1))
    assert ws.run("feeds", "check").code == 0
    with ws.app().store.read() as s:
        before = s.exec(select(FeedState)).one()
    fed.items.insert(0, item(2))  # a new item inside the broken document is not shared
    fed.raw = rss(fed.items).encode().replace(b"</title>", b"", 1)
    r = ws.run("feeds", "check")
    assert r.code == 1
    assert "Traceback" not in r.err + r.out
    assert "not well-formed XML" in r.out and fed.feed_url in r.out
    assert "nothing was shared" in r.out
    assert len(posts(ws)) == 1
    with ws.app().store.read() as s:
        after = s.exec(select(FeedState)).one()
    assert (after.etag, after.last_modified) == (before.etag, before.last_modified)
    assert after.last_error and "not well-formed" in after.last_error
    listed = ws.run("feeds", "list")
    assert "last check failed" in listed.out
    fed.raw = None  # fixed: the new item is shared now
    r = ws.run("feeds", "check")
    assert r.code == 0 and "queued post 2" in r.out, r.out


def test_a_page_that_is_no_feed_is_refused_readably(ws, fed):
    fed.raw = b"<html><body><p>Welcome to my blog</p></body></html>"
    r = ws.run("feeds", "check")
    assert r.code == 1 and "Traceback" not in r.err
    assert "feed" in r.out and posts(ws) == []


def test_the_first_read_does_not_share_the_backlog(ws, blog):
    for n in range(1, 6):
        blog.publish(item(n, when=NOW - timedelta(days=10 - n)))
    add_feed(ws, blog.feed_url, accounts='["home-feed"]')
    r = ws.run("feeds", "check", "--format", "json")
    assert r.code == 0, r.err
    (result,) = r.json()
    assert result["queued"] == [] and result["old"] == 5
    assert posts(ws) == []
    blog.publish(item(6))
    r = ws.run("feeds", "check", "--format", "json")
    assert r.json()[0]["queued"] == [1] and r.json()[0]["known"] == 5
    assert "hive-notes-6" in posts(ws)[0].body


def test_since_shares_what_came_after_it_on_the_first_read(ws, blog):
    blog.publish(item(1, when=datetime(2026, 10, 1, 9, tzinfo=UTC)))
    blog.publish(item(2, when=datetime(2026, 11, 20, 9, tzinfo=UTC)))
    add_feed(ws, blog.feed_url, accounts='["home-feed"]', since="2026-11-01")
    r = ws.run("feeds", "check", "--format", "json")
    assert r.json()[0]["queued"] == [1] and r.json()[0]["old"] == 1
    assert "hive-notes-2" in posts(ws)[0].body


def test_next_slot_queues_into_the_persona_slot(ws, blog):
    add_feed(ws, blog.feed_url, accounts='["home-feed"]', when='"next_slot"')
    assert ws.run("feeds", "check").code == 0
    blog.publish(item(1))
    assert ws.run("feeds", "check").code == 0
    (post,) = posts(ws)
    local = post.scheduled_at.astimezone(ws.app().personas.get("personal").tz)
    assert (local.weekday(), local.hour, local.minute) == (5, 10, 0)  # "Sat 10:00"


def test_an_item_the_guard_blocks_is_held_and_notified_never_published(ws, blog):
    with FakeWebhook() as hook:
        path = ws.profiles / "personal.toml"
        path.write_text(f"notify = [{hook.apprise_url()!r}]\n" + path.read_text())
        add_feed(ws, blog.feed_url, accounts='["home-feed"]')
        assert ws.run("feeds", "check").code == 0
        blog.publish(item(1, title="Why Harbor Psychology recommends beekeeping"))
        r = ws.run("feeds", "check")
        assert r.code == 0, r.err
        assert "held post 1" in r.out
        (post,) = posts(ws)
        assert post.status == "held"
        assert [d.state for d in deliveries(ws, 1)] == ["held"]
        assert "held" in ws.run("list").out
        from crosspost.models import AuditRecord, Notification
        from crosspost.notices import Sender

        with ws.app().store.read() as s:
            (notice,) = s.exec(select(Notification)).all()
            blocked = s.exec(select(AuditRecord).where(AuditRecord.kind == "blocked")).all()
        assert notice.event == "blocked" and notice.post_id == 1
        assert "Harbor" not in notice.title + notice.body  # rule and field, not the match
        assert blocked and all(a.post_id == 1 for a in blocked)
        Sender(ws.app()).flush()
        (msg,) = hook.messages()
        assert "blocked" in msg["title"]
        # the daemon does not publish it; reading the feed again does not queue it again
        r = ws.run("daemon", "--once")
        assert r.code == 0 and shared(ws) == []
        assert ws.run("feeds", "check").code == 0
        assert len(posts(ws)) == 1 and posts(ws)[0].status == "held"


def test_a_held_item_has_its_notice_even_when_the_process_ends_right_after(ws, blog, monkeypatch):
    """The held post and the notice that tells of it are one transaction: a reader killed
    between the two would leave a post held that nobody is told about."""
    from crosspost import feeds
    from crosspost.notices import pending
    from crosspost.store import Store

    class Killed(BaseException):
        pass

    path = ws.profiles / "personal.toml"
    path.write_text('notify = ["json://127.0.0.1:9/"]\n' + path.read_text())
    add_feed(ws, blog.feed_url, accounts='["home-feed"]')
    assert ws.run("feeds", "check").code == 0
    blog.publish(item(1, title="Why Harbor Psychology recommends beekeeping"))
    enqueue = Store.enqueue

    def enqueue_then_die(self, *args, **kw):  # type: ignore[no-untyped-def]
        enqueue(self, *args, **kw)
        raise Killed

    monkeypatch.setattr(Store, "enqueue", enqueue_then_die)
    with pytest.raises(Killed):
        feeds.check_all(ws.app())
    monkeypatch.setattr(Store, "enqueue", enqueue)
    (post,) = posts(ws)
    assert post.status == "held"
    (notice,) = pending(ws.app().store)
    assert notice.event == "blocked" and notice.post_id == post.id


def test_a_file_feed(ws):
    site = ws.root / "blog" / "index.xml"
    site.parent.mkdir()
    site.write_text(rss([]))
    add_feed(ws, "blog/index.xml", accounts='["home-feed"]')
    assert ws.run("feeds", "check").code == 0
    site.write_text(rss([item(1)]))
    r = ws.run("feeds", "check")
    assert r.code == 0 and "queued post 1" in r.out, r.out
    assert ws.run("feeds", "check").code == 0
    assert len(posts(ws)) == 1
    site.unlink()
    r = ws.run("feeds", "check")
    assert r.code == 1 and "cannot read it" in r.out and "Traceback" not in r.err


def test_an_item_already_queued_by_hand_is_not_queued_twice(ws, fed):
    text = "Hive notes 1 https://anabee.example/posts/hive-notes-1/"
    assert ws.run("queue", "--persona", "personal", "--to", "home-feed", "--text", text).code == 0
    fed.publish(item(1))
    r = ws.run("feeds", "check", "--format", "json")
    assert r.json()[0]["queued"] == [] and r.json()[0]["known"] == 1
    assert len(posts(ws)) == 1


def test_the_daemon_once_reads_due_feeds_and_publishes_the_share(ws, fed):
    fed.publish(item(1))
    r = ws.run("daemon", "--once")  # the fixture read the feed just now: not due yet
    assert r.code == 0 and posts(ws) == []
    ws.write("config.toml", ws.config.read_text() + '[daemon]\nfeeds_interval = "1s"\n')
    r = ws.run("daemon", "--once")
    assert r.code == 0, r.err
    assert shared(ws).count("Hive notes 1 https://anabee.example/posts/hive-notes-1/") == 1
    assert [d.state for d in deliveries(ws, 1)] == ["published"]


def test_feeds_list_shows_each_feed(ws, fed):
    fed.publish(item(1))
    ws.run("feeds", "check")
    r = ws.run("feeds", "list", "--format", "json")
    assert r.code == 0, r.err
    (row,) = r.json()
    assert row["persona"] == "personal" and row["url"] == fed.feed_url
    assert row["accounts"] == ["home-feed"] and row["items"] == {"queued": 1}
    assert row["checked_at"] and row["since"]


# -- the profile --------------------------------------------------------------------------------


def test_a_feed_on_another_personas_domain_is_refused(ws):
    add_feed(ws, "https://www.harborpsych.example/feed/")
    r = ws.run("feeds", "list")
    assert r.code == 2
    assert "harborpsych.example belongs to persona 'professional'" in r.err
    assert "feeds[0].url" in r.err


def test_a_redirect_to_another_personas_domain_is_not_followed(ws, blog):
    """The feed's URL is the persona's own, but its server sends the reader on to the other
    persona's domain: following it would put this persona's request in that server's log."""
    blog.redirects["/moved.xml"] = "https://www.harborpsych.example/feed/"
    add_feed(ws, blog.url + "/moved.xml", accounts='["home-feed"]')
    blog.publish(item(1, when=NOW - timedelta(days=1)))
    r = ws.run("feeds", "check")
    assert "redirected to https://www.harborpsych.example/feed/" in r.out + r.err
    assert "belongs to persona 'professional'; not followed" in r.out + r.err
    assert "Traceback" not in r.err
    assert posts(ws) == []
    assert [s.path for s in blog.seen("/moved.xml")] == ["/moved.xml"]


def test_a_redirect_on_the_personas_own_server_is_followed(ws, blog):
    blog.redirects["/old-feed"] = blog.feed_url
    add_feed(ws, blog.url + "/old-feed", accounts='["home-feed"]')
    assert ws.run("feeds", "check").code == 0
    blog.publish(item(2))
    r = ws.run("feeds", "check")
    assert r.code == 0, r.err
    (post,) = posts(ws)
    assert post.body == "Hive notes 2 https://anabee.example/posts/hive-notes-2/"
    assert blog.seen("/old-feed") and blog.seen("/feed.xml")


@pytest.mark.parametrize(
    ("keys", "said"),
    [
        ({"accounts": '["pro-x"]'}, "'pro-x' is not an account of persona 'personal'"),
        ({"when": '"later"'}, "when"),
        ({"template": '"{titel} {url}"'}, "did you mean {title}"),
        ({"url": '"ftp://x/feed"'}, "neither an http(s) URL nor a file path"),
        ({"url": '"~no-such-user-here/feed.xml"'}, "feeds[0].url"),
        ({"since": "5"}, "since 5 is not a date"),
    ],
)
def test_broken_feed_entries_are_named_on_load(ws, keys, said):
    url = keys.pop("url", None)
    add_feed(ws, "https://anabee.example/feed/", **keys)
    if url:
        path = ws.profiles / "personal.toml"
        path.write_text(path.read_text().replace("'https://anabee.example/feed/'", url))
    r = ws.run("feeds", "list")
    assert r.code == 2 and "Traceback" not in r.err
    assert said in r.err and "personal.toml" in r.err


def test_next_slot_needs_slots(ws):
    path = ws.profiles / "personal.toml"
    path.write_text(path.read_text().replace('slots = ["Sat 10:00"]\n', ""))
    add_feed(ws, "https://anabee.example/feed/", when='"next_slot"')
    r = ws.run("feeds", "list")
    assert r.code == 2 and "has no slots" in r.err


def test_link_normalisation():
    from crosspost.feeds import normalise_link

    same = [
        "https://anabee.example/posts/a/",
        "http://www.anabee.example/posts/a",
        "https://ANABEE.example:443/posts/a/?utm_source=rss&utm_medium=feed#comments",
    ]
    assert len({normalise_link(u) for u in same}) == 1
    assert normalise_link("https://anabee.example/?p=1") != normalise_link(
        "https://anabee.example/?p=2"
    )


def test_the_feed_is_read_on_the_personas_network_route(ws, blog, monkeypatch):
    """The persona's User-Agent and proxy, as for its accounts: reading its blog's feed must
    not look like the other persona's requests."""
    from tests.fakes.proxy import ForwardingProxy

    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ForwardingProxy() as proxy:
        path = ws.profiles / "personal.toml"
        route = f'user_agent = "HomeReader/2.0"\nproxy = "{proxy.url}"\n'
        path.write_text(route + path.read_text())
        add_feed(ws, blog.feed_url, accounts='["home-feed"]')
        blog.publish(item(1, when=NOW - timedelta(days=1)))
        r = ws.run("feeds", "check")
        assert r.code == 0, r.err
    (passed,) = [p for p in proxy.passed if p.path == "/feed.xml"]
    assert passed.proxied and passed.origin == blog.url
    assert passed.user_agent == "HomeReader/2.0"
    assert blog.seen("/feed.xml")[-1].header("User-Agent") == "HomeReader/2.0"


def test_a_feed_that_fails_leaves_the_others_their_turn(ws, blog):
    with BlogFeed() as notes:
        add_feed(ws, blog.url + "/missing.xml", accounts='["home-feed"]')
        add_feed(ws, notes.feed_url, accounts='["home-feed"]')
        r = ws.run("feeds", "check")
        assert r.code == 1 and "Traceback" not in r.err
        assert "answered 404" in r.out
        notes.publish(item(1))
        notes.fail_next(503)
        r = ws.run("feeds", "check", "--format", "json")
        assert [x["status"] for x in r.json()] == ["problem", "problem"]
        assert "503" in r.json()[1]["problem"] and posts(ws) == []
        r = ws.run("feeds", "check", "--format", "json")
        assert r.json()[1]["queued"] == [1]


def test_an_item_kept_back_only_by_separation_goes_out_after_the_window(ws, fed):
    """Both personas keep 45 minutes apart: the share moves past the other persona's post
    instead of being held."""
    r = ws.run(
        "queue", "--persona", "professional", "--to", "pro-x", "--text", "Office hours today."
    )
    assert r.code == 0, r.err
    (other,) = posts(ws)
    fed.publish(item(1))
    r = ws.run("feeds", "check", "--format", "json")
    assert r.json()[0]["queued"] == [2] and r.json()[0]["held"] == []
    share = posts(ws)[1]
    assert share.status == "queued"
    assert share.scheduled_at >= other.scheduled_at + timedelta(minutes=45)
    assert "separation" in (share.note or "")


def test_since_without_an_offset_is_the_personas_local_time(ws):
    from crosspost.feeds import since_of

    add_feed(ws, "https://anabee.example/feed/", since="2026-11-02T09:00:00")
    add_feed(ws, "https://anabee.example/notes/", since="2026-11-02")
    add_feed(ws, "file:///srv/blog/index.xml", since="2026-11-02T09:00:00Z")
    persona = ws.app().personas.get("personal")  # America/Chicago: UTC-6 in November
    local, day, utc = (since_of(f, persona) for f in persona.feeds)
    assert local == datetime(2026, 11, 2, 15, tzinfo=UTC)
    assert day == datetime(2026, 11, 2, 6, tzinfo=UTC)
    assert utc == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert persona.feeds[2].url == "/srv/blog/index.xml"


def test_a_feed_served_as_text_plain_is_still_read(ws, fed):
    """Static hosts often serve feed.xml as text/plain or octet-stream."""
    fed.content_type = "text/plain"
    fed.publish(item(1))
    r = ws.run("feeds", "check", "--format", "json")
    assert r.code == 0, r.out
    assert r.json()[0]["queued"] == [1]


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Bee Hollow notes</title><id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>{updated}</updated>
  <entry>
    <title type="html">Swarm season &amp;amp; you</title>
    <link rel="alternate" href="https://anabee.example/notes/swarm/"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>{updated}</updated>
    <summary type="html">&lt;p&gt;Catch them early.&lt;/p&gt;</summary>
  </entry>
</feed>
"""


def test_an_atom_feed(ws):
    site = ws.root / "notes.atom"
    site.write_text(ATOM.format(updated="2026-01-01T00:00:00Z"))
    add_feed(ws, "notes.atom", accounts='["home-feed"]', template='"{title}: {summary} {url}"')
    r = ws.run("feeds", "check", "--format", "json")
    assert r.json()[0]["old"] == 1  # the first read: its backlog stays
    site.write_text(ATOM.format(updated=later().strftime("%Y-%m-%dT%H:%M:%SZ")))
    r = ws.run("feeds", "check", "--format", "json")
    assert r.json()[0]["queued"] == [] and r.json()[0]["known"] == 1  # same id: an edit
    site.write_text(
        ATOM.format(updated=later().strftime("%Y-%m-%dT%H:%M:%SZ"))
        .replace("efa6a", "efa6b")
        .replace("/notes/swarm/", "/notes/swarm-2/")
    )
    r = ws.run("feeds", "check", "--format", "json")
    assert r.json()[0]["queued"] == [1], r.out
    assert posts(ws)[0].body == (
        "Swarm season & you: Catch them early. https://anabee.example/notes/swarm-2/"
    )


def test_a_feeds_interval_of_zero_is_refused(ws):
    ws.write("config.toml", ws.config.read_text() + '[daemon]\nfeeds_interval = "0s"\n')
    r = ws.run("personas")
    assert r.code == 2 and "feeds_interval" in r.err and "at least 1s" in r.err, r.err
