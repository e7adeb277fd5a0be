"""Split a share text that is too long for its platform into the parts of a thread.

A thread is read part by part, so each part should end where a reader can pause: at the end of
a sentence (or a line), else at the end of a word, and only inside a word that alone is longer
than the limit at a grapheme boundary. Like shortening (:mod:`crosspost.compose`), a split
never lands inside a link, an @mention, a #hashtag or a grapheme cluster, and every part is
counted the way the platform counts it (:func:`crosspost.textlength.fits`), with its number
(" 2/3") when the account asks for numbering.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .compose import _analyse, _cut_positions
from .textlength import LIMITS, fits

__all__ = ["ThreadSplitError", "numbered", "split_thread"]

#: a sentence ends with these, perhaps followed by closing quotes or brackets
_SENTENCE_END = re.compile(r"[.!?…。！？‼⁇⁈⁉][\"'’”»)\]」』]*$")
#: how many part counts to try before giving up on consistent numbering
_NUMBERING_ROUNDS = 8


class ThreadSplitError(ValueError):
    """The text cannot be split within the limit (a link longer than a whole post)."""


def numbered(text: str, k: int, n: int) -> str:
    """Part ``k`` of ``n`` with its number at the end, as it is sent and counted."""
    return f"{text} {k}/{n}"


def split_thread(
    text: str,
    platform: str,
    limit: int | None = None,
    *,
    counting: str | None = None,
    numbering: bool = False,
) -> list[str]:
    """The parts of ``text``, each fitting ``limit`` (default: the platform's) as ``platform``
    counts (or ``counting``); ``[text]`` when it fits as it is. With ``numbering`` every part
    of a thread of two or more ends with " k/n", counted in its length.

    Raises :class:`ThreadSplitError` when some piece that must stay whole does not fit.
    """
    if limit is None:
        limit = LIMITS[platform]
    if not text.strip() or fits(text, platform, limit, counting=counting):
        return [text]

    def ok(part: str) -> bool:
        return fits(part, platform, limit, counting=counting)

    if not numbering:
        return _split(text, platform, lambda k: "", ok)
    # the numbers lengthen the parts, which may take more parts: try counts from the
    # unnumbered one up until the count the numbers announce is the count that comes out
    first = len(_split(text, platform, lambda k: "", ok))
    for total in range(first, first + _NUMBERING_ROUNDS):
        parts = _split(text, platform, _numbers(total), ok)
        if len(parts) == total:
            return parts
    raise ThreadSplitError("no consistent numbering of the parts was found")


def _numbers(total: int) -> Callable[[int], str]:
    def suffix(k: int) -> str:
        return f" {k}/{total}"

    return suffix


def _split(
    text: str, platform: str, suffix: Callable[[int], str], ok: Callable[[str], bool]
) -> list[str]:
    analysis = _analyse(text, platform)
    words, graphemes_ = _cut_positions(text, analysis.protected)
    sentences = [p for p in words if _ends_sentence(text, p)]
    parts: list[str] = []
    start = _skip_space(text, 0)
    while start < len(text):
        k = len(parts) + 1

        def build(p: int, s: int = start, k: int = k) -> str:
            return text[s:p].strip() + suffix(k)

        end = _largest(
            [p for p in words if p > start], build, ok, prefer=[p for p in sentences if p > start]
        )
        if end is None:
            # one word longer than a part: cut it between graphemes
            end = _largest([p for p in graphemes_ if p > start], build, ok, prefer=[])
        if end is None:
            raise ThreadSplitError(
                f"{text[start : start + 40]!r}… cannot be split to fit: a link, mention or "
                "hashtag is longer than one post"
            )
        parts.append(build(end))
        start = _skip_space(text, end)
    return parts


def _largest(
    candidates: list[int],
    build: Callable[[int], str],
    ok: Callable[[str], bool],
    prefer: list[int],
) -> int | None:
    """The largest candidate whose part fits, moved back to the last preferred cut (a
    sentence end) before it when there is one that fits."""
    lo, hi, found = 0, len(candidates) - 1, -1
    while lo <= hi:  # lengths grow with the cut; binary search, then confirm downwards
        mid = (lo + hi) // 2
        if ok(build(candidates[mid])):
            found, lo = mid, mid + 1
        else:
            hi = mid - 1
    best = next((candidates[i] for i in range(found, -1, -1) if ok(build(candidates[i]))), None)
    if best is None:
        return None
    if best in prefer:
        return best
    for p in reversed([p for p in prefer if p < best]):
        if ok(build(p)):
            return p
    return best


def _ends_sentence(text: str, p: int) -> bool:
    """Whether the word ending at ``p`` ends a sentence or a line."""
    if _SENTENCE_END.search(text[max(0, p - 8) : p]):
        return True
    rest = text[p:]
    gap = rest[: len(rest) - len(rest.lstrip())]
    return "\n" in gap


def _skip_space(text: str, p: int) -> int:
    while p < len(text) and text[p].isspace():
        p += 1
    return p
