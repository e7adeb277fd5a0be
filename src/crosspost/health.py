"""The daemon's optional health endpoint (``daemon.health = "127.0.0.1:8787"``).

``GET /health`` answers 200 with the JSON of ``crosspost status --format json`` when nothing
needs the user, 503 with the same JSON otherwise, and 500 when the status cannot be built
(the database is unreachable). One thread, one request at a time: monitors poll it every
minute or so, and a status costs a few aggregate queries.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING

from .errors import Refused
from .settings import health_address

if TYPE_CHECKING:
    from .app import App

log = logging.getLogger("crosspost.health")


class HealthServer:
    def __init__(self, app: App, address: str) -> None:
        host, port = health_address(address)
        handler = _handler(app)
        try:
            self.server = HTTPServer((host, port), handler)
        except OSError as e:
            raise Refused(
                f"daemon.health {address}: cannot listen there ({e.strerror or e})",
                hint="pick a free port in daemon.health in config.toml, or remove the key",
            ) from None
        self.thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()
        log.info("health endpoint on http://%s:%d/health", *self.server.server_address[:2])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/health":
                self._send(404, {"error": "not found; the endpoint is /health"})
                return
            from .status import collect, to_json

            try:
                st = collect(app)
            except Exception as e:  # noqa: BLE001 - a monitor must get an answer, not a hang-up
                log.warning("health: status failed: %s", type(e).__name__)
                self._send(500, {"ok": False, "problems": [f"status failed: {type(e).__name__}"]})
                return
            self._send(200 if st.ok else 503, to_json(st))

        def _send(self, code: int, body: object) -> None:
            data = json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("health: " + format, *args)

    return Handler
