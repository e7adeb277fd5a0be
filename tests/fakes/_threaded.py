"""The server half shared by the in-process fakes of X, Mastodon and Bluesky, and the
little HTTP helpers they have in common.

A subclass implements ``_handle(handler, method)`` and sets ``_release`` (an Event that frees
requests a test made hang) and ``_server = None`` in its ``__init__``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class ThreadedFake:
    #: subclasses speak HTTP/1.1 to keep connections alive, as the real platforms do
    protocol_version = "HTTP/1.0"
    _release: threading.Event
    _server: ThreadingHTTPServer | None

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = fake.protocol_version
            # answer at once, as real servers do: with Nagle's algorithm the body waits for
            # the client's delayed ACK of the headers, ~40 ms per request on keep-alive
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"


def utc_millis(dt: datetime) -> str:
    """A time as X and Mastodon write it: UTC with milliseconds and a Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    """name -> (filename, content type, bytes) of a multipart/form-data body."""
    msg = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    out = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out[str(name)] = (
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True) or b"",
        )
    return out
