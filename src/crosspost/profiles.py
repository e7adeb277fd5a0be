"""Personas: one TOML file each under ``profiles_dir``; the file stem is the persona's name.

Loading validates every file and then the set as a whole (an account, handle, domain or email
claimed by two personas is an error naming both files), and reports all problems at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from .durations import Duration
from .errors import ConfigError, UsageError
from .platforms import registry
from .platforms.spec import (
    NAME_RE,
    AccountConfig,
    BlogConfig,
    proxy_url,
    user_agent,
)
from .slots import parse_slot
from .validation import describe_validation_error, timezone_name

LANG_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
DEFAULT_SHARE = "{title} {url}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Identity(_Strict):
    names: list[str] = []
    handles: list[str] = []
    domains: list[str] = []
    emails: list[str] = []
    phones: list[str] = []
    terms: list[str] = []


class GuardConfig(_Strict):
    never_mention: list[str] = []
    confidential: list[str] = []
    #: keyed hashes written by ``crosspost guard add-confidential`` (no plain client names)
    confidential_hashes: list[str] = []
    packs: list[str] = []
    separation: Duration | None = None
    #: per-rule severity, e.g. ``{"clinician.testimonial" = "block"}``
    rules: dict[str, Literal["block", "warn", "off"]] = {}
    strip_metadata: bool = False


class EvergreenConfig(_Strict):
    """``[evergreen]``: re-share the persona's published entries in rotation."""

    enabled: bool = Field(
        default=False,
        description="let the daemon re-share one entry of the pool every `every` "
        "(`crosspost evergreen run` queues one by hand either way)",
    )
    every: Duration = Field(
        default=timedelta(days=3),
        description='how often the daemon re-shares an entry of the pool, e.g. "3d"',
    )
    min_gap: Duration = Field(
        default=timedelta(days=60),
        description="an entry is never shared again within this time of its last share "
        '(its publication or its last re-share), e.g. "60d"',
    )
    all_entries: bool = Field(
        default=False,
        description="the pool is every published entry of the persona, not only those "
        "marked `evergreen: true` in their front matter",
    )
    to: list[str] | None = Field(
        default=None,
        description="the accounts re-shares go to (default: all of the persona's accounts)",
    )

    @field_validator("every")
    @classmethod
    def _every(cls, v: timedelta) -> timedelta:
        if v < timedelta(hours=1):
            raise ValueError(
                'every must be at least 1h (it is how often a re-share goes out), like "3d"'
            )
        return v


#: ``[blog]`` and ``[[accounts]]`` entries are each platform's own model (platforms/specs/),
#: chosen by their ``platform``; code that works with any platform uses these base types
Blog = BlogConfig
Account = AccountConfig
if TYPE_CHECKING:  # each is one of the platforms' models, all subclasses of these
    _AnyBlog = BlogConfig
    _AnyAccount = AccountConfig
else:
    _AnyBlog = registry.blog_model()
    _AnyAccount = registry.account_model()


class FeedConfig(_Strict):
    """One ``[[feeds]]`` entry: a blog's RSS or Atom feed whose new items are shared."""

    url: str = Field(
        description="the feed: an http(s) URL, or a file path relative to the config's folder",
    )
    since: datetime | date | None = Field(
        default=None,
        description="items published before this (persona's local time if no offset) are never "
        "shared (default: the moment the feed is first read, so old items are not shared)",
    )

    when: Literal["now", "next_slot"] = Field(
        default="now",
        description='"now": share a new item at once; "next_slot": at the persona\'s next free '
        "slot (needs slots)",
    )
    accounts: list[str] | None = Field(
        default=None,
        description="the persona's accounts to share to (default: all of them)",
    )
    template: str | None = Field(
        default=None,
        description="share text of an item: {title}, {url}, {summary}, {tags}, {body} (default: "
        "the persona's share)",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("url is empty; give the feed's http(s) URL or a file path")
        scheme = urlsplit(v).scheme.lower()
        if len(scheme) > 1 and scheme not in ("http", "https", "file"):
            raise ValueError(
                f"url {v!r} is neither an http(s) URL nor a file path; "
                "use e.g. 'https://blog.example/feed.xml' or 'site/feed.xml'"
            )
        if v.startswith("~"):
            try:
                Path(v).expanduser()
            except RuntimeError:  # "~someone" with no such user, or no home folder
                raise ValueError(
                    f"url {v!r}: {v.split('/', 1)[0]!r} is no home folder on this machine; "
                    "give the path in full, or relative to the config's folder"
                ) from None
        return v

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, v: object) -> object:
        if isinstance(v, int | float) and not isinstance(v, bool):
            raise ValueError(
                f"since {v!r} is not a date; write it like 2026-12-01 or 2026-12-01T09:00"
            )
        return v

    @property
    def is_http(self) -> bool:
        return urlsplit(self.url).scheme.lower() in ("http", "https")

    @property
    def host(self) -> str:
        """The feed's host without ``www.`` (empty for a file)."""
        if not self.is_http:
            return ""
        return (urlsplit(self.url).hostname or "").lower().removeprefix("www.")

    def path(self, base_dir: Path) -> Path:
        """A file feed's path (``file://`` or relative to the config's folder)."""
        raw = self.url
        if urlsplit(raw).scheme.lower() == "file":
            from urllib.request import url2pathname

            raw = url2pathname(urlsplit(raw).path)
        p = Path(raw).expanduser()
        return p if p.is_absolute() else base_dir / p


def make_account(**data: Any) -> Account:
    """An ``[[accounts]]`` entry as its platform's model (chosen by ``platform``)."""
    account: Account = TypeAdapter(_AnyAccount).validate_python(data)
    return account


def make_blog(**data: Any) -> Blog:
    """A ``[blog]`` as its platform's model (chosen by ``platform``)."""
    blog: Blog = TypeAdapter(_AnyBlog).validate_python(data)
    return blog


class Persona(_Strict):
    name: str = Field(default="", exclude=True)
    source: Path = Field(default=Path(), exclude=True)

    display_name: str
    timezone: str = "UTC"
    slots: list[str] = []
    slot_jitter: Duration | None = Field(
        default=None,
        description="move each post queued into a slot (or at a given time) by a random "
        'offset within ± this duration, e.g. "7m", drawn once at queueing; never into the '
        "past or another persona's separation window",
    )
    #: default share template for accounts without their own
    share: str = DEFAULT_SHARE
    #: region for phone numbers written without a country code (e.g. "US", "DE")
    phone_region: str | None = None
    #: language the persona writes in (e.g. "en", "de", "en-GB"); the guard reads names in it
    #: (German genitive "Marshs") and judges which words are ordinary words; English if unset
    lang: str | None = None
    #: strip EXIF/XMP from images instead of blocking them (also accepted under [guard])
    strip_metadata: bool = False
    #: the network route of every target of the persona, unless the target sets its own
    user_agent: str | None = Field(
        default=None,
        description="User-Agent of every request of the persona's blog and accounts (default: "
        'a made-up client name of this persona\'s own, e.g. "Velorin/2.4", never "crosspost")',
    )
    proxy: str | None = Field(
        default=None,
        description="proxy for every request of the persona's blog and accounts: http://, "
        "https://, socks5:// or socks5h:// (default: the environment's)",
    )
    #: apprise URLs that hear of this persona's posts needing the user (see notices)
    notify: list[str] = []
    #: one message a day at this local time ("18:00") instead of one per event
    notify_digest: str | None = None
    #: an iCalendar file of this persona's queue the daemon keeps current (relative to the
    #: config's folder); only this persona's posts are in it
    calendar_file: Path | None = None
    practice_calendar: Path | None = Field(
        default=None,
        description="an iCalendar (.ics) file of the practice's appointments (relative to the "
        "config's folder; recurring events count): a post that refers to a session and goes "
        "out during an appointment or within session_hours_after of its end warns "
        "(fingerprint.session-hours)",
    )
    session_hours_after: Duration | None = Field(
        default=None,
        description='how long after an appointment a post about a session still dates it, e.g. "3h"'
        " (default: 3 hours)",
    )
    identity: Identity = Field(default_factory=Identity)
    guard: GuardConfig = Field(default_factory=GuardConfig)
    evergreen: EvergreenConfig = Field(
        default_factory=EvergreenConfig,
        description="re-sharing published entries in rotation (see the README)",
    )
    blog: _AnyBlog | None = None
    accounts: list[_AnyAccount] = []
    feeds: list[FeedConfig] = Field(
        default_factory=list,
        description="RSS/Atom feeds (e.g. of a blog published elsewhere) whose new items the "
        "daemon shares to the persona's accounts",
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return timezone_name(v)

    @field_validator("lang")
    @classmethod
    def _lang(cls, v: str | None) -> str | None:
        if v is not None and not LANG_RE.match(v):
            raise ValueError(
                f"lang {v!r} is not a language code; use one like 'en', 'de' or 'en-GB'"
            )
        return v

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, v: str | None) -> str | None:
        return user_agent(v)

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, v: str | None) -> str | None:
        return proxy_url(v)

    @field_validator("notify_digest")
    @classmethod
    def _digest(cls, v: str | None) -> str | None:
        if v is not None:
            from .notifysend import digest_time

            digest_time(v)
        return v

    @field_validator("slots")
    @classmethod
    def _slots(cls, v: list[str]) -> list[str]:
        for s in v:
            parse_slot(s)
        return v

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def strips_metadata(self) -> bool:
        return self.strip_metadata or self.guard.strip_metadata

    @property
    def separation(self) -> timedelta | None:
        return self.guard.separation

    def account(self, name: str) -> Account | None:
        return next((a for a in self.accounts if a.name == name), None)

    def target_names(self) -> list[str]:
        return [name for name, _ in self.targets()]

    def targets(self) -> list[tuple[str, str]]:
        """(target, platform) of the blog (target ``blog``) and each account."""
        return ([("blog", self.blog.platform)] if self.blog else []) + [
            (a.name, a.platform) for a in self.accounts
        ]

    def claimed(self) -> dict[str, set[str]]:
        """Identifiers this persona claims, normalised for the cross-file uniqueness check."""
        handles = {_norm_handle(h) for h in self.identity.handles}
        handles |= {_norm_handle(a.handle) for a in self.accounts if a.handle}
        domains = {d.lower().removeprefix("www.") for d in self.identity.domains}
        if self.blog:
            domains.add((urlsplit(self.blog.url).hostname or "").removeprefix("www."))
        return {
            "account": {a.name for a in self.accounts},
            "handle": handles - {""},
            "domain": domains - {""},
            "email": {e.lower() for e in self.identity.emails},
        }


def _norm_handle(h: str) -> str:
    return h.strip().lower().lstrip("@")


def load_persona(path: Path, base_dir: Path, known_urls: Path | None = None) -> Persona:
    """``known_urls``: where notify URLs checked before are remembered (see notifysend)."""
    from .settings import read_toml

    data = read_toml(path)
    name = path.stem
    if not NAME_RE.match(name):
        raise ConfigError(
            f"{path}: persona file name must be lowercase letters, digits, '-' or '_' "
            "(the file stem is the persona's name)"
        )
    try:
        persona = Persona(**data)
    except ValidationError as e:
        raise ConfigError(describe_validation_error(e, str(path), Persona)) from None
    persona.name = name
    persona.source = path
    broken = (
        _template_problems(persona, path)
        + _notify_problems(persona, path, known_urls)
        + _feed_problems(persona, path)
        + _evergreen_problems(persona, path)
    )
    if broken:
        raise ConfigError(broken)
    _resolve_paths(persona, base_dir)
    if persona.practice_calendar is not None:
        from .practicehours import check_file

        check_file(persona.practice_calendar, persona.tz)
    seen: set[str] = set()
    for a in persona.accounts:
        if a.name in seen:
            raise ConfigError(f"{path}: account name '{a.name}' is used twice")
        seen.add(a.name)
    return persona


def _template_problems(persona: Persona, path: Path) -> list[str]:
    """Share templates are checked on load, so a typo never waits for the publish time."""
    from .placeholders import template_problem

    templates = [("share", persona.share)] + [
        (f"accounts[{i}].share", a.share) for i, a in enumerate(persona.accounts) if a.share
    ]
    found = (template_problem(t, f"{path} {field}") for field, t in templates)
    return [p for p in found if p is not None]


def _feed_problems(persona: Persona, path: Path) -> list[str]:
    """A feed that could only fail later (no account, no slot, an unknown account) is an
    error now, like a broken share template."""
    from .placeholders import template_problem

    problems = []
    names = [a.name for a in persona.accounts]
    for i, f in enumerate(persona.feeds):
        where = f"{path} feeds[{i}]"
        if not names:
            problems.append(
                f"{where}: persona '{persona.name}' has no [[accounts]] to share the feed's "
                "items to; add one, or remove the feed"
            )
        for a in f.accounts or []:
            if a not in names:
                problems.append(
                    f"{where}.accounts: '{a}' is not an account of persona '{persona.name}' "
                    f"(its accounts: {', '.join(names) or 'none'})"
                )
        if f.accounts == []:
            problems.append(f"{where}.accounts is empty; leave it out to share to every account")
        if f.when == "next_slot" and not persona.slots:
            problems.append(
                f"{where}.when = \"next_slot\" but persona '{persona.name}' has no slots; add "
                'slots = ["Mon-Fri 08:30"] or use when = "now"'
            )
        if f.template is not None:
            problem = template_problem(f.template, f"{where}.template")
            if problem is not None:
                problems.append(problem)
    urls = [f.url for f in persona.feeds]
    for u in sorted({u for u in urls if urls.count(u) > 1}):
        problems.append(f"{path}: feed '{u}' is listed twice in [[feeds]]; keep one")
    return problems


def _evergreen_problems(persona: Persona, path: Path) -> list[str]:
    """``[evergreen] to`` naming no account of the persona would only fail in the daemon, at
    every check: an error now, like a feed's accounts."""
    to = persona.evergreen.to
    if to is None:
        return []
    if not to:
        return [f"{path} evergreen.to is empty; leave it out to re-share to every account"]
    names = [a.name for a in persona.accounts]
    return [
        f"{path} evergreen.to: '{a}' is not an account of persona '{persona.name}' "
        f"(its accounts: {', '.join(names) or 'none'})"
        for a in to
        if a not in names
    ]


def _notify_problems(persona: Persona, path: Path, known: Path | None) -> list[str]:
    """Notify URLs are checked on load, so a typo shows before the first failure does."""
    if not persona.notify:
        return []
    from .notifysend import url_problems

    return url_problems(persona.notify, str(path), known)


def _resolve_paths(persona: Persona, base_dir: Path) -> None:
    for f in persona.feeds:
        if not f.is_http:  # a file feed is known by its full path from here on
            f.url = str(f.path(base_dir))
    if persona.calendar_file is not None and not persona.calendar_file.is_absolute():
        persona.calendar_file = base_dir / persona.calendar_file
    if persona.practice_calendar is not None and not persona.practice_calendar.is_absolute():
        persona.practice_calendar = base_dir / persona.practice_calendar
    for config in [persona.blog, *persona.accounts]:
        if config is not None:
            config.resolve_paths(base_dir)


class Personas:
    """All personas of one configuration, validated together."""

    def __init__(self, personas: dict[str, Persona], directory: Path) -> None:
        self.by_name = personas
        self.directory = directory
        #: the leak guard's matcher for this exact set of profiles, by secret (see checking)
        self.guard_cache: dict[bytes | None, object] = {}
        #: where the guard keeps its compiled matcher between commands (``None``: in memory)
        self.matcher_cache_dir: Path | None = None

    def __iter__(self) -> Iterator[Persona]:
        return iter(self.by_name.values())

    def __len__(self) -> int:
        return len(self.by_name)

    def names(self) -> list[str]:
        return sorted(self.by_name)

    def get(self, name: str) -> Persona:
        try:
            return self.by_name[name]
        except KeyError:
            known = ", ".join(self.names()) or "none yet"
            raise UsageError(
                f"unknown persona '{name}' (known: {known})",
                hint=f"add {self.directory / (name + '.toml')} or pick a known persona",
            ) from None

    def account_owners(self) -> dict[str, str]:
        return {a.name: p.name for p in self for a in p.accounts}


def load_personas(directory: Path, base_dir: Path, known_urls: Path | None = None) -> Personas:
    if not directory.is_dir():
        raise ConfigError(
            f"{directory}: profiles folder not found",
            hint="run 'crosspost init' or set profiles_dir in config.toml",
        )
    problems: list[str] = []
    personas: dict[str, Persona] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            p = load_persona(path, base_dir, known_urls)
        except ConfigError as e:
            problems.extend(e.problems)
            continue
        personas[p.name] = p
    problems.extend(_cross_check(list(personas.values())))
    if problems:
        raise ConfigError(problems)
    return Personas(personas, directory)


def _cross_check(personas: list[Persona]) -> list[str]:
    problems = _foreign_feeds(personas)
    owners: dict[tuple[str, str], Persona] = {}
    for p in personas:
        for kind, values in p.claimed().items():
            for v in sorted(values):
                other = owners.get((kind, v))
                if other is not None and other is not p:
                    problems.append(
                        f"{kind} '{v}' is claimed by two personas: {other.source} and {p.source}; "
                        "each identifier must belong to exactly one persona"
                    )
                else:
                    owners[(kind, v)] = p
    return problems


def _foreign_feeds(personas: list[Persona]) -> list[str]:
    """A feed on another persona's domain would share that persona's posts: refused, like a
    post to another persona's account (the guard's routing rule)."""
    problems = []
    for p in personas:
        for i, f in enumerate(p.feeds):
            host = f.host
            for other in personas:
                if other is p or not host:
                    continue
                if any(host == d or host.endswith("." + d) for d in other.claimed()["domain"]):
                    problems.append(
                        f"{p.source} feeds[{i}].url: {host} belongs to persona '{other.name}' "
                        f"({other.source}); a persona shares only its own feeds"
                    )
    return problems
