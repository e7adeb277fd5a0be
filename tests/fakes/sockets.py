"""Two misbehaving servers on 127.0.0.1 for the adapters' HTTP contract.

``SilentServer`` accepts connections, reads what comes and never answers: every request
against it ends in the client's read time-out.

``DroppingProxy`` sits in front of any fake (``upstream``) and keeps its client connections
alive, whatever the fake does (the Bluesky fake speaks HTTP/1.0), by sending each request to
the fake on a connection of its own. Like a server that closes idle keep-alive connections
without saying so (snac, or a proxy with a short idle time-out), it drops the connection the
first request matching ``drop`` arrives on, if that connection already carried an answer: the
request is read, never passed on, and the connection closed, either cleanly (the client sees
the server hang up: ``RemoteDisconnected``, httpx's ``RemoteProtocolError``) or with a TCP
reset (``reset=True``: ``ConnectionResetError``). ``seen`` lists every request it got, with
the connection it came on and whether it was dropped.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Self
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "content-length", "transfer-encoding"}


class _Listener:
    """A listening socket with an accept loop; each connection goes to ``serve`` in a thread."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.settimeout(0.05)
        self._sock = sock
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            _close(c)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._sock is not None
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def track(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.append(conn)

    def forward(
        self,
        upstream: tuple[str, int],
        line: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> bytes:
        """Send one request upstream and return the answer re-framed for a kept-alive client
        connection (hop-by-hop headers dropped, the length stated)."""
        with socket.create_connection(upstream) as up:
            self.track(up)
            head = [line] + [f"{k}: {v}" for k, v in headers if k.lower() not in _HOP_BY_HOP]
            head += [f"Content-Length: {len(body)}", "Connection: close"]
            up.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            with up.makefile("rb") as answer_reader:
                answer = _read_message(answer_reader, request=False)
        if answer is None:
            raise OSError("the server closed the connection without answering")
        status, resp_headers, resp_body = answer
        out = ["HTTP/1.1 " + status.split(" ", 1)[1]]
        out += [f"{k}: {v}" for k, v in resp_headers if k.lower() not in _HOP_BY_HOP]
        out.append(f"Content-Length: {len(resp_body)}")
        return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + resp_body

    def _accept(self) -> None:
        while not self._stopping.is_set():
            sock = self._sock
            if sock is None:
                return
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self.track(conn)
            threading.Thread(target=self._serve_quietly, args=(conn,), daemon=True).start()

    def _serve_quietly(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except OSError:
            pass  # the client went away, or stop() closed the socket
        finally:
            _close(conn)


class SilentServer(_Listener):
    """Accepts, reads, never answers."""

    def __init__(self) -> None:
        super().__init__()
        self.connections = 0

    def serve(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        while not self._stopping.is_set() and conn.recv(65536):
            pass


@dataclass(frozen=True)
class Seen:
    connection: int  # 1, 2, ... in the order the client opened them
    method: str
    path: str  # without the query
    dropped: bool


class DroppingProxy(_Listener):
    def __init__(
        self,
        upstream: str,
        *,
        drop: Callable[[str, str], bool],
        reset: bool = False,
    ) -> None:
        """``drop(method, path)`` picks the request whose (reused) connection is dropped; only
        the first such request is, later ones pass."""
        super().__init__()
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.drop = drop
        self.reset = reset
        self.seen: list[Seen] = []
        self._numbers = itertools.count(1)
        self._dropped = False

    def requests(self, method: str, path_part: str) -> list[Seen]:
        """The requests with this method whose path contains ``path_part``."""
        return [s for s in self.seen if s.method == method and path_part in s.path]

    @property
    def dropped(self) -> list[Seen]:
        return [s for s in self.seen if s.dropped]

    def serve(self, conn: socket.socket) -> None:
        with conn.makefile("rb") as reader:  # closed first, or close() would not close the socket
            self._serve(conn, reader)

    def _serve(self, conn: socket.socket, reader: IO[bytes]) -> None:
        number = next(self._numbers)
        answered = 0
        while True:
            request = _read_message(reader, request=True)
            if request is None:
                return
            line, headers, body = request
            method, target = line.split(" ", 2)[:2]
            path = urlsplit(target).path
            with self._lock:
                drop = answered > 0 and not self._dropped and self.drop(method, path)
                self._dropped = self._dropped or drop
                self.seen.append(Seen(number, method, path, drop))
            if drop:
                if self.reset:  # close with RST instead of FIN
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            conn.sendall(self.forward(self.upstream, line, headers, body))
            answered += 1


def _read_message(
    reader: IO[bytes], *, request: bool
) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """(first line, headers, body) of one HTTP message; None at a clean end of the stream.

    A request's body is framed by Content-Length or chunked; an answer's (the fake was asked
    to close) by those or by the end of the stream.
    """
    readline, read = reader.readline, reader.read
    first = readline()
    if not first:
        return None
    headers: list[tuple[str, str]] = []
    while True:
        raw = readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    fields = {k.lower(): v for k, v in headers}
    if "chunked" in fields.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size = int(readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                readline()
                break
            chunks.append(read(size))
            readline()
        body = b"".join(chunks)
    elif "content-length" in fields:
        body = read(int(fields["content-length"]))
    elif request:
        body = b""
    else:
        body = read()
    return first.decode("latin-1").rstrip("\r\n"), headers, body


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.close()
