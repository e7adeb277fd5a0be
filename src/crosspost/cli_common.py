"""What every command module shares: the app of a command, the --format option, JSON and rich
output. Command modules import this, never ``cli``, which imports them to register their
commands: the dependencies run one way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .app import App

F = TypeVar("F", bound=Callable[..., Any])


def format_option(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output for people (text) or scripts (json).",
    )(f)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def app_of(ctx: click.Context) -> App:
    return ctx.ensure_object(App)
