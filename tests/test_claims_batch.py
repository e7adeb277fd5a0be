"""The claim query: due order, per-platform room, expired leases, fences (Core statements)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosspost.claims import claim, record, renew
from crosspost.models import Post
from crosspost.store import Store, Target

LEASE = timedelta(minutes=2)
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'q.db'}")


def share(store: Store, at: datetime, name: str, platform: str) -> int:
    post = Post(persona="professional", kind="short", body="B", slug="s", scheduled_at=at)
    store.enqueue(post, [Target(name, platform, "share")])
    assert post.id is not None
    return post.id


def test_a_full_platform_does_not_hide_later_deliveries_of_others(store):
    for i in range(20):
        share(store, T0 + timedelta(seconds=i), "pro-x", "x")
    late = [
        share(store, T0 + timedelta(minutes=5, seconds=i), "pro-m", "mastodon") for i in range(3)
    ]
    got = claim(store, "w", T0 + timedelta(hours=1), LEASE, {"x": 2}, 4)
    by = sorted((c.platform, c.post_id) for c in got)
    assert [p for p, _ in by] == ["mastodon"] * 3 + ["x"] * 2
    assert {i for p, i in by if p == "mastodon"} == set(late)
    # the earliest x deliveries, in due order
    assert [i for p, i in by if p == "x"] == [1, 2]


def test_room_per_platform_with_many_platforms(store):
    for platform in ("x", "mastodon", "bluesky", "wordpress", "feed"):
        for _ in range(3):
            share(store, T0, f"acct-{platform}", platform)
    got = claim(store, "w", T0, LEASE, {"x": 1, "feed": 0}, 2)
    counts: dict[str, int] = {}
    for c in got:
        counts[c.platform] = counts.get(c.platform, 0) + 1
    assert counts == {"x": 1, "mastodon": 2, "bluesky": 2, "wordpress": 2}
    again = claim(store, "w", T0, LEASE, {"x": 1, "feed": 0}, 2)
    assert sorted(c.platform for c in again) == ["bluesky", "mastodon", "wordpress", "x"]


def test_claim_writes_what_it_returns(store):
    pid = share(store, T0, "pro-x", "x")
    (c,) = claim(store, "w1", T0, LEASE, {}, 4)
    assert (c.fence, c.attempt, c.reconcile, c.worker) == (1, 1, False, "w1")
    _, (d,) = store.get(pid)
    assert (d.state, d.fence, d.attempts, d.claimed_by) == ("publishing", 1, 1, "w1")
    assert d.lease_until == T0 + LEASE


def test_expired_leases_share_the_room_and_come_back_in_reconcile_mode(store):
    old = [share(store, T0, "pro-x", "x") for _ in range(2)]
    first = claim(store, "dead", T0, LEASE, {"x": 2}, 4)
    assert sorted(c.post_id for c in first) == old
    for _ in range(3):
        share(store, T0 + timedelta(minutes=1), "pro-x", "x")
    later = T0 + LEASE + timedelta(seconds=1)
    got = claim(store, "alive", later, LEASE, {"x": 3}, 4)
    assert len(got) == 3
    expired = [c for c in got if c.post_id in old]
    assert len(expired) == 2 and all(c.reconcile and c.fence == 2 for c in expired)
    assert [c.reconcile for c in got if c.post_id not in old] == [False]
    # the dead worker's results no longer count; the new claims' do
    assert not record(store, first[0], state="published", now=later, remote_id="late")
    assert record(store, expired[0], state="published", now=later, remote_id="ok")


def test_renew_extends_only_current_claims(store):
    now = datetime.now(UTC)  # renew uses the clock
    pid = share(store, now, "pro-x", "x")
    (c,) = claim(store, "w", now, LEASE, {}, 4)
    stale = type(c)(**{**c.__dict__, "fence": c.fence - 1})
    renew(store, [stale], timedelta(hours=1))
    _, (d,) = store.get(pid)
    assert d.lease_until == now + LEASE
    renew(store, [c], timedelta(hours=1))
    _, (d,) = store.get(pid)
    assert d.lease_until >= now + timedelta(hours=1)


def test_snapshot_reads_like_get(store):
    post = Post(
        persona="professional",
        kind="entry",
        title="T",
        body="B",
        slug="t",
        tags=["a"],
        share={"pro-x": "hi"},
        scheduled_at=T0,
    )
    store.enqueue(post, [Target("blog", "static", "blog"), Target("pro-x", "x", "share")])
    got, ds = store.get(post.id)
    snap, rows = store.snapshot(post.id)
    for field in (
        "persona",
        "kind",
        "title",
        "body",
        "slug",
        "tags",
        "share",
        "media",
        "allow",
        "scheduled_at",
        "lang",
        "summary",
        "categories",
    ):
        assert getattr(snap, field) == getattr(got, field), field
    assert [(r.id, r.target, r.role, r.idempotency_key) for r in rows] == [
        (d.id, d.target, d.role, d.idempotency_key) for d in ds
    ]
