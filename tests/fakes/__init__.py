"""Fake platform servers: real HTTP on 127.0.0.1, in a thread of the test process.

``FakeServer`` is the shared part: a threaded ``http.server`` that records every request,
answers through ``handle(req)`` of a subclass, and injects failures:

- ``latency``: seconds added before every answer;
- ``fail_next(status, n, method=, path=, headers=, body=)``: the next ``n`` matching requests
  get ``status`` (with e.g. ``Retry-After``) instead of being handled;
- ``accept_then_hang(seconds, n)``: the next ``n`` creating requests are carried out, then the
  answer waits ``seconds`` (past the client's read timeout), like a server that stored the
  post and then timed out.

Control endpoints under ``/__fake/`` let a test drive a fake that runs as a separate process
(``python -m tests.fakes.wordpress``): ``POST /__fake/fail_next`` ``{"status", "n", "method",
"path", "headers"}``, ``POST /__fake/accept_then_hang`` ``{"seconds", "n"}``, ``POST
/__fake/latency`` ``{"seconds"}``; subclasses add their own (``GET /__fake/count``).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    target: str  # path and query as sent
    path: str
    query: list[tuple[str, str]]
    headers: Message
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.query if k == name), default)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)

    def multipart(self) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, bytes]]]:
        """Fields as (name, value) and files as (name, filename, content type, bytes)."""
        head = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        msg = BytesParser(policy=HTTP).parsebytes(head + self.body)
        fields: list[tuple[str, str]] = []
        files: list[tuple[str, str, str, bytes]] = []
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename()
            payload = part.get_payload(decode=True) or b""
            if filename is not None:
                files.append((str(name), filename, part.get_content_type(), payload))
            else:
                fields.append((str(name), payload.decode("utf-8")))
        return fields, files


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: called after the answer is built and before it is sent (accept-then-hang)
    before_send: Callable[[], None] | None = None


def json_response(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(data).encode("utf-8")
    return Response(
        status, body, [("Content-Type", "application/json; charset=UTF-8"), *(headers or [])]
    )


@dataclass
class _Failure:
    status: int
    remaining: int
    method: str | None
    path: str | None
    headers: list[tuple[str, str]]
    body: Any


class FakeServer:
    """Subclasses implement ``handle(req) -> Response`` and ``error(status) -> Response``."""

    name = "fake"

    def __init__(self, *, port: int = 0, latency: float = 0.0) -> None:
        self.port = port
        self.latency = latency
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self._failures: list[_Failure] = []
        self._hangs: list[float] = []
        #: requests being answered now, and the most at any moment (request concurrency)
        self.in_flight = 0
        self.max_in_flight = 0
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            args=(0.02,),
            name=f"{self.name}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging and slow handlers
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def request_stop(self) -> None:
        """Ask ``serve_until_stopped`` to return (safe from a signal handler)."""
        self._stopping.set()

    def serve_until_stopped(self) -> None:
        """Serve until ``request_stop`` (the ``python -m`` form; started already)."""
        try:
            while not self._stopping.wait(0.5):
                pass
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- failure injection ------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        n: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        body: Any = None,
    ) -> None:
        """The next ``n`` requests (matching ``method`` and the route prefix ``path``) fail."""
        hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        with self.lock:
            self._failures.append(
                _Failure(status, n, method.upper() if method else None, path, hdrs, body)
            )

    def accept_then_hang(self, seconds: float, n: int = 1) -> None:
        """The next ``n`` creating requests succeed, then their answers wait ``seconds``."""
        with self.lock:
            self._hangs.extend([seconds] * n)

    def take_hang(self) -> Callable[[], None] | None:
        """For subclasses: the delay to apply to the answer of a request that created data."""
        with self.lock:
            if not self._hangs:
                return None
            seconds = self._hangs.pop(0)
        return lambda: self.sleep(seconds)

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def clear_failures(self) -> None:
        with self.lock:
            self._failures.clear()
            self._hangs.clear()

    # -- to implement -----------------------------------------------------------------------

    def route(self, req: Request) -> str:
        """The route failures are matched against (default: the URL path)."""
        return req.path

    def handle(self, req: Request) -> Response:
        raise NotImplementedError

    def error(self, status: int, body: Any = None) -> Response:
        return json_response(status, body if body is not None else {"error": f"HTTP {status}"})

    def control(self, req: Request, what: str) -> Response | None:
        """Subclasses' own ``/__fake/<what>`` endpoints."""
        return None

    # -- dispatch ---------------------------------------------------------------------------

    def dispatch(self, req: Request) -> Response:
        if req.path.startswith("/__fake/"):
            return self._control(req, req.path.removeprefix("/__fake/"))
        with self.lock:
            self.requests.append(req)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._answer(req)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _answer(self, req: Request) -> Response:
        if self.latency:
            self.sleep(self.latency)
        failure = self._take_failure(req)
        if failure is not None:
            if isinstance(failure.body, bytes):
                resp = Response(failure.status, failure.body, [("Content-Type", "text/html")])
            else:
                resp = self.error(failure.status, failure.body)
            resp.headers.extend(failure.headers)
            return resp
        return self.handle(req)

    def _take_failure(self, req: Request) -> _Failure | None:
        route = self.route(req)
        with self.lock:
            for f in self._failures:
                if f.method and f.method != req.method:
                    continue
                if f.path and not route.startswith(f.path):
                    continue
                f.remaining -= 1
                if f.remaining <= 0:
                    self._failures.remove(f)
                return f
        return None

    def _control(self, req: Request, what: str) -> Response:
        data = req.json() if req.body else {}
        if what == "fail_next":
            self.fail_next(
                int(data["status"]),
                int(data.get("n", 1)),
                method=data.get("method"),
                path=data.get("path"),
                headers=data.get("headers"),
                body=data.get("body"),
            )
        elif what == "accept_then_hang":
            self.accept_then_hang(float(data["seconds"]), int(data.get("n", 1)))
        elif what == "latency":
            self.latency = float(data["seconds"])
        elif what == "clear":
            self.clear_failures()
            self.latency = 0.0
        elif what == "stats":
            with self.lock:
                return json_response(
                    200, {"requests": len(self.requests), "max_in_flight": self.max_in_flight}
                )
        else:
            resp = self.control(req, what)
            return resp if resp is not None else json_response(404, {"error": "no such control"})
        return json_response(200, {"ok": True})


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle plus delayed ACKs
        # add 40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            target=self.path,
            path=parts.path,
            query=parse_qsl(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=self._body(),
        )
        try:
            resp = self.server_fake.dispatch(req)
        except Exception as e:  # noqa: BLE001 - a fake's bug must show up as a 500, not a hang
            resp = json_response(500, {"code": "fake_crashed", "message": repr(e)})
        if resp.before_send is not None:
            resp.before_send()
        try:
            self.send_response(resp.status)
            for k, v in resp.headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve
