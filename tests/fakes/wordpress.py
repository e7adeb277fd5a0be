"""A fake WordPress REST API that behaves like WordPress 6.1 where crosspost cares.

Real HTTP on 127.0.0.1 (``FakeServer``), data in SQLite (``:memory:`` by default, or a file so
posts survive a restart of the fake, and a test can count them from another process).

Speaks ``/wp-json/wp/v2/…`` and ``/?rest_route=/wp/v2/…``: ``posts`` (create, get, list with
``search``/``status``/``slug``/``context``), ``tags`` and ``categories`` (search, create,
400 ``term_exists`` with ``data.term_id``), ``media`` (raw body + ``Content-Disposition``,
``alt_text`` update), ``users/me``. Application-password Basic auth; a wrong or missing
password is treated as anonymous, which gives WordPress's generic 401s
(``rest_not_logged_in``, ``rest_cannot_create``). Scheduling as in ``wp_insert_post``:
``publish`` with a ``date_gmt`` more than 60 s ahead becomes ``future``, whose ``link`` is
``?p=<id>``. Public pages: ``/<slug>/`` for published posts (404 otherwise), ``/?p=<id>``
redirects once published.

As a process::

    python -m tests.fakes.wordpress --port 8765 --db /tmp/wp.sqlite3

prints ``FAKE_WORDPRESS_URL=…``, ``FAKE_WORDPRESS_USER=…``, ``FAKE_WORDPRESS_APP_PASSWORD=…``
and serves until SIGTERM. Besides the ``/__fake/`` controls of ``FakeServer``:
``GET /__fake/count?marker=KEY`` → ``{"count": n}`` (posts carrying
``<!-- crosspost:KEY -->``), ``GET /__fake/posts`` → every post.
``FakeWordPress.count_marker_in_db(path, key)`` counts in the SQLite file directly.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import signal
import sqlite3
import sys
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .server import FakeServer, Request, Response, json_response

SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL DEFAULT 'post',
    title TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    excerpt TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    slug TEXT NOT NULL DEFAULT '',
    date_gmt TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    categories TEXT NOT NULL DEFAULT '[]',
    featured_media INTEGER NOT NULL DEFAULT 0,
    mime_type TEXT NOT NULL DEFAULT '',
    alt_text TEXT NOT NULL DEFAULT '',
    data BLOB
);
CREATE TABLE IF NOT EXISTS terms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    taxonomy TEXT NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL
);
"""

ROLES: dict[str, dict[str, bool]] = {
    "administrator": {
        "read": True,
        "edit_posts": True,
        "publish_posts": True,
        "upload_files": True,
        "manage_categories": True,
        "unfiltered_html": True,
        "edit_others_posts": True,
    },
    "editor": {
        "read": True,
        "edit_posts": True,
        "publish_posts": True,
        "upload_files": True,
        "manage_categories": True,
        "unfiltered_html": True,
        "edit_others_posts": True,
    },
    "author": {"read": True, "edit_posts": True, "publish_posts": True, "upload_files": True},
    "contributor": {"read": True, "edit_posts": True},
}
STATUSES = ("publish", "future", "draft", "pending", "private")
TAXONOMIES = {"tags": "post_tag", "categories": "category"}


def marker(key: str) -> str:
    return f"<!-- crosspost:{key} -->"


def _err(status: int, code: str, message: str, **data: Any) -> Response:
    return json_response(
        status, {"code": code, "message": message, "data": {"status": status, **data}}
    )


def _slugify(text: str) -> str:
    ascii_text = (
        unicodedata.normalize("NFKD", html.unescape(text)).encode("ascii", "ignore").decode()
    )
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _fmt(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class FakeWordPress(FakeServer):
    name = "fake-wordpress"
    create = ("POST", "/wp/v2/posts")

    def __init__(
        self,
        *,
        port: int = 0,
        db: str | Path = ":memory:",
        username: str = "admin",
        app_password: str = "abcd EFGH 1234 ijkl MNOP 5678",
        display_name: str = "Site Admin",
        role: str = "administrator",
        pretty_permalinks: bool = True,
        latency: float = 0.0,
    ) -> None:
        super().__init__(port=port, latency=latency)
        self.username = username
        self.app_password = app_password
        self.display_name = display_name
        #: the user's biographical info and website (Users → Profile), public in bylines
        self.bio = ""
        self.website = ""
        #: Settings → General: the site title and tagline the REST index serves
        self.site_title = "Fake WordPress"
        self.tagline = ""
        self.role = role
        self.pretty_permalinks = pretty_permalinks
        self.db_path = str(db)
        self.db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)
        if self.db_path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")

    def close(self) -> None:
        self.stop()
        self.db.close()

    # -- what tests look at -----------------------------------------------------------------

    def posts(self, status: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            q = "SELECT * FROM posts WHERE type = 'post'"
            rows = self.db.execute(
                q + (" AND status = ?" if status else ""), (status,) if status else ()
            ).fetchall()
        return [dict(r) for r in rows]

    def count_by_marker(self, key: str) -> int:
        with self.lock:
            return int(
                self.db.execute(
                    "SELECT count(*) FROM posts WHERE type = 'post' AND instr(content, ?) > 0",
                    (marker(key),),
                ).fetchone()[0]
            )

    @staticmethod
    def count_marker_in_db(path: str | Path, key: str) -> int:
        """Posts carrying the key's marker in a fake's SQLite file (another process's fake)."""
        con = sqlite3.connect(str(path), timeout=10)
        try:
            return int(
                con.execute(
                    "SELECT count(*) FROM posts WHERE type = 'post' AND instr(content, ?) > 0",
                    (marker(key),),
                ).fetchone()[0]
            )
        finally:
            con.close()

    def terms(self, taxonomy: str = "tags") -> list[dict[str, Any]]:
        with self.lock:
            rows = self.db.execute(
                "SELECT * FROM terms WHERE taxonomy = ?", (TAXONOMIES[taxonomy],)
            ).fetchall()
        return [dict(r) for r in rows]

    def media(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.db.execute("SELECT * FROM posts WHERE type = 'attachment'").fetchall()
        return [dict(r) for r in rows]

    def add_term(self, taxonomy: str, name: str) -> int:
        with self.lock:
            cur = self.db.execute(
                "INSERT INTO terms (taxonomy, name, slug) VALUES (?, ?, ?)",
                (TAXONOMIES[taxonomy], html.escape(name, quote=False), _slugify(name)),
            )
            return int(cur.lastrowid or 0)

    def api_requests(self, method: str | None = None, route: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (route is None or self.route(r) == route)
        ]

    # -- routing ----------------------------------------------------------------------------

    def route(self, req: Request) -> str:
        if req.path in ("/", "/index.php") and req.arg("rest_route") is not None:
            return req.arg("rest_route") or "/"
        if req.path.startswith("/wp-json"):
            return req.path.removeprefix("/wp-json") or "/"
        return req.path

    def error(self, status: int, body: Any = None) -> Response:
        if body is not None:
            return json_response(status, body)
        codes = {
            429: ("too_many_requests", "Too many requests."),
            500: ("internal_server_error", "There has been a critical error on this website."),
            502: ("bad_gateway", "Bad gateway."),
            503: ("service_unavailable", "Briefly unavailable for scheduled maintenance."),
            401: ("rest_not_logged_in", "You are not currently logged in."),
            403: ("rest_forbidden", "Sorry, you are not allowed to do that."),
        }
        code, message = codes.get(status, (f"http_{status}", f"HTTP {status}"))
        return _err(status, code, message)

    def handle(self, req: Request) -> Response:
        route = self.route(req)
        is_api = req.path.startswith("/wp-json") or (
            req.path in ("/", "/index.php") and req.arg("rest_route") is not None
        )
        if not is_api:
            return self._page(req)
        user = self._user(req)
        m = re.fullmatch(r"/wp/v2/(posts|media|tags|categories)(?:/(\d+))?/?", route)
        if route in ("/", ""):
            return json_response(
                200,
                {
                    "name": self.site_title,
                    "description": self.tagline,
                    "url": self.url,
                    "home": self.url,
                    "namespaces": ["oembed/1.0", "wp/v2"],
                    "authentication": {
                        "application-passwords": {
                            "endpoints": {
                                "authorization": f"{self.url}/wp-admin/authorize-application.php"
                            }
                        }
                    },
                    "routes": {},
                },
            )
        if route.rstrip("/") == "/wp/v2/users/me":
            return self._me(req, user)
        if m is None:
            return _err(
                404, "rest_no_route", "No route was found matching the URL and request method."
            )
        kind, ident = m.group(1), m.group(2)
        if kind == "posts":
            if ident is None:
                return (
                    self._create_post(req, user)
                    if req.method == "POST"
                    else self._list_posts(req, user)
                )
            return self._get_post(req, user, int(ident))
        if kind == "media":
            if req.method == "POST" and ident is None:
                return self._upload(req, user)
            if req.method == "POST":
                return self._update_media(req, user, int(ident))
            return self._get_media(int(ident or 0))
        if req.method == "POST" and ident is None:
            return self._create_term(req, user, kind)
        return self._list_terms(req, kind)

    # -- auth -------------------------------------------------------------------------------

    def _user(self, req: Request) -> str | None:
        """The user name if the application password is right, else None (anonymous)."""
        auth = req.header("Authorization") or ""
        if not auth.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        # WordPress strips everything but letters and digits from application passwords
        norm = lambda s: re.sub(r"[^a-zA-Z0-9]", "", s)  # noqa: E731
        if user == self.username and norm(password) == norm(self.app_password):
            return user
        return None

    def _caps(self, user: str | None) -> dict[str, bool]:
        return ROLES.get(self.role, {}) if user else {}

    # -- users ------------------------------------------------------------------------------

    def _me(self, req: Request, user: str | None) -> Response:
        if user is None:
            return _err(401, "rest_not_logged_in", "You are not currently logged in.")
        out: dict[str, Any] = {
            "id": 1,
            "name": self.display_name,
            "url": self.website,
            "description": self.bio,
            "link": f"{self.url}/author/{self.username}/",
            "slug": self.username,
        }
        if req.arg("context") == "edit":
            caps = dict(self._caps(user))
            caps[self.role] = True
            out.update(
                {
                    "username": self.username,
                    "email": f"{self.username}@example.org",
                    "roles": [self.role],
                    "capabilities": caps,
                }
            )
        return json_response(200, out)

    # -- posts ------------------------------------------------------------------------------

    def _link(self, row: sqlite3.Row | dict[str, Any]) -> str:
        if row["status"] == "publish" and self.pretty_permalinks and row["slug"]:
            return f"{self.url}/{row['slug']}/"
        return f"{self.url}/?p={row['id']}"

    def _post_json(self, row: sqlite3.Row, edit: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": row["id"],
            "date": row["date_gmt"],
            "date_gmt": row["date_gmt"],
            "guid": {"rendered": f"{self.url}/?p={row['id']}"},
            "modified": row["date_gmt"],
            "modified_gmt": row["date_gmt"],
            "slug": row["slug"],
            "status": row["status"],
            "type": "post",
            "link": self._link(row),
            "title": {"rendered": html.escape(row["title"], quote=False)},
            "content": {"rendered": row["content"], "protected": False},
            "excerpt": {
                "rendered": f"<p>{html.escape(row['excerpt'], quote=False)}</p>\n",
                "protected": False,
            },
            "author": 1,
            "featured_media": row["featured_media"],
            "comment_status": "open",
            "ping_status": "open",
            "sticky": False,
            "format": "standard",
            "categories": json.loads(row["categories"]),
            "tags": json.loads(row["tags"]),
        }
        if edit:
            out["title"]["raw"] = row["title"]
            out["content"]["raw"] = row["content"]
            out["excerpt"]["raw"] = row["excerpt"]
            if self.pretty_permalinks:
                out["permalink_template"] = f"{self.url}/%postname%/"
                out["generated_slug"] = row["slug"] or _slugify(row["title"])
        return out

    def _create_post(self, req: Request, user: str | None) -> Response:
        if user is None:
            return _err(
                401,
                "rest_cannot_create",
                "Sorry, you are not allowed to create posts as this user.",
            )
        data = req.json() if req.content_type == "application/json" else dict(req.form_pairs())
        if "id" in data:
            return _err(400, "rest_post_exists", "Cannot create existing post.")
        status = data.get("status", "draft")
        if status not in STATUSES:
            return _err(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): status",
                params={"status": f"status is not one of {', '.join(STATUSES)}."},
            )
        for key in ("tags", "categories"):
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
                return _err(
                    400,
                    "rest_invalid_param",
                    f"Invalid parameter(s): {key}",
                    params={key: f"{key}[0] is not of type integer."},
                )
        caps = self._caps(user)
        if status in ("publish", "future", "private") and not caps.get("publish_posts"):
            return _err(
                403,
                "rest_cannot_publish",
                "Sorry, you are not allowed to publish posts in this post type.",
            )
        title, content = str(data.get("title") or ""), str(data.get("content") or "")
        excerpt = str(data.get("excerpt") or "")
        if not (title or content or excerpt):
            return _err(400, "empty_content", "Content, title, and excerpt are empty.")
        featured = int(data.get("featured_media") or 0)
        with self.lock:
            if (
                featured
                and not self.db.execute(
                    "SELECT 1 FROM posts WHERE id = ? AND type = 'attachment'", (featured,)
                ).fetchone()
            ):
                return _err(400, "rest_invalid_featured_media", "Invalid featured media ID.")
            now = _now()
            date = now
            if data.get("date_gmt"):
                try:
                    date = datetime.fromisoformat(str(data["date_gmt"])).replace(tzinfo=UTC)
                except ValueError:
                    return _err(400, "rest_invalid_param", "Invalid parameter(s): date_gmt")
            # wp_insert_post: publish in the future -> future; future in the past -> publish
            if status == "publish" and date > now + timedelta(seconds=60):
                status = "future"
            elif status == "future" and date <= now:
                status = "publish"
            slug = self._unique_slug(_slugify(str(data.get("slug") or "")) or _slugify(title))
            cur = self.db.execute(
                "INSERT INTO posts (title, content, excerpt, status, slug, date_gmt, tags,"
                " categories, featured_media) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    title,
                    content,
                    excerpt,
                    status,
                    slug,
                    _fmt(date),
                    json.dumps(data.get("tags", [])),
                    json.dumps(data.get("categories", [])),
                    featured,
                ),
            )
            row = self.db.execute("SELECT * FROM posts WHERE id = ?", (cur.lastrowid,)).fetchone()
        resp = json_response(
            201,
            self._post_json(row, edit=True),
            [
                ("Location", f"{self.url}/wp-json/wp/v2/posts/{row['id']}"),
                ("Link", f'<{self.url}/wp-json/wp/v2/posts/{row["id"]}>; rel="self"'),
            ],
        )
        return resp

    def _unique_slug(self, slug: str) -> str:
        if not slug:
            return ""
        candidate, n = slug, 2
        while self.db.execute("SELECT 1 FROM posts WHERE slug = ?", (candidate,)).fetchone():
            candidate, n = f"{slug}-{n}", n + 1
        return candidate

    def _get_post(self, req: Request, user: str | None, post_id: int) -> Response:
        with self.lock:
            row = self.db.execute(
                "SELECT * FROM posts WHERE id = ? AND type = 'post'", (post_id,)
            ).fetchone()
        if row is None or (row["status"] != "publish" and user is None):
            return _err(
                404 if user or row is None else 401, "rest_post_invalid_id", "Invalid post ID."
            )
        edit = req.arg("context") == "edit"
        if edit and user is None:
            return _err(
                401, "rest_forbidden_context", "Sorry, you are not allowed to edit this post."
            )
        return json_response(200, _fields(self._post_json(row, edit), req.arg("_fields")))

    def _list_posts(self, req: Request, user: str | None) -> Response:
        statuses = [s for s in re.split(r"[,\s]+", req.arg("status", "publish") or "") if s]
        for s in statuses:
            if s not in (*STATUSES, "any"):
                return _err(400, "rest_invalid_param", "Invalid parameter(s): status")
        if "any" in statuses:
            statuses = list(STATUSES)
        edit = req.arg("context") == "edit"
        if user is None and (edit or statuses != ["publish"]):
            code = "rest_forbidden_context" if edit else "rest_invalid_param"
            return _err(
                401 if edit else 400,
                code,
                "Sorry, you are not allowed to edit posts in this post type."
                if edit
                else "Invalid parameter(s): status",
            )
        per_page = int(req.arg("per_page", "10") or 10)
        if not 1 <= per_page <= 100:
            return _err(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        page = int(req.arg("page", "1") or 1)
        sql = "SELECT * FROM posts WHERE type = 'post' AND status IN ({})".format(
            ",".join("?" * len(statuses))
        )
        args: list[Any] = list(statuses)
        # WP_Query search: every word in title, excerpt or content (LIKE, case-insensitive)
        for word in (req.arg("search") or "").split():
            sql += " AND (title LIKE ? OR excerpt LIKE ? OR content LIKE ?)"
            args += [f"%{word}%"] * 3
        slug = req.arg("slug")
        if slug:
            sql += " AND slug = ?"
            args.append(slug)
        order = "ASC" if (req.arg("order") or "desc").lower() == "asc" else "DESC"
        sql += (
            " ORDER BY "
            + ("id" if req.arg("orderby") == "id" else "date_gmt")
            + f" {order}, id {order}"
        )
        with self.lock:
            rows = self.db.execute(sql, args).fetchall()
        total = len(rows)
        rows = rows[(page - 1) * per_page : page * per_page]
        fields = req.arg("_fields")
        return json_response(
            200,
            [_fields(self._post_json(r, edit), fields) for r in rows],
            [
                ("X-WP-Total", str(total)),
                ("X-WP-TotalPages", str(max(1, -(-total // per_page)))),
            ],
        )

    # -- terms ------------------------------------------------------------------------------

    def _term_json(self, row: sqlite3.Row, kind: str) -> dict[str, Any]:
        base = "tag" if kind == "tags" else "category"
        out = {
            "id": row["id"],
            "count": 0,
            "description": "",
            "link": f"{self.url}/{base}/{row['slug']}/",
            "name": row["name"],
            "slug": row["slug"],
            "taxonomy": row["taxonomy"],
            "meta": [],
        }
        if kind == "categories":
            out["parent"] = 0
        return out

    def _list_terms(self, req: Request, kind: str) -> Response:
        sql, args = "SELECT * FROM terms WHERE taxonomy = ?", [TAXONOMIES[kind]]
        search = req.arg("search")
        if search:
            sql += " AND (name LIKE ? OR slug LIKE ?)"
            args += [f"%{html.escape(search, quote=False)}%", f"%{_slugify(search)}%"]
        if req.arg("slug"):
            sql += " AND slug = ?"
            args.append(req.arg("slug") or "")
        with self.lock:
            rows = self.db.execute(sql + " ORDER BY name", args).fetchall()
        per_page = int(req.arg("per_page", "10") or 10)
        return json_response(
            200, [_fields(self._term_json(r, kind), req.arg("_fields")) for r in rows[:per_page]]
        )

    def _create_term(self, req: Request, user: str | None, kind: str) -> Response:
        if user is None:
            return _err(
                401,
                "rest_cannot_create",
                "Sorry, you are not allowed to create terms in this taxonomy.",
            )
        if not self._caps(user).get("manage_categories"):
            return _err(
                403,
                "rest_cannot_create",
                "Sorry, you are not allowed to create terms in this taxonomy.",
            )
        data = req.json() if req.content_type == "application/json" else dict(req.form_pairs())
        name = " ".join(str(data.get("name") or "").split())
        if not name:
            return _err(
                400, "rest_missing_callback_param", "Missing parameter(s): name", params=["name"]
            )
        stored = html.escape(name, quote=False)
        with self.lock:
            row = self.db.execute(
                "SELECT * FROM terms WHERE taxonomy = ? AND lower(name) = lower(?)",
                (TAXONOMIES[kind], stored),
            ).fetchone()
            if row is not None:
                return _err(
                    400,
                    "term_exists",
                    "A term with the name provided already exists in this taxonomy.",
                    term_id=row["id"],
                )
            slug, n = _slugify(name) or "term", 2
            base = slug
            while self.db.execute(
                "SELECT 1 FROM terms WHERE slug = ? AND taxonomy = ?", (slug, TAXONOMIES[kind])
            ).fetchone():
                slug, n = f"{base}-{n}", n + 1
            cur = self.db.execute(
                "INSERT INTO terms (taxonomy, name, slug) VALUES (?, ?, ?)",
                (TAXONOMIES[kind], stored, slug),
            )
            row = self.db.execute("SELECT * FROM terms WHERE id = ?", (cur.lastrowid,)).fetchone()
        return json_response(
            201,
            self._term_json(row, kind),
            [("Location", f"{self.url}/wp-json/wp/v2/{kind}/{row['id']}")],
        )

    # -- media ------------------------------------------------------------------------------

    def _media_json(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "date_gmt": row["date_gmt"],
            "slug": row["slug"],
            "status": "inherit",
            "type": "attachment",
            "link": f"{self.url}/{row['slug']}/",
            "title": {"rendered": row["title"]},
            "alt_text": row["alt_text"],
            "media_type": "image" if row["mime_type"].startswith("image/") else "file",
            "mime_type": row["mime_type"],
            "source_url": f"{self.url}/wp-content/uploads/{row['title']}",
        }

    def _upload(self, req: Request, user: str | None) -> Response:
        if user is None:
            return _err(
                401,
                "rest_cannot_create",
                "Sorry, you are not allowed to upload media on this site.",
            )
        if not self._caps(user).get("upload_files"):
            return _err(
                403,
                "rest_cannot_create",
                "Sorry, you are not allowed to upload media on this site.",
            )
        if not req.body:
            return _err(400, "rest_upload_no_data", "No data supplied.")
        disposition = req.header("Content-Disposition") or ""
        m = re.search(r'filename="?([^";]+)"?', disposition)
        if not m:
            return _err(
                400, "rest_upload_no_content_disposition", "No Content-Disposition supplied."
            )
        filename = m.group(1)
        with self.lock:
            cur = self.db.execute(
                "INSERT INTO posts (type, title, status, slug, date_gmt, mime_type, data)"
                " VALUES ('attachment', ?, 'inherit', ?, ?, ?, ?)",
                (
                    filename,
                    self._unique_slug(_slugify(Path(filename).stem)),
                    _fmt(_now()),
                    req.content_type,
                    req.body,
                ),
            )
            row = self.db.execute("SELECT * FROM posts WHERE id = ?", (cur.lastrowid,)).fetchone()
        return json_response(
            201,
            self._media_json(row),
            [("Location", f"{self.url}/wp-json/wp/v2/media/{row['id']}")],
        )

    def _update_media(self, req: Request, user: str | None, media_id: int) -> Response:
        if user is None:
            return _err(401, "rest_cannot_edit", "Sorry, you are not allowed to edit this post.")
        data = req.json() if req.content_type == "application/json" else dict(req.form_pairs())
        with self.lock:
            if "alt_text" in data:
                self.db.execute(
                    "UPDATE posts SET alt_text = ? WHERE id = ? AND type = 'attachment'",
                    (str(data["alt_text"]), media_id),
                )
        return self._get_media(media_id)

    def _get_media(self, media_id: int) -> Response:
        with self.lock:
            row = self.db.execute(
                "SELECT * FROM posts WHERE id = ? AND type = 'attachment'", (media_id,)
            ).fetchone()
        if row is None:
            return _err(404, "rest_post_invalid_id", "Invalid post ID.")
        return json_response(200, self._media_json(row))

    # -- public pages -----------------------------------------------------------------------

    def _page(self, req: Request) -> Response:
        with self.lock:
            if req.path in ("/", "/index.php") and req.arg("p"):
                row = self.db.execute(
                    "SELECT * FROM posts WHERE id = ? AND type = 'post'", (int(req.arg("p") or 0),)
                ).fetchone()
                if row is not None and row["status"] == "publish" and self.pretty_permalinks:
                    return Response(301, b"", [("Location", self._link(row))])
            elif req.path.startswith("/wp-content/uploads/"):
                name = req.path.removeprefix("/wp-content/uploads/")
                media = self.db.execute(
                    "SELECT * FROM posts WHERE type = 'attachment' AND title = ?", (name,)
                ).fetchone()
                if media is None:
                    return Response(404, b"not found")
                return Response(200, bytes(media["data"]), [("Content-Type", media["mime_type"])])
            else:
                row = self.db.execute(
                    "SELECT * FROM posts WHERE slug = ? AND type = 'post'", (req.path.strip("/"),)
                ).fetchone()
        if row is None or row["status"] != "publish":
            return Response(
                404,
                b"<html><body>Page not found</body></html>",
                [("Content-Type", "text/html; charset=UTF-8")],
            )
        page = (
            f"<html><head><title>{html.escape(row['title'])}</title></head><body>"
            f"<h1>{html.escape(row['title'])}</h1>{row['content']}</body></html>"
        )
        return Response(
            200,
            page.encode("utf-8"),
            [
                ("Content-Type", "text/html; charset=UTF-8"),
                (
                    "Link",
                    f'<{self.url}/wp-json/wp/v2/posts/{row["id"]}>; rel="alternate"; '
                    'type="application/json"',
                ),
            ],
        )

    # -- controls for a fake in another process ---------------------------------------------

    def control(self, req: Request, what: str) -> Response | None:
        if what == "count":
            return json_response(200, {"count": self.count_by_marker(req.arg("marker") or "")})
        if what == "posts":
            posts = [{k: v for k, v in p.items() if k != "data"} for p in self.posts()]
            return json_response(200, posts)
        return None


def _fields(obj: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return obj
    keep = {f.strip().split(".")[0] for f in fields.split(",")}
    return {k: v for k, v in obj.items() if k in keep}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.fakes.wordpress",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--db", default=":memory:", help="SQLite file (posts survive restarts)")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="abcd EFGH 1234 ijkl MNOP 5678")
    ap.add_argument("--role", default="administrator", choices=sorted(ROLES))
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--plain-permalinks", action="store_true")
    args = ap.parse_args(argv)
    fake = FakeWordPress(
        port=args.port,
        db=args.db,
        username=args.user,
        app_password=args.password,
        role=args.role,
        latency=args.latency,
        pretty_permalinks=not args.plain_permalinks,
    )
    signal.signal(signal.SIGTERM, lambda *_: fake.request_stop())
    signal.signal(signal.SIGINT, lambda *_: fake.request_stop())
    fake.start()
    print(f"FAKE_WORDPRESS_URL={fake.url}", flush=True)
    print(f"FAKE_WORDPRESS_USER={fake.username}", flush=True)
    print(f"FAKE_WORDPRESS_APP_PASSWORD={fake.app_password}", flush=True)
    fake.serve_until_stopped()
    fake.db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
