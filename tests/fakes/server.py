"""The one framework of the fake platform servers: real HTTP on 127.0.0.1, in a thread of the
test process (or as a process of its own, ``python -m tests.fakes.wordpress``).

``FakeServer`` is a threaded ``http.server`` that records every request (``requests``,
``calls`` per route, ``seen(route)``), answers through ``handle(req)`` of a subclass and
consults its ``FailurePlan`` (``tests/fakes/failures.py``) the same way for every fake:

- ``latency``: seconds added before every answer;
- ``inject(Failure(...))`` and the shorthands ``fail_next(status, n, method=, path=,
  headers=, body=)``, ``hang(route, after=)``, ``drop(route, after=)`` and
  ``accept_then_hang(seconds, n)`` (the creating request is carried out, its answer comes too
  late: a server that stored the post and then timed out).

A subclass implements ``handle(req) -> Response`` and may override ``route(req)`` (what
failures and ``calls`` are keyed by), ``error(status, body)`` (its error bodies), ``admit(req)``
(checks every request gets, even one planned to fail) and ``finish(req, resp)`` (headers every
answer carries). ``create`` names the request that creates a post.

Control endpoints under ``/__fake/`` drive a fake that runs as a separate process:
``POST /__fake/inject`` (the fields of ``Failure``), ``POST /__fake/fail_next`` ``{"status", "n",
"method", "path", "headers"}``, ``POST /__fake/accept_then_hang`` ``{"seconds", "n"}``, ``POST
/__fake/latency`` ``{"seconds"}``, ``POST /__fake/clear``, ``GET /__fake/stats``; subclasses add
their own (``GET /__fake/count``).
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, parse_qsl, urlsplit

from .failures import Failure, FailurePlan

#: the longest a hanging answer keeps its handler thread (the fake's stop ends it sooner)
HANG_LIMIT = 60.0


@dataclass
class Request:
    method: str
    target: str  # path and query as sent
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    #: what the fake routes by (``route(req)``): failures and ``calls`` are keyed by it
    route: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def args(self) -> dict[str, str]:
        """The query with the first value of each parameter."""
        return {k: v[0] for k, v in self.query.items() if v}

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def form(self) -> dict[str, list[str]]:
        """A form-encoded body's fields (empty for any other body)."""
        if self.content_type != "application/x-www-form-urlencoded":
            return {}
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def form_pairs(self) -> list[tuple[str, str]]:
        """A form-encoded body's fields in the order sent."""
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)

    def multipart(self) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, bytes]]]:
        """Fields as (name, value) and files as (name, filename, content type, bytes)."""
        fields: list[tuple[str, str]] = []
        files: list[tuple[str, str, str, bytes]] = []
        for name, (filename, ctype, payload) in _parts(self.headers, self.body):
            if filename is not None:
                files.append((name, filename, ctype, payload))
            else:
                fields.append((name, payload.decode("utf-8")))
        return fields, files

    def parts(self) -> dict[str, tuple[str | None, str, bytes]]:
        """A multipart body as name -> (filename, content type, bytes)."""
        return dict(_parts(self.headers, self.body))


def _parts(headers: Message, body: bytes) -> list[tuple[str, tuple[str | None, str, bytes]]]:
    head = f"Content-Type: {headers.get('Content-Type')}\r\n\r\n".encode()
    msg = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    return [
        (
            str(part.get_param("name", header="content-disposition")),
            (part.get_filename(), part.get_content_type(), part.get_payload(decode=True) or b""),
        )
        for part in msg.iter_parts()
    ]


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: seconds before the answer goes out
    delay: float = 0.0
    #: never answer (until the fake stops), then close the connection
    hang: bool = False
    #: close the connection without an answer
    drop: bool = False

    def has_header(self, name: str) -> bool:
        return any(k.lower() == name.lower() for k, _ in self.headers)


def json_response(
    status: int,
    data: Any,
    headers: list[tuple[str, str]] | None = None,
    *,
    content_type: str = "application/json; charset=UTF-8",
) -> Response:
    body = json.dumps(data).encode("utf-8")
    return Response(status, body, [("Content-Type", content_type), *(headers or [])])


def utc_millis(dt: datetime) -> str:
    """A time as X and Mastodon write it: UTC with milliseconds and a Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeServer:
    name = "fake"
    #: HTTP/1.1 keeps connections alive, as the real platforms do
    protocol_version = "HTTP/1.1"
    #: (method, route) of the request that creates a post, for ``accept_then_hang``
    create: tuple[str, str] | None = None
    #: what a request is recorded as (a subclass of ``Request`` may add what the fake learnt)
    request_type: type[Request] = Request

    def __init__(self, *, port: int = 0, latency: float = 0.0) -> None:
        self.port = port
        self.latency = latency
        self.requests: list[Request] = []
        self.calls: Counter[str] = Counter()
        self.lock = threading.RLock()
        self.failures = FailurePlan()
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
            protocol_version = fake.protocol_version

        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # type: ignore[attr-defined]
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

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # -- failure injection ------------------------------------------------------------------

    def inject(self, failure: Failure) -> None:
        self.failures.add(failure)

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
        """The next ``n`` requests (matching ``method`` and the route ``path``) get ``status``."""
        hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        self.inject(Failure(status, hdrs, body, method=method, route=path, times=n))

    def hang(self, route: str, *, after: bool = True, times: int = 1) -> None:
        """The next request to ``route`` is never answered; ``after``: once its work is done."""
        self.inject(Failure(hang=True, after=after, route=route, times=times))

    def drop(self, route: str, *, after: bool = True, times: int = 1) -> None:
        """The next request to ``route`` ends in a closed connection; ``after``: once done."""
        self.inject(Failure(drop=True, after=after, route=route, times=times))

    def accept_then_hang(self, seconds: float, n: int = 1) -> None:
        """The next ``n`` creating requests succeed, then their answers wait ``seconds``."""
        if self.create is None:
            raise NotImplementedError(f"{type(self).__name__} names no creating request")
        method, route = self.create
        self.inject(Failure(delay=seconds, after=True, method=method, route=route, times=n))

    def clear_failures(self) -> None:
        self.failures.clear()

    # -- what tests look at -----------------------------------------------------------------

    def seen(self, route: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.route == route]

    # -- to implement -----------------------------------------------------------------------

    def route(self, req: Request) -> str:
        """The route failures and ``calls`` are keyed by (default: the URL path)."""
        return req.path

    def handle(self, req: Request) -> Response:
        raise NotImplementedError

    def error(self, status: int, body: Any = None) -> Response:
        return json_response(status, body if body is not None else {"error": f"HTTP {status}"})

    def admit(self, req: Request) -> Response | None:
        """Checks every request gets, even one planned to fail: a refusal is the answer."""
        return None

    def finish(self, req: Request, resp: Response) -> Response:
        """Headers every answer carries, a planned failure's too."""
        return resp

    def control(self, req: Request, what: str) -> Response | None:
        """Subclasses' own ``/__fake/<what>`` endpoints."""
        return None

    # -- dispatch ---------------------------------------------------------------------------

    def dispatch(self, req: Request) -> Response:
        if req.path.startswith("/__fake/"):
            return self._control(req, req.path.removeprefix("/__fake/"))
        req.route = self.route(req)
        with self.lock:
            self.requests.append(req)
            self.calls[req.route] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self.finish(req, self._answer(req))
        finally:
            with self.lock:
                self.in_flight -= 1

    def _answer(self, req: Request) -> Response:
        if self.latency:
            self.sleep(self.latency)
        failure = self.failures.take(req.method, req.route)
        refused = self.admit(req)
        if refused is not None:
            return refused
        if failure is None:
            return self.handle(req)
        if failure.replaces_work:
            return self._failed(failure, None)
        if not failure.after:
            self.sleep(failure.delay)  # a slow server: late, then as usual
            return self.handle(req)
        return self._failed(failure, self.handle(req))

    def _failed(self, f: Failure, done: Response | None) -> Response:
        if f.status is not None:
            if isinstance(f.body, bytes):
                resp = Response(f.status, f.body, [("Content-Type", "text/html")])
            else:
                resp = self.error(f.status, f.body)
            resp.headers.extend(f.headers)
        else:
            resp = done if done is not None else Response(0)
            resp.headers.extend(f.headers)
        resp.delay, resp.hang, resp.drop = f.delay, f.hang, f.drop
        return resp

    def _control(self, req: Request, what: str) -> Response:
        data = req.json() if req.body else {}
        if what == "inject":
            self.inject(Failure.from_json(data))
        elif what == "fail_next":
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
    # answer at once, as real servers do: headers and body go out in separate writes, and
    # with Nagle's algorithm the body waits for the client's delayed ACK (~40 ms a request)
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
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
        fake = self.server_fake
        parts = urlsplit(self.path)
        req = fake.request_type(
            method=self.command,
            target=self.path,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=self._body(),
        )
        try:
            resp = fake.dispatch(req)
        except Exception as e:  # noqa: BLE001 - a fake's bug must show up as a 500, not a hang
            resp = json_response(500, {"code": "fake_crashed", "message": repr(e)})
        if resp.delay:
            fake.sleep(resp.delay)
        if resp.hang:
            fake.sleep(HANG_LIMIT)
        if resp.hang or resp.drop:
            self.close_connection = True  # no answer: the client sees the connection end
            return
        try:
            self.send_response(resp.status)
            for k, v in resp.headers:
                if k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve
