from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from crosspost.errors import NotFound, Refused, StoreError
from crosspost.models import Delivery, Post
from crosspost.store import AuditEntry, Store, Target, known_revisions, rollup


def make_post(**kw) -> Post:
    base = dict(
        persona="professional",
        kind="entry",
        title="T",
        body="B",
        slug="t",
        scheduled_at=datetime.now(UTC) + timedelta(hours=1),
    )
    base.update(kw)
    return Post(**base)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'q.db'}")


def test_fresh_database_is_at_head(store):
    assert store.current_revision() == known_revisions()[-1]
    with store.engine.connect() as c:
        mode = c.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"


def test_alembic_head_matches_shipped_revisions():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from crosspost.store import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == known_revisions()[-1]


def test_migrations_match_models(store):
    """Autogenerate finds nothing to change: the migration and the models agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crosspost.models import SQLModel

    with store.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
    assert diff == []


def test_newer_database_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    s = Store(url)
    with s.engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="written by a newer crosspost"):
        Store(url)


def test_enqueue_list_get(store):
    post = store.enqueue(
        make_post(), [Target("blog", "static", "blog"), Target("pro-x", "x", "share")]
    )
    got, deliveries = store.get(post.id)
    assert got.title == "T"
    assert {d.target for d in deliveries} == {"blog", "pro-x"}
    keys = {d.idempotency_key for d in deliveries}
    assert len(keys) == 2
    rows, total = store.list_posts(persona="professional")
    assert total == 1 and rows[0][0].id == post.id
    with pytest.raises(NotFound):
        store.get(999)


def test_cancel_and_refusals(store):
    post = store.enqueue(make_post(), [Target("pro-x", "x", "share")])
    p, cancelled = store.cancel(post.id)
    assert cancelled == ["pro-x"] and p.status == "cancelled"
    with pytest.raises(Refused, match="nothing left to cancel"):
        store.cancel(post.id)
    post2 = store.enqueue(make_post(), [Target("pro-x", "x", "share")])
    with store.write() as s:
        for d in s.exec(
            __import__("sqlmodel").select(Delivery).where(Delivery.post_id == post2.id)
        ):
            d.state = "published"
            s.add(d)
        p2 = s.get(Post, post2.id)
        p2.status = "published"
        s.add(p2)
    with pytest.raises(Refused, match="already been published"):
        store.cancel(post2.id)


def test_reschedule(store):
    post = store.enqueue(make_post(), [Target("pro-x", "x", "share")])
    later = datetime.now(UTC) + timedelta(days=2)
    p = store.reschedule(post.id, later)
    assert p.scheduled_at == later
    _, ds = store.get(post.id)
    assert ds[0].due_at == later


def test_audit_chain(store):
    store.audit([AuditEntry("blocked", "professional", rule="identity", detail={"match": "x"})])
    store.audit([AuditEntry("override", "professional", rule="near-duplicate", reason="ok")])
    assert store.verify_audit() == []
    # the log refuses edits outright ...
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as c:
        c.execute(text("UPDATE auditrecord SET reason = 'changed'"))
    # ... and an edit that bypasses the trigger is detected by the chain
    with store.engine.begin() as c:
        c.execute(text("DROP TRIGGER auditrecord_no_update"))
        c.execute(text("UPDATE auditrecord SET reason = 'changed' WHERE rule = 'near-duplicate'"))
    problems = store.verify_audit()
    assert problems and "edited" in problems[0]


def test_audit_chain_detects_removal(store):
    for i in range(3):
        store.audit([AuditEntry("blocked", "personal", rule="identity", detail={"i": i})])
    with store.engine.begin() as c:
        c.execute(text("DROP TRIGGER auditrecord_no_delete"))
        c.execute(text("DELETE FROM auditrecord WHERE id = 2"))
    assert any("removed" in p for p in store.verify_audit())


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["queued", "queued"], "queued"),
        (["published", "published"], "published"),
        (["published", "failed"], "partial"),
        (["published", "publishing"], "publishing"),
        (["failed", "cancelled"], "failed"),
        (["cancelled"], "cancelled"),
        (["published", "unknown"], "unknown"),
        (["held", "held"], "held"),
        (["published", "cancelled"], "partial"),
    ],
)
def test_rollup(states, expected):
    assert rollup(states) == expected


def test_migration_0006_backfills_the_content_hash_of_stored_posts(tmp_path):
    """Posts queued before the content hash existed are still found as duplicates."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from crosspost.contenthash import content_hash
    from crosspost.store import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    at = datetime(2026, 3, 1, 9, 0)
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        for i, (title, body) in enumerate([(None, "Line one\r\nline two"), ("A  title", "Text")]):
            conn.execute(
                text(
                    "INSERT INTO post (id, persona, kind, title, body, slug, tags, categories,"
                    " share, media, allow, scheduled_at, created_at, updated_at, status, thread)"
                    " VALUES (:id, 'professional', 'short', :title, :body, :slug, '[]', '[]',"
                    " '{}', '[]', '{}', :at, :at, :at, 'published', 0)"
                ),
                {"id": i + 1, "title": title, "body": body, "slug": f"s{i}", "at": at},
            )
    engine.dispose()
    store = Store(url)
    assert store.current_revision() == known_revisions()[-1]
    with store.engine.connect() as c:
        stored = dict(c.execute(text("SELECT id, content_hash FROM post")).all())
    assert stored == {
        1: content_hash(None, "Line one\nline two"),
        2: content_hash("A title", "Text\n"),
    }
    found = store.similar_posts(
        "professional", content_hash=content_hash(None, "Line one\nline two")
    )
    assert [r.id for r in found] == [1]


def test_content_hash_follows_queue_and_edit(store):
    """The hash the duplicate check looks up is written with the post and rewritten by an edit
    of its title or body."""
    from crosspost.contenthash import content_hash

    post = store.enqueue(make_post(title="T", body="Old text"), [Target("pro-x", "x", "share")])
    assert [
        r.id
        for r in store.similar_posts("professional", content_hash=content_hash("T", "Old text"))
    ] == [post.id]
    store.replace_snapshot(post.id, {"title": "New  title", "body": "New text\r\n"})
    assert store.similar_posts("professional", content_hash=content_hash("T", "Old text")) == []
    found = store.similar_posts("professional", content_hash=content_hash("New title", "New text"))
    assert [r.id for r in found] == [post.id]
    assert store.similar_posts("personal", content_hash=content_hash("New title", "New text")) == []


def test_nearest_posts_are_each_personas_closest_within_reach(tmp_path):
    """The rhythm check's sample: per persona, the posts nearest a time on both sides, from
    the index, never a cancelled one and never one beyond the reach."""
    from datetime import UTC, datetime, timedelta

    from crosspost.models import CANCELLED, Post
    from crosspost.store import Store

    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    ref = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    with store.write() as s:
        for persona in ("professional", "personal"):
            for hours in range(-60, 61, 6):  # every 6 hours, 2.5 days either side
                s.add(
                    Post(
                        persona=persona,
                        kind="short",
                        body=f"{persona} {hours}",
                        slug=f"{persona}-{hours + 100}",
                        scheduled_at=ref + timedelta(hours=hours),
                        status=CANCELLED if hours == 6 else "queued",
                    )
                )
    got = store.nearest_posts(["professional", "personal"], ref, timedelta(days=2), 3)
    mine = sorted(t for p, _, t in got if p == "professional")
    hours = [round((t.replace(tzinfo=UTC) - ref) / timedelta(hours=1)) for t in mine]
    # 3 before (incl. ref itself), 3 after, the cancelled +6 h skipped
    assert hours == [-12, -6, 0, 12, 18, 24]
    assert sorted(p for p, _, _ in got).count("personal") == 6
    far = store.nearest_posts(["professional"], ref, timedelta(hours=5), 10)
    assert [round((t.replace(tzinfo=UTC) - ref) / timedelta(hours=1)) for _, _, t in far] == [0]


def test_imported_posts_leave_out_what_crosspost_delivered_and_update_the_rest(store):
    from sqlmodel import select

    post = store.enqueue(make_post(persona="personal"), [Target("home-bsky", "bluesky", "share")])
    with store.write() as s:
        d = s.exec(select(Delivery).where(Delivery.post_id == post.id)).one()
        d.remote_id, d.remote_url = "at://did:plc:x/app.bsky.feed.post/ours", "https://bsky/ours"
        s.add(d)
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    items = [
        ("at://did:plc:x/app.bsky.feed.post/ours", "https://bsky/ours", "ours", at),
        ("at://did:plc:x/app.bsky.feed.post/hand", "https://bsky/hand", "by hand", at),
    ]
    assert store.import_posts("personal", "home-bsky", items) == 1
    # read again, edited: updated, not added; another persona's target is another item
    edited = [("at://did:plc:x/app.bsky.feed.post/hand", "https://bsky/hand", "edited", at)]
    assert store.import_posts("personal", "home-bsky", edited) == 0
    assert store.import_posts("professional", "home-bsky", edited) == 1
    rows = store.imported_posts(at - timedelta(minutes=1), at + timedelta(minutes=1))
    assert sorted((r.persona, r.text, r.published_at) for r in rows) == [
        ("personal", "edited", at),
        ("professional", "edited", at),
    ]
    assert store.imported_posts(at + timedelta(minutes=1), at + timedelta(hours=1)) == []
