"""The command line: thin commands over the library, and the only place that prints.

Errors from the library carry their fix; ``main`` turns them into one line on stderr and the
exit code of the spec (0 ok, 1 blocked or failed, 2 usage or configuration error). Heavy
imports (platform SDKs, APScheduler, the guard's automata) happen inside the commands that need
them, because ``crosspost --help`` and ``crosspost list`` run many times a day.
"""

from __future__ import annotations

import copy
import os
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import click

from .app import App
from .cli_admin import accounts, doctor, guard
from .cli_audit_exposure import audit_exposure
from .cli_common import F, app_of, console, emit_json, format_option
from .cli_evergreen import evergreen
from .cli_feeds import feeds
from .cli_notify import notify
from .cli_serve import serve
from .cli_status import calendar, status
from .errors import CrosspostError, Refused, UsageError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="config.toml to use (default: $CROSSPOST_CONFIG, then the user config folder).",
)
@click.version_option(package_name="crosspost")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Schedule blog entries and share posts per persona, without letting personas leak."""
    ctx.obj = App(config)


# commands of their own modules, registered here so that those modules never import this one
cli.add_command(accounts)
cli.add_command(audit_exposure)
cli.add_command(doctor)
cli.add_command(guard)
cli.add_command(evergreen)
cli.add_command(notify)
cli.add_command(feeds)
cli.add_command(status)
cli.add_command(calendar)
cli.add_command(serve)


# -- init / personas ---------------------------------------------------------------------------


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def init(ctx: click.Context, directory: Path | None) -> None:
    """Write config.toml and two example personas (never overwrites).

    Outside the user config folder, the configuration keeps its data (database, media) in
    DIR/data: a second configuration is a second queue, not another view of the first.
    """
    from .init import init_config
    from .settings import default_config_path, find_config

    app = app_of(ctx)
    config = directory / "config.toml" if directory is not None else find_config(app._config)
    own_data = config.absolute() != default_config_path().absolute()
    for path, created in init_config(config, own_data=own_data):
        click.echo(f"{'wrote' if created else 'kept '} {path}")
    if directory is not None:
        click.echo(f"use it with: export CROSSPOST_CONFIG={config.resolve()}")


@cli.command()
@format_option
@click.pass_context
def personas(ctx: click.Context, fmt: str) -> None:
    """List personas, their accounts and blog."""
    from . import views

    app = app_of(ctx)
    data = [views.persona_json(p) for p in app.personas]
    if fmt == "json":
        emit_json({"personas": data})
        return
    views.print_personas(console(), data)


# -- check / preview / queue -------------------------------------------------------------------


def _load_entry(file: Path | None, text: str | None) -> Any:
    from .entries import read_entry, require_media, text_entry

    if file is not None and text is not None:
        raise UsageError("give a FILE or --text, not both")
    if file is None and text is None:
        raise UsageError("give a FILE to post, or --text 'a short post'")
    entry = text_entry(text) if text is not None else read_entry(file)  # type: ignore[arg-type]
    require_media(entry)  # a wrong media path is the user's to fix, not a leak finding
    return entry


entry_args = [
    click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=True)),
    click.option("--text", help="Post this text (a short post) instead of a file."),
    click.option("--persona", "-p", help="Persona the post belongs to."),
    click.option(
        "--to",
        "to",
        multiple=True,
        help="Targets (account names or 'blog'); repeat or comma-separate.",
    ),
]


def with_entry_args(f: F) -> F:
    for deco in reversed(entry_args):
        f = deco(f)
    return f


def _checked(
    app: App,
    file: Path | None,
    text: str | None,
    persona: str | None,
    to: tuple[str, ...],
    at_option: str | None = None,
) -> tuple[Any, Any, Any, Any]:
    """Entry, persona, targets and guard report: what check and preview both show."""
    from .checking import check_entry
    from .guardkey import guard_secret
    from .planning import resolve_persona, resolve_targets

    entry = _load_entry(file, text)
    p = resolve_persona(app.personas, entry, persona)
    targets, foreign = resolve_targets(app.personas, p, entry, to or None)
    report = check_entry(
        app.personas,
        p,
        entry,
        targets=[t.name for t in targets],
        foreign_targets=foreign,
        secret=guard_secret(app),
    )
    from .errors import StoreError

    at = _entry_at(p, entry, at_option)
    if at is not None:
        from .checking import check_session_hours

        report = report.merged(check_session_hours(p, entry, at))
    try:
        report = report.merged(_rhythm(app, p, entry, at))
        if entry.media or entry.body_images:
            from .queueing import entry_image_hashes, same_image_findings

            report = report.merged(same_image_findings(app, p, entry, entry_image_hashes(entry)))
    except StoreError as e:  # the text checks stand without the queue
        click.echo(
            f"warning: not compared with the other personas' posts (rhythm, same image): {e}",
            err=True,
        )
    return entry, p, targets, report


def _entry_at(p: Any, entry: Any, at: str | None = None) -> Any:
    """``--at`` (a wrong one is the user's to fix), else the entry's own ``at``, as a UTC
    time; None without either (or with an ``at`` in the entry that cannot be used)."""
    from datetime import datetime

    from .planning import resolve_when

    if at is not None:
        return resolve_when(None, p, entry, at, False, datetime.now(UTC)).utc
    if entry.at is None:
        return None
    try:
        return resolve_when(None, p, entry, None, False, datetime.now(UTC)).utc
    except UsageError:
        return None


def _rhythm(app: App, p: Any, entry: Any, at: Any) -> list[Any]:
    """``fingerprint.rhythm`` for the entry's own ``at``, or for the persona's schedule as it
    stands when the entry names no time (or one already past)."""
    from datetime import datetime

    from .guard.correlation import RecentPost
    from .guard.rhythm import SAMPLE
    from .planning import rhythm_findings

    now = datetime.now(UTC)

    # each persona's posts nearest the time in the correlation window: the rhythm check samples
    # no more (two indexed look-ups per persona, however long the queue); a queue that does
    # not exist yet holds none, and is not created (nor the database layer imported) to say so
    nearest = (
        app.nearest_posts(
            app.personas.names(), at or now, app.settings.guard.correlation_window, SAMPLE
        )
        if app.queue_may_hold_posts()
        else []
    )
    posts = [RecentPost(name, post_id, "", when) for name, post_id, when in nearest]
    return rhythm_findings(p, at, posts, now)


@cli.command()
@with_entry_args
@click.option(
    "--at",
    "at",
    help="Judge it as going out then (forms of queue --at; default: the entry's own 'at'): "
    "posting rhythm and session hours.",
)
@format_option
@click.pass_context
def check(
    ctx: click.Context,
    file: Path | None,
    text: str | None,
    persona: str | None,
    to: tuple[str, ...],
    at: str | None,
    fmt: str,
) -> None:
    """Run the leak guard only: exit 0 when clean, 1 when blocked."""
    from . import views

    app = app_of(ctx)
    _, p, _, report = _checked(app, file, text, persona, to, at)
    if report.blocked:
        from .errors import StoreError
        from .queueing import blocked_audit

        try:
            app.store.audit(blocked_audit(p.name, report, str(file) if file else None))
        except StoreError as e:  # a read-only database: the check itself still stands
            click.echo(f"warning: the blocked attempt is not in the audit log: {e}", err=True)
    if fmt == "json":
        emit_json(report.to_json())
    else:
        views.print_report(console(), report)
    ctx.exit(1 if report.blocked else 0)


@cli.command()
@with_entry_args
@click.option(
    "--at",
    "at",
    help="Judge it as going out then (forms of queue --at; default: the entry's own 'at'): "
    "posting rhythm and session hours.",
)
@format_option
@click.pass_context
def preview(
    ctx: click.Context,
    file: Path | None,
    text: str | None,
    persona: str | None,
    to: tuple[str, ...],
    at: str | None,
    fmt: str,
) -> None:
    """Show the exact text per target, its length and limit, and guard findings."""
    from . import views
    from .durations import format_duration
    from .preview import build_preview

    app = app_of(ctx)
    entry, p, targets, report = _checked(app, file, text, persona, to, at)
    items = build_preview(p, entry, targets, app.cache_dir)
    jitter = format_duration(p.slot_jitter) if p.slot_jitter else None
    if fmt == "json":
        emit_json(
            {
                "persona": p.name,
                "targets": items,
                "guard": report.to_json(detail=True),
                "slot_jitter": jitter,
            }
        )
    else:
        views.print_preview(console(), items)
        if jitter:
            click.echo(
                f"note: slot_jitter ±{jitter}: queue moves a slot or --at time by a random "
                "offset within it and shows the time it stored"
            )
        views.print_report(console(), report)
    ctx.exit(1 if report.blocked else 0)


@cli.command()
@with_entry_args
@click.option(
    "--at",
    "at",
    help="When: ISO 8601, 'YYYY-MM-DD HH:MM' (persona's time), '+2h', 'tomorrow 09:00'.",
)
@click.option("--next-slot", is_flag=True, help="Use the persona's next free posting slot.")
@click.option(
    "--allow", multiple=True, help="Override one guard rule for this post (needs --reason)."
)
@click.option("--reason", help="Why the override is fine; written to the audit log.")
@click.option(
    "--again",
    is_flag=True,
    help="Queue it even if the same post is already queued or published for the persona.",
)
@click.option(
    "--every",
    metavar="INTERVAL",
    help="Repeat it: '1d', '2w', '1mo', 'weekly', or an RRULE like 'FREQ=WEEKLY;BYDAY=MO'.",
)
@click.option("--until", metavar="DATE", help="Last day (or time) of the series (with --every).")
@click.option("--count", type=int, help="How many times in all, the first included (--every).")
@format_option
@click.pass_context
def queue(
    ctx: click.Context,
    file: Path | None,
    text: str | None,
    persona: str | None,
    to: tuple[str, ...],
    at: str | None,
    next_slot: bool,
    allow: tuple[str, ...],
    reason: str | None,
    again: bool,
    every: str | None,
    until: str | None,
    count: int | None,
    fmt: str,
) -> None:
    """Check a post with the leak guard, then queue it; prints the post id."""
    from . import credentials, views
    from .queueing import Repeat, queue_entry

    app = app_of(ctx)
    if every is None and (until is not None or count is not None):
        raise UsageError(
            "--until and --count end a series: they go with --every",
            hint="add --every INTERVAL (e.g. --every 2w), or leave them out",
        )
    repeat = Repeat(every, until, count) if every is not None else None
    entry = _load_entry(file, text)
    app.store.require_writable()  # before media snapshots are copied next to the database
    post, plan = queue_entry(
        app, entry, persona, to or None, at, next_slot, allow, reason, again=again, repeat=repeat
    )
    missing = credentials.missing_logins(
        plan.persona.name, [(t.name, t.platform) for t in plan.targets]
    )
    series = app.store.series([post.series_id]) if post.series_id is not None else {}
    if fmt == "json":
        emit_json(
            views.planned_json(
                post,
                plan,
                not_logged_in=missing,
                recurrence=views.recurrence_json(post, series),
            )
        )
        return
    views.print_queued(console(), post, plan, series.get(post.series_id or 0))
    for target in missing:
        login = f"{target} --persona {post.persona}" if target == "blog" else target
        click.echo(
            f"warning: no credentials for {target} yet; run 'crosspost accounts login {login}' "
            "before the post is due",
            err=True,
        )


@cli.command()
@click.argument("post_id", type=int)
@with_entry_args
@click.option("--at", "at", help="Also move it to this time (same forms as queue --at).")
@click.option(
    "--allow", multiple=True, help="Override one guard rule for this post (needs --reason)."
)
@click.option("--reason", help="Why the override is fine; written to the audit log.")
@format_option
@click.pass_context
def edit(
    ctx: click.Context,
    post_id: int,
    file: Path | None,
    text: str | None,
    persona: str | None,
    to: tuple[str, ...],
    at: str | None,
    allow: tuple[str, ...],
    reason: str | None,
    fmt: str,
) -> None:
    """Replace a queued post with a changed FILE (or --text), checked as by queue.

    Keeps the schedule unless --at is given; refused once publishing has started.
    """
    from rich.markup import escape

    from . import views
    from .queueing import edit_post
    from .when import format_local

    app = app_of(ctx)
    entry = _load_entry(file, text)
    app.store.require_writable()  # before media snapshots are copied next to the database
    post, plan, changed = edit_post(app, post_id, entry, persona, to or None, at, allow, reason)
    if fmt == "json":
        emit_json(views.planned_json(post, plan, changed=changed))
        return
    con = console()
    if plan.when.note:
        con.print(f"[yellow]note[/]: {escape(plan.when.note)}")
    for f in plan.report.findings:
        if not f.blocks:
            kind = "allowed" if f.allowed_reason else f.severity
            con.print(f"[yellow]{kind}[/] {f.rule}: {escape(f.message)}")
    what = ", ".join(changed) if changed else "nothing changed"
    con.print(
        f"edited post [bold]{post.id}[/] ({escape(what)}) for {post.persona} at "
        f"{format_local(post.scheduled_at, plan.persona.tz)} → "
        f"{', '.join(t.name for t in plan.targets)}"
    )


# 'update' is another name for 'edit' (hidden from the command list)
_update = copy.copy(edit)
_update.name = "update"
_update.hidden = True
cli.add_command(_update)


# -- list / show / manage ----------------------------------------------------------------------


@cli.command("list")
@click.option("--persona", "-p", help="Only this persona's posts.")
@click.option(
    "--state",
    "--status",
    "-s",
    "states",
    multiple=True,
    help="Only posts in these states (queued, publishing, held, unknown, failed, published, "
    "cancelled, partial); repeat or comma-separate. --status is the older name.",
)
@click.option(
    "--history",
    is_flag=True,
    help="Finished posts (published, cancelled, failed, partial), newest first.",
)
@click.option(
    "--all", "everything", is_flag=True, help="Every post, upcoming and finished, oldest first."
)
@click.option(
    "--from",
    "start",
    metavar="WHEN",
    help="From this time on (forms of queue --at, and '-7d'; a bare date is the "
    "whole day), in the persona's timezone.",
)
@click.option("--to", "end", metavar="WHEN", help="Up to this time or day, included.")
@click.option(
    "--week", is_flag=True, help="The next 7 days from now (with --history: the last 7 days)."
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--page", default=1, show_default=True, type=click.IntRange(1))
@format_option
@click.pass_context
def list_(
    ctx: click.Context,
    persona: str | None,
    states: tuple[str, ...],
    history: bool,
    everything: bool,
    start: str | None,
    end: str | None,
    week: bool,
    limit: int,
    page: int,
    fmt: str,
) -> None:
    """What is coming, soonest first: queued, publishing and held posts and unresolved
    problems (unknown or failed targets). --history: finished posts, newest first."""
    from . import views
    from .listing import build_listing, typing_timezone
    from .models import utcnow

    app = app_of(ctx)
    tzs = views.persona_timezones(app)
    if persona and persona not in tzs:
        app.personas.get(persona)  # raises the unknown-persona error with the known names
    listing = build_listing(
        persona=persona,
        states=states,
        history=history,
        everything=everything,
        start=start,
        end=end,
        week=week,
        now=utcnow(),
        tz=lambda: typing_timezone(
            persona, app.settings.timezone, {n: str(z) for n, z in tzs.items()}
        ),
    )
    rows, total = app.store.list_posts(
        persona=persona,
        states=listing.states,
        upcoming=listing.upcoming,
        start=listing.start,
        end=listing.end,
        newest_first=listing.newest_first,
        limit=limit,
        offset=(page - 1) * limit,
    )
    series = app.store.series([p.series_id for p, _ in rows if p.series_id is not None])
    data = [views.post_json(p, ds, tzs, series=series) for p, ds in rows]
    if fmt == "json":
        emit_json(
            {
                "total": total,
                "page": page,
                "limit": limit,
                "posts": data,
                "view": listing.view,
                "states": list(listing.states) or None,
                "from": views.iso_utc(listing.start),
                "to": views.iso_utc(listing.end),
            }
        )
        return
    views.print_list(console(), data, total, page, limit, tzs, view=listing.view)


@cli.command()
@click.argument("post_id", type=int)
@format_option
@click.pass_context
def show(ctx: click.Context, post_id: int, fmt: str) -> None:
    """One post: its text, targets, their states and remote URLs."""
    from . import views

    app = app_of(ctx)
    post, deliveries = app.store.get(post_id)
    tzs = views.persona_timezones(app)
    series = app.store.series([post.series_id] if post.series_id is not None else [])
    data = views.post_json(post, deliveries, tzs, full=True, series=series)
    if fmt == "json":
        emit_json(data)
        return
    views.print_show(console(), data, tzs.get(post.persona, UTC))


@cli.command()
@click.argument("post_id", type=int)
@click.option(
    "--series",
    is_flag=True,
    help="Stop the recurring series of this post (and cancel what of it has not started).",
)
@click.pass_context
def cancel(ctx: click.Context, post_id: int, series: bool) -> None:
    """Cancel the targets of a post that have not been published. A recurring post's
    occurrence is skipped (the next one is queued); --series stops the series."""
    post, cancelled = app_of(ctx).store.cancel(post_id, series=series)
    if series:
        done = f"; cancelled {', '.join(cancelled)}" if cancelled else ""
        click.echo(f"stopped the series of post {post_id}{done}")
        return
    click.echo(f"cancelled post {post_id} for {', '.join(cancelled)} (now {post.status})")


@cli.command()
@click.argument("post_id", type=int)
@click.option("--at", "at", help="New time (same forms as queue --at).")
@click.option("--next-slot", is_flag=True, help="Move it to the persona's next free slot.")
@click.pass_context
def reschedule(ctx: click.Context, post_id: int, at: str | None, next_slot: bool) -> None:
    """Move a queued or held post to another time."""
    _move(ctx, post_id, at, next_slot, release=False)


@cli.command()
@click.argument("post_id", type=int)
@click.option("--at", "at", help="When to publish it (default: now).")
@click.option(
    "--now",
    "now",
    is_flag=True,
    help="Publish the post now even though it is not held (a queued post).",
)
@click.pass_context
def release(ctx: click.Context, post_id: int, at: str | None, now: bool) -> None:
    """Let a held post go out (now, or at --at); --now sends a queued post now."""
    if now and at:
        raise UsageError("give --now or --at, not both")
    _move(ctx, post_id, at or "now", False, release=True, early=now)


def _move(
    ctx: click.Context,
    post_id: int,
    at: str | None,
    next_slot: bool,
    release: bool,
    early: bool = False,
) -> None:
    from .models import HELD
    from .queueing import move_to
    from .when import format_local

    app = app_of(ctx)
    post, deliveries = app.store.get(post_id)
    if release and not early and not any(d.state == HELD for d in deliveries):
        # release is the answer to "held"; sending a queued post early is a separate choice
        raise Refused(
            f"post {post_id} is {post.status}, not held; there is nothing to release",
            hint=f"'crosspost release {post_id} --now' publishes a queued post now, or "
            f"'crosspost reschedule {post_id} --at WHEN' moves it",
        )
    if not at and not next_slot:
        raise UsageError("give --at WHEN or --next-slot")
    persona = app.personas.get(post.persona)
    post, when = move_to(app, post, persona, at, next_slot, release=release)
    if when.note:
        click.echo(f"note: {when.note}")
    click.echo(
        f"post {post_id} {'released' if release else 'rescheduled'} for "
        f"{format_local(post.scheduled_at, persona.tz)}"
    )


@cli.group(invoke_without_command=True)
@click.option("--verify", is_flag=True, help="Check the hash chain and head instead of listing.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@format_option
@click.pass_context
def audit(ctx: click.Context, verify: bool, limit: int, fmt: str) -> None:
    """Blocked attempts and overrides, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from . import views
    from .guardkey import audit_secret

    app = app_of(ctx)
    store = app.store
    if verify:
        report = store.check_audit(audit_secret(app, create=False))
        if fmt == "json":
            emit_json(views.audit_check_json(report))
        else:
            click.echo("\n".join(views.audit_check_text(report)))
        ctx.exit(1 if report.problems else 0)
    records, total = store.audit_records(limit=limit)
    data = [views.audit_json(r) for r in records]
    if fmt == "json":
        emit_json({"total": total, "records": data})
        return
    views.print_audit(console(), data, total, views.persona_timezones(app))


@audit.command("redact")
@format_option
@click.pass_context
def audit_redact(ctx: click.Context, fmt: str) -> None:
    """Replace matched text in records written by older versions with keyed hashes."""
    from . import views
    from .guardkey import require_audit_secret

    app = app_of(ctx)
    # the key hashes the removed text and signs the redaction record: no key, no redaction
    done = app.store.redact_audit(require_audit_secret(app))
    if fmt == "json":
        emit_json(views.redaction_json(done))
    else:
        click.echo("\n".join(views.redaction_text(done)))


@cli.command()
@click.argument("post_id", type=int)
@click.option("--target", "-t", help="Only this target (account name or 'blog').")
@click.pass_context
def retry(ctx: click.Context, post_id: int, target: str | None) -> None:
    """Queue failed or unknown targets of a post again, now."""
    from .claims import retry as retry_targets
    from .models import utcnow

    done = retry_targets(app_of(ctx).store, post_id, target, utcnow())
    click.echo(f"post {post_id}: {', '.join(done)} queued again")


@cli.command()
@click.argument("post_id", type=int)
@click.option("--target", "-t", required=True, help="The account name, or 'blog'.")
@click.option("--url", help="Where the post is (required for a blog entry).")
@click.pass_context
def resolve(ctx: click.Context, post_id: int, target: str, url: str | None) -> None:
    """Mark an unknown or failed target as published: you found the post on the platform."""
    from .claims import resolve as resolve_target
    from .models import utcnow

    released = resolve_target(app_of(ctx).store, post_id, target, url, utcnow())
    click.echo(f"post {post_id}: {target} marked as published")
    if released:
        click.echo(f"shares now going out: {', '.join(released)}")


@cli.command()
@click.option("--once", is_flag=True, help="Publish what is due now, then exit (for cron).")
@click.option(
    "--worker",
    "worker",
    hidden=True,
    type=(int, int),
    default=None,
    help="Run as worker I of N started by a daemon (internal).",
)
@click.option(
    "--parent",
    "parent",
    hidden=True,
    type=(int, int),
    default=None,
    help="PID and pipe FD of the daemon that started this worker (internal).",
)
@click.pass_context
def daemon(
    ctx: click.Context,
    once: bool,
    worker: tuple[int, int] | None,
    parent: tuple[int, int] | None,
) -> None:
    """Publish due posts: blog first, then shares; exactly once per target.

    With --once: exit 1 when a target failed, was blocked, is unknown or was held, after a
    one-line summary of what became of the targets handled.
    """
    from .daemon import Daemon, Parent
    from .logs import setup_logging

    if (worker is None) != (parent is None):
        raise UsageError("--worker and --parent go together (both are internal)")
    app = app_of(ctx)
    setup_logging(app.settings.log_level)
    started_by = Parent(parent[0], parent[1] if parent[1] >= 0 else None) if parent else None
    d = Daemon(app, once=once, worker=worker, parent=started_by)
    code = d.run()
    if once:
        click.echo(d.summary().line())
    ctx.exit(code)


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--delay",
    default=5,
    show_default=True,
    type=click.IntRange(2, 120),
    help="Seconds until the first post is due.",
)
def demo(directory: Path | None, delay: int) -> None:
    """Try crosspost offline: two personas, a blocked leak, the daemon publishing."""
    from .demo import run_demo

    run_demo(directory, delay, run)


def run(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code; user errors never show a traceback."""
    try:
        _check_arguments(sys.argv[1:] if argv is None else argv)
        rv = cli.main(args=argv, prog_name="crosspost", standalone_mode=False)
    except CrosspostError as e:
        click.echo(f"error: {e}", err=True)
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        problem = _database_problem(e)
        if problem is not None:
            click.echo(f"error: {problem}", err=True)
            return problem.exit_code
        if os.environ.get("CROSSPOST_DEBUG"):
            raise
        click.echo(
            f"error: unexpected {type(e).__name__}: {_summary(e)}\n"
            "  (nothing was changed by the failed step; rerun with CROSSPOST_DEBUG=1 for the "
            "details and please report it)",
            err=True,
        )
        return 1
    return rv if isinstance(rv, int) else 0


def _database_problem(e: Exception) -> CrosspostError | None:
    """A damaged, read-only or unreachable database is the user's to fix, not a bug."""
    if "sqlalchemy" not in sys.modules and "sqlite3" not in sys.modules:
        return None
    from .dberrors import store_problem

    return store_problem(e)


def _summary(e: Exception) -> str:
    """The error in one line; never a database statement, which may hold a post's text."""
    if "sqlalchemy" in sys.modules:
        from .dberrors import summary

        return summary(e)
    return str(e)


def _check_arguments(args: list[str]) -> None:
    """Refuse arguments that are not UTF-8 (Python hands their bytes on as surrogates, which
    fail much later: in the database, in a platform's request). File names are exempt: they
    may be any bytes, and are read, not published."""
    for i, arg in enumerate(args):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as e:
            if os.path.exists(arg):
                continue
            option, _, _ = arg.partition("=")
            if not option.startswith("--") or option == arg:
                option = args[i - 1] if i and args[i - 1].startswith("-") else "an argument"
            raise UsageError(
                f"{option} is not UTF-8 text ({_stray(arg[e.start])} in '{_escaped(arg)}')",
                hint="convert the text to UTF-8 first (e.g. with iconv -t UTF-8)",
            ) from None


def _stray(char: str) -> str:
    # surrogateescape carries a byte b that is not UTF-8 as the code point 0xDC00 + b
    code = ord(char)
    return f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"


def _escaped(arg: str) -> str:
    return (
        "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in arg)
        .encode("utf-8", "backslashreplace")
        .decode("utf-8")
    )


def main() -> None:
    sys.exit(run())
