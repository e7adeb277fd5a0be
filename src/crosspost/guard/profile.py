"""What the guard needs to know about a persona.

The configuration layer turns ``profiles/<persona>.toml`` into these frozen values; the guard
never reads files. Everything is hashable so a compiled matcher can be cached per configuration
(``build_matcher`` is the expensive step).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

SEVERITIES = ("block", "warn", "off")


class FrozenMap(Mapping[str, str]):
    """A small immutable, hashable mapping (for per-rule severity overrides)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: tuple[tuple[str, str], ...] = tuple(sorted((str(k), str(v)) for k, v in pairs))

    def __getitem__(self, key: str) -> str:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._items == other._items
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({dict(self._items)!r})"


@dataclass(frozen=True)
class AccountRef:
    """A social account of a persona, as far as identity is concerned."""

    name: str
    platform: str  # "x", "mastodon", "bluesky", "feed", "wordpress", ...
    handle: str | None = None  # "@DrAnaReyes", "@ana@psych.social", "anabee.bsky.social"
    url: str | None = None  # instance or endpoint base URL, e.g. "https://psych.social"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(value: str | int | float | timedelta | None) -> timedelta | None:
    """``"45m"``, ``"1h30m"``, ``"2d"``, seconds as a number, or a ``timedelta``."""
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    text = value.strip()
    if not text:
        return None
    pos = 0
    total = timedelta()
    for m in _DURATION.finditer(text):
        if text[pos : m.start()].strip():
            break
        total += timedelta(**{_UNITS[m.group(2).lower()]: float(m.group(1))})
        pos = m.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(f"invalid duration {value!r}: use e.g. '45m', '1h30m', '2d'")
    return total


def _tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str | AccountRef):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class GuardProfile:
    """One persona: what identifies it and which extra rules apply to its own posts."""

    name: str  # persona name (file stem)
    display_name: str | None = None
    names: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    accounts: tuple[AccountRef, ...] = ()
    blog_url: str | None = None
    never_mention: tuple[str, ...] = ()
    confidential: tuple[str, ...] = ()  # plain client identifiers
    confidential_hashes: tuple[str, ...] = ()  # "hmac-sha256:<words>:<hex>"
    packs: tuple[str, ...] = ()  # e.g. ("clinician",)
    #: per-rule overrides, e.g. {"clinician.testimonial": "block"} (a rule id or dotted prefix)
    severity: Mapping[str, str] = field(default_factory=FrozenMap)
    phone_region: str | None = None  # default region for national phone formats, e.g. "US"
    #: language the persona writes in ("en", "de", "en-GB"): inflections of names (German
    #: genitive "Marshs") and which words are ordinary words; English when unset
    lang: str | None = None
    strip_metadata: bool = False
    separation: timedelta | None = None

    def __post_init__(self) -> None:
        # Accept lists/dicts/strings from config code; store hashable immutable forms.
        for name in (
            "names",
            "handles",
            "domains",
            "emails",
            "phones",
            "terms",
            "accounts",
            "never_mention",
            "confidential",
            "confidential_hashes",
            "packs",
        ):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        if not isinstance(self.severity, FrozenMap):
            object.__setattr__(self, "severity", FrozenMap(self.severity or {}))
        for rule, sev in self.severity.items():
            if sev not in SEVERITIES:
                raise ValueError(
                    f"persona '{self.name}': severity for '{rule}' must be 'block', 'warn' "
                    f"or 'off', not {sev!r}"
                )
        sep = self.separation
        if not isinstance(sep, timedelta | None):
            object.__setattr__(self, "separation", parse_duration(sep))
        if self.phone_region is not None:
            object.__setattr__(self, "phone_region", self.phone_region.upper())
