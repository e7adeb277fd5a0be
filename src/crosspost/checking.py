"""Run the leak guard for one post: routing, content, media and correlation.

The guard itself (``crosspost.guard``) is pure; this module feeds it from the configuration and
the store, caches the expensive matcher per configuration, and maps finding offsets from each
field back into the text of the file the user wrote.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from . import guard
from .entries import Entry
from .errors import ConfigError
from .guard.findings import Finding, Report
from .guard.routing import check_routing
from .profiles import Persona, Personas

if TYPE_CHECKING:
    from .models import Post


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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while the matcher is made: loading it creates a few
    hundred thousand tuples, lists and dicts (keys and their probes), none of them in a
    cycle, and each of them would count towards another collection pass over all of them
    (a quarter of the load's time with 10,000 identity terms). Switched back on after,
    unless something else had switched it off."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@lru_cache(maxsize=8)
def _matcher(
    profiles: tuple[guard.GuardProfile, ...], secret: bytes | None, folder: Path | None
) -> guard.Matcher:
    try:
        with _collector_paused():
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
    content = check_texts(personas, persona, entry.published_fields(), secret=secret)
    findings += [_to_file_offsets(f, entry) for f in content]
    if entry.media or entry.body_images:
        from .guard.media import check_media

        items = [(f"media[{i}]", str(mi.path)) for i, mi in enumerate(entry.media)]
        items += [(f"body image {mi.ref}", str(mi.path)) for mi in entry.body_images]
        findings += check_media(guard_profile(persona), items)
    return Report(persona.name, tuple(findings))


def check_texts(
    personas: Personas,
    persona: Persona,
    fields: Sequence[tuple[str, str]],
    *,
    secret: bytes | None = None,
) -> list[Finding]:
    """Content findings for texts published (or to be published) as ``persona``: the one
    path the guard runs for a queued entry and for what an account already shows."""
    m = matcher_for(personas, secret)
    texts = [guard.TextField(name, text) for name, text in fields]
    return list(guard.check_content(m, persona.name, texts))


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


def check_session_hours(persona: Persona, entry: Entry, at: datetime) -> list[Finding]:
    """``fingerprint.session-hours`` for ``entry`` going out at ``at``: none unless the persona
    names a ``practice_calendar`` (read here, see :mod:`crosspost.practicehours`)."""
    if persona.practice_calendar is None:
        return []
    from .guard.sessionhours import DEFAULT_AFTER
    from .guard.sessionhours import check_session_hours as check
    from .practicehours import around
    from .when import format_local

    after = persona.session_hours_after or DEFAULT_AFTER
    appointments = around(persona.practice_calendar, at, after, persona.tz)
    fields = [guard.TextField(name, text) for name, text in entry.published_fields()]
    found = check(
        fields,
        at,
        appointments,
        persona.guard.rules,
        after=after,
        fmt=lambda t: format_local(t, persona.tz),
    )
    return [_to_file_offsets(f, entry) for f in found]


def stored_image_hashes(post: Post) -> dict[Path, str | None]:
    """The perceptual hash of each image of a stored post, by its snapshot's path (the one
    :func:`crosspost.publisher.entry_from_post` gives): kept at queueing, else computed."""
    from .guard.images import image_hash

    out: dict[Path, str | None] = {}
    for item in post.media:
        path = Path(item.get("path", ""))
        h = item.get("phash")
        out[path] = h if h is not None else (image_hash(path) if path.is_file() else None)
    return out


def check_same_images(
    persona: Persona, entry: Entry, hashes: Mapping[Path, str | None], others: Sequence[Post]
) -> list[Finding]:
    """``media.same-image`` for ``entry``'s images (``hashes``, by path) against the images of
    ``others`` (posts of other personas)."""
    from .guard.images import KnownImage, check_same_image

    known = []
    for p in others:
        if p.persona == persona.name:
            continue
        for h in stored_image_hashes(p).values():
            if h:
                known.append(KnownImage(p.persona, p.id or 0, h))
    named = [(f"media[{i}]", m) for i, m in enumerate(entry.media)]
    named += [(f"body image {m.ref}", m) for m in entry.body_images]
    items = [(what, str(m.path), hashes.get(m.path)) for what, m in named]
    return check_same_image(persona.name, items, known, persona.guard.rules)


def _to_file_offsets(f: Finding, entry: Entry) -> Finding:
    base = entry.offsets.get(f.field, -1)
    if base < 0:
        return f
    return replace(f, start=f.start + base, end=f.end + base)
