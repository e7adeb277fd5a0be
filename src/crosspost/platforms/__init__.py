"""The platform adapters, one module each, imported only when a delivery needs one.

An explicit table rather than plugin discovery: a handful of adapters, and ``crosspost list``
must not import any platform SDK.
"""

from __future__ import annotations

from importlib import import_module

from ..errors import PermanentError
from .base import Adapter, AdapterContext

ADAPTERS: dict[str, str] = {
    "static": "crosspost.platforms.static:StaticSiteAdapter",
    "feed": "crosspost.platforms.feed:FeedAdapter",
    "wordpress": "crosspost.platforms.wordpress:WordPressAdapter",
    "micropub": "crosspost.platforms.micropub:MicropubAdapter",
    "x": "crosspost.platforms.x:XAdapter",
    "mastodon": "crosspost.platforms.mastodon:MastodonAdapter",
    "bluesky": "crosspost.platforms.bluesky:BlueskyAdapter",
    "linkedin": "crosspost.platforms.linkedin:LinkedInAdapter",
}


def adapter_class(platform: str) -> type[Adapter]:
    spec = ADAPTERS.get(platform)
    if spec is None:
        raise PermanentError(
            f"no adapter for platform '{platform}'",
            hint=f"supported: {', '.join(sorted(ADAPTERS))}",
        )
    module, _, name = spec.partition(":")
    try:
        cls: type[Adapter] = getattr(import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise PermanentError(
            f"the {platform} adapter is not available in this installation ({e})",
            hint="reinstall crosspost with its dependencies",
        ) from None
    return cls


def make_adapter(ctx: AdapterContext) -> Adapter:
    platform = ctx.blog.platform if ctx.account is None and ctx.blog else ctx.account.platform  # type: ignore[union-attr]
    return adapter_class(platform)(ctx)  # type: ignore[call-arg]
