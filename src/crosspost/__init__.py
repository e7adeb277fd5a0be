"""crosspost: schedule blog entries and share posts per persona, without leaks between them."""

from __future__ import annotations

__all__ = ["text_length"]


def text_length(text: str, platform: str) -> int:
    """Length of ``text`` as ``platform`` counts it (``x``, ``mastodon``, ``bluesky``, or any
    other platform whose spec counts length)."""
    from .textlength import text_length as _impl

    return _impl(text, platform)
