"""WordPress through its REST API, authenticated with an Application Password.

One publish is a handful of requests: find or create each tag and category by name (the API
wants term ids), upload media, then ``POST /wp/v2/posts``. Only that last request can create
the post, so a transient failure of any earlier one is marked ``maybe_sent=False``.

WordPress has no idempotency key and no duplicate check, so the adapter writes its own: the
post's content ends with ``<!-- crosspost:<idempotency key> -->``. An HTML comment is invisible
to readers, survives kses for every role, and is found again by the API's full-text search
(``lookup``), which matches post content.

The canonical URL is the post's ``link``. A post that WordPress holds as ``future`` (only when
``schedule_on_server`` is set and the publication time is ahead of now) has the plain
``?p=<id>`` link until WP-Cron publishes it; ``?p=<id>`` keeps working afterwards because
WordPress redirects it to the pretty permalink.

API root: ``[blog] endpoint`` if set, else ``<url>/wp-json``. Sites without pretty permalinks
use ``https://example.org/?rest_route=/``; set that as ``endpoint``.
"""

from __future__ import annotations

import html
import json
import logging
import mimetypes
import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from .. import credentials
from ..entries import rewrite_image_refs
from ..errors import PermanentError, TransientError
from . import _http
from .base import (
    AdapterContext,
    CredentialField,
    MediaItem,
    PlatformAdapter,
    ProfileInfo,
    Publication,
    PublishedItem,
    Result,
)
from .specs.wordpress import SPEC, WordPressBlog

log = logging.getLogger(__name__)

#: a publication this late keeps its scheduled time as ``date_gmt``; earlier ones let the
#: server's clock date them (a client clock ahead of the server's by more than a minute would
#: otherwise turn a due post into a scheduled one)
LATE = timedelta(minutes=2)
#: statuses ``lookup`` searches (everything but trash and auto-draft)
LOOKUP_STATUSES = "publish,future,draft,pending,private"
_BARE_LINK = re.compile(r"[?&](p|page_id)=\d+(&|$)")

_md: Any = None


def render_markdown(text: str) -> str:
    """CommonMark plus tables and strikethrough; raw HTML is kept (WordPress users write it)."""
    global _md
    if _md is None:
        from markdown_it import MarkdownIt

        _md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    return str(_md.render(text))


def safe_key(key: str) -> str:
    """The key as it can stand in an HTML comment and in a search query."""
    return re.sub(r"[^A-Za-z0-9_.:]", "_", key)


def marker(key: str) -> str:
    return f"<!-- crosspost:{safe_key(key)} -->"


class WordPressAdapter(PlatformAdapter):
    platform: ClassVar[str] = SPEC.name
    credential_fields: ClassVar[tuple[CredentialField, ...]] = SPEC.credential_fields

    def __init__(
        self,
        ctx: AdapterContext,
        *,
        timeout: httpx.Timeout | float | None = None,
        transport: httpx.BaseTransport | None = None,
        schedule_on_server: bool = False,
    ) -> None:
        if not isinstance(ctx.blog, WordPressBlog):
            raise PermanentError(f"persona '{ctx.persona.name}' has no WordPress [blog]")
        super().__init__(ctx, timeout=timeout if isinstance(timeout, int | float) else None)
        self.blog = ctx.blog
        self.persona = ctx.persona.name
        self.source = ctx.persona.source
        self.root = api_root(self.blog.endpoint or f"{self.blog.url}/wp-json")
        #: hand future publication times to WordPress (status ``future``) instead of
        #: publishing now; the daemon normally publishes when due, so this is off
        self.schedule_on_server = schedule_on_server
        self._timeout = timeout if timeout is not None else ctx.timeout
        self._transport = transport
        self._password: str | None = None

    def __repr__(self) -> str:  # never the password
        return f"WordPressAdapter(persona={self.persona!r}, root={str(self.root)!r})"

    # -- the Adapter protocol ---------------------------------------------------------------

    def publish(self, pub: Publication) -> Result:
        with self._client() as c:
            try:
                tag_ids = self._term_ids(c, "tags", pub.tags)
                cat_ids = self._term_ids(c, "categories", pub.categories or self.blog.categories)
                images = [self._upload(c, m, i, pub.slug) for i, m in enumerate(pub.media)]
            except TransientError as e:
                raise _http.not_sent(e) from None
            payload: dict[str, Any] = {
                "title": pub.title or "",
                "content": self.content(pub, images),
                "status": "publish",
                "slug": pub.slug,
            }
            if pub.summary:
                payload["excerpt"] = pub.summary
            if tag_ids:
                payload["tags"] = tag_ids
            if cat_ids:
                payload["categories"] = cat_ids
            attached = [img for img in images if img["ref"] is None]
            if attached:
                payload["featured_media"] = attached[0]["id"]
            date = self.post_date(pub)
            if date is not None:
                payload["date_gmt"] = date.strftime("%Y-%m-%dT%H:%M:%S")
            resp = self._request(c, "POST", "/wp/v2/posts", json=payload)
            post = self._created(c, resp)
            return self._result(c, post)

    def lookup(self, pub: Publication) -> Result | None:
        key = safe_key(pub.idempotency_key)
        mark = marker(pub.idempotency_key)
        with self._client() as c:
            resp = self._request(
                c,
                "GET",
                "/wp/v2/posts",
                params={
                    "search": key,
                    "status": LOOKUP_STATUSES,
                    "context": "edit",
                    "per_page": "20",
                    "orderby": "id",
                    "order": "asc",
                },
            )
            posts = _json(resp, what="the post search")
            if not isinstance(posts, list):
                raise PermanentError("WordPress answered the post search with something else")
            found = [p for p in posts if isinstance(p, dict) and mark in _content_text(p)]
            if not found:
                return None
            if len(found) > 1:
                log.warning(
                    "%d WordPress posts carry %s (ids %s); using the oldest",
                    len(found),
                    mark,
                    ", ".join(str(p.get("id")) for p in found),
                )
            return self._result(c, found[0])

    def verify(self) -> str:
        with self._client() as c:
            resp = self._request(c, "GET", "/wp/v2/users/me", params={"context": "edit"})
            me = _json(resp, what="users/me")
        if not isinstance(me, dict):
            raise PermanentError(f"{self.root} does not look like the WordPress REST API")
        name = me.get("name") or me.get("slug") or self.blog.username
        caps = me.get("capabilities") if isinstance(me.get("capabilities"), dict) else {}
        roles = ", ".join(me.get("roles") or []) or "unknown"
        if caps and not caps.get("publish_posts"):
            raise PermanentError(
                f"WordPress user {name} at {self.blog.url} cannot publish posts (role: {roles})",
                hint="give the user the Author role or higher (Users → Edit user → Role)",
            )
        note = ""
        if caps and not caps.get("manage_categories"):
            note = " (cannot create new tags or categories: those must exist already)"
        return f"WordPress user {name} at {self.blog.url}{note}"

    # -- reading back (the exposure audit) -------------------------------------------------

    def history(self, limit: int = 200) -> list[PublishedItem]:
        """The blog's latest published posts as readers see them (``GET /wp/v2/posts``,
        rendered title, excerpt and content, newest first, 100 a page)."""
        items: list[PublishedItem] = []
        page = 1
        with self._client() as c:
            while len(items) < limit:
                per_page = min(100, limit - len(items))
                resp = self._request(
                    c,
                    "GET",
                    "/wp/v2/posts",
                    params={
                        "status": "publish",
                        "per_page": str(per_page),
                        "page": str(page),
                        "orderby": "date",
                        "order": "desc",
                    },
                )
                posts = _json(resp, what="the list of posts")
                if not isinstance(posts, list):
                    raise PermanentError("WordPress answered the list of posts with something else")
                items += [_published(p) for p in posts if isinstance(p, dict)]
                pages = _int_header(resp, "X-WP-TotalPages")
                if len(posts) < per_page or (pages is not None and page >= pages):
                    break
                page += 1
        return items[:limit]

    def profile(self) -> ProfileInfo:
        """The site's title and tagline (the REST index) and the author's public name,
        bio and website (``users/me``): what every visitor sees in the header and bylines."""
        fields: list[tuple[str, str]] = []
        with self._client() as c:
            index = _json(self._request(c, "GET", "/"), what="the REST index")
            me = _json(self._request(c, "GET", "/wp/v2/users/me"), what="users/me")
        if isinstance(index, dict):
            fields += [("site title", str(index.get("name") or ""))]
            fields += [("site tagline", str(index.get("description") or ""))]
        if isinstance(me, dict):
            fields += [("author name", str(me.get("name") or ""))]
            fields += [("author bio", str(me.get("description") or ""))]
            fields += [("author website", str(me.get("url") or ""))]
        return ProfileInfo(
            url=self.blog.url, fields=tuple((n, html.unescape(t)) for n, t in fields if t.strip())
        )

    # -- pieces -----------------------------------------------------------------------------

    def content(self, pub: Publication, images: list[dict[str, Any]]) -> str:
        """The post's HTML: the rendered body, the images, the idempotency marker.

        An image the body refers to (``ref``) is shown where the body has it, from its
        uploaded URL; the others follow the body."""
        inline = {img["ref"]: img["source_url"] for img in images if img["ref"] is not None}
        body = rewrite_image_refs(pub.body, inline) if inline else pub.body
        parts = [render_markdown(body)]
        for img in images:
            if img["ref"] is not None:
                continue
            parts.append(
                '<figure class="wp-block-image"><img src="{}" alt="{}" class="wp-image-{}"/>'
                "</figure>\n".format(
                    html.escape(img["source_url"]), html.escape(img["alt"]), int(img["id"])
                )
            )
        parts.append(marker(pub.idempotency_key) + "\n")
        return "".join(parts)

    def post_date(self, pub: Publication, now: datetime | None = None) -> datetime | None:
        """``date_gmt`` to send, or None to let WordPress date the post itself."""
        now = now or datetime.now(UTC)
        at = pub.scheduled_at.astimezone(UTC)
        if at > now:
            return at if self.schedule_on_server else None
        return at if now - at >= LATE else None

    def _term_ids(self, c: httpx.Client, taxonomy: str, names: Any) -> list[int]:
        ids: list[int] = []
        seen: set[str] = set()
        for raw in names:
            name = " ".join(str(raw).split())
            if not name or name.casefold() in seen:
                continue
            seen.add(name.casefold())
            term_id = self._term_id(c, taxonomy, name)
            if term_id not in ids:
                ids.append(term_id)
        return ids

    def _term_id(self, c: httpx.Client, taxonomy: str, name: str) -> int:
        resp = self._request(
            c,
            "GET",
            f"/wp/v2/{taxonomy}",
            params={"search": name, "per_page": "100", "_fields": "id,name,slug"},
        )
        for term in _json(resp, what=f"the {taxonomy} search") or []:
            if isinstance(term, dict) and _same_name(term.get("name"), name):
                return int(term["id"])
        # not there yet: create it; a race (or a search that missed it) gives term_exists
        resp = self._send(c, "POST", f"/wp/v2/{taxonomy}", json={"name": name})
        if resp.status_code == 400:
            data = _maybe_json(resp)
            if isinstance(data, dict) and data.get("code") == "term_exists":
                term_id = (data.get("data") or {}).get("term_id")
                if isinstance(term_id, int):
                    return term_id
        if resp.status_code == 403:
            kind = "tag" if taxonomy == "tags" else "category"
            _code, detail = _http.error_detail(resp, self._secrets())
            raise PermanentError(
                f"WordPress refused to create the {kind} '{name}': {detail}",
                hint=f"create the {kind} in WordPress, or give the user the Editor role",
            )
        self._raise_for(resp)
        term = _json(resp, what=f"the new {taxonomy[:-1]}")
        return int(term["id"])

    def _upload(self, c: httpx.Client, item: MediaItem, index: int, slug: str) -> dict[str, Any]:
        try:
            data = item.path.read_bytes()
        except OSError as e:
            raise PermanentError(
                f"media file {item.path} cannot be read ({e.strerror})",
                hint="the queued snapshot is gone; queue the entry again",
            ) from None
        suffix = item.path.suffix.lower()
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", slug).strip("-") or "image"
        filename = f"{stem}-{index + 1}{suffix}"
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        resp = self._request(
            c,
            "POST",
            "/wp/v2/media",
            content=data,
            headers={
                "Content-Type": ctype,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
        media = _json(resp, what="the uploaded media")
        media_id = int(media["id"])
        if item.alt:
            self._request(c, "POST", f"/wp/v2/media/{media_id}", json={"alt_text": item.alt})
        return {
            "id": media_id,
            "source_url": media.get("source_url", ""),
            "alt": item.alt,
            "ref": item.ref,
        }

    def _created(self, c: httpx.Client, resp: httpx.Response) -> dict[str, Any]:
        """The created post from a 201; the body can be spoiled by PHP notices or plugins."""
        try:
            post = _json(resp, what="the created post")
            if isinstance(post, dict) and "id" in post:
                return post
        except PermanentError:
            pass
        m = re.search(r"/wp/v2/posts/(\d+)", resp.headers.get("location", ""))
        if m:
            try:
                again = self._request(c, "GET", f"/wp/v2/posts/{m.group(1)}")
                post = _json(again, what="the created post")
                if isinstance(post, dict) and "id" in post:
                    return post
            except (TransientError, PermanentError):
                pass
        raise _http.transient(
            "WordPress accepted the post but its answer could not be read",
            hint="the post probably exists; it is looked up before any new attempt",
            maybe_sent=True,
        )

    def _result(self, c: httpx.Client, post: dict[str, Any]) -> Result:
        pid = str(post["id"])
        link = post.get("link") or None
        if post.get("status") == "future" or (link and _BARE_LINK.search(link)):
            # a fresh post can carry the plain link (e.g. published by a plugin after the
            # insert); ask again. A ``future`` post keeps ``?p=<id>`` until it is published.
            try:
                again = self._request(c, "GET", f"/wp/v2/posts/{pid}", params={"_fields": "link"})
                link = _json(again, what="the post").get("link") or link
            except (TransientError, PermanentError, AttributeError) as e:
                log.info("could not re-read WordPress post %s (%s); keeping %s", pid, e, link)
        return Result(remote_id=pid, url=link)

    # -- HTTP -------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        username = self.blog.username
        if not username:
            raise PermanentError(
                f"the WordPress blog of persona '{self.persona}' has no username",
                hint=f'add username = "<WordPress login>" to [blog] in {self.source}',
            )
        if self._password is None:
            secret = credentials.load(self.persona, self.target, ("app_password",))
            self._password = secret["app_password"].strip()
        return self.http_client(
            auth=httpx.BasicAuth(username, self._password),
            timeout=self._timeout,
            transport=self._transport,
        )

    def _secrets(self) -> tuple[str, ...]:
        return (self._password,) if self._password else ()

    def url(self, route: str, params: dict[str, str] | None = None) -> httpx.URL:
        return route_url(self.root, route, params)

    def _send(self, c: httpx.Client, method: str, route: str, **kw: Any) -> httpx.Response:
        params = kw.pop("params", None)
        try:
            return c.request(method, self.url(route, params), **kw)
        except httpx.TransportError as e:
            raise _http.from_transport_error(e, method=method) from None

    def _request(self, c: httpx.Client, method: str, route: str, **kw: Any) -> httpx.Response:
        resp = self._send(c, method, route, **kw)
        self._raise_for(resp)
        return resp

    def _raise_for(self, resp: httpx.Response) -> None:
        _http.raise_for(
            resp,
            self.target,
            persona=self.persona,
            secrets=self._secrets(),
            auth_hint=(
                f"check 'username' in [blog] of {self.source}; Application Passwords need "
                "HTTPS (or WP_ENVIRONMENT_TYPE 'local') and a server that passes the "
                "Authorization header to PHP"
            ),
            hints={
                "rest_no_route": (
                    "this is not the WordPress REST API root: set 'endpoint' in [blog] "
                    "(e.g. https://example.org/wp-json or https://example.org/?rest_route=/)"
                ),
                "404": (
                    "check 'url' / 'endpoint' in [blog]: the REST API root is usually "
                    "<site>/wp-json"
                ),
                "rest_upload_sideload_error": "WordPress cannot store uploads; check its folder",
                "rest_upload_file_too_big": "the file is larger than the site allows",
            },
        )


def api_root(endpoint: str) -> httpx.URL:
    """The REST root: ``…/wp-json`` or ``…/?rest_route=`` (a ``/wp/v2`` suffix is dropped)."""
    url = httpx.URL(endpoint)
    route = url.params.get("rest_route")
    if route is not None:
        route = route.rstrip("/")
        route = route[: -len("/wp/v2")] if route.endswith("/wp/v2") else route
        return url.copy_set_param("rest_route", route or "/")
    path = url.path.rstrip("/")
    path = path[: -len("/wp/v2")] if path.endswith("/wp/v2") else path
    return url.copy_with(path=path or "/")


def route_url(root: httpx.URL, route: str, params: dict[str, str] | None = None) -> httpx.URL:
    if "rest_route" in root.params:
        prefix = root.params["rest_route"].rstrip("/")
        url = root.copy_set_param("rest_route", prefix + route)
    else:
        url = root.copy_with(path=root.path.rstrip("/") + route)
    return url.copy_merge_params(params) if params else url


def _json(resp: httpx.Response, *, what: str) -> Any:
    data = _maybe_json(resp)
    if data is None:
        raise PermanentError(
            f"WordPress sent {what} in a form that is not JSON "
            f"(HTTP {resp.status_code}, {resp.headers.get('content-type', 'no type')})",
            hint="a plugin or PHP warning may be printing into API answers; check the site",
        )
    return data


def _maybe_json(resp: httpx.Response) -> Any:
    text = resp.text
    try:
        return json.loads(text)
    except ValueError:
        pass
    # PHP notices or a stray BOM before the JSON: decode from the first bracket
    m = re.search(r"[\[{]", text)
    if m:
        try:
            return json.JSONDecoder().raw_decode(text, m.start())[0]
        except ValueError:
            return None
    return None


def _rendered(post: dict[str, Any], key: str) -> str:
    value = post.get(key)
    return str(value.get("rendered") or "") if isinstance(value, dict) else ""


def _published(post: dict[str, Any]) -> PublishedItem:
    from ._readback import html_text

    title, _ = html_text(_rendered(post, "title"))
    excerpt, _ = html_text(_rendered(post, "excerpt"))
    body, alts = html_text(_rendered(post, "content"))
    text = body if excerpt and excerpt in body else "\n".join(t for t in (excerpt, body) if t)
    date = post.get("date_gmt")
    published = None
    if isinstance(date, str) and date:
        try:
            published = datetime.fromisoformat(date).replace(tzinfo=UTC)
        except ValueError:
            published = None
    return PublishedItem(
        text=text,
        url=post.get("link") or None,
        published_at=published,
        remote_id=str(post.get("id")),
        title=title or None,
        alts=alts,
    )


def _int_header(resp: httpx.Response, name: str) -> int | None:
    try:
        return int(resp.headers.get(name, ""))
    except ValueError:
        return None


def _content_text(post: dict[str, Any]) -> str:
    content = post.get("content")
    if isinstance(content, dict):
        return f"{content.get('raw') or ''}\n{content.get('rendered') or ''}"
    return content if isinstance(content, str) else ""


def _same_name(a: object, b: str) -> bool:
    """Term names come back HTML-escaped (``Q&amp;A``) and compare case-insensitively."""
    if not isinstance(a, str):
        return False
    return _norm_name(a) == _norm_name(b)


def _norm_name(s: str) -> str:
    return " ".join(html.unescape(s).split()).casefold()
