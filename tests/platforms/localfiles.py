"""Builders shared by the static-site and feed adapter tests (no fixtures, so no clashes)."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from crosspost.platforms.base import AdapterContext, MediaItem, Publication
from crosspost.platforms.static import parse_pelican_meta
from crosspost.profiles import Blog, Persona, make_account, make_blog
from tests.support.publications import make_publication

WHEN = datetime(2024, 5, 1, 14, 30, tzinfo=UTC)  # 09:30 in Chicago


def blog(
    content_dir: Path,
    fmt: str = "hugo",
    *,
    url: str = "https://northlight.example",
    permalink: str = "/posts/{slug}/",
    git_commit: bool = False,
) -> Blog:
    return make_blog(
        platform="static",
        url=url,
        content_dir=content_dir,
        format=fmt,
        permalink=permalink,
        git_commit=git_commit,
    )


def persona(
    b: Blog | None = None, *, feed: Path | None = None, display_name: str = "Dr. Nora Lindqvist"
) -> Persona:
    accounts = [make_account(name="pro-feed", platform="feed", path=feed)] if feed else []
    p = Persona(display_name=display_name, timezone="America/Chicago", blog=b, accounts=accounts)
    p.name = "professional"
    return p


def static_ctx(b: Blog) -> AdapterContext:
    return AdapterContext(persona=persona(b), blog=b)


def feed_ctx(
    path: Path, *, with_blog: bool = True, display_name: str = "Dr. Nora Lindqvist"
) -> AdapterContext:
    b = blog(path.parent / "content") if with_blog else None
    p = persona(b, feed=path, display_name=display_name)
    return AdapterContext(persona=p, account=p.accounts[0])


_BASE = make_publication(
    post_id=1,
    persona="professional",
    target="blog",
    platform="static",
    idempotency_key="0f3c9a7d1e2b4c5d6e7f8091a2b3c4d5",
    kind="entry",
    title="Sleep and anxiety",
    body="Some **Markdown** body.\n\nSecond paragraph.",
    summary="Why sleep matters.",
    tags=("sleep", "anxiety"),
    categories=("practice",),
    slug="sleep-and-anxiety",
    lang="en",
    scheduled_at=WHEN,
    text="Some **Markdown** body.\n\nSecond paragraph.",
)


def pub(**changes: Any) -> Publication:
    return replace(_BASE, **changes)


def short(**changes: Any) -> Publication:
    text = changes.pop("body", "Out of office until Monday, back with news about groups.")
    return replace(
        _BASE,
        kind="short",
        title=None,
        summary=None,
        tags=(),
        categories=(),
        slug=changes.pop("slug", "out-of-office-until-monday-back-with-news-about"),
        body=text,
        text=text,
        **changes,
    )


def media(path: Path, alt: str = "") -> MediaItem:
    return MediaItem(path=path, alt=alt)


def front_matter(text: str, fmt: str) -> tuple[dict[str, Any], str]:
    """Parse a written entry back the way the generator would (independent of the adapter)."""
    if fmt == "hugo":
        assert text.startswith("+++\n")
        fm, body = text[4:].split("\n+++\n", 1)
        return tomllib.loads(fm), body
    if fmt == "jekyll":
        assert text.startswith("---\n")
        fm, body = text[4:].split("\n---\n", 1)
        return yaml.safe_load(fm), body
    head, body = text.split("\n\n", 1)
    return parse_pelican_meta(head), body
