"""The HTTP contract every adapter keeps, whatever library it speaks through.

- ``daemon.request_timeout`` (``AdapterContext.timeout``) bounds every request: against a
  server that never answers, an adapter gives up within a few seconds of a 0.5 s time-out (not
  the libraries' 30 s or 300 s), with a ``TransientError``; a post left without an answer is
  ``maybe_sent`` (the publisher asks ``lookup`` before posting again).
- A read-only request whose kept-alive connection the server dropped is sent once more, and
  the operation succeeds; a creating request on such a connection is never sent again by the
  adapter: the error is ``maybe_sent``.
- What each adapter promises its caller: a post it published, ``lookup`` finds; HTTP 429 with
  ``Retry-After`` is a ``TransientError`` with ``retry_after``; 401 is a ``PermanentError`` whose
  hint says to log in again (``crosspost accounts login …``); no secret stored through the
  keyring (nor a token the platform handed out) appears in any log record, at DEBUG and from
  every logger (the SDKs' too), or in an error's message or hint.
- The adapters that write local files open no connection at all, and find what they wrote.

The adapters come from the registry (``platforms.ADAPTERS``): one without a case here fails.
Covering a new network adapter is one ``Case`` subclass in ``CASES``: how to build its context
and credentials, its fake (a ``tests.fakes.server.FakeServer`` naming its creating request in
``create``), and how to count what it created.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import keyring
import pytest

from crosspost import agentnames, credentials
from crosspost.contexts import adapter_context
from crosspost.errors import PermanentError, PublishError, TransientError
from crosspost.platforms import ADAPTERS, adapter_class, make_adapter
from crosspost.platforms import mastodon as mastodon_module
from crosspost.platforms.base import AdapterContext, Publication, ReadUnsupported
from crosspost.platforms.linkedin import little_text
from crosspost.platforms.spec import DEFAULT_USER_AGENT
from crosspost.profiles import Account, Blog, Persona, make_account, make_blog
from tests.fakes.bluesky import FakeBlueskyPDS
from tests.fakes.failures import Failure
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.micropub import FakeMicropub
from tests.fakes.proxy import ForwardingProxy
from tests.fakes.sockets import DroppingProxy, SilentServer
from tests.fakes.threads import FakeThreads
from tests.fakes.wordpress import FakeWordPress
from tests.fakes.x import FakeX
from tests.support.publications import make_publication

from .localfiles import blog, feed_ctx, static_ctx
from .localfiles import pub as local_pub

#: the request_timeout every adapter is given here
TIMEOUT = 0.5
#: how long one operation may take against a silent server: a few time-outs, generous for a
#: loaded machine, and far below the 30 s the libraries would wait by default
BOUND = 5.0

TEXT = "New on the blog: Sleep and anxiety https://harborpsych.example/posts/sleep/"
#: one scheduled time for every publication, so a lookup asks for the post a seed made
WHEN = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)


def _pub(platform: str, target: str, **kw: Any) -> Publication:
    """One share of the same entry for every adapter (make_publication's defaults otherwise)."""
    return make_publication(
        **{
            "post_id": 7,
            "target": target,
            "platform": platform,
            "scheduled_at": WHEN,
            "text": TEXT,
            "canonical_url": "https://harborpsych.example/posts/sleep/",
            **kw,
        }
    )


def _persona(
    name: str, *, account: Account | None = None, blog: Blog | None = None, **route: str
) -> Persona:
    p = Persona(
        display_name="Dr. Ana Reyes", accounts=[account] if account else [], blog=blog, **route
    )
    p.name = name
    return p


class Case:
    """One network adapter against its fake. ``url`` is where the adapter is sent (the fake,
    a proxy in front of it, or a silent server)."""

    platform: ClassVar[str]
    #: part of the path of the request that creates the post
    create_path: ClassVar[str]

    fake: Any
    #: ``user_agent`` / ``proxy`` of the account (or blog), and of the persona
    route: ClassVar[dict[str, str]] = {}
    persona_route: ClassVar[dict[str, str]] = {}
    cache_dir: Path | None = None

    def context(self, persona: Persona, target: str) -> AdapterContext:
        """The context as the daemon builds it (``contexts.adapter_context``)."""
        return adapter_context(persona, target, timeout=TIMEOUT, cache_dir=self.cache_dir)

    def persona(self, name: str, **kw: Any) -> Persona:
        return _persona(name, **kw, **self.persona_route)

    @property
    def fake_url(self) -> str:
        return str(self.fake.url)

    def secrets(self) -> list[str]:
        """Every secret the adapter holds: what was stored through the keyring, and what the
        platform handed out since (sessions)."""
        raise NotImplementedError

    def rate_limited(self, seconds: int) -> list[tuple[str, str]]:
        """The headers of the platform's 429 that asks for a wait of ``seconds``."""
        return [("Retry-After", str(seconds))]

    def fail_create(self, status: int, headers: list[tuple[str, str]] | None = None) -> None:
        """The requests that create the post answer ``status`` (every retry too)."""
        method, route = self.fake.create
        self.fake.inject(Failure(status, headers or [], method=method, route=route, times=5))

    def adapter(self, url: str) -> Any:
        raise NotImplementedError

    def pub(self) -> Publication:
        raise NotImplementedError

    def hang_create(self) -> None:
        """The next creating request is never answered (and creates nothing)."""
        raise NotImplementedError

    def created(self) -> int:
        raise NotImplementedError

    def seed(self) -> None:
        """The post ``pub`` describes exists, made by an earlier attempt."""
        self.adapter(self.fake_url).publish(self.pub())

    def warm_up(self) -> None:
        """Import the platform's SDK and run its first calls before a test takes the time:
        importing atproto alone takes seconds on a loaded machine."""
        self.adapter(self.fake_url).verify()

    def warm(self, adapter: Any) -> None:
        """A request that leaves a kept-alive connection behind for ``publish`` to reuse."""
        adapter.verify()

    def reads(self, adapter: Any) -> None:
        """Read-only requests, several on one connection; asserts they all came through."""
        adapter.verify()
        assert adapter.lookup(self.pub()) is not None

    def stop(self) -> None:
        self.fake.stop()


class XCase(Case):
    platform = "x"
    create_path = "/2/tweets"
    KEYS: ClassVar[dict[str, str]] = {
        "consumer_key": "ck-Hq3x8PzY1wRdK2",
        "consumer_secret": "cs-9TnVf2LkQ8sWm4ZbXc7Jd0RuEy",
        "access_token": "1512345678901234567-AtKx83nQ5pLm",
        "access_token_secret": "ats-Zp4Lr7Wq2Nv9Xc1Bm5Tg8Hs3Ja",
    }

    def __init__(self, tmp_path: Path) -> None:
        self.fake = FakeX(**self.KEYS).start()
        credentials.store("professional", "pro-x", self.KEYS)

    def secrets(self) -> list[str]:
        return list(self.KEYS.values())

    def rate_limited(self, seconds: int) -> list[tuple[str, str]]:
        reset = str(int(time.time()) + seconds)
        return [("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", reset)]

    def adapter(self, url: str) -> Any:
        account = make_account(name="pro-x", platform="x", handle="@DrAnaReyes", **self.route)
        ctx = self.context(self.persona("professional", account=account), "pro-x")
        return adapter_class("x")(ctx, base_url=url)  # type: ignore[call-arg]

    def pub(self) -> Publication:
        return _pub("x", "pro-x")

    def hang_create(self) -> None:
        self.fake.hang("POST /2/tweets", after=False)

    def created(self) -> int:
        return len(self.fake.tweets)

    def seed(self) -> None:
        self.fake.add_tweet(TEXT)

    def stop(self) -> None:
        super().stop()
        assert self.fake.problems == []


class MastodonCase(Case):
    platform = "mastodon"
    create_path = "/api/v1/statuses"
    TOKEN = "mt-Yc5Qv8Lp2Rz7Wk4Nb1Hx6Ds3Fg9Ja"

    def __init__(self, tmp_path: Path) -> None:
        mastodon_module.clear_instance_cache()
        self.fake = FakeMastodon(access_token=self.TOKEN).start()
        credentials.store("professional", "pro-mastodon", {"access_token": self.TOKEN})

    def secrets(self) -> list[str]:
        return [self.TOKEN]

    def rate_limited(self, seconds: int) -> list[tuple[str, str]]:
        reset = (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", reset)]

    def adapter(self, url: str) -> Any:
        account = make_account(
            name="pro-mastodon",
            platform="mastodon",
            handle="@anareyes@psych.social",
            instance=url,
            **self.route,
        )
        return make_adapter(
            self.context(self.persona("professional", account=account), "pro-mastodon")
        )

    def pub(self) -> Publication:
        return _pub("mastodon", "pro-mastodon")

    def hang_create(self) -> None:
        self.fake.hang("POST /api/v1/statuses", after=False)

    def created(self) -> int:
        return len(self.fake.statuses)

    def seed(self) -> None:
        self.fake.add_status(TEXT)

    def stop(self) -> None:
        super().stop()
        mastodon_module.clear_instance_cache()
        assert self.fake.problems == []


class BlueskyCase(Case):
    platform = "bluesky"
    create_path = "com.atproto.repo.createRecord"
    HANDLE = "anabee.bsky.social"
    PASSWORD = "abcd-efgh-ijkl-mnop"

    def __init__(self, tmp_path: Path) -> None:
        self.fake = FakeBlueskyPDS(handle=self.HANDLE, password=self.PASSWORD).start()
        credentials.store("personal", "home-bsky", {"app_password": self.PASSWORD})

    def secrets(self) -> list[str]:
        return [self.PASSWORD, *self.fake.issued]

    def adapter(self, url: str) -> Any:
        account = make_account(
            name="home-bsky", platform="bluesky", handle=self.HANDLE, instance=url, **self.route
        )
        return make_adapter(self.context(self.persona("personal", account=account), "home-bsky"))

    def pub(self) -> Publication:
        return _pub("bluesky", "home-bsky", persona="personal")

    def hang_create(self) -> None:
        self.fake.hang("com.atproto.repo.createRecord", after=False)

    def created(self) -> int:
        return len(self.fake.records)

    def seed(self) -> None:
        super().seed()
        self._forget_session()

    def warm_up(self) -> None:
        super().warm_up()
        self._forget_session()

    def _forget_session(self) -> None:
        # the kept session names the PDS it came from, which a later client would then use
        keyring.delete_password(credentials.service_name("personal", "home-bsky"), "session")

    def stop(self) -> None:
        super().stop()
        assert self.fake.problems == []


class WordPressCase(Case):
    platform = "wordpress"
    create_path = "/wp/v2/posts"
    PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"

    def __init__(self, tmp_path: Path) -> None:
        self.fake = FakeWordPress(app_password=self.PASSWORD).start()
        self.fake.add_term("tags", "sleep")
        self.fake.add_term("tags", "anxiety")
        credentials.store("professional", "blog", {"app_password": self.PASSWORD})

    def secrets(self) -> list[str]:
        basic = base64.b64encode(f"admin:{self.PASSWORD}".encode()).decode()
        return [self.PASSWORD, self.PASSWORD.replace(" ", ""), basic]

    def adapter(self, url: str) -> Any:
        b = make_blog(platform="wordpress", url=url, username="admin", **self.route)
        return make_adapter(self.context(self.persona("professional", blog=b), "blog"))

    def pub(self) -> Publication:
        # the tag is looked up first: publish's own read before the post, on one connection
        return _pub("wordpress", "blog", tags=("sleep",))

    def hang_create(self) -> None:
        self.fake.accept_then_hang(60)

    def created(self) -> int:
        return len(self.fake.posts())

    def warm(self, adapter: Any) -> None:
        pass  # a client per operation: publish's tag search is the request before the post

    def reads(self, adapter: Any) -> None:
        # WordPress's reads on one connection: the term searches before a post
        before = self.created()
        adapter.publish(
            replace(self.pub(), idempotency_key="post-8/blog", tags=("sleep", "anxiety"))
        )
        assert self.created() == before + 1

    def stop(self) -> None:
        self.fake.stop()
        self.fake.db.close()


class MicropubCase(Case):
    platform = "micropub"
    create_path = "/micropub"
    TOKEN = "mp-token-0123456789"

    def __init__(self, tmp_path: Path) -> None:
        self.fake = FakeMicropub(token=self.TOKEN, post_list=True).start()
        credentials.store("personal", "blog", {"token": self.TOKEN})

    def secrets(self) -> list[str]:
        return [self.TOKEN]

    def adapter(self, url: str) -> Any:
        # no endpoint: it is discovered from the home page first, on the same connection
        b = make_blog(platform="micropub", url=url, **self.route)
        return make_adapter(self.context(self.persona("personal", blog=b), "blog"))

    def pub(self) -> Publication:
        return _pub("micropub", "blog", persona="personal")

    def hang_create(self) -> None:
        self.fake.accept_then_hang(60)

    def created(self) -> int:
        return len(self.fake.posts)

    def warm(self, adapter: Any) -> None:
        pass  # a client per operation: publish's endpoint discovery comes before the post


class LinkedInCase(Case):
    platform = "linkedin"
    create_path = "/rest/posts"
    TOKEN = "AQVt0k3n-Hq3x8PzY1wRdK2mN5bV7cX9"
    SECRET = "WPL_AP1.cs-Zk3Lq9Vr2Tx8"

    def __init__(self, tmp_path: Path) -> None:
        self.fake = FakeLinkedIn(
            access_token=self.TOKEN,
            client_secret=self.SECRET,
            scopes=("openid", "profile", "w_member_social", "r_member_social"),
        ).start()
        credentials.store(
            "professional",
            "pro-linkedin",
            {
                "client_id": self.fake.client_id,
                "client_secret": self.SECRET,
                "access_token": self.TOKEN,
                "member_id": self.fake.member.id,
            },
        )

    def secrets(self) -> list[str]:
        # and every access or refresh token the fake handed out since (a refreshed login)
        return [self.TOKEN, self.SECRET, *self.fake.tokens, *self.fake.refresh]

    def adapter(self, url: str) -> Any:
        account = make_account(name="pro-linkedin", platform="linkedin", **self.route)
        ctx = self.context(self.persona("professional", account=account), "pro-linkedin")
        return adapter_class("linkedin")(ctx, base_url=url)  # type: ignore[call-arg]

    def pub(self) -> Publication:
        return _pub("linkedin", "pro-linkedin")

    def hang_create(self) -> None:
        self.fake.hang("POST /rest/posts", after=False)

    def created(self) -> int:
        return len(self.fake.posts)

    def seed(self) -> None:
        self.fake.add_post(little_text(TEXT))

    def stop(self) -> None:
        super().stop()
        assert self.fake.problems == []


class ThreadsCase(Case):
    platform = "threads"
    create_path = "/threads_publish"
    TOKEN = "th-long-Qw8Zr3Lp5Nv2Xc7Bm4Tg9Hs1JaYk"

    def __init__(self, tmp_path: Path) -> None:
        from crosspost.platforms import threads

        threads._CONTAINERS.clear()
        self.fake = FakeThreads(access_token=self.TOKEN).start()
        credentials.store(
            "professional",
            "pro-threads",
            {
                "access_token": self.TOKEN,
                "token_expires_at": str(int(time.time()) + 50 * 86400),
                "user_id": self.fake.user_id,
            },
        )

    def secrets(self) -> list[str]:
        # a refused token is refreshed once: the new ones are secrets too
        return [self.TOKEN, *self.fake.refreshed]

    def adapter(self, url: str) -> Any:
        account = make_account(
            name="pro-threads", platform="threads", handle="@dranareyes", **self.route
        )
        ctx = self.context(self.persona("professional", account=account), "pro-threads")
        return adapter_class("threads")(ctx, base_url=url)  # type: ignore[call-arg]

    def pub(self) -> Publication:
        return _pub("threads", "pro-threads")

    def hang_create(self) -> None:
        self.fake.hang("POST /v1.0/:id/threads_publish", after=False)

    def created(self) -> int:
        return len(self.fake.published())

    def seed(self) -> None:
        self.fake.add_post(TEXT)

    def stop(self) -> None:
        super().stop()
        assert self.fake.problems == []


CASES: dict[str, type[Case]] = {
    c.platform: c
    for c in (
        XCase,
        MastodonCase,
        BlueskyCase,
        WordPressCase,
        MicropubCase,
        LinkedInCase,
        ThreadsCase,
    )
}
#: adapters that write local files and never open a connection
LOCAL = {"static", "feed"}
NETWORK = sorted(set(ADAPTERS) - LOCAL)


@pytest.fixture
def case(request: pytest.FixtureRequest, isolated: Any, tmp_path: Path) -> Iterator[Case]:
    platform = request.param
    if platform not in CASES:
        pytest.fail(
            f"adapter {platform!r} is not covered by the HTTP contract: add a Case for it "
            "(or add it to LOCAL if it never opens a connection)"
        )
    c = CASES[platform](tmp_path)
    c.cache_dir = tmp_path / "cache"
    try:
        yield c
    finally:
        c.stop()


def test_every_registered_adapter_is_covered() -> None:
    assert set(ADAPTERS) == set(CASES) | LOCAL
    assert not set(CASES) & LOCAL


def _timed(fn: Any) -> tuple[BaseException | None, float]:
    start = time.monotonic()
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the caller checks what it was
        return e, time.monotonic() - start
    return None, time.monotonic() - start


# -- request_timeout ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_a_silent_server_is_given_up_on_after_request_timeout(case: Case) -> None:
    case.warm_up()
    with SilentServer() as silent:
        adapter = case.adapter(silent.url)
        for name, op in (
            ("verify", adapter.verify),
            ("lookup", lambda: adapter.lookup(case.pub())),
            ("publish", lambda: adapter.publish(case.pub())),
            ("history", lambda: adapter.history(5)),
            ("profile", adapter.profile),
        ):
            err, elapsed = _timed(op)
            if isinstance(err, ReadUnsupported) or (name == "profile" and err is None):
                continue  # nothing to read back there (Micropub has no profile): nothing asked
            assert isinstance(err, TransientError), f"{name}: {err!r}"
            assert elapsed < BOUND, f"{name} waited {elapsed:.1f} s for a {TIMEOUT} s time-out"
        assert silent.connections >= 1


@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_a_post_without_answer_times_out_and_may_have_been_sent(case: Case) -> None:
    case.warm_up()
    case.hang_create()
    err, elapsed = _timed(lambda: case.adapter(case.fake_url).publish(case.pub()))
    assert isinstance(err, TransientError), repr(err)
    assert err.maybe_sent is True  # the publisher asks lookup before posting again
    assert elapsed < BOUND, f"publish waited {elapsed:.1f} s for a {TIMEOUT} s time-out"


# -- what every adapter promises its caller -----------------------------------------------------


@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_a_published_post_is_found_by_lookup(case: Case) -> None:
    p = case.pub()
    made = case.adapter(case.fake_url).publish(p)
    assert case.created() == 1
    # a fresh adapter, as after a restart: only the platform knows of the post
    assert case.adapter(case.fake_url).lookup(p) == made


@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_too_many_requests_waits_as_long_as_the_platform_says(case: Case) -> None:
    case.fail_create(429, case.rate_limited(120))
    with pytest.raises(TransientError) as e:
        case.adapter(case.fake_url).publish(case.pub())
    assert e.value.retry_after is not None
    assert 118 <= e.value.retry_after <= 121, e.value.retry_after
    assert case.created() == 0


@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_unauthorized_is_permanent_and_says_to_log_in_again(case: Case) -> None:
    case.fail_create(401)
    with pytest.raises(PermanentError) as e:
        case.adapter(case.fake_url).publish(case.pub())
    assert "crosspost accounts login" in (e.value.hint or ""), str(e.value)
    assert case.created() == 0


def _capture_every_logger(caplog: pytest.LogCaptureFixture) -> None:
    """Every record at DEBUG from every logger there is, the SDKs' included, whatever level
    or propagation they were given."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
            if not logger.propagate and caplog.handler not in logger.handlers:
                logger.addHandler(caplog.handler)


@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_no_secret_in_any_log_record_or_error(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    case.warm_up()  # the SDKs are imported and their loggers exist
    _capture_every_logger(caplog)
    adapter = case.adapter(case.fake_url)
    p = case.pub()
    adapter.verify()
    made = adapter.publish(p)
    assert case.adapter(case.fake_url).lookup(p) == made
    errors: list[PublishError] = []
    for status in (429, 401, 500):
        case.fail_create(status, [("Retry-After", "1")])
        other = replace(
            p, idempotency_key=f"{p.idempotency_key}-{status}", text=f"{p.text} {status}"
        )
        with pytest.raises(PublishError) as e:
            case.adapter(case.fake_url).publish(other)
        errors.append(e.value)
        case.fake.clear_failures()
    assert caplog.records, "nothing was logged: the capture does not work"
    said = [f"{r.name}: {r.getMessage()}" for r in caplog.records]
    said += [r.exc_text or "" for r in caplog.records]
    said += [text for err in errors for text in (str(err), err.hint or "", repr(err))]
    secrets = case.secrets()
    assert secrets and all(secrets)
    for secret in secrets:
        leaks = [line for line in said if secret in line]
        assert not leaks, f"a secret ({secret[:4]}…) is in: {leaks[:3]}"


# -- dropped keep-alive connections ---------------------------------------------------------------

DROPS = [pytest.param(False, id="hang-up"), pytest.param(True, id="reset")]


@pytest.mark.parametrize("reset", DROPS)
@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_a_read_on_a_dropped_connection_is_sent_again_once(case: Case, reset: bool) -> None:
    case.seed()
    with DroppingProxy(
        case.fake_url, drop=lambda method, path: method == "GET", reset=reset
    ) as proxy:
        case.reads(case.adapter(proxy.url))
    [dropped] = proxy.dropped
    after = proxy.seen[proxy.seen.index(dropped) + 1 :]
    assert (after[0].method, after[0].path) == (dropped.method, dropped.path)
    assert after[0].connection != dropped.connection
    assert not after[0].dropped


@pytest.mark.parametrize("reset", DROPS)
@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_a_post_on_a_dropped_connection_is_not_sent_again(case: Case, reset: bool) -> None:
    def drop(method: str, path: str) -> bool:
        return method == "POST" and case.create_path in path

    with DroppingProxy(case.fake_url, drop=drop, reset=reset) as proxy:
        adapter = case.adapter(proxy.url)
        case.warm(adapter)
        err, _ = _timed(lambda: adapter.publish(case.pub()))
    assert [s.dropped for s in proxy.seen if drop(s.method, s.path)] == [True]
    assert case.created() == 0
    assert isinstance(err, TransientError), repr(err)
    assert err.maybe_sent is True  # the publisher asks lookup before posting again


@pytest.mark.parametrize(
    "case", ["bluesky", "linkedin", "micropub", "threads", "wordpress"], indirect=True
)
def test_the_httpx_adapters_still_use_the_environments_proxy(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx ignores HTTP_PROXY for a client given a transport of its own: the resending of
    # reads must not cost the proxy
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with DroppingProxy(case.fake_url, drop=lambda method, path: False) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("http_proxy", proxy.url)
        case.adapter(case.fake_url).verify()
    assert proxy.seen


# -- the network route: User-Agent and proxy ------------------------------------------------------

AGENT = "HarborNotes/2.1 (+https://notes.example)"
PROXY_ENV = ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy")
PROXY_ENV += ("ALL_PROXY", "all_proxy")
#: a port nothing listens on: a request sent to this "proxy" is refused
REFUSED = "http://127.0.0.1:9"


def _everything(case: Case, adapter: Any) -> None:
    """Every kind of request an adapter makes in the daemon: the check, the server's limits,
    the post, and the lookup of it; and what ``audit-exposure`` reads back, where the
    platform can be read."""
    adapter.verify()
    adapter.share_rules()
    adapter.publish(case.pub())
    assert adapter.lookup(case.pub()) is not None
    for read in (lambda: adapter.history(5), adapter.profile):
        with contextlib.suppress(ReadUnsupported):
            read()


@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_every_request_carries_the_contexts_user_agent(case: Case) -> None:
    case.route = {"user_agent": AGENT}
    _everything(case, case.adapter(case.fake_url))
    agents = [r.header("User-Agent") for r in case.fake.requests]
    assert len(agents) >= 3
    assert set(agents) == {AGENT}


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({}, id="no-environment"),
        # the environment's proxy must not win over the configured one (requests lets it win
        # over a session's proxies), nor NO_PROXY skip the configured one
        pytest.param({"HTTP_PROXY": REFUSED, "http_proxy": REFUSED}, id="environment-proxy"),
        pytest.param({"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}, id="no-proxy"),
    ],
)
@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_every_request_goes_through_the_configured_proxy(
    case: Case, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with ForwardingProxy() as proxy:
        case.route = {"user_agent": AGENT, "proxy": proxy.url}
        _everything(case, case.adapter(case.fake_url))
    passed = proxy.passed
    assert len(passed) >= 3
    assert all(p.proxied for p in passed), [p for p in passed if not p.proxied]
    assert {p.origin for p in passed} == {case.fake_url}
    assert {p.user_agent for p in passed} == {AGENT}
    # nothing reached the fake around the proxy
    assert len(passed) == len(case.fake.requests)


@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_personas_with_their_own_user_agent_send_different_ones(case: Case) -> None:
    seen = []
    for agent in ("Quill/1.0", "Lantern/3.2 (Linux)"):
        case.persona_route = {"user_agent": agent}
        before = len(case.fake.requests)
        case.adapter(case.fake_url).verify()
        seen.append({r.header("User-Agent") for r in case.fake.requests[before:]})
    assert seen == [{"Quill/1.0"}, {"Lantern/3.2 (Linux)"}]


@pytest.mark.parametrize("case", NETWORK, indirect=True)
def test_without_settings_every_request_carries_the_personas_own_name(case: Case) -> None:
    adapter = case.adapter(case.fake_url)
    adapter.verify()
    agents = {r.header("User-Agent") for r in case.fake.requests}
    assert len(agents) == 1
    [agent] = agents
    assert "crosspost" not in agent.lower() and agent != DEFAULT_USER_AGENT
    seed = agentnames.seed(case.cache_dir)
    assert agent == agentnames.user_agent(seed, adapter.ctx.persona.name)


# -- adapters without a network ---------------------------------------------------------------


def _local_adapter(platform: str, tmp_path: Path) -> Any:
    if platform == "static":
        (tmp_path / "site").mkdir()
        b = blog(tmp_path / "site" / "posts")
        return make_adapter(replace(static_ctx(b), timeout=TIMEOUT))
    if platform == "feed":
        return make_adapter(replace(feed_ctx(tmp_path / "static" / "feed.xml"), timeout=TIMEOUT))
    pytest.fail(f"no local adapter {platform!r}")


@pytest.mark.parametrize("platform", sorted(LOCAL))
def test_local_adapters_open_no_connection(
    platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError(f"the {platform} adapter opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    adapter = _local_adapter(platform, tmp_path)
    p = local_pub(platform=platform)
    result = adapter.publish(p)
    assert adapter.lookup(p) == result
    assert adapter.verify()


# -- the shared policy itself ---------------------------------------------------------------------


def _dropped_by_requests(inner: BaseException) -> BaseException:
    """What requests raises (via urllib3) for a connection closed before the answer."""
    import requests
    from urllib3.exceptions import ProtocolError

    return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", inner))


def _raised_from(outer: Exception, cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException:  # noqa: BLE001
            raise outer  # noqa: B904 - implicit chaining, as Mastodon.py does
    except Exception as e:  # noqa: BLE001
        return e


def _dropped_cases() -> list[Any]:
    import http.client

    import httpx
    import requests
    from mastodon import MastodonNetworkError
    from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError

    hung_up = http.client.RemoteDisconnected("Remote end closed connection without response")
    refused = NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
    return [
        pytest.param(_dropped_by_requests(hung_up), True, id="requests-hang-up"),
        pytest.param(
            _dropped_by_requests(ConnectionResetError(104, "reset")), True, id="requests-reset"
        ),
        pytest.param(
            _raised_from(
                MastodonNetworkError("Could not complete request"), _dropped_by_requests(hung_up)
            ),
            True,
            id="mastodon.py-wrapped",
        ),
        pytest.param(
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            True,
            id="httpx-hang-up",
        ),
        pytest.param(
            _raised_from(httpx.ReadError("reset"), ConnectionResetError(104, "reset")),
            True,
            id="httpx-reset",
        ),
        pytest.param(httpx.ReadTimeout("timed out"), False, id="httpx-timeout"),
        pytest.param(httpx.ConnectError("refused"), False, id="httpx-refused"),
        pytest.param(
            httpx.RemoteProtocolError("illegal header line"), False, id="httpx-malformed-answer"
        ),
        pytest.param(
            requests.exceptions.ReadTimeout(ReadTimeoutError(None, "/", "timed out")),  # type: ignore[arg-type]
            False,
            id="requests-timeout",
        ),
        pytest.param(
            requests.exceptions.ConnectionError(MaxRetryError(None, "/", refused)),  # type: ignore[arg-type]
            False,
            id="requests-refused",
        ),
    ]


@pytest.mark.parametrize(("exc", "dropped"), _dropped_cases())
def test_what_counts_as_a_dropped_connection(exc: BaseException, dropped: bool) -> None:
    from crosspost.platforms import _http

    assert _http.connection_dropped(exc) is dropped


@pytest.mark.parametrize(("method", "sends"), [("GET", 2), ("HEAD", 2), ("POST", 1), ("PUT", 1)])
def test_only_reads_are_sent_again_and_only_once(method: str, sends: int) -> None:
    import httpx

    from crosspost.platforms import _http

    calls: list[str] = []

    def always_dropped(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    transport = httpx.MockTransport(always_dropped)
    with _http.client(transport=transport) as c, pytest.raises(TransientError) as err:
        _http.request(c, method, "http://blog.example/wp-json/", target="blog")
    assert calls == [method] * sends
    assert err.value.maybe_sent is (method not in ("GET", "HEAD"))


def test_a_timed_out_read_is_not_sent_again() -> None:
    import httpx

    from crosspost.platforms import _http

    calls: list[str] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadTimeout("timed out")

    with _http.client(transport=httpx.MockTransport(slow)) as c, pytest.raises(TransientError):
        _http.request(c, "GET", "http://blog.example/wp-json/", target="blog")
    assert calls == ["GET"]


# -- the CLI --------------------------------------------------------------------------------------


def test_accounts_test_waits_request_timeout(ws: Any, isolated: Any) -> None:
    with SilentServer() as silent:
        ws.write(
            "config.toml",
            'profiles_dir = "profiles"\ndata_dir = "data"\n[daemon]\nrequest_timeout = "1s"\n',
        )
        ws.write(
            "profiles/professional.toml",
            f"""
            display_name = "Dr. Ana Reyes"
            timezone = "America/Chicago"
            [[accounts]]
            name = "pro-mastodon"
            platform = "mastodon"
            handle = "@anareyes@psych.social"
            instance = "{silent.url}"
            """,
        )
        credentials.store("professional", "pro-mastodon", {"access_token": "mt-token-0123456789"})
        ws.run("accounts", "test", "pro-mastodon")  # the CLI's imports, outside the clock
        start = time.monotonic()
        r = ws.run("accounts", "test", "pro-mastodon")
        elapsed = time.monotonic() - start
    assert r.code == 1, r.out + r.err
    assert "Traceback" not in r.err
    assert elapsed < BOUND, f"accounts test waited {elapsed:.1f} s for a 1 s time-out"
