"""The platforms: a spec per platform (``specs/``, no SDK imports), an adapter module per
platform (imported only when a delivery needs it), and the registry naming them all.
"""

from __future__ import annotations

from typing import Any

from .registry import PLATFORMS, adapter_class, make_adapter, spec

__all__ = ["ADAPTERS", "PLATFORMS", "adapter_class", "make_adapter", "spec"]


def __getattr__(name: str) -> Any:
    if name == "ADAPTERS":  # platform -> "module:Class" of its adapter
        return {p: spec(p).adapter for p in PLATFORMS}
    raise AttributeError(name)
