"""Threads (Meta): share posts through the Threads API on ``graph.threads.net``, with httpx.

Credentials, in the keyring under ``crosspost/<persona>/<account>``: ``access_token`` (a
long-lived Threads user token, valid 60 days), ``token_expires_at`` (Unix seconds, when it
expires) and ``user_id`` (the Threads user id the token belongs to). ``crosspost accounts
login`` gets all three with Meta's authorization window (:meth:`ThreadsAdapter.login_flow`).
The token goes in the ``Authorization: Bearer`` header of every API request; only the token
endpoints (refresh, exchange) take it in the query string, as Meta documents them, so the
redaction filter of :mod:`crosspost.logs` is attached to httpx's loggers, which log URLs.

Token refresh: a long-lived token can be refreshed (``GET /refresh_access_token?grant_type=
th_refresh_token``) once it is a day old and until it expires; an expired one cannot. The
adapter refreshes when fewer than :data:`REFRESH_BEFORE` remain (or the expiry is not known,
e.g. after ``accounts login --stdin``), best effort, and once more when Meta refuses the token
(401, or Graph error 190); the new token and its expiry are written back to the keyring. A
token refused after that is a ``PermanentError`` with the hint ``crosspost accounts login``.

Publishing is two steps (Meta's "Threads Posts" guide): ``POST /{user-id}/threads`` with
``media_type=TEXT`` and ``text`` (or ``IMAGE`` with ``image_url`` and ``alt_text``) creates a
*media container*; ``POST /{user-id}/threads_publish?creation_id=<container>`` publishes it and
answers the post's id. An image container is polled (``GET /{container}?fields=status,
error_message``) until ``FINISHED`` before it is published. Then ``GET /{post}?fields=
permalink`` gives the post's URL (best effort: the post exists either way).

Images: Threads fetches an image from a public URL; it takes no upload. So an image is posted
only when the entry's blog shows it: the share must be of a blog entry (``canonical_url``), the
adapter reads the published entry page, and each image of the share must be one of the page's
images byte for byte (``<img src>``, ``og:image``). That image's URL goes to Threads. A share
image without a blog entry, or one the page does not show (not published yet, re-encoded by the
site) is refused with a ``PermanentError`` saying why; an entry page that is not there yet
(404) is a ``TransientError``: the blog may still be building. One image per post: a share
with more posts the first and logs that the rest were left out.

Exactly once: Threads has no idempotency key, and its API cannot list containers, only
published posts. A container is not a post (unpublished, it expires after 24 hours), so only
``threads_publish`` can create a post, and only its failures are ``maybe_sent``. Within the
process, the container of a delivery is remembered (memory only, never the database) and
reused by the next attempt: ``FINISHED`` is published, ``PUBLISHED`` means the earlier attempt
went through. :meth:`ThreadsAdapter.lookup` lists the user's posts (``GET /{user-id}/threads?
fields=id,text,permalink,timestamp``, newest first, since one minute before ``scheduled_at``)
and matches the text: both sides NFC, URLs removed and whitespace collapsed must be equal, and
each URL of ours must be in the post. When nothing matches but the remembered container says
``PUBLISHED``, lookup does not answer "not posted": it raises a ``maybe_sent`` error to ask
again later.

What a failure means::

    failure                                         error            maybe_sent  retry_after
    429, Graph codes 4 / 17 / 32 / 613              TransientError   False       Retry-After/15 min
    Graph code 9007 (container not ready)           TransientError   False       30 s
    5xx or is_transient to threads_publish          TransientError   True
    read time-out / dropped answer, threads_publish TransientError   True
    any failure before threads_publish              (as classified)  False
    connection refused / DNS / connect time-out     TransientError   False
    401 / Graph 190 (after one refresh)             PermanentError   hint: accounts login
    403 / Graph 10, 200-299 (a permission)          PermanentError   hint: accounts login (scopes)
    other 4xx                                       PermanentError   Meta's message

Limits (see :func:`threads_length`): 500 characters, at most 5 distinct links per post.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from .. import credentials
from ..errors import CrosspostError, PermanentError, TransientError, UsageError
from . import _http
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
from .specs.threads import SPEC, ThreadsAccount, threads_length

log = logging.getLogger(__name__)

GRAPH = "https://graph.threads.net"
VERSION = "v1.0"
AUTHORIZE_URL = "https://threads.net/oauth/authorize"
SCOPES = ("threads_basic", "threads_content_publish")
#: Meta's limit on a post's text ("Threads Posts" guide, Limitations)
LIMIT = 500
#: distinct URLs a post may contain (THREADS_API__LINK_LIMIT_EXCEEDED beyond)
MAX_LINKS = 5
#: a long-lived token lasts 60 days; refreshed when fewer than this remain
REFRESH_BEFORE = timedelta(days=7)
#: a post made up to this long before ``scheduled_at`` (clock skew) still counts in lookup
LOOKUP_SLACK = timedelta(minutes=1)
LOOKUP_PAGE = 25
LOOKUP_PAGES = 5
#: wait after a rate limit when Meta does not say how long
RATE_LIMIT_WAIT = 15 * 60.0
#: Graph API error codes of throttling (app, user, too many calls, rate limit)
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
#: images on the entry page compared with the share's, and their largest size (Threads: 8 MB)
MAX_PAGE_IMAGES = 30
MAX_IMAGE_BYTES = 8 * 1024 * 1024
_URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""

#: (persona, account, idempotency key) -> container id of an attempt not yet published
_CONTAINERS: dict[tuple[str, str, str], str] = {}
_CONTAINERS_LOCK = threading.Lock()


# -- counting --------------------------------------------------------------------------------


def links(text: str) -> list[str]:
    """The distinct URLs of a text, as Threads counts them against :data:`MAX_LINKS`."""
    seen: dict[str, None] = {}
    for m in _URL_RE.finditer(text):
        seen.setdefault(m.group(0).rstrip(_TRAILING), None)
    return list(seen)


# -- the adapter -----------------------------------------------------------------------------


class ThreadsAdapter(PlatformAdapter):
    """Posts to one Threads profile; see the module docstring."""

    platform: ClassVar[str] = SPEC.name
    credential_fields: ClassVar[tuple[CredentialField, ...]] = SPEC.credential_fields
    scopes: ClassVar[tuple[str, ...]] = SCOPES

    def __init__(
        self,
        ctx: AdapterContext,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        poll_interval: float = 1.0,
        processing_timeout: float = 60.0,
    ) -> None:
        """``base_url`` is for tests: the origin sent every request for graph.threads.net
        (a local fake). ``timeout`` is each request's time-out (default: the context's
        ``daemon.request_timeout``); ``poll_interval`` / ``processing_timeout`` pace the wait
        for an image container to be ready."""
        if not isinstance(ctx.account, ThreadsAccount):
            raise PermanentError(
                "the Threads adapter needs a Threads account", hint="this is a bug"
            )
        super().__init__(ctx, base_url=base_url, timeout=timeout)
        self.persona = ctx.persona
        self.account = ctx.account
        self.api_base = self.base_url or GRAPH
        self.poll_interval = poll_interval
        self.processing_timeout = processing_timeout
        self._client_obj: httpx.Client | None = None
        self._token: str | None = None
        self._expires_at: float | None = None
        self._user_id: str | None = None
        self._refreshed = False

    def __repr__(self) -> str:  # never the token
        return f"ThreadsAdapter(persona={self.persona.name!r}, account={self.account.name!r})"

    # -- the Adapter protocol ---------------------------------------------------------------

    def publish(self, pub: Publication) -> Result:
        _check_text(pub.text)
        try:
            image = self._image(pub)
            user = self._user()
        except TransientError as e:
            raise _http.not_sent(e) from None
        key = (self.persona.name, self.account.name, pub.idempotency_key)
        with _CONTAINERS_LOCK:
            container = _CONTAINERS.get(key)
        try:
            if container is not None:
                status, _ = self._container_status(container)
                if status == "PUBLISHED":
                    return self._published_earlier(pub)
                if status not in ("FINISHED", "IN_PROGRESS"):
                    container = None  # EXPIRED, ERROR or gone: start again
            if container is None:
                container = self._create_container(user, pub.text, image)
                with _CONTAINERS_LOCK:
                    _CONTAINERS[key] = container
            if image is not None:
                self._wait_until_ready(container, key)
        except TransientError as e:
            raise _http.not_sent(e) from None
        data = self._api(
            "POST",
            f"/{user}/threads_publish",
            params={"creation_id": container},
            action="publishing the post",
            sent=True,
        )
        with _CONTAINERS_LOCK:
            _CONTAINERS.pop(key, None)
        post_id = str(data.get("id") or "")
        if not post_id:
            raise _http.transient(
                "Threads answered threads_publish without the post's id",
                hint="the post may exist; crosspost checks before posting again",
                maybe_sent=True,
            )
        return Result(remote_id=post_id, url=self._permalink(post_id))

    def lookup(self, pub: Publication) -> Result | None:
        """The user's post with this text made since ``scheduled_at`` (minus a minute)."""
        start = pub.scheduled_at - LOOKUP_SLACK
        try:
            user = self._user()
            found = self._find(user, pub.text, start)
            if found is not None:
                return found
            key = (self.persona.name, self.account.name, pub.idempotency_key)
            with _CONTAINERS_LOCK:
                container = _CONTAINERS.get(key)
            if container is not None and self._container_status(container)[0] == "PUBLISHED":
                raise _http.transient(
                    "Threads says this delivery's container was published, but the post is "
                    "not in the account's list yet",
                    hint="crosspost asks again later",
                    maybe_sent=True,
                )
        except TransientError as e:
            e.maybe_sent = True  # the question is still open: ask again next time
            raise
        return None

    def verify(self) -> str:
        me = self._api(
            "GET", "/me", params={"fields": "id,username"}, action="checking the account"
        )
        _check_identity(self.account.name, self.account.handle, str(me.get("username") or ""))
        return f"Threads account @{me.get('username')} (id {me.get('id')})"

    def close(self) -> None:
        if self._client_obj is not None:
            self._client_obj.close()
            self._client_obj = None

    # -- reading back (the exposure audit) ---------------------------------------------------

    def history(self, limit: int = 200) -> list[PublishedItem]:
        """The account's latest posts (``GET /{user-id}/threads``, 100 a page)."""
        user = self._user()
        items: list[PublishedItem] = []
        params: dict[str, Any] = {"fields": "id,text,permalink,timestamp"}
        while len(items) < limit:
            params["limit"] = min(100, limit - len(items))
            data = self._api(
                "GET", f"/{user}/threads", params=params, action="reading the account's posts"
            )
            page = [p for p in data.get("data") or [] if isinstance(p, dict)]
            for post in page:
                link = post.get("permalink")
                items.append(
                    PublishedItem(
                        text=str(post.get("text") or ""),
                        url=link if isinstance(link, str) else None,
                        published_at=_timestamp(post.get("timestamp")),
                        remote_id=str(post.get("id")),
                    )
                )
            paging = data.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not page or not after or not paging.get("next"):
                break
            params = {**params, "after": after}
        return items[:limit]

    def profile(self) -> ProfileInfo:
        """Name, username and bio (``GET /me`` with ``threads_biography``)."""
        me = self._api(
            "GET",
            "/me",
            params={"fields": "id,username,name,threads_biography"},
            action="reading the profile",
        )
        username = str(me.get("username") or "")
        fields = (
            ("username", username),
            ("display name", str(me.get("name") or "")),
            ("bio", str(me.get("threads_biography") or "")),
        )
        return ProfileInfo(
            url=f"https://www.threads.net/@{username}" if username else None,
            fields=tuple((n, t) for n, t in fields if t.strip()),
        )

    # -- login -------------------------------------------------------------------------------

    @classmethod
    def login_flow(
        cls,
        ctx: AdapterContext,
        ask: Ask,
        say: Say,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, str]:
        """Meta's authorization window: the user opens the address, approves, and pastes the
        address the browser was sent to (or just its code); the code becomes a short-lived
        token (``POST /oauth/access_token``), that a long-lived one (``GET /access_token?
        grant_type=th_exchange_token``), checked with ``GET /me`` against the configured
        handle before anything is stored. ``base_url`` is for tests, as in the constructor."""
        from ..logs import register_secret

        account = ctx.account
        if account is None:
            raise UsageError("logging in to Threads needs an account")
        _guard_library_logs()
        adapter = cls(ctx, base_url=base_url, timeout=timeout)
        say(
            f"Logging in '{account.name}' ({account.handle or 'Threads'}). You need a Meta app "
            "with the Threads use case (developers.facebook.com → My Apps), the permissions "
            f"{', '.join(SCOPES)}, this account added as a Threads tester (until the app is "
            "approved) and a redirect callback URL under Use cases → Threads API → Settings."
        )
        app_id = ask("Threads app ID", False).strip()
        app_secret = ask("Threads app secret", True).strip()
        redirect_uri = ask("Redirect callback URL (exactly as in the app's settings)", False)
        redirect_uri = redirect_uri.strip()
        if not app_id or not app_secret or not redirect_uri:
            raise UsageError("the app ID, app secret and redirect URL are needed; nothing stored")
        register_secret(app_secret)
        state = secrets.token_urlsafe(16)
        url = (
            AUTHORIZE_URL
            + "?"
            + urlencode(
                {
                    "client_id": app_id,
                    "redirect_uri": redirect_uri,
                    "scope": ",".join(SCOPES),
                    "response_type": "code",
                    "state": state,
                }
            )
        )
        who = account.handle or "the account to post as"
        say(
            f"Open this address in a browser, sign in to Threads as {who} and allow the app; "
            "the browser then goes to the redirect URL. "
            f"Copy the whole address it went to (or the code in it):\n  {url}"
        )
        code = _code_from(ask("Address or code", True), state)
        register_secret(code)
        short = adapter._token_call(
            "POST",
            "/oauth/access_token",
            data={
                "client_id": app_id,
                "client_secret": app_secret,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "code": code,
            },
            action="exchanging the code for a token",
            hint=f"run 'crosspost accounts login {account.name}' again; a code works once",
        )
        short_token = str(short.get("access_token") or "")
        if not short_token:
            raise PermanentError("Threads answered the code without a token")
        register_secret(short_token)
        long = adapter._token_call(
            "GET",
            "/access_token",
            params={
                "grant_type": "th_exchange_token",
                "client_secret": app_secret,
                "access_token": short_token,
            },
            action="getting a long-lived token",
            hint="check the app secret",
        )
        token = str(long.get("access_token") or "")
        if not token:
            raise PermanentError("Threads answered the exchange without a token")
        register_secret(token)
        adapter._token = token
        adapter._expires_at = time.time() + _seconds(long.get("expires_in"), 60 * 86400)
        adapter._refreshed = True  # a new token: a refusal now is final
        me = adapter._api(
            "GET", "/me", params={"fields": "id,username"}, action="checking the account"
        )
        adapter.close()
        username = str(me.get("username") or "")
        _check_identity(account.name, account.handle, username)
        say(f"Authorised as @{username}.")
        return {
            "access_token": token,
            "token_expires_at": str(int(adapter._expires_at)),
            "user_id": str(me.get("id") or short.get("user_id") or ""),
        }

    # -- publishing steps ------------------------------------------------------------------

    def _create_container(self, user: str, text: str, image: tuple[str, str] | None) -> str:
        form: dict[str, str] = {"text": text}
        if image is None:
            form["media_type"] = "TEXT"
        else:
            url, alt = image
            form.update(media_type="IMAGE", image_url=url)
            if alt:
                form["alt_text"] = alt
        data = self._api(
            "POST", f"/{user}/threads", data=form, action="creating the post's container"
        )
        container = str(data.get("id") or "")
        if not container:
            raise PermanentError("Threads answered the container request without an id")
        return container

    def _container_status(self, container: str) -> tuple[str, str]:
        data = self._api(
            "GET",
            f"/{container}",
            params={"fields": "status,error_message"},
            action="reading the container's status",
            missing_ok=True,
        )
        return str(data.get("status") or ""), str(data.get("error_message") or "")

    def _wait_until_ready(self, container: str, key: tuple[str, str, str]) -> None:
        deadline = time.monotonic() + self.processing_timeout
        while True:
            status, error = self._container_status(container)
            if status in ("FINISHED", ""):
                return
            if status in ("ERROR", "EXPIRED"):
                with _CONTAINERS_LOCK:
                    _CONTAINERS.pop(key, None)
                raise PermanentError(
                    f"Threads could not prepare the image post ({status}: {error or 'no detail'})",
                    hint="Threads fetches the image from the blog: check that its address "
                    "opens without a login and that it is a JPEG or PNG of at most 8 MB",
                )
            if status == "PUBLISHED":
                return  # publish's answer then tells
            if time.monotonic() >= deadline:
                raise _http.transient(
                    f"Threads is still preparing the image (container {status})",
                    hint="will retry with the same container",
                    maybe_sent=False,
                )
            time.sleep(self.poll_interval)

    def _published_earlier(self, pub: Publication) -> Result:
        found = self._find(self._user(), pub.text, pub.scheduled_at - LOOKUP_SLACK)
        if found is None:
            raise _http.transient(
                "an earlier attempt published this post, but it is not in the account's list yet",
                hint="crosspost asks again later",
                maybe_sent=True,
            )
        return found

    def _permalink(self, post_id: str) -> str | None:
        try:
            data = self._api(
                "GET", f"/{post_id}", params={"fields": "permalink"}, action="reading the link"
            )
        except CrosspostError as e:
            log.info("Threads post %s published; its link could not be read (%s)", post_id, e)
            return None
        link = data.get("permalink")
        return link if isinstance(link, str) and link else None

    def _find(self, user: str, text: str, start: datetime) -> Result | None:
        params: dict[str, Any] = {
            "fields": "id,text,permalink,timestamp",
            "limit": LOOKUP_PAGE,
            "since": int(start.timestamp()),
        }
        matches: list[tuple[datetime, dict[str, Any]]] = []
        for _ in range(LOOKUP_PAGES):
            data = self._api(
                "GET", f"/{user}/threads", params=params, action="looking for an earlier post"
            )
            page = [p for p in data.get("data") or [] if isinstance(p, dict)]
            older = False
            for post in page:
                when = _timestamp(post.get("timestamp"))
                if when is not None and when < start:
                    older = True
                    continue
                if same_text(text, str(post.get("text") or "")):
                    matches.append((when or start, post))
            after = ((data.get("paging") or {}).get("cursors") or {}).get("after")
            if older or not page or not after or not (data.get("paging") or {}).get("next"):
                break
            params = {**params, "after": after}
        if not matches:
            return None
        _, first = min(matches, key=lambda m: (m[0], len(str(m[1]["id"])), str(m[1]["id"])))
        link = first.get("permalink")
        return Result(remote_id=str(first["id"]), url=link if isinstance(link, str) else None)

    # -- images ------------------------------------------------------------------------------

    def _image(self, pub: Publication) -> tuple[str, str] | None:
        """The public URL and alt text of the share's image, found on the entry's page."""
        if not pub.media:
            return None
        if len(pub.media) > 1:
            log.warning(
                "Threads: %s has %d images; the first goes with the post, the rest are left out",
                pub.target,
                len(pub.media),
            )
        item = pub.media[0]
        if not pub.canonical_url:
            raise PermanentError(
                "Threads takes images only from a public address, and this share has no blog "
                "entry that shows its image",
                hint="share an entry whose blog publishes the image, or remove the image",
            )
        url = self._find_on_page(pub.canonical_url, item)
        return url, item.alt

    def _find_on_page(self, page_url: str, item: MediaItem) -> str:
        try:
            wanted = hashlib.sha256(item.path.read_bytes()).hexdigest()
        except OSError as e:
            raise PermanentError(
                f"image {item.path.name} cannot be read ({e.strerror})",
                hint="the post's media snapshot is gone; queue it again",
            ) from None
        c = self._client()
        resp = self._plain_get(c, page_url, "reading the entry page")
        if resp.status_code in (404, 410):
            raise _http.transient(
                f"the entry page {page_url} is not there (HTTP {resp.status_code}); Threads "
                "needs the image from it",
                hint="the blog may still be publishing; crosspost tries again",
                retry_after=600.0,
                maybe_sent=False,
            )
        _http.raise_for(resp, self.account.name, persona=self.persona.name)
        finder = _Images()
        finder.feed(resp.text)
        base = str(resp.url)
        candidates = list(dict.fromkeys(urljoin(base, src) for src in finder.sources))
        for src in candidates[:MAX_PAGE_IMAGES]:
            if urlsplit(src).scheme not in ("http", "https"):
                continue
            got = self._plain_get(c, src, "reading an image of the entry page")
            if (
                got.is_success
                and len(got.content) <= MAX_IMAGE_BYTES
                and hashlib.sha256(got.content).hexdigest() == wanted
            ):
                return src
        raise PermanentError(
            f"the entry page {page_url} does not show the share's image {item.path.name}; "
            "Threads fetches images from a public address, so crosspost posts an image only "
            "once the blog shows it unchanged",
            hint="publish the image with the entry (not re-encoded), or remove it from the share",
        )

    def _plain_get(self, c: httpx.Client, url: str, action: str) -> httpx.Response:
        """A public page or image: no token, redirects followed."""
        try:
            return c.get(url, follow_redirects=True, headers={"Accept": "*/*"})
        except httpx.TransportError as e:
            raise _http.from_transport_error(e, method="GET") from None

    # -- identity and token -----------------------------------------------------------------

    def _user(self) -> str:
        self._load_token()
        if not self._user_id:
            me = self._api("GET", "/me", params={"fields": "id"}, action="reading the user id")
            self._user_id = str(me.get("id") or "")
            if not self._user_id:
                raise PermanentError("Threads did not say the account's user id")
        return self._user_id

    def _load_token(self) -> str:
        if self._token is None:
            from ..logs import register_secret

            _guard_library_logs()
            target = credentials.target_name(self.account.name)
            token = credentials.load(self.persona.name, target, ("access_token",))
            service = credentials.service_name(self.persona.name, target)
            self._token = token["access_token"].strip()
            register_secret(self._token)
            self._expires_at = _float(credentials.get_secret(service, "token_expires_at"))
            self._user_id = (credentials.get_secret(service, "user_id") or "").strip() or None
            if self._expires_at is None or self._expires_at - time.time() < (
                REFRESH_BEFORE.total_seconds()
            ):
                try:
                    self._refresh()
                except CrosspostError as e:  # the token may still work: try it
                    log.info("Threads: the token of '%s' was not refreshed: %s", target, e)
        return self._token

    def _refresh(self) -> None:
        """A new long-lived token for the current one, stored in the keyring."""
        from ..logs import register_secret

        assert self._token is not None
        self._refreshed = True
        data = self._token_call(
            "GET",
            "/refresh_access_token",
            params={"grant_type": "th_refresh_token", "access_token": self._token},
            action="refreshing the access token",
            hint=_http.login_hint(self.account.name),
        )
        token = str(data.get("access_token") or "")
        if not token:
            raise PermanentError("Threads answered the refresh without a token")
        register_secret(token)
        self._token = token
        self._expires_at = time.time() + _seconds(data.get("expires_in"), 60 * 86400)
        credentials.store(
            self.persona.name,
            credentials.target_name(self.account.name),
            {"access_token": token, "token_expires_at": str(int(self._expires_at))},
        )
        log.info("Threads: refreshed the access token of '%s'", self.account.name)

    # -- HTTP --------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._client_obj is None:
            self._client_obj = self.http_client()
        return self._client_obj

    def _api(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        sent: bool = False,
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        """One Graph API request with the token; a refused token is refreshed once."""
        token = self._load_token()
        for attempt in (1, 2):
            resp = self._send(method, f"/{VERSION}{path}", params, data, token, sent)
            if resp.is_success:
                return _json(resp)
            if missing_ok and resp.status_code == 404:
                return {}
            if _auth_failure(resp) and attempt == 1 and not self._refreshed:
                try:
                    self._refresh()
                except CrosspostError as e:
                    log.info("Threads: refreshing after a refused token failed: %s", e)
                    raise self._error(resp, action, sent=sent) from None
                token = self._load_token()
                continue
            raise self._error(resp, action, sent=sent)
        raise AssertionError("unreachable")

    def _token_call(
        self,
        method: str,
        path: str,
        *,
        action: str,
        hint: str,
        params: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A request to Meta's token endpoints (no Bearer header; the token in the query)."""
        resp = self._send(method, path, params, data, None, False)
        if resp.is_success:
            return _json(resp)
        err = self._error(resp, action, sent=False)
        if isinstance(err, PermanentError):
            err.hint = hint
        raise err

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        data: dict[str, str] | None,
        token: str | None,
        sent: bool,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            return self._client().request(
                method, self.api_base + path, params=params, data=data, headers=headers
            )
        except httpx.TransportError as e:
            err = _http.from_transport_error(e, method=method)
            if isinstance(err, TransientError) and not sent:
                err.maybe_sent = False
                err.hint = None
            raise err from None

    def _error(self, resp: httpx.Response, action: str, *, sent: bool) -> CrosspostError:
        """The crosspost error for a Graph API error answer."""
        status = resp.status_code
        err = _graph_error(resp)
        code = _int(err.get("code"))
        detail = str(err.get("error_user_msg") or err.get("message") or "").strip()
        detail = _http.redact(detail or resp.reason_phrase or "no detail", self._secrets())
        what = f"Threads answered {status} while {action}: {detail}"
        if code is not None:
            what += f" (code {code})"
        if status == 429 or code in RATE_LIMIT_CODES:
            wait = _http.retry_after_from(resp.headers)
            return _http.transient(
                what,
                hint="Threads' rate limit (250 posts a day per profile through the API)",
                retry_after=wait if wait is not None else RATE_LIMIT_WAIT,
                maybe_sent=False,
            )
        if code == 9007:  # "the media is not ready for publishing": the container, not a post
            return _http.transient(what, hint="will retry", retry_after=30.0, maybe_sent=False)
        if status >= 500 or err.get("is_transient") is True:
            return _http.transient(
                what,
                hint="Threads may have published it anyway; crosspost checks before posting again"
                if sent
                else None,
                maybe_sent=sent,
            )
        if _auth_failure(resp):
            return PermanentError(
                f"Threads refused the access token of '{self.account.name}' ({detail})",
                hint=_http.login_hint(self.account.name),
            )
        if status == 403 or (code is not None and (code == 10 or 200 <= code <= 299)):
            return PermanentError(
                what,
                hint=f"{_http.login_hint(self.account.name)} and allow {', '.join(SCOPES)}",
            )
        if "LINK_LIMIT" in str(err.get("error_user_title") or "") + detail:
            return PermanentError(what, hint=f"a Threads post may have at most {MAX_LINKS} links")
        return PermanentError(what)

    def _secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._token,) if s)


# -- helpers ---------------------------------------------------------------------------------


def _check_text(text: str) -> None:
    length = threads_length(text)
    if length > LIMIT:
        raise PermanentError(
            f"the share has {length} characters as Threads counts them (emoji count their "
            f"UTF-8 bytes); Threads allows {LIMIT}",
            hint="shorten the share text, or set a shorter share template for the account",
        )
    urls = links(text)
    if len(urls) > MAX_LINKS:
        raise PermanentError(
            f"the share has {len(urls)} different links; Threads allows {MAX_LINKS} per post",
            hint="remove links from the share text",
        )


def _auth_failure(resp: httpx.Response) -> bool:
    err = _graph_error(resp)
    return resp.status_code == 401 or _int(err.get("code")) in (102, 190)


def _graph_error(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        return {}
    err = data.get("error") if isinstance(data, dict) else None
    return err if isinstance(err, dict) else {}


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        raise PermanentError(
            f"Threads answered {resp.request.method} {resp.request.url.path} with something "
            "that is not JSON"
        ) from None
    return data if isinstance(data, dict) else {}


def _code_from(answer: str, state: str) -> str:
    """The authorization code from the pasted redirect address (or the bare code)."""
    answer = answer.strip()
    if "://" in answer or answer.startswith("?") or "code=" in answer:
        query = parse_qs(urlsplit(answer).query or answer.lstrip("?"))
        returned = (query.get("state") or [""])[0] or None
        if returned is not None and returned != state:
            raise UsageError(
                "the pasted address is from another login attempt (its state differs); "
                "nothing was stored",
                hint="open the address shown above and paste where it leads",
            )
        if "error" in query:
            reason = (query.get("error_description") or query["error"])[0]
            raise UsageError(f"Threads did not authorise the app: {reason}; nothing was stored")
        answer = (query.get("code") or [""])[0]
    code = answer.split("#", 1)[0].strip()  # Meta appends "#_" to the redirect
    if not code:
        raise UsageError("no authorization code given; nothing was stored")
    return code


def _check_identity(account: str, handle: str | None, username: str) -> None:
    """The token must be the configured handle's: posting as the wrong persona is exactly what
    crosspost exists to prevent."""
    want = (handle or "").strip().lstrip("@")
    if want and want.lower() != username.lower():
        raise PermanentError(
            f"the access token of '{account}' belongs to @{username} on Threads, not @{want}",
            hint=f"{_http.login_hint(account)} and sign in as @{want}",
        )


def same_text(ours: str, theirs: str) -> bool:
    """Whether a post's text is ours: NFC, URLs removed, whitespace collapsed, equal; and each
    URL of ours in the post."""
    ours = unicodedata.normalize("NFC", ours)
    theirs = unicodedata.normalize("NFC", theirs)
    if _squash(ours) != _squash(theirs):
        return False
    return all(url in theirs for url in links(ours))


def _squash(text: str) -> str:
    return " ".join(_URL_RE.sub(" ", text).split())


def _timestamp(value: Any) -> datetime | None:
    """Meta's ``2023-10-17T05:42:03+0000``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return None


def _seconds(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) and value > 0 else default


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


_LIBRARY_LOGGERS = ("httpx", "httpcore.http11", "httpcore.connection")


def _guard_library_logs() -> None:
    """httpx logs every request's URL at INFO: the token endpoints carry a token in theirs."""
    from ..logs import REDACT

    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).addFilter(REDACT)  # a no-op when already attached


class _Images(HTMLParser):
    """``<img src>`` and ``og:image`` / ``twitter:image`` of a page, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "").strip() for k, v in attrs}
        if tag == "img" and a.get("src"):
            self.sources.append(a["src"])
        elif tag == "meta" and a.get("content"):
            prop = (a.get("property") or a.get("name") or "").lower()
            if prop in ("og:image", "og:image:url", "og:image:secure_url", "twitter:image"):
                self.sources.append(a["content"])
