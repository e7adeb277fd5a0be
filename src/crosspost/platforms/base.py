"""The small interface every platform adapter implements.

An adapter knows one platform: how to publish one delivery, how to find out whether an earlier
attempt went through (``lookup``, used for deliveries left ``unknown`` by a crash or a
time-out), how to check its credentials (``verify``), and which failures are worth retrying.
It raises ``TransientError`` (retry later, optionally after ``retry_after`` seconds) or
``PermanentError`` (retrying cannot help; the message is the platform's, the hint says what
the user can do). It never sees the database: the publisher records results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .spec import AccountConfig, BlogConfig, CredentialField, ShareRules

if TYPE_CHECKING:
    import httpx

    from ..profiles import Persona

__all__ = [
    "Adapter",
    "AdapterContext",
    "Ask",
    "CredentialField",
    "LookupUnsupported",
    "MediaItem",
    "PlatformAdapter",
    "ProfileInfo",
    "Publication",
    "PublishedItem",
    "ReadUnsupported",
    "Result",
    "Say",
]

#: ``ask(prompt, secret) -> answer`` and ``say(text)``: how a login flow talks to the user
Ask = Callable[[str, bool], str]
Say = Callable[[str], None]


@dataclass(frozen=True)
class MediaItem:
    path: Path  # the snapshot taken at queue time, never the user's original
    alt: str = ""
    #: an image the body refers to: the reference as written there ("photos/x.jpg"); the
    #: adapter points that reference at wherever the image ends up instead of adding it
    ref: str | None = None


@dataclass(frozen=True)
class Publication:
    """Everything one delivery needs, rendered by the publisher from the stored post."""

    post_id: int
    persona: str
    target: str  # account name, or "blog"
    platform: str
    #: stable across retries of this delivery; platforms that support it dedupe on it
    idempotency_key: str
    kind: str  # "entry" or "short"
    title: str | None
    body: str  # Markdown
    summary: str | None
    tags: tuple[str, ...]
    categories: tuple[str, ...]
    slug: str
    lang: str | None
    scheduled_at: datetime  # aware UTC
    #: the share text for share targets (already fitted to the platform); the body for blogs
    text: str
    #: the blog entry's canonical URL, for share targets of an entry
    canonical_url: str | None = None
    media: tuple[MediaItem, ...] = field(default_factory=tuple)
    #: a later part of a thread: the part it answers (platforms whose spec has ``threads``)
    reply_to: Result | None = None
    #: the thread's first part (Bluesky names it in every reply); None: ``reply_to``
    thread_root: Result | None = None


@dataclass(frozen=True)
class Result:
    remote_id: str
    url: str | None = None
    #: the content hash of the record (Bluesky: a reply names its parent by uri and cid)
    cid: str | None = None


class Adapter(Protocol):
    platform: ClassVar[str]
    #: what a login stores; adapters read them with ``credentials.load(ctx, fields)``
    credential_fields: ClassVar[tuple[CredentialField, ...]]

    def publish(self, pub: Publication) -> Result:
        """Create the post. Raises TransientError or PermanentError."""
        ...

    def lookup(self, pub: Publication) -> Result | None:
        """The post an earlier attempt created, or None if there is none.

        Raises ``LookupUnsupported`` when the platform cannot tell; the delivery then waits
        for ``crosspost retry`` instead of risking a second post.
        """
        ...

    def verify(self) -> str:
        """Check credentials/reachability; returns a short description (e.g. the account)."""
        ...

    def history(self, limit: int = ...) -> list[PublishedItem]:
        """What the target published, newest first (``PlatformAdapter.history``)."""
        ...

    def profile(self) -> ProfileInfo | None:
        """The account's profile (``PlatformAdapter.profile``)."""
        ...

    def close(self) -> None:
        """Let go of connections."""
        ...


class LookupUnsupported(Exception):
    """The platform cannot say whether an earlier attempt created the post."""


class ReadUnsupported(Exception):
    """crosspost cannot read what this target has published (or its profile): the platform
    has no way to, or this account's access does not allow it (X's free tier). The exposure
    audit reports the message as a note on the account instead of failing."""


#: how many published items ``history`` reads per target unless told otherwise
DEFAULT_HISTORY_LIMIT = 200


@dataclass(frozen=True)
class PublishedItem:
    """One thing a target has published, made by crosspost or not: what the exposure audit
    runs the guard over, and what imported history feeds into the correlation checks."""

    text: str  # as readers see it: plain text, links as their targets
    url: str | None = None
    published_at: datetime | None = None  # aware UTC, when the platform says
    remote_id: str | None = None
    title: str | None = None
    #: image descriptions (alt texts) published with it
    alts: tuple[str, ...] = ()

    def fields(self) -> list[tuple[str, str]]:
        """``(name, text)`` of each published part, named like a queued post's fields."""
        out = [("title", self.title)] if self.title else []
        out.append(("body", self.text))
        out += [(f"media[{i}].alt", alt) for i, alt in enumerate(self.alts) if alt]
        return out


@dataclass(frozen=True)
class ProfileInfo:
    """What an account (or a blog) says about itself, read back from the platform."""

    url: str | None
    #: ``(field, text)``: ``display name``, ``bio``, ``field Website``, ``avatar alt``...
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter is built from: its persona, and either the blog or one account.

    The product builds it in one place, ``crosspost.contexts.adapter_context``, which fills in
    every part; tests may leave parts out (the defaults below)."""

    persona: Persona
    blog: BlogConfig | None = None
    account: AccountConfig | None = None
    #: seconds to wait for a platform's answer (``daemon.request_timeout``); None: the default
    timeout: float | None = None
    #: where an adapter keeps what it learned about servers (a Mastodon instance's limits):
    #: the configuration's data folder, so ``crosspost init DIR`` keeps it in DIR; None: the
    #: user's cache folder
    cache_dir: Path | None = None
    #: the User-Agent of every request (the target's or persona's ``user_agent``); None:
    #: crosspost's own
    user_agent: str | None = None
    #: proxy URL for every request of this target (``http://``, ``https://``, ``socks5://``,
    #: ``socks5h://``), whatever ``HTTPS_PROXY`` or ``NO_PROXY`` say; None: the environment's
    proxy: str | None = None
    #: the persona's made-up client name (``crosspost.agentnames``): the default name of the
    #: Mastodon app a login registers; None: the spec's default
    client_name: str | None = None

    @property
    def target(self) -> str:
        """The account's name, or ``"blog"``."""
        return self.account.name if self.account is not None else "blog"

    @property
    def platform(self) -> str:
        config = self.account if self.account is not None else self.blog
        if config is None:
            raise ValueError("an adapter context needs a blog or an account")
        return config.platform


class PlatformAdapter:
    """What every adapter shares: its construction from a context, its time-out, User-Agent
    and proxy, and the defaults of the optional parts of the interface.

    Subclasses set ``platform`` and ``credential_fields`` (from their spec) and write
    ``publish``, ``lookup`` and ``verify``.
    """

    platform: ClassVar[str]
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()

    def __init__(
        self, ctx: AdapterContext, *, base_url: str | None = None, timeout: float | None = None
    ) -> None:
        """``base_url`` is for tests only: the origin of a local fake that stands in for the
        platform's servers. ``timeout``: seconds to wait for each answer (default: the
        context's ``daemon.request_timeout``)."""
        from ._http import USER_AGENT, request_timeout

        self.ctx = ctx
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = request_timeout(timeout, ctx.timeout)
        self.user_agent = ctx.user_agent or USER_AGENT
        self.proxy = ctx.proxy

    @property
    def target(self) -> str:
        return self.ctx.target

    def http_client(self, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx client with this adapter's time-out, User-Agent and proxy (see
        :func:`crosspost.platforms._http.client`: reads resent once, creates never)."""
        from ._http import client

        kwargs.setdefault("timeout", self.timeout)
        return client(
            headers={"User-Agent": self.user_agent, **(headers or {})},
            proxy=self.proxy,
            **kwargs,
        )

    def history(self, limit: int = DEFAULT_HISTORY_LIMIT) -> list[PublishedItem]:
        """The target's latest ``limit`` published items, newest first, whoever made them.

        Raises ``ReadUnsupported`` when the platform cannot be read, ``TransientError`` or
        ``PermanentError`` as ``publish`` does (a login hint when credentials are missing)."""
        raise ReadUnsupported(f"crosspost cannot read what was published on {self.platform}")

    def profile(self) -> ProfileInfo | None:
        """The account's profile as the platform shows it; None: the target has none (a
        folder of files). Raises like :meth:`history`."""
        raise ReadUnsupported(f"crosspost cannot read {self.platform} profiles")

    def share_rules(self) -> ShareRules | None:
        """The limit and counting shares are fitted to; None: the spec's (see registry)."""
        return None

    def close(self) -> None:
        """Let go of connections; an adapter is not used after this."""

    @classmethod
    def login_flow(cls, ctx: AdapterContext, ask: Ask, say: Say) -> dict[str, str]:
        """Ask for each credential field; platforms with an OAuth flow override this (and
        may take more keyword arguments: ``timeout``, ``base_url`` for tests)."""
        from ..errors import UsageError
        from ..logs import register_secret

        values: dict[str, str] = {}
        for f in cls.credential_fields:
            value = ask(f.prompt, f.secret).strip()
            if not value:
                raise UsageError(f"no {f.prompt} given; nothing was stored")
            if f.secret:
                register_secret(value)
            values[f.name] = value
        return values
