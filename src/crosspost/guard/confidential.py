"""Keyed hashes of confidential identifiers (client names and the like).

A persona file may hold client identifiers only as ``hmac-sha256:<words>:<hex>``: the HMAC-SHA256,
under a secret kept outside the file (the keyring), of the identifier's canonical form — the
normalised word tokens (see :mod:`._text`: case, compatibility forms, confusables, invisible
characters and digit-for-letter swaps folded) joined without spaces. ``<words>`` is the number
of word tokens; the matcher hashes every window of up to that many words of a text (joined the
same way, so "Jane Doe", "JANE  DOE", "jane_doe", "J4ne D0e" and "JaneDoe" all hash alike) and
compares. The word count is the only thing the file reveals about the identifier.

Hashing is no protection against guessing from a short list of candidate names by someone who
has the secret; it keeps client names out of dotfiles, backups and screenshots of the config.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from ._text import canon_tokens

PREFIX = "hmac-sha256"
_FORM = re.compile(r"^hmac-sha256:(?:(\d{1,2}):)?([0-9a-fA-F]{64})$")
#: Window sizes tried for a hash recorded without a word count.
DEFAULT_MAX_WORDS = 4


def canonical_confidential(term: str) -> tuple[int, bytes]:
    toks = canon_tokens(term)
    if not toks:
        raise ValueError("a confidential identifier needs at least one letter or digit")
    return len(toks), "".join(toks).encode("utf-8")


def hash_confidential(term: str, secret: bytes) -> str:
    """``"hmac-sha256:<words>:<hex>"`` for ``term`` under ``secret``."""
    if not secret:
        raise ValueError("hash_confidential needs a non-empty secret")
    n, data = canonical_confidential(term)
    return f"{PREFIX}:{n}:{hmac.digest(secret, data, 'sha256').hex()}"


@dataclass(frozen=True)
class HashedTerm:
    words: int
    digest: bytes


def parse_hash(value: str) -> HashedTerm:
    m = _FORM.match(value.strip())
    if not m:
        raise ValueError(
            f"invalid confidential hash {value!r}: expected 'hmac-sha256:<words>:<64 hex>' "
            "(create it with `crosspost guard add-confidential`)"
        )
    words = int(m.group(1)) if m.group(1) else DEFAULT_MAX_WORDS
    if words < 1:
        raise ValueError(f"invalid confidential hash {value!r}: word count must be >= 1")
    return HashedTerm(words, bytes.fromhex(m.group(2)))


def digest(secret: bytes, data: bytes) -> bytes:
    return hmac.digest(secret, data, hashlib.sha256)
