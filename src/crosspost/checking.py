"""Run the leak guard for one post: routing, content, media and correlation.

The guard itself (``crosspost.guard``) is pure; this module feeds it from the configuration and
the store, caches the expensive matcher per configuration, and maps finding offsets from each
field back into the text of the file the user wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from . import guard
from .entries import Entry
from .errors import ConfigError
from .guard.findings import Finding, Report
from .guard.routing import check_routing
from .profiles import Persona, Personas


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone → ISO country code, from the zone.tab the tzdata package ships."""
    from importlib.resources import files

    try:
        text = (files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                out[parts[2]] = parts[0]
    return out


def _region(p: Persona) -> str | None:
    """Region for phone numbers written without a country code: the profile's
    ``phone_region``, else the country of the persona's timezone."""
    if p.phone_region:
        return p.phone_region.upper()
    return _zone_countries().get(p.timezone)


def guard_profile(p: Persona) -> guard.GuardProfile:
    accounts = tuple(
        guard.AccountRef(name=a.name, platform=a.platform, handle=a.handle, url=a.server())
        for a in p.accounts
    )
    return guard.GuardProfile(
        name=p.name,
        display_name=p.display_name,
        names=tuple(p.identity.names),
        handles=tuple(p.identity.handles),
        domains=tuple(p.identity.domains),
        emails=tuple(p.identity.emails),
        phones=tuple(p.identity.phones),
        terms=tuple(p.identity.terms),
        accounts=accounts,
        blog_url=p.blog.url if p.blog else None,
        never_mention=tuple(p.guard.never_mention),
        confidential=tuple(p.guard.confidential),
        confidential_hashes=tuple(p.guard.confidential_hashes),
        packs=tuple(p.guard.packs),
        severity=guard.FrozenMap(p.guard.rules),
        phone_region=_region(p),
        lang=p.lang,
        strip_metadata=p.strips_metadata,
        separation=p.separation,
    )


@lru_cache(maxsize=8)
def _matcher(
    profiles: tuple[guard.GuardProfile, ...], secret: bytes | None, folder: Path | None
) -> guard.Matcher:
    try:
        if folder is None:
            return guard.build_matcher(profiles, secret=secret)
        from .matchercache import cached_matcher

        return cached_matcher(profiles, secret=secret, folder=folder)
    except ValueError as e:  # an unknown pack or rule id in a profile's [guard] section
        raise ConfigError(
            f"[guard] settings: {e}", hint="see docs/guard.md for the rules"
        ) from None


def matcher_for(personas: Personas, secret: bytes | None = None) -> guard.Matcher:
    """Built once per configuration: profiles are frozen, so equal configs hit the cache.

    The loaded ``Personas`` also remember their matcher, so a daemon publishing thousands of
    posts does not even rebuild the (hashable) profiles each time; with a
    ``matcher_cache_dir`` (the application sets one) its expensive part is kept on disk
    between commands (:mod:`.matchercache`).
    """
    cached = _cached(personas, secret)
    if cached is None:
        # the daemon's worker threads all miss at once after a (re)load: one builds, the
        # others wait for it instead of each compiling the same matcher
        with _building:
            cached = _cached(personas, secret)
            if cached is None:
                profiles = tuple(guard_profile(p) for p in personas)
                cached = _matcher(profiles, secret, personas.matcher_cache_dir)
                personas.guard_cache[secret] = cached
    return cached


def _cached(personas: Personas, secret: bytes | None) -> guard.Matcher | None:
    """The matcher ``personas`` remember for ``secret`` (their cache holds ``object``s: the
    configuration module does not import the guard)."""
    cached = personas.guard_cache.get(secret)
    return cached if isinstance(cached, guard.Matcher) else None


_building = threading.Lock()


def check_entry(
    personas: Personas,
    persona: Persona,
    entry: Entry,
    *,
    targets: Sequence[str] = (),
    foreign_targets: Sequence[str] = (),
    secret: bytes | None = None,
) -> Report:
    """Routing, content and media findings for ``entry`` as persona ``persona``."""
    findings: list[Finding] = []
    owners = personas.account_owners()
    findings += check_routing(persona.name, [*targets, *foreign_targets], owners)
    m = matcher_for(personas, secret)
    fields = [guard.TextField(name, text) for name, text in entry.published_fields()]
    findings += [_to_file_offsets(f, entry) for f in guard.check_content(m, persona.name, fields)]
    if entry.media or entry.body_images:
        from .guard.media import check_media

        items = [(f"media[{i}]", str(mi.path)) for i, mi in enumerate(entry.media)]
        items += [(f"body image {mi.ref}", str(mi.path)) for mi in entry.body_images]
        findings += check_media(guard_profile(persona), items)
    return Report(persona.name, tuple(findings))


def check_timing(
    personas: Personas,
    persona: Persona,
    entry: Entry,
    scheduled_at: datetime,
    recent: Sequence[guard.RecentPost],
    window: timedelta,
    secret: bytes | None = None,
) -> list[Finding]:
    from .when import format_local

    m = matcher_for(personas, secret)
    text = "\n".join(t for _, t in entry.published_fields())
    return list(
        guard.check_correlation(
            m,
            persona.name,
            text,
            scheduled_at,
            recent,
            window=window,
            fmt=lambda dt: format_local(dt, persona.tz),
        )
    )


def _to_file_offsets(f: Finding, entry: Entry) -> Finding:
    base = entry.offsets.get(f.field, -1)
    if base < 0:
        return f
    return replace(f, start=f.start + base, end=f.end + base)
