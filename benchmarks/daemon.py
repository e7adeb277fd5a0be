"""Publishing throughput, lag and memory of `crosspost daemon` against a fake Mastodon.

The fake instance answers every request after 50 ms. Three runs, each with a fresh queue:

1. burst: 10,000 deliveries due at the same moment across 500 accounts, per-platform
   concurrency 16, once per ``daemon.workers`` value (default: 1 and 2 processes). The
   physical limit is deliveries x 50 ms / concurrency; the report gives the total time as a
   ratio of it, p50/p99 lag from due time to the request reaching the fake, and the peak RSS
   of the daemon's processes.
2. normal load: 100 deliveries due over one minute; p50/p99 lag.
3. idle: 100,000 posts queued for next month; the daemon's RSS and CPU over 30 s.

Targets: burst within 1.3x of the limit; p99 lag under 2 s at normal load; idle CPU ~0 and
RSS under 120 MB with 100,000 queued posts.

The fake instance runs in threads of this process, the daemon in processes of its own, so
the daemon's CPU figures are its own. ``--busy-loop`` runs a 1-core busy loop (``python -c
'while True: pass'``) beside everything, as another program on the same machine would.

Run: ``.venv/bin/python benchmarks/daemon.py [--deliveries N] [--accounts N] [--workers 1,2]
[--skip-idle] [--busy-loop]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.fakes.mastodon import FakeAccount, FakeMastodon  # noqa: E402

LATENCY = 0.05


class SlowMastodon(FakeMastodon):
    """The fake instance, answering after LATENCY and noting when each status arrived."""

    def __init__(self, tokens: dict[str, str]) -> None:
        first = next(iter(tokens))
        super().__init__(access_token=first, max_characters=500)
        for token, user in tokens.items():
            account = FakeAccount(str(abs(hash(user)) % 10**17), user, user)
            self.tokens[token] = (
                account,
                {"write:statuses", "write:media", "read:accounts", "read:statuses"},
            )
        self.arrivals: dict[str, float] = {}
        self.arrival_lock = threading.Lock()

    def handle(self, req):  # type: ignore[no-untyped-def]
        if req.method == "POST" and req.path.startswith("/api/v1/statuses"):
            key = req.header("Idempotency-Key") or ""
            with self.arrival_lock:
                self.arrivals.setdefault(key, time.time())
        time.sleep(LATENCY)
        return super().handle(req)


def write_workspace(
    root: Path, url: str, accounts: int, workers: int = 1, concurrency: int = 16
) -> tuple[Path, dict[str, str]]:
    (root / "profiles").mkdir(parents=True)
    tokens: dict[str, str] = {}
    keyring: dict[str, str] = {}
    for persona in ("professional", "personal"):
        lines = [
            f'display_name = "Bench {persona}"',
            'timezone = "Europe/Berlin"',
            "[identity]",
            f'names = ["Bench {persona.title()}"]',
        ]
        for i in range(accounts // 2):
            name = f"{persona[:3]}-m{i}"
            token = f"tok-{name}"
            tokens[token] = name
            keyring[f"crosspost/{persona}/{name}\naccess_token"] = token
            lines += [
                "[[accounts]]",
                f'name = "{name}"',
                'platform = "mastodon"',
                f'handle = "@{name}@127.0.0.1"',
                f'instance = "{url}"',
            ]
        (root / "profiles" / f"{persona}.toml").write_text("\n".join(lines) + "\n")
    (root / "keyring.json").write_text(json.dumps(keyring))
    (root / "config.toml").write_text(
        'profiles_dir = "profiles"\ndata_dir = "data"\nmax_lateness = "1d"\n'
        '[daemon]\nchange_check = "1s"\n'
        f"workers = {workers}\n"
        f"[daemon.concurrency]\nmastodon = {concurrency}\n"
    )
    return root / "config.toml", tokens


def bulk_queue(config: Path, due: list[datetime], accounts: list[tuple[str, str]]) -> None:
    """Insert posts with one Mastodon delivery each, round-robin over the accounts."""
    from crosspost.app import App
    from crosspost.models import Delivery, Post

    store = App(config).store
    now = datetime.now(UTC)
    chunk = 5000
    for start in range(0, len(due), chunk):
        with store.write() as s:
            first_id = (s.exec(_max_id(Post)).one() or 0) + 1
            rows = []
            for i, at in enumerate(due[start : start + chunk], start):
                persona, _ = accounts[i % len(accounts)]
                rows.append(
                    {
                        "persona": persona,
                        "kind": "short",
                        "title": None,
                        "body": f"Benchmark post {i}: a short note for the queue.",
                        "slug": f"b{i}",
                        "tags": [],
                        "categories": [],
                        "share": {},
                        "media": [],
                        "allow": {},
                        "scheduled_at": at,
                        "created_at": now,
                        "updated_at": now,
                        "status": "queued",
                    }
                )
            s.execute(Post.__table__.insert(), rows)  # type: ignore[attr-defined]
            s.execute(
                Delivery.__table__.insert(),
                [  # type: ignore[attr-defined]
                    {
                        "post_id": first_id + j,
                        "target": accounts[i % len(accounts)][1],
                        "platform": "mastodon",
                        "role": "share",
                        "state": "queued",
                        "due_at": due[i],
                        "attempts": 0,
                        "needs_lookup": False,
                        "fence": 0,
                        "idempotency_key": f"bench-{i}",
                        "updated_at": now,
                    }
                    for j, i in enumerate(range(start, min(start + chunk, len(due))))
                ],
            )


def _max_id(model):  # type: ignore[no-untyped-def]
    from sqlmodel import func, select

    return select(func.max(model.id))


def start_daemon(config: Path, root: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_")}
    env.update(
        PYTHONPATH=str(REPO),
        PYTHON_KEYRING_BACKEND="tests.support.filekeyring.FileKeyring",
        CROSSPOST_TEST_KEYRING_FILE=str(root / "keyring.json"),
        XDG_CACHE_HOME=str(root / "cache"),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(root / "daemon.log").open("wb"),
    )


def family_stat(pid: int) -> tuple[float, int, int]:
    """proc_stat summed over the daemon and its worker processes."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    totals = [0.0, 0, 0]
    for p in pids:
        try:
            for i, v in enumerate(proc_stat(p)):
                totals[i] += v
        except (OSError, KeyError):
            pass
    return totals[0], int(totals[1]), int(totals[2])


def proc_stat(pid: int) -> tuple[float, int, int]:
    """CPU seconds, current RSS and peak RSS (bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    status = Path(f"/proc/{pid}/status").read_text()
    kb = {
        ln.split(":")[0]: int(ln.split()[1])
        for ln in status.splitlines()
        if ln.startswith(("VmRSS", "VmHWM"))
    }
    return cpu, kb["VmRSS"] * 1024, kb["VmHWM"] * 1024


def published(config: Path) -> int:
    import sqlite3

    db = config.parent / "data" / "crosspost.db"
    con = sqlite3.connect(db, timeout=30)
    try:
        return int(
            con.execute("SELECT count(*) FROM delivery WHERE state = 'published'").fetchone()[0]
        )
    finally:
        con.close()


def lag_stats(fake: SlowMastodon, due: dict[str, float]) -> tuple[float, float]:
    lags = sorted(fake.arrivals[k] - due[k] for k in due if k in fake.arrivals)
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    return statistics.median(lags), p99


def run(
    n: int, accounts: int, spread: float, lead: float, workers: int = 1, concurrency: int = 16
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        probe = SlowMastodon({"probe": "probe"})
        fake = probe.start()
        config, tokens = write_workspace(root, fake.url, accounts, workers, concurrency)
        for token, user in tokens.items():
            fake.tokens[token] = (
                FakeAccount(str(abs(hash(user)) % 10**17), user, user),
                {"write:statuses", "write:media", "read:accounts", "read:statuses"},
            )
        names = [
            ("professional" if u.startswith("pro") else "personal", u) for u in tokens.values()
        ]
        t0 = datetime.now(UTC) + timedelta(seconds=lead)
        due_times = [t0 + timedelta(seconds=spread * i / max(n - 1, 1)) for i in range(n)]
        bulk_queue(config, due_times, names)
        due = {f"bench-{i}": due_times[i].timestamp() for i in range(n)}
        proc = start_daemon(config, root)
        fake_cpu0 = time.process_time()
        try:
            time.sleep(max(0.0, lead - 2))
            daemon_cpu0, _, _ = family_stat(proc.pid)
            while published(config) < n:
                if proc.poll() is not None:
                    raise SystemExit((root / "daemon.log").read_text()[-3000:])
                time.sleep(0.25)
            end = max(fake.arrivals.values()) + LATENCY
            daemon_cpu, _, peak = family_stat(proc.pid)
            fake_cpu = time.process_time() - fake_cpu0
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            fake.stop()
        p50, p99 = lag_stats(fake, due)
        statuses = len(fake.statuses)
        return {
            "total": end - t0.timestamp(),
            "p50": p50,
            "p99": p99,
            "peak_rss": peak,
            "statuses": statuses,
            "daemon_cpu": daemon_cpu - daemon_cpu0,
            "fake_cpu": fake_cpu,
        }


def idle(posts: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fake = SlowMastodon({"probe": "probe"}).start()
        config, tokens = write_workspace(root, fake.url, 2)
        names = [
            ("professional" if u.startswith("pro") else "personal", u) for u in tokens.values()
        ]
        later = datetime.now(UTC) + timedelta(days=30)
        bulk_queue(config, [later + timedelta(seconds=i) for i in range(posts)], names)
        proc = start_daemon(config, root)
        try:
            time.sleep(8)
            cpu0, _, _ = proc_stat(proc.pid)
            time.sleep(30)
            cpu1, rss, peak = proc_stat(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            fake.stop()
        return {"cpu_percent": (cpu1 - cpu0) / 30 * 100, "rss": rss, "peak_rss": peak}


@contextlib.contextmanager
def busy_loop(on: bool) -> Iterator[None]:
    """A process spinning on one core for as long as the block runs (when ``on``)."""
    if not on:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deliveries", type=int, default=10_000)
    ap.add_argument("--accounts", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument(
        "--workers",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1, 2],
        help="daemon.workers values to run the burst with (default 1,2)",
    )
    ap.add_argument("--skip-idle", action="store_true")
    ap.add_argument(
        "--busy-loop", action="store_true", help="run a 1-core busy loop beside the benchmark"
    )
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with busy_loop(args.busy_loop):
        measure(args)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def measure(args: argparse.Namespace) -> None:
    mb = 1024 * 1024

    limit = args.deliveries * LATENCY / args.concurrency
    print(
        f"burst: {args.deliveries} deliveries due at once, {args.accounts} accounts, "
        f"concurrency {args.concurrency}, fake latency {LATENCY * 1000:.0f} ms; "
        f"physical limit {limit:.1f} s"
        + ("; a 1-core busy loop runs beside it" if args.busy_loop else "")
    )
    for workers in args.workers:
        burst = run(
            args.deliveries,
            args.accounts,
            spread=0.0,
            lead=15.0,
            workers=workers,
            concurrency=args.concurrency,
        )
        print(
            f"  daemon.workers = {workers}: total {burst['total']:.1f} s, "
            f"ratio {burst['total'] / limit:.2f} (target <= 1.3)"
        )
        print(
            f"    lag due->request p50 {burst['p50']:.2f} s, p99 {burst['p99']:.2f} s; "
            f"peak RSS {burst['peak_rss'] / mb:.0f} MB (all processes); "
            f"statuses created {burst['statuses']}"
        )
        print(
            f"    CPU: daemon {burst['daemon_cpu']:.1f} s "
            f"({burst['daemon_cpu'] / args.deliveries * 1000:.1f} ms per delivery), "
            f"fake server {burst['fake_cpu']:.1f} s, on {os.cpu_count()} cores"
        )

    normal = run(100, 100, spread=60.0, lead=10.0)
    print("normal load: 100 deliveries due over one minute")
    print(f"  lag p50 {normal['p50']:.2f} s, p99 {normal['p99']:.2f} s (target p99 < 2 s)")

    if not args.skip_idle:
        quiet = idle(100_000)
        print("idle: 100,000 posts queued for next month, measured over 30 s")
        print(
            f"  CPU {quiet['cpu_percent']:.2f} %; RSS {quiet['rss'] / mb:.0f} MB "
            f"(peak {quiet['peak_rss'] / mb:.0f} MB; target < 120 MB)"
        )


if __name__ == "__main__":
    main()
