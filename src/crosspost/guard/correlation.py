"""Correlation between personas: the same words, or the same minutes.

Near-duplicates
    Both texts are reduced to their canonical word tokens (the same normalisation as identity
    matching, so case, confusables, invisible characters and digit swaps do not hide a copy),
    then to sets of word shingles: 3-word shingles when both texts have at least 10 words,
    2-word shingles otherwise. Two posts are near-duplicates when the Jaccard similarity of the
    shingle sets is at least ``JACCARD_THRESHOLD`` (0.5), or when one text is (almost) contained
    in the other — at least ``CONTAINMENT_THRESHOLD`` (0.8) of the smaller set's shingles occur
    in the larger one and the smaller one has at least ``MIN_CONTAINED_SHINGLES`` shingles — so
    "same text plus a link" is caught too. Texts of fewer than ``MIN_WORDS`` (5) words are not
    compared: "Good morning!" on both accounts is no fingerprint. Exact set comparison is fast
    for the few hundred recent posts of a window; MinHash would only pay off for far more.

Candidates
    The store keeps :func:`index_hashes` of every post's text, and a new text is compared only
    with the posts that share one of its :func:`probe_hashes`. That is an exact filter, not an
    estimate: a flagged pair shares at least ``needed`` shingles (see :func:`_needed`), so any
    ``n - needed + 1`` of the new text's ``n`` shingles include one of them. The shingle size
    depends on both texts, so both sizes are indexed, and a post's 2-word shingles under a
    different tag when it is short (under ``LONG`` words) or long.

Separation
    A persona's ``separation`` is the minimum gap between its posts and any other persona's.
    For a post of P at time t and a post of Q at time u, the gap required is the larger of P's
    and Q's separation; the finding names the conflicting post and the next time at which P
    could post without conflicting with *any* other persona's known post.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from ._text import canon_tokens
from .findings import Finding
from .matcher import Matcher
from .rules import effective_severity

JACCARD_THRESHOLD = 0.5
CONTAINMENT_THRESHOLD = 0.8
MIN_CONTAINED_SHINGLES = 8
MIN_WORDS = 5
#: texts of at least this many words are compared by 3-word shingles (when both are)
LONG = 10
DEFAULT_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class RecentPost:
    """A post of some persona (published or queued), as correlation needs it."""

    persona: str
    post_id: int
    text: str
    at: datetime  # aware, UTC
    #: how findings name it; None: "post <post_id>" (a post of the queue)
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or f"post {self.post_id}"


def _shingles(tokens: list[str], k: int) -> set[tuple[str, ...]]:
    if len(tokens) < k:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}


def similarity(a: str, b: str) -> tuple[float, float]:
    """``(jaccard, containment)`` of two texts' word shingles (see module docstring)."""
    ta, tb = canon_tokens(a), canon_tokens(b)
    return _similarity(ta, tb)


def _similarity(ta: list[str], tb: list[str]) -> tuple[float, float]:
    if len(ta) < MIN_WORDS or len(tb) < MIN_WORDS:
        return 0.0, 0.0
    k = 3 if min(len(ta), len(tb)) >= LONG else 2
    sa, sb = _shingles(ta, k), _shingles(tb, k)
    inter = len(sa & sb)
    union = len(sa | sb)
    small = min(len(sa), len(sb))
    jac = inter / union if union else 0.0
    cont = inter / small if small >= MIN_CONTAINED_SHINGLES else 0.0
    return jac, cont


def _hash(tag: bytes, shingle: tuple[str, ...]) -> int:
    """A signed 64-bit hash of a shingle (the store's integer column), ``tag`` naming its kind."""
    digest = hashlib.blake2b(tag + "\x1f".join(shingle).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_PAIR_SHORT, _PAIR_LONG, _TRIPLE = b"2s", b"2l", b"3"


def index_hashes(text: str) -> set[int]:
    """What the store keeps of a post's text so :func:`probe_hashes` can find it: its 2-word
    shingles (tagged by its length) and, when it is long, its 3-word shingles. None for a text
    too short to be compared."""
    tokens = canon_tokens(text)
    if len(tokens) < MIN_WORDS:
        return set()
    long = len(tokens) >= LONG
    tag = _PAIR_LONG if long else _PAIR_SHORT
    out = {_hash(tag, s) for s in _shingles(tokens, 2)}
    if long:
        out |= {_hash(_TRIPLE, s) for s in _shingles(tokens, 3)}
    return out


def _needed(n: int) -> int:
    """The fewest shingles a set of ``n`` shares with any set it is flagged against: Jaccard
    needs ``JACCARD_THRESHOLD * n`` (the union holds at least ``n``), containment
    ``CONTAINMENT_THRESHOLD`` of the smaller set, which holds at least
    ``MIN_CONTAINED_SHINGLES`` (and only counts when ``n`` does too)."""
    need = math.ceil(Fraction(str(JACCARD_THRESHOLD)) * n)
    if n >= MIN_CONTAINED_SHINGLES:
        small = min(n, MIN_CONTAINED_SHINGLES)
        need = min(need, math.ceil(Fraction(str(CONTAINMENT_THRESHOLD)) * small))
    return max(1, need)


def _probe(shingles: set[tuple[str, ...]], tags: Sequence[bytes]) -> set[int]:
    """Any ``n - needed + 1`` of the ``n`` shingles (the ones with the lowest hashes, so the
    choice does not depend on set order), hashed under each of ``tags``."""
    keep = len(shingles) - _needed(len(shingles)) + 1
    chosen = sorted(shingles, key=lambda s: _hash(b"", s))[:keep]
    return {_hash(tag, s) for s in chosen for tag in tags}


def probe_hashes(text: str) -> set[int]:
    """Hashes of which every post the near-duplicate rule flags against ``text`` holds at least
    one among its :func:`index_hashes` (none when ``text`` is too short to be compared)."""
    tokens = canon_tokens(text)
    if len(tokens) < MIN_WORDS:
        return set()
    pairs = _shingles(tokens, 2)
    if len(tokens) < LONG:  # 2-word shingles against every post
        return _probe(pairs, (_PAIR_SHORT, _PAIR_LONG))
    # 3-word shingles against long posts, 2-word ones against short posts
    return _probe(_shingles(tokens, 3), (_TRIPLE,)) | _probe(pairs, (_PAIR_SHORT,))


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {value.isoformat()}")


def _fmt(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC").replace(":00 UTC", " UTC")


def _ceil_minute(dt: datetime) -> datetime:
    """The next whole minute (or ``dt`` itself): a next allowed time people can type."""
    floor = dt.replace(second=0, microsecond=0)
    return floor if floor == dt else floor + timedelta(minutes=1)


def _fmt_delta(td: timedelta) -> str:
    secs = int(td.total_seconds())
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{s}s" if s and not h else ""]
    return "".join(parts) or "0s"


def check_correlation(
    matcher: Matcher,
    persona: str,
    text: str,
    scheduled_at: datetime,
    recent: Sequence[RecentPost],
    *,
    window: timedelta = DEFAULT_WINDOW,
    fmt: Callable[[datetime], str] = _fmt,
) -> list[Finding]:
    """Near-duplicate and separation findings for a post of ``persona`` at ``scheduled_at``.

    ``fmt`` writes the times in the messages; the application passes one that shows them in
    the persona's timezone (the guard itself knows no timezones).
    """
    _require_aware(scheduled_at, "scheduled_at")
    profile = matcher.personas.get(persona)
    overrides = profile.severity if profile is not None else {}
    own_sep = profile.separation if profile is not None else None
    findings: list[Finding] = []
    others = [r for r in recent if r.persona != persona]
    for r in others:
        _require_aware(r.at, f"post {r.post_id}: at")

    # -- near-duplicates
    sev = effective_severity("near-duplicate", "block", overrides)
    mine = canon_tokens(text)
    if sev != "off" and len(mine) >= MIN_WORDS:
        for r in others:
            if abs(r.at - scheduled_at) > window:
                continue
            jac, cont = _similarity(mine, canon_tokens(r.text))
            if jac >= JACCARD_THRESHOLD or cont >= CONTAINMENT_THRESHOLD:
                how = (
                    f"{jac:.0%} similar"
                    if jac >= JACCARD_THRESHOLD
                    else f"{cont:.0%} contained in each other"
                )
                findings.append(
                    Finding(
                        rule="near-duplicate",
                        severity=sev,  # type: ignore[arg-type]
                        match=text,
                        start=0,
                        end=len(text),
                        message=(
                            f"text is {how} (word shingles) to {r.name} of persona "
                            f"'{r.persona}' at {fmt(r.at)}: the same text on two personas "
                            "links them; rewrite it"
                        ),
                        owner=r.persona,
                    )
                )

    # -- separation
    sev = effective_severity("separation", "block", overrides)
    if sev == "off":
        return findings

    def required(other: str) -> timedelta:
        other_profile = matcher.personas.get(other)
        gaps = [own_sep, other_profile.separation if other_profile is not None else None]
        return max((g for g in gaps if g is not None), default=timedelta(0))

    gaps = {r.persona: required(r.persona) for r in others}
    conflicts = [
        r
        for r in others
        if gaps[r.persona] > timedelta(0) and abs(r.at - scheduled_at) < gaps[r.persona]
    ]
    if not conflicts:
        return findings
    # next time not inside any other persona's window
    t = scheduled_at
    for _ in range(len(others) + 1):
        blocking = [r for r in others if abs(r.at - t) < gaps[r.persona]]
        if not blocking:
            break
        t = max(r.at + gaps[r.persona] for r in blocking)
    nearest: dict[str, RecentPost] = {}
    for r in conflicts:
        best = nearest.get(r.persona)
        if best is None or abs(r.at - scheduled_at) < abs(best.at - scheduled_at):
            nearest[r.persona] = r
    for other, r in nearest.items():
        gap = gaps[other]
        findings.append(
            Finding(
                rule="separation",
                severity=sev,  # type: ignore[arg-type]
                match=scheduled_at.isoformat(),
                start=0,
                end=0,
                field="at",
                owner=other,
                message=(
                    f"scheduled {fmt(scheduled_at)} is within {_fmt_delta(gap)} of "
                    f"{r.name} of persona '{other}' at {fmt(r.at)}; next allowed time: "
                    f"{fmt(_ceil_minute(t))}"
                ),
            )
        )
    return findings
