"""Shortcuts of the guard's scan report exactly what the plain definitions report.

Hashed confidential identifiers: ``_hash_windows`` looks every window of a text up in one
C-level pass over the cache, hashes each new window once with precomputed HMAC states and
walks the windows in order only when one is an identifier; the definition is one
``hmac.digest`` per window, every window in order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from crosspost.guard import GuardProfile, Matcher, build_matcher, hash_confidential
from crosspost.guard.confidential import WindowHasher, canonical_confidential
from crosspost.guard.matcher import _hash_windows, _Hit

from .conftest import SECRET, make_profiles

SYLLABLES = ["ka", "lo", "mi", "ra", "ne", "to", "su", "vi", "an", "or"]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=200), st.binary(max_size=300))
def test_window_hasher_is_hmac_sha256(secret: bytes, data: bytes) -> None:
    assert WindowHasher(secret)(data) == hmac.digest(secret, data, hashlib.sha256)


def _reference(
    m: Matcher, toks: list[str], must_include: int | None = None
) -> list[tuple[str, int, int]]:
    """(owner, first token, end token) of every window that is a hashed identifier: one
    ``hmac.digest`` per window, windows by size, then position."""
    assert m._secret is not None
    out = []
    for size in range(1, m._hash_words + 1):
        for i in range(len(toks) - size + 1):
            if must_include is not None and not (i <= must_include < i + size):
                continue
            key = hmac.digest(m._secret, "".join(toks[i : i + size]).encode(), hashlib.sha256)
            owner = m._hashed.get(key)
            if owner is not None:
                out.append((owner, i, i + size))
    return out


def _hashed_matcher(phrases: list[str]) -> Matcher:
    pro, per = make_profiles()
    hashes = tuple(hash_confidential(p, SECRET) for p in phrases)
    pro = GuardProfile(**{**pro.__dict__, "confidential_hashes": hashes})
    return build_matcher([pro, per], secret=SECRET)


def _windows_found(
    m: Matcher, toks: list[str], must_include: int | None = None
) -> list[tuple[str, int, int]]:
    hits: list[_Hit] = []
    _hash_windows(m, toks, lambda i, j: (i, j), hits, must_include)
    assert all(h.rule == "confidential" for h in hits)
    return [(h.owner or "", h.nstart, h.nend) for h in hits]


def test_hashed_windows_equal_one_digest_per_window() -> None:
    rng = random.Random(7)
    phrases = [
        " ".join("".join(rng.choices(SYLLABLES, k=2)) for _ in range(rng.randint(1, 3)))
        for _ in range(40)
    ]
    m = _hashed_matcher(phrases)
    assert m._hash_words == 3
    words = [canonical_confidential(p) for p in phrases]
    assert words
    found = 0
    for round_ in range(300):
        if round_ % 50 == 0:
            m._hash_cache.clear()  # cold and warm caches alike
        toks = ["".join(rng.choices(SYLLABLES, k=rng.randint(1, 3))) for _ in range(30)]
        expected = _reference(m, toks)
        found += len(expected)
        assert _windows_found(m, toks) == expected
        k = rng.randrange(len(toks))
        assert _windows_found(m, toks, must_include=k) == _reference(m, toks, must_include=k)
    assert found > 50  # the texts did contain identifiers


def test_hashed_windows_of_short_texts() -> None:
    m = _hashed_matcher(["ka lo mi", "kalo"])
    for toks in ([], ["ka"], ["kalo"], ["ka", "lo"], ["ka", "lo", "mi"], ["lo", "ka", "lo"]):
        assert _windows_found(m, toks) == _reference(m, toks)
        for k in range(len(toks)):
            assert _windows_found(m, toks, k) == _reference(m, toks, k)


def test_a_matcher_with_another_secret_hashes_with_that_secret() -> None:
    m = _hashed_matcher(["ka mi"])
    assert _windows_found(m, ["ka", "mi"]) == [("professional", 0, 2)]
    assert _windows_found(m, ["kami"]) == [("professional", 0, 1)]
    other = dataclasses.replace(m, _secret=b"another secret", _hash_cache={})
    assert _windows_found(other, ["ka", "mi"]) == []
