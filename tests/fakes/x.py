"""A fake X API on 127.0.0.1, answering like api.twitter.com / api.x.com where it matters.

It serves what the adapter uses — ``POST /2/tweets``, ``GET /2/users/me``,
``GET /2/users/:id/tweets``, the v2 media upload (simple, and initialize/append/finalize/
STATUS), ``POST /2/media/metadata`` (and the older ``/2/media/metadata/create``), and the
OAuth 1.0a PIN flow (``/oauth/request_token``, ``/oauth/access_token``) — and it checks what it
gets. Every request must carry an ``Authorization: OAuth ...`` header whose HMAC-SHA1
signature verifies against the known consumer and token secrets for the URL the client meant
(``https://api.x.com`` for ``/2/media``, ``https://api.twitter.com`` otherwise, since the
adapter's test transport rewrites only the origin); bodies must have the shape X documents.
Anything wrong is answered like X would (400/401) and appended to ``problems``; tests assert it
stays empty.

Like X, a stored post's ``text`` has every link replaced by a ``t.co`` link (also bare domains
such as ``example.com``, found with twitter-text's rules), ``& < >`` escaped, and a ``t.co``
link appended per attached image; ``entities.urls`` keeps the expanded URLs. Posting the same
text twice is answered 403 "You are not allowed to create a Tweet with duplicate content."

Failure injection is the framework's (``tests/fakes/failures.py``): ``fail("POST /2/tweets",
429, headers=...)`` answers the next call(s) of a route with X's error body; ``hang(route)`` does
the work and then never answers (the client times out); ``hang(route, after=False)`` hangs
before doing anything. Routes are ``METHOD path`` with numeric path segments written ``:id``.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode, urlsplit

from oauthlib.oauth1.rfc5849 import signature, utils
from twitter_text import extract_urls_with_indices

from .failures import Failure
from .server import FakeServer, Request, Response
from .server import utc_millis as x_time

DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
REPLY_GONE = "You attempted to reply to a Tweet that is deleted or not visible to you."
IMAGE_MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/gif": b"GIF8",
    "image/webp": b"RIFF",
}
_ids = itertools.count(1_880_000_000_000_000_000)
_ID_SEGMENT = re.compile(r"(?<!^)/\d+(?=/|$)")


@dataclass
class FakeUser:
    id: str
    username: str
    name: str
    description: str = ""
    location: str = ""
    #: the profile's website as set; served as a t.co link with the address in ``entities``
    url: str = ""


@dataclass
class Seen(Request):
    """One request as the fake received it, with the OAuth parameters it verified."""

    oauth: dict[str, str] = field(default_factory=dict)


class XError(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """X's v2 error body (RFC 7807 problem+json)."""
    return {"title": title, "detail": detail, "type": "about:blank", "status": status}


class FakeX(FakeServer):
    name = "fake-x"
    create = ("POST", "POST /2/tweets")
    request_type = Seen

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        username: str = "DrAnaReyes",
        user_id: str = "1512345678901234567",
    ) -> None:
        super().__init__()
        self.user = FakeUser(user_id, username, "Dr. Ana Reyes")
        self.apps = {consumer_key: consumer_secret}
        #: access token -> (secret, user)
        self.tokens: dict[str, tuple[str, FakeUser]] = {
            access_token: (access_token_secret, self.user)
        }
        #: whose account the PIN flow authorises (the browser's signed-in user)
        self.login_user = self.user
        self.tweets: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []
        #: "current": POST /2/media/metadata; "legacy": only /2/media/metadata/create
        self.metadata_endpoint = "current"
        #: STATUS polls a finalized chunked upload answers "in_progress" before "succeeded"
        self.processing_polls = 0
        self._request_tokens: dict[str, dict[str, str]] = {}
        self._nonces: set[str] = set()

    # -- test controls -------------------------------------------------------------------------

    def fail(
        self,
        route: str,
        status: int,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
    ) -> None:
        titles = {
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found Error",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }
        title = titles.get(status, "Error")
        payload = body if body is not None else problem(status, title, detail or title)
        self.inject(
            Failure(status, list((headers or {}).items()), payload, route=route, times=times)
        )

    def add_tweet(
        self, text: str, *, created_at: datetime | None = None, media_ids: list[str] | None = None
    ) -> dict[str, Any]:
        """A post made outside the adapter (by hand, or long ago)."""
        with self.lock:
            return self._store_tweet(self.user, text, media_ids or [], created_at)

    def authorize(self, request_token: str) -> str:
        """What the user does in the browser: approve the app; returns the PIN X shows."""
        entry = self._request_tokens[request_token]
        entry["authorized"] = "yes"
        return entry["pin"]

    # -- plumbing ------------------------------------------------------------------------------

    def route(self, req: Request) -> str:
        return f"{req.method} {_ID_SEGMENT.sub('/:id', req.path)}"

    def admit(self, req: Request) -> Response | None:
        assert isinstance(req, Seen)
        try:
            req.oauth = self._verify_oauth(req)
        except XError as e:
            return self._response(e.status, e.body, e.headers)
        return None

    def handle(self, req: Request) -> Response:
        assert isinstance(req, Seen)
        try:
            handler = self._routes().get(req.route)
            if handler is None:
                raise XError(404, problem(404, "Not Found Error", f"no route {req.route}"))
            with self.lock:
                status, payload, headers = handler(req)
        except XError as e:
            status, payload, headers = e.status, e.body, e.headers
        return self._response(status, payload, headers)

    def error(self, status: int, body: Any = None) -> Response:
        return self._response(status, body if body is not None else problem(status, "Error", ""))

    def finish(self, req: Request, resp: Response) -> Response:
        reset = str(int(time.time()) + 900)
        for k, v in (
            ("x-rate-limit-limit", "100"),
            ("x-rate-limit-remaining", "99"),
            ("x-rate-limit-reset", reset),
        ):
            if not resp.has_header(k):
                resp.headers.append((k, v))
        return resp

    @staticmethod
    def _response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        if isinstance(payload, str):
            data, ctype = payload.encode(), "text/html;charset=utf-8"
        else:
            data = json.dumps(payload).encode()
            ctype = "application/problem+json" if status >= 400 else "application/json"
            ctype += "; charset=utf-8"
        return Response(status, data, [("Content-Type", ctype), *(headers or {}).items()])

    def _bad(self, text: str, status: int = 400) -> XError:
        self.problems.append(text)
        title = "Invalid Request" if status == 400 else "Unauthorized"
        return XError(status, problem(status, title, f"fake X: {text}"))

    def _verify_oauth(self, req: Request) -> dict[str, str]:
        method, path, body = req.method, req.path, req.body
        query = urlsplit(req.target).query
        header = req.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            raise self._bad(f"{method} {path} without an OAuth 1.0a Authorization header", 401)
        try:
            oauth = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}
        except ValueError:
            raise self._bad(f"malformed Authorization header on {path}", 401) from None
        for required in (
            "oauth_consumer_key",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_version",
        ):
            if required not in oauth:
                raise self._bad(f"{required} missing on {path}", 401)
        if oauth["oauth_signature_method"] != "HMAC-SHA1" or oauth["oauth_version"] != "1.0":
            raise self._bad(f"unexpected OAuth method/version on {path}", 401)
        if abs(time.time() - int(oauth["oauth_timestamp"])) > 300:
            raise self._bad("oauth_timestamp is off by more than 5 minutes", 401)
        with self.lock:
            if oauth["oauth_nonce"] in self._nonces:
                raise self._bad("oauth_nonce reused", 401)
            self._nonces.add(oauth["oauth_nonce"])
        consumer_secret = self.apps.get(oauth["oauth_consumer_key"])
        if consumer_secret is None:
            raise self._bad("unknown consumer key", 401)
        token = oauth.get("oauth_token")
        if path.startswith("/oauth/request_token"):
            if token is not None or oauth.get("oauth_callback") != "oob":
                raise self._bad("request_token needs oauth_callback=oob and no token", 401)
            token_secret = ""
        elif path.startswith("/oauth/access_token"):
            entry = self._request_tokens.get(token or "")
            if entry is None:
                raise self._bad("access_token with an unknown request token", 401)
            token_secret = entry["secret"]
        else:
            known = self.tokens.get(token or "")
            if known is None:
                raise self._bad(f"unknown access token on {path}", 401)
            token_secret = known[0]
        host = "https://api.x.com" if path.startswith("/2/media") else "https://api.twitter.com"
        uri = host + path + (f"?{query}" if query else "")
        ctype = req.headers.get("Content-Type", "")
        form = body.decode() if "application/x-www-form-urlencoded" in ctype else None
        params = signature.collect_parameters(
            uri_query=query,
            body=form,
            headers={"Authorization": header},
            exclude_oauth_signature=True,
        )
        base = signature.signature_base_string(
            method, signature.base_string_uri(uri), signature.normalize_parameters(params)
        )
        keys = SimpleNamespace(client_secret=consumer_secret, resource_owner_secret=token_secret)
        expected = signature.sign_hmac_sha1_with_client(base, keys)
        if expected != oauth["oauth_signature"]:
            raise self._bad(f"OAuth signature does not verify for {method} {uri}", 401)
        return oauth

    def _routes(self) -> dict[str, Any]:
        return {
            "POST /oauth/request_token": self._request_token,
            "POST /oauth/access_token": self._access_token,
            "GET /2/users/me": self._me,
            "GET /2/users/:id/tweets": self._user_tweets,
            "POST /2/tweets": self._create_tweet,
            "POST /2/media/upload": self._upload,
            "POST /2/media/upload/initialize": self._initialize,
            "POST /2/media/upload/:id/append": self._append,
            "POST /2/media/upload/:id/finalize": self._finalize,
            "GET /2/media/upload": self._status,
            "POST /2/media/metadata": self._metadata,
            "POST /2/media/metadata/create": self._metadata_legacy,
        }

    def _caller(self, seen: Seen) -> FakeUser:
        return self.tokens[seen.oauth["oauth_token"]][1]

    def _json(self, seen: Seen) -> dict[str, Any]:
        if "application/json" not in seen.headers.get("Content-Type", ""):
            raise self._bad(f"{seen.route} needs a JSON body")
        try:
            data = json.loads(seen.body)
        except ValueError:
            raise self._bad(f"{seen.route}: body is not JSON") from None
        if not isinstance(data, dict):
            raise self._bad(f"{seen.route}: body is not a JSON object")
        return data

    # -- OAuth PIN flow ------------------------------------------------------------------------

    def _request_token(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        token, secret = "rt-" + secrets.token_hex(8), "rts-" + secrets.token_hex(12)
        self._request_tokens[token] = {
            "secret": secret,
            "pin": f"{secrets.randbelow(10**7):07d}",
            "authorized": "",
        }
        body = urlencode(
            {"oauth_token": token, "oauth_token_secret": secret, "oauth_callback_confirmed": "true"}
        )
        return 200, body, {}

    def _access_token(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        entry = self._request_tokens.get(seen.oauth.get("oauth_token", ""))
        if entry is None or not entry["authorized"]:
            raise XError(401, "Request token not authorized")
        if seen.oauth.get("oauth_verifier") != entry["pin"]:
            raise XError(
                401, "Error processing your OAuth request: Invalid oauth_verifier parameter"
            )
        del self._request_tokens[seen.oauth["oauth_token"]]  # a PIN works once
        user = self.login_user
        token = f"{user.id}-{secrets.token_hex(12)}"
        secret = secrets.token_hex(20)
        self.tokens[token] = (secret, user)
        body = urlencode(
            {
                "oauth_token": token,
                "oauth_token_secret": secret,
                "user_id": user.id,
                "screen_name": user.username,
            }
        )
        return 200, body, {}

    # -- users and posts -----------------------------------------------------------------------

    def _me(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        user = self._caller(seen)
        unknown = set(seen.args) - {"user.fields", "expansions", "tweet.fields"}
        if unknown:
            raise self._bad(f"unknown query parameters {sorted(unknown)}")
        data: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
        wanted = set(filter(None, seen.args.get("user.fields", "").split(",")))
        if "description" in wanted:
            data["description"] = user.description
        if "location" in wanted and user.location:
            data["location"] = user.location
        if "url" in wanted and user.url:
            short = "https://t.co/" + secrets.token_urlsafe(7)[:10]
            data["url"] = short
            if "entities" in wanted:
                data["entities"] = {
                    "url": {
                        "urls": [
                            {
                                "start": 0,
                                "end": len(short),
                                "url": short,
                                "expanded_url": user.url,
                                "display_url": user.url.split("://", 1)[-1],
                            }
                        ]
                    }
                }
        return 200, {"data": data}, {}

    def _user_tweets(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        user = self._caller(seen)
        wanted = seen.path.split("/")[3]
        if wanted != user.id:
            raise self._bad("reading another user's posts")
        q = seen.args
        unknown = set(q) - {
            "max_results",
            "start_time",
            "tweet.fields",
            "pagination_token",
            "end_time",
            "since_id",
            "until_id",
            "exclude",
            "expansions",
        }
        if unknown:
            raise self._bad(f"unknown query parameters {sorted(unknown)}")
        size = int(q.get("max_results", "10"))
        if not 5 <= size <= 100:
            raise self._bad("max_results must be 5..100")
        start = None
        if "start_time" in q:
            try:
                start = datetime.strptime(q["start_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            except ValueError:
                raise self._bad(
                    f"start_time {q['start_time']!r} is not YYYY-MM-DDTHH:mm:ssZ"
                ) from None
            if start > datetime.now(UTC):
                raise self._bad("start_time is in the future")
        fields = set(filter(None, q.get("tweet.fields", "").split(",")))
        excluded = set(q.get("exclude", "").split(","))
        mine = [
            t
            for t in reversed(self.tweets)
            if t["author"] == user.id
            and (start is None or t["created_at"] >= start)
            and not ("replies" in excluded and t["in_reply_to"])
        ]
        offset = int(q.get("pagination_token") or 0)
        page = mine[offset : offset + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if not page:
            return 200, {"meta": meta}, {}
        data = []
        for t in page:
            item: dict[str, Any] = {
                "id": t["id"],
                "text": t["text"],
                "edit_history_tweet_ids": [t["id"]],
            }
            if "created_at" in fields:
                item["created_at"] = x_time(t["created_at"])
            if "entities" in fields and t["entities"]["urls"]:
                item["entities"] = t["entities"]
            data.append(item)
        meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if offset + size < len(mine):
            meta["next_token"] = str(offset + size)
        return 200, {"data": data, "meta": meta}, {}

    def _create_tweet(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        user = self._caller(seen)
        data = self._json(seen)
        unknown = set(data) - {
            "text",
            "media",
            "reply",
            "quote_tweet_id",
            "poll",
            "reply_settings",
            "community_id",
        }
        if unknown:
            raise self._bad(f"unknown fields in POST /2/tweets: {sorted(unknown)}")
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise self._bad("POST /2/tweets without text")
        media_ids: list[str] = []
        if "media" in data:
            ids = (data["media"] or {}).get("media_ids")
            if (
                not isinstance(ids, list)
                or not 1 <= len(ids) <= 4
                or not all(isinstance(i, str) for i in ids)
            ):
                raise self._bad("media.media_ids must be 1-4 strings")
            for mid in ids:
                m = self.media.get(mid)
                if m is None or m["owner"] != user.id or not m["complete"]:
                    raise self._bad(f"media id {mid} was not uploaded (completely) by this user")
            media_ids = ids
        reply_to = self._reply_to(data.get("reply")) if "reply" in data else None
        if any(t["author"] == user.id and t["original"] == text for t in self.tweets):
            raise XError(403, problem(403, "Forbidden", DUPLICATE))
        t = self._store_tweet(user, text, media_ids, None, in_reply_to=reply_to)
        return (
            201,
            {"data": {"id": t["id"], "text": t["text"], "edit_history_tweet_ids": [t["id"]]}},
            {},
        )

    def _reply_to(self, reply: Any) -> dict[str, Any]:
        """The post a ``reply`` object answers; X refuses a reply to one it cannot see."""
        if (
            not isinstance(reply, dict)
            or not isinstance(reply.get("in_reply_to_tweet_id"), str)
            or set(reply) - {"in_reply_to_tweet_id", "exclude_reply_user_ids"}
        ):
            raise self._bad(f"reply must be {{in_reply_to_tweet_id: string}}, not {reply!r}")
        parent = next((t for t in self.tweets if t["id"] == reply["in_reply_to_tweet_id"]), None)
        if parent is None:
            raise XError(403, problem(403, "Forbidden", REPLY_GONE))
        return parent

    def _store_tweet(
        self,
        user: FakeUser,
        text: str,
        media_ids: list[str],
        created_at: datetime | None,
        *,
        in_reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        tid = str(next(_ids))
        out, urls, pos = "", [], 0
        for link in extract_urls_with_indices(text):
            start, end = link["indices"]
            out += html.escape(text[pos:start], quote=False)
            short = "https://t.co/" + secrets.token_urlsafe(8)[:10]
            expanded = link["url"] if "://" in link["url"] else "http://" + link["url"]
            urls.append(
                {
                    "start": len(out),
                    "end": len(out) + len(short),
                    "url": short,
                    "expanded_url": expanded,
                    "display_url": link["url"][:30],
                }
            )
            out += short
            pos = end
        out += html.escape(text[pos:], quote=False)
        for n, mid in enumerate(media_ids, 1):
            short = "https://t.co/" + secrets.token_urlsafe(8)[:10]
            out += " "
            urls.append(
                {
                    "start": len(out),
                    "end": len(out) + len(short),
                    "url": short,
                    "expanded_url": f"https://x.com/{user.username}/status/{tid}/photo/{n}",
                    "display_url": "pic.x.com/" + short[-10:],
                    "media_key": self.media[mid]["media_key"],
                }
            )
            out += short
        tweet = {
            "id": tid,
            "text": out,
            "original": text,
            "author": user.id,
            "created_at": created_at or datetime.now(UTC),
            "media_ids": media_ids,
            "entities": {"urls": urls},
            "in_reply_to": in_reply_to["id"] if in_reply_to else None,
            "conversation_id": in_reply_to["conversation_id"] if in_reply_to else tid,
        }
        self.tweets.append(tweet)
        return tweet

    # -- media ---------------------------------------------------------------------------------

    def _new_media(
        self, user: FakeUser, mime: str, category: str, data: bytes, complete: bool, total: int = 0
    ) -> dict[str, Any]:
        mid = str(next(_ids))
        m = {
            "id": mid,
            "media_key": f"3_{mid}",
            "owner": user.id,
            "type": mime,
            "category": category,
            "data": data,
            "total": total,
            "segments": {},
            "complete": complete,
            "alt": None,
            "polls": 0,
        }
        self.media[mid] = m
        return m

    @staticmethod
    def _sniff(data: bytes) -> str | None:
        for mime, magic in IMAGE_MAGIC.items():
            if data.startswith(magic):
                return mime
        return None

    def _upload(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        user = self._caller(seen)
        ctype = seen.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            raise self._bad("POST /2/media/upload must be multipart/form-data")
        parts = seen.parts()
        if "media" not in parts or not parts["media"][2]:
            raise self._bad("POST /2/media/upload without a 'media' file part")
        category = parts.get("media_category", (None, "", b""))[2].decode()
        media_type = parts.get("media_type", (None, "", b""))[2].decode()
        data = parts["media"][2]
        if category != "tweet_image":
            raise self._bad(f"media_category {category!r}; simple upload takes tweet_image")
        if media_type != self._sniff(data):
            raise self._bad(f"media_type {media_type!r} does not match the file's bytes")
        m = self._new_media(user, media_type, category, data, True)
        m["filename"] = parts["media"][0]
        return (
            200,
            {
                "data": {
                    "id": m["id"],
                    "media_key": m["media_key"],
                    "size": len(data),
                    "expires_after_secs": 86400,
                    "image": {"image_type": media_type, "w": 1, "h": 1},
                }
            },
            {},
        )

    def _initialize(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        user = self._caller(seen)
        data = self._json(seen)
        if not isinstance(data.get("total_bytes"), int) or not data.get("media_type"):
            raise self._bad("initialize needs media_type and total_bytes")
        if data.get("media_category") not in ("tweet_image", "tweet_gif", "tweet_video"):
            raise self._bad(f"media_category {data.get('media_category')!r}")
        m = self._new_media(
            user, data["media_type"], data["media_category"], b"", False, data["total_bytes"]
        )
        return (
            200,
            {"data": {"id": m["id"], "media_key": m["media_key"], "expires_after_secs": 86400}},
            {},
        )

    def _append(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        m = self.media.get(seen.path.split("/")[4])
        if m is None or m["complete"]:
            raise self._bad("append to an unknown or finalized upload")
        parts = seen.parts()
        if "media" not in parts or "segment_index" not in parts:
            raise self._bad("append needs 'media' and 'segment_index'")
        m["segments"][int(parts["segment_index"][2])] = parts["media"][2]
        return 200, {"data": {"expires_at": int(time.time()) + 86400}}, {}

    def _finalize(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        m = self.media.get(seen.path.split("/")[4])
        if m is None:
            raise self._bad("finalize of an unknown upload")
        segs = m["segments"]
        if sorted(segs) != list(range(len(segs))):
            raise self._bad(f"segments {sorted(segs)} are not 0..n-1")
        m["data"] = b"".join(segs[i] for i in range(len(segs)))
        if len(m["data"]) != m["total"]:
            raise self._bad(f"finalized {len(m['data'])} bytes, initialized {m['total']}")
        if self._sniff(m["data"]) != m["type"]:
            raise self._bad("media_type does not match the uploaded bytes")
        data: dict[str, Any] = {
            "id": m["id"],
            "media_key": m["media_key"],
            "size": m["total"],
            "expires_after_secs": 86400,
        }
        if self.processing_polls:
            data["processing_info"] = {"state": "pending", "check_after_secs": 0}
        else:
            m["complete"] = True
        return 200, {"data": data}, {}

    def _status(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        if seen.arg("command") != "STATUS":
            raise self._bad("GET /2/media/upload needs command=STATUS")
        m = self.media.get(seen.arg("media_id", "") or "")
        if m is None:
            raise self._bad("STATUS of an unknown upload")
        m["polls"] += 1
        if m["polls"] > self.processing_polls:
            m["complete"] = True
            info = {"state": "succeeded", "progress_percent": 100}
        else:
            info = {"state": "in_progress", "check_after_secs": 0, "progress_percent": 50}
        return (
            200,
            {"data": {"id": m["id"], "media_key": m["media_key"], "processing_info": info}},
            {},
        )

    def _set_alt(self, user: FakeUser, mid: Any, alt: Any) -> dict[str, Any]:
        m = self.media.get(str(mid))
        if m is None or m["owner"] != user.id:
            raise self._bad(f"metadata for unknown media {mid!r}")
        if not isinstance(alt, dict) or not isinstance(alt.get("text"), str):
            raise self._bad("alt_text must be {'text': ...}")
        if len(alt["text"]) > 1000:
            raise self._bad("alt text longer than 1000 characters")
        m["alt"] = alt["text"]
        return {"data": {"id": m["id"], "associated_metadata": {"alt_text": alt}}}

    def _metadata(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        if self.metadata_endpoint != "current":
            raise XError(404, problem(404, "Not Found Error", "Sorry, that page does not exist"))
        data = self._json(seen)
        meta = data.get("metadata") or {}
        return 200, self._set_alt(self._caller(seen), data.get("id"), meta.get("alt_text")), {}

    def _metadata_legacy(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        data = self._json(seen)
        return (
            200,
            self._set_alt(self._caller(seen), data.get("media_id"), data.get("alt_text")),
            {},
        )
