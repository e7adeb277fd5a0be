"""X (formerly Twitter): share posts through API v2 with OAuth 1.0a user context (tweepy).

Credentials, in the keyring under ``crosspost/<persona>/<account>``: the app's
``consumer_key`` / ``consumer_secret`` ("API key and secret" in the developer portal; the app
needs *Read and write* permission) and the user's ``access_token`` / ``access_token_secret``,
which ``crosspost accounts login`` gets with X's PIN flow (:meth:`XAdapter.login_flow`).

Publishing is images first, then their alt text, then ``POST /2/tweets``. tweepy 4.17 has no
v2 media upload and X retired v1.1 uploads for self-serve tiers, so images go through the v2
endpoints here, signed with the same OAuth 1.0a credentials on tweepy's own session:
``POST /2/media/upload`` (multipart ``media``, ``media_category=tweet_image``, ``media_type``)
for an image up to 5 MB, the ``initialize`` / ``append`` / ``finalize`` flow for a larger one or
a GIF, and ``POST /2/media/metadata`` ``{"id", "metadata": {"alt_text": {"text"}}}`` for the
alt text (falling back to the older ``/2/media/metadata/create`` ``{"media_id", "alt_text"}``
when the first answers 404). Images are sent under a neutral name (``image-1.png``), never
the snapshot's file name.

What a failure means (``maybe_sent``: the post may exist although the call failed, so the
publisher asks :meth:`XAdapter.lookup` before posting again)::

    failure                                   error            maybe_sent     retry_after
    429 (x-rate-limit-reset; 24 h caps)       TransientError   False          until reset
    5xx to POST /2/tweets                     TransientError   True
    read time-out on POST /2/tweets           TransientError   True
    connection refused / DNS / TLS / connect  TransientError   False
    any failure while uploading media         (as above)       False          (no post yet)
    401                                       PermanentError   hint: accounts login
    403 duplicate content                     PermanentError   hint: may already be posted
    403 other (permissions, plan limits)      PermanentError   X's detail
    400 / 404 / other                         PermanentError   X's detail

A 403 *duplicate* first runs ``lookup``: when the identical post is there and was created
after the scheduled time, it is the one an earlier attempt made and ``publish`` returns it.

X has no idempotency key, so :meth:`XAdapter.lookup` reads the account's posts since one
minute before ``scheduled_at`` (``GET /2/users/me``, then ``GET /2/users/:id/tweets`` with
``start_time``, 20 per page) and matches the text: X rewrites every link to ``t.co``, escapes
``& < >`` and appends a ``t.co`` link for attached media, so both sides are compared with all
URLs removed and whitespace collapsed, and each URL of ours must be among the post's expanded
URLs (``entities.urls``) or, if X did not link it, in its text.

Timeouts: tweepy passes none to requests, so every request gets ``(connect_timeout, timeout)``
from an ``HTTPAdapter`` mounted on the client's session; ``timeout`` is ``daemon.request_timeout``
(the context's), the connect time-out the smaller of it and 10 s. The same adapter sends a
read-only request once more when X (or a proxy) dropped the kept-alive connection under it
(``_http.resend_read_once``); a post or an upload is never resent. Tests give that adapter a
``base_url``: every request for ``https://api.twitter.com`` (tweepy's fixed host) or
``https://api.x.com`` (media) is then sent to that origin instead, e.g.
``http://127.0.0.1:PORT`` (a local fake).

Secrets: tweepy and requests-oauthlib log the consumer key and access token at DEBUG
(oauthlib's request signing). The credential values are registered with
:mod:`crosspost.logs`, and its redaction filter is attached to those library loggers, so a
record never carries them whatever handler is configured. Error messages are built from the
status and X's detail only.
"""

from __future__ import annotations

import functools
import html
import logging
import mimetypes
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from .. import credentials
from ..errors import CrosspostError, PermanentError, TransientError, UsageError
from ._http import (
    USER_AGENT,
    login_hint,
    request_timeout,
    resend_reads_adapter_class,
)
from ._lookup import LOOKUP_SLACK, TRAILING, URL_RE, network_error, squash, urls_present
from .base import (
    AdapterContext,
    Ask,
    CredentialField,
    LookupUnsupported,
    MediaItem,
    PlatformAdapter,
    ProfileInfo,
    Publication,
    PublishedItem,
    ReadUnsupported,
    Result,
    Say,
)
from .specs.x import SPEC

if TYPE_CHECKING:
    import requests
    import tweepy  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

#: tweepy's hard-coded host, and the host of the v2 media endpoints
API_HOSTS = ("https://api.twitter.com", "https://api.x.com")
MEDIA_BASE = "https://api.x.com/2/media"
#: images X accepts in posts, by their first bytes
IMAGE_MAGIC = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}
MAX_IMAGES = 4
MAX_ALT = 1000
LOOKUP_PAGES = 5
_HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_PLACEHOLDER = "https://t.co/_"
#: library loggers that echo the consumer key / access token at DEBUG
_LIBRARY_LOGGERS = (
    "oauthlib.oauth1.rfc5849",
    "requests_oauthlib.oauth1_auth",
    "requests_oauthlib.oauth1_session",
    "tweepy.client",
    "tweepy.auth",
    "urllib3.connectionpool",
)


class XAdapter(PlatformAdapter):
    """Posts to one X account; see the module docstring."""

    platform: ClassVar[str] = SPEC.name
    credential_fields: ClassVar[tuple[CredentialField, ...]] = SPEC.credential_fields
    #: images up to this size use the one-request upload, larger ones (and GIFs) the chunked one
    simple_upload_max: ClassVar[int] = 5 * 1024 * 1024
    chunk_size: ClassVar[int] = 4 * 1024 * 1024

    def __init__(
        self,
        ctx: AdapterContext,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        processing_timeout: float = 120.0,
    ) -> None:
        """``base_url`` is for tests only: send every request for api.twitter.com / api.x.com
        to this origin (a local fake). ``timeout`` is the read time-out of each request
        (default: the context's ``daemon.request_timeout``), ``connect_timeout`` that of
        connecting (default: the smaller of it and 10 s), ``processing_timeout`` how long to
        wait for X to process a chunked upload."""
        if ctx.account is None:
            raise PermanentError("the X adapter needs an account", hint="this is a bug")
        super().__init__(ctx, base_url=base_url, timeout=timeout)
        self.account = ctx.account
        read = self.timeout
        self.timeouts = (connect_timeout if connect_timeout is not None else min(10.0, read), read)
        self.processing_timeout = processing_timeout
        self._client_obj: tweepy.Client | None = None
        self._auth_obj: Any = None

    # -- the Adapter protocol ---------------------------------------------------------------

    def publish(self, pub: Publication) -> Result:
        media = _check_media(pub.media)
        client = self._client()
        media_ids = self._call(
            "uploading images",
            lambda: [self._upload(item, mime, n) for n, (item, mime) in enumerate(media, 1)],
            sent=False,
        )
        tweepy = _tweepy()
        try:
            resp = client.create_tweet(
                text=pub.text,
                media_ids=media_ids or None,
                in_reply_to_tweet_id=pub.reply_to.remote_id if pub.reply_to else None,
                user_auth=True,
            )
        except Exception as e:
            if isinstance(e, tweepy.errors.Forbidden) and _is_duplicate(e):
                found = self._recover_duplicate(pub)
                if found is not None:
                    return found
            err = self._translate(e, "posting", sent=True)
            if err is None:
                raise
            raise err from None
        tweet_id = str(resp.data["id"])
        return Result(remote_id=tweet_id, url=self._post_url(tweet_id))

    def lookup(self, pub: Publication) -> Result | None:
        """The account's post with this text created since ``scheduled_at`` (minus a minute)."""
        client = self._client()
        start = pub.scheduled_at - LOOKUP_SLACK
        # X refuses a start_time in the future (a post published ahead of its schedule)
        start = min(start, datetime.now(UTC) - timedelta(seconds=30))
        tweepy = _tweepy()
        try:
            me = client.get_me(user_auth=True)
            username = me.data.username
            found: list[Any] = []
            token = None
            for _ in range(LOOKUP_PAGES):
                resp = client.get_users_tweets(
                    me.data.id,
                    max_results=20,
                    start_time=start,
                    tweet_fields=["created_at", "entities"],
                    pagination_token=token,
                    user_auth=True,
                )
                found.extend(resp.data or [])
                token = (resp.meta or {}).get("next_token")
                if not token:
                    break
        except tweepy.errors.Forbidden as e:
            raise LookupUnsupported(
                f"X does not let this app read the account's posts ({_detail(e)})"
            ) from None
        except Exception as e:
            err = self._translate(e, "looking for an earlier post", sent=True)
            if err is None:
                raise
            if isinstance(err, TransientError):
                err.maybe_sent = True  # the question is still open: ask again next time
            raise err from None
        matches = [
            t
            for t in found
            if (t.created_at is None or t.created_at >= start)
            and same_post(pub.text, t.text, _expanded_urls(t))
        ]
        if not matches:
            return None
        first = min(matches, key=lambda t: (t.created_at or start, int(t.id)))
        return Result(remote_id=str(first.id), url=self._post_url(str(first.id), username))

    def verify(self) -> str:
        client = self._client()
        try:
            me = client.get_me(user_auth=True)
        except Exception as e:
            err = self._translate(e, "checking the account", sent=False)
            if err is None:
                raise
            raise err from None
        _check_identity(self.account.name, self.account.handle, me.data.username)
        return f"X account @{me.data.username}"

    # -- reading back (the exposure audit) ---------------------------------------------------

    def history(self, limit: int = 200) -> list[PublishedItem]:
        """The account's latest posts (``GET /2/users/:id/tweets``, reposts left out, links
        expanded from ``entities``). X's lower API tiers cannot read timelines: their 403
        becomes ``ReadUnsupported``, reported as a note."""
        client = self._client()
        tweepy = _tweepy()
        items: list[PublishedItem] = []
        try:
            me = client.get_me(user_auth=True)
            username = me.data.username
            token = None
            while len(items) < limit:
                resp = client.get_users_tweets(
                    me.data.id,
                    max_results=max(5, min(100, limit - len(items))),
                    tweet_fields=["created_at", "entities"],
                    exclude=["retweets"],
                    pagination_token=token,
                    user_auth=True,
                )
                for t in resp.data or []:
                    items.append(
                        PublishedItem(
                            text=_expanded_text(t.text, _expanded_urls(t)),
                            url=self._post_url(str(t.id), username),
                            published_at=t.created_at,
                            remote_id=str(t.id),
                        )
                    )
                token = (resp.meta or {}).get("next_token")
                if not token or not resp.data:
                    break
        except tweepy.errors.Forbidden as e:
            raise ReadUnsupported(
                f"X does not let this app read the account's posts ({_detail(e)}); "
                "reading timelines needs a paid API tier"
            ) from None
        except Exception as e:
            err = self._translate(e, "reading the account's posts", sent=False)
            if err is None:
                raise
            raise err from None
        return items[:limit]

    def profile(self) -> ProfileInfo:
        """Name, bio, location and website of the account (``GET /2/users/me``), links
        expanded from ``entities``."""
        client = self._client()
        try:
            me = client.get_me(
                user_auth=True, user_fields=["description", "location", "url", "entities"]
            )
        except Exception as e:
            err = self._translate(e, "reading the profile", sent=False)
            if err is None:
                raise
            raise err from None
        user = me.data
        entities = getattr(user, "entities", None) or {}

        def expanded(part: str, text: str) -> str:
            urls = (entities.get(part) or {}).get("urls") or []
            return _expanded_text(text, [str(u.get("expanded_url") or "") for u in urls])

        fields = (
            ("display name", str(user.name or "")),
            ("bio", expanded("description", str(getattr(user, "description", "") or ""))),
            ("location", str(getattr(user, "location", "") or "")),
            ("website", expanded("url", str(getattr(user, "url", "") or ""))),
        )
        return ProfileInfo(
            url=f"https://x.com/{user.username}",
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
        """X's PIN-based OAuth 1.0a flow; returns the four credential values to store.

        Asks for the app's API key and secret, shows the authorisation address, asks for the
        PIN X shows after the user authorises the app, exchanges it for the access token, and
        checks the account is the one configured (``handle``) before anything is stored.
        ``base_url`` is for tests, as in the constructor.
        """
        from ..logs import register_secret

        account = ctx.account
        if account is None:
            raise UsageError("logging in to X needs an account")
        _guard_library_logs()
        tweepy = _tweepy()
        say(
            f"Logging in '{account.name}' ({account.handle or 'X'}). You need an app in the X "
            "developer portal (developer.x.com) with 'Read and write' permission; its "
            "'API key and secret' are under Keys and tokens."
        )
        fields = {f.name: f for f in cls.credential_fields}
        values: dict[str, str] = {}
        for name in ("consumer_key", "consumer_secret"):
            value = ask(fields[name].prompt, fields[name].secret).strip()
            if not value:
                raise UsageError(f"no {fields[name].prompt} given; nothing was stored")
            register_secret(value)
            values[name] = value

        read = request_timeout(timeout, ctx.timeout)
        mount = functools.partial(
            _mount,
            timeouts=(min(10.0, read), read),
            base_url=base_url,
            proxy=ctx.proxy,
            user_agent=ctx.user_agent or USER_AGENT,
        )
        handler = _pin_handler(tweepy, values["consumer_key"], values["consumer_secret"], mount)
        try:
            url = handler.get_authorization_url()
        except Exception as e:  # noqa: BLE001 - tweepy wraps every failure in TweepyException
            raise PermanentError(
                f"X did not give a request token ({_login_error(e)})",
                hint="check the API key and secret (Keys and tokens in the developer portal)",
            ) from None
        say(
            "Open this address in a browser, sign in to X as "
            f"{account.handle or 'the account to post as'}, authorise the app, and copy the "
            f"PIN it shows:\n  {url}"
        )
        pin = ask("PIN", False).strip()
        if not pin:
            raise UsageError("no PIN given; nothing was stored")
        try:
            access_token, access_secret = handler.get_access_token(pin)
        except Exception as e:  # noqa: BLE001
            raise PermanentError(
                f"X did not accept the PIN ({_login_error(e)})",
                hint=f"run 'crosspost accounts login {account.name}' again; a PIN works once",
            ) from None
        register_secret(access_token)
        register_secret(access_secret)
        values["access_token"] = access_token
        values["access_token_secret"] = access_secret

        client = tweepy.Client(**values)
        client.user_agent = ctx.user_agent or USER_AGENT
        mount(client.session)
        try:
            me = client.get_me(user_auth=True)
        except Exception as e:  # noqa: BLE001
            raise PermanentError(
                f"X gave a token but would not say whose it is ({_login_error(e)})",
                hint="try again in a few minutes",
            ) from None
        _check_identity(account.name, account.handle, me.data.username)
        say(f"Authorised as @{me.data.username}.")
        return values

    # -- internals ---------------------------------------------------------------------------

    def _client(self) -> tweepy.Client:
        if self._client_obj is None:
            tweepy = _tweepy()
            _guard_library_logs()
            names = tuple(f.name for f in self.credential_fields)
            creds = credentials.load(self.ctx.persona.name, self.account.name, names)
            client = tweepy.Client(**creds)
            client.user_agent = self.user_agent  # tweepy sends it with every request
            _mount(
                client.session,
                timeouts=self.timeouts,
                base_url=self.base_url,
                proxy=self.proxy,
                user_agent=self.user_agent,
            )
            self._auth_obj = tweepy.OAuth1UserHandler(
                creds["consumer_key"],
                creds["consumer_secret"],
                creds["access_token"],
                creds["access_token_secret"],
            ).apply_auth()
            self._client_obj = client
        return self._client_obj

    def _call(self, action: str, fn: Callable[[], Any], *, sent: bool) -> Any:
        try:
            return fn()
        except Exception as e:
            err = self._translate(e, action, sent=sent)
            if err is None:
                raise
            raise err from None

    def _translate(self, e: Exception, action: str, *, sent: bool) -> CrosspostError | None:
        """The crosspost error for a tweepy/requests failure, or None (re-raise it)."""
        import requests

        tweepy = _tweepy()
        te = tweepy.errors
        if isinstance(e, CrosspostError):
            return e
        if isinstance(e, te.HTTPException):
            status = e.response.status_code
            what = f"X answered {status} {e.response.reason or ''}".rstrip()
            detail = _detail(e)
            if isinstance(e, te.TooManyRequests):
                wait = _retry_after(e)
                when = f"; the limit resets in {_duration(wait)}" if wait is not None else ""
                return TransientError(
                    f"{what} while {action}: {detail}{when}",
                    hint="X's rate limit or daily post cap (17 posts a day on the free tier)",
                    retry_after=wait,
                    maybe_sent=False,
                )
            if isinstance(e, te.TwitterServerError):
                return TransientError(
                    f"{what} while {action}: {detail}",
                    hint="X may have created the post anyway; crosspost checks before posting again"
                    if sent
                    else None,
                    maybe_sent=sent,
                )
            if isinstance(e, te.Unauthorized):
                return PermanentError(
                    f"X rejected the credentials of '{self.account.name}' ({status}: {detail})",
                    hint=login_hint(self.account.name),
                )
            if isinstance(e, te.Forbidden):
                if _is_duplicate(e):
                    return PermanentError(
                        "X refused the post as a duplicate: the account already has a post "
                        "with exactly this text",
                        hint="it may already be posted (by an earlier attempt or by hand): "
                        "check the profile; to post it again, change the text",
                    )
                return PermanentError(
                    f"X refused {action} ({status}): {detail}",
                    hint=_forbidden_hint(detail, self.account.name),
                )
            return PermanentError(f"X refused {action} ({status}): {detail}")
        if isinstance(e, requests.RequestException):
            return network_error(e, "X", action, sent=sent)
        if isinstance(e, te.TweepyException):
            return PermanentError(f"X: {action} failed ({e})")
        return None

    def _recover_duplicate(self, pub: Publication) -> Result | None:
        """X says the text is a duplicate: if our earlier attempt made it, that is the post."""
        try:
            found = self.lookup(pub)
        except (CrosspostError, LookupUnsupported) as e:
            log.info("X reported a duplicate; could not look for it: %s", e)
            return None
        if found is not None:
            log.info("X reported a duplicate: post %s is the earlier attempt's", found.remote_id)
        return found

    def _post_url(self, tweet_id: str, username: str | None = None) -> str:
        name = username or (self.account.handle or "").strip().lstrip("@")
        if name and _HANDLE_RE.match(name):
            return f"https://x.com/{name}/status/{tweet_id}"
        return f"https://x.com/i/web/status/{tweet_id}"

    # media --------------------------------------------------------------------------------

    def _upload(self, item: MediaItem, mime: str, n: int) -> str:
        try:
            data = item.path.read_bytes()
        except OSError as e:
            raise PermanentError(
                f"cannot read image {n} ({e.strerror})",
                hint="the post's media snapshot is gone; queue the post again",
            ) from None
        name = f"image-{n}{EXTENSIONS.get(mime, '')}"
        if mime == "image/gif" or len(data) > self.simple_upload_max:
            media_id = self._upload_chunked(data, mime, name)
        else:
            body = self._media(
                "POST",
                "/upload",
                files={"media": (name, data, mime)},
                data={"media_category": "tweet_image", "media_type": mime},
            )
            media_id = str(body["data"]["id"])
        if item.alt:
            self._set_alt(media_id, item.alt)
        return media_id

    def _upload_chunked(self, data: bytes, mime: str, name: str) -> str:
        category = "tweet_gif" if mime == "image/gif" else "tweet_image"
        init = self._media(
            "POST",
            "/upload/initialize",
            json={"media_type": mime, "total_bytes": len(data), "media_category": category},
        )
        media_id = str(init["data"]["id"])
        for index, start in enumerate(range(0, len(data), self.chunk_size)):
            self._media(
                "POST",
                f"/upload/{media_id}/append",
                files={
                    "media": (
                        name,
                        data[start : start + self.chunk_size],
                        "application/octet-stream",
                    )
                },
                data={"segment_index": str(index)},
            )
        done = self._media("POST", f"/upload/{media_id}/finalize")
        info = (done.get("data") or {}).get("processing_info")
        deadline = time.monotonic() + self.processing_timeout
        while info and info.get("state") in ("pending", "in_progress"):
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"X is still processing {name}", hint="will retry", maybe_sent=False
                )
            time.sleep(min(max(float(info.get("check_after_secs", 1)), 0.0), 10.0))
            status = self._media(
                "GET", "/upload", params={"command": "STATUS", "media_id": media_id}
            )
            info = (status.get("data") or {}).get("processing_info")
        if info and info.get("state") == "failed":
            error = info.get("error") or {}
            raise PermanentError(
                f"X could not process {name}: {error.get('message') or error or 'failed'}",
                hint="check the image opens, or post without it",
            )
        return media_id

    def _set_alt(self, media_id: str, alt: str) -> None:
        tweepy = _tweepy()
        try:
            self._media(
                "POST", "/metadata", json={"id": media_id, "metadata": {"alt_text": {"text": alt}}}
            )
        except tweepy.errors.NotFound:
            self._media(
                "POST", "/metadata/create", json={"media_id": media_id, "alt_text": {"text": alt}}
            )

    def _media(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One signed request to the v2 media API; an error status raises tweepy's error."""
        client = self._client()
        resp = client.session.request(
            method,
            MEDIA_BASE + path,
            auth=self._auth_obj,
            headers={"User-Agent": client.user_agent},
            **kwargs,
        )
        with resp:
            _raise_for_status(resp)
            if not resp.content:
                return {}
            body = resp.json()
        return body if isinstance(body, dict) else {}


# -- helpers ---------------------------------------------------------------------------------


def _tweepy() -> Any:
    try:
        import tweepy
    except ImportError:
        raise PermanentError(
            "the X adapter needs the 'tweepy' package, which is not installed",
            hint="pip install 'tweepy>=4.17,<5' into crosspost's environment",
        ) from None
    return tweepy


class _MaskTokenResponse(logging.Filter):
    """requests-oauthlib logs the token endpoints' answers (``oauth_token=…&
    oauth_token_secret=…``) before crosspost has seen, let alone registered, the values."""

    #: ``oauth_token=…`` in a body, and ``'oauth_token': '…'`` in the parsed dict
    _PARAM = re.compile(
        r"(oauth_token_secret|oauth_token|oauth_verifier)(['\"]?\s*[:=]\s*['\"]?)"
        r"([^&'\"\s,}]+)"
    )

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = self._PARAM.sub(r"\1\2***", msg)
        if masked != msg:
            record.msg, record.args = masked, ()
        return True


_MASK_TOKEN_RESPONSE = _MaskTokenResponse()


def _guard_library_logs() -> None:
    """Attach crosspost's redaction filter to the loggers that echo credentials at DEBUG."""
    from ..logs import REDACT

    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).addFilter(REDACT)  # a no-op when already attached
    logging.getLogger("requests_oauthlib.oauth1_session").addFilter(_MASK_TOKEN_RESPONSE)


@functools.cache
def _transport_class() -> type:
    from requests import PreparedRequest, Response

    class _Transport(resend_reads_adapter_class()):  # type: ignore[misc]
        """Gives every request a time-out and the account's proxy, and resends a read-only one
        once on a dropped connection; in tests, sends X's hosts to a local origin."""

        def __init__(
            self, timeouts: tuple[float, float], base_url: str | None, proxy: str | None
        ) -> None:
            super().__init__(proxy=proxy)
            self.timeouts = timeouts
            self.base_url = base_url

        def send(
            self,
            request: PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float | None, float | None] | None = None,
            verify: bool | str = True,
            cert: str | tuple[str, str] | None = None,
            proxies: dict[str, str] | None = None,
        ) -> Response:
            if timeout is None:
                timeout = self.timeouts
            url = request.url or ""
            if self.base_url:
                for host in API_HOSTS:
                    if url.startswith(host + "/"):
                        request.url = self.base_url + url[len(host) :]
                        break
                proxies = {}
            return super().send(request, stream, timeout, verify, cert, proxies)

    return _Transport


def _mount(
    session: requests.Session,
    *,
    timeouts: tuple[float, float],
    base_url: str | None,
    proxy: str | None,
    user_agent: str,
) -> None:
    """crosspost's transport on X's hosts, and the account's User-Agent on the session (the
    OAuth sessions of the login send no User-Agent of their own)."""
    transport = _transport_class()(timeouts, base_url.rstrip("/") if base_url else None, proxy)
    for host in API_HOSTS:
        session.mount(host + "/", transport)
    session.headers["User-Agent"] = user_agent


def _pin_handler(tweepy: Any, key: str, secret: str, mount: Callable[[Any], None]) -> Any:
    """tweepy's OAuth1UserHandler whose every session (it makes a new one for the access
    token) gets crosspost's transport: time-outs, User-Agent, proxy, and the test origin."""

    class _Handler(tweepy.OAuth1UserHandler):
        @property
        def oauth(self) -> Any:
            return self._oauth

        @oauth.setter
        def oauth(self, session: Any) -> None:
            mount(session)
            self._oauth = session

    return _Handler(key, secret, callback="oob")


def _raise_for_status(resp: requests.Response) -> None:
    """The same errors tweepy raises for its own requests."""
    te = _tweepy().errors
    status = resp.status_code
    if 200 <= status < 300:
        return
    if status == 400:
        raise te.BadRequest(resp)
    if status == 401:
        raise te.Unauthorized(resp)
    if status == 403:
        raise te.Forbidden(resp)
    if status == 404:
        raise te.NotFound(resp)
    if status == 429:
        reset = resp.headers.get("x-rate-limit-reset")
        raise te.TooManyRequests(resp, reset_time=int(reset) if reset and reset.isdigit() else None)
    if status >= 500:
        raise te.TwitterServerError(resp)
    raise te.HTTPException(resp)


def _check_media(media: Iterable[MediaItem]) -> list[tuple[MediaItem, str]]:
    """Reject what X would refuse before anything is uploaded."""
    items = list(media)
    if len(items) > MAX_IMAGES:
        raise PermanentError(
            f"X takes at most {MAX_IMAGES} images per post; this one has {len(items)}",
            hint="remove images from the entry, or leave them to the blog",
        )
    out = []
    for n, item in enumerate(items, 1):
        mime = _sniff(item)
        if mime not in EXTENSIONS:
            raise PermanentError(
                f"image {n} is not a JPEG, PNG, GIF or WEBP image, which is all X takes here",
                hint="convert it, or remove it from the entry",
            )
        if len(item.alt) > MAX_ALT:
            raise PermanentError(
                f"the alt text of image {n} has {len(item.alt)} characters; X allows {MAX_ALT}",
                hint="shorten it",
            )
        out.append((item, mime))
    if len(out) > 1 and any(mime == "image/gif" for _, mime in out):
        raise PermanentError(
            "X takes one GIF alone, not a GIF together with other images",
            hint="keep the GIF or the other images",
        )
    return out


def _sniff(item: MediaItem) -> str | None:
    try:
        with item.path.open("rb") as f:
            head = f.read(12)
    except OSError:
        return mimetypes.guess_type(item.path.name)[0]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in IMAGE_MAGIC.items():
        if head.startswith(magic):
            return mime
    return mimetypes.guess_type(item.path.name)[0]


def _detail(e: Any) -> str:
    messages = [str(m) for m in getattr(e, "api_messages", []) if m]
    if messages:
        return "; ".join(messages)
    lines = str(e).splitlines()
    return lines[-1] if lines else type(e).__name__


def _is_duplicate(e: Any) -> bool:
    text = " ".join(str(m) for m in getattr(e, "api_messages", [])).lower()
    return "duplicate" in text or 187 in getattr(e, "api_codes", [])


def _forbidden_hint(detail: str, account: str) -> str:
    low = detail.lower()
    if "oauth1 app permissions" in low or "permission" in low:
        return (
            "give the app 'Read and write' permission in the developer portal, then "
            f"{login_hint(account)} to get a token with that permission"
        )
    return "check the app's access level and your X API plan's limits in the developer portal"


def _retry_after(e: Any) -> float | None:
    """Seconds until the binding limit resets: the 15-minute window, or a 24-hour cap."""
    headers = e.response.headers
    resets: list[float] = []
    reset = getattr(e, "reset_time", None)
    if reset is None:
        value = headers.get("x-rate-limit-reset", "")
        reset = int(value) if value.isdigit() else None
    if reset is not None:
        resets.append(float(reset))
    for scope in ("user", "app"):
        if headers.get(f"x-{scope}-limit-24hour-remaining", "").strip() == "0":
            value = headers.get(f"x-{scope}-limit-24hour-reset", "").strip()
            if value.isdigit():
                resets.append(float(value))
    if not resets:
        return None
    return max(0.0, max(resets) - time.time())


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _login_error(e: Exception) -> str:
    inner = e.args[0] if e.args and isinstance(e.args[0], Exception) else e
    text = " ".join(str(inner).split())
    return f"{type(inner).__name__}: {text[:300]}" if text else type(inner).__name__


def _check_identity(account: str, handle: str | None, username: str) -> None:
    """The credentials must belong to the configured handle: posting as the wrong persona is
    exactly what crosspost exists to prevent."""
    want = (handle or "").strip().lstrip("@")
    if want and want.lower() != username.lower():
        raise PermanentError(
            f"the credentials of '{account}' belong to @{username}, not @{want}",
            hint=f"{login_hint(account)} and authorise as @{want} (sign out of X in the "
            "browser first, or use a private window)",
        )


# -- matching a post to our text ------------------------------------------------------------


def _expanded_urls(tweet: Any) -> list[str]:
    entities = getattr(tweet, "entities", None) or {}
    urls = entities.get("urls") or []
    return [u.get("expanded_url") or u.get("url") or "" for u in urls if isinstance(u, dict)]


def _expanded_text(text: str, expanded_urls: Iterable[str]) -> str:
    """A post's text as readers see it: X's ``t.co`` links followed by where they lead."""
    text = html.unescape(text)
    extra = [u for u in expanded_urls if u and u not in text]
    return "\n".join([text, *extra]) if extra else text


def same_post(ours: str, theirs: str, expanded_urls: Iterable[str] = ()) -> bool:
    """Whether ``theirs`` (a post's text as X returns it) is the post of ``ours``.

    X replaces each link (also a bare ``example.com``) with a ``t.co`` link, escapes
    ``& < >`` and appends a ``t.co`` link for media, so the texts are compared with every
    URL removed and whitespace collapsed; each link of ours must then be among the post's
    expanded URLs, or, when X did not make it a link, in its text.
    """
    from twitter_text import extract_urls_with_indices

    ours = unicodedata.normalize("NFC", ours)
    theirs = unicodedata.normalize("NFC", html.unescape(theirs))
    links = extract_urls_with_indices(ours)
    marked = ours
    for link in reversed(links):
        start, end = link["indices"]
        marked = marked[:start] + _PLACEHOLDER + marked[end:]
    if squash(marked) != squash(theirs):
        return False
    # X's links, then URLs X does not link (no known top-level domain): those stay as text
    urls = [link["url"] for link in links]
    bare = (m.group(0).rstrip(TRAILING) for m in URL_RE.finditer(marked))
    urls += [u for u in bare if u != _PLACEHOLDER]
    return urls_present(urls, expanded_urls, theirs)
