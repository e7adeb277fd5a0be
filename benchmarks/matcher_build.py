"""Building the guard's matcher: ``python benchmarks/matcher_build.py [--terms 10000 100000]``.

For each number of identity terms (two personas, the same made-up mix as
``benchmarks/guard.py``: names, multi-word terms, handles, domains, emails, a few phones),
each measurement runs in a fresh process, so its peak resident memory
(``resource.getrusage``'s ``ru_maxrss``) is its own:

* **cold**: ``cached_matcher`` with an empty cache folder (compile the identity tables, build
  the automaton, write the cache file);
* **warm**: the same call in a new process, the cache file now there (read it, build the
  automaton from it);
* in both, the first text with letters written one by one (``a n a b e e``), which looks up
  the split-letter index.

CPU time (``time.process_time``) and wall time are both reported: on a machine shared with
other jobs wall time also counts the waits for a core. ``base`` is the process's resident
memory before the matcher (interpreter, the guard's imports, the profiles), ``built`` right
after it, ``peak`` the process's highest (building, and the split-letter text), so ``peak`` −
``base`` is what the matcher itself costs. ``--runs`` repeats each pair of processes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_SECONDS = 5.0
TARGET_MB = 300.0
SPLIT_TEXT = "met w i t h t h e m t o d a y, a n d o n 1.8.2026 again"


def _rss_mb() -> float:
    """Current resident memory (Linux ``/proc``; the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return _peak_mb()


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def child(terms: int, folder: Path) -> None:
    """One measurement in this (fresh) process; prints one JSON line."""
    # this checkout's code, not whichever crosspost is installed
    sys.path[:0] = [str(HERE.parent / "src"), str(HERE)]
    from crosspost.guard import TextField, check_content
    from crosspost.matchercache import cached_matcher
    from guard import make_profiles  # the benchmark's seeded made-up identities

    profiles = make_profiles(terms)
    base = _rss_mb()
    c0, w0 = time.process_time(), time.perf_counter()
    m = cached_matcher(profiles, secret=None, folder=folder)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    after = _rss_mb()
    c0 = time.process_time()
    check_content(m, "professional", [TextField("body", SPLIT_TEXT)])
    split = time.process_time() - c0
    files = list(folder.glob("matcher-*.bin"))
    print(
        json.dumps(
            {
                "terms": terms,
                "keys": m.key_count,
                "cpu": cpu,
                "wall": wall,
                "base_mb": base,
                "after_mb": after,
                "peak_mb": _peak_mb(),
                "split_cpu": split,
                "file_mb": files[0].stat().st_size / 2**20 if files else 0.0,
            }
        )
    )


def run(terms: int, folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(terms), str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--terms", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--child", nargs=2, metavar=("TERMS", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(int(args.child[0]), Path(args.child[1]))
        return
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(
        "| terms | keys | run | cache | CPU s | wall s | base MB | built MB | peak MB "
        "| peak − base MB | first split-letter text ms | cache file MB |"
    )
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst: dict[str, float] = {"cpu": 0.0, "wall": 0.0, "peak_mb": 0.0}
    for terms in args.terms:
        for r in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp) / "guard"
                for label in ("cold", "warm"):
                    res = run(terms, folder)
                    print(
                        f"| {terms:,} | {int(res['keys']):,} | {r} | {label} | {res['cpu']:.2f} "
                        f"| {res['wall']:.2f} | {res['base_mb']:.0f} | {res['after_mb']:.0f} "
                        f"| {res['peak_mb']:.0f} "
                        f"| {res['peak_mb'] - res['base_mb']:.0f} | {res['split_cpu'] * 1000:.1f} "
                        f"| {res['file_mb']:.1f} |",
                        flush=True,
                    )
                    if terms == max(args.terms):
                        for k in worst:
                            worst[k] = max(worst[k], res[k])
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    top = max(args.terms)
    print(
        f"\ntargets at {top:,} terms (worst of cold and warm): build <= {TARGET_SECONDS:.0f} s: "
        f"{worst['cpu']:.1f} s CPU, {worst['wall']:.1f} s wall; resident <= {TARGET_MB:.0f} MB: "
        f"{worst['peak_mb']:.0f} MB peak"
    )


if __name__ == "__main__":
    main()
