"""Where a post goes: one target of a post (a blog or an account), as the queue stores it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    platform: str
    role: str  # "blog" or "share"
