"""Start crosspost as a real process, the way cron or systemd would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: the repository root: the tests package imports from there
REPO = Path(__file__).resolve().parents[2]


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_")}
    env.update(
        PYTHONPATH=str(REPO),
        PYTHON_KEYRING_BACKEND="tests.support.filekeyring.FileKeyring",
        CROSSPOST_TEST_KEYRING_FILE=str(tmp / "keyring.json"),
        XDG_DATA_HOME=str(tmp / "xdg-data"),
        XDG_CONFIG_HOME=str(tmp / "xdg-config"),
        XDG_CACHE_HOME=str(tmp / "xdg-cache"),
    )
    env.update(extra)
    return env


def crosspost(config: Path, *args: str, env: dict[str, str], timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "crosspost", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def start_daemon(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    f = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "crosspost", "--config", str(config), "daemon"],
        stdout=f,
        stderr=subprocess.STDOUT,
        env=env,
    )


def run_daemons_until(
    config: Path, env: dict[str, str], logs: list[Path], done, timeout: float = 240
):  # type: ignore[no-untyped-def]
    """One daemon per log file until ``done()``; then SIGTERM, and each must exit 0 (else the
    assertion shows the tails of their logs)."""
    daemons = [start_daemon(config, env, log) for log in logs]
    try:
        wait_for(done, timeout=timeout, interval=1.0)
    finally:
        for d in daemons:
            d.send_signal(signal.SIGTERM)
        codes = [d.wait(timeout=60) for d in daemons]
    assert codes == [0] * len(daemons), [log.read_text()[-2000:] for log in logs]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
