"""Reusing HTTP sessions across deliveries, and publishing without Mastodon.py's casts."""

from __future__ import annotations

import threading

import pytest

from crosspost import credentials
from crosspost.errors import TransientError
from crosspost.platforms import mastodon as mastodon_module
from crosspost.platforms.base import AdapterContext
from crosspost.platforms.mastodon import MastodonAdapter
from crosspost.profiles import Persona, make_account
from tests.fakes.mastodon import FakeMastodon

from .test_mastodon import TOKEN, pub

OTHER = "mt-Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz"


@pytest.fixture(autouse=True)
def _fresh_limits():
    mastodon_module.clear_instance_cache()
    yield
    mastodon_module.clear_instance_cache()


@pytest.fixture
def fake():
    f = FakeMastodon(access_token=TOKEN).start()
    yield f
    f.stop()
    assert f.problems == [], "the fake Mastodon saw invalid requests"


@pytest.fixture
def logins(isolated):
    credentials.store("professional", "pro-mastodon", {"access_token": TOKEN})
    credentials.store("personal", "pers-mastodon", {"access_token": OTHER})


def make(fake: FakeMastodon, persona: str = "professional") -> MastodonAdapter:
    name = "pro-mastodon" if persona == "professional" else "pers-mastodon"
    account = make_account(
        name=name, platform="mastodon", handle="@anareyes@psych.social", instance=fake.url
    )
    ctx = AdapterContext(
        persona=Persona(name=persona, display_name="Ana", accounts=[account]), account=account
    )
    return MastodonAdapter(ctx, timeout=5.0)


def test_one_session_per_thread_persona_and_instance(fake: FakeMastodon, logins: None) -> None:
    a, b = make(fake), make(fake)
    assert a._api().session is b._api().session
    assert a._api() is not b._api()  # the client (and its token) is still per delivery
    assert make(fake, "personal")._api().session is not a._api().session
    other: list[object] = []
    t = threading.Thread(target=lambda: other.append(make(fake)._api().session))
    t.start()
    t.join()
    assert other[0] is not a._api().session


def test_each_request_carries_its_own_token(fake: FakeMastodon, logins: None) -> None:
    fake.tokens[OTHER] = fake.tokens[TOKEN]
    make(fake).publish(pub(idempotency_key="k1"))
    make(fake, "personal").publish(pub(idempotency_key="k2"))
    make(fake).publish(pub(idempotency_key="k3"))
    auth = [r.headers["Authorization"] for r in fake.seen("POST /api/v1/statuses")]
    assert auth == [f"Bearer {TOKEN}", f"Bearer {OTHER}", f"Bearer {TOKEN}"]


def test_the_shared_session_keeps_no_cookies(fake: FakeMastodon, logins: None) -> None:
    fake.fail("POST /api/v1/statuses", 503, headers={"Set-Cookie": "track=abc; Path=/"})
    with pytest.raises(TransientError):
        make(fake).publish(pub())
    make(fake).publish(pub())
    last = fake.seen("POST /api/v1/statuses")[-1]
    assert "Cookie" not in last.headers and "cookie" not in last.headers


def test_publish_skips_the_cast_of_its_own_call_only(fake: FakeMastodon, logins: None) -> None:
    a = make(fake)
    result = a.publish(pub())
    [status] = fake.statuses
    assert result.remote_id == str(status["id"]) and result.url
    api = a._api()
    assert "_Mastodon__try_cast_to_type" not in vars(api)
    me = api.account_verify_credentials()
    assert type(me).__name__ == "Account"  # other calls are cast as before
