"""``crosspost audit-exposure``: run the guard over what each persona has already published.

``cli`` registers the command on the main group.
"""

from __future__ import annotations

from typing import Any

import click

from .cli_common import app_of, console, emit_json, format_option


@click.command("audit-exposure")
@click.option("--persona", "-p", help="Only this persona's targets (default: every persona).")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="Latest items to read per account or blog.",
)
@click.option(
    "--no-import",
    "no_import",
    is_flag=True,
    help="Do not keep what was read for the near-duplicate and separation checks.",
)
@format_option
@click.pass_context
def audit_exposure(
    ctx: click.Context, persona: str | None, limit: int, no_import: bool, fmt: str
) -> None:
    """Read what each persona has published, and its profiles, and check it for the others.

    Every account and blog is read back from its platform: the latest posts (--limit), and
    the profile (display name, bio, profile fields, avatar description, the blog's title).
    The leak guard runs over all of it as the persona that published it. A target that
    cannot be read is a note; the others are still checked. Exit 1 when a finding blocks.

    What was read is kept (unless --no-import), so posts made outside crosspost count in
    the near-duplicate and separation checks of posts queued later.
    """
    from .exposure import TargetRead, run

    app = app_of(ctx)

    def progress(read: TargetRead) -> None:
        if fmt != "json":
            what = f"{len(read.items)} posts" + (", profile" if read.profile else "")
            click.echo(f"read {read.persona}/{read.target} ({read.platform}): {what}", err=True)

    result = run(app, persona, limit=limit, record=not no_import, on_read=progress)
    if fmt == "json":
        emit_json(result.to_json())
    else:
        _print(console(), result)
    ctx.exit(1 if result.blocked else 0)


def _print(con: Any, result: Any) -> None:
    from rich.markup import escape
    from rich.table import Column, Table

    if result.findings:
        # nothing is cut short on a narrow terminal: long cells wrap, the link stays whole
        longest = max(len(f.url or "-") for f in result.findings)
        t = Table(
            Column("persona/target", overflow="fold"),
            Column("where", overflow="fold"),
            Column("rule", overflow="fold"),
            "severity",
            Column("finding", overflow="fold", ratio=1),
            Column("link", overflow="fold", min_width=min(longest, con.width // 3)),
        )
        for f in result.findings:
            label = "[red]block[/]" if f.severity == "block" else "[yellow]warn[/]"
            where = f.kind if f.field == "body" else f"{f.kind}: {f.field}"
            link = f"[link={escape(f.url)}]{escape(f.url)}[/link]" if f.url else "-"
            t.add_row(
                f"{f.persona}/{f.target}", escape(where), f.rule, label, escape(f.message), link
            )
        con.print(t)
    for read in result.reads:
        for note in read.notes:
            con.print(f"[yellow]note[/] {read.persona}/{read.target}: {escape(note)}")
    state, _, rest = result.summary().partition(":")
    colour = "red" if result.blocked else "green"
    con.print(f"[{colour}]{state}[/]:{escape(rest)}")
