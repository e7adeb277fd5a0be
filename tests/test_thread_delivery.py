"""Threads delivered exactly once per part: each part answers the one before, each part's id is
recorded as soon as it exists, and a later attempt resumes after the last recorded part.

The adapters run their real client libraries against the fakes in ``tests/fakes``; the
publisher and the store are the daemon's own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import keyring
import pytest
from sqlalchemy import update

from crosspost import credentials
from crosspost.claims import Claim, claim
from crosspost.models import PUBLISHED, PUBLISHING, QUEUED, Delivery, Post
from crosspost.platforms import mastodon as mastodon_module
from crosspost.publisher import Publisher
from tests.fakes.bluesky import FakeBlueskyPDS
from tests.fakes.failures import Failure
from tests.fakes.mastodon import FakeMastodon, id_order
from tests.fakes.x import FakeX

X_KEYS = {
    "consumer_key": "ck-Hq3x8PzY1wRdK2",
    "consumer_secret": "cs-9TnVf2LkQ8sWm4ZbXc7Jd0RuEy",
    "access_token": "1512345678901234567-AtKx83nQ5pLm",
    "access_token_secret": "ats-Zp4Lr7Wq2Nv9Xc1Bm5Tg8Hs3Ja",
}
MASTODON_TOKEN = "mt-Yc5Qv8Lp2Rz7Wk4Nb1Hx6Ds3Fg9Ja"
BSKY_HANDLE = "anabee.bsky.social"
BSKY_PASSWORD = "abcd-efgh-ijkl-mnop"

PERSONA = """
display_name = "Sam Lee"
timezone = "UTC"

[identity]
names = ["Sam Lee"]

[[accounts]]
name = "t-x"
platform = "x"
thread = true
thread_numbering = true

[[accounts]]
name = "t-masto"
platform = "mastodon"
instance = "{masto}"
thread = true
thread_numbering = true

[[accounts]]
name = "t-bsky"
platform = "bluesky"
handle = "{bsky_handle}"
instance = "{pds}"
thread = true
thread_numbering = true
"""

#: three parts on each platform (with numbering): about 600 characters of short sentences
SENTENCES = [f"Sentence {n} of a long thought about boundaries and rest." for n in range(1, 12)]
TEXT = " ".join(SENTENCES)


@dataclass
class Platform:
    target: str
    create_route: str
    fake: Any

    def created(self) -> list[dict[str, Any]]:
        """What the platform holds, oldest first: {id, text, reply_to}."""
        f = self.fake
        if isinstance(f, FakeX):
            return [
                {"id": t["id"], "text": t["original"], "reply_to": t["in_reply_to"]}
                for t in f.tweets
            ]
        if isinstance(f, FakeMastodon):
            return [
                {"id": s["id"], "text": s["text"], "reply_to": s.get("in_reply_to")}
                for s in sorted(f.statuses, key=lambda s: id_order(s["id"]))
            ]
        out = []
        for r in f.records.values():  # in the order the PDS stored them
            reply = r["value"].get("reply")
            out.append(
                {
                    "id": r["uri"],
                    "text": r["value"]["text"],
                    "reply_to": reply["parent"]["uri"] if reply else None,
                    "root": reply["root"]["uri"] if reply else None,
                }
            )
        return out

    def creates(self) -> int:
        """Requests that asked the platform to create a post."""
        return len(self.fake.seen(self.create_route))


@pytest.fixture
def fakes() -> Iterator[dict[str, Platform]]:
    mastodon_module.clear_instance_cache()
    x = FakeX(**X_KEYS).start()
    # a server with a smaller limit than the default, announced by its instance API
    masto = FakeMastodon(access_token=MASTODON_TOKEN, max_characters=300).start()
    pds = FakeBlueskyPDS(handle=BSKY_HANDLE, password=BSKY_PASSWORD).start()
    try:
        yield {
            "x": Platform("t-x", "POST /2/tweets", x),
            "mastodon": Platform("t-masto", "POST /api/v1/statuses", masto),
            "bluesky": Platform("t-bsky", "com.atproto.repo.createRecord", pds),
        }
    finally:
        for f in (x, masto, pds):
            f.stop()
        mastodon_module.clear_instance_cache()
        assert x.problems == [] and masto.problems == [] and pds.problems == []


@pytest.fixture
def site(ws, fakes, monkeypatch):  # type: ignore[no-untyped-def]
    for name in ("professional.toml", "personal.toml"):
        (ws.profiles / name).unlink()
    ws.write(
        "profiles/threads.toml",
        PERSONA.format(
            masto=fakes["mastodon"].fake.url, pds=fakes["bluesky"].fake.url, bsky_handle=BSKY_HANDLE
        ),
    )
    credentials.store("threads", "t-x", X_KEYS)
    credentials.store("threads", "t-masto", {"access_token": MASTODON_TOKEN})
    credentials.store("threads", "t-bsky", {"app_password": BSKY_PASSWORD})

    # X's host is fixed in tweepy: its adapter is sent to the fake the way the contract test does
    from crosspost import publisher
    from crosspost.platforms.registry import adapter_class, make_adapter

    def to_fakes(ctx):  # type: ignore[no-untyped-def]
        if ctx.platform == "x":
            return adapter_class("x")(ctx, base_url=fakes["x"].fake.url)
        return make_adapter(ctx)

    monkeypatch.setattr(publisher, "make_adapter", to_fakes)
    return ws


def queue(ws, target: str, text: str = TEXT) -> int:  # type: ignore[no-untyped-def]
    r = ws.run(
        "queue", "--persona", "threads", "--text", text, "--to", target, "--at", "+1h",
        "--format", "json",
    )  # fmt: skip
    assert r.code == 0, r.err
    post_id = int(r.json()["id"])
    # due a little while ago: lookups search from the scheduled time
    app = ws.app()
    past = datetime.now(UTC) - timedelta(seconds=20)
    with app.store.write() as s:
        s.execute(update(Post).where(Post.id == post_id).values(scheduled_at=past))
        s.execute(update(Delivery).where(Delivery.post_id == post_id).values(due_at=past))
    return post_id


def run_once(ws, at: datetime | None = None) -> list[Any]:  # type: ignore[no-untyped-def]
    app = ws.app()
    claims = claim(app.store, "w1", at or datetime.now(UTC), timedelta(minutes=2), {}, 4)
    return [Publisher(app).run(c) for c in claims]


def delivery(ws, post_id: int) -> Delivery:  # type: ignore[no-untyped-def]
    _, [d] = ws.app().store.get(post_id)
    return d


def forget_bluesky_session() -> None:
    # the kept session names the PDS it came from; each test's PDS is a new one
    with contextlib.suppress(keyring.errors.PasswordDeleteError):
        keyring.delete_password(credentials.service_name("threads", "t-bsky"), "session")


def assert_chained(p: Platform, d: Delivery, n: int = 3) -> None:
    posts = p.created()
    assert len(posts) == n, posts
    assert [q["reply_to"] for q in posts] == [None, *[q["id"] for q in posts[:-1]]]
    if "root" in posts[0]:
        assert [q["root"] for q in posts[1:]] == [posts[0]["id"]] * (n - 1)
    assert [q["text"] for q in posts] == [part["text"] for part in d.parts or []]
    assert [q["text"][-4:] for q in posts] == [f" {k}/{n}" for k in range(1, n + 1)]
    assert [part["remote_id"] for part in d.parts or []] == [q["id"] for q in posts]
    assert d.state == PUBLISHED and d.remote_id == posts[0]["id"]
    # nothing lost: the parts carry every word of the text, in order
    words = " ".join(q["text"][:-4] for q in posts).split()
    assert words == TEXT.split()


PLATFORMS = ["x", "mastodon", "bluesky"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_long_share_goes_out_as_a_chained_thread(site, fakes, platform):
    p = fakes[platform]
    r = site.run(
        "preview", "--persona", "threads", "--text", TEXT, "--to", p.target, "--format", "json"
    )
    assert r.code == 0, r.err
    [shown] = r.json()["targets"]
    post_id = queue(site, p.target)
    [out] = run_once(site)
    assert out.state == PUBLISHED, out.detail
    d = delivery(site, post_id)
    assert_chained(p, d)
    assert p.creates() == 3
    # preview showed exactly what went out
    assert [part["text"] for part in shown["parts"]] == [q["text"] for q in p.created()]
    assert all(part["length"] <= part["limit"] for part in shown["parts"])
    forget_bluesky_session()


def test_without_opt_in_a_long_share_is_shortened(site, fakes):
    profile = site.profiles / "threads.toml"
    profile.write_text(profile.read_text().replace("thread = true\n", "", 1))
    p = fakes["x"]
    post_id = queue(site, p.target)
    [out] = run_once(site)
    assert out.state == PUBLISHED, out.detail
    [post] = p.created()
    assert post["text"].endswith("…") and delivery(site, post_id).parts is None


def test_the_entry_asks_for_a_thread(site, fakes):
    profile = site.profiles / "threads.toml"
    profile.write_text(profile.read_text().replace("thread = true\n", "", 1))
    entry = site.write("long.md", f"---\nthread: true\n---\n{TEXT}\n")
    r = site.run(
        "queue", str(entry), "--persona", "threads", "--to", "t-x", "--at", "+1h",
        "--format", "json",
    )  # fmt: skip
    assert r.code == 0, r.err
    app = site.app()
    past = datetime.now(UTC) - timedelta(seconds=20)
    with app.store.write() as s:
        s.execute(update(Post).values(scheduled_at=past))
        s.execute(update(Delivery).values(due_at=past))
    [out] = run_once(site)
    assert out.state == PUBLISHED, out.detail
    assert_chained(fakes["x"], delivery(site, int(r.json()["id"])))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_failure_on_part_3_retries_only_part_3(site, fakes, platform):
    p = fakes[platform]
    post_id = queue(site, p.target)
    p.fake.inject(Failure(status=429, route=p.create_route, skip=2))
    [out] = run_once(site)
    assert out.state == QUEUED, out.detail
    d = delivery(site, post_id)
    assert [bool(part.get("remote_id")) for part in d.parts or []] == [True, True, False]
    assert len(p.created()) == 2
    [out] = run_once(site, datetime.now(UTC) + timedelta(hours=2))
    assert out.state == PUBLISHED, out.detail
    assert_chained(p, delivery(site, post_id))
    assert p.creates() == 4  # parts 1 and 2 once, part 3 refused once and sent once
    forget_bluesky_session()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_lost_answer_on_part_2_is_found_not_sent_again(site, fakes, platform):
    p = fakes[platform]
    post_id = queue(site, p.target)
    # part 2 is created, and the connection closes before its answer
    p.fake.inject(Failure(drop=True, after=True, route=p.create_route, skip=1))
    outs = run_once(site)
    if outs[0].state != PUBLISHED:  # Bluesky finds it in the same attempt (its record key)
        assert outs[0].state == QUEUED, outs[0].detail
        assert delivery(site, post_id).needs_lookup
        [out] = run_once(site, datetime.now(UTC) + timedelta(hours=2))
        assert out.state == PUBLISHED, out.detail
    assert_chained(p, delivery(site, post_id))
    assert p.creates() == 3
    forget_bluesky_session()


class Crash(BaseException):
    """The process dies here (nothing below it runs, no handler catches it)."""


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_crash_after_part_2_resumes_at_part_3(site, fakes, platform, monkeypatch):
    from crosspost import claims, publisher

    p = fakes[platform]
    post_id = queue(site, p.target)
    recorded: list[int] = []

    def record_then_die(store: Any, c: Claim, parts: list[dict[str, Any]]) -> bool:
        ok = claims.record_parts(store, c, parts)
        done = sum(1 for part in parts if part.get("remote_id"))
        recorded.append(done)
        if done == 2:
            raise Crash()
        return ok

    monkeypatch.setattr(publisher, "record_parts", record_then_die)
    with pytest.raises(Crash):
        run_once(site)
    monkeypatch.setattr(publisher, "record_parts", claims.record_parts)
    d = delivery(site, post_id)
    assert d.state == PUBLISHING and len(p.created()) == 2
    # the lease runs out; another worker takes the delivery over
    [out] = run_once(site, datetime.now(UTC) + timedelta(hours=1))
    assert out.state == PUBLISHED, out.detail
    assert_chained(p, delivery(site, post_id))
    assert p.creates() == 3
    forget_bluesky_session()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_crash_after_part_3_was_sent_but_not_recorded_finds_it(
    site, fakes, platform, monkeypatch
):
    """The worst moment: the platform created part 3, the process died before writing it."""
    from crosspost import claims, publisher

    p = fakes[platform]
    post_id = queue(site, p.target)

    def record_unless_last(store: Any, c: Claim, parts: list[dict[str, Any]]) -> bool:
        if all(part.get("remote_id") for part in parts):
            raise Crash()
        return claims.record_parts(store, c, parts)

    monkeypatch.setattr(publisher, "record_parts", record_unless_last)
    with pytest.raises(Crash):
        run_once(site)
    monkeypatch.setattr(publisher, "record_parts", claims.record_parts)
    assert len(p.created()) == 3
    [out] = run_once(site, datetime.now(UTC) + timedelta(hours=1))
    assert out.state == PUBLISHED, out.detail
    assert_chained(p, delivery(site, post_id))
    assert p.creates() == 3
    forget_bluesky_session()
