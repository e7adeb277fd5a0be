"""The exposure audit: what each persona has already published, checked against the others.

The guard stops a leak before it goes out; it cannot see what went out before crosspost was
used, what was posted by hand, or a bio written years ago. ``crosspost audit-exposure`` reads
each target back from its platform (its latest posts, and the account's profile: display
name, bio, profile fields, avatar description, the blog's title and tagline), and runs the
same content guard a queued post gets (:func:`crosspost.checking.check_texts`) over every
piece, as the persona that published it.

A target that cannot be read (no credentials, unreachable, a platform or API tier that does
not allow reading) is a note on that target; the others are still audited. Findings say
where (the item's link) and why. What matched is never in a finding of a confidential
identifier (the report may end up in a ticket or a log); identity and never-mention messages
name the profile's own term, as ``check`` does, and :meth:`Finding.shown_message` words them
without it for screens others may see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .checking import check_texts
from .errors import CrosspostError
from .guard.findings import Finding
from .platforms.base import (
    DEFAULT_HISTORY_LIMIT,
    Adapter,
    AdapterContext,
    ProfileInfo,
    PublishedItem,
    ReadUnsupported,
)

if TYPE_CHECKING:
    from .app import App
    from .profiles import Persona, Personas

__all__ = [
    "Audit",
    "Exposure",
    "TargetRead",
    "audit",
    "check_read",
    "imported_items",
    "read_target",
    "remember",
    "run",
]


@dataclass(frozen=True)
class Exposure:
    """One finding in something already published."""

    persona: str
    target: str
    platform: str
    #: "post" or "profile"
    kind: str
    #: the post's (or profile's) address; None when the platform gave none
    url: str | None
    #: which part: "body", "title", "media[0].alt", "bio", "field Website"...
    field: str
    published_at: datetime | None
    rule: str
    severity: str
    message: str
    #: the persona whose identity shows, when the rule is about another persona
    owner: str | None = None

    @property
    def blocks(self) -> bool:
        return self.severity == "block"

    def shown_message(self) -> str:
        """The message for a page that may be on a shared screen: identity and never-mention
        messages repeat the profile's term that matched (the terminal shows it, as ``check``
        does), so they are said without it, as the audit log keeps them."""
        from .auditlog import keeps_message

        if keeps_message(self.rule):
            return self.message
        if self.rule == "never-mention":
            return f"one of persona '{self.persona}''s never_mention terms (not shown)"
        if self.owner is not None:
            return f"identifies persona '{self.owner}' (the term is not shown)"
        return f"[{self.rule}] in {self.field} (the matched text is not shown)"

    def to_json(self) -> dict[str, Any]:
        return {
            "persona": self.persona,
            "target": self.target,
            "platform": self.platform,
            "kind": self.kind,
            "url": self.url,
            "field": self.field,
            "published_at": _iso(self.published_at),
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "owner": self.owner,
        }


@dataclass
class TargetRead:
    """What was read of one target, and what could not be."""

    persona: str
    target: str
    platform: str
    items: list[PublishedItem] = field(default_factory=list)
    profile: ProfileInfo | None = None
    #: why something of the target was not read (one line each, with the fix when known)
    notes: list[str] = field(default_factory=list)
    #: items remembered for the correlation checks that were not known before
    imported: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "persona": self.persona,
            "target": self.target,
            "platform": self.platform,
            "items": len(self.items),
            "profile": self.profile is not None,
            "imported": self.imported,
            "notes": list(self.notes),
        }


@dataclass
class Audit:
    reads: list[TargetRead]
    findings: list[Exposure]

    @property
    def blocked(self) -> bool:
        return any(f.blocks for f in self.findings)

    @property
    def posts_checked(self) -> int:
        return sum(len(r.items) for r in self.reads)

    @property
    def profiles_checked(self) -> int:
        return sum(r.profile is not None for r in self.reads)

    def summary(self) -> str:
        """One line for people: the command's last line and the web page's heading."""
        checked = f"{self.posts_checked} posts and {self.profiles_checked} profiles checked"
        if self.blocked:
            return f"exposed: {checked}; fix or delete the blocking items"
        if self.findings:
            return f"nothing blocks (warnings only): {checked}"
        return f"clean: {checked}; nothing of another persona found"

    def to_json(self) -> dict[str, Any]:
        return {
            "blocked": self.blocked,
            "targets": [r.to_json() for r in self.reads],
            "findings": [f.to_json() for f in self.findings],
        }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _note(what: str, e: Exception) -> str:
    from .logs import redact

    if isinstance(e, CrosspostError):
        text = f"{e.message} ({e.hint})" if e.hint else e.message
    elif isinstance(e, ReadUnsupported):
        text = str(e)
    else:
        # an SDK's surprise: one line on this target, and the audit goes on with the others
        text = f"unexpected {type(e).__name__}: {e}"
    return f"{what}: {redact(text)}"


def read_target(
    adapter: Adapter, read: TargetRead, limit: int = DEFAULT_HISTORY_LIMIT
) -> TargetRead:
    """Fill ``read`` from ``adapter``: its history, then its profile. A failure of either is
    a note; a login that is missing or refused is noted once, not twice."""
    try:
        read.items = adapter.history(limit)
    except Exception as e:  # noqa: BLE001 - every failure is a note on this target
        read.notes.append(_note("posts not read", e))
        if isinstance(e, CrosspostError) and e.hint and "accounts login" in e.hint:
            read.notes.append("profile not read: same reason")
            return read
    try:
        read.profile = adapter.profile()
    except Exception as e:  # noqa: BLE001
        read.notes.append(_note("profile not read", e))
    return read


def check_read(
    personas: Personas, persona: Persona, read: TargetRead, *, secret: bytes | None = None
) -> list[Exposure]:
    """Guard findings in everything ``read`` holds, as ``persona`` (who published it)."""
    out: list[Exposure] = []

    def add(kind: str, url: str | None, at: datetime | None, findings: Iterable[Finding]) -> None:
        seen: set[tuple[str, str, str]] = set()
        for f in findings:
            key = (f.rule, f.field, f.message)
            if key in seen:  # the same identifier twice in one field is one finding
                continue
            seen.add(key)
            out.append(
                Exposure(
                    persona=read.persona,
                    target=read.target,
                    platform=read.platform,
                    kind=kind,
                    url=url,
                    field=f.field,
                    published_at=at,
                    rule=f.rule,
                    severity=f.severity,
                    message=f.message,
                    owner=f.owner,
                )
            )

    if read.profile is not None and read.profile.fields:
        found = check_texts(personas, persona, read.profile.fields, secret=secret)
        add("profile", read.profile.url, None, found)
    for item in read.items:
        found = check_texts(personas, persona, item.fields(), secret=secret)
        add("post", item.url, item.published_at, found)
    return out


def imported_items(read: TargetRead) -> list[tuple[str, str | None, str, datetime]]:
    """What the store keeps of ``read`` for the correlation checks: items with a time and
    an id (or a URL standing in for one), as (remote id, URL, text, published at)."""
    out = []
    for item in read.items:
        key = item.remote_id or item.url
        if key is None or item.published_at is None:
            continue
        text = "\n".join(t for _, t in item.fields())
        out.append((key, item.url, text, item.published_at))
    return out


def remember(app: App, read: TargetRead) -> None:
    """Keep ``read``'s items for the near-duplicate and separation checks of later posts; a
    database that cannot be written is a note (the audit itself stands)."""
    from .errors import StoreError

    try:
        read.imported = app.store.import_posts(read.persona, read.target, imported_items(read))
    except StoreError as e:
        read.notes.append(_note("posts not remembered for the correlation checks", e))


def audit(
    app: App,
    persona: str | None = None,
    *,
    limit: int = DEFAULT_HISTORY_LIMIT,
    secret: bytes | None = None,
    record: bool = True,
    make: Callable[[AdapterContext], Adapter] | None = None,
    on_read: Callable[[TargetRead], None] | None = None,
) -> Audit:
    """Read every target of ``persona`` (default: every persona) and check what it shows.

    ``record``: keep what was read for the correlation checks of posts queued later (see
    :meth:`crosspost.store.Store.import_posts`). ``make`` builds an adapter from its context
    (default: the registry's); ``on_read`` is called after each target is read (the CLI says
    what it is doing)."""
    from .contexts import context_for
    from .platforms import registry

    build = make or registry.make_adapter
    personas = app.personas
    chosen: Sequence[Persona] = [personas.get(persona)] if persona else list(personas)
    reads: list[TargetRead] = []
    findings: list[Exposure] = []
    for p in chosen:
        for target in p.target_names():
            ctx = context_for(app, p, target)
            read = TargetRead(p.name, target, ctx.platform)
            try:
                adapter = build(ctx)
            except Exception as e:  # noqa: BLE001 - a target that cannot be built is a note
                read.notes.append(_note("not read", e))
            else:
                try:
                    read_target(adapter, read, limit)
                finally:
                    adapter.close()
            if record and read.items:
                remember(app, read)
            reads.append(read)
            if on_read is not None:
                on_read(read)
            findings += check_read(personas, p, read, secret=secret)
    return Audit(reads, findings)


def run(
    app: App,
    persona: str | None = None,
    *,
    limit: int = DEFAULT_HISTORY_LIMIT,
    record: bool = True,
    on_read: Callable[[TargetRead], None] | None = None,
) -> Audit:
    """The audit as ``crosspost audit-exposure`` and ``crosspost serve`` run it: with the
    guard key (hashed confidential identifiers count too) and the registry's adapters."""
    from .guardkey import guard_secret

    return audit(
        app, persona, limit=limit, secret=guard_secret(app), record=record, on_read=on_read
    )
