"""Committing what the static-site adapter wrote, for sites that deploy on push.

Only the paths written are added and committed (other staged work in the repository stays
as it is), git never waits for a prompt, and a repository another git process holds is a
reason to retry, not a failure.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..errors import PermanentError, TransientError


def run_git(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        return subprocess.run(
            ["git", "--literal-pathspecs", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        raise PermanentError(
            "git_commit is on but the 'git' program is not installed",
            hint="install git or set git_commit = false in [blog]",
        ) from None
    except subprocess.TimeoutExpired:
        raise TransientError(
            f"git {args[0]} took longer than {timeout:.0f}s in {cwd}",
            hint="another git process may be holding the repository; crosspost will retry",
            retry_after=120,
        ) from None


def git_top(directory: Path, timeout: float) -> Path | None:
    """The work tree holding ``directory``; None only when there really is none.

    Any other failure (e.g. git's "dubious ownership" refusal) is an error: skipping the
    commit silently would leave the user wondering why the site never updates.
    """
    cp = run_git(["rev-parse", "--show-toplevel"], directory, timeout)
    if cp.returncode == 0 and cp.stdout.strip():
        return Path(cp.stdout.strip())
    resolved = directory.resolve()
    if not any((p / ".git").exists() for p in (resolved, *resolved.parents)):
        return None  # (decided without parsing git's possibly translated message)
    check(cp, "rev-parse", directory)
    return None  # pragma: no cover - check raised


def commit_paths(paths: list[Path], top: Path, message: str, timeout: float) -> None:
    """``git add`` + ``git commit`` of exactly these paths in the work tree at ``top``."""
    real_top = top.resolve()
    try:
        rel = [str(p.resolve().relative_to(real_top)) for p in paths]
    except ValueError:
        raise PermanentError(
            f"{', '.join(map(str, paths))} is outside the git repository at {top}",
            hint="keep the site (including assets) in one repository or set git_commit = false",
        ) from None
    ident: list[str] = []
    for key, default in (("user.name", "crosspost"), ("user.email", "crosspost@localhost")):
        if run_git(["config", "--get", key], top, timeout).returncode != 0:
            ident += ["-c", f"{key}={default}"]
    check(run_git(["add", "--", *rel], top, timeout), "add", top)
    staged = run_git(["diff", "--cached", "--quiet", "--", *rel], top, timeout)
    if staged.returncode == 0:
        return  # already committed by the attempt that wrote the file
    if staged.returncode != 1:
        check(staged, "diff", top)
    check(run_git([*ident, "commit", "-q", "-m", message, "--", *rel], top, timeout), "commit", top)


def check(cp: subprocess.CompletedProcess[str], what: str, top: Path) -> None:
    if cp.returncode == 0:
        return
    msg = cp.stderr.strip() or cp.stdout.strip() or f"exit status {cp.returncode}"
    if "index.lock" in msg:
        raise TransientError(
            f"git {what} in {top}: {msg}",
            hint="another git process is running there; crosspost will retry",
            retry_after=60,
        )
    raise PermanentError(
        f"git {what} failed in {top}: {msg}",
        hint=f"fix the repository (see 'git status' in {top}) and run 'crosspost retry', "
        "or set git_commit = false in [blog]; the entry file itself was written",
    )
