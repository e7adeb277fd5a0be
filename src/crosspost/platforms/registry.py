"""The platforms crosspost knows: one line names them, their spec modules say the rest.

An explicit tuple rather than plugin discovery: a handful of platforms, each reviewed, and
loading the profiles must never import a platform SDK (spec modules import none).
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Field

from ..errors import PermanentError
from .spec import AccountConfig, BlogConfig, PlatformSpec

if TYPE_CHECKING:
    from .base import Adapter, AdapterContext

#: every platform, by the name profiles use in ``platform = "..."``
PLATFORMS: tuple[str, ...] = (
    "static",
    "wordpress",
    "micropub",
    "feed",
    "x",
    "mastodon",
    "bluesky",
    "threads",
    "linkedin",
)


@cache
def specs() -> dict[str, PlatformSpec]:
    out = {}
    for name in PLATFORMS:
        spec: PlatformSpec = import_module(f"{__package__}.specs.{name}").SPEC
        if spec.name != name:
            raise RuntimeError(f"specs/{name}.py declares platform {spec.name!r}")
        out[name] = spec
    return out


def spec(platform: str) -> PlatformSpec:
    try:
        return specs()[platform]
    except KeyError:
        raise PermanentError(
            f"unknown platform '{platform}'", hint=f"supported: {', '.join(sorted(specs()))}"
        ) from None


def names(role: Literal["blog", "share"] | None = None) -> tuple[str, ...]:
    return tuple(n for n, s in specs().items() if role is None or s.role == role)


def _union(role: Literal["blog", "share"]) -> Any:
    models = tuple(specs()[n].config for n in names(role))
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="platform")]  # noqa: UP007


@cache
def account_model() -> Any:
    """The ``[[accounts]]`` type: each platform's model, chosen by ``platform``."""
    return _union("share")


@cache
def blog_model() -> Any:
    """The ``[blog]`` type: each blog platform's model, chosen by ``platform``."""
    return _union("blog")


def check_models() -> None:
    """Each spec's model belongs to its role and says its own name (a test calls this)."""
    for name, s in specs().items():
        base = BlogConfig if s.role == "blog" else AccountConfig
        if not issubclass(s.config, base):
            raise TypeError(f"{name}: config must subclass {base.__name__}")
        annotation = s.config.model_fields["platform"].annotation
        if getattr(annotation, "__args__", None) != (name,):
            raise TypeError(f"{name}: config's platform must be Literal[{name!r}]")


def adapter_class(platform: str) -> type[Adapter]:
    ref = spec(platform).adapter
    module, _, attr = ref.partition(":")
    try:
        cls: type[Adapter] = getattr(import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise PermanentError(
            f"the {platform} adapter is not available in this installation ({e})",
            hint="reinstall crosspost with its dependencies",
        ) from None
    return cls


def make_adapter(ctx: AdapterContext) -> Adapter:
    config = ctx.account if ctx.account is not None else ctx.blog
    if config is None:
        raise PermanentError("an adapter needs a blog or an account", hint="this is a bug")
    return adapter_class(config.platform)(ctx)  # type: ignore[call-arg]
