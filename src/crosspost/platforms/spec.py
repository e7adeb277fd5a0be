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
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..durations import Duration

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

#: a function given directly, or as ``"module:attribute"`` to be imported on first use
Ref = Callable[..., Any] | str


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crosspost")
    except PackageNotFoundError:
        return "0"


#: the User-Agent of a context built without one (tests); the product's contexts carry the
#: persona's own (``user_agent`` settings, else ``crosspost.agentnames``)
DEFAULT_USER_AGENT = f"crosspost/{_version()}"
#: proxy schemes both HTTP stacks (httpx; requests under tweepy and Mastodon.py) speak;
#: ``socks5h`` resolves host names at the proxy, so DNS does not leave this machine either
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
#: what each SOCKS-speaking stack needs: httpx the ``socksio`` package, requests ``PySocks``
SOCKS_MODULES = {"socksio": "socksio", "socks": "PySocks"}


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
    #: keyring fields (Unix seconds) that say when the login ends and ``crosspost accounts
    #: login`` is needed again; the first one stored wins (a refresh token's expiry before
    #: the access token's). Empty: the platform's logins do not expire.
    login_ends: tuple[str, ...] = ()

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


def proxy_url(v: str | None) -> str | None:
    """A proxy every request of a persona or account goes through: ``http://``, ``https://``,
    ``socks5://`` or ``socks5h://`` with a host (and usually a port), nothing after it."""
    if v is None:
        return v
    v = v.strip()
    example = "'socks5h://127.0.0.1:9050' or 'http://proxy.example:3128'"
    parts = urlsplit(v)
    # a proxy's password must not end up in a message: the host part only
    shown = repr(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else v)
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES or not parts.netloc:
        raise ValueError(
            f"proxy {shown} is not a proxy URL; write it with one of the schemes "
            f"{', '.join(s + '://' for s in PROXY_SCHEMES)}, like {example}"
        )
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise ValueError(f"proxy {shown} has a port that is not a number; like {example}") from None
    if not parts.hostname:
        raise ValueError(f"proxy {shown} names no host; like {example}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"proxy {shown} has a path or query; a proxy is a host and port only")
    if scheme.startswith("socks"):
        missing = [pkg for module, pkg in SOCKS_MODULES.items() if find_spec(module) is None]
        if missing:
            raise ValueError(
                f"proxy {shown} is a SOCKS proxy, which needs {' and '.join(missing)} "
                "(not installed): pip install 'crosspost[socks]', or use an http:// proxy"
            )
    return f"{scheme}://{parts.netloc}"


def user_agent(v: str | None) -> str | None:
    """A User-Agent header value: printable, one line, not empty."""
    if v is None:
        return v
    v = v.strip()
    if not v or len(v) > 200 or not all(" " <= ch <= "~" for ch in v):
        raise ValueError(
            f"user_agent {v!r} must be 1 to 200 printable ASCII characters on one line, "
            "like 'Mozilla/5.0 (X11; Linux x86_64)'"
        )
    return v


USER_AGENT_HELP = (
    "User-Agent of every request (default: the persona's, else the persona's own made-up "
    'client name, e.g. "Velorin/2.4"): different values keep the personas\' requests from '
    "looking alike to the servers"
)
PROXY_HELP = (
    "proxy for every request: http://, https://, socks5:// or socks5h:// (socks needs "
    "`pip install 'crosspost[socks]'`; default: the persona's, else the environment's)"
)


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # the accounts' and blogs' network route (their fields are declared in each, for the order
    # of the generated field tables)
    @field_validator("user_agent", check_fields=False)
    @classmethod
    def _user_agent(cls, v: str | None) -> str | None:
        return user_agent(v)

    @field_validator("proxy", check_fields=False)
    @classmethod
    def _proxy(cls, v: str | None) -> str | None:
        return proxy_url(v)

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
    daily_cap: int | None = Field(
        default=None,
        gt=0,
        description=(
            "most posts in any 24 hours (rolling); a thread counts as one. X's free API tier "
            "allows 17 per 24 h: `daily_cap = 17`. Queueing past it is refused with the next "
            "allowed time; the daemon holds a delivery back until it fits"
        ),
    )
    min_interval: Duration | None = Field(
        default=None,
        description=(
            'least time between two posts of the account, like "30m"; checked at queueing '
            "and enforced by the daemon like `daily_cap`"
        ),
    )
    user_agent: str | None = Field(default=None, description=USER_AGENT_HELP)
    proxy: str | None = Field(default=None, description=PROXY_HELP)

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
    user_agent: str | None = Field(default=None, description=USER_AGENT_HELP)
    proxy: str | None = Field(default=None, description=PROXY_HELP)

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
