"""``crosspost notify test``: does each persona's ``notify`` URL reach its user?

Each URL gets its own test message, naming only the persona it belongs to, so a user with
several personas sees which profile a message came through. ``cli`` registers the group.
"""

from __future__ import annotations

import sys

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
        for r in send_all(p.name, p.notify, title, body):
            results.append({"persona": p.name, **_as_dict(r)})
    if fmt == "json":
        emit_json(results)
    else:
        for item in results:
            state = "ok" if item["ok"] else f"failed: {item['reason']}"
            shown = f" {item['url']}" if item["url"] else ""
            click.echo(f"{item['persona']}: notify[{item['index']}]{shown}: {state}")
    ctx.exit(0 if all(item["ok"] for item in results) else 1)


@notify.command("add")
@click.argument("label")
@click.option("--persona", "-p", required=True, help="The persona the URL belongs to.")
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read the URL from stdin instead of asking."
)
@click.pass_context
def notify_add(ctx: click.Context, label: str, persona: str, from_stdin: bool) -> None:
    """Keep a notify URL in the keyring under LABEL (asked for, not echoed).

    A URL with a password or a token stays out of the profile: list it there as
    "keyring:LABEL" instead.
    """
    from . import credentials
    from .notifysend import KEYRING_PREFIX, LABEL_RE, keyring_service, scheme

    p = app_of(ctx).personas.get(persona)
    if not LABEL_RE.match(label):
        raise UsageError(
            f"{label!r} is not a label",
            hint="use lowercase letters, digits, '-' and '_', like 'phone' or 'work-mail'",
        )
    if from_stdin:
        url = sys.stdin.readline().strip()
    else:
        url = click.prompt(f"notify URL for {p.name} ({label})", hide_input=True).strip()
    import apprise

    if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        raise UsageError(
            f"apprise does not understand this {scheme(url)}:// URL; nothing was stored",
            hint="see https://github.com/caronc/apprise/wiki for the forms each service takes",
        )
    credentials.set_secret(keyring_service(p.name), label, url)
    entry = f"{KEYRING_PREFIX}{label}"
    if entry in p.notify:
        click.echo(f"stored; {p.source} already lists {entry!r} in notify")
    else:
        click.echo(f"stored; add {entry!r} to notify = [...] in {p.source}")


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
