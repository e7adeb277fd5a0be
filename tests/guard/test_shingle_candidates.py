"""The near-duplicate check's candidate filter is exact: every post the rule flags shares one
of the new text's probe hashes (so reading only those posts loses no finding)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from crosspost.guard._text import canon_tokens
from crosspost.guard.correlation import (
    CONTAINMENT_THRESHOLD,
    JACCARD_THRESHOLD,
    _needed,
    _shingles,
    index_hashes,
    probe_hashes,
    similarity,
)

# few words, so random texts share shingles often and land near both thresholds
WORDS = ["sleep", "light", "small", "routines", "help", "more", "than", "big", "Spring", "0n"]


def flagged(new: str, old: str) -> bool:
    jac, cont = similarity(new, old)
    return jac >= JACCARD_THRESHOLD or cont >= CONTAINMENT_THRESHOLD


def found(new: str, old: str) -> bool:
    return bool(probe_hashes(new) & index_hashes(old))


texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=40).map(" ".join)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[str, str]:
    """A text and one made from it: a slice, with words dropped, swapped or added."""
    words = draw(st.lists(st.sampled_from(WORDS), min_size=3, max_size=40))
    lo = draw(st.integers(0, len(words)))
    hi = draw(st.integers(lo, len(words)))
    other = list(words[lo:hi])
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["drop", "add", "swap"]))
        at = draw(st.integers(0, max(0, len(other) - 1)))
        if op == "add" or not other:
            other.insert(at, draw(st.sampled_from(WORDS)))
        elif op == "drop":
            del other[at]
        else:
            other[at] = draw(st.sampled_from(WORDS))
    pre = draw(st.lists(st.sampled_from(WORDS), max_size=15))
    post = draw(st.lists(st.sampled_from(WORDS), max_size=15))
    a, b = " ".join(words), " ".join(pre + other + post)
    return (a, b) if draw(st.booleans()) else (b, a)


@settings(max_examples=1500, deadline=None)
@given(pairs())
def test_every_flagged_pair_shares_a_probe_hash(pair: tuple[str, str]) -> None:
    new, old = pair
    if flagged(new, old):
        assert found(new, old), similarity(new, old)


@settings(max_examples=500, deadline=None)
@given(texts, texts)
def test_every_flagged_pair_of_unrelated_texts_shares_a_probe_hash(new: str, old: str) -> None:
    if flagged(new, old):
        assert found(new, old), similarity(new, old)


def test_random_texts_flag_often_and_all_are_candidates() -> None:
    """The property above is not vacuous: many of these pairs are flagged, and the filter
    still drops most of the pairs that are not."""
    rng = random.Random(13)
    vocabulary = [f"w{i}" for i in range(60)]
    hits = misses_dropped = 0
    for _ in range(3000):
        base = [rng.choice(vocabulary) for _ in range(rng.randint(5, 40))]
        other = list(base)
        for _ in range(rng.randint(0, 12)):
            other[rng.randrange(len(other))] = rng.choice(vocabulary)
        if rng.random() < 0.3:
            other = other[rng.randrange(len(other)) :] + [rng.choice(vocabulary)] * 3
        new, old = " ".join(base), " ".join(other)
        if flagged(new, old):
            hits += 1
            assert found(new, old), similarity(new, old)
        elif not found(new, old):
            misses_dropped += 1
    assert hits > 300
    assert misses_dropped > 100


def test_needed_is_the_least_overlap_of_a_flagged_pair() -> None:
    """Brute force over set sizes: no flagged pair of sizes (n, m) shares fewer than
    ``_needed(n)`` shingles, and some pair shares exactly that many."""
    for n in range(1, 40):
        least = None
        for m in range(1, 60):
            for inter in range(0, min(n, m) + 1):
                union = n + m - inter
                small = min(n, m)
                jac = inter / union
                cont = inter / small if small >= 8 else 0.0
                if jac >= JACCARD_THRESHOLD or cont >= CONTAINMENT_THRESHOLD:
                    least = inter if least is None else min(least, inter)
        assert least == _needed(n), n


def test_short_texts_have_no_hashes() -> None:
    assert index_hashes("Good morning everyone") == set()
    assert probe_hashes("Good morning everyone") == set()
    assert len(_shingles(canon_tokens("one two three four five"), 2)) == 4
