"""Micropub (W3C Recommendation, 2017): any site with a Micropub endpoint and an access token.

The endpoint is ``[blog] endpoint`` or is discovered from the blog's home page: an HTTP
``Link: <…>; rel="micropub"`` header or an HTML ``<link rel="micropub" href="…">``. The token
goes in the ``Authorization: Bearer`` header only (never also as ``access_token``: sending both
is a 400), and only to the Micropub and media endpoints, never to the home page.

A post is a form-encoded h-entry (``h=entry``, ``content``, ``name`` for an entry with a
title, ``category[]`` per tag and category, ``mp-slug``, ``summary``, ``published`` when the
post goes out late). ``content`` is the entry's Markdown source: many Micropub servers render
Markdown (micro.blog, static-site servers that write the text into a Markdown file), and form
encoding has no way to say "HTML". With media, files go to the ``media-endpoint`` from
``?q=config`` first, then the post is sent as JSON, the only syntax with photo alt text
(``{"value": url, "alt": …}``); a server without a media endpoint gets a multipart post with
the files as ``photo`` parts, and the alt text is lost (logged). The canonical URL is the
``Location`` of the 201/202 answer.

``lookup``: Micropub has no idempotency key, and ``q=source`` needs the post's URL, which is
exactly what is unknown after a lost answer; the URL cannot be predicted either (servers build
it their own way). What works on some servers is the post-list extension (``q=source``
without ``url``, answered with ``{"items": [...]}``): if one of the newest posts has this
entry's title and its content (or its slug in the URL), that is the post. Anything else — no
list, or no match — raises ``LookupUnsupported``: a missing post in a list proves nothing (a
202 server may still be processing it, the list may be partial), so the delivery waits for
the user instead of being posted twice.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from .. import credentials
from ..entries import rewrite_image_refs
from ..errors import PermanentError, TransientError
from . import _http
from .base import (
    AdapterContext,
    CredentialField,
    LookupUnsupported,
    MediaItem,
    PlatformAdapter,
    Publication,
    PublishedItem,
    ReadUnsupported,
    Result,
)
from .specs.micropub import SPEC, MicropubBlog

log = logging.getLogger(__name__)

#: a publication this late carries its scheduled time as ``published``
LATE = timedelta(minutes=2)
#: how many of the newest posts ``lookup`` asks for (post-list extension)
LOOKUP_LIMIT = 20
_LINK_RE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_REL_RE = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;,"']+))""", re.I)


class MicropubAdapter(PlatformAdapter):
    platform: ClassVar[str] = SPEC.name
    credential_fields: ClassVar[tuple[CredentialField, ...]] = SPEC.credential_fields

    def __init__(
        self,
        ctx: AdapterContext,
        *,
        timeout: httpx.Timeout | float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not isinstance(ctx.blog, MicropubBlog):
            raise PermanentError(f"persona '{ctx.persona.name}' has no Micropub [blog]")
        super().__init__(ctx, timeout=timeout if isinstance(timeout, int | float) else None)
        self.blog = ctx.blog
        self.persona = ctx.persona.name
        self.source = ctx.persona.source
        self._endpoint: str | None = self.blog.endpoint
        self._config: dict[str, Any] | None = None
        self._timeout = timeout if timeout is not None else ctx.timeout
        self._transport = transport
        self._token: str | None = None

    def __repr__(self) -> str:  # never the token
        return f"MicropubAdapter(persona={self.persona!r}, url={self.blog.url!r})"

    # -- the Adapter protocol ---------------------------------------------------------------

    def publish(self, pub: Publication) -> Result:
        with self._client() as c:
            try:
                endpoint = self.endpoint(c)
                media_endpoint = self.config(c).get("media-endpoint") if pub.media else None
                photos = (
                    [
                        self._upload(c, str(media_endpoint), m, i, pub.slug)
                        for i, m in enumerate(pub.media)
                    ]
                    if media_endpoint
                    else []
                )
            except TransientError as e:
                raise _http.not_sent(e) from None
            props = self.properties(pub)
            if photos:
                # an image the body refers to is shown there, from its uploaded URL
                inline = {
                    m.ref: p["value"] if isinstance(p, dict) else p
                    for m, p in zip(pub.media, photos, strict=True)
                    if m.ref is not None
                }
                if inline:
                    props["content"] = [rewrite_image_refs(pub.body, inline)]
                attached = [p for m, p in zip(pub.media, photos, strict=True) if m.ref is None]
                if attached:
                    props["photo"] = attached
                resp = self._request(
                    c, "POST", endpoint, json={"type": ["h-entry"], "properties": props}
                )
            elif pub.media:
                if any(m.ref for m in pub.media):
                    log.warning(
                        "%s has no media endpoint: images of the body go as photo parts and "
                        "the body keeps its local references to them",
                        endpoint,
                    )
                if any(m.alt for m in pub.media):
                    log.warning(
                        "%s has no media endpoint: images go as multipart parts, without alt text",
                        endpoint,
                    )
                name = "photo" if len(pub.media) == 1 else "photo[]"
                files = [(name, self._file(m, i, pub.slug)) for i, m in enumerate(pub.media)]
                data: dict[str, Any] = {"h": "entry"}
                for key, value in form_fields(props):
                    if key.endswith("[]"):
                        data.setdefault(key, []).append(value)
                    else:
                        data[key] = value
                resp = self._request(c, "POST", endpoint, data=data, files=files)
            else:
                body = urlencode([("h", "entry"), *form_fields(props)])
                resp = self._request(
                    c,
                    "POST",
                    endpoint,
                    content=body.encode("ascii"),
                    headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                )
            location = resp.headers.get("location")
            if not location:
                raise _http.transient(
                    f"the Micropub server answered HTTP {resp.status_code} without a Location",
                    hint="the post may exist; check the blog before retrying",
                    maybe_sent=True,
                )
            url = urljoin(str(resp.url), location)
            return Result(remote_id=url, url=url)

    def lookup(self, pub: Publication) -> Result | None:
        with self._client() as c:
            endpoint = self.endpoint(c)
            url = httpx.URL(endpoint).copy_merge_params({"q": "source", "limit": LOOKUP_LIMIT})
            resp = self._send(c, "GET", url)
            if resp.status_code in (400, 404, 405, 422, 501):
                _code, detail = _http.error_detail(resp, (self._token or "",))
                raise LookupUnsupported(
                    f"the Micropub server cannot list posts (HTTP {resp.status_code}: {detail}), "
                    "and without a post's URL it cannot say whether an earlier attempt created it"
                )
            self._raise_for(resp)  # auth failures, 429 and 5xx are what they are
            try:
                data = resp.json()
            except ValueError:
                data = None
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise LookupUnsupported(
                "the Micropub server does not list posts (q=source without url), and Micropub "
                "has no idempotency key to ask for"
            )
        for item in items:
            if isinstance(item, dict) and matches(item, pub):
                props = item.get("properties") or {}
                found = _first(props.get("url")) or item.get("url")
                if isinstance(found, str) and found:
                    return Result(remote_id=found, url=found)
        raise LookupUnsupported(
            f"none of the {len(items)} newest posts is this entry, but a Micropub server may "
            "still be processing it (202) or list only some posts"
        )

    # -- reading back (the exposure audit) ---------------------------------------------------

    def history(self, limit: int = 200) -> list[PublishedItem]:
        """The server's newest posts (``q=source`` without ``url``, an extension many servers
        have); a server without it is ``ReadUnsupported``."""
        with self._client() as c:
            endpoint = self.endpoint(c)
            url = httpx.URL(endpoint).copy_merge_params({"q": "source", "limit": limit})
            resp = self._send(c, "GET", url)
            if resp.status_code in (400, 404, 405, 422, 501):
                _code, detail = _http.error_detail(resp, (self._token or "",))
                raise ReadUnsupported(
                    f"the Micropub server cannot list posts (HTTP {resp.status_code}: {detail})"
                )
            self._raise_for(resp)
            try:
                data = resp.json()
            except ValueError:
                data = None
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ReadUnsupported("the Micropub server does not list posts (q=source)")
        return [_published(i) for i in items[:limit] if isinstance(i, dict)]

    def profile(self) -> None:
        """Micropub has no profile to read (the site's own pages are the user's)."""
        return None

    def verify(self) -> str:
        with self._client() as c:
            endpoint = self.endpoint(c)
            cfg = self.config(c)
        parts = [f"Micropub endpoint {endpoint}"]
        if cfg.get("media-endpoint"):
            parts.append(f"media endpoint {cfg['media-endpoint']}")
        else:
            parts.append("no media endpoint")
        targets = cfg.get("syndicate-to")
        if isinstance(targets, list) and targets:
            names = [str(t.get("name") or t.get("uid")) for t in targets if isinstance(t, dict)]
            parts.append("syndicates to " + ", ".join(names))
        return "; ".join(parts)

    # -- pieces -----------------------------------------------------------------------------

    def properties(self, pub: Publication, now: datetime | None = None) -> dict[str, list[Any]]:
        """The h-entry's properties, in the JSON shape (every value a list)."""
        props: dict[str, list[Any]] = {"content": [pub.body]}
        if pub.title and pub.kind == "entry":
            props["name"] = [pub.title]
        if pub.summary:
            props["summary"] = [pub.summary]
        cats: list[str] = []
        for c in (*pub.tags, *pub.categories):
            c = " ".join(c.split())
            if c and c.casefold() not in {x.casefold() for x in cats}:
                cats.append(c)
        if cats:
            props["category"] = cats
        if pub.slug:
            props["mp-slug"] = [pub.slug]
        now = now or datetime.now(UTC)
        at = pub.scheduled_at.astimezone(UTC)
        if now - at >= LATE:
            props["published"] = [at.isoformat(timespec="seconds")]
        return props

    def endpoint(self, c: httpx.Client) -> str:
        if self._endpoint is None:
            self._endpoint = self._discover(c)
        return self._endpoint

    def config(self, c: httpx.Client) -> dict[str, Any]:
        if self._config is None:
            url = httpx.URL(self.endpoint(c)).copy_merge_params({"q": "config"})
            resp = self._request(c, "GET", url)
            try:
                data = resp.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise PermanentError(
                    f"{self.endpoint(c)} answered q=config without a JSON object",
                    hint="check that 'endpoint' in [blog] is the Micropub endpoint",
                )
            self._config = data
        return self._config

    def _discover(self, c: httpx.Client) -> str:
        try:
            resp = c.get(self.blog.url, follow_redirects=True, headers={"Accept": "text/html"})
        except httpx.TransportError as e:
            raise _http.from_transport_error(e, method="GET") from None
        _http.raise_for(resp, self.target, persona=self.persona)
        base = str(resp.url)
        for value in resp.headers.get_list("link"):
            href = link_header_rel(value, "micropub")
            if href:
                return urljoin(base, href)
        if "html" in resp.headers.get("content-type", "text/html"):
            finder = _LinkFinder()
            finder.feed(resp.text)
            if finder.micropub:
                return urljoin(finder.base or base, finder.micropub)
        raise PermanentError(
            f'{self.blog.url} does not name a Micropub endpoint (no rel="micropub" link)',
            hint="set 'endpoint' in [blog] to the site's Micropub endpoint",
        )

    def _upload(
        self, c: httpx.Client, media_endpoint: str, item: MediaItem, index: int, slug: str
    ) -> Any:
        resp = self._request(
            c, "POST", media_endpoint, files={"file": self._file(item, index, slug)}
        )
        location = resp.headers.get("location")
        if not location:
            raise PermanentError(
                f"the media endpoint answered HTTP {resp.status_code} without a Location"
            )
        url = urljoin(str(resp.url), location)
        return {"value": url, "alt": item.alt} if item.alt else url

    @staticmethod
    def _file(item: MediaItem, index: int, slug: str) -> tuple[str, bytes, str]:
        try:
            data = item.path.read_bytes()
        except OSError as e:
            raise PermanentError(
                f"media file {item.path} cannot be read ({e.strerror})",
                hint="the queued snapshot is gone; queue the entry again",
            ) from None
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", slug).strip("-") or "image"
        filename = f"{stem}-{index + 1}{item.path.suffix.lower()}"
        return filename, data, mimetypes.guess_type(filename)[0] or "application/octet-stream"

    # -- HTTP -------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._token is None:
            secret = credentials.load(self.persona, self.target, ("token",))
            self._token = secret["token"].strip()
        return self.http_client(timeout=self._timeout, transport=self._transport)

    def _send(
        self, c: httpx.Client, method: str, url: str | httpx.URL, **kw: Any
    ) -> httpx.Response:
        """A request to the Micropub or media endpoint, with the token as Bearer header."""
        headers = dict(kw.pop("headers", None) or {})
        headers["Authorization"] = f"Bearer {self._token}"
        try:
            return c.request(method, url, headers=headers, **kw)
        except httpx.TransportError as e:
            raise _http.from_transport_error(e, method=method) from None

    def _raise_for(self, resp: httpx.Response) -> None:
        _http.raise_for(
            resp,
            self.target,
            persona=self.persona,
            secrets=(self._token or "",),
            auth_hint="the token needs the 'create' scope (and 'media' for images)",
            hints={
                "insufficient_scope": "get a token with the 'create' and 'media' scopes",
                "404": "check 'endpoint' in [blog] (or the site's rel=\"micropub\" link)",
            },
        )

    def _request(
        self, c: httpx.Client, method: str, url: str | httpx.URL, **kw: Any
    ) -> httpx.Response:
        resp = self._send(c, method, url, **kw)
        self._raise_for(resp)
        return resp


def form_fields(props: dict[str, list[Any]]) -> list[tuple[str, str]]:
    """Form-encoded fields of the properties; several values use the ``name[]`` form."""
    out: list[tuple[str, str]] = []
    for key, values in props.items():
        if key == "category":
            out.extend(("category[]", str(v)) for v in values)
        elif len(values) == 1:
            out.append((key, str(values[0])))
        else:
            out.extend((f"{key}[]", str(v)) for v in values)
    return out


def matches(item: dict[str, Any], pub: Publication) -> bool:
    """Whether a listed post is this publication: same title, and same text or slug."""
    props = item.get("properties")
    if not isinstance(props, dict):
        return False
    if (
        pub.title
        and pub.kind == "entry"
        and _norm(_text(_first(props.get("name")))) != _norm(pub.title)
    ):
        return False
    content = _norm(_text(_first(props.get("content"))))
    if content and content == _norm(pub.body):
        return True
    url = _first(props.get("url")) or item.get("url")
    if isinstance(url, str) and pub.slug:
        path = urlsplit(url).path.rstrip("/")
        return path.rsplit("/", 1)[-1].removesuffix(".html") == pub.slug
    return False


def link_header_rel(value: str, rel: str) -> str | None:
    """The target of the first link with ``rel`` in one ``Link`` header value."""
    for m in _LINK_RE.finditer(value):
        for r in _REL_RE.finditer(m.group(2)):
            rels = (r.group(1) or r.group(2) or r.group(3) or "").lower().split()
            if rel in rels:
                return m.group(1).strip()
    return None


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.micropub: str | None = None
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "base" and self.base is None and a.get("href"):
            self.base = a["href"]
        elif (
            tag == "link"
            and self.micropub is None
            and "micropub" in a.get("rel", "").lower().split()
            and a.get("href")
        ):
            self.micropub = a["href"].strip()


def _published(item: dict[str, Any]) -> PublishedItem:
    from ._readback import html_text

    props = item.get("properties") or {}
    parts: list[str] = []
    alts: list[str] = []
    for key in ("summary", "content"):
        for value in props.get(key) or []:
            if isinstance(value, dict) and value.get("html") and not value.get("value"):
                text, found = html_text(str(value["html"]))
                parts.append(text)
                alts += found
            else:
                parts.append(_text(value))
    for photo in props.get("photo") or []:
        if isinstance(photo, dict) and photo.get("alt"):
            alts.append(str(photo["alt"]))
    url = _first(props.get("url")) or item.get("url")
    published = _first(props.get("published"))
    at = None
    if isinstance(published, str):
        try:
            at = datetime.fromisoformat(published.replace("Z", "+00:00"))
        except ValueError:
            at = None
    return PublishedItem(
        text="\n\n".join(p for p in parts if p.strip()),
        url=url if isinstance(url, str) else None,
        published_at=at.astimezone(UTC) if at is not None and at.tzinfo else None,
        remote_id=url if isinstance(url, str) else None,
        title=_text(_first(props.get("name"))) or None,
        alts=tuple(alts),
    )


def _first(v: Any) -> Any:
    return v[0] if isinstance(v, list) and v else v


def _text(v: Any) -> str:
    if isinstance(v, dict):
        return str(v.get("value") or v.get("html") or v.get("markdown") or "")
    return v if isinstance(v, str) else ""


def _norm(s: str) -> str:
    return " ".join(s.split())
