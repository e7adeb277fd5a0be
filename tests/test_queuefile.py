"""The rhythm sample read straight from the SQLite file answers exactly what the store
answers, and leaves every database it is not sure of to the store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosspost.models import CANCELLED, Post
from crosspost.queuefile import nearest_posts, sqlite_path
from crosspost.store import Store

REF = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
PERSONAS = ["professional", "personal", "third"]

posts = st.lists(
    st.tuples(
        st.sampled_from(PERSONAS),
        # whole minutes and odd microseconds, many on the same instant as others
        st.integers(-4 * 24 * 60, 4 * 24 * 60),
        st.sampled_from([0, 1, 999_999]),
        st.booleans(),
    ),
    max_size=60,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=posts,
    reach_hours=st.integers(0, 100),
    per=st.integers(1, 8),
    shift_us=st.integers(-(10**6), 10**6),
)
def test_the_same_sample_as_the_store(tmp_path_factory, rows, reach_hours, per, shift_us):
    db = tmp_path_factory.mktemp("q") / "q.db"
    store = Store(f"sqlite:///{db}")
    with store.write() as s:
        for n, (persona, minutes, us, cancelled) in enumerate(rows):
            s.add(
                Post(
                    persona=persona,
                    kind="short",
                    body=f"post {n}",
                    slug=f"p{n}",
                    scheduled_at=REF + timedelta(minutes=minutes, microseconds=us),
                    status=CANCELLED if cancelled else "queued",
                )
            )
    ref = REF + timedelta(microseconds=shift_us)
    reach = timedelta(hours=reach_hours)
    expected = store.nearest_posts(PERSONAS, ref, reach, per)
    store.engine.dispose()
    got = nearest_posts(f"sqlite:///{db}", PERSONAS, ref, reach, per)
    assert got == expected
    assert all(t.tzinfo is UTC for _, _, t in got or [])


def test_an_older_schema_is_left_to_the_store(tmp_path):
    """The store upgrades an older schema (or explains why it cannot): not read here."""
    db = tmp_path / "q.db"
    Store(f"sqlite:///{db}").engine.dispose()
    url = f"sqlite:///{db}"
    assert nearest_posts(url, PERSONAS, REF, timedelta(days=1), 3) == []
    with sqlite3.connect(db) as c:
        c.execute("UPDATE alembic_version SET version_num = '0009'")
    c.close()
    assert nearest_posts(url, PERSONAS, REF, timedelta(days=1), 3) is None


def test_a_file_without_tables_or_a_broken_one_is_left_to_the_store(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    assert nearest_posts(f"sqlite:///{empty}", PERSONAS, REF, timedelta(days=1), 3) is None
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert nearest_posts(f"sqlite:///{junk}", PERSONAS, REF, timedelta(days=1), 3) is None
    missing = tmp_path / "missing.db"
    assert nearest_posts(f"sqlite:///{missing}", PERSONAS, REF, timedelta(days=1), 3) is None
    assert not missing.exists()


def test_only_plain_sqlite_files_are_read_here(tmp_path):
    assert sqlite_path(f"sqlite:///{tmp_path}/q.db") == tmp_path / "q.db"
    assert sqlite_path(f"sqlite+pysqlite:///{tmp_path}/q.db") == tmp_path / "q.db"
    for url in (
        "postgresql+psycopg://u@localhost/crosspost",
        "sqlite://",
        "sqlite:///:memory:",
        f"sqlite:///file:{tmp_path}/q.db?mode=ro&uri=true",
        f"sqlite:///{tmp_path}/q%20x.db",
        f"sqlite:///{tmp_path}/q.db?timeout=5",
    ):
        assert sqlite_path(url) is None, url
