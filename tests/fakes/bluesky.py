"""A fake Bluesky PDS on 127.0.0.1 that behaves like the reference PDS where it matters.

It speaks the XRPC calls the adapter uses (createSession, refreshSession, getSession,
getProfile, resolveHandle, uploadBlob, createRecord, getRecord) with the real server's error
names, and it checks what it is sent: every problem (a request without a valid Bearer JWT, a
record without ``$type``/``text``/``createdAt``, facet offsets that are not UTF-8 byte offsets of
the text they claim to cover, embeds that reference blobs never uploaded, a record key that is
not a TID, ...) is answered with 400 and appended to ``problems``; tests assert it stays empty.

Like the real PDS, a record key that is already taken answers HTTP 500 ``InternalServerError``
(the real one logs "There is already a value at key"). Sessions are three-part JWTs with an
``exp`` claim (the SDK decodes it to decide when to refresh) and no ``didDoc`` (which would make
the SDK switch to another host).

Failure injection is the framework's (``tests/fakes/failures.py``), routed by NSID: ``fail(nsid,
status, ...)`` answers the next call(s) with an XRPC error; ``hang(nsid, after=True)`` accepts
the next call, does its work and never answers (the client times out), ``after=False`` hangs
before doing anything; ``revoke_sessions()`` makes every issued token invalid, as an expired or
revoked session would be.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grapheme

from .failures import Failure
from .server import FakeServer, Request, Response, json_response

TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
POST = "app.bsky.feed.post"
PROFILE = "app.bsky.actor.profile"
_TID = "234567abcdefghijklmnopqrstuvwxyz"
IMAGE_MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/gif": b"GIF8",
    "image/webp": b"RIFF",
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_jwt(sub: str, scope: str, ttl: float) -> str:
    now = int(time.time())
    header = {"typ": "at+jwt" if "refresh" not in scope else "refresh+jwt", "alg": "HS256"}
    payload = {
        "scope": scope,
        "sub": sub,
        "aud": "did:web:fake-pds.invalid",
        "iat": now,
        "exp": int(now + ttl),
        "jti": secrets.token_hex(8),
    }
    parts = [
        _b64url(json.dumps(header).encode()),
        _b64url(json.dumps(payload).encode()),
        _b64url(secrets.token_bytes(32)),
    ]
    return ".".join(parts)


def jwt_payload(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        return json.loads(_b64url_decode(parts[1]))
    except ValueError:
        return None


def fake_cid(data: bytes, codec: int) -> str:
    """A CIDv1 (sha2-256) in base32, as the PDS writes them (0x55 raw blobs, 0x71 dag-cbor)."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


@dataclass
class FakeAccount:
    handle: str
    did: str
    password: str


class XrpcError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


class FakeBlueskyPDS(FakeServer):
    name = "fake-pds"
    #: the reference PDS behind its proxy; HTTP/1.0 makes the client open a connection a call
    protocol_version = "HTTP/1.0"
    create = ("POST", "com.atproto.repo.createRecord")

    def __init__(
        self,
        handle: str = "anabee.bsky.social",
        password: str = "abcd-efgh-ijkl-mnop",
        did: str = "did:plc:anabeefakeaaaaaaaaaaaaaa",
        *,
        access_ttl: float = 7200,
    ) -> None:
        super().__init__()
        self.account = FakeAccount(handle, did, password)
        self.accounts = {handle: self.account}
        #: handles resolveHandle knows (besides the account's own)
        self.known_handles = {handle: did, "friend.bsky.social": "did:plc:friendfakeaaaaaaaaaaaaaa"}
        self.access_ttl = access_ttl
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        #: DID -> the app.bsky.actor.profile/self record (absent until set_profile)
        self.profiles: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, tuple[str, int]] = {}
        self.problems: list[str] = []
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.issued: list[str] = []  # every token ever handed out (for "no secret in logs")

    # -- test controls ------------------------------------------------------------------------

    def fail(
        self,
        nsid: str,
        status: int,
        error: str | None = None,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        body = {"error": error or _default_error(status), "message": message or "injected"}
        self.inject(Failure(status, list((headers or {}).items()), body, route=nsid, times=times))

    def revoke_sessions(self) -> None:
        with self.lock:
            self.access_tokens.clear()
            self.refresh_tokens.clear()

    def posts(self) -> list[dict[str, Any]]:
        return [r["value"] for r in self.records.values()]

    def set_profile(self, **fields: Any) -> None:
        """The account's profile record, as the app writes it (``displayName``,
        ``description``...)."""
        self.profiles[self.account.did] = {"$type": PROFILE, **fields}

    def add_post(self, text: str, *, created_at: str | None = None) -> str:
        """A post made outside crosspost (in the app); returns its at:// URI."""
        value = (time.time_ns() // 1000) << 10  # microseconds, clock id 0
        rkey = "".join(_TID[(value >> shift) & 31] for shift in range(60, -1, -5))
        record = {
            "$type": POST,
            "text": text,
            "createdAt": created_at or time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
        uri = f"at://{self.account.did}/{POST}/{rkey}"
        cid = fake_cid(json.dumps(record, sort_keys=True).encode(), 0x71)
        with self.lock:
            self.records[(self.account.did, rkey)] = {"uri": uri, "cid": cid, "value": record}
        return uri

    # -- plumbing -----------------------------------------------------------------------------

    def route(self, req: Request) -> str:
        return req.path.removeprefix("/xrpc/")

    def handle(self, req: Request) -> Response:
        try:
            handler = getattr(self, "x_" + req.route.replace(".", "_"), None)
            if handler is None:
                raise XrpcError(501, "MethodNotImplemented", f"{req.route} not served by the fake")
            status, payload = handler(req, req.method, req.args, req.body)
        except XrpcError as e:
            status, payload = e.status, {"error": e.error, "message": e.message}
        return self.error(status, payload)

    def error(self, status: int, body: Any = None) -> Response:
        return json_response(status, body or {}, content_type="application/json; charset=utf-8")

    def _problem(self, text: str) -> XrpcError:
        self.problems.append(text)
        return XrpcError(400, "InvalidRequest", f"fake PDS: {text}")

    def _auth(self, req: Request, *, refresh: bool = False) -> FakeAccount:
        value = req.headers.get("Authorization") or ""
        if not value.startswith("Bearer "):
            raise XrpcError(401, "AuthenticationRequired", "Authentication Required")
        token = value.removeprefix("Bearer ")
        payload = jwt_payload(token)
        if payload is None or "exp" not in payload:
            raise self._problem("the Bearer token is not a JWT with an exp claim")
        valid = self.refresh_tokens if refresh else self.access_tokens
        if token not in valid:
            if refresh:
                raise XrpcError(400, "ExpiredToken", "Token has been revoked")
            raise XrpcError(400, "ExpiredToken", "Token has expired")
        wanted = "com.atproto.refresh" if refresh else "com.atproto.appPass"
        if payload.get("scope") != wanted:
            raise XrpcError(400, "InvalidToken", "Bad token scope")
        return next(a for a in self.accounts.values() if a.did == payload["sub"])

    def _session(self, account: FakeAccount) -> dict[str, Any]:
        access = make_jwt(account.did, "com.atproto.appPass", self.access_ttl)
        refresh = make_jwt(account.did, "com.atproto.refresh", 90 * 86400)
        with self.lock:
            self.access_tokens.add(access)
            self.refresh_tokens.add(refresh)
            self.issued += [access, refresh]
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": account.handle,
            "did": account.did,
            "active": True,
        }

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except ValueError:
            raise XrpcError(400, "InvalidRequest", "Request body is not JSON") from None
        if not isinstance(data, dict):
            raise XrpcError(400, "InvalidRequest", "Request body must be an object")
        return data

    def _repo_did(self, repo: str | None) -> str:
        for a in self.accounts.values():
            if repo in (a.did, a.handle):
                return a.did
        raise XrpcError(400, "InvalidRequest", f"Could not find repo: {repo}")

    # -- com.atproto.server -------------------------------------------------------------------

    def x_com_atproto_server_createSession(self, req, method, params, body):  # type: ignore[no-untyped-def]
        data = self._json(body)
        account = self.accounts.get(str(data.get("identifier", "")).lower())
        if account is None or data.get("password") != account.password:
            raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
        return 200, self._session(account)

    def x_com_atproto_server_refreshSession(self, req, method, params, body):  # type: ignore[no-untyped-def]
        account = self._auth(req, refresh=True)
        old = req.headers["Authorization"].removeprefix("Bearer ")
        with self.lock:
            self.refresh_tokens.discard(old)
        return 200, self._session(account)

    def x_com_atproto_server_getSession(self, req, method, params, body):  # type: ignore[no-untyped-def]
        account = self._auth(req)
        return 200, {"handle": account.handle, "did": account.did, "active": True}

    # -- app.bsky / identity ------------------------------------------------------------------

    def x_app_bsky_actor_getProfile(self, req, method, params, body):  # type: ignore[no-untyped-def]
        self._auth(req)
        actor = params.get("actor", "")
        for a in self.accounts.values():
            if actor in (a.did, a.handle):
                return 200, {"did": a.did, "handle": a.handle, "displayName": "Ana Bee"}
        raise XrpcError(400, "InvalidRequest", "Profile not found")

    def x_com_atproto_identity_resolveHandle(self, req, method, params, body):  # type: ignore[no-untyped-def]
        did = self.known_handles.get(params.get("handle", "").lower())
        if did is None:
            raise XrpcError(400, "InvalidRequest", "Unable to resolve handle")
        return 200, {"did": did}

    # -- com.atproto.repo ---------------------------------------------------------------------

    def x_com_atproto_repo_uploadBlob(self, req, method, params, body):  # type: ignore[no-untyped-def]
        self._auth(req)
        mime = (req.headers.get("Content-Type") or "").split(";")[0].strip()
        if not mime.startswith("image/"):
            raise self._problem(f"uploadBlob with Content-Type {mime!r}, not an image type")
        magic = IMAGE_MAGIC.get(mime)
        if magic is not None and not body.startswith(magic):
            raise self._problem(f"uploadBlob bytes are not {mime}")
        if len(body) > 1_000_000:
            raise self._problem(f"blob of {len(body)} bytes is over 1,000,000")
        cid = fake_cid(body, 0x55)
        self.blobs[cid] = (mime, len(body))
        return 200, {
            "blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(body)}
        }

    def x_com_atproto_repo_createRecord(self, req, method, params, body):  # type: ignore[no-untyped-def]
        account = self._auth(req)
        data = self._json(body)
        if self._repo_did(data.get("repo")) != account.did:
            raise XrpcError(403, "InvalidRequest", "Cannot write to another repo")
        if data.get("collection") != POST:
            raise self._problem(f"collection {data.get('collection')!r}")
        rkey = data.get("rkey")
        if not isinstance(rkey, str) or not TID_RE.match(rkey):
            raise self._problem(f"record key {rkey!r} is not a TID")
        record = data.get("record")
        if not isinstance(record, dict):
            raise self._problem("record is not an object")
        self._check_post(record)
        key = (account.did, rkey)
        with self.lock:
            if key in self.records:
                # what the reference PDS answers (log: "There is already a value at key")
                raise XrpcError(500, "InternalServerError", "Internal Server Error")
            cid = fake_cid(json.dumps(record, sort_keys=True).encode(), 0x71)
            uri = f"at://{account.did}/{POST}/{rkey}"
            self.records[key] = {"uri": uri, "cid": cid, "value": record}
        return 200, {
            "uri": uri,
            "cid": cid,
            "commit": {"cid": fake_cid(cid.encode(), 0x71), "rev": rkey},
            "validationStatus": "valid",
        }

    def x_com_atproto_repo_getRecord(self, req, method, params, body):  # type: ignore[no-untyped-def]
        did = self._repo_did(params.get("repo"))
        rkey = params.get("rkey", "")
        if params.get("collection") == PROFILE:
            if rkey != "self":
                raise self._problem(f"profile record key {rkey!r} is not 'self'")
            profile = self.profiles.get(did)
            if profile is None:
                raise XrpcError(
                    400, "RecordNotFound", f"Could not locate record: at://{did}/{PROFILE}/self"
                )
            cid = fake_cid(json.dumps(profile, sort_keys=True).encode(), 0x71)
            return 200, {"uri": f"at://{did}/{PROFILE}/self", "cid": cid, "value": profile}
        if params.get("collection") != POST:
            raise self._problem(f"getRecord collection {params.get('collection')!r}")
        found = self.records.get((did, rkey))
        if found is None:
            raise XrpcError(
                400, "RecordNotFound", f"Could not locate record: at://{did}/{POST}/{rkey}"
            )
        return 200, found

    def x_com_atproto_repo_listRecords(self, req, method, params, body):  # type: ignore[no-untyped-def]
        """Public, like the real one: newest record key first, ``cursor`` the last key."""
        did = self._repo_did(params.get("repo"))
        if params.get("collection") != POST:
            raise self._problem(f"listRecords collection {params.get('collection')!r}")
        try:
            limit = int(params.get("limit", "50"))
        except ValueError:
            raise self._problem(f"limit {params.get('limit')!r}") from None
        if not 1 <= limit <= 100:
            raise XrpcError(400, "InvalidRequest", "limit must be between 1 and 100")
        keys = sorted((k for d, k in self.records if d == did), reverse=True)
        cursor = params.get("cursor")
        if cursor:
            keys = [k for k in keys if k < cursor]
        page = keys[:limit]
        out: dict[str, Any] = {"records": [self.records[(did, k)] for k in page]}
        if len(page) == limit:
            out["cursor"] = page[-1]
        return 200, out

    # -- record validation --------------------------------------------------------------------

    def _check_post(self, record: dict[str, Any]) -> None:
        if record.get("$type") != POST:
            raise self._problem(f"record $type {record.get('$type')!r}")
        text = record.get("text")
        if not isinstance(text, str):
            raise self._problem("record text missing")
        created = record.get("createdAt")
        try:
            parsed = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        except ValueError:
            raise self._problem(f"createdAt {created!r} is not a datetime") from None
        if parsed.tzinfo is None:
            raise self._problem(f"createdAt {created!r} has no timezone")
        # checked in this order, with these messages, by the reference PDS (@atproto/lex-schema)
        raw = text.encode("utf-8")
        if len(raw) > 3000:
            raise XrpcError(
                400,
                "InvalidRequest",
                f"Invalid app.bsky.feed.post record: string too big (maximum 3000, got "
                f"{len(raw)}) at $.record.text",
            )
        graphemes = grapheme.length(text)
        if graphemes > 300:
            raise XrpcError(
                400,
                "InvalidRequest",
                f"Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got "
                f"{graphemes}) at $.record.text",
            )
        langs = record.get("langs")
        if langs is not None and (
            not isinstance(langs, list)
            or len(langs) > 3
            or not all(isinstance(x, str) for x in langs)
        ):
            raise self._problem(f"langs {langs!r}")
        self._check_facets(raw, record.get("facets"))
        if "embed" in record:
            self._check_embed(record["embed"])
        if "reply" in record:
            self._check_reply(record["reply"])
        allowed = {"$type", "text", "createdAt", "langs", "facets", "embed", "tags", "reply"}
        extra = set(record) - allowed
        if extra:
            raise self._problem(f"unexpected record fields {sorted(extra)}")

    def _check_reply(self, reply: Any) -> None:
        """app.bsky.feed.post#replyRef: strong references (uri and cid) to the thread's root
        and to the parent; the lexicon checks their form, the AppView threads by them, so a
        reference to a post that is not there (or another version of it) is a bug here."""
        if not isinstance(reply, dict) or set(reply) - {"$type", "root", "parent"}:
            raise self._problem(f"reply {reply!r} is not a replyRef")
        for name in ("root", "parent"):
            ref = reply.get(name)
            if not isinstance(ref, dict) or set(ref) - {"$type"} != {"uri", "cid"}:
                raise XrpcError(
                    400,
                    "InvalidRequest",
                    f"Invalid app.bsky.feed.post record: $.record.reply.{name} must be a "
                    "strongRef with uri and cid",
                )
            uri = ref["uri"]
            if not isinstance(uri, str) or not uri.startswith("at://"):
                raise self._problem(f"reply.{name}.uri {uri!r} is not an at-uri")
            did, _, rest = uri.removeprefix("at://").partition("/")
            collection, _, rkey = rest.partition("/")
            found = self.records.get((did, rkey)) if collection == POST else None
            if found is None or found["cid"] != ref["cid"]:
                self.problems.append(f"reply.{name} names no stored post: {ref}")

    def _check_facets(self, raw: bytes, facets: Any) -> None:
        if facets is None:
            return
        if not isinstance(facets, list):
            raise self._problem("facets is not a list")
        spans: list[tuple[int, int]] = []
        for facet in facets:
            index = facet.get("index") or {}
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (
                isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(raw)
            ):
                raise self._problem(f"facet index {index!r} outside the text ({len(raw)} bytes)")
            try:
                covered = raw[start:end].decode("utf-8")
            except UnicodeDecodeError:
                raise self._problem(f"facet {start}:{end} splits a UTF-8 character") from None
            if any(start < e and s < end for s, e in spans):
                raise self._problem(f"facet {start}:{end} overlaps another")
            spans.append((start, end))
            features = facet.get("features")
            if not isinstance(features, list) or len(features) != 1:
                raise self._problem(f"facet features {features!r}")
            feature = features[0]
            kind = feature.get("$type")
            if kind == "app.bsky.richtext.facet#link":
                uri = feature.get("uri", "")
                if not uri.startswith(("http://", "https://")):
                    raise self._problem(f"link facet uri {uri!r}")
                if covered != uri and f"https://{covered}" != uri:
                    raise self._problem(f"link facet covers {covered!r} but links {uri!r}")
            elif kind == "app.bsky.richtext.facet#mention":
                did = feature.get("did")
                handle = covered.removeprefix("@").lower()
                if not covered.startswith("@") or self.known_handles.get(handle) != did:
                    raise self._problem(f"mention facet covers {covered!r} with did {did!r}")
            elif kind == "app.bsky.richtext.facet#tag":
                tag = feature.get("tag", "")
                if covered not in (f"#{tag}", f"＃{tag}"):
                    raise self._problem(f"tag facet covers {covered!r} for tag {tag!r}")
                if grapheme.length(tag) > 64:
                    raise self._problem(f"tag {tag!r} is over 64 graphemes")
            else:
                raise self._problem(f"facet feature type {kind!r}")

    def _check_blob(self, blob: Any, what: str) -> None:
        if not isinstance(blob, dict) or blob.get("$type") != "blob":
            raise self._problem(f"{what} is not a blob: {blob!r}")
        cid = (blob.get("ref") or {}).get("$link")
        if cid not in self.blobs:
            raise self._problem(f"{what} references a blob never uploaded")
        mime, size = self.blobs[cid]
        if blob.get("mimeType") != mime or blob.get("size") != size:
            raise self._problem(f"{what} mimeType/size differ from the upload")
        if not mime.startswith("image/") or size > 1_000_000:
            raise self._problem(f"{what} is {mime}, {size} bytes")

    def _check_embed(self, embed: Any) -> None:
        kind = embed.get("$type") if isinstance(embed, dict) else None
        if kind == "app.bsky.embed.external":
            ext = embed.get("external") or {}
            for name in ("uri", "title", "description"):
                if not isinstance(ext.get(name), str):
                    raise self._problem(f"external embed without {name}")
            if not ext["uri"].startswith(("http://", "https://")):
                raise self._problem(f"external embed uri {ext['uri']!r}")
            if "thumb" in ext:
                self._check_blob(ext["thumb"], "external thumb")
        elif kind == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or not 1 <= len(images) <= 4:
                raise self._problem(f"images embed with {images!r}")
            for i, img in enumerate(images):
                if not isinstance(img.get("alt"), str):
                    raise self._problem(f"image {i} without alt")
                self._check_blob(img.get("image"), f"image {i}")
                ratio = img.get("aspectRatio")
                if ratio is not None and not (
                    isinstance(ratio.get("width"), int)
                    and ratio["width"] > 0
                    and isinstance(ratio.get("height"), int)
                    and ratio["height"] > 0
                ):
                    raise self._problem(f"image {i} aspectRatio {ratio!r}")
        else:
            raise self._problem(f"embed $type {kind!r}")


def _default_error(status: int) -> str:
    return {
        400: "InvalidRequest",
        401: "AuthenticationRequired",
        403: "Forbidden",
        409: "Conflict",
        413: "PayloadTooLarge",
        429: "RateLimitExceeded",
        502: "UpstreamFailure",
        503: "ServiceUnavailable",
        504: "UpstreamTimeout",
    }.get(status, "InternalServerError")
