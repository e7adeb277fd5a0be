"""The daemons' heartbeat rows (table ``daemons``): who is running, since when, last dispatch.

A daemon writes its row at start, refreshes it from its dispatches at most every
:data:`BEAT_EVERY` (a dispatch can run many times a second under load; the row only has to
show that the daemon is alive) and deletes it when it stops cleanly. A daemon killed with
``kill -9`` leaves its row behind: it counts as not running once it is older than
:data:`STALE_AFTER` wake intervals (the daemon dispatches at least once per wake interval),
or at once when the row names a process on this host that no longer exists.
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from sqlalchemy import delete
from sqlmodel import col, select

from .models import DaemonBeat
from .store import Store

#: how often a dispatch refreshes the row, at most
BEAT_EVERY = timedelta(seconds=5)
#: a row not refreshed for this many wake intervals belongs to a daemon that is gone
STALE_AFTER = 3


def crosspost_version() -> str:
    try:
        return package_version("crosspost")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@dataclass(frozen=True)
class DaemonState:
    """A heartbeat row as ``status`` reports it."""

    id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    beat_at: datetime
    last_dispatch_at: datetime | None
    wake_interval: timedelta
    #: None when running; else why it counts as stopped
    gone: str | None

    @property
    def running(self) -> bool:
        return self.gone is None


class Heartbeat:
    """The row of one daemon process, written by that process."""

    def __init__(self, store: Store, worker: str, wake_interval: timedelta) -> None:
        self.store = store
        self.worker = worker
        self.wake_interval = wake_interval
        self._last: datetime | None = None

    def start(self, now: datetime) -> None:
        """Write the row, and drop rows of daemons on this host whose process is gone."""
        host = socket.gethostname()
        with self.store.write() as s:
            for row in s.exec(select(DaemonBeat).where(DaemonBeat.host == host)):
                if row.id != self.worker and not _alive(row.pid):
                    s.delete(row)
            s.merge(
                DaemonBeat(
                    id=self.worker,
                    host=host,
                    pid=os.getpid(),
                    version=crosspost_version(),
                    started_at=now,
                    beat_at=now,
                    last_dispatch_at=None,
                    wake_seconds=self.wake_interval.total_seconds(),
                )
            )

    def dispatched(self, now: datetime) -> None:
        """Record a dispatch; writes only when the last write is :data:`BEAT_EVERY` old."""
        if self._last is not None and now - self._last < BEAT_EVERY:
            return
        self._last = now
        with self.store.write() as s:
            row = s.get(DaemonBeat, self.worker)
            if row is None:  # removed by hand, or by a daemon that thought this one dead
                return
            row.beat_at = now
            row.last_dispatch_at = now
            s.add(row)

    def stop(self) -> None:
        with contextlib.suppress(Exception), self.store.write() as s:
            s.execute(delete(DaemonBeat).where(col(DaemonBeat.id) == self.worker))


def daemons(store: Store, now: datetime) -> list[DaemonState]:
    """Every heartbeat row, newest start first, each marked running or why not."""
    host = socket.gethostname()
    with store.read() as s:
        rows = list(s.exec(select(DaemonBeat).order_by(col(DaemonBeat.started_at).desc())))
    out = []
    for r in rows:
        wake = timedelta(seconds=r.wake_seconds)
        gone = None
        if r.host == host and not _alive(r.pid):
            gone = f"process {r.pid} no longer exists"
        elif now - r.beat_at > STALE_AFTER * wake:
            gone = f"no heartbeat since {STALE_AFTER}× its wake interval"
        out.append(
            DaemonState(
                id=r.id,
                host=r.host,
                pid=r.pid,
                version=r.version,
                started_at=r.started_at,
                beat_at=r.beat_at,
                last_dispatch_at=r.last_dispatch_at,
                wake_interval=wake,
                gone=gone,
            )
        )
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    except OSError:
        return True
    return True
