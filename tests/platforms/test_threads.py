"""The Threads adapter against a local fake of the Threads API (tests/fakes/threads.py), which
checks every request it gets, and a local blog that shows the entry's image."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from crosspost import credentials
from crosspost.errors import PermanentError, TransientError, UsageError
from crosspost.platforms import threads as threads_module
from crosspost.platforms.base import AdapterContext, MediaItem, Publication
from crosspost.platforms.specs.threads import SPEC, threads_length
from crosspost.platforms.threads import ThreadsAdapter, links, same_text
from crosspost.profiles import Account, Persona, make_account
from tests.fakes.server import FakeServer, Request, Response
from tests.fakes.threads import FakeThreads
from tests.support.publications import make_publication

TOKEN = "th-long-Yc5Qv8Lp2Rz7Wk4Nb1Hx6Ds3Fg9JaQ"
TEXT = "New on the blog: Sleep and anxiety https://harborpsych.example/posts/sleep/"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
WHEN = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)


@pytest.fixture(autouse=True)
def _no_containers():
    threads_module._CONTAINERS.clear()
    yield
    threads_module._CONTAINERS.clear()


@pytest.fixture
def fake():
    f = FakeThreads(access_token=TOKEN).start()
    yield f
    f.stop()
    assert f.problems == [], "the fake Threads API saw invalid requests"


def _store(fake: FakeThreads, token: str = TOKEN, *, expires_in: float = 50 * 86400) -> None:
    credentials.store(
        "professional",
        "pro-threads",
        {
            "access_token": token,
            "token_expires_at": str(int(time.time() + expires_in)),
            "user_id": fake.user_id,
        },
    )


@pytest.fixture
def login(isolated, fake):
    _store(fake)


def account(handle: str | None = "@dranareyes") -> Account:
    return make_account(name="pro-threads", platform="threads", handle=handle)


def ctx(handle: str | None = "@dranareyes", timeout: float | None = None) -> AdapterContext:
    a = account(handle)
    persona = Persona(display_name="Dr. Ana Reyes", accounts=[a])
    persona.name = "professional"
    return AdapterContext(persona=persona, account=a, timeout=timeout)


def adapter(fake: FakeThreads, *, timeout: float = 5.0, **kw: Any) -> ThreadsAdapter:
    return ThreadsAdapter(ctx(), base_url=fake.url, timeout=timeout, poll_interval=0.01, **kw)


def pub(text: str = TEXT, **kw: Any) -> Publication:
    values: dict[str, Any] = dict(
        post_id=7,
        target="pro-threads",
        platform="threads",
        scheduled_at=WHEN,
        text=text,
        canonical_url="https://harborpsych.example/posts/sleep/",
    )
    return make_publication(**{**values, **kw})


def _bearer_only(fake: FakeThreads) -> None:
    """API requests carry the token in the header, never in the URL."""
    for r in fake.requests:
        if r.path.startswith("/v1.0/"):
            assert r.headers.get("Authorization", "").startswith("Bearer ")
            assert "access_token" not in r.query


# -- counting ------------------------------------------------------------------------------


def test_length_counts_emoji_as_their_utf8_bytes_and_never_less_than_characters() -> None:
    assert threads_length("Sleep") == 5
    assert threads_length("café") == 4
    assert threads_length("👍") == 4
    assert threads_length("👩‍⚕️") == len("👩‍⚕️".encode())  # one ZWJ sequence: 13 bytes
    assert threads_length("🇫🇷") == 8
    assert threads_length("𝐀") == 2  # outside the BMP: two UTF-16 units
    assert threads_length("a" * 496 + "👍") == 500


def test_the_spec_makes_the_core_count_and_fit_as_threads_counts() -> None:
    from crosspost.compose import ShareInput, compose_share
    from crosspost.platforms.registry import spec
    from crosspost.textlength import text_length

    assert spec("threads") is SPEC and SPEC.limit == 500 and SPEC.role == "share"
    assert text_length("🌙 sleep", "threads") == 10
    url = "https://harborpsych.example/posts/sleep/"
    summary = "Rest matters 🌙😴 " * 60  # 1080 characters, far more as Threads counts
    text = compose_share(
        "{title} {summary} {url}",
        ShareInput(title="Sleep and anxiety", url=url, summary=summary),
        "threads",
    )
    assert threads_length(text) <= 500 < len(text.encode())
    assert text.endswith(url)


def test_a_profile_account_on_threads_validates_against_its_own_model() -> None:
    a = make_account(name="pro-threads", platform="threads", handle="@dranareyes")
    assert type(a).__name__ == "ThreadsAccount"
    with pytest.raises(ValueError, match="visibility"):
        make_account(name="pro-threads", platform="threads", visibility="public")


def test_links_are_counted_once_each() -> None:
    text = "a https://x.example/1, https://x.example/1 and https://x.example/2."
    assert links(text) == ["https://x.example/1", "https://x.example/2"]


def test_text_matching_ignores_whitespace_but_not_words() -> None:
    assert same_text(TEXT, TEXT.replace(" ", "  ") + "\n")
    assert not same_text(TEXT, TEXT.replace("Sleep", "Slept"))
    assert not same_text(TEXT, TEXT.replace("/sleep/", "/other/"))


# -- publishing ----------------------------------------------------------------------------


def test_publish_text_creates_a_container_then_publishes_it(fake, login) -> None:
    result = adapter(fake).publish(pub())
    [post] = fake.published()
    assert post["text"] == TEXT
    assert result.remote_id == post["id"]
    assert result.url == post["permalink"]
    [create] = fake.seen("POST /v1.0/:id/threads")
    assert create.path == f"/v1.0/{fake.user_id}/threads"
    assert create.form["media_type"] == ["TEXT"]
    assert "image_url" not in create.form
    [publish] = fake.seen("POST /v1.0/:id/threads_publish")
    assert publish.query["creation_id"] == [post["container"]]
    _bearer_only(fake)


def test_too_many_links_or_characters_are_refused_before_any_request(fake, login) -> None:
    many = " ".join(f"https://harborpsych.example/{n}" for n in range(6))
    with pytest.raises(PermanentError, match="6 different links"):
        adapter(fake).publish(pub(many))
    with pytest.raises(PermanentError, match="Threads allows 500"):
        adapter(fake).publish(pub("👍" * 126))  # 126 characters, 504 as Threads counts
    assert fake.requests == []


class Blog(FakeServer):
    """The published blog: an entry page showing its image, and the site's logo."""

    name = "blog"
    PAGE = (
        "<html><head><meta property='og:image' content='/img/site-logo.png'></head><body>"
        "<p>Some thoughts on sleep.</p><img src='moon.png' alt='A crescent moon'></body></html>"
    )
    FILES: ClassVar[dict[str, tuple[str, bytes]]] = {
        "/posts/sleep/": ("text/html", PAGE.encode()),
        "/posts/sleep/moon.png": ("image/png", PNG),
        "/img/site-logo.png": ("image/png", b"\x89PNG\r\n\x1a\nlogo"),
    }

    def handle(self, req: Request) -> Response:
        found = self.FILES.get(req.path)
        if req.method != "GET" or found is None:
            return Response(404, b"not found", [("Content-Type", "text/plain")])
        return Response(200, found[1], [("Content-Type", found[0])])

    def url_for(self, path: str) -> str:
        return self.url + path


@pytest.fixture
def blog():
    b = Blog().start()
    yield b
    b.stop()


def _image(tmp_path: Path, data: bytes = PNG) -> MediaItem:
    path = tmp_path / "3f9a1c.png"
    path.write_bytes(data)
    return MediaItem(path, "A crescent moon over a dark sea")


def test_publish_image_points_threads_at_the_blogs_copy(fake, login, blog, tmp_path) -> None:
    fake.processing_polls = 2
    page = blog.url_for("/posts/sleep/")
    result = adapter(fake).publish(pub(canonical_url=page, media=(_image(tmp_path),)))
    [post] = fake.published()
    assert result.remote_id == post["id"]
    assert post["media_type"] == "IMAGE"
    assert post["media_url"] == blog.url_for("/posts/sleep/moon.png")
    [create] = fake.seen("POST /v1.0/:id/threads")
    assert create.form["media_type"] == ["IMAGE"]
    assert create.form["alt_text"] == ["A crescent moon over a dark sea"]
    assert len(fake.seen("GET /v1.0/:id")) >= 3  # polled until FINISHED, then the permalink
    # the blog saw no token
    assert blog.requests
    for req in blog.requests:
        assert "Authorization" not in req.headers
    _bearer_only(fake)


def test_an_image_without_a_blog_entry_is_refused(fake, login, tmp_path) -> None:
    with pytest.raises(PermanentError) as e:
        adapter(fake).publish(pub(canonical_url=None, media=(_image(tmp_path),)))
    assert "public address" in e.value.message
    assert "blog" in (e.value.hint or "")
    assert fake.requests == []


def test_an_image_the_blog_does_not_show_is_refused(fake, login, blog, tmp_path) -> None:
    page = blog.url_for("/posts/sleep/")
    other = _image(tmp_path, PNG + b"re-encoded")
    with pytest.raises(PermanentError, match="does not show the share's image"):
        adapter(fake).publish(pub(canonical_url=page, media=(other,)))
    assert fake.containers == {}


def test_an_entry_page_not_published_yet_is_worth_retrying(fake, login, blog, tmp_path) -> None:
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(
            pub(canonical_url=blog.url_for("/posts/later/"), media=(_image(tmp_path),))
        )
    assert e.value.maybe_sent is False
    assert fake.containers == {}


# -- exactly once --------------------------------------------------------------------------


def test_a_lost_publish_answer_is_found_by_lookup_and_not_posted_again(fake, login) -> None:
    fake.drop("POST /v1.0/:id/threads_publish")
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.maybe_sent is True
    [post] = fake.published()
    found = adapter(fake).lookup(pub())
    assert found is not None and found.remote_id == post["id"]
    assert found.url == post["permalink"]
    assert len(fake.published()) == 1


def test_a_retry_after_a_lost_answer_returns_the_post_instead_of_posting(fake, login) -> None:
    fake.drop("POST /v1.0/:id/threads_publish")
    with pytest.raises(TransientError):
        adapter(fake).publish(pub())
    again = adapter(fake).publish(pub())  # the container says PUBLISHED: find the post
    [post] = fake.published()
    assert again.remote_id == post["id"]
    assert len(fake.seen("POST /v1.0/:id/threads_publish")) == 1
    assert len(fake.containers) == 1


def test_a_container_left_unpublished_is_reused(fake, login) -> None:
    fake.hang("POST /v1.0/:id/threads_publish", after=False)  # never reaches publishing
    with pytest.raises(TransientError) as e:
        adapter(fake, timeout=0.5).publish(pub())
    assert e.value.maybe_sent is True
    assert adapter(fake).lookup(pub()) is None
    result = adapter(fake).publish(pub())
    [post] = fake.published()
    assert result.remote_id == post["id"]
    assert len(fake.containers) == 1  # the first attempt's container, published now


def test_lookup_finds_only_posts_since_the_scheduled_time(fake, login) -> None:
    fake.add_post(TEXT, at=WHEN - timedelta(days=3))
    assert adapter(fake).lookup(pub()) is None
    recent = fake.add_post(TEXT)
    found = adapter(fake).lookup(pub())
    assert found is not None and found.remote_id == recent["id"]


def test_lookup_pages_back_through_the_list(fake, login) -> None:
    ours = fake.add_post(TEXT, at=WHEN + timedelta(seconds=5))
    for n in range(30):
        fake.add_post(f"later note {n}")
    found = adapter(fake).lookup(pub())
    assert found is not None and found.remote_id == ours["id"]
    assert len(fake.seen("GET /v1.0/:id/threads")) == 2


def test_a_failed_lookup_leaves_the_question_open(fake, login) -> None:
    fake.fail("GET /v1.0/:id/threads", 500)
    with pytest.raises(TransientError) as e:
        adapter(fake).lookup(pub())
    assert e.value.maybe_sent is True


# -- tokens --------------------------------------------------------------------------------


def _stored() -> dict[str, str | None]:
    service = credentials.service_name("professional", "pro-threads")
    return {k: credentials.get_secret(service, k) for k in ("access_token", "token_expires_at")}


def test_a_token_close_to_expiry_is_refreshed_and_stored(isolated, fake) -> None:
    _store(fake, expires_in=2 * 86400)
    adapter(fake).publish(pub())
    [new] = fake.refreshed
    stored = _stored()
    assert stored["access_token"] == new
    assert float(stored["token_expires_at"] or 0) > time.time() + 59 * 86400
    [refresh] = fake.seen("GET /refresh_access_token")
    assert refresh.query["grant_type"] == ["th_refresh_token"]
    assert refresh.query["access_token"] == [TOKEN]
    [create] = fake.seen("POST /v1.0/:id/threads")
    assert create.headers["Authorization"] == f"Bearer {new}"


def test_a_token_stored_without_expiry_or_user_is_refreshed_and_completed(isolated, fake) -> None:
    credentials.store("professional", "pro-threads", {"access_token": TOKEN})  # e.g. --stdin
    adapter(fake).publish(pub())
    assert _stored()["access_token"] == fake.refreshed[0]
    assert float(_stored()["token_expires_at"] or 0) > time.time() + 59 * 86400
    assert len(fake.seen("GET /v1.0/me")) == 1  # the user id, asked once
    assert len(fake.published()) == 1


def test_a_failed_early_refresh_does_not_stop_a_token_that_still_works(isolated, fake) -> None:
    _store(fake, expires_in=2 * 86400)
    fake.fail("GET /refresh_access_token", 503)
    adapter(fake).publish(pub())
    assert fake.refreshed == []
    assert _stored()["access_token"] == TOKEN
    assert len(fake.published()) == 1


def test_a_fresh_token_is_not_refreshed(fake, login) -> None:
    adapter(fake).verify()
    assert fake.refreshed == []


def test_a_refused_token_is_refreshed_once_and_the_request_repeated(fake, login) -> None:
    fake.fail("POST /v1.0/:id/threads", 401)
    adapter(fake).publish(pub())
    assert len(fake.refreshed) == 1
    assert len(fake.published()) == 1
    assert _stored()["access_token"] == fake.refreshed[0]


def test_an_expired_token_asks_for_a_new_login(fake, login) -> None:
    fake.expire(TOKEN)
    with pytest.raises(PermanentError) as e:
        adapter(fake).publish(pub())
    assert "crosspost accounts login pro-threads" in (e.value.hint or "")
    assert "Session has expired" in e.value.message
    assert fake.published() == []
    assert len(fake.seen("GET /refresh_access_token")) == 1  # tried once, then gave up


def test_a_token_refused_again_after_the_refresh_is_final(fake, login) -> None:
    fake.fail("GET /v1.0/me", 401, times=2)
    with pytest.raises(PermanentError) as e:
        adapter(fake).verify()
    assert "crosspost accounts login pro-threads" in (e.value.hint or "")
    assert len(fake.refreshed) == 1


def test_verify_checks_the_handle(fake, login) -> None:
    assert "@dranareyes" in adapter(fake).verify()
    other = ThreadsAdapter(ctx(handle="@someoneelse"), base_url=fake.url, timeout=5)
    with pytest.raises(PermanentError, match="belongs to @dranareyes"):
        other.verify()


# -- errors and time-outs ------------------------------------------------------------------


def test_a_rate_limit_is_transient_with_the_wait(fake, login) -> None:
    fake.fail("POST /v1.0/:id/threads_publish", 429, headers={"Retry-After": "120"})
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.retry_after == 120
    assert e.value.maybe_sent is False
    assert fake.published() == []


def test_a_graph_throttling_code_without_a_wait_waits_a_quarter_hour(fake, login) -> None:
    fake.fail("POST /v1.0/:id/threads", 400, "User request limit reached", code=17)
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.retry_after == threads_module.RATE_LIMIT_WAIT
    assert e.value.maybe_sent is False


def test_a_server_error_while_publishing_may_have_posted(fake, login) -> None:
    fake.fail("POST /v1.0/:id/threads_publish", 500)
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.maybe_sent is True
    fake.fail("POST /v1.0/:id/threads", 503)
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub(idempotency_key="post-8/pro-threads"))
    assert e.value.maybe_sent is False  # a container is not a post


def test_a_container_not_ready_yet_is_published_later(fake, login) -> None:
    fake.fail("POST /v1.0/:id/threads_publish", 400, "The media is not ready", code=9007)
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.maybe_sent is False
    assert adapter(fake).publish(pub()).remote_id == fake.published()[0]["id"]
    assert len(fake.containers) == 1


def test_other_refusals_are_permanent_with_metas_message(fake, login) -> None:
    fake.fail("POST /v1.0/:id/threads", 400, "The parameter text is required", code=100)
    with pytest.raises(PermanentError, match="The parameter text is required"):
        adapter(fake).publish(pub())


def test_request_timeout_is_honoured(fake, login) -> None:
    fake.hang("GET /v1.0/me", after=False)
    start = time.monotonic()
    with pytest.raises(TransientError):
        ThreadsAdapter(ctx(timeout=0.5), base_url=fake.url).verify()
    assert time.monotonic() - start < 3


# -- login ---------------------------------------------------------------------------------


def _browser(fake: FakeThreads, said: list[str], *, tamper: bool = False):
    """Answers the login's questions as a user who follows the shown address would."""
    answers = {
        "Threads app ID": fake.app_id,
        "Threads app secret": fake.app_secret,
        "Redirect callback URL": fake.redirect_uri,
    }

    def ask(prompt: str, secret: bool) -> str:
        for key, value in answers.items():
            if prompt.startswith(key):
                return value
        assert prompt.startswith("Address or code")
        shown = re.search(r"https://threads\.net/oauth/authorize\?\S+", "\n".join(said))
        assert shown is not None
        q = parse_qs(urlsplit(shown.group(0)).query)
        assert q["scope"] == ["threads_basic,threads_content_publish"]
        assert q["response_type"] == ["code"]
        state = "forged" if tamper else q["state"][0]
        return fake.authorize(q["redirect_uri"][0], state)

    return ask


def test_login_flow_gets_a_long_lived_token(isolated, fake) -> None:
    said: list[str] = []
    values = ThreadsAdapter.login_flow(ctx(), _browser(fake, said), said.append, base_url=fake.url)
    token = fake.tokens[values["access_token"]]
    assert token.long_lived
    assert values["user_id"] == fake.user_id
    assert abs(float(values["token_expires_at"]) - token.expires_at) < 5
    assert any("Authorised as @dranareyes" in s for s in said)
    [code] = fake.seen("POST /oauth/access_token")
    assert code.form["grant_type"] == ["authorization_code"]
    [exchange] = fake.seen("GET /access_token")
    assert exchange.query["grant_type"] == ["th_exchange_token"]
    # what it returns works for publishing
    credentials.store("professional", "pro-threads", values)
    assert adapter(fake).publish(pub()).remote_id == fake.published()[0]["id"]


def test_login_flow_refuses_another_account(isolated, fake) -> None:
    said: list[str] = []
    with pytest.raises(PermanentError, match="not @someoneelse"):
        ThreadsAdapter.login_flow(
            ctx(handle="@someoneelse"), _browser(fake, said), said.append, base_url=fake.url
        )


def test_login_flow_refuses_an_address_from_another_attempt(isolated, fake) -> None:
    said: list[str] = []
    with pytest.raises(UsageError, match="another login attempt"):
        ThreadsAdapter.login_flow(
            ctx(), _browser(fake, said, tamper=True), said.append, base_url=fake.url
        )
    assert fake.seen("POST /oauth/access_token") == []


# -- secrets -------------------------------------------------------------------------------


def test_no_token_reaches_a_log(isolated, fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    said: list[str] = []
    values = ThreadsAdapter.login_flow(ctx(), _browser(fake, said), said.append, base_url=fake.url)
    credentials.store("professional", "pro-threads", {**values, "token_expires_at": "1"})
    adapter(fake).publish(pub())  # refreshes first: the old token goes in a URL
    fake.drop("POST /v1.0/:id/threads_publish")
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub(text="Another share", idempotency_key="k2"))
    secrets = [values["access_token"], *fake.refreshed, fake.app_secret]
    assert fake.refreshed
    shown = caplog.text + "\n".join(said) + str(e.value)
    assert "refresh_access_token" in caplog.text  # httpx logged the URL ...
    for s in secrets:
        assert s not in shown  # ... without the token
