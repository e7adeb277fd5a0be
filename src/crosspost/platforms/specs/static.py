"""A static site generator's content folder (Hugo, Jekyll, Pelican)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from ..spec import BlogConfig, PlatformSpec


class StaticBlog(BlogConfig):
    platform: Literal["static"]
    content_dir: Path = Field(
        description="folder the entries are written to, relative to the config's folder"
    )
    format: Literal["hugo", "jekyll", "pelican"] = Field(
        default="hugo", description="front matter flavour of the generator"
    )
    git_commit: bool = Field(
        default=False, description="commit each written entry if the folder is a git repository"
    )

    relative_paths: ClassVar[tuple[str, ...]] = ("content_dir",)

    def local_folder(self) -> tuple[Path, str]:
        return self.content_dir, "content_dir"


SPEC = PlatformSpec(
    name="static",
    title="static site",
    role="blog",
    config=StaticBlog,
    adapter="crosspost.platforms.static:StaticSiteAdapter",
    local=True,
    summary="writes the entry and its images into a static site's content folder",
)
