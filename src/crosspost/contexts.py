"""The one place an adapter's context is built, for the daemon, the CLI and ``preview`` alike.

Every adapter is built from an :class:`~crosspost.platforms.base.AdapterContext`; building it
here means no caller can forget a part of it: the time-out (``daemon.request_timeout``), the
cache folder, and the network route of the target, its User-Agent and proxy. Those two are
the account's (or the blog's) ``user_agent`` / ``proxy``, else the persona's, else the
persona's own made-up client name (:mod:`crosspost.agentnames`, never "crosspost") and the
environment's proxy settings. Two personas do not look alike to the servers they post to: the
same User-Agent, or requests from one address, can tie accounts together that the personas
keep apart. The client name is also the default name of the persona's Mastodon apps.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from . import agentnames
from .errors import UsageError
from .logs import register_secret
from .platforms.base import AdapterContext
from .platforms.spec import AccountConfig, BlogConfig

if TYPE_CHECKING:
    from .profiles import Persona
    from .settings import Settings


class _App(Protocol):
    """What :func:`context_for` reads of the application (``crosspost.app.App``)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def cache_dir(self) -> Path: ...


def route(
    persona: Persona, config: AccountConfig | BlogConfig, seed: bytes = b""
) -> tuple[str, str | None]:
    """(User-Agent, proxy) of one target: the account's or blog's, else the persona's, else
    the persona's client name (from ``seed``, see :mod:`crosspost.agentnames`) and no proxy
    of its own (the environment's ``HTTPS_PROXY``)."""
    agent = config.user_agent or persona.user_agent or agentnames.user_agent(seed, persona.name)
    return agent, config.proxy or persona.proxy


def persona_route(persona: Persona, cache_dir: Path | None) -> tuple[str, str | None]:
    """(User-Agent, proxy) of the persona's own requests that belong to no target (reading
    its ``[[feeds]]``): the persona's, else its made-up client name and the environment's
    proxy. A proxy's password is registered as a secret, kept out of logs."""
    proxy = persona.proxy
    _register_proxy_password(proxy)
    agent = persona.user_agent or agentnames.user_agent(agentnames.seed(cache_dir), persona.name)
    return agent, proxy


def _register_proxy_password(proxy: str | None) -> None:
    if proxy:
        password = urlsplit(proxy).password
        if password:  # a proxy's password is a secret like the platforms' (kept out of logs)
            register_secret(unquote(password))


def adapter_context(
    persona: Persona,
    target: str,
    *,
    timeout: float | None,
    cache_dir: Path | None,
) -> AdapterContext:
    """The context of ``target`` (an account's name, or ``"blog"``) of ``persona``."""
    config: AccountConfig | BlogConfig | None
    if target == "blog":
        config = persona.blog
        if config is None:
            raise UsageError(f"persona '{persona.name}' has no blog", hint=f"see {persona.source}")
    else:
        config = persona.account(target)
        if config is None:
            raise UsageError(
                f"persona '{persona.name}' has no account '{target}'", hint=f"see {persona.source}"
            )
    seed = agentnames.seed(cache_dir)
    agent, proxy = route(persona, config, seed)
    _register_proxy_password(proxy)
    return AdapterContext(
        persona=persona,
        blog=config if isinstance(config, BlogConfig) else None,
        account=config if isinstance(config, AccountConfig) else None,
        timeout=timeout,
        cache_dir=cache_dir,
        user_agent=agent,
        proxy=proxy,
        client_name=agentnames.client_name(seed, persona.name),
    )


def context_for(app: _App, persona: Persona, target: str) -> AdapterContext:
    """The context of a target as the daemon builds it: waiting ``daemon.request_timeout``
    and caching in the configuration's data folder."""
    return adapter_context(
        persona,
        target,
        timeout=app.settings.daemon.request_timeout.total_seconds(),
        cache_dir=app.cache_dir,
    )
