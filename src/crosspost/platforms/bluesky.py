"""Bluesky (AT Protocol) share adapter, built on the ``atproto`` SDK (imported lazily).

Exactly-once: every post is created with ``com.atproto.repo.createRecord`` under a record key
(a TID) derived from the delivery's idempotency key and scheduled time, so a retry targets the
same key. A real PDS answers a reused key with HTTP 500 ``InternalServerError`` ("There is
already a value at key"), not a clean conflict, so after any answer that leaves the outcome open
(5xx, 409, time-out) the adapter reads the key back with ``com.atproto.repo.getRecord``: the same
text there means the post is ours and published.

Sessions: ``createSession`` is limited to 30 per 5 minutes and 300 per day, so the exported
session (access and refresh JWTs) is kept in the keyring next to the app password (field
``session``) and reused; the SDK refreshes it, every change is written back, and an expired or
revoked session falls back to one fresh login with the app password.

Rich text: links (every http(s) URL and bare domains with a known TLD, as the Bluesky app does),
``@handle`` mentions (resolved to DIDs; unresolvable ones stay plain text) and ``#hashtags``
become facets with UTF-8 byte offsets. Link cards are built from the entry itself (title,
summary, first image); the web page is never fetched.

HTTP: every request carries the context's User-Agent and goes through its proxy (when one is
set), and waits at most ``daemon.request_timeout`` (the context's ``timeout``); a
read-only request that finds its kept-alive connection dropped is sent once more
(``_http.resend_read_once``, hooked into the SDK's request class); createRecord and uploadBlob
never are (a dropped createRecord is checked with getRecord as above).
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from .. import credentials
from ..errors import ConfigError, PermanentError, TransientError
from ._http import resend_read_once
from .base import (
    AdapterContext,
    CredentialField,
    PlatformAdapter,
    ProfileInfo,
    Publication,
    PublishedItem,
    Result,
)
from .specs.bluesky import SPEC, BlueskyAccount

log = logging.getLogger(__name__)

DEFAULT_PDS = "https://bsky.social"
POST_COLLECTION = "app.bsky.feed.post"
PROFILE_COLLECTION = "app.bsky.actor.profile"
#: listRecords answers at most this many records a page
LIST_PAGE = 100
SESSION_FIELD = "session"
APP_PASSWORD_FIELD = "app_password"  # noqa: S105 - a keyring field name
#: conservative blob limit for images and link-card thumbnails (the lexicon allows 1 MB / 2 MB)
MAX_BLOB_BYTES = 1_000_000
MAX_IMAGES = 4
MAX_TAG_GRAPHEMES = 64
APP_PASSWORDS_HELP = (
    "In the Bluesky app: Settings → Privacy and security → App passwords → Add App Password. "
    "Name it (e.g. 'crosspost'), leave direct messages off, and copy the password it shows "
    "(xxxx-xxxx-xxxx-xxxx). Do not use your account password."
)

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_UPLOADABLE = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


# --------------------------------------------------------------------------------------------
# Record keys


def tid_encode(value: int) -> str:
    """The 13-character base32-sortable form of a 64-bit TID value."""
    if not 0 <= value < 1 << 63:
        raise ValueError("a TID is a 63-bit value")
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def record_key(idempotency_key: str, scheduled_at: datetime) -> str:
    """The deterministic record key (a TID) of one delivery.

    A TID is ``microseconds since the epoch << 10 | clock id``. The whole seconds come from the
    scheduled time, so the key sorts like the post; the sub-second microseconds (20 bits) and the
    clock id (10 bits) come from a SHA-256 of the idempotency key, so two posts scheduled for the
    same second get different keys (a clash needs 30 equal hash bits) while every retry of one
    delivery gets the same key.
    """
    if scheduled_at.tzinfo is None:
        raise ValueError("scheduled_at must be timezone-aware")
    seconds = math.floor(scheduled_at.timestamp())
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode("utf-8")).digest()[:8], "big")
    clock_id = digest & 0x3FF
    micros = seconds * 1_000_000 + (digest >> 10) % 1_000_000
    return tid_encode((micros << 10) | clock_id)


# --------------------------------------------------------------------------------------------
# Rich text


def _byte_offsets(text: str) -> list[int]:
    """UTF-8 byte offset of every code point index (and of the end)."""
    offsets = [0]
    for ch in text:
        offsets.append(offsets[-1] + len(ch.encode("utf-8")))
    return offsets


def build_facets(text: str, resolve: Callable[[str], str | None] | None = None) -> list[dict]:
    """Facets for links, mentions and hashtags of ``text``, with UTF-8 byte offsets.

    Detection is the SDK's port of the Bluesky app's own (``@atproto/api`` ``detectFacets``), so a
    post reads the same as one typed in the app: every http(s) URL, bare domains with a known
    top-level domain (linked as https), ``#tags`` after a space or at the start (so a URL's
    ``#fragment`` is not a tag) of at most 64 graphemes, and ``@handle.domain`` mentions, which
    ``resolve`` turns into DIDs (None: left as plain text). Cashtags are not tagged. Facets never
    overlap; they are sorted by position.
    """
    import grapheme
    from atproto_client.utils import facet_detection

    found: list[tuple[int, int, dict]] = []
    for facet in facet_detection.detect_facets(text):
        feature = facet.features[0]
        start, end = facet.index.byte_start, facet.index.byte_end
        uri = getattr(feature, "uri", None)
        tag = getattr(feature, "tag", None)
        if uri is not None:
            found.append((start, end, {"$type": "app.bsky.richtext.facet#link", "uri": uri}))
        elif tag is not None and not tag.startswith("$"):
            if grapheme.length(tag) > MAX_TAG_GRAPHEMES:
                continue
            found.append((start, end, {"$type": "app.bsky.richtext.facet#tag", "tag": tag}))
    if resolve is not None:
        dids: dict[str, str | None] = {}
        for mention in facet_detection.detect_mentions(text):
            handle = mention.handle.lower()
            if handle not in dids:
                dids[handle] = resolve(handle)
            did = dids[handle]
            if did:
                found.append(
                    (
                        mention.byte_start,
                        mention.byte_end,
                        {"$type": "app.bsky.richtext.facet#mention", "did": did},
                    )
                )

    # keep the first of overlapping facets (links come first: a tag or mention inside a URL loses)
    kept: list[tuple[int, int, dict]] = []
    for start, end, feature in found:
        if start >= end or any(start < k_end and k_start < end for k_start, k_end, _ in kept):
            continue
        kept.append((start, end, feature))
    kept.sort(key=lambda f: f[0])
    return [{"index": {"byteStart": s, "byteEnd": e}, "features": [f]} for s, e, f in kept]


# --------------------------------------------------------------------------------------------
# Images


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    mime: str
    width: int
    height: int


def prepare_image(path: Path, limit: int = MAX_BLOB_BYTES) -> PreparedImage | None:
    """The image as uploadable bytes of at most ``limit``; None if it cannot be made that small.

    A JPEG/PNG/WebP/GIF already under the limit is sent unchanged (metadata was already handled
    when the media snapshot was taken); anything else is re-encoded as JPEG, shrinking the size
    and quality step by step. Raises ``OSError``/``PIL.UnidentifiedImageError`` if the file is
    missing or not an image.
    """
    from PIL import Image, ImageOps

    raw = path.read_bytes()
    with Image.open(io.BytesIO(raw)) as img:
        img.load()
        fmt = img.format or ""
        if fmt in _UPLOADABLE and len(raw) <= limit:
            w, h = img.size
            if fmt == "JPEG":  # the displayed orientation
                w, h = ImageOps.exif_transpose(img).size
            return PreparedImage(raw, _UPLOADABLE[fmt], w, h)
        work = ImageOps.exif_transpose(img)
        if work.mode not in ("RGB", "L"):
            rgba = work.convert("RGBA")
            work = Image.new("RGB", rgba.size, (255, 255, 255))
            work.paste(rgba, mask=rgba.getchannel("A"))
        for side in (2048, 1600, 1200, 1000, 800, 640, 480):
            candidate = work.copy()
            candidate.thumbnail((side, side), Image.Resampling.LANCZOS)
            for quality in (85, 75, 65, 50):
                out = io.BytesIO()
                candidate.save(out, "JPEG", quality=quality, optimize=True)
                if out.tell() <= limit:
                    w, h = candidate.size
                    return PreparedImage(out.getvalue(), "image/jpeg", w, h)
    return None


# --------------------------------------------------------------------------------------------
# Errors


def _status(e: BaseException) -> int | None:
    response = getattr(e, "response", None)
    return getattr(response, "status_code", None) if response is not None else None


def _xrpc(e: BaseException) -> tuple[str, str]:
    """(error name, message) the server gave, empty strings when it gave none."""
    response = getattr(e, "response", None)
    content = getattr(response, "content", None) if response is not None else None
    name = getattr(content, "error", None)
    message = getattr(content, "message", None)
    if isinstance(content, dict):
        name, message = content.get("error"), content.get("message")
    return (name or "", message or "")


def _describe(e: BaseException) -> str:
    status = _status(e)
    name, message = _xrpc(e)
    if status is None:
        cause = e.__cause__ or e.__context__
        kind = type(cause).__name__ if cause is not None else type(e).__name__
        return f"no answer ({kind})"
    detail = ": ".join(p for p in (name, message) if p)
    return f"HTTP {status}" + (f" {detail}" if detail else "")


def _is_connect_failure(e: BaseException) -> bool:
    """The request never reached the server (so nothing can have been created)."""
    import httpx

    cause = e.__cause__ or e.__context__
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout)


def _session_expired(e: BaseException) -> bool:
    from atproto_client.exceptions import LoginRequiredError

    if isinstance(e, LoginRequiredError):
        return True
    status = _status(e)
    name, _ = _xrpc(e)
    return status == 401 or (status == 400 and name in ("ExpiredToken", "InvalidToken"))


def _retry_after(e: BaseException) -> float | None:
    response = getattr(e, "response", None)
    headers = getattr(response, "headers", None) or {}
    reset = headers.get("ratelimit-reset")
    if reset is not None:
        try:
            return max(float(reset) - time.time(), 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is not None:
        try:
            return max(float(value), 0.0)
        except ValueError:
            return None
    return None


def _field(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def _list_records(client: Any, *, params: Any) -> Any:
    return client.com.atproto.repo.list_records(params)


def _first_field(value: Any, *names: str) -> Any:
    """The first of ``names`` set on a record (SDK models use snake_case, dicts camelCase)."""
    for name in names:
        found = _field(value, name) if value is not None else None
        if found is not None:
            return found
    return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# The adapter


class BlueskyAdapter(PlatformAdapter):
    platform: ClassVar[str] = SPEC.name
    credential_fields: ClassVar[tuple[CredentialField, ...]] = SPEC.credential_fields

    def __init__(
        self, ctx: AdapterContext, *, base_url: str | None = None, timeout: float | None = None
    ) -> None:
        """``timeout`` (default: the context's ``daemon.request_timeout``) bounds each request;
        ``base_url`` overrides the account's PDS."""
        account = ctx.account
        if not isinstance(account, BlueskyAccount):
            raise PermanentError("the Bluesky adapter needs a bluesky account")
        if not account.handle:
            raise PermanentError(
                f"account '{account.name}' has no handle",
                hint='set handle = "you.bsky.social" in the persona\'s [[accounts]] entry',
            )
        super().__init__(ctx, base_url=base_url or account.instance or DEFAULT_PDS, timeout=timeout)
        self.account = account
        self.handle = account.handle.lstrip("@")
        self.base_url: str = (base_url or account.instance or DEFAULT_PDS).rstrip("/")
        self._service = credentials.service_name(ctx.persona.name, account.name)
        self._client: Any = None
        self._did: str | None = None
        self._session_handle: str | None = None
        self._keep_sessions = True

    # -- public API ---------------------------------------------------------------------------

    def publish(self, pub: Publication) -> Result:
        rkey = record_key(pub.idempotency_key, pub.scheduled_at)
        # everything before createRecord: a failure there cannot have created the post
        try:
            self._ensure_client()
            facets = build_facets(pub.text, self._resolve_handle)
            embed = self._build_embed(pub)
        except (TransientError, PermanentError):
            raise
        except Exception as e:  # noqa: BLE001 - SDK errors are classified below
            raise self._classify(e, "preparing the post", maybe_sent=False) from None

        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": pub.text,
            "createdAt": _now_iso(),
        }
        if facets:
            record["facets"] = facets
        if embed:
            record["embed"] = embed
        if pub.lang:
            record["langs"] = [pub.lang.replace("_", "-")]
        if pub.reply_to is not None:
            record["reply"] = _reply_refs(pub.reply_to, pub.thread_root or pub.reply_to)

        log.debug("creating Bluesky post %s for @%s", rkey, self.handle)
        try:
            response = self._call(lambda c: self._create_record(c, rkey, record))
        except Exception as e:  # noqa: BLE001
            return self._after_create_failure(e, pub, rkey)
        return self._result(response.uri, response.cid)

    def lookup(self, pub: Publication) -> Result | None:
        rkey = record_key(pub.idempotency_key, pub.scheduled_at)
        try:
            found = self._call(lambda c: self._get_record(c, rkey))
        except Exception as e:  # noqa: BLE001
            raise self._classify(e, "looking up the post", maybe_sent=True) from None
        if found is None:
            return None
        text = _field(found.value, "text")
        if text != pub.text:
            log.warning("Bluesky record %s exists but its text differs from this delivery's", rkey)
        return self._result(found.uri, found.cid)

    def verify(self) -> str:
        try:
            session = self._call(lambda c: c.com.atproto.server.get_session())
        except (TransientError, PermanentError):
            raise
        except Exception as e:  # noqa: BLE001
            raise self._classify(e, "checking the session", maybe_sent=False) from None
        return f"Bluesky account @{session.handle} ({session.did})"

    # -- reading back (the exposure audit) -------------------------------------------------

    def history(self, limit: int = 200) -> list[PublishedItem]:
        """The account's latest posts, read from its own repository on the PDS
        (``com.atproto.repo.listRecords``, newest first) rather than the AppView's author
        feed: the records are exactly what the account published, link card and image
        descriptions included, and a PDS answers without an AppView behind it."""
        from atproto import models

        items: list[PublishedItem] = []
        cursor = None
        try:
            self._ensure_client()  # the repository is the session's DID
            while len(items) < limit:
                size = min(LIST_PAGE, limit - len(items))
                params = models.ComAtprotoRepoListRecords.Params(
                    repo=self._did, collection=POST_COLLECTION, limit=size, cursor=cursor
                )
                page = self._call(functools.partial(_list_records, params=params))
                records = list(page.records or [])
                items += [self._published(r.uri, r.value) for r in records]
                cursor = page.cursor
                if not records or not cursor:
                    break
        except (TransientError, PermanentError):
            raise
        except Exception as e:  # noqa: BLE001
            raise self._classify(e, "reading the account's posts", maybe_sent=False) from None
        return items[:limit]

    def profile(self) -> ProfileInfo:
        """The profile record (``app.bsky.actor.profile/self``): display name, description,
        pronouns and website as the account set them."""
        from atproto import models

        try:
            found = self._call(
                lambda c: c.com.atproto.repo.get_record(
                    models.ComAtprotoRepoGetRecord.Params(
                        repo=self._did, collection=PROFILE_COLLECTION, rkey="self"
                    )
                )
            )
        except (TransientError, PermanentError):
            raise
        except Exception as e:  # noqa: BLE001
            name, message = _xrpc(e)
            if _status(e) == 400 and (
                name == "RecordNotFound" or message.startswith("Could not locate record")
            ):
                found = None  # an account that never edited its profile has none
            else:
                raise self._classify(e, "reading the profile", maybe_sent=False) from None
        url = f"https://bsky.app/profile/{self._did or self.handle}"
        fields: list[tuple[str, str]] = [("handle", self.handle)]
        value = found.value if found is not None else None
        for label, names in (
            ("display name", ("display_name", "displayName")),
            ("bio", ("description",)),
            ("pronouns", ("pronouns",)),
            ("website", ("website",)),
        ):
            text = _first_field(value, *names)
            if isinstance(text, str) and text.strip():
                fields.append((label, text))
        return ProfileInfo(url=url, fields=tuple(fields))

    def _published(self, uri: str, value: Any) -> PublishedItem:
        text = str(_field(value, "text") or "")
        links: list[str] = []
        for facet in _field(value, "facets") or []:
            for feature in _field(facet, "features") or []:
                link = _field(feature, "uri")
                if isinstance(link, str) and link not in text:
                    links.append(link)
        alts: list[str] = []
        card: list[str] = []
        embed = _field(value, "embed")
        for part in (embed, _field(embed, "media")):  # recordWithMedia nests its media
            for image in _field(part, "images") or []:
                alts.append(str(_field(image, "alt") or ""))
            external = _field(part, "external")
            if external is not None:
                link = _field(external, "uri")
                if isinstance(link, str) and link not in text and link not in links:
                    links.append(link)
                card += [str(_field(external, k) or "") for k in ("title", "description")]
        created = _first_field(value, "created_at", "createdAt")
        result = self._result(uri)
        return PublishedItem(
            text="\n".join(t for t in (text, *links, *card) if t),
            url=result.url,
            published_at=_parse_time(created),
            remote_id=uri,
            alts=tuple(alts),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.request.close()
            self._client = None

    @classmethod
    def login_flow(
        cls,
        ctx: AdapterContext,
        ask: Callable[[str, bool], str],
        say: Callable[[str], None],
        *,
        base_url: str | None = None,
    ) -> dict[str, str]:
        """Interactive login: ``ask(prompt, secret)`` reads an answer, ``say(text)`` informs.

        Returns the keyring fields to store: ``app_password`` and ``session``.
        """
        adapter = cls(ctx, base_url=base_url)
        adapter._keep_sessions = False  # the caller stores what this returns
        say(f"Bluesky account @{adapter.handle} on {adapter.base_url}")
        say(APP_PASSWORDS_HELP)
        password = ask("Bluesky app password", True).strip()
        if not password:
            raise PermanentError("no app password given", hint=APP_PASSWORDS_HELP)
        if not _looks_like_app_password(password):
            say(
                "That does not look like an app password (xxxx-xxxx-xxxx-xxxx). crosspost "
                "will try it, but please use an app password, not your account password."
            )
        client = adapter._login_with_password(password)
        try:
            session = client.export_session_string()
        finally:
            client.request.close()
        say(f"Logged in as @{adapter._session_handle} ({adapter._did}).")
        return {APP_PASSWORD_FIELD: password, SESSION_FIELD: session}

    # -- sessions -----------------------------------------------------------------------------

    def _new_client(self) -> Any:
        from atproto import Client

        # the context's User-Agent (not the SDK's) and proxy, for every XRPC call
        request = _request_class()(timeout=self.timeout, proxy=self.proxy)
        request.add_additional_header("User-Agent", self.user_agent)
        client = Client(self.base_url, request=request)
        client.on_session_change(self._on_session_change)
        return client

    def _on_session_change(self, event: Any, session: Any) -> None:
        from atproto import SessionEvent

        self._did = session.did
        self._session_handle = session.handle
        if self._keep_sessions and event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self._store_session(session.export())

    def _store_session(self, value: str) -> None:
        try:
            credentials.set_secret(self._service, SESSION_FIELD, value)
        except ConfigError as e:  # a session we cannot keep costs a login next time, no more
            log.warning("could not keep the Bluesky session in the keyring: %s", e.message)

    def _ensure_client(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            stored = credentials.get_secret(self._service, SESSION_FIELD)
        except ConfigError as e:
            raise PermanentError(e.message, hint=e.hint) from None
        if stored:
            client = self._new_client()
            try:
                client.login(session_string=stored, fetch_bsky_profile=False)
            except Exception:  # noqa: BLE001 - an unreadable stored session: log in afresh
                log.info("the stored Bluesky session is unusable; logging in again")
            else:
                if (self._session_handle or "").lower() == self.handle.lower():
                    self._client = client
                    return client
                # never post as another account than the one configured
                log.info("the stored Bluesky session is for another handle; logging in again")
            client.request.close()
        return self._fresh_login()

    def _fresh_login(self) -> Any:
        try:
            password = credentials.load(
                self.ctx.persona.name, self.account.name, (APP_PASSWORD_FIELD,)
            )[APP_PASSWORD_FIELD]
        except ConfigError as e:
            raise PermanentError(e.message, hint=e.hint) from None
        self.close()
        self._client = self._login_with_password(password)
        return self._client

    def _login_with_password(self, password: str) -> Any:
        client = self._new_client()
        log.debug("creating a Bluesky session for @%s on %s", self.handle, self.base_url)
        try:
            # the profile is not needed, and a PDS without an AppView cannot serve it
            client.login(self.handle, password, fetch_bsky_profile=False)
        except Exception as e:  # noqa: BLE001
            client.request.close()
            raise self._classify(e, "logging in", maybe_sent=False, login=True) from None
        return client

    def _call(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(client)``; a session that turns out expired or revoked gets one fresh login.

        Only answers that mean "not authenticated" (401, or 400 ExpiredToken/InvalidToken from
        refreshSession) trigger it, so the repeated request cannot have had an effect.
        """
        client = self._ensure_client()
        try:
            return fn(client)
        except Exception as e:
            if not _session_expired(e):
                raise
            log.info("the Bluesky session is no longer valid (%s); logging in again", _describe(e))
        client = self._fresh_login()
        return fn(client)

    # -- requests -----------------------------------------------------------------------------

    def _create_record(self, client: Any, rkey: str, record: dict[str, Any]) -> Any:
        from atproto import models

        return client.com.atproto.repo.create_record(
            models.ComAtprotoRepoCreateRecord.Data(
                repo=self._did, collection=POST_COLLECTION, rkey=rkey, record=record
            )
        )

    def _get_record(self, client: Any, rkey: str) -> Any | None:
        from atproto import models

        try:
            return client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(
                    repo=self._did, collection=POST_COLLECTION, rkey=rkey
                )
            )
        except Exception as e:
            name, message = _xrpc(e)
            if _status(e) == 400 and (
                name == "RecordNotFound" or message.startswith("Could not locate record")
            ):
                return None
            raise

    def _resolve_handle(self, handle: str) -> str | None:
        from atproto import models

        if handle == self.handle.lower() and self._did:
            return self._did
        try:
            response = self._call(
                lambda c: c.com.atproto.identity.resolve_handle(
                    models.ComAtprotoIdentityResolveHandle.Params(handle=handle)
                )
            )
        except Exception as e:
            if _status(e) == 400:  # does not resolve: leave it as plain text
                log.info("@%s does not resolve to a Bluesky account; not linking it", handle)
                return None
            raise
        return str(response.did)

    def _upload(self, image: PreparedImage) -> dict[str, Any]:
        """uploadBlob; returns the blob reference exactly as the server gave it."""
        # the raw body goes in as ``content`` (the SDK's upload_blob passes ``data=bytes``, which
        # httpx deprecates); the answer's blob JSON is put into the record unchanged
        response = self._call(
            lambda c: c.invoke_procedure(
                "com.atproto.repo.uploadBlob",
                content=image.data,
                headers={"Content-Type": image.mime},
            )
        )
        content = response.content
        blob = content.get("blob") if isinstance(content, dict) else None
        if not isinstance(blob, dict):
            raise TransientError("Bluesky: uploadBlob gave no blob reference", maybe_sent=False)
        return blob

    def _build_embed(self, pub: Publication) -> dict[str, Any] | None:
        if pub.canonical_url:
            external: dict[str, Any] = {
                "uri": pub.canonical_url,
                "title": pub.title or "",
                "description": pub.summary or "",
            }
            if pub.media:
                image = self._prepare(pub.media[0].path, required=False)
                if image is not None:
                    external["thumb"] = self._upload(image)
            return {"$type": "app.bsky.embed.external", "external": external}
        if pub.media:
            if len(pub.media) > MAX_IMAGES:
                log.warning(
                    "Bluesky takes at most %d images; sending the first %d of %d",
                    MAX_IMAGES,
                    MAX_IMAGES,
                    len(pub.media),
                )
            images = []
            for item in pub.media[:MAX_IMAGES]:
                image = self._prepare(item.path, required=True)
                assert image is not None
                images.append(
                    {
                        "alt": item.alt or "",
                        "image": self._upload(image),
                        "aspectRatio": {"width": image.width, "height": image.height},
                    }
                )
            return {"$type": "app.bsky.embed.images", "images": images}
        return None

    def _prepare(self, path: Path, *, required: bool) -> PreparedImage | None:
        try:
            image = prepare_image(path, MAX_BLOB_BYTES)
        except Exception as e:  # noqa: BLE001 - missing file, not an image, decoder error
            if not required:
                log.warning("no link card image: %s (%s)", path.name, type(e).__name__)
                return None
            raise PermanentError(
                f"cannot read image {path.name} ({type(e).__name__})",
                hint="check the post's media files",
            ) from None
        if image is None:
            if not required:
                log.warning("no link card image: %s cannot be made small enough", path.name)
                return None
            raise PermanentError(
                f"image {path.name} cannot be made smaller than {MAX_BLOB_BYTES} bytes",
                hint="use a smaller image",
            )
        return image

    # -- outcomes -----------------------------------------------------------------------------

    def _result(self, uri: str, cid: str | None = None) -> Result:
        from atproto import AtUri

        at = AtUri.from_str(uri)
        url = f"https://bsky.app/profile/{at.hostname}/post/{at.rkey}"
        return Result(remote_id=uri, url=url, cid=cid)

    def _after_create_failure(self, e: Exception, pub: Publication, rkey: str) -> Result:
        if isinstance(e, TransientError | PermanentError):
            raise e  # from a re-login inside _call
        status = _status(e)
        timed_out = status is None and not _is_connect_failure(e)
        undecided = timed_out or status == 409 or (status is not None and status >= 500)
        if not undecided:
            raise self._classify(e, "creating the post", maybe_sent=False) from None
        # the record may exist (a reused key answers 500; a time-out may follow a commit)
        log.info(
            "createRecord %s failed (%s); checking whether the post exists", rkey, _describe(e)
        )
        try:
            found = self._call(lambda c: self._get_record(c, rkey))
        except Exception as check:  # noqa: BLE001
            log.info("could not check for record %s: %s", rkey, _describe(check))
            raise self._classify(e, "creating the post", maybe_sent=True) from None
        if found is not None:
            if _field(found.value, "text") == pub.text:
                log.info("record %s exists with this post's text: published", rkey)
                return self._result(found.uri, found.cid)
            raise PermanentError(
                f"Bluesky already has a different post under this delivery's record key "
                f"({found.uri}); not posting again",
                hint="check the account; 'crosspost retry' will not help",
            )
        # not there (yet): a gateway error or a time-out can leave the request running upstream
        # (mastodon #21840), so the next attempt asks first; the fixed key makes it safe anyway
        raise self._classify(e, "creating the post", maybe_sent=True) from None

    def _classify(
        self, e: BaseException, doing: str, *, maybe_sent: bool, login: bool = False
    ) -> TransientError | PermanentError:
        if isinstance(e, TransientError | PermanentError):
            return e
        status = _status(e)
        name, _ = _xrpc(e)
        what = f"Bluesky: {doing} failed: {_describe(e)}"
        login_hint = f"run 'crosspost accounts login {self.account.name}'"
        if status == 429:
            return TransientError(
                what, hint="rate limited by Bluesky", retry_after=_retry_after(e), maybe_sent=False
            )
        if status is None:
            from atproto_client.exceptions import LoginRequiredError

            if isinstance(e, LoginRequiredError):
                return PermanentError(f"Bluesky: {doing} failed: not logged in", hint=login_hint)
            if not isinstance(e, _request_error_types()):
                return PermanentError(f"Bluesky: {doing} failed: {type(e).__name__}")
            return TransientError(
                what,
                hint=f"could not reach {self.base_url}",
                maybe_sent=maybe_sent and not _is_connect_failure(e),
            )
        if status == 401 or name in _AUTH_ERRORS:
            hint = login_hint
            if login:
                hint = f"{login_hint} with a valid app password for @{self.handle}"
            return PermanentError(what, hint=hint)
        if status == 403:
            return PermanentError(what, hint="Bluesky refused it; check the account in the app")
        if status == 400 and login and name in ("AccountTakedown", "AccountDeactivated"):
            return PermanentError(what, hint="the account cannot post; check it in the Bluesky app")
        if status >= 500 or status in (408, 409):
            return TransientError(what, maybe_sent=maybe_sent)
        return PermanentError(what, hint="the post is too large" if status == 413 else None)


_AUTH_ERRORS = ("AuthenticationRequired", "AuthRequired", "ExpiredToken", "InvalidToken")


@functools.cache
def _request_class() -> type:
    """The SDK's ``Request`` (httpx underneath), resending a read-only request once when the
    PDS dropped the kept-alive connection under it (``_send_request`` is the one method every
    XRPC call goes through; should the SDK rename it, nothing is resent, as before)."""
    from atproto_client.request import Request

    class _Request(Request):
        def _send_request(self, method: str, url: str, **kwargs: Any) -> Any:
            send = super()._send_request
            return resend_read_once(method, lambda: send(method, url, **kwargs), where=url)

    return _Request


def _request_error_types() -> tuple[type[BaseException], ...]:
    """Failures to get an answer: the SDK's, and httpx's it passes through unwrapped (e.g.
    ``RemoteProtocolError`` when the server hung up before answering)."""
    import httpx
    from atproto_client.exceptions import RequestErrorBase

    return (RequestErrorBase, httpx.TransportError)


def _looks_like_app_password(value: str) -> bool:
    parts = value.split("-")
    return len(parts) == 4 and all(len(p) == 4 and p.isalnum() for p in parts)


def _reply_refs(parent: Result, root: Result) -> dict[str, Any]:
    """A post's ``reply``: strong references (uri and cid) to the thread's first post and to
    the post it answers."""
    for ref in (parent, root):
        if not ref.cid:
            raise PermanentError(
                f"cannot reply to {ref.remote_id}: its content id (cid) is not known",
                hint="this is a bug; the earlier part was recorded without its cid",
            )
    return {
        "root": {"uri": root.remote_id, "cid": root.cid},
        "parent": {"uri": parent.remote_id, "cid": parent.cid},
    }


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
