"""A fake LinkedIn on 127.0.0.1 that answers like the REST API and OAuth 2 endpoints, as
LinkedIn documents them (learn.microsoft.com/linkedin: Posts API, Images API, little text
format, Sign In with LinkedIn using OpenID Connect, Refresh Tokens with OAuth 2.0).

Served: ``GET /oauth/v2/authorization`` is what the browser opens (tests call
:meth:`FakeLinkedIn.approve` with that address instead: the member signs in and allows),
``POST /oauth/v2/accessToken`` (``authorization_code`` and ``refresh_token`` grants, form
encoded, client id and secret checked), ``GET /v2/userinfo`` (``sub``, ``name``, ...),
``POST /rest/images?action=initializeUpload`` (an ``uploadUrl`` on this server and an
``urn:li:image:…``), ``PUT /dms-uploads/:id`` (the bytes, Bearer token as the docs show),
``POST /rest/posts`` (201, empty body, the URN in ``x-restli-id``) and
``GET /rest/posts?q=author&author=…`` (newest first, ``start``/``count`` paging).

It checks what it gets: the ``LinkedIn-Version`` (YYYYMM, one it "serves": 426 otherwise) and
``X-Restli-Protocol-Version: 2.0.0`` headers on ``/rest``, a Bearer token that exists, has not
expired (401 ``EXPIRED_ACCESS_TOKEN``) and has the scope (403 ``ACCESS_DENIED``), a post body
with the documented fields, an author the member may post as (themselves, or a page they
administer with ``w_organization_social``), images that were initialised by that owner and
uploaded, a commentary within 3,000 UTF-16 units, and the commentary's little text: an
unescaped reserved character is what makes LinkedIn cut the post there, so the fake stores the
post cut at that point, as LinkedIn does, and appends the problem to ``problems`` (tests
assert it stays empty). Other malformed requests are answered 422 and recorded the same way.
An identical post by the same author (same text and content) is refused with 422
"Content is a duplicate of urn:li:share:…", as LinkedIn does.

Reading posts needs ``r_member_social`` (a member) or ``r_organization_social`` (a page);
LinkedIn grants the first only to approved partners, so a token without it gets 403 like a
self-serve app does.

Failure injection is the framework's (``tests/fakes/failures.py``): ``fail(route, status,
headers=...)`` answers with LinkedIn's error body, ``hang(route)`` (the work is done, the answer
never comes), ``hang(route, after=False)``, ``drop(route)`` (the work is done, the connection
closes unanswered). Routes are ``METHOD path`` with an upload id written ``:id``
(``PUT /dms-uploads/:id``); ``create`` is ``POST /rest/posts``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from .failures import Failure
from .server import FakeServer, Request, Response, json_response

RESERVED = set("\\|{}@[]()<>#*_~")
LIMIT = 3000
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
_ids = itertools.count(7_300_000_000_000_000_000)
_ID_SEGMENT = re.compile(r"/dms-uploads/[^/]+$")
_HASHTAG = re.compile(r"\{hashtag\|\\?[#＃]\|([^{}|]*)\}")
_MENTION = re.compile(r"@\[((?:\\.|[^\]\\])*)\]\((urn:li:(?:person|organization):[\w-]+)\)")
POST_FIELDS = {
    "author",
    "commentary",
    "visibility",
    "distribution",
    "lifecycleState",
    "isReshareDisabledByAuthor",
    "content",
    "contentLandingPage",
    "reshareContext",
    "adContext",
    "container",
}


@dataclass
class Member:
    id: str
    name: str
    #: organisation ids this member administers
    admin_of: set[str] = field(default_factory=set)


@dataclass
class Token:
    member: Member
    scopes: set[str]
    expires_at: float


#: one request as the fake received it
Seen = Request


class LinkedInError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body: Any = {"status": status, "message": message}
        if code:
            self.body["code"] = code
        self.headers = headers or {}


def little_to_text(little: str) -> tuple[str, str | None]:
    """What LinkedIn shows of a little-text commentary, and the problem if it had to cut it:
    the text up to the first reserved character that neither is escaped nor starts an element."""
    out: list[str] = []
    i = 0
    while i < len(little):
        c = little[i]
        if c == "\\" and i + 1 < len(little):
            out.append(little[i + 1])
            i += 2
            continue
        if c == "{":
            m = _HASHTAG.match(little, i)
            if m:
                out.append("#" + m.group(1))
                i = m.end()
                continue
        if c == "@":
            m = _MENTION.match(little, i)
            if m:
                out.append("@" + re.sub(r"\\(.)", r"\1", m.group(1)))
                i = m.end()
                continue
        if c in RESERVED:
            return "".join(out), f"unescaped {c!r} at {i}: the post is cut there"
        out.append(c)
        i += 1
    return "".join(out), None


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeLinkedIn(FakeServer):
    name = "fake-linkedin"
    create = ("POST", "POST /rest/posts")

    def __init__(
        self,
        *,
        access_token: str,
        member_id: str = "aB3xY9kLmQ",
        name: str = "Ana Reyes",
        scopes: tuple[str, ...] = ("openid", "profile", "w_member_social"),
        expires_in: float = 60 * 24 * 3600,
        client_id: str = "86abcdef123456",
        client_secret: str = "WPL_AP1.cs-Zk3Lq9Vr2Tx8",
        refresh_tokens: bool = True,
        versions: tuple[str, str] = ("202511", "202612"),
    ) -> None:
        super().__init__()
        self.member = Member(member_id, name)
        #: token -> Token
        self.tokens: dict[str, Token] = {
            access_token: Token(self.member, set(scopes), time.time() + expires_in)
        }
        #: refresh token -> (member, scopes)
        self.refresh: dict[str, tuple[Member, set[str]]] = {}
        self.client_id = client_id
        self.client_secret = client_secret
        #: whether the app is one LinkedIn gives refresh tokens to
        self.refresh_tokens = refresh_tokens
        #: the oldest and newest LinkedIn-Version served (YYYYMM)
        self.versions = versions
        #: who signs in in the browser
        self.login_member = self.member
        self.codes: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []
        self.images: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []

    # -- test controls -------------------------------------------------------------------------

    def fail(
        self,
        route: str,
        status: int,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        defaults = {
            401: "Invalid access token",
            403: "Not enough permissions to access this resource",
            429: "Resource level throttle limit for calls to this resource is reached.",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }
        body = {"status": status, "message": message or defaults.get(status, "Error")}
        self.inject(Failure(status, list((headers or {}).items()), body, route=route, times=times))

    def expire(self, token: str) -> None:
        self.tokens[token].expires_at = time.time() - 1

    def add_refresh_token(self, token: str, *, scopes: tuple[str, ...] | None = None) -> None:
        self.refresh[token] = (self.member, set(scopes or ("openid", "profile", "w_member_social")))

    def add_post(
        self, commentary: str, *, author: str | None = None, created: float | None = None
    ) -> dict[str, Any]:
        """A post made outside the adapter (by hand, or long ago); ``commentary`` is little text."""
        with self.lock:
            return self._store(
                {
                    "author": author or f"urn:li:person:{self.member.id}",
                    "commentary": commentary,
                    "visibility": "PUBLIC",
                    "lifecycleState": "PUBLISHED",
                },
                created,
            )

    def approve(self, authorize_url: str, *, deny: bool = False) -> str:
        """What the member does in the browser with the authorisation address: sign in, allow;
        returns the address LinkedIn redirects to (with ``code`` and ``state``)."""
        parts = urlsplit(authorize_url)
        q = dict(parse_qsl(parts.query))
        redirect = q["redirect_uri"]
        if parts.path != "/oauth/v2/authorization" or q.get("response_type") != "code":
            self.problems.append(f"bad authorisation address {authorize_url}")
        if q.get("client_id") != self.client_id:
            self.problems.append(f"authorisation for unknown client {q.get('client_id')}")
        if deny:
            return (
                redirect
                + "?"
                + urlencode(
                    {
                        "error": "user_cancelled_authorize",
                        "error_description": "The user cancelled",
                        "state": q.get("state", ""),
                    }
                )
            )
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "client_id": q.get("client_id"),
            "redirect_uri": redirect,
            "scopes": set(q.get("scope", "").split()),
            "member": self.login_member,
        }
        return redirect + "?" + urlencode({"code": code, "state": q.get("state", "")})

    def text_of(self, post: dict[str, Any]) -> str:
        return post["text"]

    # -- plumbing ------------------------------------------------------------------------------

    def route(self, req: Request) -> str:
        return f"{req.method} {_ID_SEGMENT.sub('/dms-uploads/:id', req.path)}"

    def handle(self, req: Request) -> Response:
        base = f"http://{req.headers.get('Host')}"
        try:
            handler = self._routes().get(req.route)
            if handler is None:
                raise LinkedInError(404, f"No virtual resource found for {req.route}", "NOT_FOUND")
            with self.lock:
                status, payload, headers = handler(req, base)
        except LinkedInError as e:
            status, payload, headers = e.status, e.body, e.headers
        return self._response(status, payload, headers)

    def error(self, status: int, body: Any = None) -> Response:
        return self._response(
            status, body if body is not None else {"status": status, "message": "Error"}
        )

    def finish(self, req: Request, resp: Response) -> Response:
        if not resp.has_header("X-RestLi-Protocol-Version"):
            resp.headers.append(("X-RestLi-Protocol-Version", "2.0.0"))
        return resp

    @staticmethod
    def _response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        if payload is None:  # LinkedIn's 201 to a created post has no body
            return Response(status, b"", list((headers or {}).items()))
        return json_response(status, payload, list((headers or {}).items()))

    def _bad(self, text: str, status: int = 422) -> LinkedInError:
        self.problems.append(text)
        return LinkedInError(status, f"fake LinkedIn: {text}")

    def _routes(self) -> dict[str, Any]:
        return {
            "GET /oauth/v2/authorization": self._authorization_page,
            "POST /oauth/v2/accessToken": self._access_token,
            "GET /v2/userinfo": self._userinfo,
            "POST /rest/images": self._initialize_upload,
            "PUT /dms-uploads/:id": self._upload,
            "POST /rest/posts": self._create_post,
            "GET /rest/posts": self._find_posts,
        }

    def _json(self, seen: Seen) -> Any:
        try:
            return seen.json() if seen.body else None
        except ValueError:
            raise self._bad(f"{seen.route}: body is not JSON", 400) from None

    def _auth(self, seen: Seen, scope: str | None) -> Token:
        header = seen.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise self._bad(f"{seen.route} without a Bearer token", 401)
        token = self.tokens.get(header.removeprefix("Bearer "))
        if token is None:
            raise LinkedInError(401, "Invalid access token", "INVALID_ACCESS_TOKEN")
        if time.time() >= token.expires_at:
            raise LinkedInError(
                401, "The token used in the request has expired", "EXPIRED_ACCESS_TOKEN"
            )
        if scope is not None and scope not in token.scopes:
            raise LinkedInError(
                403,
                f"Not enough permissions to access: {seen.method} {seen.path}",
                "ACCESS_DENIED",
            )
        return token

    def _rest(self, seen: Seen) -> None:
        version = seen.headers.get("LinkedIn-Version") or seen.headers.get("Linkedin-Version")
        if not version:
            raise self._bad(f"{seen.route} without LinkedIn-Version", 400)
        if not re.fullmatch(r"\d{6}", version) or not (
            self.versions[0] <= version <= self.versions[1]
        ):
            raise LinkedInError(
                426, f"Requested version {version} is not active", "NONEXISTENT_VERSION"
            )
        if seen.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            raise self._bad(f"{seen.route} without X-Restli-Protocol-Version: 2.0.0", 400)

    def _may_act_as(self, token: Token, urn: str, *, write: bool) -> None:
        person = f"urn:li:person:{token.member.id}"
        if urn == person:
            scope = "w_member_social" if write else "r_member_social"
        elif urn.startswith("urn:li:organization:"):
            if urn.rsplit(":", 1)[1] not in token.member.admin_of:
                raise LinkedInError(
                    403, f"Member is not an administrator of {urn}", "ACCESS_DENIED"
                )
            scope = "w_organization_social" if write else "r_organization_social"
        else:
            raise LinkedInError(403, f"Not enough permissions to act as {urn}", "ACCESS_DENIED")
        if scope not in token.scopes:
            raise LinkedInError(
                403, f"Not enough permissions to access: {scope} is required", "ACCESS_DENIED"
            )

    # -- OAuth and the member ------------------------------------------------------------------

    def _authorization_page(self, seen: Seen, base: str) -> tuple[int, Any, dict[str, str]]:
        return 200, {"page": "Sign in to LinkedIn"}, {}

    def _access_token(self, seen: Seen, base: str) -> tuple[int, Any, dict[str, str]]:
        if "application/x-www-form-urlencoded" not in seen.headers.get("Content-Type", ""):
            raise self._bad("accessToken must be form encoded", 400)
        form = {k: v[0] for k, v in seen.form.items()}
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return (
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                {},
            )
        grant = form.get("grant_type")
        if grant == "authorization_code":
            entry = self.codes.pop(form.get("code", ""), None)
            if entry is None:
                return (
                    400,
                    {
                        "error": "invalid_request",
                        "error_description": "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired.",
                    },
                    {},
                )
            if entry["redirect_uri"] != form.get("redirect_uri"):
                return (
                    400,
                    {
                        "error": "invalid_request",
                        "error_description": "redirect_uri does not match",
                    },
                    {},
                )
            member, scopes = entry["member"], entry["scopes"]
        elif grant == "refresh_token":
            found = self.refresh.get(form.get("refresh_token", ""))
            if found is None:
                return (
                    400,
                    {
                        "error": "invalid_request",
                        "error_description": "The provided authorization grant or refresh token is invalid, expired or revoked.",
                    },
                    {},
                )
            member, scopes = found
        else:
            raise self._bad(f"unknown grant_type {grant!r}", 400)
        token = "AQV" + secrets.token_urlsafe(32)
        self.tokens[token] = Token(member, set(scopes), time.time() + 5_184_000)
        answer: dict[str, Any] = {
            "access_token": token,
            "expires_in": 5_184_000,
            "scope": ",".join(sorted(scopes)),
            "token_type": "Bearer",
        }
        if self.refresh_tokens:
            if grant == "refresh_token":
                refresh = form["refresh_token"]  # LinkedIn keeps the refresh token's TTL
            else:
                refresh = "AQX" + secrets.token_urlsafe(32)
                self.refresh[refresh] = (member, set(scopes))
            answer.update(refresh_token=refresh, refresh_token_expires_in=31_536_000)
        if "openid" in scopes:
            answer["id_token"] = "eyJ.fake.jwt"
        return 200, answer, {}

    def _userinfo(self, seen: Seen, base: str) -> tuple[int, Any, dict[str, str]]:
        token = self._auth(seen, "profile")
        m = token.member
        given, _, family = m.name.partition(" ")
        return (
            200,
            {
                "sub": m.id,
                "name": m.name,
                "given_name": given,
                "family_name": family,
                "picture": f"{base}/media/{m.id}.jpg",
                "locale": {"country": "US", "language": "en"},
            },
            {},
        )

    # -- images --------------------------------------------------------------------------------

    def _initialize_upload(self, seen: Seen, base: str) -> tuple[int, Any, dict[str, str]]:
        self._rest(seen)
        token = self._auth(seen, None)
        if seen.args.get("action") != "initializeUpload":
            raise self._bad(f"POST /rest/images with action={seen.args.get('action')!r}", 400)
        data = self._json(seen)
        owner = (data or {}).get("initializeUploadRequest", {}).get("owner")
        if not isinstance(owner, str):
            raise self._bad("initializeUpload without initializeUploadRequest.owner")
        self._may_act_as(token, owner, write=True)
        n = str(next(_ids))
        urn = f"urn:li:image:D4E{n}"
        self.images[urn] = {"owner": owner, "bytes": None, "key": n}
        return (
            200,
            {
                "value": {
                    "uploadUrlExpiresAt": int((time.time() + 86400) * 1000),
                    "uploadUrl": f"{base}/dms-uploads/{n}?ca=vector_feedshare&cn=uploads",
                    "image": urn,
                }
            },
            {},
        )

    def _upload(self, seen: Seen, base: str) -> tuple[int, Any, dict[str, str]]:
        self._auth(seen, None)
        key = seen.path.rsplit("/", 1)[1]
        image = next((i for i in self.images.values() if i["key"] == key), None)
        if image is None:
            raise self._bad(f"upload to an address never handed out ({seen.path})", 400)
        if not seen.body.startswith(IMAGE_MAGIC):
            raise self._bad("uploaded bytes are not a JPEG, PNG or GIF", 400)
        image["bytes"] = seen.body
        return 201, None, {}

    # -- posts ---------------------------------------------------------------------------------

    def _create_post(self, seen: Seen, base: str) -> tuple[int, Any, dict[str, str]]:
        self._rest(seen)
        token = self._auth(seen, None)
        data = self._json(seen)
        if not isinstance(data, dict):
            raise self._bad("post body is not an object")
        unknown = set(data) - POST_FIELDS
        if unknown:
            raise self._bad(f"unknown post fields {sorted(unknown)}")
        for key in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if key not in data:
                raise self._bad(f"post without {key}")
        self._may_act_as(token, data["author"], write=True)
        if data["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN"):
            raise self._bad(f"visibility {data['visibility']!r}")
        if data["visibility"] == "CONNECTIONS" and "organization" in data["author"]:
            raise self._bad("CONNECTIONS visibility for a page")
        if data["lifecycleState"] != "PUBLISHED":
            raise self._bad(f"lifecycleState {data['lifecycleState']!r}")
        if data["distribution"].get("feedDistribution") not in ("MAIN_FEED", "NONE"):
            raise self._bad("distribution.feedDistribution")
        self._check_content(data.get("content"), data["author"])
        text, cut = little_to_text(data["commentary"])
        if cut is not None:
            self.problems.append(f"commentary {data['commentary']!r}: {cut}")
        if utf16_length(text) > LIMIT:
            return (
                422,
                {
                    "status": 422,
                    "message": f"/commentary :: length {utf16_length(text)} exceeds {LIMIT}",
                    "code": "UNPROCESSABLE_ENTITY",
                },
                {},
            )
        for p in self.posts:
            if (p["author"], p["text"], p.get("content")) == (
                data["author"],
                text,
                data.get("content"),
            ):
                return (
                    422,
                    {
                        "status": 422,
                        "message": f"Content is a duplicate of {p['id']}",
                        "code": "DUPLICATE_POST",
                    },
                    {},
                )
        post = self._store(data, None)
        return 201, None, {"x-restli-id": post["id"]}

    def _check_content(self, content: Any, author: str) -> None:
        if content is None:
            return
        if not isinstance(content, dict) or len(content) != 1:
            raise self._bad(f"content must have one kind: {content!r}")
        kind, value = next(iter(content.items()))
        if kind == "article":
            if not value.get("source", "").startswith("http") or not value.get("title"):
                raise self._bad(f"article needs source and title: {value!r}")
            if set(value) - {"source", "title", "description", "thumbnail", "thumbnailAltText"}:
                raise self._bad(f"unknown article fields {sorted(value)}")
            return
        if kind == "media":
            images = [value]
        elif kind == "multiImage":
            images = value.get("images") or []
            if not 2 <= len(images) <= 20:
                raise self._bad(f"multiImage with {len(images)} images")
        else:
            raise self._bad(f"content kind {kind!r}")
        for img in images:
            image = self.images.get(img.get("id", ""))
            if image is None or image["owner"] != author:
                raise self._bad(f"image {img.get('id')} unknown or not the author's")
            if image["bytes"] is None:
                raise self._bad(f"image {img.get('id')} was never uploaded")
            if set(img) - {"id", "altText", "title"}:
                raise self._bad(f"unknown media fields {sorted(img)}")

    def _store(self, data: dict[str, Any], created: float | None) -> dict[str, Any]:
        text, _ = little_to_text(data["commentary"])
        ms = int((created if created is not None else time.time()) * 1000)
        post = {
            **data,
            "id": f"urn:li:share:{next(_ids)}",
            "createdAt": ms,
            "publishedAt": ms,
            "lastModifiedAt": ms,
            "text": text,
        }
        self.posts.append(post)
        return post

    def _find_posts(self, seen: Seen, base: str) -> tuple[int, Any, dict[str, str]]:
        self._rest(seen)
        token = self._auth(seen, None)
        if seen.args.get("q") != "author":
            raise self._bad(f"GET /rest/posts with q={seen.args.get('q')!r}", 400)
        author = seen.args.get("author", "")
        if "author=urn:" in seen.target:
            raise self._bad("author URN not URL-encoded (Rest.li 2.0 wants urn%3Ali%3A...)", 400)
        self._may_act_as(token, author, write=False)
        start = int(seen.args.get("start", "0"))
        count = int(seen.args.get("count", "10"))
        mine = sorted(
            (p for p in self.posts if p["author"] == author),
            key=lambda p: p["lastModifiedAt"],
            reverse=True,
        )
        page = [{k: v for k, v in p.items() if k != "text"} for p in mine[start : start + count]]
        return 200, {"elements": page, "paging": {"start": start, "count": count, "links": []}}, {}
