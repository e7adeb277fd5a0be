"""Notices to a persona's ``notify`` URLs (apprise) when one of its posts needs the user.

Kept inside each persona: a notice goes only to the URLs of the persona whose post it is
about, and its text is built from that post, its target and its error alone. A guard block
says which rule fired and in which field, never what it matched nor whose identity it was (the
owner may be another persona).

Events are written to the store (:class:`~crosspost.models.Notification`) with a unique key per
event and delivery, so a notice is sent once however often the event is seen again: after a
restart, by another daemon, on a retry that fails the same way. Sending happens later, on the
daemon's own thread, never inside a delivery's transaction; a URL that fails is retried a few
times (:data:`RETRY_DELAYS`) and then given up, logged each time. A persona with
``notify_digest`` gets one message a day with what happened since the last.

Only the database being unreachable is not stored (there is nowhere to store it): each daemon
sends that once per outage, to every persona's URLs, with a text that names no persona.

Notify URLs may embed passwords and tokens: logs name a URL by its position and scheme only
(``notify[1] (mailto)``), and what apprise says about a failure is scrubbed of the URL's secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, update
from sqlmodel import col, select

from .entries import first_words
from .models import Notification, utcnow
from .notifysend import next_digest, send, send_all, url_id
from .when import format_local

if TYPE_CHECKING:
    from sqlmodel import Session

    from .app import App
    from .guard.findings import Finding
    from .profiles import Persona
    from .store import Store

log = logging.getLogger("crosspost.notices")

# events
FAILED = "failed"  # permanently, or transient until retries ran out
UNKNOWN = "unknown"
HELD = "held"  # too late when the daemon got to it
BLOCKED = "blocked"  # by the leak guard at publish time
CREDENTIALS = "credentials"  # the platform rejected the account's credentials
LOGIN_ENDS = "login-ends"  # an account's login expires soon (known from its token)
DATABASE = "database"  # the daemon cannot reach the database (not stored)

HEADLINES = {
    FAILED: "a post failed",
    UNKNOWN: "unclear whether a post went out",
    HELD: "a post is held",
    BLOCKED: "the leak guard blocked a post",
    CREDENTIALS: "credentials rejected",
    LOGIN_ENDS: "an account's login ends soon",
}

#: sending a notice is tried this often in all, these delays apart, then given up
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: how long one sender keeps notices it is sending from other daemons
LEASE = timedelta(minutes=5)


# -- the text ---------------------------------------------------------------------------------


def blocked_reasons(findings: Iterable[Finding]) -> str:
    """What a guard block may say in a notice: rule and field, neither the matched text nor
    whose identity it was."""
    return "; ".join(dict.fromkeys(f"[{f.rule}] in {f.field}" for f in findings if f.blocks))


def compose(
    event: str,
    persona: Persona,
    post: Any,
    targets: Sequence[str],
    error: str,
    hint: str | None,
) -> tuple[str, str]:
    """Title and body of a notice, from this persona's post, its targets and the error; a
    blocked post is named by its id only."""
    if event == BLOCKED:
        # the post's own words may be what the guard matched: only its id
        label, named = f"post {post.id}", f"Post {post.id}"
    else:
        label = post.title or first_words(post.body)
        named = f'Post {post.id} "{label}"'
    title = f"crosspost ({persona.name}): {HEADLINES[event]}: {label}"
    lines = [
        named,
        f"Scheduled for {format_local(post.scheduled_at, persona.tz)}",
        f"Target: {', '.join(targets)}",
        f"What happened: {error}",
    ]
    if hint:
        lines.append(f"What to do: {hint}")
    return title, "\n".join(lines)


# -- recording --------------------------------------------------------------------------------


def record(
    store: Store,
    persona: Persona,
    event: str,
    post: Any,
    *,
    targets: Sequence[str],
    error: str,
    hint: str | None = None,
    delivery_id: int | None = None,
    now: datetime | None = None,
    within: Session | None = None,
) -> bool:
    """Keep a notice of ``event`` unless this event of this delivery (or, without one, post)
    has one already; False when it had or the persona has no ``notify`` URLs. ``within``:
    the caller's transaction, so the notice is stored with the change it tells of or neither
    is (a crash between two transactions would hold a post unnoticed)."""
    values = _values(persona, event, post, targets, error, hint, delivery_id, now)
    if values is None:
        return False
    if within is not None:
        return within.execute(_insert(store, values)).first() is not None
    return _keep(store, values)


def _values(
    persona: Persona,
    event: str,
    post: Any,
    targets: Sequence[str],
    error: str,
    hint: str | None,
    delivery_id: int | None,
    now: datetime | None,
) -> dict[str, Any] | None:
    if not persona.notify:
        return None
    subject = f"delivery:{delivery_id}" if delivery_id is not None else f"post:{post.id}"
    title, body = compose(event, persona, post, targets, error, hint)
    return {
        "key": f"{event}:{subject}",
        "event": event,
        "persona": persona.name,
        "post_id": post.id,
        "delivery_id": delivery_id,
        "title": title,
        "body": body,
        "created_at": now or utcnow(),
        "delivered": [],
        "attempts": 0,
    }


def record_login_end(
    store: Store,
    persona: Persona,
    target: str,
    ends_at: datetime,
    *,
    command: str,
    now: datetime | None = None,
) -> bool:
    """Keep a notice that ``target``'s login ends at ``ends_at``: once per login (a new
    login has a new expiry, and is told again when that one nears)."""
    if not persona.notify:
        return False
    now = now or utcnow()
    verb = "ended" if ends_at <= now else "ends"
    body = "\n".join(
        [
            f"Account: {target}",
            f"The login {verb}: {format_local(ends_at, persona.tz)}",
            f"What to do: run {command}; until then posts to {target} fail",
        ]
    )
    return _keep(
        store,
        {
            "key": f"{LOGIN_ENDS}:{persona.name}:{target}:{int(ends_at.timestamp())}",
            "event": LOGIN_ENDS,
            "persona": persona.name,
            "title": f"crosspost ({persona.name}): {HEADLINES[LOGIN_ENDS]}: {target}",
            "body": body,
            "created_at": now,
            "delivered": [],
            "attempts": 0,
        },
    )


def _insert(store: Store, values: dict[str, Any]) -> Any:
    """Insert a notice unless one with its key exists (RETURNING its id when added)."""
    table = Notification.__table__  # type: ignore[attr-defined]
    stmt: Any
    if store.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing(index_elements=["key"])
    else:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).values(**values).on_conflict_do_nothing(index_elements=["key"])
    # RETURNING, not rowcount: drivers disagree on the count of a skipped insert
    return stmt.returning(table.c.id)


def _keep(store: Store, values: dict[str, Any]) -> bool:
    """Insert a notice unless one with its key exists; True when it was added."""
    with store.write_conn() as conn:
        added = conn.execute(_insert(store, values)).first()
    return added is not None


def safely(what: str, fn: Any, *args: Any, **kw: Any) -> None:
    """Run ``fn``; a notice that cannot be recorded is logged and never fails a delivery."""
    try:
        fn(*args, **kw)
    except Exception as e:  # noqa: BLE001 - whatever it is, the delivery's outcome stands
        log.warning("could not keep a notice of %s: %s", what, type(e).__name__)


def pending(store: Store) -> list[Notification]:
    """Notices still to send, oldest first."""
    with store.read() as s:
        return list(
            s.exec(
                select(Notification)
                .where(col(Notification.sent_at).is_(None))
                .where(Notification.attempts < MAX_ATTEMPTS)
                .order_by(col(Notification.id))
            )
        )


@dataclass
class _Batch:
    """A persona's notices being sent in one flush, and what each URL did with them."""

    rows: list[Notification]
    failures: dict[int, list[str]] = field(default_factory=dict)


class Sender:
    """Sends what :func:`record` kept: per persona, immediately or as its daily digest."""

    def __init__(self, app: App) -> None:
        self.app = app
        #: the database was unreachable when last looked at (one notice per outage)
        self.database_down = False

    def flush(self, now: datetime | None = None) -> int:
        """Send the notices that are due; returns how many are done."""
        now = now or utcnow()
        store = self.app.store
        personas = self.app.personas.by_name
        due: list[Notification] = []
        by_persona: dict[str, list[Notification]] = {}
        for n in pending(store):
            by_persona.setdefault(n.persona, []).append(n)
        for name, rows in by_persona.items():
            p = personas.get(name)
            if p is not None and p.notify_digest and p.notify:
                first = min(r.created_at for r in rows)
                if next_digest(first, p.notify_digest, p.tz) > now:
                    continue
            due += [r for r in rows if r.next_try_at is None or r.next_try_at <= now]
        mine = self._lease([r for r in due if r.id is not None], now)
        done = 0
        for name in dict.fromkeys(r.persona for r in mine):
            rows = [r for r in mine if r.persona == name]
            batch = self._send(personas.get(name), rows)
            done += self._settle(batch, personas.get(name), now)
        return done

    def _lease(self, rows: list[Notification], now: datetime) -> list[Notification]:
        """Take the rows no other sender is sending (several daemons on one database)."""
        if not rows:
            return []
        table = Notification.__table__  # type: ignore[attr-defined]
        mine = []
        with self.app.store.write_conn() as conn:
            for r in rows:
                taken = conn.execute(
                    update(table)
                    .where(
                        and_(
                            table.c.id == r.id,
                            table.c.sent_at.is_(None),
                            or_(table.c.lease_until.is_(None), table.c.lease_until < now),
                        )
                    )
                    .values(lease_until=now + LEASE)
                ).rowcount
                if taken:
                    mine.append(r)
        return mine

    def _send(self, persona: Persona | None, rows: list[Notification]) -> _Batch:
        batch = _Batch(rows)
        urls = persona.notify if persona is not None else []
        for i, url in enumerate(urls):
            uid = url_id(url)
            todo = [r for r in rows if uid not in r.delivered]
            if not todo:
                continue
            assert persona is not None
            if persona.notify_digest:
                messages = [(*digest(persona, todo), todo)]
            else:
                messages = [(r.title, r.body, [r]) for r in todo]
            for title, body, covered in messages:
                result = send(i, url, title, body, persona.name)
                for r in covered:
                    if result.ok:
                        r.delivered = [*r.delivered, uid]
                    else:
                        batch.failures.setdefault(r.id or 0, []).append(
                            f"{result.name}: {result.reason}"
                        )
        return batch

    def _settle(self, batch: _Batch, persona: Persona | None, now: datetime) -> int:
        """Write back what was sent; schedule another try for what was not."""
        wanted = {url_id(u) for u in (persona.notify if persona is not None else [])}
        table = Notification.__table__  # type: ignore[attr-defined]
        done = 0
        with self.app.store.write_conn() as conn:
            for r in batch.rows:
                values: dict[str, Any] = {"delivered": r.delivered, "lease_until": None}
                if wanted <= set(r.delivered):
                    values["sent_at"] = now
                    done += 1
                else:
                    attempts = r.attempts + 1
                    error = "; ".join(batch.failures.get(r.id or 0, [])) or "not sent"
                    values |= {"attempts": attempts, "last_error": error}
                    if attempts < MAX_ATTEMPTS:
                        values["next_try_at"] = now + RETRY_DELAYS[attempts - 1]
                        log.warning(
                            "notice %s of persona '%s' not sent (%s); trying again later",
                            r.id,
                            r.persona,
                            error,
                        )
                    else:
                        log.error(
                            "notice %s of persona '%s' not sent after %d attempts (%s); "
                            "giving up (see 'crosspost notify test --persona %s')",
                            r.id,
                            r.persona,
                            attempts,
                            error,
                            r.persona,
                        )
                conn.execute(update(table).where(table.c.id == r.id).values(**values))
        return done

    def database_unreachable(self, problem: str) -> None:
        """Tell every persona, once per outage, that nothing is published meanwhile."""
        if self.database_down:
            return
        self.database_down = True
        try:
            personas = list(self.app.personas)
        except Exception:  # noqa: BLE001 - profiles broken too: nobody to tell
            return
        title = "crosspost: the daemon cannot reach its database"
        body = (
            f"{problem}\nNothing is published until the database is back; the daemon keeps "
            "trying and publishes what is due then."
        )
        for p in personas:
            for result in send_all(p.name, p.notify, title, body):
                if not result.ok:
                    log.warning(
                        "could not tell persona '%s' that the database is unreachable: %s: %s",
                        p.name,
                        result.name,
                        result.reason,
                    )

    def database_reachable(self) -> None:
        self.database_down = False


def digest(persona: Persona, rows: Sequence[Notification]) -> tuple[str, str]:
    """One message for a persona's notices of the day."""
    n = len(rows)
    title = f"crosspost ({persona.name}): {n} notice{'s' if n != 1 else ''}"
    parts = [f"{r.title.removeprefix(f'crosspost ({persona.name}): ')}\n{r.body}" for r in rows]
    return title, "\n\n".join(parts)
