"""Writing into local folders so that a crash, a full disk or a second process never leaves a
half-written file where a site generator or feed reader would pick it up.

Every file goes through a hidden temporary file in the target folder + fsync + an atomic rename
(``os.link`` when it must not overwrite anything), and a folder is ``flock``-ed while an entry
is chosen and written. Shared by the static-site and the feed adapters.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ..entries import image_ref_path, slugify
from ..errors import PermanentError, PublishError, TransientError
from .base import MediaItem

_TRANSIENT_ERRNOS = {
    getattr(errno, name)
    for name in (
        "ENOSPC",
        "EDQUOT",
        "EIO",
        "EAGAIN",
        "EBUSY",
        "EINTR",
        "ETIMEDOUT",
        "ESTALE",
        "ENOLCK",
        "EMFILE",
        "ENFILE",
        "ENOMEM",
    )
    if hasattr(errno, name)
}
_PERMISSION_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}
#: os.link failures meaning "this file system has no hard links", not "you may not"
_NO_LINK_ERRNOS = {
    getattr(errno, name)
    for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "EMLINK", "ENOSYS")
    if hasattr(errno, name)
}


def publish_error(e: OSError, path: Path, folder: Path | None = None) -> PublishError:
    """Map an OS error to the publisher's retry decision, with a hint naming the folder.

    Writes are atomic, so a failed write published nothing (``maybe_sent=False``).
    """
    folder = folder or path.parent
    reason = e.strerror or str(e)
    if isinstance(e, PermissionError) or e.errno in _PERMISSION_ERRNOS:
        return PermanentError(
            f"cannot write {path}: {reason}",
            hint=f"make the folder {folder} writable for the user running crosspost, "
            "or point the profile at another folder",
        )
    if e.errno in _TRANSIENT_ERRNOS:
        return TransientError(
            f"cannot write {path}: {reason}",
            hint=f"free space or fix the disk holding {folder}; crosspost will retry",
            retry_after=300,
            maybe_sent=False,
        )
    return PermanentError(f"cannot write {path}: {reason}", hint=f"check the folder {folder}")


def ensure_dir(directory: Path) -> None:
    """Create ``directory`` if only it is missing: a missing parent means a wrong path."""
    if directory.is_dir():
        return
    if not directory.parent.is_dir():
        raise PermanentError(
            f"folder {directory} does not exist, and neither does {directory.parent}",
            hint=f"create {directory.parent} or fix the path in the profile",
        )
    try:
        directory.mkdir()
    except FileExistsError:
        if not directory.is_dir():  # else another process or thread was first: fine
            raise PermanentError(
                f"{directory} is not a folder", hint="point the profile at a folder"
            ) from None


@contextlib.contextmanager
def locked_dir(directory: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold an exclusive ``flock`` on a folder (no lock file to publish by accident).

    Serialises read-modify-write cycles between processes and threads on one machine;
    a no-op where ``fcntl`` does not exist.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TransientError(
                        f"{directory} is locked by another crosspost process",
                        hint="crosspost will retry; check for a stuck process if it persists",
                        retry_after=60,
                        maybe_sent=False,
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make a rename durable; not every platform can open a folder, hence best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one.

    The temporary file lives in the same folder (same file system, so the rename is atomic)
    and is hidden, so a generator never picks it up. With ``exclusive`` the file is put in
    place with ``os.link``, which fails with ``FileExistsError`` instead of overwriting.
    A replaced file keeps its permissions; a new one is world-readable (0644) like any file
    a web server or a build run by another user must read.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if exclusive:
            _link_exclusive(tmp, path)
        else:
            os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _link_exclusive(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in _NO_LINK_ERRNOS:
            raise
        # no hard links here: fall back to a checked rename (racy only without our lock)
        if path.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
        os.replace(tmp, path)


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy a media file into place atomically (a half-copied image is never visible)."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def writable_probe(directory: Path) -> None:
    """Create and remove a hidden file: ``os.access`` lies on ACLs and read-only mounts."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".probe")
    os.close(fd)
    os.unlink(name)


def write_entry(path: Path, text: str) -> None:
    """Put an entry file in place, never over another file (its folder made if missing)."""
    path.parent.mkdir(exist_ok=True)
    try:
        atomic_write(path, text.encode("utf-8"), exclusive=True)
    except FileExistsError:
        raise TransientError(
            f"{path} appeared while crosspost was writing it",
            hint="another program writes to the same folder; crosspost will retry",
            retry_after=30,
            maybe_sent=False,
        ) from None


def media_name(item: MediaItem, used: set[str]) -> str:
    """A file name for a media item that no other item of the entry has (added to ``used``)."""
    suffix = re.sub(r"[^a-z0-9.]", "", item.path.suffix.lower())
    # an image of the body keeps the name it has there (the snapshot is named by hash)
    stem = slugify(PurePosixPath(image_ref_path(item.ref)).stem if item.ref else item.path.stem)
    if stem in ("index", "_index"):
        stem = "image"
    name, n = f"{stem}{suffix}", 1
    while name in used:
        n += 1
        name = f"{stem}-{n}{suffix}"
    used.add(name)
    return name


def copy_media(item: MediaItem, dest: Path) -> None:
    if not item.path.is_file():
        raise PermanentError(
            f"media file {item.path} is missing",
            hint="the snapshot taken when the post was queued is gone; queue the post again",
        )
    atomic_copy(item.path, dest)
