"""The name a persona's requests and its Mastodon apps go by when its profile names none.

A platform sees the client of every request (the User-Agent, in its logs) and, on Mastodon,
the name of the app that posted (shown as "via <app>" under every post on many instances).
Client names on posts have linked accounts before: if both personas said "crosspost", anyone
who reads both accounts, or the logs of a server both post to, would see one tool behind
them. So each persona gets a name of its own, a made-up word like ``Velorin``, drawn from a
random seed kept in the configuration's data folder and the persona's name: stable for a
persona (the same name at every start, so the app name at login and the User-Agent later
agree), different between personas, and not derivable by anyone without the seed (a name
computed from the persona's name alone would let anyone who guesses "work" and "personal"
recognise both). The seed is not a secret in the keyring's sense: losing it only changes
the names.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from pathlib import Path

log = logging.getLogger("crosspost.agentnames")

#: the file in the data folder holding the seed (hex); created on first use
SEED_FILE = "client-seed"
_SEED_BYTES = 32
_CONSONANTS = "bdfghklmnprstvz"
_VOWELS = "aeiou"
_ENDINGS = ("", "n", "r", "l", "s", "x")


#: seeds read so far, by file: the daemon builds a context per delivery, and the seed of a
#: data folder never changes once written (reading the file each time cost a tenth of a
#: millisecond per delivery)
_KNOWN: dict[Path, bytes] = {}


def _read(path: Path) -> bytes | None:
    known = _KNOWN.get(path)
    if known is not None:
        return known
    try:
        value = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    if len(value) != _SEED_BYTES:
        return None
    _KNOWN[path] = value
    return value


def seed(folder: Path | None) -> bytes:
    """The seed in ``folder`` (None: the user's cache folder), made when there is none.

    Written whole under a temporary name and then linked into place, so a process starting at
    the same moment reads either no seed or the whole one, and both end up with the same. A
    folder that cannot be written gives an empty seed (names then follow from the persona
    names alone, still different per persona) and a warning: a read-only data folder must not
    stop publishing."""
    if folder is None:
        from platformdirs import user_cache_path

        folder = user_cache_path("crosspost")
    path = folder / SEED_FILE
    value = _read(path)
    if value is not None:
        return value
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{SEED_FILE}.", dir=folder)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(_SEED_BYTES) + "\n")
            if path.exists():  # there but unreadable: replaced
                os.replace(tmp, path)
            else:
                os.link(tmp, path)
        except FileExistsError:  # another process made it first: theirs counts
            pass
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as e:
        log.warning("client names follow the persona names only: %s: %s", path, e.strerror or e)
        return b""
    return _read(path) or b""


def _digest(key: bytes, persona: str) -> bytes:
    return hmac.new(key, f"client-name:{persona}".encode(), hashlib.sha256).digest()


def client_name(key: bytes, persona: str) -> str:
    """A pronounceable made-up word of three syllables, e.g. ``Velorin``."""
    d = _digest(key, persona)
    word = "".join(_CONSONANTS[d[i] % len(_CONSONANTS)] + _VOWELS[d[i + 3] % 5] for i in range(3))
    return (word + _ENDINGS[d[6] % len(_ENDINGS)]).capitalize()


def user_agent(key: bytes, persona: str) -> str:
    """The persona's default User-Agent: its client name and a version, e.g. ``Velorin/2.4``."""
    d = _digest(key, persona)
    return f"{client_name(key, persona)}/{1 + d[7] % 3}.{d[8] % 10}"
