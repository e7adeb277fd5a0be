"""CLI start-up: `crosspost --help` and `crosspost list` against a bare import baseline.

The CLI runs many times a day, so it must not pay for platform SDKs or the scheduler. Measured
in one run, as medians of wall time over repeated fresh processes:

* baseline: ``python -c "import sqlmodel, pydantic_settings"`` (what any such CLI pays)
* ``crosspost --help``
* ``crosspost list`` with 10 and with 10,000 posts queued (the list is paginated)

Targets: ``list`` within 1.5x of the baseline; ``list`` on 10,000 posts within 2x of 10 posts.

Run: ``.venv/bin/python benchmarks/cli_startup.py [--runs N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
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


def make_workspace(root: Path, posts: int) -> Path:
    (root / "profiles").mkdir(parents=True)
    for n in (1, 2):
        (root / "profiles" / f"p{n}.toml").write_text(PROFILE.format(n=n))
    config = root / "config.toml"
    config.write_text('profiles_dir = "profiles"\ndata_dir = "data"\n')
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from crosspost.models import Delivery, Post
    from crosspost.store import Store

    store = Store(f"sqlite:///{root / 'data' / 'crosspost.db'}")
    start = datetime.now(UTC) + timedelta(days=1)
    now = datetime.now(UTC)
    with store.write() as s:
        s.execute(
            Post.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "persona": f"p{1 + i % 2}",
                    "kind": "short",
                    "title": None,
                    "body": f"post number {i} " * 5,
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
                for i in range(posts)
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
                for i in range(posts)
            ],
        )
    return config


def median_time(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    py = sys.executable
    env = {**os.environ, "COLUMNS": "120"}
    with tempfile.TemporaryDirectory() as tmp:
        small = make_workspace(Path(tmp) / "small", 10)
        big = make_workspace(Path(tmp) / "big", 10_000)
        cp = [py, "-m", "crosspost"]
        results = {
            "baseline (import sqlmodel, pydantic_settings)": median_time(
                [py, "-c", "import sqlmodel, pydantic_settings"], args.runs, env
            ),
            "crosspost --help": median_time([*cp, "--help"], args.runs, env),
            "crosspost list (10 posts)": median_time(
                [*cp, "--config", str(small), "list"], args.runs, env
            ),
            "crosspost list (10,000 posts)": median_time(
                [*cp, "--config", str(big), "list"], args.runs, env
            ),
        }
    base = results["baseline (import sqlmodel, pydantic_settings)"]
    print(f"median of {args.runs} runs each")
    print(f"{'command':48} {'ms':>8} {'x baseline':>11}")
    for name, t in results.items():
        print(f"{name:48} {t * 1000:8.1f} {t / base:11.2f}")
    small_t = results["crosspost list (10 posts)"]
    big_t = results["crosspost list (10,000 posts)"]
    print(f"\nlist(10,000) / list(10) = {big_t / small_t:.2f} (target <= 2.0)")
    print(f"list(10) / baseline     = {small_t / base:.2f} (target <= 1.5)")
    print(f"list(10,000) / baseline = {big_t / base:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
