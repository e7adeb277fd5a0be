"""From an entry and the user's options to a checked, queued post.

Everything that can fail is done before the single write transaction, so a refused or broken
``queue`` leaves the database exactly as it was (apart from the audit record of a blocked
attempt, which is the point of the audit log).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select

from .app import App
from .auditlog import finding_detail
from .caps import Cap, caps_of, first_fit, next_minute, violations
from .contenthash import content_hash, normalised_body, normalised_title
from .entries import Entry, require_media, slugify
from .errors import Blocked, EntryError, Refused, UsageError
from .guard.correlation import RecentPost, probe_hashes
from .guard.findings import Finding, Report
from .jitter import Uniform
from .models import (
    CANCELLED,
    HELD,
    PARTIAL,
    PUBLISHED,
    PUBLISHING,
    QUEUED,
    UNKNOWN,
    Delivery,
    ImportedPost,
    Post,
    Recurrence,
    post_text,
)
from .planning import (
    resolve_persona,
    resolve_targets,
    resolve_when,
    rhythm_findings,
    split_list,
)
from .profiles import Persona, Personas
from .store import AuditEntry, Store
from .targets import Target
from .when import When, format_local


@dataclass
class Plan:
    """A post ready to be stored, with what the user should be told about it."""

    persona: Persona
    entry: Entry
    targets: list[Target]
    when: When
    report: Report
    allow: dict[str, str] = field(default_factory=dict)
    #: perceptual hash of each image of the entry, by path (None: not an image)
    hashes: dict[Path, str | None] = field(default_factory=dict)


def parse_allow(allow: Sequence[str], reason: str | None) -> dict[str, str]:
    if not allow:
        if reason:
            raise UsageError("--reason goes with --allow RULE")
        return {}
    if not reason or not reason.strip():
        raise UsageError(
            "--allow needs --reason TEXT: every override is written to the audit log with it"
        )
    rules = split_list(allow)
    if "routing" in rules:
        raise UsageError(
            "routing cannot be overridden: a post only goes to its own persona's accounts"
        )
    return {r: reason.strip() for r in rules}


def blocked_audit(plan_persona: str, report: Report, source: str | None) -> list[AuditEntry]:
    return [
        AuditEntry(
            kind="blocked",
            persona=plan_persona,
            rule=f.rule,
            detail=finding_detail(f, source=source),
        )
        for f in report.findings
        if f.blocks
    ]


def override_audit(plan_persona: str, report: Report, source: str | None) -> list[AuditEntry]:
    return [
        AuditEntry(
            kind="override",
            persona=plan_persona,
            rule=f.rule,
            reason=f.allowed_reason,
            detail=finding_detail(f, source=source),
        )
        for f in report.findings
        if f.allowed_reason is not None
    ]


def snapshot_media(
    entry: Entry, media_dir: Path, strip: bool, hashes: Mapping[Path, str | None] | None = None
) -> list[dict[str, str]]:
    """Copy media into the store's folder, so later edits of the originals change nothing.

    Images referenced in the body come after the front matter's, with ``ref`` (the reference
    as written in the body) so a blog adapter can copy them and point the body at the copy.
    Each image's perceptual hash is kept as ``phash`` (from ``hashes``, computed when the
    plan was checked), for the ``media.same-image`` rule of later posts.
    """
    from .guard.images import image_hash

    out = []
    named = [(f"media[{i}]", m) for i, m in enumerate(entry.media)]
    named += [(f"the image '{m.ref}' in the body", m) for m in entry.body_images]
    for what, m in named:
        try:
            data = m.path.read_bytes()
        except OSError as e:
            raise EntryError(
                f"{entry.source or 'entry'}: {what} {m.path}: cannot read ({e.strerror})"
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        media_dir.mkdir(parents=True, exist_ok=True)
        dest = media_dir / f"{digest}{m.path.suffix.lower()}"
        if strip:
            from .guard.media import strip_image

            strip_image(m.path, dest)
        elif not dest.exists():
            shutil.copyfile(m.path, dest)
        item = {"path": str(dest), "alt": m.alt, "sha256": digest, "original": str(m.path)}
        phash = hashes.get(m.path) if hashes is not None else image_hash(m.path)
        if phash is not None:
            item["phash"] = phash
        if m.ref is not None:
            item["ref"] = m.ref
        out.append(item)
    return out


def build_post(plan: Plan, media: list[dict[str, str]]) -> Post:
    e = plan.entry
    return Post(
        persona=plan.persona.name,
        kind=e.kind,
        title=e.title,
        body=e.body,
        summary=e.summary,
        slug=e.effective_slug(),
        lang=e.lang,
        tags=e.tags,
        categories=e.categories,
        share=e.share,
        media=media,
        source_path=str(e.source.resolve()) if e.source else None,
        source_hash=e.content_hash if e.source else None,
        scheduled_at=plan.when.utc,
        allow=plan.allow,
        thread=e.thread,
        evergreen={"texts": e.evergreen_texts} if e.evergreen or e.evergreen_texts else None,
    )


def commit_plan(
    store: Store,
    plan: Plan,
    media_dir: Path,
    series: Recurrence | None = None,
    evergreen_of: int | None = None,
) -> Post:
    """Store a checked plan (a blocked one is audited and refused); ``series`` starts a
    recurring series, ``evergreen_of`` marks a re-share of that entry."""
    if plan.report.blocked:
        store.audit(blocked_audit(plan.persona.name, plan.report, _src(plan.entry)))
        raise Blocked(blocked_message(plan.report))
    media = snapshot_media(plan.entry, media_dir, plan.persona.strips_metadata, plan.hashes)
    post = build_post(plan, media)
    post.evergreen_of = evergreen_of
    return store.enqueue(
        post,
        plan.targets,
        override_audit(plan.persona.name, plan.report, _src(plan.entry)),
        series=series,
    )


def _src(entry: Entry) -> str | None:
    return str(entry.source) if entry.source else None


def blocked_message(report: Report, when: str = "") -> str:
    """The findings that block a post; ``when`` qualifies it (" at the new time")."""
    lines = [f"blocked: the post of persona '{report.persona}' would leak{when}"]
    for f in report.findings:
        if f.blocks:
            lines.append(f"  [{f.rule}] {f.message}")
    return "\n".join(lines)


def allowances_unused(allow: Mapping[str, str], report: Report) -> list[str]:
    from .guard.findings import rule_matches

    return [r for r in allow if not any(rule_matches(r, f.rule) for f in report.findings)]


def plan_entry(
    app: App,
    entry: Entry,
    persona_name: str | None,
    to: Sequence[str] | None,
    at: str | None,
    next_slot: bool,
    allow: Sequence[str] = (),
    reason: str | None = None,
    now: datetime | None = None,
    *,
    when: When | None = None,
    rng: Uniform | None = None,
    post_id: int | None = None,
    recurring: bool = False,
) -> Plan:
    """Everything ``queue`` decides before writing: persona, targets, time, guard report.

    ``when`` is a time already decided (an edit keeps the post's). The timing checks compare
    with other personas' posts only, so an edited post is never compared with itself.
    A time taken from a slot, ``at`` or the entry's ``at`` gets the persona's ``slot_jitter``
    (drawn from ``rng``; only later for the first occurrence of a ``recurring`` post)."""
    from .checking import check_entry

    personas = app.personas
    persona = resolve_persona(personas, entry, persona_name)
    allowances = parse_allow(allow, reason)
    targets, foreign = resolve_targets(personas, persona, entry, to)
    if when is None:
        now = now or datetime.now(UTC)
        fits = within_caps(app.store, persona, targets, now, post_id) if next_slot else None
        when = resolve_when(app.store, persona, entry, at, next_slot, now, fits=fits)
        if at or next_slot or entry.at:
            when = apply_jitter(app, persona, when, now, rng, forward=recurring)
    from .guardkey import guard_secret

    secret = guard_secret(app)
    report = check_entry(
        personas,
        persona,
        entry,
        targets=[t.name for t in targets],
        foreign_targets=foreign,
        secret=secret,
    )
    report = report.merged(
        timing_findings(app, persona, entry, when.utc, secret=secret, exclude=post_id)
    )
    hashes = entry_image_hashes(entry)
    report = report.merged(same_image_findings(app, persona, entry, hashes, exclude=post_id))
    report = report.with_allowances(allowances)
    return Plan(persona, entry, targets, when, report, allowances, hashes)


def entry_image_hashes(entry: Entry) -> dict[Path, str | None]:
    from .guard.images import image_hash

    return {m.path: image_hash(m.path) for m in (*entry.media, *entry.body_images)}


def same_image_findings(
    app: App,
    persona: Persona,
    entry: Entry,
    hashes: Mapping[Path, str | None],
    *,
    exclude: int | None = None,
) -> list[Finding]:
    """``media.same-image`` for the entry's images against every other persona's queued or
    published ones (posts queued before hashes were kept are hashed from their snapshot)."""
    if not hashes:
        return []
    from .checking import check_same_images

    others = app.store.media_of_others(persona.name, TAKEN)
    return check_same_images(persona, entry, hashes, [p for p in others if p.id != exclude])


def apply_jitter(
    app: App,
    persona: Persona,
    when: When,
    now: datetime,
    rng: Uniform | None = None,
    *,
    forward: bool = False,
) -> When:
    """``when`` moved by the persona's ``slot_jitter`` (see :mod:`crosspost.jitter`; only
    later with ``forward``), with a note saying so; unchanged without one."""
    import random

    from .durations import format_duration
    from .jitter import Window, jittered

    jitter = persona.slot_jitter
    if not jitter or when.utc <= now:
        return when
    own = persona.separation or timedelta(0)
    seps = {p.name: max(own, p.separation or timedelta(0)) for p in app.personas}
    widest = max(seps.values(), default=timedelta(0))
    windows = [
        Window(p.scheduled_at, seps.get(p.persona, own))
        for p in app.store.recent_posts(when.utc - jitter - widest, when.utc + jitter + widest)
        if p.persona != persona.name
    ]
    at = jittered(when.utc, jitter, now, windows, rng or random.SystemRandom(), forward=forward)
    if at == when.utc:
        return when
    shift = at - when.utc
    sign = "+" if shift >= timedelta(0) else "-"
    note = (
        f"slot_jitter ±{format_duration(jitter)} moved {format_local(when.utc, persona.tz)} "
        f"by {sign}{format_duration(abs(shift))}"
    )
    return When(at, "; ".join(n for n in (when.note, note) if n))


def timing_findings(
    app: App,
    persona: Persona,
    entry: Entry,
    at: datetime,
    *,
    secret: bytes | None,
    exclude: int | None = None,
) -> list[Finding]:
    """Near-duplicate, separation, rhythm and session-hours findings for ``entry`` going out
    at ``at``,
    against the other personas' posts around that time (queued, held or published); post
    ``exclude`` (the one being edited or moved) is not counted."""
    from .checking import check_session_hours, check_timing
    from .guard.rhythm import SAMPLE

    personas = app.personas
    window = app.settings.guard.correlation_window
    own = persona.separation or timedelta(0)
    gaps = {p.name: max(own, p.separation or timedelta(0)) for p in personas}
    widest = max([p.separation or timedelta(0) for p in personas] + [timedelta(0)])
    # the posts within the correlation window (or the widest separation) either side of
    # ``at`` count, read so that nothing grows with the queue: the near-duplicate check reads
    # the texts of the posts sharing a shingle with this one (an exact filter, see
    # guard.correlation), the separation check the times of the posts within the widest
    # separation, the rhythm check each persona's nearest posts
    reach = max(window, widest)
    text = "\n".join(t for _, t in entry.published_fields())
    similar, similar_imported = app.store.shingle_candidates(
        persona.name, probe_hashes(text), at - reach, at + reach, exclude
    )
    recent: dict[tuple[str, int], RecentPost] = {}
    for r in _separation_times(app, persona.name, at, gaps, widest, reach, exclude):
        recent[("post", r.post_id) if r.label is None else (r.name, 0)] = r
    for p in similar:
        recent[("post", p.id or 0)] = RecentPost(p.persona, p.id or 0, post_text(p), p.scheduled_at)
    for r in map(_imported, similar_imported):
        recent[(r.name, 0)] = r
    findings = check_timing(personas, persona, entry, at, list(recent.values()), window, secret)
    findings += check_session_hours(persona, entry, at)
    names = sorted({*personas.names(), persona.name})
    sample = [
        RecentPost(name, post_id, "", when)
        for name, post_id, when in app.store.nearest_posts(names, at, reach, SAMPLE, exclude)
    ]
    return findings + rhythm_findings(persona, at, sample)


def _imported(i: ImportedPost) -> RecentPost:
    """What an account showed when 'crosspost audit-exposure' read it: posts made by hand or
    before crosspost keep the personas apart too."""
    label = f"{i.target}'s post {i.url or i.remote_id}"
    return RecentPost(i.persona, 0, i.text, i.published_at, label=label)


def _separation_times(
    app: App,
    persona: str,
    at: datetime,
    gaps: Mapping[str, timedelta],
    widest: timedelta,
    reach: timedelta,
    exclude: int | None,
) -> list[RecentPost]:
    """The other personas' posts (without texts) and imported posts the separation check
    needs: those within the widest separation of ``at``, and further on as long as the chain
    that gives the next allowed time (each blocking post pushes it to that post's time plus
    its gap) reaches beyond what was read — at most to ``at + reach``, as far as the window."""
    if widest <= timedelta(0):
        return []
    out: list[RecentPost] = []
    low, high, lower_open = at - widest, min(at + widest, at + reach), False
    while True:
        out += [
            RecentPost(name, post_id, "", when)
            for name, post_id, when in app.store.post_times(low, high, lower_open=lower_open)
            if name != persona and post_id != exclude
        ]
        out += [
            _imported(i)
            for i in app.store.imported_times(low, high, lower_open=lower_open)
            if i.persona != persona
        ]
        if high >= at + reach:
            return out
        gap = {r.persona: gaps.get(r.persona, gaps.get(persona, widest)) for r in out}
        t = at
        while True:  # the guard's walk to the next allowed time, over what was read
            blocking = [r for r in out if abs(r.at - t) < gap[r.persona]]
            if not blocking:
                break
            t = max(r.at + gap[r.persona] for r in blocking)
        if t + widest <= high:
            return out
        low, high, lower_open = high, min(t + widest, at + reach), True


def move_post(app: App, post: Post, persona: Persona, at: datetime, *, release: bool) -> Post:
    """Reschedule or release ``post`` (of ``persona``), after the timing checks its queueing
    passed: a new time must keep the separation from other personas' posts too (allowances
    given at queueing still apply)."""
    from .guardkey import guard_secret
    from .publisher import entry_from_post

    assert post.id is not None
    report = Report(
        persona.name,
        tuple(
            timing_findings(
                app, persona, entry_from_post(post), at, secret=guard_secret(app), exclude=post.id
            )
        ),
    ).with_allowances(post.allow)
    if report.blocked:
        app.store.audit(blocked_audit(persona.name, report, None), post_id=post.id)
        raise Blocked(
            blocked_message(report, " at the new time"),
            hint="pick a time outside the window (the finding names the next allowed one)",
        )
    if not release:  # a release is the user's "now, anyway"; the daemon still keeps the caps
        refuse_over_caps(
            app.store, persona, waiting_targets(app.store, post.id), at, exclude=post.id
        )
    return app.store.reschedule(post.id, at, release=release)


def move_to(
    app: App, post: Post, persona: Persona, at: str | None, next_slot: bool, *, release: bool
) -> tuple[Post, When]:
    """Reschedule (or release) ``post`` to ``at`` or its persona's next free slot where its
    accounts' caps allow it: ``reschedule`` and ``release`` of the CLI and the web app."""
    assert post.id is not None
    fits = None
    if next_slot:
        targets = waiting_targets(app.store, post.id)
        fits = within_caps(app.store, persona, targets, datetime.now(UTC), post.id)
    when = resolve_when(app.store, persona, None, at, next_slot, fits=fits)
    return move_post(app, post, persona, when.utc, release=release), when


def waiting_targets(store: Store, post_id: int) -> list[Target]:
    """The targets of a post still to be sent (queued or held)."""
    _, deliveries = store.get(post_id)
    return [Target(d.target, d.platform, d.role) for d in deliveries if d.state in (QUEUED, HELD)]


def queue_entry(
    app: App,
    entry: Entry,
    persona_name: str | None,
    to: Sequence[str] | None,
    at: str | None,
    next_slot: bool,
    allow: Sequence[str] = (),
    reason: str | None = None,
    *,
    again: bool = False,
    rng: Uniform | None = None,
    repeat: Repeat | None = None,
) -> tuple[Post, Plan]:
    """Check and queue ``entry``; refuses one already queued or published for the persona
    (same content, or the same file still queued) unless ``again``. ``repeat`` makes it the
    first occurrence of a recurring series (``--every``)."""
    require_media(entry)
    persona = resolve_persona(app.personas, entry, persona_name)
    now = datetime.now(UTC)
    series = None
    if repeat is not None:
        # the rule's wall time is the one asked for, before any slot_jitter
        base = resolve_when(app.store, persona, entry, at, next_slot, now)
        series = series_of(persona, repeat, base.utc, now)
    refuse_conflicts(app.store, persona, entry, again=again)
    plan = plan_entry(
        app,
        entry,
        persona_name,
        to,
        at,
        next_slot,
        allow,
        reason,
        now,
        rng=rng,
        recurring=series is not None,
    )
    _refuse_unused(plan)
    if series is not None:
        refuse_blog_series(plan)
    refuse_over_caps(app.store, plan.persona, plan.targets, plan.when.utc)
    return commit_plan(app.store, plan, app.media_dir, series), plan


# -- recurring posts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Repeat:
    """``--every`` and its end (``--until`` or ``--count``), as typed."""

    every: str
    until: str | None = None
    count: int | None = None


def series_of(persona: Persona, repeat: Repeat, first: datetime, now: datetime) -> Recurrence:
    """The series a post at ``first`` starts: its rule read in the persona's timezone, from
    the wall time of ``first``."""
    from .recurrence import parse_every, parse_until, with_end

    body = parse_every(repeat.every)
    start = first.astimezone(persona.tz).replace(tzinfo=None, microsecond=0)
    until = parse_until(repeat.until, persona.tz, now) if repeat.until is not None else None
    if until is not None and until < start:
        raise UsageError(
            f"--until {repeat.until!r} is before the first post "
            f"({format_local(first, persona.tz)})",
            hint="give a later end, or leave --until out",
        )
    return Recurrence(
        persona=persona.name,
        rule=with_end(body, until, repeat.count),
        dtstart=start.isoformat(),
        timezone=persona.timezone,
    )


def check_new_occurrences(app: App, limit: int = 50, rng: Uniform | None = None) -> list[int]:
    """Run the queue-time checks (leak guard, timing against other personas' posts,
    same image) on occurrences the daemon created, as ``queue`` did on the first one; an
    occurrence they block is held for the user, with the findings in the audit log. Returns
    the ids held. A persona whose profile does not load is left for a later run (the
    publisher refuses its posts meanwhile).

    The persona's ``slot_jitter`` moves each occurrence as ``queue`` moved the first: a
    weekly post at the rule's exact minute every week would line up with the other persona's
    just as an unjittered slot does."""
    import logging

    from .errors import CrosspostError
    from .guardkey import guard_secret

    log = logging.getLogger("crosspost.series")
    held = []
    secret = guard_secret(app)
    for post in app.store.needing_check(limit):
        assert post.id is not None
        try:
            if _check_occurrence(app, post, secret, rng):
                held.append(post.id)
        except CrosspostError as e:
            log.warning("occurrence %s not checked yet: %s", post.id, e.message)
        except Exception as e:
            from .dberrors import store_problem

            if store_problem(e) is not None:
                raise  # the database: the daemon says so once
            # one post's surprise leaves the others their check (it is checked again when
            # it is published, like every post)
            log.exception("occurrence %s not checked: %s", post.id, type(e).__name__)
    return held


def _check_occurrence(app: App, post: Post, secret: bytes | None, rng: Uniform | None) -> bool:
    """The queue-time checks of one occurrence (at its jittered time); True when they held
    it."""
    import logging

    from .publisher import entry_from_post

    assert post.id is not None
    log = logging.getLogger("crosspost.series")
    persona = app.personas.get(post.persona)  # a profile that does not load: a later run
    from .checking import check_entry

    entry = entry_from_post(post)
    _, deliveries = app.store.get(post.id)
    when = apply_jitter(app, persona, When(post.scheduled_at), datetime.now(UTC), rng, forward=True)
    moved = when if when.utc != post.scheduled_at else None
    report = check_entry(
        app.personas, persona, entry, targets=[d.target for d in deliveries], secret=secret
    )
    report = report.merged(
        timing_findings(app, persona, entry, when.utc, secret=secret, exclude=post.id)
    )
    hashes = _stored_hashes(post, entry)
    report = report.merged(same_image_findings(app, persona, entry, hashes, exclude=post.id))
    report = report.with_allowances(post.allow)
    if not report.blocked:
        app.store.settle_check(post.id, None, moved=moved)
        return False
    from .auditlog import finding_summary

    reasons = "; ".join(dict.fromkeys(finding_summary(f) for f in report.findings if f.blocks))
    note = (
        f"held: the leak guard blocks this occurrence ({reasons}); "
        f"'crosspost reschedule {post.id} --at WHEN' moves it, 'crosspost cancel "
        f"{post.id}' skips it"
    )
    if app.store.settle_check(
        post.id, note, blocked_audit(persona.name, report, None), moved=moved
    ):
        log.warning("recurring post %s held: blocked by the leak guard", post.id)
        return True
    return False


def _stored_hashes(post: Post, entry: Entry) -> dict[Path, str | None]:
    """The images of a stored post with the perceptual hashes kept at queueing."""
    by_path = {m["path"]: m.get("phash") for m in post.media}
    return {m.path: by_path.get(str(m.path)) for m in (*entry.media, *entry.body_images)}


def refuse_blog_series(plan: Plan) -> None:
    """A blog entry is published once; what recurs is a share (evergreen re-shares entries)."""
    if any(t.role == "blog" for t in plan.targets):
        raise UsageError(
            "--every repeats shares only: a blog entry is published once",
            hint="leave the blog out with --to ACCOUNT,…, or queue a short text (--text) to repeat",
        )


# -- caps ----------------------------------------------------------------------------------------


def refuse_over_caps(
    store: Store,
    persona: Persona,
    targets: Sequence[Target],
    at: datetime,
    *,
    exclude: int | None = None,
) -> None:
    """Refuse a post at ``at`` that would put one of its accounts over a cap (``daily_cap``,
    ``min_interval``), counting the account's published, publishing and queued posts (not
    post ``exclude``, the one being edited), and name the next time it fits."""
    caps = caps_of([persona])
    lines = []
    latest = at
    for t in targets:
        cap = caps.get(t.name)
        if cap is None:
            continue
        times = account_times(store, cap, at, exclude)
        broken = violations(cap, times, at)
        if not broken:
            continue
        nxt = first_fit(cap, times, at)
        while (rounded := next_minute(nxt)) != nxt:  # a time the user can type back
            nxt = first_fit(cap, times, rounded)
        latest = max(latest, nxt)
        lines.append(
            f"a post to account '{t.name}' at {format_local(at, persona.tz)} would go over its "
            f"{' and '.join(broken)} (counting its published, queued and unclear posts); the next "
            f"allowed time is {format_local(nxt, persona.tz)}"
        )
    if lines:
        local = latest.astimezone(persona.tz)
        raise Refused(
            "\n".join(lines),
            hint=f"queue it with --at '{local:%Y-%m-%d %H:%M}', or leave the account out with "
            f"--to; the caps are set in {persona.source}",
        )


def within_caps(
    store: Store,
    persona: Persona,
    targets: Sequence[Target],
    now: datetime,
    exclude: int | None,
) -> Callable[[datetime], bool] | None:
    """Does a post at a given time keep every capped account among ``targets`` within its
    caps? None when no target has a cap."""
    caps = caps_of([persona])
    capped = [
        (caps[t.name], account_times(store, caps[t.name], now, exclude))
        for t in targets
        if t.name in caps
    ]
    if not capped:
        return None
    return lambda at: all(not violations(cap, times, at) for cap, times in capped)


def account_times(store: Store, cap: Cap, at: datetime, exclude: int | None) -> list[datetime]:
    """When the account's posts went out or will: published ones from ``cap.reach`` before
    ``at`` on, those going out now, every queued one (an overdue one goes out now), and the
    ``unknown`` ones (they may have gone out when last tried)."""
    now = datetime.now(UTC)
    d = Delivery
    q = select(d.state, d.due_at, d.published_at, d.updated_at).where(
        col(d.target) == cap.account,
        col(d.state).in_((PUBLISHED, PUBLISHING, QUEUED, UNKNOWN)),
        or_(col(d.state) != PUBLISHED, col(d.published_at) >= at - cap.reach),
        or_(col(d.state) != UNKNOWN, col(d.updated_at) >= at - cap.reach),
    )
    if exclude is not None:
        q = q.where(col(d.post_id) != exclude)
    with store.read() as s:
        rows = s.exec(q).all()
    out = []
    for state, due_at, published_at, updated_at in rows:
        if state == PUBLISHED:
            out.append(published_at or updated_at)
        elif state in (PUBLISHING, UNKNOWN):
            out.append(updated_at)
        else:
            out.append(max(due_at, now))
    return out


def _refuse_unused(plan: Plan) -> None:
    unused = allowances_unused(plan.allow, plan.report)
    if unused:
        raise UsageError(
            f"--allow {', '.join(unused)}: no such finding for this post",
            hint="run 'crosspost check' to see the rules that fire",
        )


# -- duplicates and slugs ----------------------------------------------------------------------

#: a post in one of these states is "already queued"; its file is not to be queued twice
STILL_QUEUED = (QUEUED, HELD, PUBLISHING)
#: a post in one of these states is queued or (maybe) out: same content again is a duplicate,
#: and its slug is taken (failed and cancelled posts published nothing and take nothing)
TAKEN = (QUEUED, HELD, PUBLISHING, UNKNOWN, PUBLISHED, PARTIAL)


def _same_content(row: Any, entry: Entry) -> bool:
    return normalised_body(row.body) == normalised_body(entry.body) and normalised_title(
        row.title
    ) == normalised_title(entry.title)


def refuse_conflicts(
    store: Store,
    persona: Persona,
    entry: Entry,
    *,
    again: bool = False,
    post_id: int | None = None,
) -> None:
    """Refuse ``entry`` for ``persona`` when its explicit slug is another post's, or (unless
    ``again``, and not for an edit of ``post_id``) when it is already queued or published.

    One indexed query (see :meth:`Store.similar_posts`): the same content is found by its
    hash (:mod:`crosspost.contenthash`), so the check does not slow down as the queue grows;
    the rows found are compared in full before anything is refused.
    """
    slug = slugify(entry.slug) if entry.slug else None
    check_dupes = not again and post_id is None
    source = str(entry.source.resolve()) if entry.source else None
    rows = (
        store.similar_posts(
            persona.name,
            content_hash=content_hash(entry.title, entry.body) if check_dupes else None,
            source_path=source if check_dupes else None,
            slug=slug,
            exclude=post_id,
        )
        if (check_dupes or slug)
        else []
    )
    if slug is not None:
        taken = next((r for r in rows if r.slug == slug and r.status in TAKEN), None)
        if taken is not None:
            raise UsageError(
                f"{_what(entry)}: slug '{slug}' is already taken by post {taken.id} of persona "
                f"'{persona.name}' ({_state(taken, persona)})",
                hint="give this entry another 'slug' in its front matter (or cancel post "
                f"{taken.id})",
            )
    if not check_dupes:
        return
    for r in rows:
        if r.status in TAKEN and _same_content(r, entry):
            why = "the same content"
        elif source is not None and r.source_path == source and r.status in STILL_QUEUED:
            why = "the same file, still queued"
        else:
            continue
        hint = "give --again to queue it anyway"
        if r.status in (QUEUED, HELD):  # what 'edit' accepts
            hint += (
                f", or 'crosspost edit {r.id} {'FILE' if entry.source else '--text TEXT'}' "
                "to change the queued post"
            )
        raise Refused(
            f"{_what(entry)} is already post {r.id} of persona '{persona.name}' ({why}; "
            f"{_state(r, persona)})",
            hint=hint,
        )


def _what(entry: Entry) -> str:
    return str(entry.source) if entry.source else "this text"


def _state(row: Any, persona: Persona) -> str:
    when = format_local(row.scheduled_at, persona.tz)
    return f"published {when}" if row.status == PUBLISHED else f"{row.status}, scheduled {when}"


# -- edit ----------------------------------------------------------------------------------------


def edit_persona(personas: Personas, post: Post, entry: Entry, option: str | None) -> Persona:
    """The post's own persona: an edit cannot move a post to another persona."""
    for said, where in ((option, "--persona"), (entry.persona, f"{_what(entry)} says persona")):
        if said and said != post.persona:
            raise UsageError(
                f"post {post.id} belongs to persona '{post.persona}' but {where} '{said}'",
                hint="an edit keeps the persona; cancel the post and queue the entry for the "
                "other persona instead",
            )
    return personas.get(post.persona)


def edit_post(
    app: App,
    post_id: int,
    entry: Entry,
    persona_name: str | None,
    to: Sequence[str] | None,
    at: str | None,
    allow: Sequence[str] = (),
    reason: str | None = None,
) -> tuple[Post, Plan, list[str]]:
    """Replace queued post ``post_id``'s snapshot with ``entry``, after the same checks as
    ``queue``; the schedule stays unless ``at`` is given (the entry's own ``at`` is ignored:
    moving a post is what ``at`` on the command line is for). Returns the post, the plan and
    the names of the fields that changed."""
    from .store import refuse_unless_editable

    post, deliveries = app.store.get(post_id)
    refuse_unless_editable(post, deliveries)
    require_media(entry)
    persona = edit_persona(app.personas, post, entry, persona_name)
    refuse_conflicts(app.store, persona, entry, post_id=post_id)
    if at is None:
        when = When(post.scheduled_at)
    else:
        now = datetime.now(UTC)
        when = apply_jitter(
            app, persona, resolve_when(app.store, persona, None, at, False, now), now
        )
    current = [d.target for d in deliveries if d.state != CANCELLED]
    # targets change only when asked: --to, or 'to' in the entry
    requested = to or (None if entry.to is not None else current)
    plan = plan_entry(
        app, entry, persona.name, requested, None, False, allow, reason, when=when, post_id=post_id
    )
    _refuse_unused(plan)
    if post.series_id is not None:
        refuse_blog_series(plan)
    if plan.report.blocked:
        app.store.audit(blocked_audit(persona.name, plan.report, _src(entry)), post_id=post_id)
        raise Blocked(blocked_message(plan.report), hint="the queued post was left as it was")
    new_targets = None if set(current) == {t.name for t in plan.targets} else plan.targets
    if at is not None or new_targets is not None:
        refuse_over_caps(app.store, persona, plan.targets, plan.when.utc, exclude=post_id)
    fields = _post_fields(
        build_post(plan, snapshot_media(entry, app.media_dir, persona.strips_metadata, plan.hashes))
    )
    changed = sorted(k for k, v in fields.items() if getattr(post, k) != v)
    audit = [
        AuditEntry(
            kind="edit",
            persona=persona.name,
            detail={
                "source": _src(entry),
                "changed": changed,
                "targets": [t.name for t in plan.targets],
                "scheduled_at": plan.when.utc.isoformat(),
            },
        ),
        *override_audit(persona.name, plan.report, _src(entry)),
    ]
    updated = app.store.replace_snapshot(
        post_id,
        fields,
        targets=new_targets,
        at=None if at is None else plan.when.utc,
        audit=audit,
    )
    return updated, plan, changed


#: what an edit replaces: everything the post publishes, its source, and its allowances
_EDITED = (
    "kind",
    "title",
    "body",
    "summary",
    "slug",
    "lang",
    "tags",
    "categories",
    "share",
    "media",
    "source_path",
    "source_hash",
    "allow",
    "thread",
    "evergreen",
)


def _post_fields(post: Post) -> dict[str, Any]:
    return {name: getattr(post, name) for name in _EDITED}
