"""An Atom feed file kept up to date: a share target for readers and other tools."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from ..spec import AccountConfig, PlatformSpec


class FeedAccount(AccountConfig):
    platform: Literal["feed"]
    path: Path = Field(description="the Atom file to write, relative to the config's folder")

    relative_paths: ClassVar[tuple[str, ...]] = ("path",)

    def local_folder(self) -> tuple[Path, str]:
        return self.path.parent, f"path of account '{self.name}'"


SPEC = PlatformSpec(
    name="feed",
    title="Atom feed",
    role="share",
    config=FeedAccount,
    adapter="crosspost.platforms.feed:FeedAdapter",
    local=True,
    summary="adds each share to an Atom file on this machine",
)
