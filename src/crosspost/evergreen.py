"""The evergreen pool: a persona's published entries, re-shared in rotation.

The pool is the persona's published blog entries marked ``evergreen: true`` (or all of them,
``[evergreen] all_entries``). The next entry is the one whose last share (its publication or
its latest re-share) is the oldest, and at least ``min_gap`` before the time the re-share would
go out. A re-share is a share-only post of its own (the entry's canonical URL, no blog
publication) that goes through everything ``queue`` does: the leak guard on its texts, the
separation window and the other timing checks, the caps; then the publisher checks it again.

An entry's ``evergreen_texts`` are alternatives, by platform or account name (``*``: any),
taken in turn: its n-th re-share uses text n (modulo their number) on each target; a target
without alternatives gets its share template.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, func, select

from .app import App
from .entries import Entry
from .errors import Blocked, CrosspostError, UsageError
from .models import PARTIAL, PUBLISHED, Delivery, Post
from .planning import resolve_when
from .profiles import Account, Persona
from .queueing import (
    STILL_QUEUED,
    TAKEN,
    Plan,
    apply_jitter,
    commit_plan,
    plan_entry,
    refuse_over_caps,
)
from .when import When

log = logging.getLogger("crosspost.evergreen")


class EntryBlocked(Blocked):
    """The guard blocks the texts of this entry (not its time): another entry may go."""


@dataclass(frozen=True)
class Candidate:
    """An entry of the pool and when it was last shared."""

    post_id: int
    title: str | None
    url: str
    last_share: datetime
    #: re-shares so far (queued or out): which alternative text comes next
    shares: int
    entry: Any  # the stored post

    def eligible_at(self, persona: Persona) -> datetime:
        return self.last_share + persona.evergreen.min_gap


@dataclass(frozen=True)
class Reshare:
    """What ``evergreen run`` would queue: the entry, when, and each target's text."""

    persona: Persona
    candidate: Candidate | None
    when: When
    texts: dict[str, str]
    pool: int
    #: the first time an entry of the pool may go again, when none may at ``when``
    waiting_until: datetime | None = None


def pool(app: App, persona: Persona) -> list[Candidate]:
    """The persona's pool, the longest unshared first."""
    with app.store.read() as s:
        posts = [
            p
            for p in s.exec(
                select(Post).where(
                    Post.persona == persona.name,
                    Post.kind == "entry",
                    col(Post.status).in_((PUBLISHED, PARTIAL)),
                    col(Post.evergreen_of).is_(None),
                )
            )
            if persona.evergreen.all_entries or p.evergreen is not None
        ]
        ids = [p.id for p in posts]
        blogs = {
            d.post_id: d
            for d in s.exec(
                select(Delivery).where(
                    col(Delivery.post_id).in_(ids),
                    Delivery.role == "blog",
                    Delivery.state == PUBLISHED,
                )
            )
        }
        reshares = {
            of: (last, n)
            for of, last, n in s.exec(
                select(Post.evergreen_of, func.max(Post.scheduled_at), func.count())
                .where(col(Post.evergreen_of).in_(ids), col(Post.status).in_(TAKEN))
                .group_by(col(Post.evergreen_of))
            )
        }
    out = []
    for p in posts:
        blog = blogs.get(p.id or 0)
        if blog is None or not blog.remote_url:
            continue  # no canonical URL to share
        published = blog.published_at or p.scheduled_at
        last, n = reshares.get(p.id, (None, 0))
        if isinstance(last, str):  # SQLite hands an aggregate back untyped
            last = datetime.fromisoformat(last)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        out.append(
            Candidate(
                p.id or 0,
                p.title,
                blog.remote_url,
                max(published, last) if last is not None else published,
                int(n),
                p,
            )
        )
    return sorted(out, key=lambda c: (c.last_share, c.post_id))


def targets_of(persona: Persona) -> list[Account]:
    names = persona.evergreen.to
    if names is None:
        return list(persona.accounts)
    out = []
    for n in names:
        account = persona.account(n)
        if account is None:
            raise UsageError(
                f"[evergreen] to names '{n}', not an account of persona '{persona.name}'",
                hint=f"its accounts are: {', '.join(a.name for a in persona.accounts) or 'none'}"
                f" (in {persona.source})",
            )
        out.append(account)
    return out


def text_for(persona: Persona, account: Account, c: Candidate) -> str:
    """The re-share text of ``c`` for ``account``: the next alternative, or the template."""
    from .compose import ShareInput, render_share

    texts: dict[str, list[str]] = (c.entry.evergreen or {}).get("texts", {})
    choices = texts.get(account.name) or texts.get(account.platform) or texts.get("*")
    template = choices[c.shares % len(choices)] if choices else (account.share or persona.share)
    p = c.entry
    data = ShareInput(title=p.title, url=c.url, summary=p.summary, tags=tuple(p.tags), body=p.body)
    return render_share(template, data).strip()


def plan_next(
    app: App, persona: Persona, now: datetime, skip: frozenset[int] = frozenset()
) -> Reshare:
    """The entry the persona would re-share next (none of ``skip``), when, and with which
    texts."""
    when = resolve_when(app.store, persona, None, None, bool(persona.slots), now)
    when = apply_jitter(app, persona, when, now)
    accounts = targets_of(persona)
    cands = [c for c in pool(app, persona) if c.post_id not in skip]
    chosen = next((c for c in cands if c.eligible_at(persona) <= when.utc), None)
    if chosen is None:
        waiting = min((c.eligible_at(persona) for c in cands), default=None)
        return Reshare(persona, None, when, {}, len(cands), waiting)
    texts = {a.name: text_for(persona, a, chosen) for a in accounts}
    return Reshare(persona, chosen, when, texts, len(cands))


def is_due(app: App, persona: Persona, now: datetime) -> bool:
    """Whether the daemon should queue the persona's next re-share: evergreen is enabled, no
    re-share of the persona is still waiting to go out, and the last one is ``every`` ago."""
    if not persona.evergreen.enabled:
        return False
    with app.store.read() as s:
        rows = s.exec(
            select(Post.status, Post.scheduled_at).where(
                Post.persona == persona.name,
                col(Post.evergreen_of).is_not(None),
                col(Post.status).in_(TAKEN),
            )
        ).all()
    if any(status in STILL_QUEUED for status, _ in rows):
        return False
    last = max((at for _, at in rows), default=None)
    return last is None or now - last >= persona.evergreen.every


def queue_next(app: App, persona: Persona, now: datetime) -> tuple[Post, Reshare]:
    """Queue the persona's next re-share; a UsageError when no entry may go, Blocked when
    the guard refuses its texts (audited, nothing queued)."""
    nxt = plan_next(app, persona, now)
    return _queue(app, persona, nxt), nxt


def _queue(app: App, persona: Persona, nxt: Reshare) -> Post:
    c = nxt.candidate
    if c is None:
        why = (
            f"no entry of its pool may be shared again before {_local(nxt.waiting_until, persona)}"
            f" (min_gap {_gap(persona)})"
            if nxt.waiting_until is not None
            else "its evergreen pool is empty"
        )
        raise UsageError(
            f"persona '{persona.name}': {why}",
            hint="mark published entries with 'evergreen: true' in their front matter (or set "
            f"all_entries = true under [evergreen] in {persona.source})",
        )
    if not nxt.texts:
        raise UsageError(
            f"persona '{persona.name}' has no accounts to re-share to",
            hint=f"add [[accounts]] or [evergreen] to = [...] in {persona.source}",
        )
    plan = _plan(app, persona, nxt)
    if plan.report.blocked:
        # audited and refused by commit_plan; say which entry it was
        try:
            commit_plan(app.store, plan, app.media_dir)
        except Blocked as e:
            # a block of the time (separation, rhythm) would block any entry alike
            of_time = any(f.blocks and f.field == "at" for f in plan.report.findings)
            raise (Blocked if of_time else EntryBlocked)(
                f"re-share of post {c.post_id}: {e.message}",
                hint="change the entry's evergreen_texts (or the share template), then run "
                "'crosspost evergreen run' again",
            ) from None
    refuse_over_caps(app.store, persona, plan.targets, plan.when.utc)
    return commit_plan(app.store, plan, app.media_dir, evergreen_of=c.post_id)


def _plan(app: App, persona: Persona, nxt: Reshare) -> Plan:
    names = list(nxt.texts)
    first = nxt.texts[names[0]]
    entry = Entry(raw=first, body=first, persona=persona.name, share=dict(nxt.texts))
    return plan_entry(app, entry, persona.name, names, None, False, when=nxt.when)


def run_due(app: App, now: datetime, personas: Sequence[Persona] | None = None) -> list[int]:
    """The daemon's job: queue a re-share for every persona whose evergreen cadence is due.
    An entry whose texts the guard blocks is passed over for the next one; a persona whose
    re-share cannot be queued (none may go yet, its time is blocked) is logged and tried at
    the next run."""
    queued = []
    for persona in personas if personas is not None else list(app.personas):
        if not persona.evergreen.enabled:
            continue
        # several daemons on one PostgreSQL queue: one of them looks at a persona at a time
        with app.store.only_one(f"evergreen:{persona.name}") as mine:
            if not mine or not is_due(app, persona, now):
                continue
            found = _queue_unblocked(app, persona, now)
        if found is None:
            continue
        post, nxt = found
        assert nxt.candidate is not None and post.id is not None
        log.info(
            "evergreen: queued post %s re-sharing post %s for persona '%s' at %s",
            post.id,
            nxt.candidate.post_id,
            persona.name,
            _local(post.scheduled_at, persona),
        )
        queued.append(post.id)
    return queued


def _queue_unblocked(app: App, persona: Persona, now: datetime) -> tuple[Post, Reshare] | None:
    """The daemon's re-share: an entry whose texts the guard blocks (audited) is passed over
    for the next one, so one such entry does not stop the rotation; None when none may go."""
    skip: set[int] = set()
    while True:
        nxt = plan_next(app, persona, now, frozenset(skip))
        try:
            return _queue(app, persona, nxt), nxt
        except EntryBlocked as e:
            assert nxt.candidate is not None
            log.warning("evergreen re-share for persona '%s' passed over: %s", persona.name, e)
            skip.add(nxt.candidate.post_id)
        except CrosspostError as e:
            log.warning("evergreen re-share for persona '%s' not queued: %s", persona.name, e)
            return None


def _local(at: datetime | None, persona: Persona) -> str:
    from .when import format_local

    return "never" if at is None else format_local(at, persona.tz)


def _gap(persona: Persona) -> str:
    from .durations import format_duration

    return format_duration(persona.evergreen.min_gap)
