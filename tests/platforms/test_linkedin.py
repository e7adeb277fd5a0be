"""The LinkedIn adapter against a local fake (tests/fakes/linkedin.py), which checks every
request against LinkedIn's documented API: headers, scopes, post fields, images, little text."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from crosspost import credentials
from crosspost.errors import CrosspostError, PermanentError, TransientError, UsageError
from crosspost.platforms.base import AdapterContext, LookupUnsupported, MediaItem, Publication
from crosspost.platforms.linkedin import (
    LinkedInAdapter,
    linkedin_length,
    little_text,
    plain_text,
)
from crosspost.platforms.specs.linkedin import LinkedInAccount
from crosspost.profiles import Persona, make_account
from tests.fakes.linkedin import FakeLinkedIn, little_to_text
from tests.fakes.sockets import SilentServer
from tests.support.publications import make_publication

TOKEN = "AQVt0k3n-Hq3x8PzY1wRdK2mN5bV7cX9"
REFRESH = "AQXr3fr3sh-Lp2Rz7Wk4Nb1Hx6Ds3Fg9"
CLIENT_ID = "86abcdef123456"
CLIENT_SECRET = "WPL_AP1.cs-Zk3Lq9Vr2Tx8"
MEMBER = "aB3xY9kLmQ"
ORG = "urn:li:organization:5515715"
TEXT = "New on the blog: Burnout is not a character flaw https://harborpsych.example/posts/burnout/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def fake():
    f = FakeLinkedIn(access_token=TOKEN, member_id=MEMBER, client_secret=CLIENT_SECRET).start()
    yield f
    f.stop()
    assert f.problems == [], "the fake LinkedIn saw invalid requests"


def store(**extra: str) -> None:
    values = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "access_token": TOKEN}
    values.update(extra)
    credentials.store("professional", "pro-linkedin", values)


def stored(name: str) -> str | None:
    return credentials.get_secret(credentials.service_name("professional", "pro-linkedin"), name)


@pytest.fixture
def login(isolated: Any) -> None:
    store(member_id=MEMBER)


def ctx(**kw: Any) -> AdapterContext:
    account = make_account(name="pro-linkedin", platform="linkedin", **kw)
    persona = Persona(name="professional", display_name="Dr. Ana Reyes", accounts=[account])
    return AdapterContext(persona=persona, account=account)


def adapter(fake: FakeLinkedIn | str, *, timeout: float = 5.0, **kw: Any) -> LinkedInAdapter:
    url = fake if isinstance(fake, str) else fake.url
    return LinkedInAdapter(ctx(**kw), base_url=url, timeout=timeout)


def pub(text: str = TEXT, **kw: Any) -> Publication:
    defaults: dict[str, Any] = dict(
        post_id=7,
        target="pro-linkedin",
        platform="linkedin",
        idempotency_key="post-7/pro-linkedin/9f86d081",
        kind="entry",
        title="Burnout is not a character flaw",
        body="Some thoughts.",
        summary="What burnout is, and what it is not.",
        slug="burnout",
        text=text,
        canonical_url="https://harborpsych.example/posts/burnout/",
    )
    return make_publication(**{**defaults, **kw})


def short(text: str) -> Publication:
    return pub(text, kind="short", title=None, summary=None, canonical_url=None)


def image(tmp_path: Path, name: str, alt: str = "") -> MediaItem:
    p = tmp_path / name
    p.write_bytes(PNG)
    return MediaItem(p, alt)


# --------------------------------------------------------------------------------------------
# Publishing


def test_publish_a_short_post(fake: FakeLinkedIn, login: None) -> None:
    result = adapter(fake).publish(short("Back from the conference. Slides soon."))
    [post] = fake.posts
    assert result.remote_id == post["id"]
    assert result.url == f"https://www.linkedin.com/feed/update/{post['id']}/"
    [seen] = fake.seen("POST /rest/posts")
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert seen.headers["LinkedIn-Version"] == "202610"
    assert "crosspost/" in seen.headers["User-Agent"]
    body = seen.json()
    assert body["author"] == f"urn:li:person:{MEMBER}"
    assert body["visibility"] == "PUBLIC"
    assert body["lifecycleState"] == "PUBLISHED"
    assert body["distribution"]["feedDistribution"] == "MAIN_FEED"
    assert "content" not in body
    assert post["text"] == "Back from the conference. Slides soon."
    # the member id came from the login: no userinfo request before the post
    assert [r.route for r in fake.requests] == ["POST /rest/posts"]


def test_an_entry_share_carries_the_article(fake: FakeLinkedIn, login: None) -> None:
    adapter(fake).publish(pub())
    [post] = fake.posts
    assert post["content"] == {
        "article": {
            "source": "https://harborpsych.example/posts/burnout/",
            "title": "Burnout is not a character flaw",
            "description": "What burnout is, and what it is not.",
        }
    }
    assert post["text"] == TEXT  # the template put the URL in the text too


def test_an_image_with_alt_text(fake: FakeLinkedIn, login: None, tmp_path: Path) -> None:
    media = (image(tmp_path, "snap-ab12.png", alt="A quiet room with two chairs"),)
    adapter(fake).publish(replace(short("The new office."), media=media))
    [post] = fake.posts
    [urn] = fake.images
    assert post["content"] == {"media": {"id": urn, "altText": "A quiet room with two chairs"}}
    assert fake.images[urn]["bytes"] == PNG
    init, put = fake.seen("POST /rest/images")[0], fake.seen("PUT /dms-uploads/:id")[0]
    assert init.json() == {"initializeUploadRequest": {"owner": f"urn:li:person:{MEMBER}"}}
    assert put.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "snap-" not in put.target


def test_several_images_and_an_entry(fake: FakeLinkedIn, login: None, tmp_path: Path) -> None:
    media = (image(tmp_path, "a.png", alt="one"), image(tmp_path, "b.png"))
    adapter(fake).publish(pub(media=media))
    [post] = fake.posts
    images = post["content"]["multiImage"]["images"]
    assert [i["altText"] for i in images] == ["one", ""]
    assert "article" not in post["content"]  # one kind of content: the images win
    assert post["text"] == TEXT


def test_images_are_checked_before_anything_is_sent(
    fake: FakeLinkedIn, login: None, tmp_path: Path
) -> None:
    (tmp_path / "x.webp").write_bytes(b"RIFF0000WEBP")
    with pytest.raises(PermanentError, match="not a JPEG, PNG or GIF"):
        adapter(fake).publish(pub(media=(MediaItem(tmp_path / "x.webp"),)))
    with pytest.raises(PermanentError, match="allows 4086"):
        adapter(fake).publish(pub(media=(image(tmp_path, "a.png", alt="x" * 4087),)))
    with pytest.raises(PermanentError, match="missing"):
        adapter(fake).publish(pub(media=(MediaItem(tmp_path / "gone.png"),)))
    assert fake.requests == []


def test_an_organisation_author(fake: FakeLinkedIn, isolated: Any, tmp_path: Path) -> None:
    fake.member.admin_of.add("5515715")
    fake.tokens[TOKEN].scopes |= {"w_organization_social"}
    store()
    a = adapter(fake, author=ORG, visibility="connections")
    a.publish(pub(media=(image(tmp_path, "a.png", alt="logo"),)))
    [post] = fake.posts
    assert post["author"] == ORG
    assert post["visibility"] == "PUBLIC"  # a page has followers, not connections
    assert fake.seen("POST /rest/images")[0].json()["initializeUploadRequest"]["owner"] == ORG
    assert fake.seen("GET /v2/userinfo") == []


def test_an_organisation_the_member_does_not_administer(fake: FakeLinkedIn, login: None) -> None:
    fake.tokens[TOKEN].scopes |= {"w_organization_social"}
    with pytest.raises(PermanentError, match="not an administrator") as e:
        adapter(fake, author=ORG).publish(pub())
    assert "crosspost accounts login pro-linkedin" in (e.value.hint or "")
    assert fake.posts == []


def test_the_member_is_asked_when_the_login_did_not_store_it(
    fake: FakeLinkedIn, isolated: Any
) -> None:
    store()
    adapter(fake).publish(short("Hello."))
    assert [r.route for r in fake.requests] == ["GET /v2/userinfo", "POST /rest/posts"]
    assert fake.posts[0]["author"] == f"urn:li:person:{MEMBER}"


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("author", "ana-reyes", "is not a LinkedIn URN"),
        ("author", "urn:li:organization:acme", "is not a LinkedIn URN"),
        ("api_version", "2026-10", "write it as YYYYMM"),
        ("visibility", "unlisted", "'public' or 'connections'"),
        ("redirect_uri", "localhost:8765", "not an http(s) address"),
        ("instance", "https://psych.social", "Extra inputs are not permitted"),
    ],
)
def test_account_settings_are_checked_in_the_profile(key: str, value: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        make_account(name="pro-linkedin", platform="linkedin", **{key: value})


def test_a_profile_with_a_linkedin_account(tmp_path: Path) -> None:
    p = Persona.model_validate(
        {
            "display_name": "Dr. Ana Reyes",
            "accounts": [
                {"name": "pro-linkedin", "platform": "linkedin", "author": ORG, "limit": 1300}
            ],
        }
    )
    [account] = p.accounts
    assert type(account) is LinkedInAccount
    assert account.author == ORG and account.limit == 1300


def test_a_retired_api_version_says_what_to_set(fake: FakeLinkedIn, login: None) -> None:
    with pytest.raises(PermanentError, match="HTTP 426") as e:
        adapter(fake, api_version="202301").publish(pub())
    assert "api_version" in (e.value.hint or "")
    adapter(fake, api_version="202603").publish(pub())
    assert fake.seen("POST /rest/posts")[-1].headers["LinkedIn-Version"] == "202603"


def test_a_duplicate_names_the_earlier_post(fake: FakeLinkedIn, login: None) -> None:
    first = adapter(fake).publish(pub())
    with pytest.raises(PermanentError, match="duplicate") as e:
        adapter(fake).publish(pub())
    assert first.url is not None and first.url in e.value.message
    assert len(fake.posts) == 1


# --------------------------------------------------------------------------------------------
# Little text


@pytest.mark.parametrize(
    "text",
    [
        "Sleep (and why it matters) [part 1]",
        "A *bold* claim_with_underscores ~ and <angle> {braces} | pipes \\ backslash",
        "Ask me @ the clinic, or email ana@harborpsych.example",
        "Therapy #MentalHealth #sleep and issue #12",
        "A link with (parens) https://en.wikipedia.org/wiki/Sleep_(disambiguation) and _",
        "Fragment https://harborpsych.example/posts/#sleep stays a link",
        "Emoji 🧠 and ＃fullwidth",
    ],
)
def test_reserved_characters_are_escaped_and_nothing_is_cut(
    fake: FakeLinkedIn, login: None, text: str
) -> None:
    adapter(fake).publish(short(text))
    [post] = fake.posts
    assert post["text"] == text  # the fake cuts at an unescaped reserved character
    assert fake.problems == []
    assert plain_text(post["commentary"]) == text


def test_hashtags_stay_hashtags() -> None:
    little = little_text("Notes on #sleep, see https://x.example/#a")
    assert "{hashtag|\\#|sleep}" in little
    assert "https://x.example/\\#a" in little  # inside a URL it is text
    assert little_to_text(little) == ("Notes on #sleep, see https://x.example/#a", None)


def test_the_fake_cuts_unescaped_text_as_linkedin_does() -> None:
    # the check the escaping tests rely on: it can fail
    assert little_to_text("Sleep (and why)") == (
        "Sleep ",
        "unescaped '(' at 6: the post is cut there",
    )


def test_length_counts_utf16_units() -> None:
    assert linkedin_length("abc") == 3
    assert linkedin_length("🧠") == 2  # outside the BMP: a surrogate pair
    assert linkedin_length("é") == 1
    assert linkedin_length("(#x)") == 4  # escapes are not counted


def test_the_limit_is_enforced_in_utf16_units(fake: FakeLinkedIn, login: None) -> None:
    fits = "a" * 2998 + "🧠"
    adapter(fake).publish(short(fits))
    with pytest.raises(PermanentError, match="exceeds 3000"):
        adapter(fake).publish(short("b" * 2999 + "🧠"))
    assert len(fake.posts) == 1


# --------------------------------------------------------------------------------------------
# Tokens


def test_an_expired_token_is_refreshed_and_stored(fake: FakeLinkedIn, isolated: Any) -> None:
    fake.add_refresh_token(REFRESH)
    store(member_id=MEMBER, refresh_token=REFRESH, expires_at=str(int(time.time()) - 10))
    adapter(fake).publish(pub())
    [grant] = fake.seen("POST /oauth/v2/accessToken")
    form = {k: v[0] for k, v in grant.form.items()}
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    new = stored("access_token")
    assert new and new != TOKEN and new in fake.tokens
    assert fake.seen("POST /rest/posts")[0].headers["Authorization"] == f"Bearer {new}"
    assert float(stored("expires_at") or 0) > time.time() + 50 * 86400
    assert stored("refresh_token") == REFRESH


def test_a_401_refreshes_once_and_repeats_the_request(fake: FakeLinkedIn, isolated: Any) -> None:
    fake.add_refresh_token(REFRESH)
    store(member_id=MEMBER, refresh_token=REFRESH)
    fake.expire(TOKEN)  # LinkedIn expired it early: the stored expiry does not know
    result = adapter(fake).publish(pub())
    assert [r.route for r in fake.requests] == [
        "POST /rest/posts",
        "POST /oauth/v2/accessToken",
        "POST /rest/posts",
    ]
    assert result.remote_id == fake.posts[0]["id"]
    assert stored("access_token") != TOKEN


def test_a_401_without_refresh_token_says_to_log_in(fake: FakeLinkedIn, login: None) -> None:
    fake.expire(TOKEN)
    with pytest.raises(PermanentError) as e:
        adapter(fake).publish(pub())
    assert "no refresh token" in e.value.message
    assert e.value.hint and "crosspost accounts login pro-linkedin" in e.value.hint
    assert fake.posts == []
    assert fake.seen("POST /oauth/v2/accessToken") == []


def test_a_refused_refresh_token_says_to_log_in(fake: FakeLinkedIn, isolated: Any) -> None:
    store(member_id=MEMBER, refresh_token="AQX-revoked-0000000")
    fake.expire(TOKEN)
    with pytest.raises(PermanentError, match="refused the refresh token") as e:
        adapter(fake).publish(pub())
    assert "crosspost accounts login pro-linkedin" in (e.value.hint or "")
    assert stored("access_token") == TOKEN


def test_a_second_401_after_refresh_is_permanent(fake: FakeLinkedIn, isolated: Any) -> None:
    fake.add_refresh_token(REFRESH)
    store(member_id=MEMBER, refresh_token=REFRESH)
    fake.fail("POST /rest/posts", 401, times=2)
    with pytest.raises(PermanentError) as e:
        adapter(fake).publish(pub())
    assert "crosspost accounts login pro-linkedin" in (e.value.hint or "")
    assert fake.calls["POST /oauth/v2/accessToken"] == 1  # once, not in a loop
    assert fake.posts == []


def test_an_expired_token_without_refresh_fails_before_sending(
    fake: FakeLinkedIn, isolated: Any
) -> None:
    store(member_id=MEMBER, expires_at=str(int(time.time()) - 10))
    with pytest.raises(PermanentError, match="expired on") as e:
        adapter(fake).publish(pub())
    assert "crosspost accounts login pro-linkedin" in (e.value.hint or "")
    assert fake.requests == []


# --------------------------------------------------------------------------------------------
# Errors


def test_429_is_transient_with_retry_after(fake: FakeLinkedIn, login: None) -> None:
    fake.fail("POST /rest/posts", 429, headers={"Retry-After": "120"})
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.retry_after == 120
    assert e.value.maybe_sent is False
    assert fake.posts == []


def test_5xx_on_the_post_may_have_been_sent(fake: FakeLinkedIn, login: None) -> None:
    fake.fail("POST /rest/posts", 503)
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.maybe_sent is True


def test_a_failed_upload_is_not_sent(fake: FakeLinkedIn, login: None, tmp_path: Path) -> None:
    fake.fail("PUT /dms-uploads/:id", 500)
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub(media=(image(tmp_path, "a.png"),)))
    assert e.value.maybe_sent is False
    assert fake.seen("POST /rest/posts") == []


def test_403_and_422_are_permanent_with_linkedins_message(fake: FakeLinkedIn, login: None) -> None:
    fake.fail("POST /rest/posts", 403, "Not enough permissions to access: partnerApiPostsExternal")
    with pytest.raises(PermanentError, match="partnerApiPostsExternal"):
        adapter(fake).publish(pub())
    fake.fail("POST /rest/posts", 422, "/commentary :: unexpected value")
    with pytest.raises(PermanentError, match="unexpected value"):
        adapter(fake).publish(pub())


def test_a_silent_server_is_given_up_on_after_the_timeout(isolated: Any) -> None:
    store(member_id=MEMBER)
    with SilentServer() as silent:
        a = adapter(silent.url, timeout=0.3)
        start = time.monotonic()
        with pytest.raises(TransientError) as e:
            a.publish(pub())
        assert time.monotonic() - start < 5
        assert e.value.maybe_sent is True


def test_a_hung_upload_is_not_maybe_sent(fake: FakeLinkedIn, login: None, tmp_path: Path) -> None:
    fake.hang("PUT /dms-uploads/:id")
    with pytest.raises(TransientError) as e:
        adapter(fake, timeout=0.3).publish(pub(media=(image(tmp_path, "a.png"),)))
    assert e.value.maybe_sent is False


# --------------------------------------------------------------------------------------------
# Lookup


def reader(fake: FakeLinkedIn) -> None:
    fake.tokens[TOKEN].scopes |= {"r_member_social"}


def test_lookup_after_a_lost_answer_finds_the_post(fake: FakeLinkedIn, login: None) -> None:
    reader(fake)
    p = pub("Sleep (and #anxiety): notes https://harborpsych.example/posts/sleep_(1)/")
    fake.hang("POST /rest/posts")
    with pytest.raises(TransientError) as e:
        adapter(fake, timeout=0.5).publish(p)
    assert e.value.maybe_sent is True
    [post] = fake.posts  # created; the answer never came
    found = adapter(fake).lookup(p)
    assert found is not None and found.remote_id == post["id"]
    assert found.url == f"https://www.linkedin.com/feed/update/{post['id']}/"
    [seen] = fake.seen("GET /rest/posts")
    assert "author=urn%3Ali%3Aperson%3A" + MEMBER in seen.target
    assert seen.arg("q") == "author" and seen.arg("sortBy") == "LAST_MODIFIED"
    assert len(fake.posts) == 1


def test_lookup_finds_nothing_for_other_or_older_posts(fake: FakeLinkedIn, login: None) -> None:
    reader(fake)
    fake.add_post(little_text(TEXT), created=time.time() - 3600)  # before the schedule
    fake.add_post(little_text("Something else entirely."))
    assert adapter(fake).lookup(pub()) is None


def test_lookup_pages_back_past_newer_posts(fake: FakeLinkedIn, login: None) -> None:
    reader(fake)
    made = adapter(fake).publish(pub())
    for n in range(25):
        fake.add_post(little_text(f"Later post {n}"), created=time.time() + n)
    old = fake.add_post(little_text("An old post, edited today"), created=time.time() - 86400)
    old["lastModifiedAt"] = int(time.time() * 1000) + 100_000
    assert adapter(fake).lookup(pub()) == made
    assert [r.arg("start") for r in fake.seen("GET /rest/posts")] == ["0", "20"]


def test_lookup_on_403_is_unsupported(fake: FakeLinkedIn, login: None) -> None:
    # a self-serve app has no r_member_social
    with pytest.raises(LookupUnsupported, match="r_member_social"):
        adapter(fake).lookup(pub())


def test_lookup_failures_keep_the_question_open(fake: FakeLinkedIn, login: None) -> None:
    reader(fake)
    fake.fail("GET /rest/posts", 503)
    with pytest.raises(TransientError) as e:
        adapter(fake).lookup(pub())
    assert e.value.maybe_sent is True


def test_lookup_of_an_organisation(fake: FakeLinkedIn, isolated: Any) -> None:
    fake.member.admin_of.add("5515715")
    fake.tokens[TOKEN].scopes |= {"w_organization_social", "r_organization_social"}
    store()
    a = adapter(fake, author=ORG)
    made = a.publish(pub())
    assert a.lookup(pub()) == made


# --------------------------------------------------------------------------------------------
# verify and login


def test_verify_names_the_member(fake: FakeLinkedIn, login: None) -> None:
    assert adapter(fake).verify() == f"LinkedIn member Ana Reyes (urn:li:person:{MEMBER})"
    assert "posting as " + ORG in adapter(fake, author=ORG).verify()


def test_verify_refuses_another_member(fake: FakeLinkedIn, login: None) -> None:
    with pytest.raises(PermanentError, match="not urn:li:person:Someone1"):
        adapter(fake, author="urn:li:person:Someone1").verify()


class Terminal:
    def __init__(self, fake: FakeLinkedIn, answers: dict[str, str], *, deny: bool = False) -> None:
        self.fake = fake
        self.answers = answers
        self.deny = deny
        self.said: list[str] = []
        self.asked: list[tuple[str, bool]] = []

    def ask(self, prompt: str, secret: bool) -> str:
        self.asked.append((prompt, secret))
        if prompt.startswith("The address"):
            url = next(
                line.strip()
                for s in self.said
                for line in s.splitlines()
                if "/oauth/v2/authorization" in line
            )
            return self.fake.approve(url, deny=self.deny)
        return next(v for k, v in self.answers.items() if prompt.startswith(k))

    def say(self, text: str) -> None:
        self.said.append(text)


APP = {"Client ID": CLIENT_ID, "Client secret": CLIENT_SECRET}


def test_login_end_to_end(fake: FakeLinkedIn, isolated: Any) -> None:
    t = Terminal(fake, APP)
    values = LinkedInAdapter.login_flow(
        ctx(author=f"urn:li:person:{MEMBER}"), t.ask, t.say, base_url=fake.url
    )
    assert values["client_id"] == CLIENT_ID and values["client_secret"] == CLIENT_SECRET
    assert values["access_token"] in fake.tokens
    assert values["refresh_token"] in fake.refresh
    assert values["member_id"] == MEMBER
    assert float(values["expires_at"]) > time.time() + 59 * 86400
    assert [s for _, s in t.asked] == [False, True, True]  # the secret and the code hidden
    url = next(line.strip() for s in t.said for line in s.splitlines() if "authorization?" in line)
    q = dict(parse_qsl(urlsplit(url).query))
    assert q["scope"] == "openid profile w_member_social"
    assert q["redirect_uri"] == "http://localhost:8765/linkedin"
    [grant] = fake.seen("POST /oauth/v2/accessToken")
    assert grant.form["grant_type"] == ["authorization_code"]
    assert "Authorised as Ana Reyes" in t.said[-1]
    # what the login returns is what the adapter posts with
    credentials.store("professional", "pro-linkedin", values)
    adapter(fake).publish(pub())
    assert fake.posts[0]["author"] == f"urn:li:person:{MEMBER}"


def test_login_for_an_organisation_asks_for_its_scopes(fake: FakeLinkedIn, isolated: Any) -> None:
    t = Terminal(fake, APP)
    LinkedInAdapter.login_flow(
        ctx(author=ORG, redirect_uri="https://ana.example/cb"), t.ask, t.say, base_url=fake.url
    )
    url = next(line.strip() for s in t.said for line in s.splitlines() if "authorization?" in line)
    q = dict(parse_qsl(urlsplit(url).query))
    assert q["scope"].split() == [
        "openid",
        "profile",
        "w_member_social",
        "w_organization_social",
        "r_organization_social",
    ]
    assert q["redirect_uri"] == "https://ana.example/cb"


def test_login_refuses_another_member(fake: FakeLinkedIn, isolated: Any) -> None:
    t = Terminal(fake, APP)
    with pytest.raises(PermanentError, match="not urn:li:person:Someone1"):
        LinkedInAdapter.login_flow(
            ctx(author="urn:li:person:Someone1"), t.ask, t.say, base_url=fake.url
        )


def test_login_when_the_member_does_not_allow(fake: FakeLinkedIn, isolated: Any) -> None:
    t = Terminal(fake, APP, deny=True)
    with pytest.raises(PermanentError, match="did not authorise"):
        LinkedInAdapter.login_flow(ctx(), t.ask, t.say, base_url=fake.url)
    assert fake.seen("POST /oauth/v2/accessToken") == []


def test_login_with_a_wrong_client_secret(fake: FakeLinkedIn, isolated: Any) -> None:
    t = Terminal(fake, {"Client ID": CLIENT_ID, "Client secret": "wrong-secret-123"})
    with pytest.raises(PermanentError, match="did not accept the code"):
        LinkedInAdapter.login_flow(ctx(), t.ask, t.say, base_url=fake.url)


def test_login_rejects_an_address_from_another_login(fake: FakeLinkedIn, isolated: Any) -> None:
    answers = {**APP, "The address": "http://localhost:8765/linkedin?code=abc&state=other"}
    with pytest.raises(UsageError, match="state differs"):
        LinkedInAdapter.login_flow(
            ctx(),
            lambda p, s: next(v for k, v in answers.items() if p.startswith(k)),
            lambda s: None,
            base_url=fake.url,
        )


def test_login_without_refresh_tokens_says_to_log_in_again(isolated: Any) -> None:
    with FakeLinkedIn(
        access_token=TOKEN, client_secret=CLIENT_SECRET, refresh_tokens=False
    ) as fake:
        t = Terminal(fake, APP)
        values = LinkedInAdapter.login_flow(ctx(), t.ask, t.say, base_url=fake.url)
        assert values["refresh_token"] == ""
        assert "log in again before then" in t.said[-1]


# --------------------------------------------------------------------------------------------
# Secrets


def test_no_token_in_logs_or_errors(
    fake: FakeLinkedIn, isolated: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add_refresh_token(
        REFRESH, scopes=("openid", "profile", "w_member_social", "r_member_social")
    )
    store(member_id=MEMBER, refresh_token=REFRESH)
    errors: list[str] = []
    a = adapter(fake, timeout=0.5)
    fake.expire(TOKEN)
    a.publish(pub(media=(image(tmp_path, "a.png", alt="chairs"),)))
    a.lookup(pub())
    a.verify()
    for status in (401, 403, 422, 429, 500):
        fake.fail("POST /rest/posts", status, f"echo Bearer {TOKEN} {REFRESH}", times=2)
        try:
            adapter(fake).publish(short(f"attempt {status}"))
        except CrosspostError as e:
            errors.append(f"{e} {e.hint} {e!r}")
    fake.hang("POST /rest/posts")
    try:
        adapter(fake, timeout=0.3).publish(short("hang"))
    except CrosspostError as e:
        errors.append(f"{e} {e.hint} {e!r}")
    t = Terminal(fake, APP)
    values = LinkedInAdapter.login_flow(ctx(), t.ask, t.say, base_url=fake.url)
    issued = [
        v for k, v in values.items() if k in ("access_token", "refresh_token", "client_secret")
    ]
    assert len(errors) == 6
    secrets = (TOKEN, REFRESH, stored("access_token") or "", *issued)
    texts = [r.getMessage() for r in caplog.records] + errors + t.said + [repr(a)]
    for text in texts:
        for secret in secrets:
            assert secret not in text


# --------------------------------------------------------------------------------------------
# Through the core: the registry's spec


def test_preview_fits_a_share_in_utf16_units(ws: Any) -> None:
    ws.write(
        "profiles/professional.toml",
        """
        display_name = "Dr. Ana Reyes"
        timezone = "America/Chicago"
        share = "{title}\\n\\n{body}\\n\\n{url}"
        [blog]
        platform = "static"
        url = "https://harborpsych.example"
        content_dir = "site"
        [[accounts]]
        name = "pro-linkedin"
        platform = "linkedin"
        author = "urn:li:organization:5515715"
        """,
    )
    entry = ws.write("entry.md", "---\ntitle: Sleep\n---\n" + "Sleep matters 🧠 (a lot). " * 200)
    r = ws.run(
        "preview",
        str(entry),
        "--persona",
        "professional",
        "--to",
        "pro-linkedin",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    [it] = r.json()["targets"]
    assert (it["limit"], it["unit"], it["over"]) == (3000, "UTF-16 units", False)
    assert it["length"] == linkedin_length(it["text"]) <= 3000
    assert len(it["text"]) < it["length"]  # each 🧠 counted twice: not code points
    assert it["text"].endswith("\n\nhttps://harborpsych.example/posts/sleep/")
