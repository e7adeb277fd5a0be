"""``crosspost notify test``: does each persona's ``notify`` URL reach its user?

Each URL gets its own test message, naming only the persona it belongs to, so a user with
several personas sees which profile a message came through. ``cli`` registers the group.
"""

from __future__ import annotations

import click

from .cli_common import app_of, emit_json, format_option
from .errors import UsageError


@click.group()
def notify() -> None:
    """Notices of posts that need you, per persona (notify = [...] in a profile)."""


@notify.command("test")
@click.option("--persona", "-p", help="Only this persona's URLs.")
@format_option
@click.pass_context
def notify_test(ctx: click.Context, persona: str | None, fmt: str) -> None:
    """Send a test notice to each notify URL; exit 1 if any failed."""
    from .notifysend import send_all

    app = app_of(ctx)
    personas = [app.personas.get(persona)] if persona else list(app.personas)
    chosen = [p for p in personas if p.notify]
    if not chosen:
        who = f"persona '{persona}' has no" if persona else "no persona has"
        where = personas[0].source if persona else app.personas.directory
        raise UsageError(
            f"{who} notify URLs",
            hint=f'add notify = ["mailto://…"] (apprise URLs) to {where}',
        )
    results = []
    for p in chosen:
        title = f"crosspost ({p.name}): test notice"
        body = (
            f"This is a test notice for persona '{p.name}'. Notices of its posts that need "
            "you (failed, unknown, held, blocked, credentials rejected) arrive here."
        )
        for r in send_all(p.notify, title, body):
            results.append({"persona": p.name, **_as_dict(r)})
    if fmt == "json":
        emit_json(results)
    else:
        for item in results:
            state = "ok" if item["ok"] else f"failed: {item['reason']}"
            shown = f" {item['url']}" if item["url"] else ""
            click.echo(f"{item['persona']}: notify[{item['index']}]{shown}: {state}")
    ctx.exit(0 if all(item["ok"] for item in results) else 1)


def _as_dict(r: object) -> dict[str, object]:
    from .notifysend import Sent

    assert isinstance(r, Sent)
    return {
        "index": r.index,
        "scheme": r.scheme,
        "url": r.shown or f"{r.scheme}://…",
        "ok": r.ok,
        "reason": r.reason,
    }
