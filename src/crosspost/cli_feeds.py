"""``crosspost feeds check`` and ``crosspost feeds list``: the personas' ``[[feeds]]``.

The daemon reads the feeds every ``daemon.feeds_interval``; ``check`` reads them once now
(the same code), ``list`` shows what was read and shared. ``cli`` registers the group.
"""

from __future__ import annotations

from typing import Any

import click

from .cli_common import app_of, emit_json, format_option
from .errors import UsageError


@click.group()
def feeds() -> None:
    """Share new items of a blog's RSS/Atom feed ([[feeds]] in a profile)."""


def _chosen(app: Any, persona: str | None) -> list[Any]:
    personas = [app.personas.get(persona)] if persona else list(app.personas)
    if not any(p.feeds for p in personas):
        who = f"persona '{persona}' has no" if persona else "no persona has"
        where = personas[0].source if persona else app.personas.directory
        raise UsageError(
            f"{who} feeds",
            hint=f'add [[feeds]] url = "https://blog.example/feed.xml" to {where}',
        )
    return personas


@feeds.command("check")
@click.option("--persona", "-p", help="Only this persona's feeds.")
@format_option
@click.pass_context
def feeds_check(ctx: click.Context, persona: str | None, fmt: str) -> None:
    """Read each feed now and queue its new items; exit 1 if a feed could not be read."""
    from .feeds import check_all

    app = app_of(ctx)
    _chosen(app, persona)
    app.store.require_writable()
    results = check_all(app, persona, force=True)
    if fmt == "json":
        emit_json([r.as_json() for r in results])
    else:
        for r in results:
            click.echo(f"{r.persona}: {r.feed}: {_said(r)}")
    ctx.exit(1 if any(r.status == "problem" for r in results) else 0)


def _said(r: Any) -> str:
    if r.status == "problem":
        return f"not read: {r.problem}"
    if r.status == "not modified":
        return "not modified since the last check"
    parts = []
    if r.queued:
        parts.append(f"queued {_posts(r.queued)}")
    if r.held:
        parts.append(f"held {_posts(r.held)} (blocked by the leak guard; see 'crosspost show')")
    if r.old:
        parts.append(f"{r.old} older than 'since' left alone")
    if r.known:
        parts.append(f"{r.known} seen before")
    if r.problem:
        parts.append(r.problem)
    return "; ".join(parts) or "no items"


def _posts(ids: list[int]) -> str:
    return f"post{'s' if len(ids) > 1 else ''} {', '.join(str(i) for i in ids)}"


@feeds.command("list")
@click.option("--persona", "-p", help="Only this persona's feeds.")
@format_option
@click.pass_context
def feeds_list(ctx: click.Context, persona: str | None, fmt: str) -> None:
    """The feeds of each persona: when they were read, what was shared."""
    from .feeds import seen_counts, since_of, states

    app = app_of(ctx)
    personas = _chosen(app, persona)
    kept = states(app.store)
    counts = seen_counts(app.store)
    rows = []
    for p in personas:
        for f in p.feeds:
            st = kept.get((p.name, f.url))
            since = since_of(f, p) or (st.first_seen_at if st is not None else None)
            rows.append(
                {
                    "persona": p.name,
                    "url": f.url,
                    "when": f.when,
                    "accounts": f.accounts or [a.name for a in p.accounts],
                    "since": since.isoformat() if since else None,
                    "checked_at": st.checked_at.isoformat() if st and st.checked_at else None,
                    "last_error": st.last_error if st is not None else None,
                    "items": counts.get((p.name, f.url), {}),
                }
            )
    if fmt == "json":
        emit_json(rows)
        return
    for r in rows:
        items = r["items"]
        shared = ", ".join(f"{n} {k}" for k, n in sorted(items.items())) or "none yet"
        checked = r["checked_at"] or "never"
        click.echo(f"{r['persona']}: {r['url']} ({r['when']}, to {', '.join(r['accounts'])})")
        click.echo(f"  since {r['since'] or 'the first check'}; last checked {checked}")
        click.echo(f"  items: {shared}")
        if r["last_error"]:
            click.echo(f"  last check failed: {r['last_error']}")
