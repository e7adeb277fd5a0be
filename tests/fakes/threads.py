"""A fake Threads API (``graph.threads.net``) on 127.0.0.1, following Meta's published docs.

It serves what the adapter uses, with the documented shapes:

- ``POST /v1.0/{user-id}/threads`` (``media_type`` TEXT or IMAGE, ``text``, ``image_url``,
  ``alt_text``): a media container ``{"id"}``. The text must be within 500 characters, emoji
  counted as their UTF-8 bytes, and hold at most 5 distinct links (else 400
  ``THREADS_API__LINK_LIMIT_EXCEEDED``). An IMAGE container fetches ``image_url`` as Meta does
  (it must be public); it is ``IN_PROGRESS`` for ``processing_polls`` status reads, then
  ``FINISHED``, or ``ERROR`` when the image could not be downloaded or is not an image.
- ``POST /v1.0/{user-id}/threads_publish?creation_id=``: publishes a ``FINISHED`` container once
  (``PUBLISHED`` afterwards); answers the post's ``{"id"}``.
- ``GET /v1.0/{id}?fields=``: a container (``status``, ``error_message``) or a post.
- ``GET /v1.0/{user-id}/threads?fields=id,text,permalink,timestamp`` (``limit``, ``since``,
  ``after``): the user's posts newest first, ``paging.cursors``/``next`` as Graph pages.
- ``GET /v1.0/me?fields=id,username``.
- ``POST /oauth/access_token`` (code → short-lived token and ``user_id``), ``GET
  /access_token?grant_type=th_exchange_token`` (→ long-lived, ``expires_in`` 60 days), ``GET
  /refresh_access_token?grant_type=th_refresh_token`` (→ a new long-lived token).

Tokens: the Bearer header or ``access_token``; an unknown one is HTTP 401 with Graph's
``OAuthException`` code 190, an expired one (``expire(token)``) the same with subcode 463. The
token needs the scope of the endpoint (``threads_basic`` to read, ``threads_content_publish``
to post; 403 code 10 otherwise). Anything malformed goes to ``problems``; tests assert it
stays empty.

Built on the shared framework (``tests/fakes/server.py``). Routes are ``METHOD path`` with
numeric ids written ``:id``; ``create`` is ``threads_publish``. Failure injection as every fake
has it (``hang``, ``drop``, ``fail_next``, ``inject``), plus ``fail(route, status, message,
code=, headers=, times=)``, which answers a Graph error body with Meta's error code.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .failures import Failure
from .server import FakeServer, Request, Response, json_response

_ids = itertools.count(17_890_000_000_000_000)
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")
_URL = re.compile(r"https?://\S+")
LONG_LIVED = 60 * 86400
#: the scopes a login grants
SCOPES = ("threads_basic", "threads_content_publish")
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


@dataclass
class Token:
    user: str
    scopes: set[str]
    expires_at: float
    long_lived: bool = True


class GraphError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: int = 100,
        subcode: int | None = None,
        type: str = "OAuthException",
        title: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        err: dict[str, Any] = {
            "message": message,
            "type": type,
            "code": code,
            "fbtrace_id": secrets.token_urlsafe(8),
        }
        if subcode is not None:
            err["error_subcode"] = subcode
        if title is not None:
            err["error_user_title"] = title
        self.body: Any = {"error": err}
        self.headers = headers or {}


def threads_count(text: str) -> int:
    """The docs' rule: characters, emoji as their UTF-8 bytes (here: code points from U+1F000
    and the pictographs of U+2600-U+27BF, with their joiners and variation selectors)."""
    n = 0
    for ch in text:
        cp = ord(ch)
        emojiish = cp >= 0x1F000 or 0x2600 <= cp <= 0x27BF or cp in (0x200D, 0xFE0F, 0x20E3)
        n += len(ch.encode("utf-8")) if emojiish else 1
    return n


class FakeThreads(FakeServer):
    name = "threads"
    create = ("POST", "POST /v1.0/:id/threads_publish")

    def __init__(
        self,
        *,
        access_token: str,
        username: str = "dranareyes",
        app_id: str = "990602627938098",
        app_secret: str = "app-secret-5b1f0c9e7d",
        redirect_uri: str = "https://harborpsych.example/threads-callback",
    ) -> None:
        super().__init__()
        self.user_id = str(next(_ids))
        self.username = username
        #: the profile's bio (``threads_biography``)
        self.biography = ""
        self.app_id = app_id
        self.app_secret = app_secret
        self.redirect_uri = redirect_uri
        self.tokens: dict[str, Token] = {
            access_token: Token(self.user_id, set(SCOPES), time.time() + LONG_LIVED)
        }
        self.containers: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []
        self.codes: dict[str, str] = {}
        self.refreshed: list[str] = []
        #: status reads an image container stays IN_PROGRESS
        self.processing_polls = 0
        self.problems: list[str] = []

    # -- test controls -----------------------------------------------------------------------

    def fail(
        self,
        route: str,
        status: int,
        message: str | None = None,
        *,
        code: int | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        defaults = {
            400: (100, "Invalid parameter"),
            401: (190, "Error validating access token"),
            429: (4, "Application request limit reached"),
            500: (1, "An unknown error has occurred."),
            503: (2, "Service temporarily unavailable"),
        }
        dcode, dmessage = defaults.get(status, (1, "Error"))
        e = GraphError(status, message or dmessage, code=code if code is not None else dcode)
        hdrs = list((headers or {}).items())
        self.inject(Failure(status, hdrs, e.body, route=route, times=times))

    def expire(self, token: str) -> None:
        self.tokens[token].expires_at = time.time() - 1

    def add_post(self, text: str, *, at: datetime | None = None) -> dict[str, Any]:
        """A post made outside the adapter (by hand, or long ago)."""
        with self.lock:
            return self._store_post(text, None, None, at)

    def authorize(self, redirect_uri: str, state: str) -> str:
        """What the user's browser ends up at after allowing the app (with Meta's ``#_``)."""
        code = secrets.token_urlsafe(24)
        self.codes[code] = self.user_id
        return f"{redirect_uri}?code={code}&state={state}#_"

    def published(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if p["container"] is not None]

    # -- plumbing ----------------------------------------------------------------------------

    def route(self, req: Request) -> str:
        return f"{req.method} {_ID_SEGMENT.sub('/:id', req.path)}"

    def handle(self, req: Request) -> Response:
        base = f"http://{req.headers.get('Host')}"
        if req.body and req.content_type != "application/x-www-form-urlencoded":
            self.problems.append(f"{req.route}: a body that is not form-encoded")
        try:
            handler = self._route(req.route)
            if handler is None:
                raise GraphError(
                    400, "Unsupported request - method type: " + req.method.lower(), code=100
                )
            with self.lock:
                status, payload = handler(req, base)
        except GraphError as e:
            return json_response(e.status, e.body, list(e.headers.items()))
        return json_response(status, payload)

    def error(self, status: int, body: Any = None) -> Response:
        if body is None:
            body = GraphError(status, f"HTTP {status}", code=1 if status >= 500 else 100).body
        return json_response(status, body)

    def _route(self, route: str) -> Any:
        return {
            "GET /v1.0/me": self._me,
            "POST /v1.0/:id/threads": self._create_container,
            "GET /v1.0/:id/threads": self._list_threads,
            "POST /v1.0/:id/threads_publish": self._publish,
            "GET /v1.0/:id": self._object,
            "POST /oauth/access_token": self._code_token,
            "GET /access_token": self._exchange,
            "GET /refresh_access_token": self._refresh,
        }.get(route)

    def _params(self, seen: Request) -> dict[str, str]:
        merged = {k: v[-1] for k, v in seen.query.items() if v}
        merged.update({k: v[-1] for k, v in seen.form.items()})
        return merged

    def _bad(self, text: str, status: int = 400) -> GraphError:
        self.problems.append(text)
        return GraphError(status, f"fake Threads: {text}", code=100)

    def _auth(self, seen: Request, scope: str) -> Token:
        header = seen.headers.get("Authorization", "")
        value = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        value = value or self._params(seen).get("access_token")
        if not value:
            raise self._bad(f"{seen.route} without an access token")
        token = self.tokens.get(value)
        if token is None:
            raise GraphError(
                401, "Invalid OAuth access token - Cannot parse access token", code=190
            )
        if token.expires_at <= time.time():
            raise GraphError(
                401,
                "Error validating access token: Session has expired.",
                code=190,
                subcode=463,
            )
        if scope not in token.scopes:
            raise GraphError(
                403, f"Application does not have permission for this action ({scope})", code=10
            )
        return token

    def _fields(self, seen: Request, allowed: set[str]) -> list[str]:
        fields = [f for f in self._params(seen).get("fields", "id").split(",") if f]
        unknown = set(fields) - allowed
        if unknown:
            raise self._bad(f"{seen.route}: unknown fields {sorted(unknown)}")
        return fields

    # -- profile and tokens ------------------------------------------------------------------

    def _me(self, seen: Request, base: str) -> tuple[int, Any]:
        token = self._auth(seen, "threads_basic")
        values = {
            "id": token.user,
            "username": self.username,
            "name": "Dr. Ana Reyes",
            "threads_biography": self.biography,
        }
        fields = self._fields(seen, set(values) | {"threads_profile_picture_url"})
        return 200, {f: values.get(f) for f in fields if f in values}

    def _code_token(self, seen: Request, base: str) -> tuple[int, Any]:
        p = {k: v[-1] for k, v in seen.form.items()}
        if p.get("client_id") != self.app_id or p.get("client_secret") != self.app_secret:
            raise GraphError(400, "Error validating client secret.", code=1)
        if p.get("grant_type") != "authorization_code":
            raise self._bad(f"token: grant_type {p.get('grant_type')!r}")
        if p.get("redirect_uri") != self.redirect_uri:
            raise GraphError(400, "Error validating verification code.", code=100, subcode=36008)
        user = self.codes.pop(p.get("code", ""), None)
        if user is None:
            raise GraphError(400, "Invalid verification code format.", code=100, subcode=36009)
        token = secrets.token_urlsafe(32)
        self.tokens[token] = Token(user, set(SCOPES), time.time() + 3600, long_lived=False)
        return 200, {"access_token": token, "user_id": int(user)}

    def _exchange(self, seen: Request, base: str) -> tuple[int, Any]:
        p = self._params(seen)
        if p.get("grant_type") != "th_exchange_token":
            raise self._bad(f"access_token: grant_type {p.get('grant_type')!r}")
        if p.get("client_secret") != self.app_secret:
            raise GraphError(400, "Error validating client secret.", code=1)
        short = self._auth(seen, "threads_basic")
        if short.long_lived:
            raise GraphError(400, "A long-lived token cannot be exchanged again", code=100)
        token = secrets.token_urlsafe(48)
        self.tokens[token] = Token(short.user, set(short.scopes), time.time() + LONG_LIVED)
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED}

    def _refresh(self, seen: Request, base: str) -> tuple[int, Any]:
        p = self._params(seen)
        if p.get("grant_type") != "th_refresh_token":
            raise self._bad(f"refresh: grant_type {p.get('grant_type')!r}")
        if "Authorization" in seen.headers:
            raise self._bad("refresh_access_token takes the token as access_token only")
        old = self._auth(seen, "threads_basic")
        if not old.long_lived:
            raise GraphError(400, "Only long-lived tokens can be refreshed", code=100)
        token = secrets.token_urlsafe(48)
        self.tokens[token] = Token(old.user, set(old.scopes), time.time() + LONG_LIVED)
        self.refreshed.append(token)
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED}

    # -- containers and posts ----------------------------------------------------------------

    def _create_container(self, seen: Request, base: str) -> tuple[int, Any]:
        token = self._auth(seen, "threads_content_publish")
        if seen.path.split("/")[2] != token.user:
            raise self._bad("a container for another user")
        p = self._params(seen)
        p.pop("access_token", None)
        unknown = set(p) - {"media_type", "text", "image_url", "alt_text", "reply_control"}
        if unknown:
            raise self._bad(f"unknown container parameters {sorted(unknown)}")
        media_type, text = p.get("media_type"), p.get("text", "")
        if media_type not in ("TEXT", "IMAGE"):
            raise self._bad(f"media_type {media_type!r}")
        if media_type == "TEXT" and not text.strip():
            raise GraphError(400, "The parameter text is required for TEXT", code=100)
        if media_type == "TEXT" and ("image_url" in p or "alt_text" in p):
            raise self._bad("image_url/alt_text on a TEXT container")
        if threads_count(text) > 500:
            raise GraphError(400, "The post text exceeds 500 characters", code=100)
        if len({u.rstrip(".,;:!?)") for u in _URL.findall(text)}) > 5:
            raise GraphError(
                400,
                "Posts may contain at most 5 links",
                code=100,
                title="THREADS_API__LINK_LIMIT_EXCEEDED",
            )
        container: dict[str, Any] = {
            "id": str(next(_ids)),
            "user": token.user,
            "media_type": media_type,
            "text": text,
            "image_url": p.get("image_url"),
            "alt_text": p.get("alt_text"),
            "status": "FINISHED",
            "error_message": None,
            "polls_left": 0,
        }
        if media_type == "IMAGE":
            url = p.get("image_url") or ""
            if not url.startswith(("http://", "https://")):
                raise GraphError(400, "The parameter image_url is required for IMAGE", code=100)
            error = _download_error(url)
            if error is not None:
                container["status"], container["error_message"] = "ERROR", error
            else:
                container["status"] = "IN_PROGRESS" if self.processing_polls else "FINISHED"
                container["polls_left"] = self.processing_polls
        self.containers[container["id"]] = container
        return 200, {"id": container["id"]}

    def _publish(self, seen: Request, base: str) -> tuple[int, Any]:
        token = self._auth(seen, "threads_content_publish")
        if seen.path.split("/")[2] != token.user:
            raise self._bad("publishing for another user")
        creation = self._params(seen).get("creation_id", "")
        c = self.containers.get(creation)
        if c is None or c["user"] != token.user:
            raise GraphError(400, "The requested resource does not exist", code=24, subcode=4279009)
        if c["status"] == "PUBLISHED":
            raise self._bad(f"container {creation} published twice")
        if c["status"] != "FINISHED":
            raise GraphError(
                400, "The media is not ready for publishing", code=9007, subcode=2207027
            )
        post = self._store_post(c["text"], c["id"], c["image_url"], None)
        c["status"] = "PUBLISHED"
        return 200, {"id": post["id"]}

    def _store_post(
        self, text: str, container: str | None, image_url: str | None, at: datetime | None
    ) -> dict[str, Any]:
        shortcode = secrets.token_urlsafe(8).replace("-", "a").replace("_", "b")
        post = {
            "id": str(next(_ids)),
            "text": text,
            "container": container,
            "media_type": "IMAGE" if image_url else "TEXT_POST",
            "media_url": image_url,
            "shortcode": shortcode,
            "permalink": f"https://www.threads.net/@{self.username}/post/{shortcode}",
            "timestamp": (at or datetime.now(UTC)).astimezone(UTC),
        }
        self.posts.append(post)
        return post

    def _post_json(self, post: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        values = {
            **post,
            "timestamp": post["timestamp"].strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "username": self.username,
            "media_product_type": "THREADS",
            "owner": {"id": self.user_id},
            "is_quote_post": False,
        }
        out = {f: values[f] for f in fields if values.get(f) is not None}
        out["id"] = post["id"]
        return out

    def _object(self, seen: Request, base: str) -> tuple[int, Any]:
        token = self._auth(seen, "threads_basic")
        oid = seen.path.split("/")[2]
        c = self.containers.get(oid)
        if c is not None and c["user"] == token.user:
            fields = self._fields(seen, {"id", "status", "error_message"})
            if c["polls_left"] > 0:
                c["polls_left"] -= 1
                if c["polls_left"] == 0 and c["status"] == "IN_PROGRESS":
                    c["status"] = "FINISHED"
            values = {"id": c["id"], "status": c["status"], "error_message": c["error_message"]}
            return 200, {f: values[f] for f in fields if values.get(f) is not None}
        post = next((p for p in self.posts if p["id"] == oid), None)
        if post is None:
            raise GraphError(
                400,
                f"Unsupported get request. Object with ID '{oid}' does not exist",
                code=100,
                subcode=33,
                type="GraphMethodException",
            )
        return 200, self._post_json(post, self._fields(seen, _POST_FIELDS))

    def _list_threads(self, seen: Request, base: str) -> tuple[int, Any]:
        token = self._auth(seen, "threads_basic")
        if seen.path.split("/")[2] != token.user:
            raise self._bad("threads of another user")
        fields = self._fields(seen, _POST_FIELDS)
        p = self._params(seen)
        limit = int(p.get("limit", "25"))
        if not 1 <= limit <= 100:
            raise self._bad(f"limit {limit}")
        mine = sorted(self.posts, key=lambda x: (x["timestamp"], int(x["id"])), reverse=True)
        if "since" in p:
            since = datetime.fromtimestamp(int(p["since"]), UTC)
            mine = [x for x in mine if x["timestamp"] >= since]
        start = int(p["after"]) if "after" in p else 0
        page = mine[start : start + limit]
        out: dict[str, Any] = {"data": [self._post_json(x, fields) for x in page]}
        if page:
            out["paging"] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
            if start + len(page) < len(mine):
                out["paging"]["next"] = f"{base}{seen.path}?after={start + len(page)}"
        return 200, out


_POST_FIELDS = {
    "id",
    "text",
    "permalink",
    "timestamp",
    "media_type",
    "media_url",
    "shortcode",
    "username",
    "media_product_type",
    "owner",
    "is_quote_post",
}


def _download_error(url: str) -> str | None:
    """What Meta's fetch of an image URL finds wrong, or None."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            data = resp.read(8 * 1024 * 1024 + 1)
    except Exception as e:  # noqa: BLE001 - any failure is Meta's "could not download"
        return f"Media download has failed. The media URI doesn't meet our requirements. ({e})"
    if len(data) > 8 * 1024 * 1024 or not data.startswith(IMAGE_MAGIC):
        return "The image format is not supported or the file is larger than 8 MB."
    return None
