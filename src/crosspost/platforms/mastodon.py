"""Mastodon: share posts through the client API with Mastodon.py.

The instance is the account's ``instance`` (``https://psych.social``), or the domain of its
``handle`` (``@anareyes@psych.social``). Credentials, in the keyring under
``crosspost/<persona>/<account>``: ``access_token`` (a Bearer token with the scopes
``write:statuses write:media read:accounts read:statuses``); the browser login of
:meth:`MastodonAdapter.login_flow` also stores the app's ``client_id`` and ``client_secret``.

Publishing: each image with ``media_post(description=alt)`` (``POST /api/v2/media``); an
upload still processing (202, ``url`` null) is polled with ``GET /api/v1/media/:id`` at
``poll_interval`` until ``processing_timeout``, instead of Mastodon.py's ``synchronous=True``,
which sleeps 5 s per poll, has no deadline and turns every failure (a rate limit too) into
"Attachment could not be processed". Then ``status_post(text, media_ids, visibility, language,
idempotency_key=pub.idempotency_key)``, visibility being the account's ``visibility``
(default ``public``): Mastodon keeps the ``Idempotency-Key`` about
an hour and answers a repeat with the original status; GoToSocial and snac ignore it, so the
guarantee against a second status is :meth:`MastodonAdapter.lookup`, not the key.
The result's URL is the status's ``url``. Images are uploaded under a random name.

What a failure means (``maybe_sent``: the status may exist although the call failed, so the
publisher asks :meth:`MastodonAdapter.lookup` before posting again)::

    failure                                        error            maybe_sent  retry_after
    429 (MastodonRatelimitError)                   TransientError   False       until reset
    5xx (MastodonServerError) on POST statuses     TransientError   True
    read time-out on POST statuses                 TransientError   True
    connection refused / DNS / TLS / connect       TransientError   False
    any failure while uploading media              (as above)       False       (no post yet)
    422 "not finished processing"                  TransientError   False
    401 (MastodonUnauthorizedError)                PermanentError   hint: accounts login
    403 (e.g. token without a scope)               PermanentError   hint: accounts login
    404 (MastodonNotFoundError)                    PermanentError   hint: check the instance
    422 (validation, e.g. text too long)           PermanentError   the server's message

``X-RateLimit-Reset`` is an ISO 8601 time; Mastodon.py turns it into ``ratelimit_reset``
(epoch seconds, corrected by the server's ``Date``), which becomes ``retry_after``.

Mastodon.py's version detection is bypassed: the client is built with ``mastodon_version``
set (from the instance information below, else 4.0.0), because the detection costs two
requests per client and, in 2.3.3, recurses until ``RecursionError`` when
``GET /api/v1/instance/`` fails.

Character limit: :func:`share_rules` (the daemon, through the adapter, and ``crosspost
preview``) reads ``GET /api/v2/instance`` → ``configuration.statuses.max_characters`` and
``characters_reserved_per_url`` (``/api/v1/instance`` on servers without v2), public, so
without credentials, cached per instance for a day in memory and in ``<user cache
dir>/crosspost/mastodon-instances.json``. The account's ``limit`` overrides it. When the
instance cannot be reached, the defaults (500, 23) are used and remembered for five minutes
(in the file too). The instance's software (``source_url``, ``version``) decides how a share
is counted: code points with URLs in full for GoToSocial, Pleroma and Akkoma, Mastodon's rule
otherwise; the account's ``counting`` overrides it.

Lookup: the account's recent statuses (``account_verify_credentials``, then
``account_statuses(limit=40)``, paging back while they are newer than ``scheduled_at`` minus a
minute) are matched on their text: the HTML ``content`` is turned into text with each link
replaced by its ``href`` (Mastodon shows links shortened, the ``href`` keeps the full URL) and
mentions reduced to ``@user``; both sides are compared with URLs removed and whitespace
collapsed, and each URL of ours must be one of the links (or in the text). Ids are opaque
strings (numbers on Mastodon, ULIDs on GoToSocial, hashes on snac): never ``int()``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .. import credentials
from ..errors import CrosspostError, PermanentError, TransientError, UsageError
from ._http import (
    USER_AGENT,
    login_hint,
    request_timeout,
    requests_proxies,
    resend_reads_adapter_class,
    steady_session_class,
)
from ._lookup import LOOKUP_SLACK, TRAILING, URL_RE, network_error, squash, urls_present
from .base import (
    AdapterContext,
    Ask,
    CredentialField,
    MediaItem,
    PlatformAdapter,
    ProfileInfo,
    Publication,
    PublishedItem,
    Result,
    Say,
)
from .spec import ShareRules
from .specs.mastodon import DEFAULT_APP_NAME, SPEC, MastodonAccount

log = logging.getLogger(__name__)

SCOPES = ("write:statuses", "write:media", "read:accounts", "read:statuses")
OOB = "urn:ietf:wg:oauth:2.0:oob"
LOOKUP_PAGE = 40
LOOKUP_PAGES = 5
CACHE_TTL = 24 * 3600.0
FAILED_TTL = 300.0

#: servers whose API says what they are (``source_url``, ``version``), in the order to look
KNOWN_SOFTWARE = ("gotosocial", "akkoma", "pleroma", "snac", "mastodon")
#: servers that count a status in code points (GoToSocial) or graphemes (Pleroma, Akkoma),
#: URLs at full length: "codepoints" fits both
CODEPOINT_SOFTWARE = frozenset({"gotosocial", "akkoma", "pleroma"})


@dataclass(frozen=True)
class InstanceLimits:
    """What an instance allows in a status (Mastodon's defaults unless it said otherwise)."""

    max_characters: int = 500
    characters_reserved_per_url: int = 23
    max_media_attachments: int = 4
    description_limit: int = 1500
    version: str | None = None
    #: False when these are the defaults because the instance could not be asked
    known: bool = True
    #: the server software when its API says (one of :data:`KNOWN_SOFTWARE`)
    software: str | None = None

    @property
    def counting(self) -> str:
        """How this server counts a status: ``"codepoints"`` or ``"mastodon"``."""
        return "codepoints" if self.software in CODEPOINT_SOFTWARE else "mastodon"


DEFAULT_LIMITS = InstanceLimits(known=False)
#: instance URL -> (time fetched, limits)
_LIMITS: dict[str, tuple[float, InstanceLimits]] = {}


#: per worker thread: (persona, instance, proxy) -> the requests.Session its clients share
_SESSIONS = threading.local()


def _session(persona: str, instance: str, proxy: str | None = None) -> Any:
    """An HTTP session to reuse across deliveries: one per thread, persona, instance and proxy.

    A new Mastodon.py client per delivery used to open a new session and TCP (and TLS)
    connection per status; keeping the connection alive saves that on both ends. The session
    is never shared between threads (``requests.Session`` is not thread-safe) nor between
    personas (a connection shared by two personas would tie them together at the instance).
    It keeps no cookies: the API authenticates every request with its Bearer token, which
    Mastodon.py sends per request, so nothing of one account's requests carries over.
    Instances such as snac drop idle keep-alive connections without notice, so the session
    sends a read-only request once more when that happens (never a status or an upload).
    """
    sessions: dict[tuple[str, str, str | None], Any] | None = getattr(_SESSIONS, "by_key", None)
    if sessions is None:
        sessions = _SESSIONS.by_key = {}
    session = sessions.get((persona, instance, proxy))
    if session is None:
        session = sessions[(persona, instance, proxy)] = _new_session(proxy)
    return session


def _new_session(proxy: str | None) -> Any:
    """A session without cookies whose every request goes through ``proxy`` (None: the
    environment's) and whose reads are resent once on a dropped connection."""
    from http.cookiejar import DefaultCookiePolicy

    session = steady_session_class()()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.hooks["response"].append(_reset_only_when_limited)
    resend = resend_reads_adapter_class()(proxy=proxy)
    session.mount("https://", resend)
    session.mount("http://", resend)
    return session


def _reset_only_when_limited(resp: Any, *args: Any, **kwargs: Any) -> Any:
    """Pass ``X-RateLimit-Reset`` on to Mastodon.py only with a 429.

    Mastodon.py parses that header and ``Date`` with dateutil on every response, to pace
    requests; crosspost does not let it pace (``ratelimit_method="throw"``) and needs the reset
    time only when the limit was hit, to retry after it. The parsing was a tenth of the CPU a
    status post costs the daemon.
    """
    if resp.status_code != 429:
        resp.headers.pop("X-RateLimit-Reset", None)
    return resp


def _as_is(value: Any, override_type: Any = None) -> tuple[Any, None]:
    return value, None


@contextmanager
def _as_sent(api: Any) -> Iterator[None]:
    """Keep the next response as the JSON the server sent (dicts and lists).

    Mastodon.py casts every response into its typed objects, recursively (the status, its
    account, emojis, dates...): the largest CPU cost of a status post. ``publish`` reads only
    ``id``, ``url`` and ``uri``, so the cast is skipped for that call, on this client only.
    The hook is Mastodon.py's private cast method (2.x); should it be renamed, this does
    nothing and responses are cast as before. Errors are raised exactly as before.
    """
    api._Mastodon__try_cast_to_type = _as_is
    try:
        yield
    finally:
        del api._Mastodon__try_cast_to_type


def clear_instance_cache() -> None:
    """Forget the limits read from instances (memory only; the file ages out in a day)."""
    _LIMITS.clear()


def read_limits(
    instance: str,
    *,
    timeout: float,
    cache_ttl: float = CACHE_TTL,
    cache_dir: Path | None = None,
    user_agent: str = USER_AGENT,
    proxy: str | None = None,
) -> tuple[InstanceLimits, bool]:
    """The limits of ``instance`` (``https://host``) and whether they came from a cache.

    Asked without credentials (``/api/v2/instance`` and ``/api/v1/instance`` are public) and
    remembered per instance in memory and in ``cache_dir`` (default: the user's cache
    folder), with ``user_agent`` and through ``proxy`` (the account's): for ``cache_ttl`` (a
    day), or for five minutes when the instance could not be reached, so neither a run of
    previews nor a daemon's deliveries wait for an instance that is down, one after another.
    """
    now = time.time()
    hit = _LIMITS.get(instance)
    if hit is not None and _fresh(now, hit[0], hit[1], cache_ttl):
        return hit[1], True
    path = _cache_path(cache_dir)
    cached = _read_cache_file(path, instance, now, cache_ttl)
    if cached is not None:
        _LIMITS[instance] = cached
        return cached[1], True
    try:
        limits = _fetch_limits(instance, timeout, user_agent, proxy)
    except Exception as e:  # noqa: BLE001 - the defaults are a fine answer offline
        log.info(
            "could not read the limits of %s (%s); assuming %s characters",
            urlsplit(instance).netloc,
            type(e).__name__,
            DEFAULT_LIMITS.max_characters,
        )
        limits = DEFAULT_LIMITS
    _write_cache_file(path, instance, now, limits)
    _LIMITS[instance] = (now, limits)
    return limits, False


def share_rules(ctx: AdapterContext, *, timeout: float, cache_ttl: float = CACHE_TTL) -> ShareRules:
    """The limit and counting to fit a share to this account, for the daemon and ``preview``.

    The account's ``limit`` and ``counting`` win; what they leave open comes from the instance
    (its ``max_characters``; its software decides the counting), else Mastodon's 500 and rule.
    """
    account = ctx.account
    assert isinstance(account, MastodonAccount)
    try:
        instance = instance_url(ctx)
    except PermanentError:
        return ShareRules(
            account.limit or DEFAULT_LIMITS.max_characters,
            account.counting or "mastodon",
            "account" if account.limit else "default",
            "the account's limit" if account.limit else "default; the account names no instance",
        )
    host = urlsplit(instance).netloc
    if account.limit and account.counting:
        return ShareRules(account.limit, account.counting, "account", "the account's limit")
    limits, cached = read_limits(
        instance,
        timeout=timeout,
        cache_ttl=cache_ttl,
        cache_dir=ctx.cache_dir,
        user_agent=ctx.user_agent or USER_AGENT,
        proxy=ctx.proxy,
    )
    counting = account.counting or limits.counting
    if account.limit:
        return ShareRules(account.limit, counting, "account", "the account's limit")
    if not limits.known:
        return ShareRules(
            limits.max_characters, counting, "default", f"default; {host} not reachable"
        )
    source, note = ("cache", f"from {host}, cached") if cached else ("instance", f"from {host}")
    return ShareRules(limits.max_characters, counting, source, note)


def _fresh(now: float, fetched: float, limits: InstanceLimits, cache_ttl: float) -> bool:
    return 0 <= now - fetched < (cache_ttl if limits.known else FAILED_TTL)


def _fetch_limits(
    instance: str, timeout: float, user_agent: str = USER_AGENT, proxy: str | None = None
) -> InstanceLimits:
    import requests

    headers = {"User-Agent": user_agent, "Accept": "application/json"}
    # proxies given to requests.get win over the environment's (not so on a session)
    proxies = requests_proxies(proxy)
    resp = requests.get(
        f"{instance}/api/v2/instance", headers=headers, timeout=timeout, proxies=proxies
    )
    if resp.status_code in (404, 410):  # before Mastodon 4.0, and some other servers
        resp = requests.get(
            f"{instance}/api/v1/instance", headers=headers, timeout=timeout, proxies=proxies
        )
    resp.raise_for_status()
    data = resp.json()
    conf = data.get("configuration") or {}
    statuses = conf.get("statuses") or {}
    media = conf.get("media_attachments") or {}
    d = InstanceLimits()
    return InstanceLimits(
        max_characters=_int(
            statuses.get("max_characters") or data.get("max_toot_chars"), d.max_characters
        ),
        characters_reserved_per_url=_int(
            statuses.get("characters_reserved_per_url"), d.characters_reserved_per_url
        ),
        max_media_attachments=_int(statuses.get("max_media_attachments"), d.max_media_attachments),
        description_limit=_int(media.get("description_limit"), d.description_limit),
        version=data.get("version") if isinstance(data.get("version"), str) else None,
        software=_software(data),
    )


def _software(data: dict[str, Any]) -> str | None:
    """Which server this is, from what its instance API says: GoToSocial's ``source_url`` (and
    ``version`` "3.5.3+0.17.0"), "(compatible; Pleroma 2.5.0)" in Pleroma's and Akkoma's
    ``version``, "snac" in snac's, Mastodon's ``source_url``."""
    said = " ".join(
        v for v in (data.get("source_url"), data.get("version")) if isinstance(v, str)
    ).lower()
    return next((name for name in KNOWN_SOFTWARE if name in said), None)


def _cache_path(cache_dir: Path | None = None) -> Path:
    if cache_dir is None:
        from platformdirs import user_cache_path

        cache_dir = user_cache_path("crosspost")
    return cache_dir / "mastodon-instances.json"


def _read_cache_file(
    path: Path, instance: str, now: float, cache_ttl: float
) -> tuple[float, InstanceLimits] | None:
    try:
        entry = json.loads(path.read_text("utf-8"))[instance]
        fetched = float(entry["fetched_at"])
        if "software" not in entry["limits"]:
            return None  # written before the software was recorded: ask again
        limits = InstanceLimits(**entry["limits"])
        return (fetched, limits) if _fresh(now, fetched, limits, cache_ttl) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache_file(path: Path, instance: str, now: float, limits: InstanceLimits) -> None:
    try:
        try:
            data = json.loads(path.read_text("utf-8"))
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        data[instance] = {"fetched_at": now, "limits": asdict(limits)}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mastodon-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError as e:
        log.debug("could not write %s: %s", path, e)


class MastodonAdapter(PlatformAdapter):
    """Posts to one Mastodon account; see the module docstring."""

    platform: ClassVar[str] = SPEC.name
    credential_fields: ClassVar[tuple[CredentialField, ...]] = SPEC.credential_fields
    #: also stored by the browser login (to revoke the token later); not needed to post
    oauth_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")
    scopes: ClassVar[tuple[str, ...]] = SCOPES

    def __init__(
        self,
        ctx: AdapterContext,
        *,
        timeout: float | None = None,
        poll_interval: float = 1.0,
        processing_timeout: float = 120.0,
        cache_ttl: float = CACHE_TTL,
    ) -> None:
        """``timeout`` is each request's time-out (Mastodon.py's ``request_timeout``; default:
        the context's ``daemon.request_timeout``);
        ``poll_interval`` / ``processing_timeout`` pace the wait for an image to be processed;
        ``cache_ttl`` is how long the instance's limits are reused."""
        if not isinstance(ctx.account, MastodonAccount):
            raise PermanentError("the Mastodon adapter needs an account", hint="this is a bug")
        super().__init__(ctx, timeout=timeout)
        self.account = ctx.account
        self.instance = instance_url(ctx)
        self.host = urlsplit(self.instance).netloc
        self.poll_interval = poll_interval
        self.processing_timeout = processing_timeout
        self.cache_ttl = cache_ttl
        self._api_obj: Any = None

    # -- the Adapter protocol ---------------------------------------------------------------

    def publish(self, pub: Publication) -> Result:
        if pub.media:
            self._check_media(pub.media, self.instance_limits())
        api = self._api()
        media_ids = [self._upload(api, item, n) for n, item in enumerate(pub.media, 1)]
        with self._translated("posting", sent=True), _as_sent(api):
            status = api.status_post(
                pub.text,
                media_ids=media_ids or None,
                visibility=self.account.visibility or "public",
                language=_language(pub.lang),
                idempotency_key=pub.idempotency_key,
                in_reply_to_id=pub.reply_to.remote_id if pub.reply_to else None,
            )
        return Result(remote_id=str(status["id"]), url=status.get("url") or status.get("uri"))

    def lookup(self, pub: Publication) -> Result | None:
        """The account's status with this text created since ``scheduled_at`` (minus a minute)."""
        api = self._api()
        start = pub.scheduled_at - LOOKUP_SLACK
        candidates: list[Any] = []
        try:
            me = api.account_verify_credentials()
            max_id = None
            seen: set[str] = set()
            for _ in range(LOOKUP_PAGES):
                page = api.account_statuses(
                    me["id"], limit=LOOKUP_PAGE, max_id=max_id, exclude_reblogs=True
                )
                fresh = [s for s in page if str(s["id"]) not in seen]
                seen.update(str(s["id"]) for s in fresh)
                candidates.extend(fresh)
                if len(page) < LOOKUP_PAGE or not fresh or min(_created(s) for s in page) < start:
                    break  # the end, a server that ignores max_id, or older than the post
                max_id = str(page[-1]["id"])
        except Exception as e:
            err = self._translate(e, "looking for an earlier post", sent=True)
            if err is None:
                raise
            if isinstance(err, TransientError):
                err.maybe_sent = True  # the question is still open: ask again next time
            raise err from None
        matches = [
            s
            for s in candidates
            if not s.get("reblog") and _created(s) >= start and _same_status(pub.text, s)
        ]
        if not matches:
            return None
        first = min(matches, key=lambda s: (_created(s), _id_order(s["id"])))
        return Result(remote_id=str(first["id"]), url=first.get("url") or first.get("uri"))

    def verify(self) -> str:
        api = self._api()
        with self._translated("checking the account", sent=False):
            me = api.account_verify_credentials()
        _check_identity(self.account.name, self.account.handle, me["username"], self.host)
        return f"Mastodon account @{me['acct']} on {self.host}"

    # -- reading back (the exposure audit) ---------------------------------------------------

    def history(self, limit: int = 200) -> list[PublishedItem]:
        """The account's latest statuses (not boosts), ``account_statuses`` paged back 40 at a
        time; the content warning counts as the title, image descriptions as alt texts."""
        api = self._api()
        items: list[PublishedItem] = []
        with self._translated("reading the account's statuses", sent=False):
            me = api.account_verify_credentials()
            max_id = None
            seen: set[str] = set()
            while len(items) < limit:
                page = api.account_statuses(
                    me["id"],
                    limit=min(LOOKUP_PAGE, limit - len(items)),
                    max_id=max_id,
                    exclude_reblogs=True,
                )
                fresh = [s for s in page if str(s["id"]) not in seen]
                seen.update(str(s["id"]) for s in fresh)
                items += [_published(s) for s in fresh if not s.get("reblog")]
                if not page or not fresh:
                    break  # the end, or a server that ignores max_id
                max_id = str(page[-1]["id"])
        return items[:limit]

    def profile(self) -> ProfileInfo:
        """Display name, bio, profile fields and the avatar's description (servers that have
        one), from ``verify_credentials``: its ``source`` holds the bio as typed."""
        api = self._api()
        with self._translated("reading the profile", sent=False):
            me = api.account_verify_credentials()
        source = me.get("source") or {}
        fields: list[tuple[str, str]] = [("display name", str(me.get("display_name") or ""))]
        bio = source.get("note") or status_text(str(me.get("note") or ""))[0]
        fields.append(("bio", str(bio)))
        for f in source.get("fields") or me.get("fields") or []:
            name = str(f.get("name") or "")
            value = status_text(str(f.get("value") or ""))[0]
            fields.append((f"field {name}", f"{name} {value}".strip()))
        described = (("avatar_description", "avatar alt"), ("header_description", "header alt"))
        for key, label in described:
            if me.get(key):
                fields.append((label, str(me[key])))
        return ProfileInfo(url=me.get("url"), fields=tuple((n, t) for n, t in fields if t.strip()))

    # -- limits ------------------------------------------------------------------------------

    def instance_limit(self) -> int:
        """The character limit of a status: the account's ``limit``, else the instance's."""
        return self.account.limit or self.instance_limits().max_characters

    def instance_limits(self) -> InstanceLimits:
        """The instance's limits, cached for a day (defaults if it cannot be asked)."""
        return read_limits(
            self.instance,
            timeout=min(self.timeout, 10.0),
            cache_ttl=self.cache_ttl,
            cache_dir=self.ctx.cache_dir,
            user_agent=self.user_agent,
            proxy=self.proxy,
        )[0]

    def share_rules(self) -> ShareRules:
        """The limit and counting a share to this account is fitted to (see :func:`share_rules`)."""
        return share_rules(self.ctx, timeout=min(self.timeout, 10.0), cache_ttl=self.cache_ttl)

    # -- login -------------------------------------------------------------------------------

    @classmethod
    def login_flow(
        cls, ctx: AdapterContext, ask: Ask, say: Say, *, timeout: float | None = None
    ) -> dict[str, str]:
        """Get a token for the account: the browser (authorization code, out-of-band) or a
        token pasted from Preferences → Development; asks which first. Checks the token is
        the configured account's before returning what to store."""
        from ..logs import register_secret

        if ctx.account is None:
            raise UsageError("logging in to Mastodon needs an account")
        account = ctx.account
        base = instance_url(ctx)
        host = urlsplit(base).netloc
        timeout = request_timeout(timeout, ctx.timeout)
        mastodon = _mastodon()
        say(f"Logging in '{account.name}' ({account.handle or host}) on {host}.")
        way = ask(
            "Log in with the browser (b), or paste an access token made under "
            "Preferences → Development (t)? [b]",
            False,
        )
        way = way.strip().lower() or "b"
        if way not in ("b", "browser", "t", "token"):
            raise UsageError(f"answer 'b' or 't', not {way!r}; nothing was stored")
        allow_http = base.startswith("http://")
        agent = ctx.user_agent or USER_AGENT
        # shown as "via <app>" under every post: the account's, else the persona's own name
        app_name = getattr(account, "app_name", None) or ctx.client_name or DEFAULT_APP_NAME
        session = _new_session(ctx.proxy)
        values: dict[str, str] = {}
        try:
            if way.startswith("t"):
                say(
                    f"On {host}: Preferences → Development → New application. Name it "
                    f"'{app_name}', keep only the scopes {', '.join(SCOPES)}, submit, open "
                    "the application and copy 'Your access token'."
                )
                token = ask("Access token", True).strip()
                if not token:
                    raise UsageError("no access token given; nothing was stored")
                register_secret(token)
                values["access_token"] = token
            else:
                # the app's name is shown under every post on many instances: the account's own
                client_id, client_secret = mastodon.Mastodon.create_app(
                    app_name,
                    scopes=list(SCOPES),
                    redirect_uris=OOB,
                    api_base_url=base,
                    request_timeout=timeout,
                    session=session,
                    user_agent=agent,
                )
                register_secret(client_id)
                register_secret(client_secret)
                api = _client(
                    mastodon,
                    base,
                    timeout,
                    None,
                    user_agent=agent,
                    session=session,
                    client_id=client_id,
                    client_secret=client_secret,
                )
                url = api.auth_request_url(
                    redirect_uris=OOB, scopes=list(SCOPES), force_login=True, allow_http=allow_http
                )
                say(
                    f"Open this address in a browser, sign in as {account.handle or 'the account'}"
                    f" and authorise crosspost, then copy the code it shows:\n  {url}"
                )
                code = ask("Authorization code", True).strip()
                if not code:
                    raise UsageError("no code given; nothing was stored")
                try:
                    token = api.log_in(
                        code=code, redirect_uri=OOB, scopes=list(SCOPES), allow_http=allow_http
                    )
                except mastodon.MastodonIllegalArgumentError as e:
                    raise PermanentError(
                        f"{host} did not accept the code ({_short(e)})",
                        hint=f"run 'crosspost accounts login {account.name}' again; "
                        "a code works once",
                    ) from None
                register_secret(token)
                values.update(access_token=token, client_id=client_id, client_secret=client_secret)
            api = _client(
                mastodon,
                base,
                timeout,
                None,
                user_agent=agent,
                session=session,
                access_token=values["access_token"],
            )
            me = api.account_verify_credentials()
        except CrosspostError:
            raise
        except Exception as e:  # noqa: BLE001 - e.g. KeyError from create_app on an error answer
            err = _translate(e, host, account.name, "logging in", sent=False, api=None)
            if err is not None:
                raise err from None
            raise PermanentError(
                f"{host} did not complete the login ({type(e).__name__}: {_short(e)})",
                hint="check the instance address in the profile",
            ) from None
        _check_identity(account.name, account.handle, me["username"], host)
        say(f"Authorised as @{me['acct']} on {host}.")
        return values

    # -- internals ---------------------------------------------------------------------------

    def _api(self) -> Any:
        if self._api_obj is None:
            mastodon = _mastodon()
            names = tuple(f.name for f in self.credential_fields)
            token = credentials.load(self.ctx.persona.name, self.account.name, names)
            limits = _LIMITS.get(self.instance, (0.0, DEFAULT_LIMITS))[1]
            self._api_obj = _client(
                mastodon,
                self.instance,
                self.timeout,
                limits.version,
                access_token=token["access_token"],
                user_agent=self.user_agent,
                session=_session(self.ctx.persona.name, self.instance, self.proxy),
            )
        return self._api_obj

    def _translate(self, e: Exception, action: str, *, sent: bool) -> CrosspostError | None:
        return _translate(e, self.host, self.account.name, action, sent=sent, api=self._api_obj)

    @contextmanager
    def _translated(self, action: str, *, sent: bool) -> Iterator[None]:
        """Mastodon.py's failures while ``action`` as crosspost errors; what is not one of
        them is raised as it is."""
        try:
            yield
        except Exception as e:
            err = self._translate(e, action, sent=sent)
            if err is None:
                raise
            raise err from None

    def _check_media(self, media: Iterable[MediaItem], limits: InstanceLimits) -> None:
        items = list(media)
        if len(items) > limits.max_media_attachments:
            raise PermanentError(
                f"{self.host} takes at most {limits.max_media_attachments} images per post; "
                f"this one has {len(items)}",
                hint="remove images from the entry, or leave them to the blog",
            )
        for n, item in enumerate(items, 1):
            if len(item.alt) > limits.description_limit:
                raise PermanentError(
                    f"the alt text of image {n} has {len(item.alt)} characters; {self.host} "
                    f"allows {limits.description_limit}",
                    hint="shorten it",
                )
            if not item.path.is_file():
                raise PermanentError(
                    f"image {n} is missing",
                    hint="the post's media snapshot is gone; queue it again",
                )

    def _upload(self, api: Any, item: MediaItem, n: int) -> str:
        with self._translated(f"uploading image {n}", sent=False):
            media = api.media_post(str(item.path), description=item.alt or None)
            deadline = time.monotonic() + self.processing_timeout
            while media.get("url") is None:
                if time.monotonic() >= deadline:
                    raise TransientError(
                        f"{self.host} is still processing image {n}",
                        hint="will retry",
                        maybe_sent=False,
                    )
                time.sleep(self.poll_interval)
                media = api.media(media["id"])
        return str(media["id"])


# -- helpers ---------------------------------------------------------------------------------


def instance_url(ctx: AdapterContext) -> str:
    """``https://host`` of the account's instance: ``instance``, else the handle's domain."""
    account = ctx.account
    assert isinstance(account, MastodonAccount)
    if account.instance:
        url = account.instance.strip().rstrip("/")
        return url if "://" in url else f"https://{url}"
    handle = (account.handle or "").strip().lstrip("@")
    user, sep, domain = handle.partition("@")
    if user and sep and "." in domain:
        return f"https://{domain.lower()}"
    raise PermanentError(
        f"account '{account.name}' does not say which Mastodon instance it is on",
        hint=f'set instance = "https://…" or handle = "@user@instance" for it in '
        f"{ctx.persona.source}",
    )


def _mastodon() -> Any:
    try:
        import mastodon
    except ImportError:
        raise PermanentError(
            "the Mastodon adapter needs the 'Mastodon.py' package, which is not installed",
            hint="pip install 'Mastodon.py[grapheme]>=2.3,<3' into crosspost's environment",
        ) from None
    return mastodon


def _client(
    mastodon: Any,
    base: str,
    timeout: float,
    version: str | None,
    *,
    user_agent: str,
    session: Any,
    **kw: Any,
) -> Any:
    """A Mastodon.py client that throws on rate limits and never asks for the version;
    ``session`` (from :func:`_new_session`) carries the proxy, ``user_agent`` every request."""
    parsed = _version(version)
    api = mastodon.Mastodon(
        api_base_url=base,
        ratelimit_method="throw",
        request_timeout=timeout,
        version_check_mode="none",
        mastodon_version=".".join(map(str, parsed)),
        user_agent=user_agent,
        session=session,
        **kw,
    )
    # with version_check_mode "none" the given version is not parsed: set it, so media_post
    # picks /api/v2/media without asking the server
    api.mastodon_major, api.mastodon_minor, api.mastodon_patch = parsed
    return api


def _version(version: str | None) -> tuple[int, int, int]:
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", version or "")
    if m is None:
        return (4, 0, 0)
    parsed = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return parsed if parsed >= (3, 1, 4) else (4, 0, 0)  # forks report their own versions


def _translate(
    e: Exception, host: str, account: str, action: str, *, sent: bool, api: Any
) -> CrosspostError | None:
    """The crosspost error for a Mastodon.py failure, or None (re-raise it)."""
    errors = _mastodon()
    if isinstance(e, CrosspostError):
        return e
    if isinstance(e, errors.MastodonRatelimitError):
        reset = getattr(api, "ratelimit_reset", None)
        wait = max(0.0, float(reset) - time.time()) if reset else None
        when = f"; it resets in {wait:.0f} s" if wait is not None else ""
        return TransientError(
            f"{host}: rate limit reached while {action}{when}",
            hint="Mastodon allows 300 requests per 5 minutes and 30 uploads per 30 minutes",
            retry_after=wait,
            maybe_sent=False,
        )
    if isinstance(e, errors.MastodonNetworkError):
        cause = e.__cause__ or e.__context__
        return network_error(cause or e, host, action, sent=sent)
    if isinstance(e, errors.MastodonAPIError):
        status, reason, message = _api_error(e)
        what = f"{host} answered {status} {reason}".rstrip() if status else f"{host}"
        detail = message or reason or "no detail"
        if isinstance(e, errors.MastodonUnauthorizedError) or status == 401:
            return PermanentError(
                f"{host} rejected the access token of '{account}' ({detail})",
                hint=login_hint(account),
            )
        if isinstance(e, errors.MastodonServerError) or (status or 0) >= 500:
            return TransientError(
                f"{what} while {action}: {detail}",
                hint="the instance may have created the post anyway; crosspost checks before "
                "posting again"
                if sent
                else None,
                maybe_sent=sent,
            )
        if isinstance(e, errors.MastodonNotFoundError) or status == 404:
            return PermanentError(
                f"{what} while {action}: {detail}",
                hint="check the account's instance address in the profile",
            )
        if status == 422 and "processing" in detail.lower():
            return TransientError(f"{what} while {action}: {detail}", maybe_sent=False)
        if status == 403:
            return PermanentError(
                f"{host} refused {action}: {detail}",
                hint=f"{login_hint(account)} (the token needs the scopes {' '.join(SCOPES)})",
            )
        if status is None:
            # an answer that is not JSON (a proxy's error page): unclear what happened
            return TransientError(
                f"{host}: unexpected answer while {action}: {detail}", maybe_sent=sent
            )
        return PermanentError(f"{host} refused {action} ({status}): {detail}")
    if isinstance(e, errors.MastodonError):
        # IllegalArgument (e.g. an unknown image type), FileNotFound, IOError, VersionError
        return PermanentError(f"{host}: {action} failed: {_short(e)}")
    return None


def _api_error(e: Exception) -> tuple[int | None, str, str]:
    """``MastodonAPIError('Mastodon API returned error', status, reason, error)``."""
    args = e.args
    if len(args) >= 4 and isinstance(args[1], int):
        return args[1], str(args[2] or ""), str(args[3] or "")
    return None, "", _short(e)


def _short(e: Exception) -> str:
    text = " ".join(" ".join(str(a) for a in e.args).split()) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _check_identity(account: str, handle: str | None, username: str, host: str) -> None:
    """The token must belong to the configured handle: posting as the wrong persona is
    exactly what crosspost exists to prevent."""
    want = (handle or "").strip().lstrip("@").partition("@")[0]
    if want and want.lower() != username.lower():
        raise PermanentError(
            f"the access token of '{account}' belongs to @{username} on {host}, not @{want}",
            hint=f"{login_hint(account)} and sign in as @{want}",
        )


def _language(lang: str | None) -> str | None:
    """Mastodon takes an ISO 639 code: ``en-US`` becomes ``en``."""
    if not lang:
        return None
    code = re.split(r"[-_]", lang.strip(), maxsplit=1)[0].lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and value > 0 else default


def _id_order(value: Any) -> tuple[int, str]:
    """An id's place among ids, as a string: never ``int()``, which a ULID (GoToSocial) or a
    hash (snac) fails. Shorter first, then by character, so Mastodon's numeric ids of different
    lengths order as numbers, and ULIDs (all 26 characters) by their time."""
    text = str(value)
    return len(text), text


def _created(status: Any) -> datetime:
    value = status.get("created_at")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.max.replace(tzinfo=UTC)


def _published(status: Any) -> PublishedItem:
    text, _ = status_text(status.get("content") or "")
    alts = tuple(str(m.get("description") or "") for m in status.get("media_attachments") or [])
    created = _created(status)
    return PublishedItem(
        text=text,
        url=status.get("url") or status.get("uri"),
        published_at=None if created == datetime.max.replace(tzinfo=UTC) else created,
        remote_id=str(status["id"]),
        title=status.get("spoiler_text") or None,
        alts=alts,
    )


# -- matching a status to our text -----------------------------------------------------------


class _Content(HTMLParser):
    """A status's HTML ``content`` as text; links become their ``href``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._in_link = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")
        elif tag == "a":
            classes = (a.get("class") or "").split()
            href = a.get("href") or ""
            if href and "mention" not in classes and "hashtag" not in classes:
                self.parts.append(href)
                self.links.append(href)
                self._in_link = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_link = False

    def handle_data(self, data: str) -> None:
        if not self._in_link:
            self.parts.append(data)


def status_text(content: str) -> tuple[str, list[str]]:
    """The text of a status's HTML ``content``, and the URLs it links to."""
    parser = _Content()
    parser.feed(content or "")
    parser.close()
    return "".join(parser.parts), parser.links


def _same_status(ours: str, status: Any) -> bool:
    text, links = status_text(status.get("content") or "")
    return same_text(ours, text, links)


def same_text(ours: str, theirs: str, links: Iterable[str] = ()) -> bool:
    """Whether ``theirs`` (a status as text, links as their ``href``) is the post of ``ours``.

    Compared with URLs removed, ``@user@domain`` reduced to ``@user`` and whitespace
    collapsed; each URL of ours must then be a prefix of one of the links or be in the text.
    """
    ours = unicodedata.normalize("NFC", ours)
    theirs = unicodedata.normalize("NFC", theirs)
    if squash(ours, mentions=True) != squash(theirs, mentions=True):
        return False
    urls = [m.group(0).rstrip(TRAILING) for m in URL_RE.finditer(ours)]
    return urls_present(urls, links, theirs, prefix=True)
