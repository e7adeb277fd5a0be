"""``crosspost evergreen next`` and ``crosspost evergreen run``: the persona's evergreen pool
(see :mod:`crosspost.evergreen`). ``cli`` registers the group."""

from __future__ import annotations

from typing import Any

import click

from .cli_common import app_of, emit_json, format_option
from .errors import UsageError

#: seconds ``evergreen run`` waits for a daemon queueing the same persona's re-share
RUN_WAIT = 30.0


@click.group()
def evergreen() -> None:
    """Re-share published entries in rotation ([evergreen] in a profile)."""


@evergreen.command("next")
@click.option("--persona", "-p", help="Only this persona (default: every persona).")
@format_option
@click.pass_context
def evergreen_next(ctx: click.Context, persona: str | None, fmt: str) -> None:
    """What each persona would re-share next, when, and with which texts."""
    from .evergreen import is_due, plan_next
    from .models import utcnow

    app = app_of(ctx)
    now = utcnow()
    personas = [app.personas.get(persona)] if persona else list(app.personas)
    data = [
        _next_json(plan_next(app, p, now), is_due(app, p, now), p.evergreen.enabled)
        for p in personas
    ]
    if fmt == "json":
        emit_json(data)
        return
    from .when import format_local

    for p, item in zip(personas, data, strict=True):
        head = f"{item['persona']}: "
        if item["entry"] is None:
            if item["waiting_until"]:
                wait = format_local(_utc(item["waiting_until"]), p.tz)
                click.echo(f"{head}nothing may be re-shared before {wait} (pool of {item['pool']})")
            else:
                click.echo(f"{head}the evergreen pool is empty")
            continue
        e = item["entry"]
        click.echo(
            f'{head}post {e["id"]} "{e["title"]}" at {format_local(_utc(item["at"]), p.tz)} '
            f"(re-share #{e['shares'] + 1}; pool of {item['pool']}"
            + ("" if item["enabled"] else "; the daemon does not re-share: enabled = false")
            + ")"
        )
        for target, text in item["texts"].items():
            click.echo(f"  {target}: {text}")


@evergreen.command("run")
@click.option("--persona", "-p", required=True, help="The persona whose pool to use.")
@format_option
@click.pass_context
def evergreen_run(ctx: click.Context, persona: str, fmt: str) -> None:
    """Queue the persona's next re-share now (at its next slot), through the leak guard."""
    from .evergreen import queue_next
    from .models import utcnow
    from .when import format_local

    app = app_of(ctx)
    p = app.personas.get(persona)
    app.store.require_writable()
    # the daemons' evergreen job takes the same lock: never two re-shares queued at once
    with app.store.only_one(f"evergreen:{p.name}", wait=RUN_WAIT) as mine:
        if not mine:
            raise UsageError(
                f"persona '{p.name}': another crosspost process (a daemon's evergreen job) "
                f"was still queueing its re-share after {RUN_WAIT:g} s; nothing was queued",
                hint="see 'crosspost list', then run 'crosspost evergreen run' again",
            )
        post, nxt = queue_next(app, p, utcnow())
    assert nxt.candidate is not None
    if fmt == "json":
        emit_json({"id": post.id, **_next_json(nxt, False, p.evergreen.enabled)})
        return
    click.echo(
        f"queued post {post.id} re-sharing post {nxt.candidate.post_id} for {p.name} at "
        f"{format_local(post.scheduled_at, p.tz)} → {', '.join(nxt.texts)}"
    )


def _utc(iso: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _next_json(nxt: Any, due: bool, enabled: bool) -> dict[str, Any]:
    from .views import iso_utc

    c = nxt.candidate
    return {
        "persona": nxt.persona.name,
        "enabled": enabled,
        "due": due,
        "pool": nxt.pool,
        "at": iso_utc(nxt.when.utc),
        "entry": None
        if c is None
        else {
            "id": c.post_id,
            "title": c.title,
            "url": c.url,
            "last_share": iso_utc(c.last_share),
            "shares": c.shares,
        },
        "texts": nxt.texts,
        "waiting_until": iso_utc(nxt.waiting_until),
    }
