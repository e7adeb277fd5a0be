"""What the core knows about a platform, declared once per platform in ``platforms/specs/``.

The core (profiles, share text, preview, publisher, daemon, CLI) asks a platform's spec
instead of comparing platform names, so a new platform is its adapter module, its spec module
and its tests. This module and the spec modules import no platform SDK: loading the profiles,
``crosspost list`` and ``preview`` read specs without paying for tweepy or atproto. Functions
and classes that live in heavier modules are named as ``"module:attribute"`` and resolved
when first used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

#: a function given directly, or as ``"module:attribute"`` to be imported on first use
Ref = Callable[..., Any] | str


@dataclass(frozen=True)
class CredentialField:
    """One thing ``crosspost accounts login`` asks for and stores in the keyring."""

    name: str  # keyring username under the service ``crosspost/<persona>/<account>``
    prompt: str
    secret: bool = True


@dataclass(frozen=True)
class Counting:
    """How a platform counts a text against its limit."""

    #: ``text -> length`` as the platform counts it
    length: Ref
    #: what the length counts, for people ("graphemes", "weighted characters")
    unit: str = "characters"
    #: ``text -> [(start, end)]``: links the platform counts at a fixed length, which fitting
    #: must keep whole (None: links count as written)
    url_spans: Ref | None = None
    #: a second cap on the UTF-8 size of the text (Bluesky's record limit)
    max_bytes: int | None = None


@dataclass(frozen=True)
class ShareRules:
    """The limit and counting a share is fitted to, and where the limit came from."""

    limit: int
    #: the name of the platform's counting, or one of its ``countings``
    counting: str
    #: ``"account"`` (its ``limit``), ``"instance"`` (asked now), ``"cache"`` (asked
    #: earlier), ``"platform"`` or ``"default"`` (the server could not be asked)
    source: str
    #: for people: "from psych.social, cached", "default; psych.social not reachable"
    note: str | None = None


@dataclass(frozen=True)
class PlatformSpec:
    """One platform, as the core sees it."""

    name: str
    #: for people: "Mastodon", "X"
    title: str
    #: ``"blog"``: publishes the entry; ``"share"``: publishes share text linking to it
    role: Literal["blog", "share"]
    #: the ``[blog]`` or ``[[accounts]]`` model of this platform (``platform = "<name>"``)
    config: type[BaseModel]
    #: ``"module:Class"`` of the adapter, imported only when a delivery needs it
    adapter: str
    #: what ``crosspost accounts login`` stores in the keyring
    credential_fields: tuple[CredentialField, ...] = ()
    #: the default length limit of a post (None: no limit worth counting)
    limit: int | None = None
    #: the platform's own counting (None: not counted; length is ``len()``)
    counting: Counting | None = None
    #: other countings an account may choose with ``counting = "<name>"`` (servers that speak
    #: the platform's API but count differently)
    countings: Mapping[str, Counting] = field(default_factory=lambda: MappingProxyType({}))
    #: ``"module:function"`` ``(ctx, *, timeout) -> ShareRules``: the limit and counting the
    #: server itself announces (a Mastodon instance's ``max_characters``); None: the spec's
    live_rules: str | None = None
    #: publishes to files on this machine: no login, nothing to reach over the network
    local: bool = False
    #: one line for ``crosspost personas`` and the docs
    summary: str = ""
    #: a share too long for one post may go out as a thread of replies (the account's model
    #: then derives from :class:`ThreadingAccount`, and the adapter honours
    #: ``Publication.reply_to``)
    threads: bool = False

    def counting_for(self, name: str | None) -> Counting | None:
        """The counting called ``name`` (None or the platform's name: its own)."""
        if name is None or name == self.name:
            return self.counting
        try:
            return self.countings[name]
        except KeyError:
            valid = ", ".join(repr(c) for c in (None, self.name, *self.countings))
            raise ValueError(f"unknown counting {name!r} for {self.name}; valid: {valid}") from None


@cache
def resolve(ref: Ref) -> Any:
    """The object a :data:`Ref` names."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(import_module(module), attr)


def http_url(v: str | None) -> str | None:
    if v is None:
        return v
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{v!r} is not an http(s) URL; write it like 'https://example.org'")
    return v.rstrip("/")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: fields holding a path written relative to the configuration's folder
    relative_paths: ClassVar[tuple[str, ...]] = ()

    def resolve_paths(self, base_dir: Path) -> None:
        for name in self.relative_paths:
            value = getattr(self, name)
            if isinstance(value, Path) and not value.is_absolute():
                setattr(self, name, base_dir / value)

    def local_folder(self) -> tuple[Path, str] | None:
        """The folder a local platform writes into, and the setting that names it (``doctor``
        checks it exists, ``init`` creates it); None for platforms on the network."""
        return None


class AccountConfig(_Config):
    """What every ``[[accounts]]`` entry has; each platform's model adds its own fields."""

    name: str = Field(
        description="unique across all personas; `crosspost accounts login NAME` uses it"
    )
    platform: str = Field(description="which platform the account is on")
    handle: str | None = Field(
        default=None,
        description="the account's handle; the guard keeps it out of the other personas",
    )
    share: str | None = Field(
        default=None,
        description="share template for this account (default: the persona's `share`)",
    )
    limit: int | None = Field(
        default=None, gt=0, description="length limit override (default: the platform's)"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(
                f"account name {v!r} must be lowercase letters, digits, '-' or '_' (like 'pro-x')"
            )
        if v == "blog":
            raise ValueError("'blog' is reserved for the persona's blog; pick another name")
        return v

    def chosen_counting(self) -> str | None:
        """The counting the account chose (platforms with several); None: the platform's."""
        return None

    def threads(self) -> bool:
        """Whether a share too long for one post becomes a thread (see
        :class:`ThreadingAccount`)."""
        return False

    def numbers_threads(self) -> bool:
        """Whether each part of a thread ends with its number (" 1/3")."""
        return False

    def server(self) -> str | None:
        """The server the account lives on, when the profile names one (the guard treats
        links to it as the account's)."""
        return None


class ThreadingAccount(AccountConfig):
    """An account on a platform whose spec has ``threads``: its shares may become threads."""

    thread: bool = Field(
        default=False,
        description=(
            "a share longer than the limit becomes a thread of replies instead of being "
            "shortened (an entry's `thread: true` asks for it too)"
        ),
    )
    thread_numbering: bool = Field(
        default=False,
        description='end each part of a thread with its number (" 1/3"), counted in its length',
    )

    def threads(self) -> bool:
        return self.thread

    def numbers_threads(self) -> bool:
        return self.thread_numbering


class BlogConfig(_Config):
    """What every ``[blog]`` has; each platform's model adds its own fields."""

    platform: str = Field(description="which platform the blog is on")
    url: str = Field(description="public base URL of the blog; canonical URLs start with it")
    permalink: str = Field(
        default="/posts/{slug}/",
        description="URL path of an entry below `url`: {slug}, {year}, {month}, {day}",
    )
    categories: list[str] = Field(default=[], description="categories every entry gets")

    @field_validator("permalink")
    @classmethod
    def _permalink(cls, v: str) -> str:
        try:
            v.format_map({"slug": "s", "year": "2026", "month": "01", "day": "01"})
        except (KeyError, ValueError, IndexError, AttributeError) as e:
            raise ValueError(
                f"permalink {v!r} is not a valid pattern ({e}); use {{slug}}, {{year}}, "
                "{month} and {day}, like '/posts/{slug}/'"
            ) from None
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        out = http_url(v)
        assert out is not None
        return out
