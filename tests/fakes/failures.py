"""Planned misbehaviour of a fake server: one type, consulted the same way by every fake.

A ``Failure`` is queued on a fake (``fake.inject(Failure(...))``, or the shorthands
``fail_next``, ``hang``, ``drop``, ``accept_then_hang``) and applies to the next ``times``
requests whose method and route match. Routes are whatever the fake's ``route(req)`` says
(``"POST /2/tweets"`` for X, an NSID for Bluesky, ``"/wp/v2/posts"`` for WordPress), compared
exactly.

What happens to a matching request:

- before its work (``after=False``): ``status`` answers that error instead (``headers`` such as
  ``Retry-After``, ``body`` or the fake's own error body for the status); ``hang`` never
  answers; ``drop`` closes the connection without an answer; a bare ``delay`` waits and then
  handles the request (a slow server);
- after its work (``after=True``: the post is stored, the answer is lost): ``status`` replaces
  the answer, ``hang`` never answers, ``drop`` closes the connection, ``delay`` sends the answer
  late (past the client's time-out).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Failure:
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: the error body; None: the fake's own error body for ``status``; bytes go out as HTML
    body: Any = None
    #: seconds before the answer goes out (or, with nothing else, before the work starts)
    delay: float = 0.0
    #: never answer: the handler waits until the fake stops, then closes the connection
    hang: bool = False
    #: close the connection without an answer
    drop: bool = False
    #: do the request's work first, then fail (a write whose answer is lost)
    after: bool = False
    method: str | None = None
    route: str | None = None
    times: int = 1
    #: matching requests that go through untouched first (the third post of a thread fails)
    skip: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.headers, dict):
            self.headers = list(self.headers.items())
        if self.method:
            self.method = self.method.upper()
        if self.times < 1:
            raise ValueError(f"times={self.times}: a failure applies at least once")
        if self.skip < 0:
            raise ValueError(f"skip={self.skip}: cannot let fewer than no requests through")

    def matches(self, method: str, route: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.route is None or self.route == route
        )

    @property
    def replaces_work(self) -> bool:
        """The request is not carried out at all."""
        return not self.after and (self.status is not None or self.hang or self.drop)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Failure:
        """A failure sent to a fake in another process (``POST /__fake/inject``)."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown failure fields {sorted(unknown)}")
        data = dict(data)
        if "headers" in data:
            h = data["headers"]
            data["headers"] = list(h.items()) if isinstance(h, dict) else [tuple(x) for x in h]
        return cls(**data)


class FailurePlan:
    """The queue of planned failures of one fake, safe to use from its handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Failure] = []
        self._left: dict[int, int] = {}
        self._skip: dict[int, int] = {}

    def add(self, failure: Failure) -> None:
        with self._lock:
            self._queue.append(failure)
            self._left[id(failure)] = failure.times
            self._skip[id(failure)] = failure.skip

    def take(self, method: str, route: str) -> Failure | None:
        """The first planned failure for this request, counted as used."""
        with self._lock:
            for f in self._queue:
                if f.matches(method, route):
                    if self._skip[id(f)] > 0:
                        self._skip[id(f)] -= 1
                        return None
                    self._left[id(f)] -= 1
                    if self._left[id(f)] <= 0:
                        self._queue.remove(f)
                        del self._left[id(f)]
                        del self._skip[id(f)]
                    return f
        return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._left.clear()
            self._skip.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)
