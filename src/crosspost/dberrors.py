"""Database failures as one line a user can act on: which database, what is wrong, the fix.

SQLAlchemy's own messages carry the SQL statement and its parameters, which may hold the text
of a post, and driver messages can be long; neither is shown. A failure the user can fix (a
damaged or read-only file, a server that does not answer, a full disk) becomes a
:class:`StoreError`; anything else is a bug and stays an unexpected error, summarised without
SQL (:func:`summary`).

The store opens databases with :func:`remember_database`, which tags every error of its engine
with the database it came from (password masked), so the CLI can name it even for an error
raised in the middle of a command.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import StoreError

URL_FORMS = (
    "write it as sqlite:////absolute/path/crosspost.db, sqlite:///path/relative/to/config.db "
    "or postgresql://user@host:5432/dbname"
)
SUPPORTED = ("sqlite", "postgresql")

_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^/?#]*@")

#: SQLite result codes (``sqlite3.Error.sqlite_errorname``; extended codes share the prefix)
#: the user can fix: (code prefixes, message with {where} and {why}, hint)
_SQLITE_PROBLEMS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("SQLITE_NOTADB", "SQLITE_CORRUPT"),
        "the {where} is damaged or is not a crosspost database ({why})",
        "restore it from a backup, or move it away to start with an empty queue",
    ),
    (
        ("SQLITE_READONLY",),
        "the {where} is read-only ({why})",
        "make the file and its folder writable for the user running crosspost",
    ),
    (
        ("SQLITE_CANTOPEN",),
        "cannot open the {where} ({why})",
        "check that its folder exists and that this user may read and write it, "
        "or fix database_url in config.toml",
    ),
    (
        ("SQLITE_PERM", "SQLITE_AUTH"),
        "no access to the {where} ({why})",
        "make the file and its folder readable and writable for this user",
    ),
    (("SQLITE_FULL",), "the disk holding the {where} is full", "free some space"),
    (
        ("SQLITE_IOERR",),
        "the {where} cannot be read or written ({why})",
        "check the disk and the file system it is on",
    ),
    (
        ("SQLITE_BUSY", "SQLITE_LOCKED"),
        "the {where} stayed locked by another program for 30 seconds",
        "stop whatever holds it (a long-running query, a backup tool) and retry",
    ),
)


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, even when it does not parse."""
    return _PASSWORD.sub(r"\1***@", url)


def remember_database(engine: Any, where: str) -> None:
    """Tag errors of ``engine`` with ``where`` (e.g. "database file /x/crosspost.db")."""
    from sqlalchemy import event

    @event.listens_for(engine, "handle_error")
    def _tag(ctx: Any) -> None:
        if ctx.sqlalchemy_exception is not None:
            ctx.sqlalchemy_exception.crosspost_database = where


def store_problem(exc: BaseException, where: str | None = None) -> StoreError | None:
    """The user-fixable database problem behind ``exc`` (or its causes), else None."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, StoreError):
            return e
        place = where or getattr(e, "crosspost_database", None) or "the database"
        problem = _classify(getattr(e, "orig", None) or e, place)
        if problem is not None:
            return problem
        e = e.__cause__ or e.__context__
    return None


def opening_problem(exc: BaseException, where: str) -> StoreError:
    """Any failure while opening a database is the database's problem: never a bug report."""
    return store_problem(exc, where) or StoreError(
        f"cannot open the {where}: {summary(exc)}",
        hint="check database_url in config.toml",
    )


def summary(exc: BaseException) -> str:
    """``exc`` in one line without the SQL statement or its parameters."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, BaseException):
        return f"{type(orig).__name__}: {_first_line(orig)}"
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _classify(orig: BaseException, where: str) -> StoreError | None:
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str):
        return _sqlite_problem(name, orig, where)
    if type(orig).__module__.startswith("psycopg"):
        return _postgres_problem(orig, where)
    return None


def _sqlite_problem(name: str, orig: BaseException, where: str) -> StoreError | None:
    for codes, message, hint in _SQLITE_PROBLEMS:
        if name.startswith(codes):
            return StoreError(message.format(where=where, why=_first_line(orig)), hint=hint)
    return None


def _postgres_problem(orig: BaseException, where: str) -> StoreError | None:
    import psycopg

    why = " ".join(_first_line(orig).removeprefix("connection failed: ").split())
    why = why.replace("failed: FATAL: ", "failed: ")
    if isinstance(orig, psycopg.errors.InsufficientPrivilege):
        return StoreError(
            f"the {where} refused access ({why})",
            hint="grant the user in database_url the rights on the database",
        )
    if isinstance(orig, psycopg.errors.ReadOnlySqlTransaction):
        return StoreError(
            f"the {where} is read-only ({why})", hint="point database_url at the primary server"
        )
    if isinstance(orig, psycopg.errors.DiskFull):
        return StoreError(f"the disk of the {where} is full", hint="free space on the server")
    state = getattr(orig, "sqlstate", None) or ""
    # no state: the connection failed; 08 connection, 28 login, 3D no such database,
    # 53 out of resources (too many connections), 57P the server is shutting down
    if isinstance(orig, psycopg.OperationalError) and (
        not state or state.startswith(("08", "28", "3D", "53", "57P"))
    ):
        return StoreError(
            f"cannot use the {where}: {why}",
            hint="check that PostgreSQL runs and is reachable there, and database_url "
            "(host, port, user, database name) in config.toml",
        )
    return None
