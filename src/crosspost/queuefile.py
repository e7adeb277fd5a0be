"""The few reads ``check`` and ``preview`` make of a SQLite queue, without the database layer.

Importing SQLAlchemy and the models costs a command more than the whole rhythm sample it
needs (two indexed look-ups per persona), and ``check`` runs many times a day. Here that
sample is read with the standard library's ``sqlite3``, through the same index and with the
same SQL the store issues, but only when nothing about the database is in doubt: a plain
SQLite file that exists, opened as the store opens it, whose schema revision is the newest this
version ships. Anything else (PostgreSQL, an in-memory or URI database, an older or newer schema
the store would upgrade or refuse, a file that does not open or read cleanly) answers
``None``, and the caller asks :class:`crosspost.store.Store`, which upgrades, refuses or
explains exactly as before.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

MIGRATIONS = Path(__file__).with_name("migrations")
#: a post in this state is not in the rhythm sample (``crosspost.models.CANCELLED``)
CANCELLED = "cancelled"
#: how SQLAlchemy's SQLite ``DATETIME`` writes a time (naive UTC, see ``models.UTCDateTime``)
_STORED = "%Y-%m-%d %H:%M:%S.%f"
_SCHEMES = ("sqlite:///", "sqlite+pysqlite:///")


def known_revisions() -> list[str]:
    """Revisions shipped with this version, oldest first (file names start with the id)."""
    return sorted(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def sqlite_path(url: str) -> Path | None:
    """The file of a plain ``sqlite:///PATH`` URL; None for any other (PostgreSQL, memory,
    ``file:`` URIs, query parameters, escapes: the store's own parsing takes those)."""
    for scheme in _SCHEMES:
        if url.startswith(scheme):
            rest = url[len(scheme) :]
            break
    else:
        return None
    if not rest or rest == ":memory:" or rest.startswith("file:") or any(c in rest for c in "?%#"):
        return None
    return Path(rest).absolute()


def _file_uri(path: Path) -> str:
    """Opened as the store opens it: a file this user may write as it is (never created
    here); one it may not write (the file or its folder) without writing to it or beside it,
    ``immutable`` when no WAL says that someone has it open (``store._read_only_url``)."""
    uri = f"file:{quote(str(path))}"
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK):
        return uri + "?mode=rw"
    if not Path(f"{path}-wal").exists():
        return uri + "?mode=ro&immutable=1"
    return uri + "?mode=ro"


def _stored(t: datetime) -> str:
    return t.astimezone(UTC).replace(tzinfo=None).strftime(_STORED)


def _read_time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def nearest_posts(
    url: str,
    personas: Sequence[str],
    ref: datetime,
    reach: timedelta,
    per_persona: int,
) -> list[tuple[str, int, datetime]] | None:
    """What :meth:`crosspost.store.Store.nearest_posts` answers, read directly from the
    SQLite file; None when the store has to answer (see the module docstring)."""
    path = sqlite_path(url)
    if path is None or not path.is_file() or not os.access(path, os.R_OK):
        return None
    try:
        db = sqlite3.connect(_file_uri(path), uri=True, timeout=30, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        db.execute("PRAGMA query_only = ON")
        db.execute("BEGIN")  # both look-ups of every persona see one state of the queue
        try:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:  # no tables yet: the store makes them
            return None
        if row is None or row[0] != known_revisions()[-1]:
            return None
        low, at, high = _stored(ref - reach), _stored(ref), _stored(ref + reach)
        out: list[tuple[str, int, datetime]] = []
        for name in personas:
            for sql, args in (
                (_BEFORE, (name, CANCELLED, at, low, per_persona)),
                (_AFTER, (name, CANCELLED, at, high, per_persona)),
            ):
                out += [(p, i or 0, _read_time(t)) for p, i, t in db.execute(sql, args)]
        return out
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        db.close()


_SELECT = "SELECT persona, id, scheduled_at FROM post WHERE persona = ? AND status != ? AND "
_BEFORE = _SELECT + "scheduled_at <= ? AND scheduled_at >= ? ORDER BY scheduled_at DESC LIMIT ?"
_AFTER = _SELECT + "scheduled_at > ? AND scheduled_at <= ? ORDER BY scheduled_at LIMIT ?"
