"""The leak guard's matcher, compiled once per configuration and kept on disk.

Compiling every persona's identity (:func:`crosspost.guard.matcher.compile_identity`) takes
about a second for 10,000 terms, and every ``check``, ``queue`` and ``preview`` needs it; the
compiled tables load in a few milliseconds. What is kept, and why it is safe:

* **Keyed by everything it depends on.** The file name and header hold a SHA-256 over the
  table format, the stamps (name, size, modification time) of the guard's own files and of the
  data packages it reads (phone numbers, public suffixes, word lists), and every field of every
  profile but the plain confidential identifiers, which the tables do not hold. Any change to a
  profile, a guard setting or the code gives another key, so a stale file is never read.
* **No confidential plain text.** The tables hold identity and ``never_mention`` keys only;
  confidential identifiers (plain or hashed) are compiled in memory on every start
  (:func:`crosspost.guard.build_matcher`), so a client's name never reaches the cache.
* **Plain data, not pickle.** The payload is ``marshal`` of str/int/None/bytes/tuple/list/
  dict values (the large tables are one string of keys and ``bytes`` of machine ints, see
  :func:`crosspost.guard.matcher.compile_identity`): loading it runs no code. A header
  carries the key and a SHA-256 of the payload, so a torn or corrupted file is recognised
  before it is parsed, and rebuilt (logged at debug).
  Files live in a folder of their own made ``0700`` (files ``0600``); a folder that another
  user owns or may write to is not used at all (the matcher is then built in memory), so only
  files this user's crosspost wrote are read.
* **Safe when two processes build at once.** Each writes a temporary file in the same folder
  and renames it over the target (``os.replace`` is atomic): a reader sees the old file, the
  new one, or none, never half of one; both writers write the same bytes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import marshal
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import fields
from pathlib import Path

from .guard import GuardProfile, Matcher, build_matcher
from .guard.matcher import TABLES_FORMAT, IdentityTables, compile_identity

log = logging.getLogger("crosspost.matchercache")

MAGIC = b"crosspost-matcher\n"
#: Packages whose data shapes the compiled tables.
_DATA_PACKAGES = ("phonenumbers", "tldextract", "wordfreq", "hunspell")
#: Files kept per folder: one per configuration in use, the oldest pruned.
KEEP = 4
_GUARD_DIR = Path(__file__).resolve().parent / "guard"


def cache_key(profiles: Sequence[GuardProfile]) -> str:
    """SHA-256 (hex) over what the compiled tables depend on (see the module docstring)."""
    h = hashlib.sha256(b"crosspost-matcher/%d\0" % TABLES_FORMAT)
    for stamp in _code_stamps():
        h.update(stamp.encode("utf-8", "surrogatepass") + b"\0")
    for p in profiles:
        public = [(f.name, getattr(p, f.name)) for f in fields(p) if f.name != "confidential"]
        h.update(repr(public).encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def _code_stamps() -> Iterator[str]:
    yield from _tree_stamps(_GUARD_DIR)
    for name in _DATA_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)  # finds, does not import
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec else []
        if spec is not None and spec.origin and not locations:
            locations = [spec.origin]
        for loc in locations:
            yield from _tree_stamps(Path(loc), depth=0)


def _tree_stamps(root: Path, depth: int = 3) -> Iterator[str]:
    """``name:size:mtime`` of the files under ``root`` (``depth`` folders down), sorted."""
    found: list[str] = []
    try:
        st = root.stat()
        if not root.is_dir():
            yield f"{root}:{st.st_size}:{st.st_mtime_ns}"
            return
        with os.scandir(root) as it:
            entries = list(it)
    except OSError:
        yield f"{root}:missing"
        return
    for e in entries:
        if e.name == "__pycache__":
            continue
        try:
            if e.is_dir():
                if depth > 0:
                    found.extend(_tree_stamps(Path(e.path), depth - 1))
                continue
            st = e.stat()
        except OSError:
            continue
        found.append(f"{e.path}:{st.st_size}:{st.st_mtime_ns}")
    yield from sorted(found)


def cached_matcher(
    profiles: Sequence[GuardProfile], *, secret: bytes | None, folder: Path
) -> Matcher:
    """The matcher for ``profiles``: its identity tables read from ``folder`` when a file for
    this exact configuration is there, else compiled and written there.

    Raises ``ValueError`` for what :func:`build_matcher` rejects (an unknown pack or rule);
    problems with the cache itself only cost the compile.
    """
    key = cache_key(profiles)
    path = folder / f"matcher-{key[:32]}.bin"
    usable = _usable_folder(folder)
    if usable:
        tables = _read(path, key)
        if tables is not None:
            try:
                return build_matcher(profiles, secret=secret, identity=tables)
            except (KeyError, TypeError, IndexError, ValueError) as e:
                # ValueError also means a bad profile: compiling again says which
                log.debug("matcher cache %s unusable (%s): compiling again", path, e)
    tables = compile_identity(profiles)
    if usable:  # before the automaton is built: the file's bytes are freed by then
        _write(path, key, tables)
    return build_matcher(profiles, secret=secret, identity=tables)


def _usable_folder(folder: Path) -> bool:
    """Made if missing (``0700``); not used if another user owns it or others may write to
    it: its files could then have been put there by someone else."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError as e:
        log.debug("matcher cache folder %s unusable: %s", folder, e)
        return False
    getuid = getattr(os, "getuid", None)
    if getuid is not None and (st.st_uid != getuid() or st.st_mode & 0o022):
        log.debug("matcher cache folder %s not private to this user: not used", folder)
        return False
    return True


def _read(path: Path, key: str) -> IdentityTables | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        log.debug("matcher cache %s unreadable: %s", path, e)
        return None
    head = len(MAGIC)
    file_key = data[head : head + 64]
    digest = data[head + 65 : head + 129]
    payload = memoryview(data)[head + 130 :]  # no copy of the payload
    if (
        not data.startswith(MAGIC)
        or file_key != key.encode("ascii")
        or digest != hashlib.sha256(payload).hexdigest().encode("ascii")
    ):
        log.debug("matcher cache %s damaged or of another configuration: compiling again", path)
        return None
    try:
        # plain data only, checksummed, from a folder private to this user (module docstring)
        tables = marshal.loads(payload)  # noqa: S302
    except (EOFError, ValueError, TypeError) as e:
        log.debug("matcher cache %s unreadable (%s): compiling again", path, e)
        return None
    return tables if isinstance(tables, dict) else None


def _write(path: Path, key: str, tables: IdentityTables) -> None:
    payload = marshal.dumps(tables, 4)
    head = b"".join(
        [MAGIC, key.encode("ascii"), b"\n", hashlib.sha256(payload).hexdigest().encode("ascii")]
    )
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".matcher-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(head + b"\n")
            f.write(payload)  # not joined to the head: no second copy of tens of megabytes
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        log.debug("matcher cache %s not written: %s", path, e)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    _prune(path.parent, keep=path)


def _prune(folder: Path, keep: Path) -> None:
    """Only the ``KEEP`` most recently written files stay (old configurations)."""
    try:
        files = sorted(
            folder.glob("matcher-*.bin"), key=lambda p: p.stat().st_mtime_ns, reverse=True
        )
        for old in files[KEEP:]:
            if old != keep:
                old.unlink(missing_ok=True)
    except OSError as e:
        log.debug("matcher cache folder %s not pruned: %s", folder, e)
