"""A fake Mastodon instance on 127.0.0.1 that answers like Mastodon 4.3 where it matters.

It serves what the adapter and Mastodon.py use: ``/api/v1/instance/`` (with the trailing slash
Mastodon.py's version check asks for) and ``/api/v2/instance`` (``version``,
``api_versions.mastodon``, ``configuration.statuses``), ``/.well-known/oauth-authorization-
server``, ``POST /api/v1/apps``, ``POST /oauth/token``, ``verify_credentials``, an account's
statuses (newest first, ``limit``/``max_id`` paging), ``POST /api/v2/media`` (202 with ``url``
null while "processing"), ``GET /api/v1/media/:id`` (206 until processed) and
``POST /api/v1/statuses``. It checks what it gets: a Bearer token with the scope the endpoint
needs (401/403 otherwise, as Mastodon answers), form fields Mastodon knows, media ids that exist,
belong to the account and are processed, a status within ``max_characters`` (counted with
Mastodon's rule: 23 per URL, graphemes). Anything malformed is answered 422 and appended to
``problems``; tests assert it stays empty.

``Idempotency-Key`` is honoured like Mastodon does: a repeat with the same key (per account)
answers the original status and creates nothing; ``FakeMastodon(idempotency=False)`` ignores
it, as GoToSocial and snac do. ``ids="ulid"`` hands out ULIDs (26 characters of Crockford
base32, as GoToSocial does) for accounts, statuses and media instead of Mastodon's numeric
snowflake ids; both order by time as strings of equal length. ``counting="codepoints"``
enforces ``max_characters`` on code points with URLs at full length (GoToSocial's rule), and
``software="gotosocial"`` makes the instance API say so (``source_url``, ``version``). Status ``content`` is HTML rendered the way
Mastodon renders it: links shortened with ``invisible``/``ellipsis`` spans, resolved mentions as
``@user`` h-cards, hashtags, ``<p>``/``<br />``. Every answer has ``X-RateLimit-*`` headers
(the reset as an ISO 8601 time) and a ``Date``.

Failure injection is the framework's (``tests/fakes/failures.py``): ``fail("POST
/api/v1/statuses", 429, headers=...)`` answers with Mastodon's error body; ``hang(route)`` does
the work and never answers (the client times out); ``hang(route, after=False)`` hangs first;
``drop(route)`` does the work and closes the connection without an answer (a lost answer).
Routes are ``METHOD path`` with id path segments (numeric or ULID) written ``:id``.
"""

from __future__ import annotations

import html
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mastodon import Mastodon

from .failures import Failure
from .server import FakeServer, Request, Response, json_response
from .server import utc_millis as iso

OOB = "urn:ietf:wg:oauth:2.0:oob"
JSON = "application/json; charset=utf-8"
KNOWN_SCOPES = {
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:statuses",
    "write:statuses",
    "write:media",
}
IMAGE_MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/gif": b"GIF8",
    "image/webp": b"RIFF",
}
_ids = itertools.count(113_900_000_000_000_000)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_SEGMENT = re.compile(r"/(?:\d+|[0-9A-HJKMNP-TV-Z]{26})(?=/|$)")
_ulid_last = [0, 0]  # (milliseconds, sequence) of the last ULID: strictly increasing
_LINK = re.compile(r"https?://[^\s<]+")
_MENTION = re.compile(r"(?<![\w@/.])@(\w+)@([\w-]+(?:\.[\w-]+)+)")
_HASHTAG = re.compile(r"(?<![\w#&])#(\w+)")


@dataclass
class FakeAccount:
    id: str
    username: str
    display_name: str
    #: the bio as typed (``source.note``); ``note`` is served rendered to HTML
    note: str = ""
    #: profile fields (name, value) as typed; values are served rendered (links as <a>)
    fields: list[tuple[str, str]] = field(default_factory=list)
    #: the avatar's description (Mastodon 4.4+ ``avatar_description``); None: not served
    avatar_description: str | None = None


#: one request as the fake received it
Seen = Request


def ulid() -> str:
    """A ULID: 48 bits of milliseconds, then 80 bits; increasing within the process."""
    ms = int(time.time() * 1000)
    seq = _ulid_last[1] + 1 if ms <= _ulid_last[0] else secrets.randbits(64)
    ms = max(ms, _ulid_last[0])
    _ulid_last[:] = [ms, seq]
    value = (ms << 80) | (seq & ((1 << 80) - 1))
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def id_order(value: str) -> tuple[int, str]:
    """Order of ids as strings: by length, then characters (numeric and ULID alike)."""
    return len(value), value


class MastoError(Exception):
    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body: Any = {"error": error}
        self.headers = headers or {}


def render(text: str, base: str) -> str:
    """Mastodon's HTML for a plain-text status (the parts crosspost's shares use)."""

    def inline(segment: str) -> str:
        out, pos = "", 0
        for m in _LINK.finditer(segment):
            url = m.group(0)
            stripped = url.rstrip(".,;:!?)'\"")
            out += _words(segment[pos : m.start()], base)
            scheme, _, rest = stripped.partition("://")
            shown = (
                f'<span class="ellipsis">{html.escape(rest[:30])}</span>'
                f'<span class="invisible">{html.escape(rest[30:])}</span>'
                if len(rest) > 30
                else f'<span class="">{html.escape(rest)}</span>'
            )
            out += (
                f'<a href="{html.escape(stripped)}" target="_blank" rel="nofollow noopener" '
                f'translate="no"><span class="invisible">{scheme}://</span>{shown}</a>'
            )
            pos = m.start() + len(stripped)
        return out + _words(segment[pos:], base)

    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    return "".join(
        "<p>" + "<br />".join(inline(line) for line in p.split("\n")) + "</p>" for p in paragraphs
    )


def _words(segment: str, base: str) -> str:
    escaped = html.escape(segment, quote=False)
    escaped = _MENTION.sub(
        lambda m: (
            f'<span class="h-card" translate="no"><a href="https://{m.group(2)}/@{m.group(1)}" '
            f'class="u-url mention">@<span>{m.group(1)}</span></a></span>'
        ),
        escaped,
    )
    return _HASHTAG.sub(
        lambda m: (
            f'<a href="{base}/tags/{m.group(1).lower()}" class="mention hashtag" rel="tag">'
            f"#<span>{m.group(1)}</span></a>"
        ),
        escaped,
    )


class FakeMastodon(FakeServer):
    name = "fake-mastodon"
    create = ("POST", "POST /api/v1/statuses")

    def __init__(
        self,
        *,
        access_token: str,
        username: str = "anareyes",
        scopes: tuple[str, ...] = (
            "write:statuses",
            "write:media",
            "read:accounts",
            "read:statuses",
        ),
        max_characters: int = 500,
        version: str = "4.3.2",
        ids: str = "snowflake",
        idempotency: bool = True,
        counting: str = "mastodon",
        software: str = "mastodon",
    ) -> None:
        if ids not in ("snowflake", "ulid") or counting not in ("mastodon", "codepoints"):
            raise ValueError(f"ids={ids!r}, counting={counting!r}")
        super().__init__()
        #: "snowflake" (Mastodon's numeric ids) or "ulid" (GoToSocial's)
        self.ids = ids
        #: whether a repeated Idempotency-Key answers the original status
        self.idempotency = idempotency
        #: how max_characters is enforced: "mastodon" (23 per URL) or "codepoints"
        self.counting = counting
        #: which server the instance API says this is: "mastodon" or "gotosocial"
        self.software = software
        self.account = FakeAccount(self._new_id(), username, "Dr. Ana Reyes")
        #: token -> (account, scopes)
        self.tokens: dict[str, tuple[FakeAccount, set[str]]] = {
            access_token: (self.account, set(scopes))
        }
        #: whose account the browser login authorises
        self.login_account = self.account
        self.max_characters = max_characters
        self.version = version
        self.statuses: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.apps: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []
        #: GET /api/v1/media/:id polls that answer 206 before the upload is processed
        self.processing_polls = 0
        self._keys: dict[tuple[str, str], str] = {}

    # -- test controls -------------------------------------------------------------------------

    def fail(
        self,
        route: str,
        status: int,
        error: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        defaults = {
            401: "The access token is invalid",
            404: "Record not found",
            422: "Validation failed",
            429: "Too many requests",
            500: "We're sorry, but something went wrong on our end.",
            503: "Service Unavailable",
        }
        body = {"error": error or defaults.get(status, "Error")}
        self.inject(Failure(status, list((headers or {}).items()), body, route=route, times=times))

    def add_status(self, text: str, *, created_at: datetime | None = None) -> dict[str, Any]:
        """A status made outside the adapter (by hand, or long ago)."""
        with self.lock:
            return self._store_status(self.account, text, [], None, "en", created_at)

    def authorize(self, client_id: str, scope: str) -> str:
        """What the user does in the browser: sign in and approve; returns the code shown."""
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"client_id": client_id, "scope": scope, "account": self.login_account}
        return code

    # -- plumbing ------------------------------------------------------------------------------

    def route(self, req: Request) -> str:
        return f"{req.method} {_ID_SEGMENT.sub('/:id', req.path)}"

    def handle(self, req: Request) -> Response:
        base = f"http://{req.headers.get('Host')}"
        try:
            handler = self._routes().get(req.route)
            if handler is None:
                raise MastoError(404, "Record not found")
            with self.lock:
                status, payload = handler(req, base)
        except MastoError as e:
            return json_response(e.status, e.body, list(e.headers.items()), content_type=JSON)
        return json_response(status, payload, content_type=JSON)

    def error(self, status: int, body: Any = None) -> Response:
        return json_response(
            status, body if body is not None else {"error": "Error"}, content_type=JSON
        )

    def finish(self, req: Request, resp: Response) -> Response:
        reset = datetime.now(UTC) + timedelta(minutes=5)
        for k, v in (
            ("X-RateLimit-Limit", "300"),
            ("X-RateLimit-Remaining", "299"),
            ("X-RateLimit-Reset", reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
        ):
            if not resp.has_header(k):
                resp.headers.append((k, v))
        return resp

    def _bad(self, text: str, status: int = 422) -> MastoError:
        self.problems.append(text)
        return MastoError(status, f"fake Mastodon: {text}")

    def _auth(self, seen: Seen, scope: str) -> FakeAccount:
        header = seen.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise self._bad(f"{seen.route} without a Bearer token", 401)
        entry = self.tokens.get(header.removeprefix("Bearer "))
        if entry is None:
            raise MastoError(401, "The access token is invalid")
        account, scopes = entry
        top = scope.split(":")[0]
        if scope not in scopes and top not in scopes:
            raise MastoError(403, "This action is outside the authorized scopes")
        return account

    def _routes(self) -> dict[str, Any]:
        return {
            "GET /api/v1/instance/": self._instance_v1,
            "GET /api/v1/instance": self._instance_v1,
            "GET /api/v2/instance": self._instance_v2,
            "GET /api/v2/instance/": self._instance_v2,
            "GET /.well-known/oauth-authorization-server": self._oauth_metadata,
            "POST /api/v1/apps": self._create_app,
            "POST /oauth/token": self._token,
            "GET /api/v1/accounts/verify_credentials": self._verify_credentials,
            "GET /api/v1/accounts/:id/statuses": self._account_statuses,
            "POST /api/v2/media": self._media_post,
            "GET /api/v1/media/:id": self._media_get,
            "POST /api/v1/statuses": self._status_post,
        }

    # -- instance and OAuth --------------------------------------------------------------------

    def _configuration(self) -> dict[str, Any]:
        return {
            "statuses": {
                "max_characters": self.max_characters,
                "max_media_attachments": 4,
                "characters_reserved_per_url": 23,
            },
            "media_attachments": {
                "supported_mime_types": list(IMAGE_MAGIC),
                "description_limit": 1500,
                "image_size_limit": 16777216,
            },
        }

    def _instance_v1(self, seen: Seen, base: str) -> tuple[int, Any]:
        host = base.removeprefix("http://")
        return 200, {
            "uri": host,
            "title": "Psych Social",
            "version": self.version,
            "configuration": self._configuration(),
            "registrations": False,
        }

    def _instance_v2(self, seen: Seen, base: str) -> tuple[int, Any]:
        gts = self.software == "gotosocial"
        return 200, {
            "domain": base.removeprefix("http://"),
            "title": "Psych Social",
            # GoToSocial: the Mastodon API version it implements, "+" its own version
            "version": f"3.5.3+{self.version}" if gts else self.version,
            "api_versions": {"mastodon": 2},
            "source_url": "https://github.com/superseriousbusiness/gotosocial"
            if gts
            else "https://github.com/mastodon/mastodon",
            "configuration": self._configuration(),
        }

    def _oauth_metadata(self, seen: Seen, base: str) -> tuple[int, Any]:
        return 200, {
            "issuer": base + "/",
            "authorization_endpoint": base + "/oauth/authorize",
            "token_endpoint": base + "/oauth/token",
            "revocation_endpoint": base + "/oauth/revoke",
            "scopes_supported": sorted(KNOWN_SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "app_registration_endpoint": base + "/api/v1/apps",
        }

    def _create_app(self, seen: Seen, base: str) -> tuple[int, Any]:
        f = {k: v[0] for k, v in seen.form.items()}
        scopes = f.get("scopes", "").split()
        if not f.get("client_name") or f.get("redirect_uris") != OOB:
            raise self._bad(f"apps: client_name and redirect_uris={OOB} expected, got {f}")
        if not scopes or set(scopes) - KNOWN_SCOPES:
            raise self._bad(f"apps: unknown scopes {scopes}")
        client_id, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.apps[client_id] = {"secret": secret, "scopes": scopes, "name": f["client_name"]}
        return 200, {
            "id": str(next(_ids)),
            "name": f["client_name"],
            "website": None,
            "scopes": scopes,
            "redirect_uri": OOB,
            "redirect_uris": [OOB],
            "client_id": client_id,
            "client_secret": secret,
            "client_secret_expires_at": 0,
        }

    def _token(self, seen: Seen, base: str) -> tuple[int, Any]:
        f = {k: v[0] for k, v in seen.form.items()}
        app = self.apps.get(f.get("client_id", ""))
        if app is None or app["secret"] != f.get("client_secret"):
            raise MastoError(401, "invalid_client")
        if f.get("grant_type") != "authorization_code" or f.get("redirect_uri") != OOB:
            raise self._bad(
                f"token: unexpected grant {f.get('grant_type')}/{f.get('redirect_uri')}"
            )
        grant = self.codes.pop(f.get("code", ""), None)
        if grant is None or grant["client_id"] != f["client_id"]:
            e = MastoError(400, "invalid_grant")
            e.body["error_description"] = (
                "The provided authorization grant is invalid, expired, revoked, does not match "
                "the redirection URI used in the authorization request, or was issued to "
                "another client."
            )
            raise e
        if set(f.get("scope", "").split()) != set(grant["scope"].split()):
            raise self._bad("token: scope differs from the authorization request")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (grant["account"], set(grant["scope"].split()))
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "scope": grant["scope"],
            "created_at": int(time.time()),
        }

    # -- accounts and statuses -----------------------------------------------------------------

    def _account_json(self, account: FakeAccount, base: str) -> dict[str, Any]:
        return {
            "id": account.id,
            "username": account.username,
            "acct": account.username,
            "display_name": account.display_name,
            "locked": False,
            "bot": False,
            "created_at": "2023-01-10T00:00:00.000Z",
            "note": render(account.note, base) if account.note else "",
            "url": f"{base}/@{account.username}",
            "avatar": "",
            "header": "",
            "followers_count": 120,
            "following_count": 80,
            "statuses_count": len(self.statuses),
            "emojis": [],
            "fields": [
                {
                    "name": html.escape(n),
                    "value": render(v, base).removeprefix("<p>").removesuffix("</p>"),
                    "verified_at": None,
                }
                for n, v in account.fields
            ],
            **(
                {"avatar_description": account.avatar_description}
                if account.avatar_description is not None
                else {}
            ),
        }

    def _verify_credentials(self, seen: Seen, base: str) -> tuple[int, Any]:
        account = self._auth(seen, "read:accounts")
        data = self._account_json(account, base)
        data["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": "en",
            "note": account.note,
            "fields": [{"name": n, "value": v, "verified_at": None} for n, v in account.fields],
        }
        return 200, data

    def _status_json(self, s: dict[str, Any], base: str) -> dict[str, Any]:
        account = s["account"]
        return {
            "id": s["id"],
            "created_at": iso(s["created_at"]),
            "in_reply_to_id": s.get("in_reply_to"),
            "in_reply_to_account_id": s.get("in_reply_to_account"),
            "sensitive": False,
            "spoiler_text": "",
            "visibility": s["visibility"],
            "language": s["language"],
            "uri": f"{base}/users/{account.username}/statuses/{s['id']}",
            "url": f"{base}/@{account.username}/{s['id']}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "content": render(s["text"], base),
            "reblog": None,
            "account": self._account_json(account, base),
            "media_attachments": [self._media_json(self.media[m], base) for m in s["media_ids"]],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _account_statuses(self, seen: Seen, base: str) -> tuple[int, Any]:
        account = self._auth(seen, "read:statuses")
        if seen.path.split("/")[4] != account.id:
            raise self._bad("statuses of another account")
        q = {k: v[0] for k, v in seen.query.items()}
        limit = int(q.get("limit", "20"))
        if not 1 <= limit <= 40:
            raise self._bad(f"limit {limit} outside 1..40")
        mine = sorted(
            (s for s in self.statuses if s["account"] is account),
            key=lambda s: id_order(s["id"]),
            reverse=True,
        )
        if "max_id" in q:
            mine = [s for s in mine if id_order(s["id"]) < id_order(q["max_id"])]
        return 200, [self._status_json(s, base) for s in mine[:limit]]

    def _status_post(self, seen: Seen, base: str) -> tuple[int, Any]:
        account = self._auth(seen, "write:statuses")
        form = seen.form
        if not form and seen.body:
            raise self._bad("POST /api/v1/statuses must be form-encoded here")
        unknown = set(form) - {
            "status",
            "media_ids[]",
            "visibility",
            "language",
            "sensitive",
            "spoiler_text",
            "in_reply_to_id",
            "scheduled_at",
        }
        if unknown:
            raise self._bad(f"unknown status fields {sorted(unknown)}")
        text = form.get("status", [""])[0]
        media_ids = form.get("media_ids[]", [])
        visibility = form.get("visibility", ["public"])[0]
        language = form.get("language", [None])[0]
        if visibility not in ("public", "unlisted", "private", "direct"):
            raise self._bad(f"visibility {visibility!r}")
        if language is not None and not re.fullmatch(r"[a-z]{2,3}", language):
            raise MastoError(422, "Validation failed: Language is not a valid language")
        parent = None
        if "in_reply_to_id" in form:
            wanted = form["in_reply_to_id"][0]
            parent = next((x for x in self.statuses if x["id"] == wanted), None)
            if parent is None:  # what Mastodon answers for a status it does not have
                raise MastoError(404, "Record not found")
        key = seen.headers.get("Idempotency-Key") if self.idempotency else None
        if key is not None and (account.id, key) in self._keys:
            original = next(s for s in self.statuses if s["id"] == self._keys[(account.id, key)])
            return 200, self._status_json(original, base)
        if not text.strip() and not media_ids:
            raise MastoError(422, "Validation failed: Text can't be blank")
        if self._length(text) > self.max_characters:
            raise MastoError(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        if len(media_ids) > 4:
            raise MastoError(422, "Validation failed: Media attachments too many")
        for mid in media_ids:
            m = self.media.get(mid)
            if m is None or m["account"] is not account or m["status"] is not None:
                raise self._bad(f"media {mid} unknown, not the account's, or already attached")
            if m["polls_left"] > 0:
                raise MastoError(
                    422,
                    "Cannot attach files that have not finished processing. Try again in a moment!",
                )
        s = self._store_status(account, text, media_ids, visibility, language, None)
        if parent is not None:
            s["in_reply_to"] = parent["id"]
            s["in_reply_to_account"] = parent["account"].id
        if key is not None:
            self._keys[(account.id, key)] = s["id"]
        return 200, self._status_json(s, base)

    def _length(self, text: str) -> int:
        if self.counting == "codepoints":
            return len(text)  # GoToSocial: runes of the text, URLs at full length
        return int(Mastodon.get_status_length(text))

    def _new_id(self) -> str:
        return ulid() if self.ids == "ulid" else str(next(_ids))

    def _store_status(
        self,
        account: FakeAccount,
        text: str,
        media_ids: list[str],
        visibility: str | None,
        language: str | None,
        created_at: datetime | None,
    ) -> dict[str, Any]:
        s = {
            "id": self._new_id(),
            "account": account,
            "text": text,
            "media_ids": media_ids,
            "visibility": visibility or "public",
            "language": language,
            "created_at": created_at or datetime.now(UTC),
        }
        for mid in media_ids:
            self.media[mid]["status"] = s["id"]
        self.statuses.append(s)
        return s

    # -- media ---------------------------------------------------------------------------------

    def _media_json(self, m: dict[str, Any], base: str) -> dict[str, Any]:
        url = None if m["polls_left"] > 0 else f"{base}/system/media/{m['id']}.png"
        return {
            "id": m["id"],
            "type": "image",
            "url": url,
            "preview_url": url,
            "remote_url": None,
            "description": m["description"],
            "blurhash": None,
            "meta": {"original": {"width": 1, "height": 1}},
        }

    def _media_post(self, seen: Seen, base: str) -> tuple[int, Any]:
        account = self._auth(seen, "write:media")
        ctype = seen.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            raise self._bad("POST /api/v2/media must be multipart/form-data")
        parts = seen.parts()
        if "file" not in parts:
            raise self._bad("POST /api/v2/media without a 'file' part")
        filename, mime, data = parts["file"]
        unknown = set(parts) - {"file", "description", "focus", "thumbnail"}
        if unknown:
            raise self._bad(f"unknown media fields {sorted(unknown)}")
        if not any(data.startswith(magic) for magic in IMAGE_MAGIC.values()):
            raise MastoError(
                422, "Validation failed: File content type is invalid, File is invalid"
            )
        description = parts["description"][2].decode() if "description" in parts else None
        if description is not None and len(description) > 1500:
            raise MastoError(
                422, "Validation failed: Description is too long (maximum is 1500 characters)"
            )
        mid = self._new_id()
        m = {
            "id": mid,
            "account": account,
            "data": data,
            "mime": mime,
            "filename": filename,
            "description": description,
            "status": None,
            "polls_left": self.processing_polls,
        }
        self.media[mid] = m
        return (202 if m["polls_left"] else 200), self._media_json(m, base)

    def _media_get(self, seen: Seen, base: str) -> tuple[int, Any]:
        account = self._auth(seen, "write:media")
        m = self.media.get(seen.path.split("/")[4])
        if m is None or m["account"] is not account:
            raise MastoError(404, "Record not found")
        if m["polls_left"] > 0:
            m["polls_left"] -= 1
            if m["polls_left"] > 0:
                return 206, self._media_json(m, base)
        return 200, self._media_json(m, base)


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))
