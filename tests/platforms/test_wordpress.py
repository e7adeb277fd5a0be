"""The WordPress adapter against FakeWordPress (real HTTP on 127.0.0.1, no network)."""

from __future__ import annotations

import base64
import email.utils
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from crosspost.credentials import MissingCredentials
from crosspost.errors import PermanentError, TransientError
from crosspost.platforms import _http, adapter_class
from crosspost.platforms.base import AdapterContext, LookupUnsupported, MediaItem, Publication
from crosspost.platforms.wordpress import WordPressAdapter, api_root, marker, route_url
from crosspost.profiles import Persona, make_blog
from tests.fakes.wordpress import FakeWordPress
from tests.support.publications import make_publication

PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"
FAST = httpx.Timeout(3.0, connect=1.0)
REPO = Path(__file__).resolve().parents[2]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def wp() -> Iterator[FakeWordPress]:
    fake = FakeWordPress(app_password=PASSWORD)
    with fake:
        yield fake
    fake.db.close()


@pytest.fixture
def ring(isolated):  # type: ignore[no-untyped-def]
    isolated.set_password("crosspost/professional/blog", "app_password", PASSWORD)
    return isolated


def persona(url: str, **blog: object) -> Persona:
    fields: dict[str, object] = {"platform": "wordpress", "url": url, "username": "admin"}
    fields.update(blog)
    p = Persona(display_name="Dr. Ana Reyes", blog=make_blog(**fields))  # type: ignore[arg-type]
    p.name = "professional"
    return p


def make(url: str, *, timeout: httpx.Timeout = FAST, **kw: object) -> WordPressAdapter:
    blog_kw = {k: kw.pop(k) for k in ("endpoint", "username", "categories") if k in kw}
    p = persona(url, **blog_kw)
    return WordPressAdapter(AdapterContext(persona=p, blog=p.blog), timeout=timeout, **kw)  # type: ignore[arg-type]


def pub(**kw: object) -> Publication:
    defaults = dict(
        post_id=7,
        persona="professional",
        target="blog",
        platform="wordpress",
        idempotency_key="0123456789abcdef0123456789abcdef",
        kind="entry",
        title="Sleep & anxiety: five small habits",
        body="Some **bold** advice.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<aside>kept</aside>\n",
        summary="Five habits.",
        tags=("sleep", "Anxiety"),
        categories=("Articles",),
        slug="sleep-anxiety",
        lang="en",
        scheduled_at=datetime.now(UTC),
        text="",
    )
    return make_publication(**{**defaults, **kw})


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- publishing -------------------------------------------------------------------------------


def test_registry_finds_the_adapter() -> None:
    assert adapter_class("wordpress") is WordPressAdapter
    assert [f.name for f in WordPressAdapter.credential_fields] == ["app_password"]


def test_publish_creates_terms_post_and_returns_the_permalink(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    existing = wp.add_term("tags", "anxiety")  # matched by name, case-insensitively
    result = make(wp.url).publish(pub())

    [post] = wp.posts()
    assert result.remote_id == str(post["id"])
    assert result.url == f"{wp.url}/sleep-anxiety/"
    assert httpx.get(result.url).status_code == 200  # the link serves the post

    [create] = wp.api_requests("POST", "/wp/v2/posts")
    assert create.header("Authorization") == basic("admin", PASSWORD)
    sent = create.json()
    assert sent["status"] == "publish"
    assert sent["title"] == "Sleep & anxiety: five small habits"
    assert sent["slug"] == "sleep-anxiety"
    assert sent["excerpt"] == "Five habits."
    assert "date_gmt" not in sent  # on time: WordPress's clock dates the post
    tags = {t["name"]: t["id"] for t in wp.terms("tags")}
    assert sorted(sent["tags"]) == sorted([tags["sleep"], existing])
    assert sent["categories"] == [wp.terms("categories")[0]["id"]]
    # Markdown rendered (tables on, raw HTML kept), marker last
    assert "<strong>bold</strong>" in sent["content"]
    assert "<table>" in sent["content"]
    assert "<aside>kept</aside>" in sent["content"]
    assert sent["content"].rstrip().endswith(marker(pub().idempotency_key))
    assert wp.count_by_marker(pub().idempotency_key) == 1
    # every request authenticated, never with the password anywhere but the header
    for r in wp.requests:
        if not r.path.startswith("/wp-json"):
            continue  # the test's own GET of the page
        assert r.header("Authorization") == basic("admin", PASSWORD)
        assert PASSWORD not in r.target and PASSWORD.encode() not in r.body


def test_terms_are_reused_and_created_once(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    amp = wp.add_term("tags", "Q&A")  # stored as "Q&amp;A", as WordPress does
    adapter = make(wp.url)
    adapter.publish(pub(tags=("Q&A", "new tag", "New Tag")))
    adapter.publish(pub(tags=("new tag",), idempotency_key="k2", slug="second"))
    names = sorted(t["name"] for t in wp.terms("tags"))
    assert names == ["Q&amp;A", "new tag"]
    assert amp in json.loads(wp.posts()[0]["tags"])
    assert len(wp.api_requests("POST", "/wp/v2/tags")) == 1


def test_term_exists_answer_gives_the_id(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    term = wp.add_term("tags", "sleep")
    # a search that misses (e.g. an index lag): the create answers 400 term_exists
    wp.fail_next(200, path="/wp/v2/tags", method="GET", body=[])
    make(wp.url).publish(pub(tags=("sleep",), categories=()))
    [create] = wp.api_requests("POST", "/wp/v2/tags")
    assert create.json() == {"name": "sleep"}
    assert json.loads(wp.posts()[0]["tags"]) == [term]
    assert len(wp.terms("tags")) == 1


def test_blog_default_categories_apply_when_the_entry_has_none(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    make(wp.url, categories=["Practice news"]).publish(pub(categories=()))
    assert [t["name"] for t in wp.terms("categories")] == ["Practice news"]


def test_an_author_cannot_create_terms_and_is_told_what_to_do(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeWordPress(app_password=PASSWORD, role="author") as wp:
        with pytest.raises(PermanentError) as e:
            make(wp.url).publish(pub(tags=("brand new",), categories=()))
        assert "brand new" in e.value.message
        assert "Editor" in (e.value.hint or "")
        assert wp.posts() == []


def test_rest_route_roots_work(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    adapter = make(wp.url, endpoint=f"{wp.url}/?rest_route=/")
    result = adapter.publish(pub())
    assert result.url == f"{wp.url}/sleep-anxiety/"
    assert all(r.path == "/" and r.arg("rest_route", "").startswith("/wp/v2/") for r in wp.requests)
    search = next(r for r in wp.requests if r.arg("rest_route") == "/wp/v2/tags")
    assert search.arg("search") == "sleep"  # params merged, rest_route kept
    assert adapter.lookup(pub()) is not None


@pytest.mark.parametrize(
    ("endpoint", "route", "expected"),
    [
        ("https://ex.org/wp-json", "/wp/v2/posts", "https://ex.org/wp-json/wp/v2/posts"),
        ("https://ex.org/wp-json/wp/v2", "/wp/v2/posts", "https://ex.org/wp-json/wp/v2/posts"),
        ("https://ex.org/blog/wp-json", "/wp/v2/tags", "https://ex.org/blog/wp-json/wp/v2/tags"),
        (
            "https://ex.org/?rest_route=/",
            "/wp/v2/posts",
            "https://ex.org/?rest_route=%2Fwp%2Fv2%2Fposts",
        ),
        (
            "https://ex.org/index.php?rest_route=/wp/v2",
            "/wp/v2/posts",
            "https://ex.org/index.php?rest_route=%2Fwp%2Fv2%2Fposts",
        ),
    ],
)
def test_api_roots(endpoint: str, route: str, expected: str) -> None:
    assert str(route_url(api_root(endpoint), route)) == expected


def test_media_are_uploaded_with_alt_text_and_shown(
    wp: FakeWordPress, ring, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    a, b = tmp_path / "3f2a.png", tmp_path / "9c1b.JPG"
    a.write_bytes(PNG)
    b.write_bytes(b"\xff\xd8\xff\xe0fakejpeg")
    make(wp.url).publish(pub(media=(MediaItem(a, "A calm lake at dawn"), MediaItem(b, ""))))

    uploads = wp.api_requests("POST", "/wp/v2/media")
    assert [u.header("Content-Disposition") for u in uploads] == [
        'attachment; filename="sleep-anxiety-1.png"',
        'attachment; filename="sleep-anxiety-2.jpg"',
    ]
    assert uploads[0].header("Content-Type") == "image/png" and uploads[0].body == PNG
    [alt] = wp.api_requests("POST", f"/wp/v2/media/{wp.media()[0]['id']}")
    assert alt.json() == {"alt_text": "A calm lake at dawn"}
    media = wp.media()
    assert media[0]["alt_text"] == "A calm lake at dawn"
    sent = wp.api_requests("POST", "/wp/v2/posts")[0].json()
    assert sent["featured_media"] == media[0]["id"]
    assert 'alt="A calm lake at dawn"' in sent["content"]
    assert f"/wp-content/uploads/{media[1]['title']}" in sent["content"]
    assert sent["content"].index("<img") < sent["content"].index("<!-- crosspost:")


def test_unreadable_media_is_permanent(wp: FakeWordPress, ring, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermanentError, match="cannot be read"):
        make(wp.url).publish(pub(media=(MediaItem(tmp_path / "gone.png"),)))
    assert wp.posts() == []


def test_scheduled_on_the_server_keeps_the_plain_link(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    at = datetime.now(UTC) + timedelta(days=2)
    result = make(wp.url, schedule_on_server=True).publish(pub(scheduled_at=at))
    [post] = wp.posts()
    assert post["status"] == "future"
    sent = wp.api_requests("POST", "/wp/v2/posts")[0].json()
    assert sent["date_gmt"] == at.strftime("%Y-%m-%dT%H:%M:%S")
    # re-read after creation; a future post keeps ?p=<id> until WordPress publishes it
    assert wp.api_requests("GET", f"/wp/v2/posts/{post['id']}")
    assert result.url == f"{wp.url}/?p={post['id']}"
    assert httpx.get(result.url).status_code == 404  # not viewable yet
    assert make(wp.url).lookup(pub(scheduled_at=at)) == result


def test_future_time_without_server_scheduling_publishes_now(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    result = make(wp.url).publish(pub(scheduled_at=datetime.now(UTC) + timedelta(days=2)))
    assert wp.posts()[0]["status"] == "publish"
    assert result.url == f"{wp.url}/sleep-anxiety/"


def test_a_late_post_keeps_its_scheduled_time(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
    make(wp.url).publish(pub(scheduled_at=at))
    assert wp.api_requests("POST", "/wp/v2/posts")[0].json()["date_gmt"] == "2024-03-04T14:30:00"
    assert wp.posts()[0]["status"] == "publish"


def test_plain_permalinks_link_is_re_read(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeWordPress(app_password=PASSWORD, pretty_permalinks=False) as wp:
        result = make(wp.url).publish(pub())
        pid = wp.posts()[0]["id"]
        assert result.url == f"{wp.url}/?p={pid}"
        assert wp.api_requests("GET", f"/wp/v2/posts/{pid}")


def test_php_noise_before_the_json_is_tolerated(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    body = (
        b"<br />\n<b>Notice</b>: Undefined index in plugin.php<br />\n"
        b'{"id": 41, "status": "publish", "link": "https://ex.org/noisy/"}'
    )
    wp.fail_next(201, method="POST", path="/wp/v2/posts", body=body)
    result = make(wp.url).publish(pub(tags=(), categories=()))
    assert (result.remote_id, result.url) == ("41", "https://ex.org/noisy/")


# -- failures ---------------------------------------------------------------------------------


def test_429_with_retry_after_seconds(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    wp.fail_next(429, method="POST", path="/wp/v2/posts", headers={"Retry-After": "120"})
    with pytest.raises(TransientError) as e:
        make(wp.url).publish(pub())
    assert e.value.retry_after == 120
    assert e.value.maybe_sent is False
    assert wp.posts() == []


def test_429_with_a_reset_epoch(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    reset = int(time.time()) + 90
    wp.fail_next(429, headers={"x-ratelimit-reset": str(reset)})
    with pytest.raises(TransientError) as e:
        make(wp.url).publish(pub())
    assert 80 <= (e.value.retry_after or 0) <= 91
    assert e.value.maybe_sent is False


def test_500_on_the_post_may_have_created_it(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    wp.fail_next(500, method="POST", path="/wp/v2/posts")
    with pytest.raises(TransientError) as e:
        make(wp.url).publish(pub())
    assert e.value.maybe_sent is True
    assert "critical error" in e.value.message


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/wp/v2/tags"), ("POST", "/wp/v2/tags"), ("POST", "/wp/v2/media")]
)
def test_failures_before_the_post_request_are_not_sent(
    wp: FakeWordPress,
    ring,
    tmp_path: Path,
    method: str,
    path: str,  # type: ignore[no-untyped-def]
) -> None:
    img = tmp_path / "a.png"
    img.write_bytes(PNG)
    wp.fail_next(503, method=method, path=path)
    with pytest.raises(TransientError) as e:
        make(wp.url).publish(pub(tags=("fresh",), media=(MediaItem(img, "alt"),)))
    assert e.value.maybe_sent is False
    assert wp.api_requests("POST", "/wp/v2/posts") == []


def test_wrong_application_password_is_permanent_with_a_login_hint(
    wp: FakeWordPress, isolated
) -> None:  # type: ignore[no-untyped-def]
    wrong = "zzzz yyyy xxxx wwww vvvv uuuu"
    isolated.set_password("crosspost/professional/blog", "app_password", wrong)
    adapter = make(wp.url)
    with pytest.raises(PermanentError) as e:
        adapter.publish(pub(tags=(), categories=()))
    assert "HTTP 401" in e.value.message and "rest_cannot_create" in e.value.message
    assert "crosspost accounts login blog" in (e.value.hint or "")
    with pytest.raises(PermanentError) as e2:
        adapter.verify()
    assert "rest_not_logged_in" in e2.value.message
    for text in (str(e.value), repr(e.value), str(e2.value), repr(adapter)):
        assert wrong not in text and "zzzz" not in text


def test_server_messages_are_redacted(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    wp.fail_next(
        400,
        body={
            "code": "rest_invalid_param",
            "message": f"bad value {PASSWORD}",
            "data": {"status": 400},
        },
    )
    with pytest.raises(PermanentError) as e:
        make(wp.url).publish(pub())
    assert PASSWORD not in str(e.value)
    assert "rest_invalid_param" in e.value.message


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_client_errors_are_permanent_with_the_servers_message(
    wp: FakeWordPress, ring, status: int
) -> None:  # type: ignore[no-untyped-def]
    wp.fail_next(
        status,
        method="POST",
        path="/wp/v2/posts",
        body={
            "code": "rest_invalid_param",
            "message": "Invalid parameter(s): slug",
            "data": {"status": status},
        },
    )
    with pytest.raises(PermanentError, match=r"Invalid parameter\(s\): slug"):
        make(wp.url).publish(pub())


def test_wrong_api_root_says_where_to_look(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermanentError) as e:
        make(wp.url, endpoint=f"{wp.url}/wp-json/nope").verify()
    assert "rest_no_route" in e.value.message
    assert "endpoint" in (e.value.hint or "")


def test_unreachable_server_was_not_sent(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeWordPress() as dead:
        url = dead.url
    with pytest.raises(TransientError) as e:
        make(url).publish(pub())
    assert e.value.maybe_sent is False


def test_missing_credentials_say_how_to_log_in(wp: FakeWordPress) -> None:
    with pytest.raises(MissingCredentials) as e:
        make(wp.url).publish(pub())
    assert "crosspost accounts login blog" in (e.value.hint or "")


def test_missing_username_is_a_configuration_problem(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermanentError, match="no username"):
        make(wp.url, username=None).publish(pub())


def test_default_timeouts() -> None:
    assert (_http.TIMEOUT.connect, _http.TIMEOUT.read) == (10.0, 30.0)


# -- accepted, then timed out: exactly one post ------------------------------------------------


def test_accept_then_timeout_then_lookup_finds_exactly_one(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    key = pub().idempotency_key
    wp.accept_then_hang(5)
    adapter = make(wp.url, timeout=httpx.Timeout(0.5, connect=1.0))
    t0 = time.monotonic()
    with pytest.raises(TransientError) as e:
        adapter.publish(pub())
    assert time.monotonic() - t0 < 3
    assert e.value.maybe_sent is True
    assert wp.count_by_marker(key) == 1

    found = adapter.lookup(pub())
    [post] = wp.posts()
    assert found is not None
    assert found.remote_id == str(post["id"])
    assert found.url == f"{wp.url}/sleep-anxiety/"
    lookup = wp.api_requests("GET", "/wp/v2/posts")[-1]
    assert lookup.arg("search") == key
    assert lookup.arg("context") == "edit"
    assert set((lookup.arg("status") or "").split(",")) >= {"publish", "future", "draft"}
    assert wp.count_by_marker(key) == 1


def test_lookup_without_a_post_is_none(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    assert make(wp.url).lookup(pub()) is None


def test_lookup_needs_the_marker_not_just_the_key(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    key = pub().idempotency_key
    make(wp.url).publish(pub(body=f"I mention {key} in passing.", idempotency_key="other"))
    assert make(wp.url).lookup(pub()) is None


def test_lookup_prefers_the_oldest_of_duplicates(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    adapter = make(wp.url)
    first = adapter.publish(pub())
    adapter.publish(pub())
    assert adapter.lookup(pub()) == first


def test_lookup_is_supported_and_raises_nothing_else(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    try:
        make(wp.url).lookup(pub())
    except LookupUnsupported:  # pragma: no cover
        pytest.fail("WordPress lookups must be supported")


# -- verify -----------------------------------------------------------------------------------


def test_verify_names_the_user(wp: FakeWordPress, ring) -> None:  # type: ignore[no-untyped-def]
    assert make(wp.url).verify() == f"WordPress user Site Admin at {wp.url}"
    [me] = wp.api_requests("GET", "/wp/v2/users/me")
    assert me.arg("context") == "edit"


def test_verify_notes_an_author_cannot_create_terms(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeWordPress(app_password=PASSWORD, role="author") as wp:
        assert "cannot create new tags" in make(wp.url).verify()


def test_verify_refuses_a_contributor(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeWordPress(app_password=PASSWORD, role="contributor") as wp:
        with pytest.raises(PermanentError) as e:
            make(wp.url).verify()
        assert "cannot publish" in e.value.message
        assert "Author" in (e.value.hint or "")


# -- _http classification ---------------------------------------------------------------------

NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30),
        ({"Retry-After": email.utils.formatdate(NOW + 45, usegmt=True)}, 45),
        ({"x-ratelimit-reset": str(int(NOW) + 60)}, 60),
        ({"ratelimit-reset": "15"}, 15),
        ({"X-Rate-Limit-Reset": str(int(NOW) - 10)}, 0),
        ({"x-ratelimit-reset": "2025-06-15T15:07:20Z"}, None),
        ({}, None),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    got = _http.retry_after_from(headers, now=NOW)
    if expected is None and headers:
        assert got is not None  # an ISO reset date is understood too
    elif expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1)


@pytest.mark.parametrize(
    ("exc", "maybe_sent"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow"), False),
        (httpx.PoolTimeout("pool"), False),
        (httpx.ReadTimeout("read"), True),
        (httpx.WriteTimeout("write"), True),
        (httpx.RemoteProtocolError("closed"), True),
        (httpx.ReadError("reset"), True),
    ],
)
def test_transport_errors(exc: httpx.TransportError, maybe_sent: bool) -> None:
    exc.request = httpx.Request("POST", "https://ex.org/wp-json/wp/v2/posts")
    err = _http.from_transport_error(exc)
    assert isinstance(err, TransientError)
    assert err.maybe_sent is maybe_sent
    get = httpx.ReadTimeout("read")
    get.request = httpx.Request("GET", "https://ex.org/x")
    assert _http.from_transport_error(get).maybe_sent is False  # type: ignore[union-attr]


def test_statuses() -> None:
    def resp(status: int, method: str = "POST", **kw: object) -> httpx.Response:
        return httpx.Response(status, request=httpx.Request(method, "https://ex.org/p"), **kw)  # type: ignore[arg-type]

    _http.raise_for(resp(201), "blog")
    with pytest.raises(TransientError) as e:
        _http.raise_for(resp(502), "blog")
    assert e.value.maybe_sent is True
    with pytest.raises(TransientError) as e:
        _http.raise_for(resp(502, "GET"), "blog")
    assert e.value.maybe_sent is False
    with pytest.raises(PermanentError) as p:
        _http.raise_for(
            resp(403, json={"error": "forbidden", "error_description": "nope"}), "pro-x"
        )
    assert "nope" in p.value.message and "crosspost accounts login pro-x" in (p.value.hint or "")
    with pytest.raises(PermanentError, match="redirected to https://ex.org/new"):
        _http.raise_for(resp(301, headers={"Location": "https://ex.org/new"}), "blog")


# -- the fake as a separate process (for the daemon's reliability tests) ------------------------


def _spawn(port: int, db: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.wordpress",
            "--port",
            str(port),
            "--db",
            str(db),
            "--password",
            PASSWORD,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith("FAKE_WORDPRESS_URL="), line
    return proc, line.partition("=")[2]


def test_fake_runs_as_a_process_and_keeps_posts_across_restarts(ring, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "wp.sqlite3"
    key = pub().idempotency_key
    proc, url = _spawn(0, db)
    port = int(url.rsplit(":", 1)[1])
    try:
        httpx.post(f"{url}/__fake/accept_then_hang", json={"seconds": 3})
        with pytest.raises(TransientError):
            make(url, timeout=httpx.Timeout(0.5, connect=1.0)).publish(pub())
        assert httpx.get(f"{url}/__fake/count", params={"marker": key}).json() == {"count": 1}
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    assert FakeWordPress.count_marker_in_db(db, key) == 1

    proc, url = _spawn(port, db)
    try:
        found = make(url).lookup(pub())
        assert found is not None and found.url == f"{url}/sleep-anxiety/"
    finally:
        proc.terminate()
        proc.wait(10)
    assert FakeWordPress.count_marker_in_db(db, key) == 1


def test_images_of_the_body_are_uploaded_and_shown_where_the_body_has_them(
    wp: FakeWordPress, ring, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    snap, attached = tmp_path / "9f8e.png", tmp_path / "1a2b.png"
    snap.write_bytes(PNG)
    attached.write_bytes(PNG)
    body = "Before.\n\n![a calm lake](photos/lake.png)\n\nAfter."
    make(wp.url).publish(
        pub(
            body=body,
            text=body,
            media=(
                MediaItem(attached, "attached"),
                MediaItem(snap, "a calm lake", ref="photos/lake.png"),
            ),
        )
    )
    media = wp.media()
    assert len(wp.api_requests("POST", "/wp/v2/media")) == 2
    sent = wp.api_requests("POST", "/wp/v2/posts")[0].json()
    content = sent["content"]
    assert "photos/lake.png" not in content
    inline = content.index(f"/wp-content/uploads/{media[1]['title']}")
    assert content.index("Before.") < inline < content.index("After.")
    assert content.count("<img") == 2  # the inline one once, the attached one as a figure
    assert sent["featured_media"] == media[0]["id"]
