"""The Mastodon adapter against a local fake instance (tests/fakes/mastodon.py), which checks
every request it gets and honours Idempotency-Key like Mastodon."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import traceback
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mastodon import Mastodon

from crosspost import credentials
from crosspost.compose import ShareInput, compose_share
from crosspost.credentials import MissingCredentials
from crosspost.errors import CrosspostError, PermanentError, TransientError, UsageError
from crosspost.platforms import adapter_class
from crosspost.platforms import mastodon as mastodon_module
from crosspost.platforms.base import AdapterContext, MediaItem, Publication, Result
from crosspost.platforms.mastodon import (
    InstanceLimits,
    MastodonAdapter,
    ShareRules,
    instance_url,
    same_text,
    status_text,
)
from crosspost.profiles import Persona, make_account
from tests.fakes.mastodon import FakeAccount, FakeMastodon, query_of, render
from tests.support.publications import make_publication

TOKEN = "mt-Yc5Qv8Lp2Rz7Wk4Nb1Hx6Ds3Fg9Ja"
TEXT = "New on the blog: Burnout is not a character flaw https://harborpsych.example/posts/burnout/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


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
def login(isolated):
    credentials.store("professional", "pro-mastodon", {"access_token": TOKEN})


def _ctx(
    instance: str | None,
    handle: str | None = "@anareyes@psych.social",
    limit: int | None = None,
    visibility: str | None = None,
) -> AdapterContext:
    account = make_account(
        name="pro-mastodon",
        platform="mastodon",
        handle=handle,
        instance=instance,
        limit=limit,
        visibility=visibility,
    )
    persona = Persona(name="professional", display_name="Dr. Ana Reyes", accounts=[account])
    return AdapterContext(persona=persona, account=account)


def adapter(fake: FakeMastodon, *, timeout: float = 5.0, **kw: object) -> MastodonAdapter:
    return MastodonAdapter(
        _ctx(fake.url, **kw),
        timeout=timeout,  # type: ignore[arg-type]
        poll_interval=0.01,
    )


def pub(text: str = TEXT, **kw: object) -> Publication:
    defaults = dict(
        post_id=7,
        persona="professional",
        target="pro-mastodon",
        platform="mastodon",
        idempotency_key="post-7/pro-mastodon/9f86d081",
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
    assert adapter_class("mastodon") is MastodonAdapter
    assert [f.name for f in MastodonAdapter.credential_fields] == ["access_token"]


def test_publish_sends_text_key_and_language(fake: FakeMastodon, login: None) -> None:
    p = pub(lang="en-US")
    result = adapter(fake).publish(p)
    [status] = fake.statuses
    assert result == Result(status["id"], f"{fake.url}/@anareyes/{status['id']}")
    [seen] = fake.seen("POST /api/v1/statuses")
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["Idempotency-Key"] == p.idempotency_key
    assert seen.form["status"] == [TEXT]
    assert seen.form["visibility"] == ["public"]
    assert seen.form["language"] == ["en"]
    assert "crosspost/" in seen.headers["User-Agent"]
    # no version detection: only the post went out
    assert [r.route for r in fake.requests] == ["POST /api/v1/statuses"]


def test_visibility_of_the_account(fake: FakeMastodon, login: None) -> None:
    adapter(fake, visibility="unlisted").publish(pub())
    [seen] = fake.seen("POST /api/v1/statuses")
    assert seen.form["visibility"] == ["unlisted"]
    assert fake.statuses[0]["visibility"] == "unlisted"


def test_visibility_is_for_mastodon_accounts_only() -> None:
    with pytest.raises(ValueError, match="visibility"):
        make_account(name="pro-x", platform="x", visibility="unlisted")


def test_a_repeat_with_the_same_key_returns_the_original(fake: FakeMastodon, login: None) -> None:
    first = adapter(fake).publish(pub())
    again = adapter(fake).publish(pub())
    assert again == first
    assert len(fake.statuses) == 1
    assert fake.calls["POST /api/v1/statuses"] == 2


def test_publish_images_with_descriptions(fake: FakeMastodon, login: None, tmp_path: Path) -> None:
    media = (
        image(tmp_path, "snap-ab12.png", alt="A quiet room with two chairs"),
        image(tmp_path, "snap-cd34.png"),
    )
    adapter(fake).publish(pub(media=media))
    [status] = fake.statuses
    first, second = (fake.media[m] for m in status["media_ids"])
    assert first["description"] == "A quiet room with two chairs"
    assert second["description"] is None
    # Mastodon.py uploads under a random name: the snapshot's name never leaves the machine
    assert "snap-" not in (first["filename"] or "") and "snap-" not in (second["filename"] or "")
    assert fake.seen("POST /api/v1/statuses")[0].form["media_ids[]"] == status["media_ids"]
    # the limits were read once (for the media checks), from /api/v2/instance
    assert fake.calls["GET /api/v2/instance"] == 1


def test_publish_waits_for_media_processing(
    fake: FakeMastodon, login: None, tmp_path: Path
) -> None:
    fake.processing_polls = 3
    adapter(fake).publish(pub(media=(image(tmp_path, "a.png", alt="chairs"),)))
    assert fake.calls["GET /api/v1/media/:id"] == 3
    assert len(fake.statuses) == 1


def test_media_processing_deadline_is_transient_and_not_sent(
    fake: FakeMastodon, login: None, tmp_path: Path
) -> None:
    fake.processing_polls = 1000
    a = MastodonAdapter(_ctx(fake.url), poll_interval=0.01, processing_timeout=0.1)
    with pytest.raises(TransientError) as e:
        a.publish(pub(media=(image(tmp_path, "a.png"),)))
    assert e.value.maybe_sent is False
    assert fake.statuses == []


def test_media_checks_before_upload(fake: FakeMastodon, login: None, tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="at most 4 images"):
        adapter(fake).publish(pub(media=tuple(image(tmp_path, f"{n}.png") for n in range(5))))
    with pytest.raises(PermanentError, match="allows 1500"):
        adapter(fake).publish(pub(media=(image(tmp_path, "a.png", alt="x" * 1501),)))
    assert fake.seen("POST /api/v2/media") == []


def test_instance_from_handle() -> None:
    assert instance_url(_ctx(None)) == "https://psych.social"
    assert instance_url(_ctx("psych.social/")) == "https://psych.social"
    with pytest.raises(PermanentError, match="which Mastodon instance"):
        instance_url(_ctx(None, handle="anareyes"))


# --------------------------------------------------------------------------------------------
# Failures


def test_rate_limit_is_transient_with_the_iso_reset(fake: FakeMastodon, login: None) -> None:
    reset = datetime.now(UTC) + timedelta(seconds=120)
    fake.fail(
        "POST /api/v1/statuses",
        429,
        headers={
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    )
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.maybe_sent is False
    assert e.value.retry_after is not None and 110 <= e.value.retry_after <= 121
    assert fake.statuses == []


def test_rate_limit_headers_are_parsed_only_when_limited(
    fake: FakeMastodon, login: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mastodon.py would parse the reset time of every answer; only a 429 needs it."""
    import dateutil.parser

    calls = []
    original = dateutil.parser.parse
    monkeypatch.setattr(
        dateutil.parser, "parse", lambda *a, **k: calls.append(a) or original(*a, **k)
    )
    adapter(fake).publish(pub())
    assert calls == [], "a normal answer (with rate-limit headers) is not parsed"
    reset = datetime.now(UTC) + timedelta(seconds=60)
    fake.fail(
        "POST /api/v1/statuses",
        429,
        headers={
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub(idempotency_key="another"))
    assert calls, "a 429 is"
    assert e.value.retry_after is not None and 50 <= e.value.retry_after <= 61


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_on_the_post_may_have_sent_it(
    fake: FakeMastodon, login: None, status: int
) -> None:
    fake.fail("POST /api/v1/statuses", status)
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub())
    assert e.value.maybe_sent is True


def test_server_error_during_upload_has_not_sent_the_post(
    fake: FakeMastodon, login: None, tmp_path: Path
) -> None:
    fake.fail("POST /api/v2/media", 500)
    with pytest.raises(TransientError) as e:
        adapter(fake).publish(pub(media=(image(tmp_path, "a.png"),)))
    assert e.value.maybe_sent is False
    assert fake.seen("POST /api/v1/statuses") == []


def test_unauthorized_says_how_to_log_in(fake: FakeMastodon, isolated: object) -> None:
    credentials.store("professional", "pro-mastodon", {"access_token": "mt-revoked-token-1"})
    with pytest.raises(PermanentError) as e:
        adapter(fake).publish(pub())
    assert e.value.hint == "run 'crosspost accounts login pro-mastodon'"
    assert "The access token is invalid" in e.value.message


def test_validation_failure_carries_the_server_message(fake: FakeMastodon, login: None) -> None:
    with pytest.raises(PermanentError, match="Text character limit of 500 exceeded"):
        adapter(fake).publish(pub(text="x" * 501))


def test_not_found_is_permanent(fake: FakeMastodon, login: None) -> None:
    fake.fail("POST /api/v1/statuses", 404)
    with pytest.raises(PermanentError) as e:
        adapter(fake).publish(pub())
    assert "instance address" in (e.value.hint or "")


def test_missing_scope_is_permanent(fake: FakeMastodon, isolated: object) -> None:
    fake.tokens["mt-read-only-token"] = (fake.account, {"read"})
    credentials.store("professional", "pro-mastodon", {"access_token": "mt-read-only-token"})
    with pytest.raises(PermanentError, match="outside the authorized scopes") as e:
        adapter(fake).publish(pub())
    assert "write:statuses" in (e.value.hint or "")


def test_accepted_then_timed_out_then_lookup_and_key(fake: FakeMastodon, login: None) -> None:
    fake.hang("POST /api/v1/statuses")
    p = pub()
    started = time.monotonic()
    with pytest.raises(TransientError) as e:
        adapter(fake, timeout=0.5).publish(p)
    assert time.monotonic() - started < 3
    assert e.value.maybe_sent is True
    [status] = fake.statuses
    found = adapter(fake).lookup(p)
    assert found == Result(status["id"], f"{fake.url}/@anareyes/{status['id']}")
    # and should the publisher post again within the hour, the key returns the same status
    assert adapter(fake).publish(p) == found
    assert len(fake.statuses) == 1


def test_connection_refused_was_not_sent(login: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    a = MastodonAdapter(_ctx(f"http://127.0.0.1:{port}"), timeout=1)
    with pytest.raises(TransientError) as e:
        a.publish(pub())
    assert e.value.maybe_sent is False
    assert "could not connect" in e.value.message


def test_missing_credentials(fake: FakeMastodon, isolated: object) -> None:
    with pytest.raises(MissingCredentials) as e:
        adapter(fake).publish(pub())
    assert e.value.hint == "run 'crosspost accounts login pro-mastodon'"


# --------------------------------------------------------------------------------------------
# Lookup


def test_lookup_matches_the_rendered_html(fake: FakeMastodon, login: None) -> None:
    text = (
        "Q&A <live>: burnout & boundaries with @bob@other.social #SelfCare\n\n"
        "Read: https://harborpsych.example/posts/a-rather-long-slug-for-burnout/."
    )
    p = pub(text=text)
    made = adapter(fake).publish(p)
    content = render(text, fake.url)
    assert "ellipsis" in content and "&amp;" in content and "h-card" in content
    assert adapter(fake).lookup(p) == made


def test_lookup_ignores_other_and_older_posts(fake: FakeMastodon, login: None) -> None:
    p = pub()
    fake.add_status(TEXT, created_at=p.scheduled_at - timedelta(minutes=30))
    fake.add_status(
        "New on the blog: Burnout is not a character flaw "
        "https://harborpsych.example/posts/another/"
    )
    fake.add_status("Something else")
    assert adapter(fake).lookup(p) is None


def test_lookup_pages_back(fake: FakeMastodon, login: None) -> None:
    p = pub()
    target = fake.add_status(TEXT)
    for n in range(85):
        fake.add_status(f"post {n}")
    found = adapter(fake).lookup(p)
    assert found is not None and found.remote_id == target["id"]
    reads = fake.seen("GET /api/v1/accounts/:id/statuses")
    assert len(reads) == 3 and reads[0].query["limit"] == ["40"]


# Servers other than Mastodon: GoToSocial hands out ULIDs and, like snac, ignores the key


@pytest.fixture
def gts():
    f = FakeMastodon(access_token=TOKEN, ids="ulid", idempotency=False).start()
    yield f
    f.stop()
    assert f.problems == [], "the fake saw invalid requests"


def test_fake_hands_out_ulids(gts: FakeMastodon, login: None) -> None:
    made = adapter(gts).publish(pub())
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", made.remote_id)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", gts.account.id)


def test_lost_answer_is_found_by_lookup_with_ulids(gts: FakeMastodon, login: None) -> None:
    gts.add_status("an older post", created_at=datetime.now(UTC) - timedelta(hours=2))
    gts.drop("POST /api/v1/statuses")
    p = pub()
    with pytest.raises(TransientError) as e:
        adapter(gts).publish(p)
    assert e.value.maybe_sent is True
    status = gts.statuses[-1]
    assert adapter(gts).lookup(p) == Result(status["id"], f"{gts.url}/@anareyes/{status['id']}")


def test_without_idempotency_the_earliest_status_is_the_post(
    gts: FakeMastodon, login: None
) -> None:
    p = pub()
    first = adapter(gts).publish(p)
    second = adapter(gts).publish(p)  # the key is ignored: a second status
    assert first != second and len(gts.statuses) == 2
    # created in the same second: the ids (ULIDs, compared as strings) say which came first
    assert adapter(gts).lookup(p) == first


def test_images_with_ulid_media_ids(gts: FakeMastodon, login: None, tmp_path: Path) -> None:
    gts.processing_polls = 2
    adapter(gts).publish(pub(media=(image(tmp_path, "a.png", alt="chairs"),)))
    [status] = gts.statuses
    [mid] = status["media_ids"]
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", mid)
    assert [r.path for r in gts.seen("GET /api/v1/media/:id")] == [f"/api/v1/media/{mid}"] * 2


def test_lookup_pages_back_with_ulids(gts: FakeMastodon, login: None) -> None:
    p = pub()
    target = gts.add_status(TEXT)
    for n in range(85):
        gts.add_status(f"post {n}")
    found = adapter(gts).lookup(p)
    assert found is not None and found.remote_id == target["id"]
    reads = gts.seen("GET /api/v1/accounts/:id/statuses")
    assert len(reads) == 3
    assert reads[1].query["max_id"] == [gts.statuses[-40]["id"]]


def test_lookup_stops_when_the_server_ignores_max_id(fake: FakeMastodon, login: None) -> None:
    for n in range(45):
        fake.add_status(f"post {n}")
    real = fake._account_statuses

    def first_page_always(seen, base):  # type: ignore[no-untyped-def]
        seen.query.pop("max_id", None)
        return real(seen, base)

    fake._account_statuses = first_page_always  # type: ignore[method-assign]
    assert adapter(fake).lookup(pub()) is None
    assert fake.calls["GET /api/v1/accounts/:id/statuses"] == 2


def test_lookup_failure_keeps_the_question_open(fake: FakeMastodon, login: None) -> None:
    fake.fail("GET /api/v1/accounts/:id/statuses", 503)
    with pytest.raises(TransientError) as e:
        adapter(fake).lookup(pub())
    assert e.value.maybe_sent is True


@pytest.mark.parametrize(
    ("ours", "content", "same"),
    [
        ("Hello world", "<p>Hello world</p>", True),
        ("Hello\nworld", "<p>Hello<br />world</p>", True),
        ("a\n\nb", "<p>a</p><p>b</p>", True),
        (
            "Hi https://a.example/some/long/path/x",
            '<p>Hi <a href="https://a.example/some/long/path/x"><span class="invisible">https://'
            '</span><span class="ellipsis">a.example/some/long/pa</span><span class="invisible">'
            "th/x</span></a></p>",
            True,
        ),
        (
            "Hi https://a.example/x",
            '<p>Hi <a href="https://a.example/y">a.example/y</a></p>',
            False,
        ),
        (
            "cc @bob@other.social",
            '<p>cc <span class="h-card"><a href="https://other.social/@bob"'
            ' class="u-url mention">@<span>bob</span></a></span></p>',
            True,
        ),
        ("cc @bob@other.social", "<p>cc @bob@other.social</p>", True),  # unresolved mention
        ("mail ana@harborpsych.example", "<p>mail ana@harborpsych.example</p>", True),
        ("Tom & Jerry <3", "<p>Tom &amp; Jerry &lt;3</p>", True),
        ("Hello world", "<p>Hello world!</p>", False),
    ],
)
def test_same_text(ours: str, content: str, same: bool) -> None:
    text, links = status_text(content)
    assert same_text(ours, text, links) is same


# --------------------------------------------------------------------------------------------
# Limits


def test_instance_limit_is_read_once_and_cached(fake: FakeMastodon, tmp_path: Path) -> None:
    fake.max_characters = 1000
    assert adapter(fake).instance_limit() == 1000
    assert adapter(fake).instance_limits() == InstanceLimits(
        max_characters=1000,
        characters_reserved_per_url=23,
        max_media_attachments=4,
        description_limit=1500,
        version="4.3.2",
        software="mastodon",
    )
    assert fake.calls["GET /api/v2/instance"] == 1
    # another process: the file cache answers
    mastodon_module.clear_instance_cache()
    assert adapter(fake).instance_limit() == 1000
    assert fake.calls["GET /api/v2/instance"] == 1
    cache = tmp_path / "xdg-cache" / "crosspost" / "mastodon-instances.json"
    assert json.loads(cache.read_text())[fake.url]["limits"]["max_characters"] == 1000
    # a day later it is read again
    mastodon_module.clear_instance_cache()
    stale = MastodonAdapter(_ctx(fake.url), cache_ttl=0)
    assert stale.instance_limit() == 1000
    assert fake.calls["GET /api/v2/instance"] == 2


def test_account_limit_overrides_the_instance(fake: FakeMastodon) -> None:
    assert adapter(fake, limit=5000).instance_limit() == 5000
    assert fake.requests == []


def test_unreachable_instance_gives_the_defaults() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    a = MastodonAdapter(_ctx(f"http://127.0.0.1:{port}"), timeout=1)
    assert a.instance_limit() == 500
    assert a.instance_limits().known is False


def test_a_failure_is_remembered_for_minutes_on_disk(fake: FakeMastodon) -> None:
    fake.fail("GET /api/v2/instance", 503)
    assert adapter(fake).share_rules().source == "default"
    mastodon_module.clear_instance_cache()  # another process: the file remembers the failure
    assert adapter(fake).share_rules() == ShareRules(
        500, "mastodon", "default", f"default; {fake.url.removeprefix('http://')} not reachable"
    )
    assert fake.calls["GET /api/v2/instance"] == 1
    # five minutes later the instance is asked again
    entry = json.loads(mastodon_module._cache_path().read_text())
    entry[fake.url]["fetched_at"] -= 301
    mastodon_module._cache_path().write_text(json.dumps(entry))
    mastodon_module.clear_instance_cache()
    assert adapter(fake).share_rules().source == "instance"
    assert fake.calls["GET /api/v2/instance"] == 2


@pytest.mark.parametrize(
    ("software", "counting"), [("mastodon", "mastodon"), ("gotosocial", "codepoints")]
)
def test_counting_is_detected_from_the_software(software: str, counting: str) -> None:
    with FakeMastodon(access_token=TOKEN, software=software, max_characters=5000) as f:
        rules = adapter(f).share_rules()
        host = f.url.removeprefix("http://")
        assert rules == ShareRules(5000, counting, "instance", f"from {host}")
        assert adapter(f).instance_limits().software == software
        assert adapter(f).share_rules() == ShareRules(
            5000, counting, "cache", f"from {host}, cached"
        )


def test_the_account_settings_win(fake: FakeMastodon) -> None:
    fake.software = "gotosocial"
    a = MastodonAdapter(_ctx(fake.url, limit=800), timeout=5)
    assert a.share_rules() == ShareRules(800, "codepoints", "account", "the account's limit")
    account = make_account(
        name="pro-mastodon", platform="mastodon", instance=fake.url, counting="mastodon"
    )
    ctx = AdapterContext(
        persona=Persona(name="p", display_name="P", accounts=[account]), account=account
    )
    assert MastodonAdapter(ctx).share_rules().counting == "mastodon"
    calls = fake.calls["GET /api/v2/instance"]
    both = account.model_copy(update={"limit": 900})
    ctx = AdapterContext(persona=ctx.persona, account=both)
    assert MastodonAdapter(ctx).share_rules() == ShareRules(
        900, "mastodon", "account", "the account's limit"
    )
    assert fake.calls["GET /api/v2/instance"] == calls  # nothing left to ask


@pytest.mark.parametrize(
    ("data", "software"),
    [
        ({"version": "4.3.2", "source_url": "https://github.com/mastodon/mastodon"}, "mastodon"),
        (
            {
                "version": "3.5.3+0.17.3",
                "source_url": "https://codeberg.org/superseriousbusiness/gotosocial",
            },
            "gotosocial",
        ),
        ({"version": "2.7.2 (compatible; Pleroma 2.6.2)"}, "pleroma"),
        ({"version": "2.7.2 (compatible; Akkoma 3.13.2)"}, "akkoma"),
        ({"version": "4.0.0 (not true; really snac/2.68)"}, "snac"),
        ({"version": "4.2.0+hometown-1.1.1"}, None),
        ({}, None),
    ],
)
def test_software_from_the_instance_api(data: dict[str, str], software: str | None) -> None:
    assert mastodon_module._software(data) == software
    codepoints = software in ("gotosocial", "pleroma", "akkoma")
    assert InstanceLimits(software=software).counting == (
        "codepoints" if codepoints else "mastodon"
    )


def test_codepoint_server_refuses_a_text_fitted_for_mastodon(login: None) -> None:
    url = "https://lakeshorecounseling.com/blog/2024/05/" + "therapy-and-social-networking-" * 3
    data = ShareInput(
        title="Therapy and Social Networking",
        url=url,
        summary=None,
        body="Clinicians can take part without losing the frame. " * 20,
    )
    template = "{title}\n\n{body}\n\n{url}"
    fitted_for_mastodon = compose_share(template, data, "mastodon", 500)
    fitted_for_codepoints = compose_share(template, data, "mastodon", 500, counting="codepoints")
    with FakeMastodon(access_token=TOKEN, counting="codepoints") as f:
        with pytest.raises(PermanentError, match="character limit of 500"):
            adapter(f).publish(pub(text=fitted_for_mastodon, idempotency_key="k1"))
        made = adapter(f).publish(pub(text=fitted_for_codepoints, idempotency_key="k2"))
        assert [s["id"] for s in f.statuses] == [made.remote_id]
        assert f.statuses[0]["text"].endswith(url)
        assert f.problems == []


def test_fake_answers_mastodon_py_version_check(fake: FakeMastodon) -> None:
    api = Mastodon(api_base_url=fake.url, version_check_mode="none")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no API version found" warning
        assert api.retrieve_mastodon_version() == "4.3.2"
    assert api.mastodon_api_version == 2
    assert fake.calls["GET /api/v1/instance/"] == 1
    assert fake.calls["GET /api/v2/instance/"] == 1


# --------------------------------------------------------------------------------------------
# verify and login


def test_verify(fake: FakeMastodon, login: None) -> None:
    host = fake.url.removeprefix("http://")
    assert adapter(fake).verify() == f"Mastodon account @anareyes on {host}"


def test_verify_refuses_another_account(fake: FakeMastodon, login: None) -> None:
    with pytest.raises(PermanentError, match="belongs to @anareyes .* not @anabee"):
        adapter(fake, handle="@anabee@psych.social").verify()


class Terminal:
    def __init__(
        self, fake: FakeMastodon, way: str = "b", token: str = "", code: str | None = None
    ) -> None:
        self.fake, self.way, self.token, self.code = fake, way, token, code
        self.said: list[str] = []
        self.asked: list[tuple[str, bool]] = []
        self.url = ""

    def ask(self, prompt: str, secret: bool) -> str:
        self.asked.append((prompt, secret))
        if prompt.startswith("Log in with"):
            return self.way
        if prompt.startswith("Access token"):
            return self.token
        assert prompt.startswith("Authorization code")
        self.url = next(
            line.strip()
            for s in self.said
            for line in s.splitlines()
            if "/oauth/authorize?" in line
        )
        q = query_of(self.url)
        real = self.fake.authorize(q["client_id"], q["scope"])
        return self.code if self.code is not None else real

    def say(self, text: str) -> None:
        self.said.append(text)


def test_login_flow_browser(fake: FakeMastodon, isolated: object) -> None:
    t = Terminal(fake)
    values = MastodonAdapter.login_flow(_ctx(fake.url), t.ask, t.say, timeout=5)
    assert set(values) == {"access_token", "client_id", "client_secret"}
    assert values["client_id"] in fake.apps
    q = query_of(t.url)
    assert q["scope"] == "write:statuses write:media read:accounts read:statuses"
    assert q["redirect_uri"] == "urn:ietf:wg:oauth:2.0:oob"
    assert q["force_login"] == "True"  # sign in afresh: not whoever the browser has
    assert [a[1] for a in t.asked] == [False, True]
    assert t.said[-1].startswith("Authorised as @anareyes")
    credentials.store("professional", "pro-mastodon", values)
    assert adapter(fake).verify().startswith("Mastodon account @anareyes")


def test_login_flow_pasted_token(fake: FakeMastodon, isolated: object) -> None:
    t = Terminal(fake, way="t", token=f"  {TOKEN} ")
    assert MastodonAdapter.login_flow(_ctx(fake.url), t.ask, t.say, timeout=5) == {
        "access_token": TOKEN
    }
    assert [a[1] for a in t.asked] == [False, True]
    assert fake.seen("POST /api/v1/apps") == []


def test_login_flow_wrong_code(fake: FakeMastodon, isolated: object) -> None:
    t = Terminal(fake, code="not-the-code")
    with pytest.raises(PermanentError, match="did not accept the code"):
        MastodonAdapter.login_flow(_ctx(fake.url), t.ask, t.say, timeout=5)


def test_login_flow_refuses_the_wrong_account(fake: FakeMastodon, isolated: object) -> None:
    fake.login_account = FakeAccount("5", "anabee", "Ana Bee")
    t = Terminal(fake)
    with pytest.raises(PermanentError, match="belongs to @anabee"):
        MastodonAdapter.login_flow(_ctx(fake.url), t.ask, t.say, timeout=5)


def test_login_flow_bad_pasted_token(fake: FakeMastodon, isolated: object) -> None:
    t = Terminal(fake, way="t", token="mt-nonsense-token")
    with pytest.raises(PermanentError, match="rejected the access token"):
        MastodonAdapter.login_flow(_ctx(fake.url), t.ask, t.say, timeout=5)


def test_login_flow_unknown_answer(fake: FakeMastodon, isolated: object) -> None:
    t = Terminal(fake, way="x")
    with pytest.raises(UsageError):
        MastodonAdapter.login_flow(_ctx(fake.url), t.ask, t.say, timeout=5)
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
    fake: FakeMastodon, login: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "mastodon", "crosspost"):
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[BaseException] = []

    def attempt(fn):  # type: ignore[no-untyped-def]
        try:
            fn()
        except CrosspostError as e:
            errors.append(e)

    a = adapter(fake, timeout=0.5)
    attempt(lambda: a.publish(pub(media=(image(tmp_path, "a.png", alt="chairs"),))))
    for status in (429, 500, 401, 403, 404, 422):
        fake.fail("POST /api/v1/statuses", status)
        attempt(lambda s=status: a.publish(pub(text=f"status {s}", idempotency_key=str(s))))
    fake.hang("POST /api/v1/statuses")
    attempt(lambda: a.publish(pub(text="hangs", idempotency_key="h")))
    attempt(lambda: a.lookup(pub()))
    attempt(a.verify)
    t = Terminal(fake)
    issued = MastodonAdapter.login_flow(_ctx(fake.url), t.ask, t.say, timeout=5)
    bad = Terminal(fake, code="wrong")
    attempt(lambda: MastodonAdapter.login_flow(_ctx(fake.url), bad.ask, bad.say, timeout=5))

    assert len(errors) >= 8
    records = [r.getMessage() for r in caplog.records]
    assert records  # urllib3 logged the requests
    for text in [*records, *(s for e in errors for s in _texts(e))]:
        for secret in (TOKEN, *issued.values()):
            assert secret not in text
