"""Make a file or folder genuinely read-only, also for root (who ignores permission bits).

As root the kernel's immutable attribute (``chattr +i``) refuses every write with EPERM; as
another user, taking away the write bits is enough. Where neither works the test is skipped,
never faked.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    done: list[tuple[Path, int | None]] = []
    try:
        for path in paths:
            done.append((path, _lock(path)))
        yield
    finally:
        for path, mode in reversed(done):
            _unlock(path, mode)


def _lock(path: Path) -> int | None:
    if os.geteuid() != 0:
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        return mode
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a file read-only for root")
    r = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        pytest.skip(f"chattr +i does not work here: {r.stderr.strip()}")
    assert not os.access(path, os.W_OK), "chattr +i did not make it read-only"
    return None


def _unlock(path: Path, mode: int | None) -> None:
    if mode is not None:
        path.chmod(mode)
    else:
        subprocess.run(["chattr", "-i", str(path)], check=True)
