"""A fake Micropub server (W3C Recommendation) with a media endpoint and a home page.

- ``GET /`` — the home page, with ``<link rel="micropub">`` (``discovery="html"``), a
  ``Link`` header (``"header"``) or nothing (``"none"``).
- ``GET /micropub?q=config`` — ``{"media-endpoint": …, "syndicate-to": […]}`` (no
  ``media-endpoint`` when ``media=False``); ``q=source&url=…``; ``q=source`` without ``url``
  lists the newest posts (the post-list extension) when ``post_list=True``, else 400.
- ``POST /micropub`` — form-encoded, multipart or JSON h-entry; 201 (or 202 when
  ``accept_status=202``) with ``Location``. Errors are ``{error, error_description}``:
  401 ``unauthorized`` without a token, 403 ``forbidden`` for a wrong one, 401
  ``insufficient_scope`` without the ``create`` scope, 400 ``invalid_request`` when the token
  comes both as header and as ``access_token`` (no double auth).
- ``POST /media`` — multipart with one part named ``file``; 201 + ``Location``.
- ``GET /<yyyy>/<slug>`` — the published post's page.
"""

from __future__ import annotations

import html
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .server import FakeServer, Request, Response, json_response


@dataclass
class Post:
    url: str
    properties: dict[str, list[Any]]
    syntax: str  # "form", "multipart" or "json"
    files: list[tuple[str, str, str, bytes]] = field(default_factory=list)


class FakeMicropub(FakeServer):
    name = "fake-micropub"
    create = ("POST", "/micropub")

    def __init__(
        self,
        *,
        token: str = "mp-token-0123456789",
        scopes: tuple[str, ...] = ("create", "media"),
        discovery: str = "html",
        media: bool = True,
        post_list: bool = False,
        accept_status: int = 201,
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        super().__init__(port=port, latency=latency)
        self.token = token
        self.scopes = scopes
        self.discovery = discovery
        self.media_enabled = media
        self.post_list = post_list
        self.accept_status = accept_status
        self.posts: list[Post] = []
        self.uploads: list[tuple[str, str, str, bytes]] = []
        self._ids = itertools.count(1)

    @property
    def endpoint(self) -> str:
        return f"{self.url}/micropub"

    def error(self, status: int, body: Any = None) -> Response:
        if body is not None:
            return json_response(status, body)
        names = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 429: "rate_limited"}
        return json_response(
            status,
            {
                "error": names.get(status, "server_error"),
                "error_description": f"HTTP {status} from the fake",
            },
        )

    def handle(self, req: Request) -> Response:
        if req.path == "/" and req.method == "GET":
            return self._home()
        if req.path == "/micropub":
            return self._micropub(req)
        if req.path == "/media" and req.method == "POST":
            return self._media(req)
        for p in self.posts:
            if p.url == f"{self.url}{req.path}":
                name = html.escape(str((p.properties.get("name") or [""])[0]))
                body = (
                    f"<html><body><article class='h-entry'><h1>{name}</h1></article></body></html>"
                )
                return Response(200, body.encode(), [("Content-Type", "text/html")])
        return Response(404, b"not found", [("Content-Type", "text/plain")])

    def _home(self) -> Response:
        headers = [("Content-Type", "text/html; charset=utf-8")]
        head = ""
        if self.discovery == "html":
            head = (
                '<link rel="authorization_endpoint" href="https://indieauth.com/auth">'
                '<link rel="micropub" href="/micropub">'
            )
        elif self.discovery == "header":
            headers.append(
                (
                    "Link",
                    f'<{self.url}/auth>; rel="authorization_endpoint", '
                    f'<{self.endpoint}>; rel="micropub"',
                )
            )
        page = f"<!doctype html><html><head><title>Blog</title>{head}</head><body></body></html>"
        return Response(200, page.encode(), headers)

    # -- auth -------------------------------------------------------------------------------

    def _auth(self, req: Request, form: list[tuple[str, str]]) -> Response | None:
        header = req.header("Authorization")
        in_body = [v for k, v in form if k == "access_token"]
        if header and in_body:
            return json_response(
                400,
                {"error": "invalid_request", "error_description": "token sent in header and body"},
            )
        token = (
            header[7:]
            if header and header.lower().startswith("bearer ")
            else (in_body[0] if in_body else None)
        )
        if not token:
            return json_response(
                401, {"error": "unauthorized", "error_description": "No access token was provided"}
            )
        if token != self.token:
            return json_response(
                403, {"error": "forbidden", "error_description": "The access token is not valid"}
            )
        return None

    def _scope(self, scope: str) -> Response | None:
        if scope not in self.scopes:
            return json_response(
                401,
                {
                    "error": "insufficient_scope",
                    "scope": scope,
                    "error_description": f"The token lacks the {scope} scope",
                },
            )
        return None

    # -- endpoint ---------------------------------------------------------------------------

    def _micropub(self, req: Request) -> Response:
        if req.method == "GET":
            denied = self._auth(req, [])
            if denied:
                return denied
            q = req.arg("q")
            if q == "config":
                cfg: dict[str, Any] = {
                    "syndicate-to": [
                        {"uid": "https://social.example/@me", "name": "@me on social.example"}
                    ],
                    "q": ["config", "syndicate-to", "source"],
                }
                if self.media_enabled:
                    cfg["media-endpoint"] = f"{self.url}/media"
                return json_response(200, cfg)
            if q == "source":
                url = req.arg("url")
                if url:
                    post = next((p for p in self.posts if p.url == url), None)
                    if post is None:
                        return json_response(
                            400, {"error": "invalid_request", "error_description": "no such post"}
                        )
                    return json_response(200, {"type": ["h-entry"], "properties": post.properties})
                if not self.post_list:
                    return json_response(
                        400, {"error": "invalid_request", "error_description": "url is required"}
                    )
                limit = int(req.arg("limit") or 10)
                items = [
                    {"type": ["h-entry"], "properties": {**p.properties, "url": [p.url]}}
                    for p in reversed(self.posts)
                ][:limit]
                return json_response(200, {"items": items})
            return json_response(
                400, {"error": "invalid_request", "error_description": f"unknown query {q!r}"}
            )
        if req.method != "POST":
            return json_response(405, {"error": "invalid_request"})
        files: list[tuple[str, str, str, bytes]] = []
        if req.content_type == "application/json":
            data = req.json()
            denied = self._auth(req, [])
            if denied:
                return denied
            if data.get("type") != ["h-entry"] or not isinstance(data.get("properties"), dict):
                return json_response(
                    400, {"error": "invalid_request", "error_description": "expected an h-entry"}
                )
            props = {k: v for k, v in data["properties"].items()}
            for k, v in props.items():
                if not isinstance(v, list):
                    return json_response(
                        400,
                        {"error": "invalid_request", "error_description": f"{k} must be an array"},
                    )
            syntax = "json"
        else:
            if req.content_type == "multipart/form-data":
                form, files = req.multipart()
                syntax = "multipart"
            elif req.content_type == "application/x-www-form-urlencoded":
                form = req.form_pairs()
                syntax = "form"
            else:
                return json_response(
                    400,
                    {"error": "invalid_request", "error_description": "unsupported content type"},
                )
            denied = self._auth(req, form)
            if denied:
                return denied
            if dict(form).get("h") != "entry":
                return json_response(
                    400, {"error": "invalid_request", "error_description": "h=entry is required"}
                )
            props = {}
            for k, v in form:
                if k in ("h", "access_token"):
                    continue
                props.setdefault(k.removesuffix("[]"), []).append(v)
        denied = self._scope("create")
        if denied:
            return denied
        if not props.get("content") and not props.get("name") and not files:
            return json_response(
                400, {"error": "invalid_request", "error_description": "content is required"}
            )
        slug = str((props.get("mp-slug") or [f"post-{next(self._ids)}"])[0])
        year = datetime.now(UTC).year
        url = f"{self.url}/{year}/{slug}"
        if any(p.url == url for p in self.posts):
            url = f"{url}-{next(self._ids)}"
        with self.lock:
            self.posts.append(Post(url, props, syntax, files))
        resp = Response(self.accept_status, b"", [("Location", url)])
        return resp

    def _media(self, req: Request) -> Response:
        denied = self._auth(req, []) or self._scope("media")
        if denied:
            return denied
        if req.content_type != "multipart/form-data":
            return json_response(
                400,
                {"error": "invalid_request", "error_description": "multipart/form-data expected"},
            )
        _fields, files = req.multipart()
        if [f[0] for f in files] != ["file"]:
            return json_response(
                400,
                {"error": "invalid_request", "error_description": "exactly one part named file"},
            )
        with self.lock:
            self.uploads.append(files[0])
            n = len(self.uploads)
        return Response(201, b"", [("Location", f"{self.url}/media/{n}-{files[0][1]}")])

    def created(self) -> list[dict[str, Any]]:
        return [json.loads(json.dumps(p.properties)) for p in self.posts]
