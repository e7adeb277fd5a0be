"""CLI start-up: ``--help``, ``list``, ``check``, ``queue`` and ``preview`` against a bare
import baseline, with 100 and with 100,000 posts queued.

The CLI runs many times a day, so it must not pay for platform SDKs or the scheduler, and no
command may slow down as the queue grows. Measured as medians of wall time (and of CPU time)
over fresh processes; every round runs each command once, in turn with the baseline, so a
change in the machine's load falls on all of them alike (not on whichever ran last):

* baseline: ``python -c "import sqlmodel, pydantic_settings"`` (what any such CLI pays)
* ``crosspost --help``
* ``list`` (the default view), ``check --text``, ``queue --text`` (a short post, a new text
  each round) and ``preview --text``, each against a database of 100 and of 100,000 posts

The two personas hold 10,000 identity terms in all (``--terms``: names, multi-word terms,
handles, domains, e-mail addresses), so the guard's matcher is the size #13 asks about. The
matcher is compiled once per configuration and kept on disk; one ``check`` per workspace
before the rounds compiles it (its time is printed as the cold start), the rounds then read it.

Targets (issue #13): each command <= 1.3x the baseline, ``--help`` <= 0.2x, and each command
on 100,000 posts <= 1.1x the same command on 100.

The large database is written with bulk inserts through SQLAlchemy Core (not the CLI; the
near-duplicate check's shingle hashes with the function the store uses), then checkpointed and
vacuumed so a WAL left by the insert does not weigh on the first runs.

Python caches each module's compiled bytecode next to it (``__pycache__``), as it does for
every installed package: the benchmark drops ``PYTHONDONTWRITEBYTECODE`` from the commands'
environment, or crosspost's own modules would be compiled from source on every run while the
baseline's libraries, installed with their bytecode, would not.

``--busy-loop`` runs a one-core busy loop (``python3 -c 'while True: pass'``) beside the
benchmark for its whole duration (killed at the end): the same measurement on a machine that
has one core less to give.

Run: ``.venv/bin/python benchmarks/cli_startup.py [--runs N] [--big N] [--busy-loop]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROFILE = """
display_name = "Bench {n}"
timezone = "Europe/Berlin"
[blog]
platform = "static"
url = "https://bench{n}.example"
content_dir = "site{n}"
[[accounts]]
name = "feed-{n}"
platform = "feed"
path = "feed{n}.xml"
"""

#: rows per INSERT round trip while filling the database
BATCH = 10_000

BASELINE = "baseline"
TARGET_VS_BASELINE = 1.3
TARGET_HELP = 0.2
TARGET_FLAT = 1.1


SYLLABLES = "ka lo mi ra ne to su vi el an or is ba de fi go hu ja ke lu ma no pe qu ri sa te"


def identity(n: int, terms: int) -> str:
    """An ``[identity]`` section of ``terms`` made-up identifiers (seeded: every run and both
    workspaces hold the same ones)."""
    rng = random.Random(1000 + n)
    syl = SYLLABLES.split()

    def word() -> str:
        return "".join(rng.choice(syl) for _ in range(rng.randint(2, 4)))

    kinds: dict[str, list[str]] = {"names": [], "terms": [], "handles": [], "domains": []}
    kinds["emails"] = []
    for i in range(terms):
        kind = i % 5
        if kind == 0:
            kinds["names"].append(f"{word().title()} {word().title()}")
        elif kind == 1:
            kinds["terms"].append(f"{word()} {word()} {word()}")
        elif kind == 2:
            kinds["handles"].append(f"@{word()}{n}x{i}")
        elif kind == 3:
            kinds["domains"].append(f"{word()}{n}x{i}.example")
        else:
            kinds["emails"].append(f"{word()}.{word()}@mail{n}x{i}.example")
    lines = ["[identity]"] + [f"{k} = {json.dumps(v)}" for k, v in kinds.items()]
    return "\n".join(lines) + "\n"


def make_workspace(root: Path, posts: int, terms: int = 10_000) -> Path:
    """A configuration with two personas holding ``terms`` identity terms in all and
    ``posts`` queued posts (one delivery each)."""
    (root / "profiles").mkdir(parents=True)
    for n in (1, 2):
        text = PROFILE.format(n=n) + identity(n, terms // 2)
        (root / "profiles" / f"p{n}.toml").write_text(text)
    config = root / "config.toml"
    config.write_text('profiles_dir = "profiles"\ndata_dir = "data"\n')
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from crosspost.contenthash import content_hash
    from crosspost.guard.correlation import index_hashes
    from crosspost.models import Delivery, Post, PostShingle
    from crosspost.store import Store

    store = Store(f"sqlite:///{root / 'data' / 'crosspost.db'}")
    now = datetime.now(UTC)
    start = now + timedelta(days=1)
    for first in range(0, posts, BATCH):
        ids = range(first, min(first + BATCH, posts))
        with store.write() as s:
            s.execute(
                Post.__table__.insert(),  # type: ignore[attr-defined]
                [
                    {
                        "id": i + 1,
                        "persona": f"p{1 + i % 2}",
                        "kind": "short",
                        "title": None,
                        "body": f"post number {i} " * 5,
                        "content_hash": content_hash(None, f"post number {i} " * 5),
                        "slug": f"p{i}",
                        "tags": [],
                        "categories": [],
                        "share": {},
                        "media": [],
                        "allow": {},
                        "scheduled_at": start + timedelta(minutes=i),
                        "created_at": now,
                        "updated_at": now,
                        "status": "queued",
                    }
                    for i in ids
                ],
            )
            # what the ORM writes with every post's text (the near-duplicate check's index)
            s.execute(
                PostShingle.__table__.insert(),  # type: ignore[attr-defined]
                [
                    {"post_id": i + 1, "persona": f"p{1 + i % 2}", "hash": h}
                    for i in ids
                    for h in index_hashes(f"post number {i} " * 5)
                ],
            )
            s.execute(
                Delivery.__table__.insert(),  # type: ignore[attr-defined]
                [
                    {
                        "post_id": i + 1,
                        "target": f"feed-{1 + i % 2}",
                        "platform": "feed",
                        "role": "share",
                        "state": "queued",
                        "due_at": start + timedelta(minutes=i),
                        "attempts": 0,
                        "needs_lookup": False,
                        "fence": 0,
                        "idempotency_key": f"k{i}",
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
    store.engine.dispose()
    db = sqlite3.connect(root / "data" / "crosspost.db", isolation_level=None)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    db.close()
    return config


def commands(py: str, small: Path, big: Path) -> dict[str, Callable[[int], list[str]]]:
    """Each measured command by name; called with the round number (``queue`` needs a new
    text and time each round, or it would refuse a duplicate)."""
    cp = [py, "-m", "crosspost"]
    short = ["--persona", "p1", "--text"]
    out: dict[str, Callable[[int], list[str]]] = {
        BASELINE: lambda r: [py, "-c", "import sqlmodel, pydantic_settings"],
        "--help": lambda r: [*cp, "--help"],
    }
    for label, config in (("100", small), ("big", big)):
        c = [*cp, "--config", str(config)]
        out[f"list {label}"] = lambda r, c=c: [*c, "list"]
        out[f"check {label}"] = lambda r, c=c: [*c, "check", *short, "Off to the workshop."]
        out[f"queue {label}"] = lambda r, c=c: [
            *c,
            "queue",
            *short,
            f"Bench round {r}: notes from the workshop.",
            "--at",
            f"+{r + 2}h",
        ]
        out[f"preview {label}"] = lambda r, c=c: [*c, "preview", *short, "Off to the workshop."]
    return out


def measure(
    cmds: dict[str, Callable[[int], list[str]]], runs: int, env: dict[str, str]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU (user + system) times of ``runs`` rounds; each round runs every command
    once, in turn. CPU time is the steadier reading on a shared machine: waiting for a core
    does not count in it."""
    wall: dict[str, list[float]] = {name: [] for name in cmds}
    cpu: dict[str, list[float]] = {name: [] for name in cmds}
    for r in range(runs):
        for name, cmd in cmds.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(cmd(r), check=True, stdout=subprocess.DEVNULL, env=env)
            wall[name].append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


@contextlib.contextmanager
def busy_loop(on: bool) -> Iterator[None]:
    """A one-core busy loop beside the benchmark while ``on`` (killed on the way out)."""
    if not on:
        yield
        return
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        loop.kill()
        loop.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--big", type=int, default=100_000, help="posts in the large database")
    ap.add_argument("--terms", type=int, default=10_000, help="identity terms, both personas")
    ap.add_argument(
        "--busy-loop", action="store_true", help="run a 1-core busy loop beside the benchmark"
    )
    args = ap.parse_args()
    py = sys.executable
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with busy_loop(args.busy_loop), tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        small = make_workspace(Path(tmp) / "small", 100, args.terms)
        big = make_workspace(Path(tmp) / "big", args.big, args.terms)
        print(f"databases written in {time.perf_counter() - t:.1f} s")
        cmds = commands(py, small, big)
        for label in ("100", "big"):  # compiles the matcher and keeps it on disk
            t = time.perf_counter()
            subprocess.run(
                cmds[f"check {label}"](0), check=True, stdout=subprocess.DEVNULL, env=env
            )
            print(f"check {label}, cold (matcher compiled): {time.perf_counter() - t:.2f} s")
        times, cpu_times = measure(cmds, args.runs, env)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    cpu = {name: statistics.median(ts) for name, ts in cpu_times.items()}
    base = med[BASELINE]
    load = os.getloadavg()
    print(
        f"{args.terms:,} identity terms" + (", 1-core busy loop beside" if args.busy_loop else "")
    )
    print(f"median of {args.runs} rounds; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'command':22} {'ms':>8} {'x baseline':>11} {'CPU ms':>8} {'x baseline':>11}")
    for name, m in med.items():
        label = name.replace("big", f"{args.big:,}")
        c = cpu[name]
        print(
            f"{label:22} {m * 1000:8.1f} {m / base:11.2f} {c * 1000:8.1f} {c / cpu[BASELINE]:11.2f}"
        )
    print()
    verdicts = [("--help", med["--help"] / base, TARGET_HELP)]
    for command in ("list", "check", "queue", "preview"):
        for label in ("100", "big"):
            verdicts.append(
                (
                    f"{command} {label}".replace("big", f"{args.big:,}"),
                    med[f"{command} {label}"] / base,
                    TARGET_VS_BASELINE,
                )
            )
        verdicts.append(
            (
                f"{command} {args.big:,} / {command} 100",
                med[f"{command} big"] / med[f"{command} 100"],
                TARGET_FLAT,
            )
        )
    print(f"{'ratio (wall time)':28} {'value':>6}  target")
    for name, value, target in verdicts:
        mark = "met" if value <= target else "MISSED"
        print(f"{name:28} {value:6.2f}  <= {target} {mark}")


if __name__ == "__main__":
    main()
