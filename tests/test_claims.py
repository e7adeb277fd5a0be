"""Claims, leases, fencing, lateness and retry, straight against the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosspost.claims import claim, hold_overdue, next_wakeup, record, retry
from crosspost.errors import Refused
from crosspost.models import Post
from crosspost.store import Store, Target

LEASE = timedelta(minutes=2)
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'q.db'}")


def enqueue(
    store: Store, at: datetime, targets=(("blog", "static", "blog"), ("pro-x", "x", "share"))
) -> Post:
    post = Post(
        persona="professional", kind="entry", title="T", body="B", slug="t", scheduled_at=at
    )
    return store.enqueue(post, [Target(*t) for t in targets])


def states(store, post_id):
    _, ds = store.get(post_id)
    return {d.target: d.state for d in ds}


def test_only_due_deliveries_and_blog_first(store):
    p = enqueue(store, T0)
    assert claim(store, "w1", T0 - timedelta(seconds=1), LEASE, {}, 4) == []
    claims = claim(store, "w1", T0, LEASE, {}, 4)
    assert [c.target for c in claims] == ["blog"]  # the share waits for the blog's URL
    assert states(store, p.id) == {"blog": "publishing", "pro-x": "queued"}
    # nothing else claimable while the blog is in flight
    assert claim(store, "w2", T0, LEASE, {}, 4) == []
    assert record(
        store, claims[0], state="published", now=T0, remote_id="1", remote_url="https://b/t/"
    )
    share = claim(store, "w1", T0 + timedelta(seconds=1), LEASE, {}, 4)
    assert [c.target for c in share] == ["pro-x"]


def test_blog_failure_fails_shares(store):
    p = enqueue(store, T0)
    (c,) = claim(store, "w1", T0, LEASE, {}, 4)
    record(store, c, state="failed", now=T0, error="401")
    _, ds = store.get(p.id)
    share = next(d for d in ds if d.target == "pro-x")
    assert share.state == "failed" and "blog entry failed" in share.last_error
    post, _ = store.get(p.id)
    assert post.status == "failed"


def test_capacity_per_platform(store):
    for _ in range(5):
        enqueue(store, T0, targets=(("pro-x", "x", "share"),))
    assert len(claim(store, "w", T0, LEASE, {"x": 2}, 4)) == 2
    assert len(claim(store, "w", T0, LEASE, {"x": 0}, 4)) == 0
    assert len(claim(store, "w", T0, LEASE, {}, 4)) == 3


def test_fencing_rejects_a_superseded_worker(store):
    p = enqueue(store, T0, targets=(("pro-x", "x", "share"),))
    (old,) = claim(store, "slow", T0, LEASE, {}, 4)
    later = T0 + LEASE + timedelta(seconds=1)
    (new,) = claim(store, "fresh", later, LEASE, {}, 4)
    assert new.reconcile, "an expired claim is taken over in reconcile mode"
    assert new.fence == old.fence + 1
    assert not record(store, old, state="published", now=later, remote_id="dup")
    assert record(store, new, state="published", now=later, remote_id="one")
    _, (d,) = store.get(p.id)
    assert d.remote_id == "one"


def test_unexpired_lease_is_not_taken(store):
    enqueue(store, T0, targets=(("pro-x", "x", "share"),))
    claim(store, "w1", T0, LEASE, {}, 4)
    assert claim(store, "w2", T0 + LEASE - timedelta(seconds=1), LEASE, {}, 4) == []


def test_hold_overdue_and_release(store):
    late = enqueue(store, T0 - timedelta(days=1), targets=(("pro-x", "x", "share"),))
    fresh = enqueue(store, T0 - timedelta(minutes=1), targets=(("pro-x", "x", "share"),))
    held = hold_overdue(store, T0, timedelta(hours=6))
    assert held == [late.id]
    post, _ = store.get(late.id)
    assert post.status == "held" and f"crosspost release {late.id}" in post.note
    claims = claim(store, "w", T0, LEASE, {}, 4)
    assert [c.post_id for c in claims] == [fresh.id]
    store.reschedule(late.id, T0, release=True)
    assert [c.post_id for c in claim(store, "w", T0, LEASE, {}, 4)] == [late.id]


def test_started_posts_are_not_held(store):
    p = enqueue(store, T0 - timedelta(days=1))
    (c,) = claim(store, "w", T0 - timedelta(days=1), LEASE, {}, 4)
    record(store, c, state="queued", now=T0, due_at=T0 - timedelta(days=1), error="503")
    assert hold_overdue(store, T0, timedelta(hours=6)) == []
    assert states(store, p.id)["blog"] == "queued"


def test_retry_only_failed_or_unknown(store):
    p = enqueue(store, T0, targets=(("pro-x", "x", "share"),))
    with pytest.raises(Refused):
        retry(store, p.id, None, T0)
    (c,) = claim(store, "w", T0, LEASE, {}, 4)
    record(store, c, state="unknown", now=T0, error="timeout")
    assert retry(store, p.id, "pro-x", T0) == ["pro-x"]
    assert states(store, p.id) == {"pro-x": "queued"}
    (c2,) = claim(store, "w", T0, LEASE, {}, 4)
    assert not c2.reconcile, "after 'unknown' the user decided: post again"


def test_maybe_sent_transient_error_reconciles_next_time(store):
    enqueue(store, T0, targets=(("pro-x", "x", "share"),))
    (c,) = claim(store, "w", T0, LEASE, {}, 4)
    record(store, c, state="queued", now=T0, due_at=T0 + timedelta(seconds=30), needs_lookup=True)
    assert claim(store, "w", T0 + timedelta(seconds=29), LEASE, {}, 4) == []
    (c2,) = claim(store, "w", T0 + timedelta(seconds=30), LEASE, {}, 4)
    assert c2.reconcile and c2.attempt == 2


def test_next_wakeup(store):
    assert next_wakeup(store) is None
    enqueue(store, T0 + timedelta(hours=1))
    assert next_wakeup(store) == T0 + timedelta(hours=1)


@pytest.mark.parametrize(
    ("local", "tz", "instant"),
    [
        ("2026-03-08 02:30", "America/Chicago", datetime(2026, 3, 8, 8, 30, tzinfo=UTC)),
        ("2026-11-01 01:30", "America/Chicago", datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
        ("2026-03-29 02:30", "Europe/Berlin", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        ("2026-10-25 02:30", "Europe/Berlin", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_dst_posts_publish_once_at_the_documented_instant(store, local, tz, instant):
    from zoneinfo import ZoneInfo

    from crosspost.when import parse_when

    when = parse_when(local, ZoneInfo(tz), datetime(2026, 1, 1, tzinfo=UTC))
    assert when.utc == instant
    p = enqueue(store, when.utc, targets=(("pro-x", "x", "share"),))
    assert claim(store, "w", instant - timedelta(seconds=1), LEASE, {}, 4) == []
    (c,) = claim(store, "w", instant, LEASE, {}, 4)
    record(store, c, state="published", now=instant, remote_id="1")
    # an hour later (the repeated hour of a fall-back day) nothing is claimed again
    assert claim(store, "w", instant + timedelta(hours=1, minutes=1), LEASE, {}, 4) == []
    assert states(store, p.id) == {"pro-x": "published"}
