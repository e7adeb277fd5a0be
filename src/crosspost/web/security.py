"""Who may use the web app: the person who started ``crosspost serve``, in any number of tabs.

The app can queue and release posts of every persona, so a page a browser merely visits must
not be able to do either. The one-time token printed at start is exchanged for a session
cookie (HttpOnly, SameSite=Strict, signed with a key that lives only as long as the process);
every request without that session gets a 403 page; every unsafe request carries the
session's CSRF token (a form field, or a header for the page's own ``fetch`` calls); the Host
header must name the address the app is bound to (DNS rebinding); and the Content-Security-
Policy lets the pages load nothing but their own files.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: no inline script or style anywhere: the pages use their own files only
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)

HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # the token is in the first URL: it must not travel on in a Referer
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
#: the largest form body read for the CSRF check (the composer's text is far smaller), and
#: the largest with images (a composer's media)
MAX_FORM = 1 << 20
MAX_UPLOAD = 64 << 20

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crosspost: {title}</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><main class="forbidden"><h1>{title}</h1>
<p>{reason}</p>{more}</main></body></html>
"""

OPEN_THE_LINK = """<p>In the terminal where you ran <code>crosspost serve</code>, open the link
that starts with <code>http://127.0.0.1:</code> and ends with <code>?token=…</code>. Each link
works once; restart <code>crosspost serve</code> for a new one.</p>"""


def plain_page(title: str, reason: str, more: str = "") -> str:
    """A page without the app around it (no session, or the app itself failed)."""
    from html import escape

    return PAGE.format(title=escape(title), reason=escape(reason), more=more)


class OneTimeToken:
    """The token printed at start; it opens one session and is then spent."""

    def __init__(self, value: str | None = None) -> None:
        self.value = value or secrets.token_urlsafe(32)
        self.spent = False

    def redeem(self, offered: str) -> bool:
        if self.spent or not hmac.compare_digest(offered.encode(), self.value.encode()):
            return False
        self.spent = True
        return True


class Gate:
    """ASGI middleware inside Starlette's SessionMiddleware (it reads ``scope["session"]``)."""

    def __init__(self, app: ASGIApp, token: OneTimeToken) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        session: dict[str, Any] = scope["session"]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        offered = query.get("token", [""])[0]
        if offered:
            # the printed link opened again in the browser that has the session: welcome back
            if not session.get("auth") and not self.token.redeem(offered):
                await _forbidden(send, "This link was already used, or it is not the one printed.")
                return
            if not session.get("auth"):
                session.clear()
                session["auth"] = True
                session[CSRF_FIELD] = secrets.token_urlsafe(32)
            rest = {k: v for k, v in query.items() if k != "token"}
            # "//host/…" (or "/\\host") would be a link to another site: one leading slash
            path = "/" + scope["path"].lstrip("/\\")
            target = path + ("?" + urlencode(rest, doseq=True) if rest else "")
            await _redirect(send, target)
            return
        if scope["path"].startswith("/static/"):  # the 403 page's stylesheet; nothing secret
            await self.app(scope, receive, send)
            return
        if not session.get("auth"):
            await _forbidden(send, "This browser has no crosspost session yet.")
            return
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            ok, receive = await _csrf_ok(scope, receive, session.get(CSRF_FIELD, ""))
            if not ok:
                await _forbidden(
                    send,
                    "The form was missing its security token (it may come from another "
                    "site, or from a crosspost serve started earlier). Reload the page.",
                )
                return
        await self.app(scope, receive, send)


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            message["headers"] = [
                *message.get("headers", []),
                *((k, v) for k, v in HEADERS if k not in names),
            ]
        await send(message)

    return wrapped


async def _csrf_ok(scope: Scope, receive: Receive, expected: str) -> tuple[bool, Receive]:
    """The header, or the ``csrf`` field of a urlencoded form; the body read for the check is
    handed on to the app unchanged."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    if not expected:
        return False, receive
    if CSRF_HEADER in headers:
        return hmac.compare_digest(headers[CSRF_HEADER].encode(), expected.encode()), receive
    ctype = headers.get("content-type", "")
    multipart = ctype.startswith("multipart/form-data")
    if not multipart and not ctype.startswith("application/x-www-form-urlencoded"):
        return False, receive
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > (MAX_UPLOAD if multipart else MAX_FORM):
            return False, receive
    if multipart:
        offered = await _multipart_field(scope, body, CSRF_FIELD)
    else:
        offered = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [""])[0]
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return hmac.compare_digest(offered.encode(), expected.encode()), replay


async def _multipart_field(scope: Scope, body: bytes, name: str) -> str:
    """One text field of a multipart form (the composer's, when it carries images)."""
    from collections.abc import AsyncGenerator

    from starlette.datastructures import Headers
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(Headers(scope=scope), stream()).parse()
    except MultiPartException:
        return ""
    try:
        value = form.get(name)
        return value if isinstance(value, str) else ""
    finally:
        await form.close()


async def _forbidden(send: Send, reason: str) -> None:
    body = plain_page("Open the link crosspost printed", reason, OPEN_THE_LINK).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode("utf-8"))],
        }
    )
    await send({"type": "http.response.body", "body": b""})


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
