"""The store's shingle index (``post_shingle``, ``imported_shingle``): written with every
text, backfilled by migration 0010, and the near-duplicate check over its candidates finds
what the check over the whole correlation window finds."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from crosspost.guard import RecentPost, build_matcher, check_correlation
from crosspost.guard.correlation import DEFAULT_WINDOW, index_hashes, probe_hashes
from crosspost.models import Post, post_text
from crosspost.store import Store, known_revisions
from crosspost.targets import Target
from tests.guard.conftest import SECRET, make_profiles
from tests.support.pgdb import new_database

WORDS = [
    "sleep",
    "light",
    "small",
    "routines",
    "help",
    "more",
    "than",
    "big",
    "spring",
    "notes",
    "from",
    "the",
    "workshop",
]
T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
MATCHER = build_matcher(make_profiles(), secret=SECRET)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database: SQLite, and PostgreSQL when ``CROSSPOST_TEST_DATABASE_URL`` is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'q.db'}"
        return
    with new_database() as url:
        yield url


def _post(persona: str, body: str, at: datetime, **kw: object) -> Post:
    return Post(persona=persona, kind="short", body=body, slug="s", scheduled_at=at, **kw)


def _hashes(store: Store, table: str, key: str) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    with store.engine.connect() as c:
        for row_id, h in c.execute(text(f"SELECT {key}, hash FROM {table}")):
            out.setdefault(row_id, set()).add(h)
    return out


def _near_duplicates(new: str, recent: list[RecentPost]) -> list[str]:
    found = check_correlation(MATCHER, "personal", new, T0, recent, window=DEFAULT_WINDOW)
    return sorted(f.message for f in found if f.rule == "near-duplicate")


def _whole_window(store: Store) -> list[RecentPost]:
    """What the check read before the index: every post and imported post of the window."""
    since, until = T0 - DEFAULT_WINDOW, T0 + DEFAULT_WINDOW
    out = [
        RecentPost(p.persona, p.id or 0, post_text(p), p.scheduled_at)
        for p in store.recent_posts(since, until)
    ]
    out += [
        RecentPost(i.persona, 0, i.text, i.published_at, label=f"{i.target}'s post {i.remote_id}")
        for i in store.imported_posts(since, until)
    ]
    return out


def _candidates(store: Store, new: str) -> list[RecentPost]:
    posts, imported = store.shingle_candidates(
        "personal", probe_hashes(new), T0 - DEFAULT_WINDOW, T0 + DEFAULT_WINDOW
    )
    out = [RecentPost(p.persona, p.id or 0, post_text(p), p.scheduled_at) for p in posts]
    out += [
        RecentPost(i.persona, 0, i.text, i.published_at, label=f"{i.target}'s post {i.remote_id}")
        for i in imported
    ]
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32))
def test_candidates_find_what_the_whole_window_finds(seed: int) -> None:
    rng = random.Random(seed)

    def words(lo: int, hi: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))

    new = words(5, 30)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'q.db'}")
        ids = []
        for _ in range(25):
            body = words(0, 30)
            if rng.random() < 0.4:  # a copy of the new text, changed a little
                body = " ".join(
                    w if rng.random() < 0.8 else rng.choice(WORDS) for w in new.split()
                ) + rng.choice(["", " https://example.org/x", " " + words(1, 8)])
            persona = rng.choice(["professional", "personal"])
            at = T0 + timedelta(days=rng.uniform(-40, 40))
            tags = [rng.choice(WORDS)] if rng.random() < 0.3 else []
            post = store.enqueue(_post(persona, body, at, tags=tags), [Target("x", "x", "share")])
            ids.append(post.id)
        copy = _post("professional", new.upper(), T0 + timedelta(days=rng.uniform(-29, 29)))
        store.enqueue(copy, [Target("x", "x", "share")])  # at least one finding
        for post_id in rng.sample(ids, 5):  # edits change what is indexed
            store.replace_snapshot(post_id, {"body": words(0, 30), "summary": words(0, 6)})
        for post_id in rng.sample(ids, 3):
            store.cancel(post_id)
        store.import_posts(
            "professional",
            "pro-x",
            [
                (f"r{i}", None, new if rng.random() < 0.3 else words(3, 25), T0 + timedelta(days=i))
                for i in range(-3, 4)
            ],
        )
        whole = _near_duplicates(new, _whole_window(store))
        assert whole
        assert _near_duplicates(new, _candidates(store, new)) == whole
        store.engine.dispose()


def test_shingles_follow_queue_edit_and_import(url: str) -> None:
    store = Store(url)
    first = "Spring is a good time to notice how sleep changes with the light"
    post = store.enqueue(_post("professional", first, T0), [Target("x", "x", "share")])
    assert _hashes(store, "post_shingle", "post_id") == {post.id: index_hashes(first)}
    store.replace_snapshot(post.id, {"title": "Small routines", "body": "help more than big ones"})
    edited = store.get(post.id)[0]
    assert _hashes(store, "post_shingle", "post_id") == {post.id: index_hashes(post_text(edited))}
    store.reschedule(post.id, T0 + timedelta(hours=1))  # no text change: same rows
    assert _hashes(store, "post_shingle", "post_id") == {post.id: index_hashes(post_text(edited))}
    store.import_posts("personal", "pa-x", [("r1", None, first, T0)])
    store.import_posts("personal", "pa-x", [("r1", None, first + " again", T0)])
    ((row_id, hashes),) = _hashes(store, "imported_shingle", "imported_id").items()
    assert hashes == index_hashes(first + " again")
    posts, imported = store.shingle_candidates(
        "professional", probe_hashes(first), T0 - DEFAULT_WINDOW, T0 + DEFAULT_WINDOW
    )
    assert posts == [] and [i.id for i in imported] == [row_id]


def test_cancelled_excluded_and_out_of_window_posts_are_no_candidates(url: str) -> None:
    store = Store(url)
    body = "Spring is a good time to notice how sleep changes with the light"
    target = [Target("x", "x", "share")]
    kept = store.enqueue(_post("professional", body, T0), target)
    cancelled = store.enqueue(_post("professional", body, T0), target)
    store.cancel(cancelled.id)
    store.enqueue(_post("professional", body, T0 + timedelta(days=31)), target)
    store.enqueue(_post("personal", body, T0), target)  # the same persona
    since, until = T0 - DEFAULT_WINDOW, T0 + DEFAULT_WINDOW
    posts, _ = store.shingle_candidates("personal", probe_hashes(body), since, until)
    assert [p.id for p in posts] == [kept.id]
    posts, _ = store.shingle_candidates("personal", probe_hashes(body), since, until, kept.id)
    assert posts == []


def test_migration_0010_backfills_the_shingles_of_stored_posts(tmp_path: Path) -> None:
    """Posts and imported posts stored before the index are still found as near-duplicates."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from crosspost.store import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    at = datetime(2026, 3, 1, 9, 0)
    body = "Spring is a good time to notice how sleep changes with the light"
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009")
        for i, (title, summary, tags) in enumerate(
            [(None, None, "[]"), ("A title", "in short", '["sleep", "light"]'), (None, None, "[]")]
        ):
            conn.execute(
                text(
                    "INSERT INTO post (id, persona, kind, title, summary, body, slug, tags,"
                    " categories, share, media, allow, scheduled_at, created_at, updated_at,"
                    " status, thread) VALUES (:id, 'professional', 'short', :title, :summary,"
                    " :body, :slug, :tags, '[]', '{}', '[]', '{}', :at, :at, :at, 'queued', 0)"
                ),
                {
                    "id": i + 1,
                    "title": title,
                    "summary": summary,
                    "body": body if i < 2 else "too short",
                    "slug": f"s{i}",
                    "tags": tags,
                    "at": at,
                },
            )
        conn.execute(
            text(
                "INSERT INTO imported_post (id, persona, target, remote_id, text, published_at,"
                " imported_at) VALUES (1, 'professional', 'pro-x', 'r1', :body, :at, :at)"
            ),
            {"body": body, "at": at},
        )
    engine.dispose()
    store = Store(url)
    assert store.current_revision() == known_revisions()[-1] == "0010"
    expected = {
        1: index_hashes(body),
        2: index_hashes("\n".join(["A title", "in short", body, "sleep", "light"])),
    }
    assert _hashes(store, "post_shingle", "post_id") == expected
    assert _hashes(store, "imported_shingle", "imported_id") == {1: index_hashes(body)}
    when = at.replace(tzinfo=UTC)
    posts, imported = store.shingle_candidates(
        "personal", probe_hashes(body), when - DEFAULT_WINDOW, when + DEFAULT_WINDOW
    )
    assert sorted(p.id for p in posts) == [1, 2] and [i.id for i in imported] == [1]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32))
def test_separation_reads_enough_for_the_next_allowed_time(seed: int) -> None:
    """The separation check reads the times within the widest separation and follows the
    chain of blocking posts further: its findings (and the next allowed time they name) are
    those of the whole window."""
    from types import SimpleNamespace

    from crosspost.queueing import _separation_times

    rng = random.Random(seed)
    gaps = {"professional": timedelta(minutes=45), "personal": timedelta(minutes=10)}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'q.db'}")
        t = T0 - timedelta(minutes=rng.randint(0, 120))
        for _ in range(rng.randint(1, 30)):  # a chain of posts, some gaps wide enough to pass
            t += timedelta(minutes=rng.choice([5, 20, 40, 60, 89, 90, 91, 200]))
            persona = rng.choice(["professional", "professional", "personal"])
            store.enqueue(_post(persona, "x", t), [Target("x", "x", "share")])
        store.import_posts(
            "professional",
            "pro-x",
            [(f"r{i}", None, "x", T0 + timedelta(minutes=rng.randint(-60, 600))) for i in range(3)],
        )
        store.enqueue(
            _post("professional", "x", T0 + timedelta(minutes=10)), [Target("x", "x", "share")]
        )
        app = SimpleNamespace(store=store)
        read = _separation_times(
            app, "personal", T0, gaps, timedelta(minutes=45), DEFAULT_WINDOW, None
        )

        def separation(recent: list[RecentPost]) -> list[str]:
            found = check_correlation(MATCHER, "personal", "x", T0, recent)
            return sorted(f.message for f in found if f.rule == "separation")

        expected = separation(_whole_window(store))
        assert expected  # the post 10 minutes later conflicts
        assert separation(read) == expected
        store.engine.dispose()
