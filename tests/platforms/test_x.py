"""The X adapter against a local fake X API (tests/fakes/x.py), which verifies the OAuth 1.0a
signature and the shape of every request it gets."""

from __future__ import annotations

import logging
import socket
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from crosspost import credentials
from crosspost.credentials import MissingCredentials
from crosspost.errors import CrosspostError, PermanentError, TransientError, UsageError
from crosspost.platforms import adapter_class
from crosspost.platforms.base import (
    AdapterContext,
    LookupUnsupported,
    MediaItem,
    Publication,
    Result,
)
from crosspost.platforms.x import XAdapter, same_post
from crosspost.profiles import Persona, make_account
from tests.fakes.x import FakeX
from tests.support.publications import make_publication

CK = "ck-Hq3x8PzY1wRdK2"
CS = "cs-9TnVf2LkQ8sWm4ZbXc7Jd0RuEy"
AT = "1512345678901234567-AtKx83nQ5pLm"
ATS = "ats-Zp4Lr7Wq2Nv9Xc1Bm5Tg8Hs3Ja"
SECRETS = (CK, CS, AT, ATS)
TEXT = "New on the blog: Burnout is not a character flaw https://harborpsych.example/posts/burnout/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + bytes(range(256)) * 4


def _ctx(handle: str | None = "@DrAnaReyes") -> AdapterContext:
    account = make_account(name="pro-x", platform="x", handle=handle)
    persona = Persona(name="professional", display_name="Dr. Ana Reyes", accounts=[account])
    return AdapterContext(persona=persona, account=account)


@pytest.fixture
def fake():
    f = FakeX(consumer_key=CK, consumer_secret=CS, access_token=AT, access_token_secret=ATS)
    f.start()
    yield f
    f.stop()
    assert f.problems == [], "the fake X saw invalid requests"


@pytest.fixture
def login(isolated):
    credentials.store(
        "professional",
        "pro-x",
        {"consumer_key": CK, "consumer_secret": CS, "access_token": AT, "access_token_secret": ATS},
    )


def adapter(fake: FakeX, *, handle: str | None = "@DrAnaReyes", timeout: float = 5.0) -> XAdapter:
    return XAdapter(_ctx(handle), base_url=fake.url, timeout=timeout, connect_timeout=1.0)


def pub(text: str = TEXT, **kw: object) -> Publication:
    defaults = dict(
        post_id=7,
        persona="professional",
        target="pro-x",
        platform="x",
        idempotency_key="post-7/pro-x",
        kind="entry",
        title="Burnout is not a character flaw",
        body="Some thoughts.",
        summary=None,
        tags=(),
        categories=(),
        slug="burnout",
        lang="en",
        scheduled_at=datetime.now(UTC) - timedelta(minutes=3),
        text=text,
        canonical_url="https://harborpsych.example/posts/burnout/",
    )
    return make_publication(**{**defaults, **kw})


def image(tmp_path: Path, name: str, data: bytes = PNG, alt: str = "") -> MediaItem:
    p = tmp_path / name
    p.write_bytes(data)
    return MediaItem(p, alt)


# --------------------------------------------------------------------------------------------
# Publishing


def test_registry_and_credential_fields() -> None:
    assert adapter_class("x") is XAdapter
    assert [f.name for f in XAdapter.credential_fields] == [
        "consumer_key",
        "consumer_secret",
        "access_token",
        "access_token_secret",
    ]


def test_publish_text_signed_with_oauth1(fake: FakeX, login: None) -> None:
    result = adapter(fake).publish(pub())
    [tweet] = fake.tweets
    assert result == Result(tweet["id"], f"https://x.com/DrAnaReyes/status/{tweet['id']}")
    [seen] = fake.seen("POST /2/tweets")
    assert seen.headers["Authorization"].startswith("OAuth ")
    assert seen.oauth["oauth_consumer_key"] == CK
    assert seen.oauth["oauth_token"] == AT
    assert seen.oauth["oauth_signature_method"] == "HMAC-SHA1"
    assert seen.json() == {"text": TEXT}
    assert "crosspost/" in seen.headers["User-Agent"]


def test_publish_without_handle_uses_the_web_status_url(fake: FakeX, login: None) -> None:
    result = adapter(fake, handle=None).publish(pub())
    assert result.url == f"https://x.com/i/web/status/{result.remote_id}"


def test_publish_images_with_alt_text(fake: FakeX, login: None, tmp_path: Path) -> None:
    media = (
        image(tmp_path, "snap-ab12.png", alt="A quiet therapy room with two chairs"),
        image(tmp_path, "snap-cd34.bin", b"\xff\xd8\xff\xe0" + b"\x00" * 32),  # no alt
    )
    result = adapter(fake).publish(pub(media=media))
    [tweet] = fake.tweets
    assert result.remote_id == tweet["id"]
    uploads = fake.seen("POST /2/media/upload")
    assert len(uploads) == 2
    first, second = (fake.media[i] for i in tweet["media_ids"])
    assert (first["type"], second["type"]) == ("image/png", "image/jpeg")
    assert first["alt"] == "A quiet therapy room with two chairs"
    assert second["alt"] is None
    # a neutral file name: the snapshot's name never leaves the machine
    assert (first["filename"], second["filename"]) == ("image-1.png", "image-2.jpg")
    [meta] = fake.seen("POST /2/media/metadata")
    assert meta.json() == {
        "id": first["id"],
        "metadata": {"alt_text": {"text": "A quiet therapy room with two chairs"}},
    }
    assert fake.seen("POST /2/tweets")[0].json()["media"] == {"media_ids": tweet["media_ids"]}
    for seen in fake.requests:
        assert seen.oauth["oauth_token"] == AT


def test_alt_text_falls_back_to_metadata_create(fake: FakeX, login: None, tmp_path: Path) -> None:
    fake.metadata_endpoint = "legacy"
    adapter(fake).publish(pub(media=(image(tmp_path, "a.png", alt="Two chairs"),)))
    [legacy] = fake.seen("POST /2/media/metadata/create")
    media_id = fake.tweets[0]["media_ids"][0]
    assert legacy.json() == {"media_id": media_id, "alt_text": {"text": "Two chairs"}}
    assert fake.media[media_id]["alt"] == "Two chairs"


def test_gif_goes_through_the_chunked_upload(fake: FakeX, login: None, tmp_path: Path) -> None:
    fake.processing_polls = 2
    a = adapter(fake)
    a.chunk_size = 300  # type: ignore[misc]
    a.publish(pub(media=(image(tmp_path, "a.gif", GIF, alt="A waving hand"),)))
    [init] = fake.seen("POST /2/media/upload/initialize")
    assert init.json() == {
        "media_type": "image/gif",
        "total_bytes": len(GIF),
        "media_category": "tweet_gif",
    }
    assert len(fake.seen("POST /2/media/upload/:id/append")) == -(-len(GIF) // 300)
    assert len(fake.seen("POST /2/media/upload/:id/finalize")) == 1
    assert len(fake.seen("GET /2/media/upload")) == 3
    media = fake.media[fake.tweets[0]["media_ids"][0]]
    assert media["data"] == GIF and media["alt"] == "A waving hand"


@pytest.mark.parametrize(
    ("media", "message"),
    [
        (["a.png"] * 5, "at most 4 images"),
        (["a.txt"], "not a JPEG, PNG, GIF or WEBP"),
        (["a.png", "b.gif"], "one GIF alone"),
    ],
)
def test_media_x_would_refuse_fails_before_any_request(
    fake: FakeX, login: None, tmp_path: Path, media: list[str], message: str
) -> None:
    data = {".png": PNG, ".gif": GIF, ".txt": b"hello"}
    items = tuple(image(tmp_path, n, data[Path(n).suffix]) for n in media)
    with pytest.raises(PermanentError, match=message):
        adapter(fake).publish(pub(media=items))
    assert fake.requests == []


def test_too_long_alt_text_fails_before_any_request(
    fake: FakeX, login: None, tmp_path: Path
) -> None:
    with pytest.raises(PermanentError, match="X allows 1000"):
        adapter(fake).publish(pub(media=(image(tmp_path, "a.png", alt="x" * 1001),)))
    assert fake.requests == []


# --------------------------------------------------------------------------------------------
# Failures


def test_rate_limit_is_transient_with_the_reset_time(fake: FakeX, login: None) -> None:
    reset = int(time.time()) + 600
    fake.fail(
        "POST /2/tweets",
        429,
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.maybe_sent is False
    assert e.value.retry_after is not None and 590 <= e.value.retry_after <= 601
    assert fake.tweets == []


def test_daily_cap_waits_for_the_24_hour_reset(fake: FakeX, login: None) -> None:
    now = int(time.time())
    fake.fail(
        "POST /2/tweets",
        429,
        headers={
            "x-rate-limit-reset": str(now + 60),
            "x-user-limit-24hour-limit": "17",
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(now + 7200),
        },
    )
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.retry_after is not None and 7190 <= e.value.retry_after <= 7201
    assert "17 posts a day" in (e.value.hint or "")


def test_server_error_on_the_post_may_have_sent_it(fake: FakeX, login: None) -> None:
    fake.fail("POST /2/tweets", 503)
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.maybe_sent is True
    assert "503" in e.value.message


def test_server_error_during_upload_has_not_sent_the_post(
    fake: FakeX, login: None, tmp_path: Path
) -> None:
    fake.fail("POST /2/media/upload", 500)
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub(media=(image(tmp_path, "a.png"),)))
    assert e.value.maybe_sent is False
    assert fake.seen("POST /2/tweets") == []


def test_rejected_credentials_say_how_to_log_in(fake: FakeX, login: None) -> None:
    fake.fail("POST /2/tweets", 401)
    with pytest.raises(PermanentError) as e:
        adapter(fake).publish(pub())
    assert e.value.hint == "run 'crosspost accounts login pro-x'"


def test_duplicate_content_is_permanent(fake: FakeX, login: None) -> None:
    # the same text went out a day ago (by hand): not this delivery's post
    fake.add_tweet(TEXT, created_at=datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(PermanentError) as e:
        adapter(fake).publish(pub())
    assert "duplicate" in e.value.message
    assert "may already be posted" in (e.value.hint or "")
    assert len(fake.tweets) == 1


def test_duplicate_of_an_earlier_attempt_returns_that_post(fake: FakeX, login: None) -> None:
    first = adapter(fake).publish(pub())
    # the process died before recording it; the retry runs publish again
    again = adapter(fake).publish(pub())
    assert again == first
    assert len(fake.tweets) == 1
    assert fake.calls["POST /2/tweets"] == 2


def test_other_forbidden_carries_x_detail(fake: FakeX, login: None) -> None:
    detail = (
        "Your client app is not configured with the appropriate oauth1 app permissions "
        "for this endpoint."
    )
    fake.fail("POST /2/tweets", 403, detail)
    with pytest.raises(PermanentError) as e:
        adapter(fake).publish(pub())
    assert detail in e.value.message
    assert "Read and write" in (e.value.hint or "")


def test_bad_request_is_permanent(fake: FakeX, login: None) -> None:
    fake.fail(
        "POST /2/tweets",
        400,
        body={"errors": [{"message": "Invalid Request"}], "title": "Invalid Request"},
    )
    with pytest.raises(PermanentError, match="400"):
        adapter(fake).publish(pub())


def test_accepted_then_timed_out_is_found_by_lookup(fake: FakeX, login: None) -> None:
    fake.hang("POST /2/tweets")
    a = adapter(fake, timeout=0.5)
    p = pub()
    started = time.monotonic()
    with pytest.raises(TransientError) as e:
        a.publish(p)
    assert time.monotonic() - started < 3
    assert e.value.maybe_sent is True
    [tweet] = fake.tweets
    found = adapter(fake).lookup(p)
    assert found == Result(tweet["id"], f"https://x.com/DrAnaReyes/status/{tweet['id']}")
    assert len(fake.tweets) == 1


def test_connection_refused_was_not_sent(login: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    a = XAdapter(_ctx(), base_url=f"http://127.0.0.1:{port}", timeout=1, connect_timeout=1)
    with pytest.raises(TransientError) as e:
        a.publish(pub())
    assert e.value.maybe_sent is False
    assert "could not connect" in e.value.message


def test_missing_credentials_say_how_to_log_in(fake: FakeX, isolated: object) -> None:
    with pytest.raises(MissingCredentials) as e:
        adapter(fake).publish(pub())
    assert e.value.hint == "run 'crosspost accounts login pro-x'"


# --------------------------------------------------------------------------------------------
# Lookup


def test_lookup_matches_despite_tco_links_escaping_and_media(
    fake: FakeX, login: None, tmp_path: Path
) -> None:
    text = (
        "Q&A <live>:  burnout & boundaries\nexample.com and https://harborpsych.example/posts/qa/"
    )
    p = pub(text=text, media=(image(tmp_path, "a.png"),))
    made = adapter(fake).publish(p)
    stored = fake.tweets[0]["text"]
    assert "&amp;" in stored and "t.co/" in stored and "example.com" not in stored
    assert adapter(fake).lookup(p) == made


def test_lookup_ignores_other_and_older_posts(fake: FakeX, login: None) -> None:
    p = pub()
    fake.add_tweet(TEXT, created_at=p.scheduled_at - timedelta(minutes=30))
    fake.add_tweet(
        "New on the blog: Burnout is not a character flaw "
        "https://harborpsych.example/posts/another/"
    )
    fake.add_tweet("Something else entirely")
    assert adapter(fake).lookup(p) is None
    [read] = fake.seen("GET /2/users/:id/tweets")
    assert read.args["max_results"] == "20"
    assert read.args["start_time"] == (p.scheduled_at - timedelta(minutes=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_lookup_pages_through_a_busy_account(fake: FakeX, login: None) -> None:
    p = pub()
    target = fake.add_tweet(TEXT)
    for n in range(45):
        fake.add_tweet(f"post number {n}")
    found = adapter(fake).lookup(p)
    assert found is not None and found.remote_id == target["id"]
    assert len(fake.seen("GET /2/users/:id/tweets")) == 3


def test_lookup_forbidden_read_is_unsupported(fake: FakeX, login: None) -> None:
    fake.fail("GET /2/users/:id/tweets", 403, "client-not-enrolled")
    with pytest.raises(LookupUnsupported, match="client-not-enrolled"):
        adapter(fake).lookup(pub())


def test_lookup_failure_keeps_the_question_open(fake: FakeX, login: None) -> None:
    fake.fail(
        "GET /2/users/:id/tweets", 429, headers={"x-rate-limit-reset": str(int(time.time()) + 30)}
    )
    with pytest.raises(TransientError) as e:
        adapter(fake).lookup(pub())
    assert e.value.maybe_sent is True  # the next attempt must look again, not post
    assert e.value.retry_after is not None


@pytest.mark.parametrize(
    ("ours", "theirs", "urls", "same"),
    [
        ("Hello world", "Hello   world", [], True),
        ("Hi https://a.com/x", "Hi https://t.co/abc", ["https://a.com/x/"], True),
        ("Hi https://a.com/x", "Hi https://t.co/abc", ["https://a.com/y"], False),
        ("Hi https://a.com/x", "Hi https://t.co/abc", [], False),
        # X does not link it (no known top-level domain): it stays in the text
        ("Hi https://a.example/x.", "Hi https://a.example/x.", [], True),
        ("Hi https://a.example/x", "Hi https://a.example/y", [], False),
        ("Read example.com).", "Read https://t.co/abc).", ["http://example.com"], True),
        ("Tom & Jerry <3", "Tom &amp; Jerry &lt;3", [], True),
        ("Caf\u00e9", "Cafe\u0301", [], True),
        ("Hello world", "Hello world!", [], False),
        ("photo", "photo https://t.co/media1", ["https://x.com/u/status/1/photo/1"], True),
    ],
)
def test_same_post(ours: str, theirs: str, urls: list[str], same: bool) -> None:
    assert same_post(ours, theirs, urls) is same


# --------------------------------------------------------------------------------------------
# verify and login


def test_verify(fake: FakeX, login: None) -> None:
    assert adapter(fake).verify() == "X account @DrAnaReyes"


def test_verify_refuses_credentials_of_another_account(fake: FakeX, login: None) -> None:
    with pytest.raises(PermanentError, match="belong to @DrAnaReyes, not @AnaBeeHome"):
        adapter(fake, handle="@AnaBeeHome").verify()


class Terminal:
    """Plays the user at the terminal, and in the browser (the fake's authorize)."""

    def __init__(self, fake: FakeX, key: str = CK, secret: str = CS, pin: str | None = None):
        self.fake = fake
        self.answers = {"API key (consumer key)": key, "API key secret": secret}
        self.pin = pin
        self.said: list[str] = []
        self.asked: list[tuple[str, bool]] = []

    def ask(self, prompt: str, secret: bool) -> str:
        self.asked.append((prompt, secret))
        for start, answer in self.answers.items():
            if prompt.startswith(start):
                return answer
        assert prompt == "PIN"
        url = next(
            line.strip() for s in self.said for line in s.splitlines() if "/oauth/authorize" in line
        )
        token = parse_qs(urlsplit(url).query)["oauth_token"][0]
        real = self.fake.authorize(token)
        self.given = self.pin if self.pin is not None else real
        return self.given

    def say(self, text: str) -> None:
        self.said.append(text)


def test_login_flow_pin(fake: FakeX, isolated: object) -> None:
    t = Terminal(fake)
    values = XAdapter.login_flow(_ctx(), t.ask, t.say, base_url=fake.url, timeout=5)
    assert [a[0].split(" (")[0] for a in t.asked] == ["API key", "API key secret", "PIN"]
    assert [a[1] for a in t.asked] == [False, True, False]
    assert values["consumer_key"] == CK and values["consumer_secret"] == CS
    assert values["access_token"].startswith(fake.user.id + "-")
    assert fake.tokens[values["access_token"]][0] == values["access_token_secret"]
    assert any("https://api.twitter.com/oauth/authorize?oauth_token=rt-" in s for s in t.said)
    assert t.said[-1] == "Authorised as @DrAnaReyes."
    [req] = fake.seen("POST /oauth/request_token")
    assert req.oauth["oauth_callback"] == "oob"
    [acc] = fake.seen("POST /oauth/access_token")
    assert acc.oauth["oauth_verifier"] == t.given
    # the new token works for posting
    credentials.store("professional", "pro-x", values)
    assert adapter(fake).verify() == "X account @DrAnaReyes"


def test_login_flow_wrong_pin(fake: FakeX, isolated: object) -> None:
    t = Terminal(fake, pin="0000000")
    with pytest.raises(PermanentError, match="did not accept the PIN"):
        XAdapter.login_flow(_ctx(), t.ask, t.say, base_url=fake.url, timeout=5)


def test_login_flow_bad_consumer_key(fake: FakeX, isolated: object) -> None:
    t = Terminal(fake, key="ck-unknown-123")
    with pytest.raises(PermanentError, match="request token"):
        XAdapter.login_flow(_ctx(), t.ask, t.say, base_url=fake.url, timeout=5)
    fake.problems.clear()  # the fake rightly complained about the unknown key


def test_login_flow_refuses_the_wrong_account(fake: FakeX, isolated: object) -> None:
    from tests.fakes.x import FakeUser

    fake.login_user = FakeUser("99", "AnaBeeHome", "Ana Bee")  # the browser's signed-in user
    t = Terminal(fake)
    with pytest.raises(PermanentError, match="belong to @AnaBeeHome, not @DrAnaReyes"):
        XAdapter.login_flow(_ctx(), t.ask, t.say, base_url=fake.url, timeout=5)


def test_login_flow_needs_a_key(fake: FakeX, isolated: object) -> None:
    t = Terminal(fake, key="  ")
    with pytest.raises(UsageError):
        XAdapter.login_flow(_ctx(), t.ask, t.say, base_url=fake.url, timeout=5)
    assert fake.requests == []


# --------------------------------------------------------------------------------------------
# Secrets


def _texts(exc: BaseException) -> list[str]:
    out = []
    seen: BaseException | None = exc
    while seen is not None:
        out += [str(seen), repr(seen), *traceback.format_exception_only(seen)]
        if isinstance(seen, CrosspostError):
            out.append(seen.hint or "")
        seen = seen.__cause__ or seen.__context__
    return out


def test_no_secret_in_errors_or_log_records(
    fake: FakeX, login: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("oauthlib", "requests_oauthlib", "tweepy", "urllib3", "crosspost"):
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[BaseException] = []

    def attempt(fn, *args):  # type: ignore[no-untyped-def]
        try:
            fn(*args)
        except (CrosspostError, LookupUnsupported) as e:
            errors.append(e)

    a = adapter(fake, timeout=0.5)
    attempt(a.publish, pub(media=(image(tmp_path, "a.png", alt="chairs"),)))
    attempt(a.publish, pub())  # duplicate of an earlier attempt: recovered by lookup
    for status in (429, 500, 401, 403):
        fake.fail("POST /2/tweets", status)
        attempt(a.publish, pub(text=f"status {status}"))
    fake.hang("POST /2/tweets")
    attempt(a.publish, pub(text="hangs"))
    fake.fail("GET /2/users/:id/tweets", 403)
    attempt(a.lookup, pub())
    attempt(a.verify)
    t = Terminal(fake)
    issued = XAdapter.login_flow(_ctx(), t.ask, t.say, base_url=fake.url, timeout=5)
    bad = Terminal(fake, pin="1")
    attempt(lambda: XAdapter.login_flow(_ctx(), bad.ask, bad.say, base_url=fake.url, timeout=5))

    assert len(errors) >= 7
    records = [r.getMessage() for r in caplog.records]
    # the libraries did log the signing and the token answers at DEBUG; the values were masked
    assert any("Signing request" in m and "***" in m for m in records)
    assert any("oauth_token_secret=***" in m for m in records)
    for text in [*records, *(s for e in errors for s in _texts(e))]:
        for secret in (*SECRETS, issued["access_token"], issued["access_token_secret"]):
            assert secret not in text
