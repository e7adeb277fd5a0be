"""A forwarding HTTP proxy on 127.0.0.1 that records what passed through it.

An adapter configured with ``proxy = "http://127.0.0.1:PORT"`` sends each plain-http request
to it in absolute form (``GET http://127.0.0.1:FAKE/path HTTP/1.1``); the proxy passes it on
to that origin (one upstream connection per request, as ``DroppingProxy`` does) and hands the
answer back on the client's kept-alive connection. ``passed`` lists every request with the
origin it was for and its User-Agent. A request in origin form (sent to the proxy as if it
were the server) or a ``CONNECT`` is answered 502 and recorded with ``proxied=False``: the
fakes speak plain http, so an adapter never has a reason to tunnel here.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlsplit

from .sockets import _Listener, _read_message


@dataclass(frozen=True)
class Passed:
    method: str
    #: ``http://host:port`` the request was for
    origin: str
    path: str  # without the query
    user_agent: str | None
    #: sent as to a proxy (absolute form), and passed on
    proxied: bool


class ForwardingProxy(_Listener):
    def __init__(self) -> None:
        super().__init__()
        self.passed: list[Passed] = []

    def serve(self, conn: socket.socket) -> None:
        with conn.makefile("rb") as reader:
            self._serve(conn, reader)

    def _serve(self, conn: socket.socket, reader: IO[bytes]) -> None:
        while True:
            request = _read_message(reader, request=True)
            if request is None:
                return
            line, headers, body = request
            method, target, version = line.split(" ", 2)
            agent = next((v for k, v in headers if k.lower() == "user-agent"), None)
            url = urlsplit(target)
            proxied = method != "CONNECT" and url.scheme == "http" and bool(url.netloc)
            origin = f"http://{url.netloc}" if proxied else ""
            with self._lock:
                self.passed.append(Passed(method, origin, url.path, agent, proxied))
            if not proxied:
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                continue
            path = url.path or "/"
            if url.query:
                path += "?" + url.query
            upstream = (url.hostname or "127.0.0.1", url.port or 80)
            headers = [(k, v) for k, v in headers if not k.lower().startswith("proxy-")]
            conn.sendall(self.forward(upstream, f"{method} {path} {version}", headers, body))
