"""The small interface every platform adapter implements.

An adapter knows one platform: how to publish one delivery, how to find out whether an earlier
attempt went through (``lookup``, used for deliveries left ``unknown`` by a crash or a
time-out), how to check its credentials (``verify``), and which failures are worth retrying.
It raises ``TransientError`` (retry later, optionally after ``retry_after`` seconds) or
``PermanentError`` (retrying cannot help; the message is the platform's, the hint says what
the user can do). It never sees the database: the publisher records results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Protocol

from ..profiles import Account, Blog, Persona


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


@dataclass(frozen=True)
class Result:
    remote_id: str
    url: str | None = None


@dataclass(frozen=True)
class CredentialField:
    """One thing ``crosspost accounts login`` asks for and stores in the keyring."""

    name: str  # keyring username under the service ``crosspost/<persona>/<account>``
    prompt: str
    secret: bool = True


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


class LookupUnsupported(Exception):
    """The platform cannot say whether an earlier attempt created the post."""


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter is built from: its persona, and either the blog or one account."""

    persona: Persona
    blog: Blog | None = None
    account: Account | None = None
    #: seconds to wait for a platform's answer (``daemon.request_timeout``); None: the default
    timeout: float | None = None
    #: where an adapter keeps what it learned about servers (a Mastodon instance's limits):
    #: the configuration's data folder, so ``crosspost init DIR`` keeps it in DIR; None: the
    #: user's cache folder
    cache_dir: Path | None = None
