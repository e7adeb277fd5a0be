"""Which persona, which targets and what time a post is for, from the configuration alone.

Kept apart from :mod:`.queueing` (which writes the queue) so that ``check`` reaches a verdict
without importing the database layer: resolving a post needs the profiles, not the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .entries import Entry
from .errors import UsageError
from .profiles import Persona, Personas
from .slots import next_free_slot
from .targets import Target
from .when import When, absolute, format_local, localize, parse_when

if TYPE_CHECKING:
    from .guard.findings import Finding
    from .store import Store


def resolve_persona(personas: Personas, entry: Entry, option: str | None) -> Persona:
    if option and entry.persona and option != entry.persona:
        raise UsageError(
            f"{entry.source or 'the entry'} says persona '{entry.persona}' but --persona is "
            f"'{option}'",
            hint="remove one of them or make them agree",
        )
    name = option or entry.persona
    if not name:
        raise UsageError(
            "which persona is this post for?",
            hint=f"add --persona ({', '.join(personas.names()) or 'no personas yet'}) "
            "or 'persona:' in the front matter",
        )
    return personas.get(name)


def resolve_targets(
    personas: Personas, persona: Persona, entry: Entry, requested: Sequence[str] | None
) -> tuple[list[Target], list[str]]:
    """Targets of the post, and the names that belong to another persona (routing)."""
    names = split_list(requested) if requested else entry.to
    if not names:
        names = (["blog"] if persona.blog and entry.kind == "entry" else []) + [
            a.name for a in persona.accounts
        ]
        if not names:
            raise UsageError(
                f"persona '{persona.name}' has no blog and no accounts to post to",
                hint=f"add [blog] or [[accounts]] to {persona.source}",
            )
    owners = personas.account_owners()
    targets: list[Target] = []
    foreign: list[str] = []
    for n in dict.fromkeys(names):
        if n == "blog":
            if persona.blog is None:
                raise UsageError(
                    f"persona '{persona.name}' has no blog",
                    hint=f"add a [blog] section to {persona.source} or leave 'blog' out of --to",
                )
            targets.append(Target("blog", persona.blog.platform, "blog"))
            continue
        account = persona.account(n)
        if account is not None:
            targets.append(Target(n, account.platform, "share"))
        elif n in owners:
            foreign.append(n)
        else:
            raise UsageError(
                f"unknown account '{n}' for persona '{persona.name}'",
                hint=f"its targets are: {', '.join(persona.target_names()) or 'none'}",
            )
    return targets, foreign


def split_list(values: Sequence[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def resolve_when(
    store: Store | None,
    persona: Persona,
    entry: Entry | None,
    at: str | None,
    next_slot: bool,
    now: datetime | None = None,
    *,
    fits: Callable[[datetime], bool] | None = None,
) -> When:
    """When a post goes out: ``at``, the next free slot (and, with ``fits``, one where the
    post fits: its accounts' caps, see :func:`crosspost.queueing.within_caps`), the entry's
    own ``at``, or now."""
    now = now or datetime.now(UTC)
    if at and next_slot:
        raise UsageError("give either --at or --next-slot, not both")
    if next_slot:
        if not persona.slots:
            raise UsageError(
                f"persona '{persona.name}' has no posting slots",
                hint=f'add slots = ["Mon-Fri 08:30"] to {persona.source}, or use --at',
            )
        taken = store.queued_times(persona.name) if store is not None else []
        jitter = persona.slot_jitter or timedelta(0)
        slot = next_free_slot(persona.slots, persona.tz, now, taken, jitter, fits)
        if slot is None:
            raise UsageError(
                f"no free slot in the next 60 days for persona '{persona.name}'"
                + (" within its accounts' caps" if fits is not None else "")
            )
        return When(slot)
    if at:
        return parse_when(at, persona.tz, now)
    if entry is None:
        return When(now)
    if isinstance(entry.at, datetime):
        if entry.at.tzinfo:
            when = absolute(entry.at, f"{entry.source}: front matter 'at' {entry.at.isoformat()}")
        else:
            when = localize(entry.at, persona.tz)
        if when.utc < now:
            raise UsageError(
                f"{entry.source}: front matter 'at' ({format_local(when.utc, persona.tz)}) is "
                f"in the past (now is {format_local(now, persona.tz)})",
                hint="change it or give --at",
            )
        return when
    if isinstance(entry.at, str):
        return parse_when(entry.at, persona.tz, now)
    return When(now)


def rhythm_findings(
    persona: Persona, at: datetime | None, posts: Sequence[Any], now: datetime | None = None
) -> list[Finding]:
    """``fingerprint.rhythm`` for ``persona`` (a post at ``at``, or its schedule as it is)."""
    from .guard.rhythm import check_rhythm

    return check_rhythm(
        persona.name,
        at,
        posts,
        now or datetime.now(UTC),
        persona.guard.rules,
        fmt_time=lambda t: format_local(t, persona.tz),
    )
