"""What an HTTP failure means for a delivery, shared by the HTTP adapters.

Two questions matter to the publisher: may a retry help (``TransientError``) or not
(``PermanentError``), and — for a transient failure — may the platform have created the post
anyway (``maybe_sent``)? A ``maybe_sent`` failure leaves the delivery ``unknown``: the
publisher asks ``lookup`` before it posts again, instead of risking a duplicate::

    failure                                   error            maybe_sent  retry_after
    connect error / connect timeout / pool    TransientError   False
    read timeout, write error, dropped reply  TransientError   True
    5xx to a POST/PUT/PATCH/DELETE            TransientError   True
    5xx to a GET/HEAD                         TransientError   False
    408                                       TransientError   False
    429                                       TransientError   False       Retry-After or *-reset
    401 / 403                                 PermanentError   -           hint: accounts login
    400 / 404 / 409 / 410 / 413 / 422 / ...   PermanentError   -           the server's message
    3xx (not followed for writes)             PermanentError   -           hint: the new address

``maybe_sent`` is ``errors.TransientError.maybe_sent``. Adapters that make several requests
per publish (terms, media, then the post) clear it (``not_sent``) for failures of the requests
before the one that creates the post.

Time-outs: every adapter waits ``daemon.request_timeout`` (``AdapterContext.timeout``, see
``request_timeout``) for each answer, whatever library it speaks through.

Dropped keep-alive connections: some servers (snac, proxies with a short idle time-out) close
an idle keep-alive connection without saying so, and the next request sent on it fails before
any answer. A read-only request (GET/HEAD/OPTIONS) is then sent once more, on a new
connection, by the client every adapter's HTTP goes through (``ResendReadsClient`` for httpx,
``resend_reads_adapter_class`` for requests, the Bluesky adapter's request class for atproto,
all built on ``resend_read_once``). Anything else, a status post or an upload above all, is
never sent again on its own: the failure becomes a ``maybe_sent`` ``TransientError`` and the
publisher asks ``lookup`` first.

Nothing here puts a token or password into a message: the messages are built from the status,
the server's error text (with any known secret redacted) and the request's method and path.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import httpx

from ..errors import PermanentError, TransientError
from .spec import DEFAULT_USER_AGENT

log = logging.getLogger(__name__)

#: connect 10 s, read/write/pool 30 s
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: seconds to wait for an answer when ``daemon.request_timeout`` was not passed on
DEFAULT_TIMEOUT = 30.0

T = TypeVar("T")


#: crosspost's own User-Agent; each adapter sends its context's (``user_agent`` settings)
USER_AGENT = DEFAULT_USER_AGENT
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: a reset header larger than this is an epoch timestamp, smaller a number of seconds
_EPOCH_THRESHOLD = 1_000_000_000


def login_hint(target: str, persona: str | None = None) -> str:
    """What to run to store new credentials (a blog is named with its persona)."""
    if target == "blog" and persona:
        return f"run 'crosspost accounts login blog --persona {persona}'"
    return f"run 'crosspost accounts login {target}'"


def transient(
    message: str,
    *,
    hint: str | None = None,
    retry_after: float | None = None,
    maybe_sent: bool,
) -> TransientError:
    return TransientError(message, hint=hint, retry_after=retry_after, maybe_sent=maybe_sent)


def not_sent(err: TransientError) -> TransientError:
    """Mark a transient failure of a preparatory request: the post itself was not sent."""
    err.maybe_sent = False
    return err


def request_timeout(given: float | None, ctx_timeout: float | None) -> float:
    """Seconds an adapter waits for each answer: its own argument (tests), else the context's
    ``daemon.request_timeout``, else the default."""
    if given is not None:
        return given
    return ctx_timeout if ctx_timeout is not None else DEFAULT_TIMEOUT


def client(
    *,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | float | None = None,
    transport: httpx.BaseTransport | None = None,
    proxy: str | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` with crosspost's timeouts and User-Agent; redirects not followed;
    read-only requests resent once on a dropped connection (``ResendReadsClient``).
    ``proxy``: every request through it (None: the environment's proxy settings)."""
    hdrs = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    hdrs.update(headers or {})
    if timeout is None:
        timeout = TIMEOUT
    elif not isinstance(timeout, httpx.Timeout):
        timeout = httpx.Timeout(timeout)
    return ResendReadsClient(
        auth=auth,
        headers=hdrs,
        timeout=timeout,
        transport=transport,
        proxy=proxy,
        follow_redirects=False,
        verify=_ssl_context(),
    )


# -- dropped keep-alive connections ---------------------------------------------------------


def connection_dropped(exc: BaseException) -> bool:
    """Whether a request failed because the server closed the connection under it (a reset, or
    a hang-up before the answer), as opposed to a time-out or a connect failure.

    Follows the wrapping of each library: requests' ``ConnectionError`` around urllib3's
    ``ProtocolError('Connection aborted.', RemoteDisconnected(...))``, httpx's ``ReadError``
    raised from ``ConnectionResetError``, Mastodon.py's and atproto's own wrappers.
    """
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        e = pending.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, TimeoutError | httpx.TimeoutException):
            return False  # a slow server: sending again would only double the wait
        if isinstance(e, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
            return True  # http.client's RemoteDisconnected is a ConnectionResetError
        if isinstance(e, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return True  # the same over TLS
        if isinstance(e, httpx.RemoteProtocolError) and "disconnected" in str(e).lower():
            return True
        if _aborted_by_server(e):
            return True
        pending.extend(a for a in e.args if isinstance(a, BaseException))
        pending.extend(x for x in (e.__cause__, e.__context__) if x is not None)
        reason = getattr(e, "reason", None)  # urllib3's MaxRetryError
        if isinstance(reason, BaseException):
            pending.append(reason)
    return False


def _aborted_by_server(e: BaseException) -> bool:
    """urllib3's ``ProtocolError('Connection aborted.')`` without a cause to look into."""
    import sys

    exceptions = sys.modules.get("urllib3.exceptions")  # not loaded: not an urllib3 error
    if exceptions is None or not isinstance(e, exceptions.ProtocolError):
        return False
    return bool(e.args) and e.args[0] == "Connection aborted." and len(e.args) == 1


def resend_read_once(method: str, send: Callable[[], T], *, where: str = "") -> T:
    """``send()``, and once more if a read-only request found its connection dropped.

    Never for other methods: a POST that met a dropped connection may still have been carried
    out (the server can close after acting), so only ``lookup`` may find out.
    """
    try:
        return send()
    except Exception as e:
        if method.upper() not in SAFE_METHODS or not connection_dropped(e):
            raise
        log.info("%s %s: connection dropped (%s); sending again", method, where, type(e).__name__)
    return send()


class ResendReadsClient(httpx.Client):
    """An ``httpx.Client`` that sends a read-only request once more on a dropped connection.

    The hook is ``send`` (every request of the client passes through it), not the transport:
    a client given a transport of its own no longer reads proxies from the environment.
    """

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        send = super().send
        where = f"{request.url.host}{request.url.path}"
        return resend_read_once(request.method, lambda: send(request, **kwargs), where=where)


def requests_proxies(proxy: str | None) -> dict[str, str] | None:
    """The ``proxies`` of requests for a configured proxy (None: none configured)."""
    return {"http": proxy, "https": proxy} if proxy else None


@functools.cache
def resend_reads_adapter_class() -> type:
    """A ``requests`` ``HTTPAdapter`` that resends a read-only request once on a dropped
    connection (for tweepy's and Mastodon.py's sessions; mount it on ``http://``/``https://``).

    Built with ``proxy``, it sends every request through that proxy. The proxy is set here, at
    the last step, because requests lets ``HTTPS_PROXY`` from the environment win over a
    session's ``proxies`` and ``NO_PROXY`` skip them: a persona's proxy must hold for every
    request of it."""
    from requests.adapters import HTTPAdapter

    class ResendReadsAdapter(HTTPAdapter):
        def __init__(self, *args: Any, proxy: str | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.fixed_proxies = requests_proxies(proxy)

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            if self.fixed_proxies is not None:
                if len(args) >= 5:  # (stream, timeout, verify, cert, proxies)
                    args = (*args[:4], self.fixed_proxies, *args[5:])
                else:
                    kwargs["proxies"] = self.fixed_proxies
            where = (request.url or "").split("?", 1)[0]
            return resend_read_once(
                request.method or "GET",
                lambda: HTTPAdapter.send(self, request, *args, **kwargs),
                where=where,
            )

    return ResendReadsAdapter


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client (building one costs ~40 ms)."""
    return httpx.create_ssl_context()


def request(
    c: httpx.Client,
    method: str,
    url: str | httpx.URL,
    *,
    target: str,
    persona: str | None = None,
    secrets: Iterable[str] = (),
    auth_hint: str | None = None,
    hints: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; transport failures and error statuses become crosspost errors."""
    try:
        resp = c.request(method, url, **kwargs)
    except httpx.TransportError as e:
        raise from_transport_error(e, method=method) from None
    raise_for(resp, target, persona=persona, secrets=secrets, auth_hint=auth_hint, hints=hints)
    return resp


def raise_for(
    resp: httpx.Response,
    target: str,
    *,
    persona: str | None = None,
    secrets: Iterable[str] = (),
    auth_hint: str | None = None,
    hints: Mapping[str, str] | None = None,
) -> None:
    """Raise the crosspost error for an unsuccessful response; return for a 2xx.

    ``target`` names the account ("blog" for a blog, with ``persona``) in the login hint of a
    401/403.
    ``hints`` maps a platform error code (WordPress ``code``, OAuth ``error``) or a status
    (as a string, e.g. ``"404"``) to a hint that says what the user can do.
    """
    if resp.is_success:
        return
    status = resp.status_code
    try:
        method = resp.request.method
    except RuntimeError:
        method = "GET"
    code, detail = error_detail(resp, secrets)
    what = f"{method} {_path(resp)}: HTTP {status}"
    message = f"{what}: {detail}" if detail else what
    hint = (hints or {}).get(code or "") or (hints or {}).get(str(status))

    if status == 429:
        retry_after = retry_after_from(resp.headers)
        raise transient(
            message, hint=hint or "rate limited", retry_after=retry_after, maybe_sent=False
        )
    if status == 408:
        raise transient(message, hint=hint, maybe_sent=False)
    if status >= 500:
        raise transient(
            message,
            hint=hint,
            retry_after=retry_after_from(resp.headers),
            maybe_sent=method.upper() not in SAFE_METHODS,
        )
    if status in (401, 403):
        login = login_hint(target, persona)
        if auth_hint:
            login = f"{login}; {auth_hint}"
        raise PermanentError(message, hint=f"{hint}; {login}" if hint else login)
    if 300 <= status < 400:
        location = resp.headers.get("location", "")
        raise PermanentError(
            f"{what}: redirected to {redact(location, secrets)}",
            hint=hint or "use the address it redirects to (e.g. https://) in the profile",
        )
    raise PermanentError(message, hint=hint)


def error_detail(resp: httpx.Response, secrets: Iterable[str] = ()) -> tuple[str | None, str]:
    """The platform's error code and message, from JSON if it has one, else the text."""
    code: str | None = None
    detail = ""
    try:
        data = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        data = None
    if isinstance(data, dict):
        # WordPress: {code, message, data}; OAuth/Micropub: {error, error_description};
        # Mastodon: {error}; others: {detail} / {error: {message}}
        err = data.get("error")
        if isinstance(err, dict):
            code = _str(err.get("code") or err.get("type"))
            detail = _str(err.get("message")) or ""
        else:
            code = _str(data.get("code")) or _str(err)
            parts = [
                _str(data.get("message")),
                _str(data.get("error_description")),
                _str(data.get("detail")),
            ]
            detail = "; ".join(p for p in parts if p) or (_str(err) or "")
        if code and code not in detail:
            detail = f"{detail} ({code})" if detail else code
    else:
        text = resp.text.strip() if resp.content else ""
        if text and "html" not in resp.headers.get("content-type", "").lower():
            detail = " ".join(text.split())[:300]
        elif resp.reason_phrase:
            detail = resp.reason_phrase
    return code, redact(detail, secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "[redacted]")
    return text


def from_transport_error(
    exc: httpx.TransportError, *, method: str | None = None
) -> TransientError | PermanentError:
    """The crosspost error for a request that got no response (returned, not raised)."""
    if method is None:
        try:
            method = exc.request.method
        except RuntimeError:
            method = "POST"
    try:
        where = f"{exc.request.method} {exc.request.url.host}{exc.request.url.path}"
    except RuntimeError:
        where = method
    kind = type(exc).__name__
    text = str(exc) or kind
    if isinstance(exc, httpx.UnsupportedProtocol):
        return PermanentError(
            f"{where}: {text}", hint="the address in the profile must start with https://"
        )
    if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in text:
        return PermanentError(
            f"{where}: the server's TLS certificate is not valid ({text})",
            hint="fix the site's certificate or check the address in the profile",
        )
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return transient(
            f"{where}: could not connect ({kind}: {text})",
            hint="the server is unreachable; will retry",
            maybe_sent=False,
        )
    if isinstance(exc, httpx.ProxyError):
        return transient(f"{where}: proxy error ({text})", maybe_sent=False)
    # ReadTimeout, WriteTimeout, ReadError, WriteError, RemoteProtocolError: the request (or
    # part of it) went out and no answer came back, so a write may have been applied.
    maybe = method.upper() not in SAFE_METHODS
    return transient(
        f"{where}: no response ({kind}: {text})",
        hint="the server may have accepted it; check before posting again" if maybe else None,
        maybe_sent=maybe,
    )


def retry_after_from(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from ``Retry-After`` (seconds or HTTP date) or a rate-limit reset.

    ``x-ratelimit-reset`` / ``ratelimit-reset`` / ``x-rate-limit-reset`` are either an epoch
    timestamp (X, Bluesky, Mastodon's ISO date) or a number of seconds (IETF draft).
    """
    now = time.time() if now is None else now
    lower = {k.lower(): v for k, v in headers.items()}
    value = lower.get("retry-after")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - now)
    for name in ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"):
        value = lower.get(name)
        if not value:
            continue
        value = value.strip()
        n: float | None
        try:
            n = float(value)
        except ValueError:
            n = _iso_epoch(value)
        if n is None:
            continue
        return max(0.0, n - now) if n >= _EPOCH_THRESHOLD else max(0.0, n)
    return None


def requests_never_sent(e: BaseException) -> bool:
    """For adapters on ``requests`` (tweepy, Mastodon.py): did the failure happen before the
    request left (connect error or time-out, DNS, TLS, proxy)?"""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    ex = requests.exceptions
    if isinstance(e, ex.ConnectTimeout | ex.SSLError | ex.ProxyError | ex.InvalidURL):
        return True
    if isinstance(e, ex.ConnectionError):
        reason = e.args[0] if e.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    return False


def _iso_epoch(value: str) -> float | None:
    from datetime import datetime

    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.timestamp() if dt.tzinfo is not None else None


def _path(resp: httpx.Response) -> str:
    try:
        url = resp.request.url
    except RuntimeError:
        return ""
    route = url.params.get("rest_route")
    return f"{url.path}?rest_route={route}" if route else url.path


def _str(v: object) -> str | None:
    return v if isinstance(v, str) and v else None


@functools.cache
def steady_session_class() -> type:
    """A ``requests.Session`` that reads the environment's proxy and CA-bundle settings once
    per host instead of on every request.

    requests walks ``os.environ`` several times per request (``*_proxy``, ``no_proxy``,
    ``REQUESTS_CA_BUNDLE``), which in the daemon costs more CPU than building the request
    itself. The daemon's environment does not change while it runs, so the answer is kept;
    what it means is unchanged: proxies from the environment, ``no_proxy`` honoured per host,
    explicit settings on the session or the request win.
    """
    import os
    from urllib.parse import urlsplit

    import requests
    from requests.sessions import merge_setting
    from requests.utils import get_environ_proxies

    class SteadySession(requests.Session):
        def __init__(self) -> None:
            super().__init__()
            self._env: dict[tuple[str, str], tuple[dict[str, str], str | None]] = {}

        def merge_environment_settings(
            self,
            url: str,
            proxies: dict[str, str] | None,
            stream: bool | None,
            verify: bool | str | None,
            cert: Any,
        ) -> dict[str, Any]:
            if not self.trust_env or (proxies and proxies.get("no_proxy")):
                return super().merge_environment_settings(url, proxies, stream, verify, cert)
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc)
            env = self._env.get(key)
            if env is None:
                ca = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                env = self._env[key] = (get_environ_proxies(url), ca)
            env_proxies, env_verify = env
            merged = dict(proxies or {})
            for k, v in env_proxies.items():
                merged.setdefault(k, v)
            if verify is True or verify is None:
                verify = env_verify or verify
            return {
                "proxies": merge_setting(merged, self.proxies),
                "stream": merge_setting(stream, self.stream),
                "verify": merge_setting(verify, self.verify),
                "cert": merge_setting(cert, self.cert),
            }

    return SteadySession
