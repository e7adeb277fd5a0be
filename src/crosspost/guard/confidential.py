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


#: HMAC's inner and outer paddings (RFC 2104) as byte translations of the block-sized key
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))
_BLOCK = hashlib.sha256().block_size


class WindowHasher:
    """:func:`digest` under one secret, for the many short windows of a text.

    ``hmac.digest`` derives the padded keys and hashes them on every call: four SHA-256
    blocks for a window of a few words, where two depend on the window. Here the keyed inner
    and outer states are computed once and copied per window (the same HMAC-SHA256, about
    three times faster); the states stay in memory like the secret they come from.
    """

    __slots__ = ("inner", "outer")

    def __init__(self, secret: bytes) -> None:
        key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
        key = key.ljust(_BLOCK, b"\0")
        #: SHA-256 states after the padded key's block: copy, then feed the data (inner) or
        #: the inner digest (outer)
        self.inner = hashlib.sha256(key.translate(_IPAD))
        self.outer = hashlib.sha256(key.translate(_OPAD))

    def __call__(self, data: bytes) -> bytes:
        inner = self.inner.copy()
        inner.update(data)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()
