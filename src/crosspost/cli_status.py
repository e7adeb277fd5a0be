"""``crosspost status`` (is anything wrong?) and ``crosspost calendar`` (the queue as ICS).

``cli`` registers both on the main group.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_common import app_of, emit_json, format_option


@click.command()
@format_option
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """Daemon, queue and credentials at a glance; exit 1 when something needs you.

    Something needs you when a target failed, is unknown or held, when no daemon runs while
    posts are due, or when an account's credentials are missing from the keyring. Platforms
    are not asked ('crosspost accounts test' does that).
    """
    from .status import collect, display_zone, to_json, to_text

    app = app_of(ctx)
    st = collect(app)
    if fmt == "json":
        emit_json(to_json(st))
    else:
        for line in to_text(st, display_zone(app)):
            click.echo(line)
    ctx.exit(0 if st.ok else 1)


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ics"]),
    default="ics",
    show_default=True,
    help="Calendar format (iCalendar, for calendar apps).",
)
@click.option("--persona", "-p", help="Only this persona's posts (default: every persona).")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file (replaced atomically) instead of standard output.",
)
@click.pass_context
def calendar(ctx: click.Context, fmt: str, persona: str | None, output: Path | None) -> None:
    """The queue (and posts published in the last 30 days) as calendar events.

    Event UIDs stay the same across exports, so a calendar app that imports the file again
    updates its events; with no --persona each event's category is its persona.
    """
    from .icscalendar import build, write_atomically

    app = app_of(ctx)
    data = build(app.store, app.personas, persona)
    if output is None:
        click.echo(data, nl=False)
        return
    write_atomically(output, data)
    click.echo(f"wrote {output}", err=True)
