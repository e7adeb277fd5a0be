"""Run the web app with uvicorn on a socket bound before the link is printed, so the printed
port (also with ``--port 0``) is the one that answers."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..app import App
from ..errors import UsageError
from .security import LOOPBACK, OneTimeToken, is_loopback


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 8765
    tls_cert: Path | None = None
    tls_key: Path | None = None
    behind_proxy: bool = False
    allow_hosts: tuple[str, ...] = ()


def check_options(o: Options) -> None:
    """Anyone who can reach a non-loopback address could try the session: only over TLS, or
    behind a reverse proxy that the user says terminates TLS."""
    if (o.tls_cert is None) != (o.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if not is_loopback(o.host) and o.tls_cert is None and not o.behind_proxy:
        raise UsageError(
            f"--host {o.host} would serve the queue to the network without encryption",
            hint="give --tls-cert FILE --tls-key FILE, or --behind-proxy when a reverse proxy "
            "with TLS forwards to it; or leave --host out to stay on 127.0.0.1",
        )


def allowed_hosts(o: Options) -> list[str]:
    """Host headers accepted: the bound address (and the loopback names when it is one), and
    the names given with --allow-host (a proxy's public name). Anything else is a page of
    another site reaching the app through DNS rebinding."""
    hosts = [o.host.strip("[]")]
    if is_loopback(o.host):
        hosts += [h for h in LOOPBACK if h not in hosts]
    return hosts + list(o.allow_hosts)


def bind(o: Options) -> socket.socket:
    family = socket.AF_INET6 if ":" in o.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((o.host.strip("[]"), o.port))
    except OSError as e:
        sock.close()
        raise UsageError(
            f"cannot listen on {o.host}:{o.port} ({e.strerror})",
            hint="another program uses the port: give --port N, or --port 0 for any free one",
        ) from None
    sock.listen(128)
    return sock


def serve(app: App, o: Options, announce: Callable[[str], None]) -> None:
    """Serve until interrupted; ``announce`` gets the one-time link once the socket listens."""
    import uvicorn

    from .app import build_app

    check_options(o)
    token = OneTimeToken()
    # the session cookie goes over TLS only when the browser talks TLS (to us, or to the proxy)
    https = o.tls_cert is not None or o.behind_proxy
    web = build_app(app, token, allowed_hosts=allowed_hosts(o), https=https)
    sock = bind(o)
    port = sock.getsockname()[1]
    scheme = "https" if o.tls_cert is not None else "http"
    shown = f"[{o.host}]" if ":" in o.host else o.host
    announce(f"{scheme}://{shown}:{port}/?token={token.value}")
    config = uvicorn.Config(
        web,
        log_level="warning",
        access_log=False,
        ssl_certfile=str(o.tls_cert) if o.tls_cert else None,
        ssl_keyfile=str(o.tls_key) if o.tls_key else None,
        proxy_headers=o.behind_proxy,
        forwarded_allow_ips="127.0.0.1" if o.behind_proxy else None,
        timeout_graceful_shutdown=5,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
