"""``crosspost serve``: the calendar and composer in a browser, over the same library.

``cli`` registers ``serve`` on the main group. The web stack (Starlette, uvicorn, Jinja2) is
imported inside the command only, so no other command pays for it.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_common import app_of


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. One other than loopback needs --tls-cert/--tls-key or "
    "--behind-proxy.",
)
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0: any free."
)
@click.option("--no-browser", is_flag=True, help="Print the link; do not open a browser.")
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Serve HTTPS with this certificate (PEM).",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The certificate's private key (PEM).",
)
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="A reverse proxy on this machine terminates TLS and forwards to --host.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    help="Also accept this Host name (the proxy's public name); repeatable.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    no_browser: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    behind_proxy: bool,
    allow_hosts: tuple[str, ...],
) -> None:
    """Open the calendar and composer in a browser (a local web app; Ctrl-C stops it).

    Prints a link with a one-time token: it opens a session in one browser, whose tabs then
    all work; restart serve for a new link.
    """
    from .web.server import Options, check_options
    from .web.server import serve as run_server

    options = Options(host, port, tls_cert, tls_key, behind_proxy, allow_hosts)
    check_options(options)

    def announce(url: str) -> None:
        click.echo(f"crosspost is serving the calendar and composer at:\n\n    {url}\n", err=False)
        click.echo("the link works once, in one browser; Ctrl-C stops the server", err=True)
        if not no_browser:
            import webbrowser

            webbrowser.open(url)

    run_server(app_of(ctx), options, announce)
