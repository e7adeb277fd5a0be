"""A new, empty PostgreSQL database per test on the server ``CROSSPOST_TEST_DATABASE_URL``
names (CI runs one; without it the PostgreSQL tests are skipped, never faked)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def new_database() -> Iterator[str]:
    """The URL of a database made for this test alone; dropped afterwards, even on failure."""
    base = os.environ.get("CROSSPOST_TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "PostgreSQL tests skipped: set CROSSPOST_TEST_DATABASE_URL "
            "(e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    import psycopg

    name = f"crosspost_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(base, autocommit=True) as c:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
