"""LinkedIn: share posts as a member or an organisation page through the REST Posts API.

Every request to ``https://api.linkedin.com/rest/...`` carries ``Authorization: Bearer``,
``LinkedIn-Version: YYYYMM`` (the account's ``api_version``, else :data:`DEFAULT_VERSION`:
LinkedIn retires a version about a year after its release, and answers 426 for one it no
longer serves) and ``X-Restli-Protocol-Version: 2.0.0``.

Credentials, in the keyring under ``crosspost/<persona>/<account>``: the app's ``client_id``
and ``client_secret`` (needed to refresh), the member's ``access_token`` and, where LinkedIn
hands them out, ``refresh_token``; ``expires_at`` / ``refresh_expires_at`` (Unix seconds) and
``member_id`` (the ``sub`` of ``/v2/userinfo``) are written by the login and by each refresh.

Publishing (:meth:`LinkedInAdapter.publish`):

1. Images: ``POST /rest/images?action=initializeUpload`` with the author as ``owner`` gives an
   ``uploadUrl`` and the image URN; the bytes go there with ``PUT`` (only to a linkedin.com
   address, or to the test origin: the token goes with them). One image becomes
   ``content.media`` ``{id, altText}``, 2 to 20 ``content.multiImage``.
2. Without images, an entry's share carries the canonical URL as ``content.article``
   (``source``, ``title``, ``description``), and in the text too if the share template puts it
   there. With images, the images win (a post has one kind of content) and the link stays in
   the text, where LinkedIn links it.
3. ``POST /rest/posts`` with ``author``, ``commentary``, ``visibility``, ``distribution``
   (main feed), ``lifecycleState: PUBLISHED``. The answer is 201 with an empty body; the post
   URN (``urn:li:share:…`` or ``urn:li:ugcPost:…``) is the ``x-restli-id`` header, and the
   public address ``https://www.linkedin.com/feed/update/<urn>/``.

The commentary is "little" text: ``\\ | { } @ [ ] ( ) < > # * _ ~`` are markup and must be
escaped with a backslash to be text; LinkedIn cuts the post at the first one that is not (or
refuses it). :func:`little_text` escapes them all, URLs included, and writes each hashtag of
the text as LinkedIn's hashtag template ``{hashtag|\\#|word}`` so it stays a hashtag.

OAuth 2 (:meth:`LinkedInAdapter.login_flow`): the authorization-code flow with the scopes
``openid profile w_member_social`` (plus ``w_organization_social r_organization_social`` for
an organisation author); the user pastes the address LinkedIn redirected to (or the code).
Access tokens last about 60 days; LinkedIn gives refresh tokens only to some approved apps.
A token past its ``expires_at``, or one answered 401, is refreshed once
(``POST /oauth/v2/accessToken`` ``grant_type=refresh_token``) and the new tokens stored; with
no refresh token, or one LinkedIn refuses, the error says to run ``crosspost accounts login``.

What a failure means (``maybe_sent``: the post may exist, so the publisher asks
:meth:`LinkedInAdapter.lookup` before posting again)::

    failure                                   error            maybe_sent  retry_after
    429                                       TransientError   False       Retry-After
    5xx / time-out / dropped answer, posts    TransientError   True
    5xx / time-out, image upload, reads       TransientError   False
    connect error                             TransientError   False
    401 (after one refresh)                   PermanentError   hint: accounts login
    403 / 422 / 400                           PermanentError   LinkedIn's message
    422 "Content is a duplicate of <urn>"     PermanentError   names the earlier post
    426 (version no longer served)            PermanentError   hint: api_version

Lookup reads the author's newest posts (``GET /rest/posts?q=author&author=<urn>
&sortBy=LAST_MODIFIED``) and matches the commentary, unescaped, with the text matching of the
Mastodon adapter. Reading a member's posts needs ``r_member_social``, which LinkedIn keeps for
approved partners: a 403 there raises ``LookupUnsupported`` so the delivery waits for
``crosspost retry`` instead of risking a second post.

Length: see :func:`crosspost.platforms.specs.linkedin.linkedin_length`.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import httpx

from .. import credentials
from ..errors import PermanentError, TransientError, UsageError
from . import _http
from .base import (
    AdapterContext,
    Ask,
    CredentialField,
    LookupUnsupported,
    MediaItem,
    PlatformAdapter,
    Publication,
    Result,
    Say,
)
from .mastodon import same_text
from .specs.linkedin import (
    DEFAULT_REDIRECT,
    DEFAULT_VERSION,
    SPEC,
    LinkedInAccount,
    linkedin_length,
)
from .specs.linkedin import ORGANIZATION_RE as _ORG_RE
from .specs.linkedin import PERSON_RE as _PERSON_RE

API = "https://api.linkedin.com"
WWW = "https://www.linkedin.com"
LIMIT = SPEC.limit
MEMBER_SCOPES = ("openid", "profile", "w_member_social")
ORGANIZATION_SCOPES = ("w_organization_social", "r_organization_social")
MAX_IMAGES = 20
MAX_ALT = 4086
IMAGE_MAGIC = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
#: a post made up to this long before ``scheduled_at`` (clock skew) still counts in lookup
LOOKUP_SLACK = timedelta(minutes=1)
LOOKUP_PAGE = 20
LOOKUP_PAGES = 5
#: a token this close to its expiry is refreshed before use
EXPIRY_MARGIN = 120.0
#: the characters that are markup in LinkedIn's "little" text format
RESERVED = frozenset("\\|{}@[]()<>#*_~")
_URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_HASHTAG_RE = re.compile(r"(?<![\w#&/])#(\w+)")
_LITTLE_HASHTAG_RE = re.compile(r"\{hashtag\|\\?[#＃]\|([^{}|]*)\}")
_LITTLE_MENTION_RE = re.compile(r"@\[((?:\\.|[^\]\\])*)\]\((urn:li:[^)]*)\)")
_DUPLICATE_RE = re.compile(r"duplicate of (urn:li:\w+:\d+)", re.IGNORECASE)

#: (persona, account) -> lock: one refresh at a time per account in this process
_REFRESH_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


# -- text ------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return "".join("\\" + c if c in RESERVED else c for c in text)


def little_text(text: str) -> str:
    """``text`` as LinkedIn "little" text: every reserved character escaped, hashtags as
    ``{hashtag|\\#|word}``. URLs are escaped too (LinkedIn reads them back as plain text and
    links them), and a ``#`` inside a URL is never a hashtag."""
    out: list[str] = []
    pos = 0
    for m in _URL_RE.finditer(text):
        out.append(_plain_part(text[pos : m.start()]))
        out.append(_escape(m.group(0)))
        pos = m.end()
    out.append(_plain_part(text[pos:]))
    return "".join(out)


def _plain_part(segment: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _HASHTAG_RE.finditer(segment):
        out.append(_escape(segment[pos : m.start()]))
        out.append("{hashtag|\\#|" + _escape(m.group(1)) + "}")
        pos = m.end()
    out.append(_escape(segment[pos:]))
    return "".join(out)


def plain_text(little: str) -> str:
    """What members see of a little-text commentary: hashtags as ``#word``, mentions as
    ``@Name``, escapes removed (for matching a post read back from LinkedIn)."""
    little = _LITTLE_HASHTAG_RE.sub(lambda m: "#" + m.group(1), little)
    little = _LITTLE_MENTION_RE.sub(lambda m: "@" + m.group(1), little)
    return re.sub(r"\\(.)", r"\1", little, flags=re.DOTALL)


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


# -- the adapter ------------------------------------------------------------------------------


class LinkedInAdapter(PlatformAdapter):
    """Posts to one LinkedIn member or organisation page; see the module docstring."""

    platform: ClassVar[str] = SPEC.name
    credential_fields: ClassVar[tuple[CredentialField, ...]] = SPEC.credential_fields
    #: also stored by the login and each refresh when LinkedIn gives them; not required
    oauth_fields: ClassVar[tuple[str, ...]] = (
        "refresh_token",
        "expires_at",
        "refresh_expires_at",
        "member_id",
    )

    def __init__(
        self,
        ctx: AdapterContext,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """``base_url`` is for tests only: every LinkedIn address (api.linkedin.com,
        www.linkedin.com/oauth) goes to this origin instead (a local fake)."""
        if not isinstance(ctx.account, LinkedInAccount):
            raise PermanentError(
                "the LinkedIn adapter needs a LinkedIn account", hint="this is a bug"
            )
        super().__init__(ctx, base_url=base_url, timeout=timeout)
        self.account: LinkedInAccount = ctx.account
        self.api = self.base_url or API
        self.oauth = f"{self.base_url or WWW}/oauth/v2"
        self.version = self.account.api_version or DEFAULT_VERSION
        self._client_obj: httpx.Client | None = None
        self._creds: dict[str, str] | None = None

    def __repr__(self) -> str:  # never a token
        return f"LinkedInAdapter(persona={self.ctx.persona.name!r}, account={self.account.name!r})"

    def close(self) -> None:
        if self._client_obj is not None:
            self._client_obj.close()
            self._client_obj = None

    # -- the Adapter protocol ---------------------------------------------------------------

    def publish(self, pub: Publication) -> Result:
        images = _check_media(pub.media)
        try:
            author = self._author()
            media = [
                self._upload(author, item, mime, n) for n, (item, mime) in enumerate(images, 1)
            ]
        except TransientError as e:
            raise _http.not_sent(e) from None
        body: dict[str, Any] = {
            "author": author,
            "commentary": little_text(pub.text),
            "visibility": self._visibility(author),
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        content = _content(pub, media)
        if content is not None:
            body["content"] = content
        resp = self._call(
            "POST", f"{self.api}/rest/posts", json=body, action="posting", allow=(422,)
        )
        if resp.status_code == 422:
            _code, detail = _http.error_detail(resp, self._secrets())
            m = _DUPLICATE_RE.search(detail)
            if m is None:
                self._raise_for(resp)
                raise AssertionError("a 422 always raises")
            raise PermanentError(
                f"LinkedIn refused the post as a duplicate of {post_url(m.group(1))}",
                hint="LinkedIn refuses the same text twice in a short time; if that post is the "
                "one an earlier attempt made, this delivery is published already",
            )
        urn = unquote(resp.headers.get("x-restli-id", "")).strip()
        if not urn.startswith("urn:li:"):
            raise _http.transient(
                f"LinkedIn answered HTTP {resp.status_code} without the post's id",
                hint="the post may exist; crosspost checks before posting again",
                maybe_sent=True,
            )
        return Result(remote_id=urn, url=post_url(urn))

    def lookup(self, pub: Publication) -> Result | None:
        """The author's post with this text created since ``scheduled_at`` (minus a minute)."""
        start = pub.scheduled_at - LOOKUP_SLACK
        found: list[dict[str, Any]] = []
        try:
            author = self._author()
            for page in range(LOOKUP_PAGES):
                query = urlencode(
                    {
                        "q": "author",
                        "author": author,
                        "count": LOOKUP_PAGE,
                        "start": page * LOOKUP_PAGE,
                        "sortBy": "LAST_MODIFIED",
                    },
                    quote_via=quote,
                    safe="",
                )
                resp = self._call(
                    "GET",
                    f"{self.api}/rest/posts?{query}",
                    headers={"X-RestLi-Method": "FINDER"},
                    action="looking for an earlier post",
                    allow=(403,),
                )
                if resp.status_code == 403:
                    _code, detail = _http.error_detail(resp, self._secrets())
                    raise LookupUnsupported(
                        f"LinkedIn does not let this app read the posts of {author} ({detail}); "
                        "reading them needs r_member_social (a member) or r_organization_social "
                        "(a page)"
                    )
                elements = _elements(resp)
                found.extend(elements)
                # newest change first: past a post last changed before the window, no post
                # of ours (never changed) can follow
                if len(elements) < LOOKUP_PAGE or any(_modified(p) < start for p in elements):
                    break
        except TransientError as e:
            e.maybe_sent = True  # the question is still open: ask again next time
            raise
        matches = [
            p
            for p in found
            if p.get("lifecycleState", "PUBLISHED") == "PUBLISHED"
            and (_created(p) or start) >= start
            and _same_post(pub.text, p)
        ]
        if not matches:
            return None
        first = min(matches, key=lambda p: (_created(p) or start, str(p.get("id"))))
        urn = str(first["id"])
        return Result(remote_id=urn, url=post_url(urn))

    def verify(self) -> str:
        who = self._userinfo()
        _check_identity(self.account, who)
        name = who.get("name") or "member"
        author = self._configured_author()
        as_page = f", posting as {author}" if author and _ORG_RE.match(author) else ""
        return f"LinkedIn member {name} (urn:li:person:{who['sub']}){as_page}"

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
        """LinkedIn's authorization-code flow; returns what to store in the keyring.

        Asks for the app's client id and secret, shows the authorisation address, asks for
        the address the browser was sent to afterwards (or just its ``code``), exchanges the
        code for tokens, and asks ``/v2/userinfo`` whose they are: a token of another member
        than the configured ``author`` (or ``handle``, when it is a person URN) is refused
        before anything is stored.
        """
        from ..logs import register_secret

        if not isinstance(ctx.account, LinkedInAccount):
            raise UsageError("logging in to LinkedIn needs a LinkedIn account")
        self = cls(ctx, base_url=base_url, timeout=timeout)
        account = self.account
        author = self._configured_author()
        scopes = MEMBER_SCOPES + (ORGANIZATION_SCOPES if author and _ORG_RE.match(author) else ())
        redirect = self.account.redirect_uri or DEFAULT_REDIRECT
        say(
            f"Logging in '{account.name}' on LinkedIn. You need an app at "
            "https://www.linkedin.com/developers/apps with the products 'Sign In with LinkedIn "
            "using OpenID Connect' and 'Share on LinkedIn'"
            + (" and the Community Management API" if len(scopes) > len(MEMBER_SCOPES) else "")
            + f", and {redirect} among its Authorized redirect URLs (Auth tab)."
        )
        client_id = ask("Client ID of your LinkedIn app", False).strip()
        client_secret = ask("Client secret of your LinkedIn app", True).strip()
        if not client_id or not client_secret:
            raise UsageError("the app's client id and secret are both needed; nothing was stored")
        register_secret(client_secret)
        state = secrets.token_urlsafe(16)
        url = f"{self.oauth}/authorization?" + urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect,
                "state": state,
                "scope": " ".join(scopes),
            },
            quote_via=quote,
        )
        say(
            "Open this address in a browser, sign in to LinkedIn as the member who posts"
            f"{' for ' + author if author and _ORG_RE.match(author) else ''} and allow the "
            f"app. The browser then goes to {redirect}?code=… (the page may not load: that is "
            f"fine). Copy that whole address from the address bar.\n  {url}"
        )
        answer = ask("The address the browser went to (or its code)", True).strip()
        code = _code_from(answer, state)
        register_secret(code)
        now = time.time()
        resp = self._send(
            "POST",
            f"{self.oauth}/accessToken",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": client_id,
                "client_secret": client_secret,
            },
        )
        if resp.status_code in (400, 401):
            _code, detail = _http.error_detail(resp, (client_secret, code))
            raise PermanentError(
                f"LinkedIn did not accept the code ({detail})",
                hint=f"{_http.login_hint(account.name)} again; a code works once and for a few "
                "minutes, and the client id, secret and redirect URL must be the app's",
            )
        _http.raise_for(resp, account.name, secrets=(client_secret, code))
        values = {"client_id": client_id, "client_secret": client_secret, **_tokens(resp, now)}
        resp = self._send(
            "GET",
            f"{self.api}/v2/userinfo",
            headers={"Authorization": f"Bearer {values['access_token']}"},
        )
        _http.raise_for(resp, account.name, secrets=(client_secret, values["access_token"]))
        who = _who(resp, account.name)
        _check_identity(account, who)
        values["member_id"] = str(who["sub"])
        say(
            f"Authorised as {who.get('name') or 'member'} (urn:li:person:{who['sub']}); the "
            f"token expires {_when(values['expires_at'])}"
            + (
                ", and is refreshed automatically."
                if values["refresh_token"]
                else ": LinkedIn gave no refresh token, so log in again before then."
            )
        )
        return values

    # -- requests ------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._client_obj is None:
            self._client_obj = self.http_client()
        return self._client_obj

    def _secrets(self) -> tuple[str, ...]:
        """What to redact from LinkedIn's error texts: this account's secrets, and every
        secret the process has read or been given (a token replaced by a refresh is still
        one until it expires)."""
        from ..logs import REDACT

        c = self._creds or {}
        mine = (c.get(k, "") for k in ("access_token", "refresh_token", "client_secret"))
        return (*(v for v in mine if v), *REDACT.secrets)

    def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """One request; a failure without an answer becomes a crosspost error."""
        try:
            return self._client().request(method, url, **kw)
        except httpx.TransportError as e:
            raise _http.from_transport_error(e, method=method) from None

    def _call(
        self,
        method: str,
        url: str,
        *,
        action: str,
        headers: Mapping[str, str] | None = None,
        rest: bool = True,
        allow: tuple[int, ...] = (),
        **kw: Any,
    ) -> httpx.Response:
        """A request with the account's token; a 401 refreshes the token once and repeats it
        (a request answered 401 was not carried out)."""
        token = self._token()
        for attempt in (1, 2):
            hdrs = {"Authorization": f"Bearer {token}"}
            if rest:
                hdrs.update(
                    {"LinkedIn-Version": self.version, "X-Restli-Protocol-Version": "2.0.0"}
                )
            hdrs.update(headers or {})
            resp = self._send(method, url, headers=hdrs, **kw)
            if resp.status_code == 401 and attempt == 1:
                token = self._refresh(token, "LinkedIn answered 401 while " + action)
                continue
            if resp.status_code not in allow:
                self._raise_for(resp)
            return resp
        raise AssertionError("unreachable")

    def _raise_for(self, resp: httpx.Response) -> None:
        _http.raise_for(
            resp,
            self.account.name,
            secrets=self._secrets(),
            hints={
                "401": "LinkedIn tokens last about 60 days",
                "403": "the token lacks a scope for this, or the member may not post for this "
                "author; log in again (see docs/platforms/linkedin.md)",
                "426": f"LinkedIn no longer serves API version {self.version}: set api_version "
                "to a recent one (YYYYMM) for the account in the profile, or update crosspost",
            },
        )

    # -- tokens --------------------------------------------------------------------------------

    def _load(self) -> dict[str, str]:
        names = tuple(f.name for f in self.credential_fields)
        creds = credentials.load(self.ctx.persona.name, self.account.name, names)
        service = credentials.service_name(self.ctx.persona.name, self.account.name)
        for name in self.oauth_fields:
            value = credentials.get_secret(service, name)
            if value:
                creds[name] = value
        self._creds = creds
        return creds

    def _token(self) -> str:
        creds = self._creds or self._load()
        expires = _float(creds.get("expires_at"))
        if expires is not None and time.time() >= expires - EXPIRY_MARGIN:
            return self._refresh(
                creds["access_token"], f"the access token expired {_when(creds['expires_at'])}"
            )
        return creds["access_token"]

    def _refresh(self, stale: str, why: str) -> str:
        """A new access token from the refresh token, stored in the keyring; ``stale`` is the
        token that failed (another delivery may have refreshed it already)."""
        from ..logs import register_secret

        with _refresh_lock(self.ctx.persona.name, self.account.name):
            creds = self._load()
            if creds["access_token"] != stale:
                return creds["access_token"]
            hint = f"{_http.login_hint(self.account.name)}; LinkedIn tokens last about 60 days"
            refresh = creds.get("refresh_token")
            if not refresh:
                raise PermanentError(
                    f"{why}, and there is no refresh token for '{self.account.name}' "
                    "(LinkedIn gives them only to some approved apps)",
                    hint=hint,
                )
            until = _float(creds.get("refresh_expires_at"))
            if until is not None and time.time() >= until:
                raise PermanentError(
                    f"{why}, and the refresh token expired {_when(creds['refresh_expires_at'])}",
                    hint=hint,
                )
            now = time.time()
            resp = self._send(
                "POST",
                f"{self.oauth}/accessToken",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": refresh,
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                },
            )
            if resp.status_code in (400, 401):
                _code, detail = _http.error_detail(resp, self._secrets())
                raise PermanentError(
                    f"{why}, and LinkedIn refused the refresh token ({detail})", hint=hint
                )
            try:
                _http.raise_for(resp, self.account.name, secrets=self._secrets())
            except TransientError as e:
                raise _http.not_sent(e) from None
            values = _tokens(resp, now)
            if not values["refresh_token"]:
                values["refresh_token"] = refresh  # LinkedIn may keep the old one
                values["refresh_expires_at"] = creds.get("refresh_expires_at", "")
            for key in ("access_token", "refresh_token"):
                register_secret(values[key])
            credentials.store(self.ctx.persona.name, self.account.name, values)
            creds.update(values)
            self._creds = creds
            return values["access_token"]

    # -- who posts -----------------------------------------------------------------------------

    def _configured_author(self) -> str | None:
        return self.account.author

    def _author(self) -> str:
        author = self._configured_author()
        if author:
            return author
        creds = self._creds or self._load()
        member = creds.get("member_id")
        if not member:
            member = str(self._userinfo()["sub"])
        return f"urn:li:person:{member}"

    def _visibility(self, author: str) -> str:
        wanted = (self.account.visibility or "public").upper()
        if wanted == "CONNECTIONS" and _ORG_RE.match(author):
            return "PUBLIC"  # a page has followers, not connections
        return wanted

    def _userinfo(self) -> dict[str, Any]:
        resp = self._call(
            "GET", f"{self.api}/v2/userinfo", action="checking the account", rest=False
        )
        return _who(resp, self.account.name)

    # -- images --------------------------------------------------------------------------------

    def _upload(self, author: str, item: MediaItem, mime: str, n: int) -> dict[str, str]:
        resp = self._call(
            "POST",
            f"{self.api}/rest/images?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": author}},
            action=f"preparing image {n}",
        )
        value = (resp.json() or {}).get("value") or {}
        upload, urn = value.get("uploadUrl"), value.get("image")
        if not isinstance(upload, str) or not isinstance(urn, str):
            raise PermanentError(f"LinkedIn's answer for image {n} has no upload address")
        if not self._trusted(upload):
            raise PermanentError(
                f"LinkedIn gave an upload address outside linkedin.com for image {n} "
                f"({urlsplit(upload).netloc}); the token is not sent there",
                hint="try again later; report it if it persists",
            )
        self._call(
            "PUT",
            upload,
            content=item.path.read_bytes(),
            headers={"Content-Type": mime},
            action=f"uploading image {n}",
            rest=False,
        )
        return {"id": urn, "altText": item.alt}

    def _trusted(self, url: str) -> bool:
        parts = urlsplit(url)
        if self.base_url is not None:
            base = urlsplit(self.base_url)
            if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
                return True
        host = (parts.hostname or "").lower()
        return parts.scheme == "https" and (
            host == "linkedin.com" or host.endswith(".linkedin.com")
        )


# -- helpers ---------------------------------------------------------------------------------


def _refresh_lock(persona: str, account: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _REFRESH_LOCKS.setdefault((persona, account), threading.Lock())


def _check_media(media: Iterable[MediaItem]) -> list[tuple[MediaItem, str]]:
    items = list(media)
    if len(items) > MAX_IMAGES:
        raise PermanentError(
            f"LinkedIn takes at most {MAX_IMAGES} images per post; this one has {len(items)}",
            hint="remove images from the entry, or leave them to the blog",
        )
    out = []
    for n, item in enumerate(items, 1):
        if len(item.alt) > MAX_ALT:
            raise PermanentError(
                f"the alt text of image {n} has {len(item.alt)} characters; LinkedIn allows "
                f"{MAX_ALT}",
                hint="shorten it",
            )
        try:
            head = item.path.read_bytes()[:16]
        except OSError:
            raise PermanentError(
                f"image {n} is missing", hint="the post's media snapshot is gone; queue it again"
            ) from None
        mime = next((t for magic, t in IMAGE_MAGIC.items() if head.startswith(magic)), None)
        if mime is None:
            raise PermanentError(
                f"image {n} is not a JPEG, PNG or GIF, the images LinkedIn takes",
                hint="convert it, or leave it to the blog",
            )
        out.append((item, mime))
    return out


def _content(pub: Publication, media: list[dict[str, str]]) -> dict[str, Any] | None:
    if len(media) == 1:
        return {"media": media[0]}
    if media:
        return {"multiImage": {"images": media}}
    if pub.canonical_url:
        article: dict[str, str] = {
            "source": pub.canonical_url,
            "title": pub.title or pub.canonical_url,
        }
        if pub.summary:
            article["description"] = pub.summary
        return {"article": article}
    return None


def _tokens(resp: httpx.Response, now: float) -> dict[str, str]:
    """The tokens of an ``accessToken`` answer, with their expiry as Unix seconds."""
    from ..logs import register_secret

    try:
        data = resp.json()
    except ValueError:
        data = None
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise PermanentError("LinkedIn's token answer has no access_token")
    register_secret(token)
    refresh = data.get("refresh_token") if isinstance(data, dict) else None
    if isinstance(refresh, str) and refresh:
        register_secret(refresh)
    else:
        refresh = ""

    def at(key: str) -> str:
        seconds = data.get(key) if isinstance(data, dict) else None
        return str(int(now + seconds)) if isinstance(seconds, int | float) else ""

    return {
        "access_token": token,
        "expires_at": at("expires_in"),
        "refresh_token": refresh,
        "refresh_expires_at": at("refresh_token_expires_in") if refresh else "",
    }


def _code_from(answer: str, state: str) -> str:
    """The authorization code in what the user pasted: the redirected address, or the code."""
    if not answer:
        raise UsageError("nothing was pasted; nothing was stored")
    if "://" not in answer and "?" not in answer and "=" not in answer:
        return answer
    query = parse_qs(urlsplit(answer).query)
    if "error" in query:
        detail = (query.get("error_description") or query["error"])[0]
        raise PermanentError(
            f"LinkedIn did not authorise the app ({detail})",
            hint="allow the app when LinkedIn asks; the app needs the products named above",
        )
    got = (query.get("state") or [""])[0]
    if got != state:
        raise UsageError(
            "the pasted address is not the answer to this login (its state differs); "
            "nothing was stored"
        )
    code = (query.get("code") or [""])[0]
    if not code:
        raise UsageError("the pasted address has no code; nothing was stored")
    return code


def _check_identity(account: LinkedInAccount, who: Mapping[str, Any]) -> None:
    """The token must be the configured member's: posting as the wrong person is exactly what
    crosspost exists to prevent. A page (organisation author) is checked by LinkedIn."""
    member = f"urn:li:person:{who['sub']}"
    author = account.author
    handle = (account.handle or "").strip()
    want = (
        author
        if author and _PERSON_RE.match(author)
        else handle
        if _PERSON_RE.match(handle)
        else None
    )
    if want and want != member:
        raise PermanentError(
            f"the LinkedIn token of '{account.name}' belongs to {who.get('name') or member} "
            f"({member}), not {want}",
            hint=f"{_http.login_hint(account.name)} and sign in to LinkedIn as that member",
        )


def _who(resp: httpx.Response, account: str) -> dict[str, Any]:
    """The member ``/v2/userinfo`` names (``sub`` is the id of ``urn:li:person:<sub>``)."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("sub"):
        raise PermanentError(
            "LinkedIn's /v2/userinfo did not say who the token belongs to",
            hint=f"the token needs the scopes openid and profile: {_http.login_hint(account)}",
        )
    return data


def _elements(resp: httpx.Response) -> list[dict[str, Any]]:
    try:
        data = resp.json()
    except ValueError:
        data = None
    elements = data.get("elements") if isinstance(data, dict) else None
    return [e for e in elements if isinstance(e, dict)] if isinstance(elements, list) else []


def _created(post: Mapping[str, Any]) -> datetime | None:
    ms = post.get("createdAt") or post.get("publishedAt")
    return datetime.fromtimestamp(ms / 1000, UTC) if isinstance(ms, int | float) else None


def _modified(post: Mapping[str, Any]) -> datetime:
    ms = post.get("lastModifiedAt") or post.get("createdAt")
    return datetime.fromtimestamp(ms / 1000, UTC) if isinstance(ms, int | float) else _FAR


_FAR = datetime.max.replace(tzinfo=UTC)


def _same_post(ours: str, post: Mapping[str, Any]) -> bool:
    theirs = plain_text(str(post.get("commentary") or ""))
    article = ((post.get("content") or {}).get("article") or {}).get("source")
    links = [article] if isinstance(article, str) else []
    links.extend(m.group(0).rstrip(_TRAILING) for m in _URL_RE.finditer(theirs))
    return same_text(ours, theirs, links)


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _when(epoch: str) -> str:
    value = _float(epoch)
    if value is None:
        return "at an unknown time"
    return "on " + datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M UTC")


__all__ = [
    "DEFAULT_VERSION",
    "LIMIT",
    "LinkedInAdapter",
    "linkedin_length",
    "little_text",
    "plain_text",
    "post_url",
]
