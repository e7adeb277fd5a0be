"""Short one-line labels for posts, for log lines, feeds and file names."""

from __future__ import annotations


def first_words(text: str, limit: int = 60) -> str:
    """A one-line label from free text (short posts have no title)."""
    out = ""
    for w in text.split():
        candidate = f"{out} {w}" if out else w
        if len(candidate) > limit:
            return (out or w[:limit]) + "…"
        out = candidate
    return out
