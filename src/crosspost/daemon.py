"""The daemon: APScheduler wakes it, the database says what to do.

APScheduler only keeps time here. Post payloads never become APScheduler jobs: a job store
shared by several schedulers runs jobs twice, and pickled jobs break on upgrades. Instead the
daemon has three kinds of wake-up, all of which run the same idempotent ``dispatch``:

* a one-shot job at the next due time (computed from the queue after every dispatch);
* change detection, so a post queued or rescheduled from the CLI is picked up within about a
  second: ``PRAGMA data_version`` on SQLite (one cheap read per ``change_check``), ``LISTEN``
  on PostgreSQL (no polling at all);
* a slow safety net every ``wake_interval``.

Deliveries run on a thread pool. ``daemon.concurrency`` caps the requests in flight per
platform; the daemon claims up to ``CLAIM_AHEAD`` times as many deliveries, so that reading,
guarding and rendering the next ones overlaps the platform's answer to the current ones
instead of leaving a request slot idle meanwhile. On SIGTERM/SIGINT the daemon stops
claiming, gives in-flight deliveries ``shutdown_grace`` to finish, and exits 0; anything still
in flight then keeps its claim, whose lease expires, and the next start asks the platform
before doing anything with it.

With ``daemon.workers`` above 1 the daemon starts that many processes in all (itself
included), because one CPython process publishes on one core. Each is the same loop, claiming
with the same atomic statements, with its share of each platform's concurrency. The workers
inherit the single-instance lock, stop with the daemon, and stop by themselves if it dies.
A worker cannot learn who started it from ``os.getppid()``: if the daemon is killed while the
worker is still starting, the worker is already re-parented when it first looks. So the daemon
passes its pid on the command line and the read end of a pipe whose write end only it holds:
the pipe reaches end-of-file the moment the daemon is gone, however early that happens, and a
parent pid that is no longer the worker's parent is the backstop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from . import credentials
from .app import App
from .caps import caps_of
from .claims import CapWait, Claim, claim, hold_overdue, next_wakeup, renew
from .dberrors import store_problem
from .errors import Refused
from .heartbeat import Heartbeat
from .icscalendar import CalendarFiles
from .logins import ending, login_command
from .models import FAILED, HELD, utcnow
from .notices import HELD as HELD_EVENT
from .notices import Sender, record, record_login_end, safely
from .publisher import Outcome, Publisher, Stopping, describe
from .when import format_local

log = logging.getLogger("crosspost.daemon")

#: how often the daemon looks for posts overdue by more than max_lateness
HOLD_CHECK = timedelta(seconds=30)
#: how often the daemon sends the notices that are due (on a thread of their own)
NOTICE_CHECK = timedelta(seconds=10)
#: how often the daemon looks for logins that end soon (tokens that expire)
LOGIN_CHECK = timedelta(hours=6)
#: how often the daemon looks whether a persona's next evergreen re-share is due
EVERGREEN_CHECK = timedelta(minutes=10)
#: deliveries claimed per request slot of a platform (the others are being prepared/recorded)
CLAIM_AHEAD = 2
#: how soon the main thread notices a stop signal
SIGNAL_CHECK = 0.2
#: the platforms a "default" concurrency applies to, at most (sizes the thread pool)
PLATFORMS = 6


@dataclass(frozen=True)
class Parent:
    """The daemon that started a worker process, as the worker was told on its command line."""

    pid: int
    #: read end of a pipe only the daemon writes to: end-of-file means the daemon is gone
    fd: int | None = None


#: what the summary of ``daemon --once`` always counts, in its order (others when they occur)
SUMMARY = ("published", "failed", "blocked", "unknown", "held", "retrying")
#: outcomes a run of ``daemon --once`` exits 1 for: each needs the user
PROBLEMS = frozenset({"failed", "blocked", "unknown", "held"})


@dataclass(frozen=True)
class Summary:
    """What became of the targets one ``daemon --once`` run handled (each counted once, by
    its last outcome), so cron's mail says whether anything needs the user."""

    counts: Counter[str]

    @property
    def ok(self) -> bool:
        return not any(self.counts[k] for k in PROBLEMS)

    def line(self) -> str:
        extra = sorted(k for k, n in self.counts.items() if n and k not in SUMMARY)
        return "targets: " + ", ".join(f"{k} {self.counts[k]}" for k in (*SUMMARY, *extra))


def _close(fd: int) -> None:
    if fd >= 0:
        os.close(fd)


def share(total: int, index: int, count: int) -> int:
    """Worker ``index``'s part of ``total`` slots split over ``count`` workers."""
    return total // count + (1 if index < total % count else 0)


class Daemon:
    def __init__(
        self,
        app: App,
        *,
        once: bool = False,
        worker: tuple[int, int] | None = None,
        parent: Parent | None = None,
    ) -> None:
        """``worker`` is (index, count) in a worker process started by the daemon ``parent``."""
        if (worker is None) != (parent is None):
            raise ValueError("a worker process needs the daemon that started it, and only it")
        self.app = app
        self.once = once
        self.settings = app.settings
        self.store = app.store
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.publisher = Publisher(app)
        self.sender = Sender(app)
        cfg = self.settings.daemon
        credentials.keep_in_memory(cfg.credentials_ttl.total_seconds())
        self.index, self.count = worker or (0, 1 if once else cfg.workers)
        #: the daemon that started this worker process (None in the daemon itself)
        self.parent = parent.pid if parent is not None else None
        self._parent_fd = parent.fd if parent is not None else None
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        #: per worker: the write end of the pipe that tells it when this daemon is gone
        self._lifelines: dict[int, int] = {}
        self.capacity = {
            k: share(v, self.index, self.count)
            for k, v in cfg.concurrency.items()
            if k != "default"
        }
        self.default_capacity = share(cfg.concurrency.get("default", 4), self.index, self.count)
        slots = sum(self.capacity.values()) + self.default_capacity * PLATFORMS
        self.pool = ThreadPoolExecutor(
            max_workers=max(1, min(slots * CLAIM_AHEAD, 128)), thread_name_prefix="publish"
        )
        self.gates: dict[str, threading.BoundedSemaphore] = {}
        self.publisher.gate = self._gate
        self.inflight: dict[Future[Outcome], Claim] = {}
        self.busy: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.dispatch_lock = threading.Lock()
        self.again = threading.Event()
        #: a refill was asked for while a dispatch ran (see :meth:`dispatch`)
        self.again_refill = threading.Event()
        self.stopping = threading.Event()
        #: SIGTERM or SIGINT arrived (written by the signal handler, which takes no lock)
        self._signalled = False
        self.wake_at: datetime | None = None
        self.scheduler: Any = None
        self.outcomes: list[Outcome] = []
        #: targets of posts this process held for being too late
        self.held = 0
        #: deliveries claimed so far (``--once`` runs until a dispatch finds nothing to claim)
        self.claimed = 0
        #: deliveries this process moved to later for their account's cap
        self.capped: set[int] = set()
        self._lockfile: IO[str] | None = None
        self._last_hold: datetime | None = None
        #: logins whose end this process has logged (persona, target, end)
        self._logins_told: set[tuple[str, str, datetime]] = set()
        self._warm = False
        #: the row ``crosspost status`` reads (the daemon itself only, not --once or workers)
        self.beat: Heartbeat | None = None
        #: personas' ``calendar_file``s (kept by the daemon itself, not its workers)
        self.calendars = CalendarFiles() if self.parent is None else None
        self.health: Any = None

    # -- lifecycle --------------------------------------------------------------------------

    def run(self) -> int:
        if self.parent is None:  # a worker holds the lock it inherited from its daemon
            self._single_instance()
        else:
            self._watch_parent()
            if self.stopping.is_set():
                return 0  # its daemon died while it was starting: nothing to do
        try:
            if self.once:
                return self._run_once()
            return self._run_forever()
        finally:
            if self._lockfile is not None:
                self._lockfile.close()

    def _single_instance(self) -> None:
        """SQLite is for one daemon; several daemons share a queue on PostgreSQL."""
        self.store.require_writable()  # before the lock file, which sits beside the database
        if not self.store.is_sqlite:
            return
        import fcntl

        db = self.store.engine.url.database or ""
        path = Path(db + ".daemon.lock") if db and db != ":memory:" else None
        if path is None:
            return
        f = path.open("a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            other = f.read().strip() or "unknown"
            f.close()
            raise Refused(
                f"another crosspost daemon ({other}) is already running on {db}",
                hint="stop it first; for several daemons on one queue use PostgreSQL "
                "(database_url)",
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {socket.gethostname()}")
        f.flush()
        self._lockfile = f

    def _run_once(self) -> int:
        """Publish what is due now, including shares unlocked by their blog, then exit."""
        self._evergreen()
        self._check_feeds(force=False)
        while True:
            claimed = self.claimed
            self.dispatch()
            with self.lock:
                pending = list(self.inflight)
            if pending:
                wait(pending)
            elif self.claimed == claimed:
                break  # nothing was due, nothing runs
            # else: what this dispatch claimed has finished already (a quick failure may have
            # queued a retry due now): look again
        self.pool.shutdown(wait=True)
        self._check_logins()
        self._send_notices()
        self._refresh_calendars()
        return 0 if self.summary().ok else 1

    def summary(self) -> Summary:
        """The targets this run handled, by what became of them."""
        last = {o.claim.delivery_id: o for o in self.outcomes}
        counts = Counter(o.category for o in last.values())
        counts["held"] += self.held
        counts["waiting"] += len(self.capped - last.keys())
        return Summary(counts)

    def _run_forever(self) -> int:
        from apscheduler.schedulers.background import BackgroundScheduler

        cfg = self.settings.daemon
        if self.parent is None:
            self._start_health()  # first: an address in use is refused before anything runs
        self.scheduler = BackgroundScheduler(
            timezone="UTC",
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._every(self.dispatch, cfg.wake_interval, "safety-net")
        self.scheduler.add_job(
            self._heartbeat,
            "interval",
            # three renewals per lease: one late renewal must not let it run out
            seconds=max(cfg.lease.total_seconds() / 3, 0.1),
            id="heartbeat",
        )
        listener: threading.Thread | None = None
        if self.store.is_sqlite:
            self._watch_conn = self._open_watch_conn()
            self.scheduler.add_job(
                self._check_changes,
                "interval",
                seconds=cfg.change_check.total_seconds(),
                id="change-check",
            )
        else:
            listener = threading.Thread(target=self._listen, name="listen", daemon=True)
            listener.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        if self.parent is None:
            # one sender per daemon: its workers record notices, the daemon sends them
            # from the start: notices kept but not sent before a restart go out first
            self._every(self._send_notices, NOTICE_CHECK, "notices")
            self._every(self._check_logins, LOGIN_CHECK, "logins")
            # one evergreen job per daemon (not per worker): re-shares whose cadence is due
            self._every(self._evergreen, EVERGREEN_CHECK, "evergreen")
            # one poller per daemon (not its workers); a feed checked by another daemon on
            # the same PostgreSQL queue within feeds_interval is left for the next round
            self._every(self._check_feeds, cfg.feeds_interval, "feeds")
            self.beat = Heartbeat(self.store, self.worker, cfg.wake_interval)
            self.beat.start(utcnow())
            for index in range(1, self.count):
                self._start_worker(index)
        self.scheduler.start()
        log.info(
            "daemon %s started on %s%s",
            self.worker,
            self.store.display_url(),
            f" (worker {self.index + 1} of {self.count})" if self.count > 1 else "",
        )
        while not self._signalled and not self.stopping.wait(SIGNAL_CHECK):
            pass
        self.stopping.set()
        log.info(
            "stopping: no new claims; waiting up to %s for in-flight deliveries", cfg.shutdown_grace
        )
        for child in self.children.values():
            with contextlib.suppress(OSError):
                child.send_signal(signal.SIGTERM)
        self.scheduler.shutdown(wait=True)
        with self.lock:
            pending = list(self.inflight)
        _, not_done = wait(pending, timeout=cfg.shutdown_grace.total_seconds())
        self._reap_workers(cfg.shutdown_grace.total_seconds() + 5)
        self._stop_reporting()
        if not_done:
            log.warning(
                "abandoning %d in-flight deliveries; their claims expire and the next start "
                "asks the platform before publishing them again",
                len(not_done),
            )
            logging.shutdown()
            os._exit(0)
        self.pool.shutdown(wait=True)
        log.info("daemon stopped")
        return 0

    def _every(self, job: Any, interval: timedelta, name: str) -> None:
        """Run ``job`` now and then every ``interval`` on the scheduler's thread."""
        self.scheduler.add_job(
            job, "interval", seconds=interval.total_seconds(), id=name, next_run_time=utcnow()
        )

    def _on_signal(self, signum: int, frame: object) -> None:
        """Only note the signal: Python runs this handler in the main thread between any two
        bytecodes, possibly while that thread holds the lock inside ``self.stopping`` (entering
        or leaving its ``wait``); setting the event here would wait for that lock forever.
        The main thread's loop sets the event instead."""
        self._signalled = True

    def _start_health(self) -> None:
        address = self.settings.daemon.health
        if address is None:
            return
        from .health import HealthServer

        self.health = HealthServer(self.app, address)
        self.health.start()

    def _stop_reporting(self) -> None:
        """A clean stop takes the daemon out of ``crosspost status`` at once."""
        if self.health is not None:
            self.health.stop()
        if self.beat is not None:
            self.beat.stop()

    # -- wake-ups ---------------------------------------------------------------------------

    def _open_watch_conn(self) -> sqlite3.Connection:
        db = self.store.engine.url.database or ""
        conn = sqlite3.connect(db, timeout=30, check_same_thread=False)
        self._data_version = conn.execute("PRAGMA data_version").fetchone()[0]
        return conn

    def _check_changes(self) -> None:
        self._check_parent()
        version = self._watch_conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._data_version = version
            self.dispatch()

    def _listen(self) -> None:
        import psycopg

        from .store import NOTIFY_CHANNEL

        url = self.store.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        while not self.stopping.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    for _ in conn.notifies(timeout=5):
                        if self.stopping.is_set():
                            return
                        self.dispatch()
                    # timeout without notifications: loop to re-check stopping
            except psycopg.Error as e:
                log.warning("LISTEN connection lost (%s); reconnecting", type(e).__name__)
                self.stopping.wait(2)

    def _heartbeat(self) -> None:
        with self.lock:
            claims = list(self.inflight.values())
        renew(self.store, claims, self.settings.daemon.lease)
        self._check_parent()
        self._restart_workers()

    # -- worker processes -------------------------------------------------------------------

    def _start_worker(self, index: int) -> None:
        # the write end is not inheritable (PEP 446): only this process holds it, so the
        # worker's read end reaches end-of-file exactly when this process is gone. (Windows
        # cannot pass a descriptor to a child: there the worker compares its parent's pid.)
        lifeline, write_end = os.pipe() if os.name == "posix" else (-1, -1)
        cmd = [sys.executable, "-m", "crosspost"]
        if self.settings.config_path is not None:
            cmd += ["--config", str(self.settings.config_path)]
        cmd += [
            "daemon",
            "--worker",
            str(index),
            str(self.count),
            "--parent",
            str(os.getpid()),
            str(lifeline),
        ]
        # the lock file's descriptor is inherited: the lock stays held while any worker runs
        lock = self._lockfile.fileno() if self._lockfile is not None else -1
        try:
            self.children[index] = subprocess.Popen(
                cmd, pass_fds=tuple(fd for fd in (lifeline, lock) if fd >= 0)
            )
        except BaseException:
            _close(write_end)
            raise
        finally:
            _close(lifeline)
        _close(self._lifelines.pop(index, -1))  # the previous worker of this index exited
        self._lifelines[index] = write_end

    def _restart_workers(self) -> None:
        for index, child in list(self.children.items()):
            code = child.poll()
            if code is not None and not self.stopping.is_set():
                log.error(
                    "worker %d of %d exited (code %s); starting it again",
                    index + 1,
                    self.count,
                    code,
                )
                self._start_worker(index)

    def _reap_workers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for child in self.children.values():  # again: one may have been restarted meanwhile
            with contextlib.suppress(OSError):
                child.send_signal(signal.SIGTERM)
        for index, child in self.children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d did not stop in time; killing it", index + 1)
                child.kill()
                child.wait()

    def _watch_parent(self) -> None:
        """Start noticing, in a worker, that its daemon is gone; it may be gone already."""
        self._check_parent()
        fd = self._parent_fd
        if fd is not None and not self.stopping.is_set():
            threading.Thread(
                target=self._wait_for_eof, args=(fd,), name="parent", daemon=True
            ).start()

    def _wait_for_eof(self, fd: int) -> None:
        """Blocks until the daemon's end of the pipe closes: it exited or was killed."""
        with contextlib.suppress(OSError):
            while os.read(fd, 64):
                pass
        self._parent_gone()

    def _check_parent(self) -> None:
        """A worker whose daemon is gone (killed) stops too, gracefully. The backstop to the
        pipe: a worker is re-parented (to init or a subreaper) when its daemon dies."""
        if self.parent is not None and os.getppid() != self.parent:
            self._parent_gone()

    def _parent_gone(self) -> None:
        with self.lock:
            if self.stopping.is_set():
                return
            self.stopping.set()
        log.warning(
            "the daemon (pid %s) that started worker %d is gone; stopping",
            self.parent,
            self.index + 1,
        )

    def _schedule_wake(self, at: datetime) -> None:
        if self.scheduler is None or self.stopping.is_set():
            return
        now = utcnow()
        if self.wake_at is not None and now < self.wake_at <= at:
            return  # an earlier wake-up is already pending
        self.wake_at = at
        with contextlib.suppress(Exception):  # the scheduler may be shutting down
            self.scheduler.add_job(
                self.dispatch,
                "date",
                run_date=max(at, now),
                id=f"wake-{uuid.uuid4().hex}",
            )

    # -- the work ---------------------------------------------------------------------------

    def dispatch(self, *, refill: bool = False) -> None:
        """Hold late posts, claim what is due and fits, start it; safe to call any time.

        ``refill``: called because deliveries finished and freed request slots. Such a call
        while another dispatch runs is looked at again afterwards only if enough slots are
        still free then (the dispatch running took what was free when it began): otherwise
        every finished delivery meanwhile would mean another dispatch claiming one or two
        deliveries, and in a burst the dispatches cost more than the deliveries they start.
        """
        if not self.dispatch_lock.acquire(blocking=False):
            (self.again_refill if refill else self.again).set()
            return
        try:
            while True:
                self.again.clear()
                self.again_refill.clear()
                self._dispatch_once()
                if self.again.is_set():
                    continue
                if not (self.again_refill.is_set() and self._refill_due()):
                    break
            self.sender.database_reachable()
        except Exception as e:
            problem = store_problem(e)
            if problem is not None and self.parent is None:
                self.sender.database_unreachable(str(problem))
            raise
        finally:
            self.dispatch_lock.release()

    def _notices_soon(self) -> None:
        """Something needs the user: send its notice within a second, not at the next check."""
        if self.scheduler is None or self.parent is not None or self.stopping.is_set():
            return
        with contextlib.suppress(Exception):  # the scheduler may be shutting down
            self.scheduler.add_job(
                self._send_notices,
                "date",
                run_date=utcnow() + timedelta(seconds=1),
                id="notices-soon",
                replace_existing=True,
            )

    def _send_notices(self) -> None:
        """Send the notices that are due; a failure is logged and tried again later."""
        try:
            self.sender.flush()
        except Exception as e:  # noqa: BLE001 - notices never stop the daemon
            problem = store_problem(e)
            log.warning("could not send notices: %s", problem or type(e).__name__)

    def _check_logins(self) -> None:
        """Tell each persona, once per login, that an account's login ends soon."""
        now = utcnow()
        try:
            personas = {p.name: p for p in self.app.personas}
            warning = self.settings.daemon.login_warning
            for end in ending(list(personas.values()), now, warning):
                p = personas[end.persona]
                command = login_command(p.name, end.target)
                record_login_end(self.store, p, end.target, end.ends_at, command=command, now=now)
                if (end.persona, end.target, end.ends_at) not in self._logins_told:
                    self._logins_told.add((end.persona, end.target, end.ends_at))
                    log.warning(
                        "%s/%s: the login %s %s; run %s",
                        end.persona,
                        end.target,
                        "ended" if end.ends_at <= now else "ends",
                        format_local(end.ends_at, p.tz),
                        command,
                    )
        except Exception as e:  # noqa: BLE001 - a reminder must not stop publishing
            log.warning("logins not checked: %s", store_problem(e) or type(e).__name__)

    def _check_feeds(self, force: bool = False) -> None:
        """Queue the new items of the personas' ``[[feeds]]``; never stops the daemon."""
        from .feeds import check_all

        if self.stopping.is_set():
            return
        try:
            results = check_all(self.app, force=force)
        except Exception as e:  # noqa: BLE001 - a feed must not stop publishing
            problem = store_problem(e)
            log.warning("feeds not checked: %s", problem or f"{type(e).__name__}: {e}")
            return
        if any(r.held for r in results):
            self._notices_soon()
        if any(r.queued or r.held for r in results) and not self.once:
            self.dispatch()  # a share due now goes out now, not at the next change check

    def _dispatch_once(self) -> None:
        if self.stopping.is_set():
            return
        now = utcnow()
        self._refresh_config()
        if self._last_hold is None or now - self._last_hold >= HOLD_CHECK:
            # lateness only matters after downtime: no need to look on every wake-up
            self._last_hold = now
            self._report_held(hold_overdue(self.store, now, self.settings.max_lateness))
            # new occurrences are a day or more ahead: checking them as often is soon enough
            self._check_occurrences()
        with self.lock:
            room = {p: cap * CLAIM_AHEAD - self.busy[p] for p, cap in self.capacity.items()}
            for p, n in self.busy.items():
                room.setdefault(p, self.default_capacity * CLAIM_AHEAD - n)
            sending = [c.delivery_id for c in self.inflight.values()]
        default_room = self.default_capacity * CLAIM_AHEAD
        waits: list[CapWait] = []
        claims = claim(
            self.store,
            self.worker,
            now,
            self.settings.daemon.lease,
            room,
            default_room,
            caps=caps_of(self.app.personas),
            waits=waits,
            in_flight=sending,
        )
        for w in waits:
            log.info("post %s to %s: %s", w.post_id, w.target, w.note)
            self.capped.add(w.delivery_id)
        if claims and not self._warm:
            self._warm_up(claims)
        snapshots = self.store.snapshots([c.post_id for c in claims])
        self.claimed += len(claims)
        for c in claims:
            with self.lock:
                self.busy[c.platform] += 1
                fut = self.pool.submit(self.publisher.run, c, snapshots.get(c.post_id))
                self.inflight[fut] = c
            fut.add_done_callback(self._done)
        if not claims or self.once:
            # nothing more is due right now: sleep until something will be
            nxt = next_wakeup(self.store)
            if nxt is not None:
                self._schedule_wake(nxt + timedelta(milliseconds=50))
        if self.beat is not None:
            try:
                self.beat.dispatched(now)
            except Exception as e:  # noqa: BLE001 - reporting must not stop publishing
                log.warning("heartbeat not written: %s", type(e).__name__)
        if not self.once:
            self._refresh_calendars()

    def _evergreen(self) -> None:
        """Queue the re-shares of personas whose evergreen cadence is due; they are then
        published like any post."""
        from .evergreen import run_due

        try:
            run_due(self.app, utcnow())
        except Exception as e:  # noqa: BLE001 - tried again at the next check
            problem = store_problem(e)
            log.warning("evergreen re-shares not queued: %s", problem or type(e).__name__)

    def _check_occurrences(self) -> None:
        """Queue-time checks of recurring posts' new occurrences (created when the one before
        finished); one the guard blocks is held and its user told."""
        from .queueing import check_new_occurrences

        try:
            held = check_new_occurrences(self.app)
        except Exception as e:  # a failed check is tried again at the next wake
            if store_problem(e) is not None:
                raise
            log.exception("recurring posts not checked")
            return
        if held:
            self._report_held(held)

    def _refresh_calendars(self) -> None:
        if self.calendars is None:
            return
        try:
            self.calendars.refresh(self.store, self.app.personas, utcnow())
        except Exception as e:  # noqa: BLE001 - the calendar must not stop publishing
            log.warning("calendar files not refreshed: %s", type(e).__name__)

    def _report_held(self, post_ids: list[int]) -> None:
        """Say which posts were held, and for which targets, how late and what to do."""
        if post_ids:
            self._notices_soon()
        for post_id, (post, deliveries) in sorted(self.store.snapshots(post_ids).items()):
            targets = [d.target for d in deliveries if d.state == HELD]
            self.held += len(targets)
            note = post.note or "held: overdue by more than max_lateness"
            log.warning("%s: %s", describe(self.app, post_id, post, ", ".join(targets)), note)
            safely(
                f"post {post_id} being held",
                lambda post=post, targets=targets, note=note: record(
                    self.store,
                    self.app.personas.get(post.persona),
                    HELD_EVENT,
                    post,
                    targets=targets,
                    error=note,
                ),
            )

    def _room_for_batch(self, platform: str) -> bool:
        """Whether a quarter of the platform's claims are free (caller holds ``self.lock``)."""
        cap = self.capacity.get(platform, self.default_capacity) * CLAIM_AHEAD
        return cap - self.busy[platform] >= max(1, cap // 4)

    def _refill_due(self) -> bool:
        """Whether any platform has room for a batch of claims now."""
        with self.lock:
            return any(self._room_for_batch(p) for p in self.busy)

    def _done(self, fut: Future[Outcome]) -> None:
        with self.lock:
            c = self.inflight.pop(fut)
            self.busy[c.platform] -= 1
            # claim in batches: refill when a quarter of the platform's slots are free, not per
            # slot (a claim is one short write transaction; idle slots cost throughput)
            refill = self._room_for_batch(c.platform)
        try:
            outcome = fut.result()
        except Exception:
            log.exception("delivery %s crashed", c.delivery_id)
            if self.once:
                self.outcomes.append(Outcome(c, FAILED, "crashed"))
            return
        if outcome.category in PROBLEMS:
            self._notices_soon()
        if self.once:
            self.outcomes.append(outcome)
        elif not self.stopping.is_set() and c.role == "blog":
            self.dispatch()  # a published blog unlocks its shares: look at once
        elif not self.stopping.is_set() and refill:
            self.dispatch(refill=True)  # free slots take the next deliveries

    @contextlib.contextmanager
    def _gate(self, platform: str) -> Iterator[None]:
        """Take one of the platform's request slots in this process (``daemon.concurrency``).

        A delivery still waiting for a slot when the daemon stops raises :class:`Stopping`:
        nothing was sent, so the publisher gives the claim back instead of sending it late.
        """
        gate = self.gates.get(platform)
        if gate is None:
            with self.lock:
                gate = self.gates.setdefault(
                    platform,
                    threading.BoundedSemaphore(
                        max(1, self.capacity.get(platform, self.default_capacity))
                    ),
                )
        while not gate.acquire(timeout=0.5):
            if self.stopping.is_set():
                raise Stopping
        try:
            if self.stopping.is_set():
                raise Stopping
            yield
        finally:
            gate.release()

    def _warm_up(self, claims: list[Claim]) -> None:
        """Fill the caches every delivery uses before the first batch starts, so the worker
        threads do not all build them at once (the text-length rules of Mastodon are one big
        regular expression)."""
        from .textlength import PLATFORMS, text_length

        self._warm = True
        for platform in sorted({c.platform for c in claims} & set(PLATFORMS)):
            with contextlib.suppress(Exception):
                text_length("https://example.org @user@example.org", platform)

    def _refresh_config(self) -> None:
        """Profiles edited while the daemon runs take effect (the guard uses them)."""
        self.app.refresh_personas()
