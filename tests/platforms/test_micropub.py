"""The Micropub adapter against FakeMicropub (real HTTP on 127.0.0.1, no network)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from crosspost.credentials import MissingCredentials
from crosspost.errors import PermanentError, TransientError
from crosspost.platforms import adapter_class
from crosspost.platforms.base import AdapterContext, LookupUnsupported, MediaItem, Publication
from crosspost.platforms.micropub import MicropubAdapter, link_header_rel
from crosspost.profiles import Persona, make_blog
from tests.fakes.micropub import FakeMicropub
from tests.support.publications import make_publication

TOKEN = "mp-token-0123456789"
FAST = httpx.Timeout(3.0, connect=1.0)


@pytest.fixture
def mp() -> Iterator[FakeMicropub]:
    with FakeMicropub(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def ring(isolated):  # type: ignore[no-untyped-def]
    isolated.set_password("crosspost/personal/blog", "token", TOKEN)
    return isolated


def make(
    url: str, *, endpoint: str | None = None, timeout: httpx.Timeout = FAST
) -> MicropubAdapter:
    p = Persona(
        display_name="Ana Bee", blog=make_blog(platform="micropub", url=url, endpoint=endpoint)
    )
    p.name = "personal"
    return MicropubAdapter(AdapterContext(persona=p, blog=p.blog), timeout=timeout)


def pub(**kw: object) -> Publication:
    defaults = dict(
        post_id=3,
        persona="personal",
        target="blog",
        platform="micropub",
        idempotency_key="fedcba9876543210fedcba9876543210",
        kind="entry",
        title="Spring at the hives",
        body="The bees are *busy*.\n\nMore soon.",
        summary=None,
        tags=("bees", "garden"),
        categories=("Notes",),
        slug="spring-at-the-hives",
        lang="en",
        scheduled_at=datetime.now(UTC),
        text="",
    )
    return make_publication(**{**defaults, **kw})


def creates(mp: FakeMicropub) -> list:  # type: ignore[type-arg]
    return [r for r in mp.requests if r.method == "POST" and r.path == "/micropub"]


def test_registry_finds_the_adapter() -> None:
    assert adapter_class("micropub") is MicropubAdapter
    assert [f.name for f in MicropubAdapter.credential_fields] == ["token"]


def test_publish_form_encoded_h_entry(mp: FakeMicropub, ring) -> None:  # type: ignore[no-untyped-def]
    result = make(mp.url).publish(pub())
    [post] = mp.posts
    assert result.url == post.url == result.remote_id
    assert post.url.endswith("/spring-at-the-hives")
    assert httpx.get(result.url).status_code == 200

    [req] = creates(mp)
    assert req.content_type == "application/x-www-form-urlencoded"
    assert req.header("Authorization") == f"Bearer {TOKEN}"
    fields = parse_qsl(req.body.decode())
    assert fields == [
        ("h", "entry"),
        ("content", "The bees are *busy*.\n\nMore soon."),
        ("name", "Spring at the hives"),
        ("category[]", "bees"),
        ("category[]", "garden"),
        ("category[]", "Notes"),
        ("mp-slug", "spring-at-the-hives"),
    ]
    # no double auth; the home page (discovery) never sees the token
    assert all(k != "access_token" for k, _ in fields)
    [home] = [r for r in mp.requests if r.path == "/"]
    assert home.header("Authorization") is None
    assert post.properties["category"] == ["bees", "garden", "Notes"]


def test_a_single_category_still_uses_brackets_and_shorts_have_no_name(
    mp: FakeMicropub, ring
) -> None:  # type: ignore[no-untyped-def]
    make(mp.url).publish(pub(kind="short", title=None, tags=("bees",), categories=()))
    fields = parse_qsl(creates(mp)[0].body.decode())
    assert ("category[]", "bees") in fields
    assert "name" not in dict(fields)


def test_a_late_post_carries_its_published_time(mp: FakeMicropub, ring) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2024, 5, 1, 7, 30, tzinfo=UTC)
    make(mp.url).publish(pub(scheduled_at=at, summary="Short."))
    fields = dict(parse_qsl(creates(mp)[0].body.decode()))
    assert fields["published"] == "2024-05-01T07:30:00+00:00"
    assert fields["summary"] == "Short."


def test_discovery_from_the_link_header(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeMicropub(token=TOKEN, discovery="header") as mp:
        assert make(mp.url).publish(pub()).url.startswith(mp.url)


def test_explicit_endpoint_skips_discovery(mp: FakeMicropub, ring) -> None:  # type: ignore[no-untyped-def]
    make("https://blog.invalid", endpoint=mp.endpoint).publish(pub())
    assert [r.path for r in mp.requests] == ["/micropub"]


def test_no_endpoint_anywhere_is_permanent(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeMicropub(token=TOKEN, discovery="none") as mp:
        with pytest.raises(PermanentError) as e:
            make(mp.url).publish(pub())
        assert "endpoint" in (e.value.hint or "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('<https://ex.org/mp>; rel="micropub"', "https://ex.org/mp"),
        ('<https://ex.org/a>; rel="authorization_endpoint", </mp>; rel=micropub', "/mp"),
        ('</mp>; rel="micropub media"', "/mp"),
        ('<https://ex.org/a>; rel="me"', None),
    ],
)
def test_link_header_parsing(value: str, expected: str | None) -> None:
    assert link_header_rel(value, "micropub") == expected


def test_accepted_202_is_published(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeMicropub(token=TOKEN, accept_status=202) as mp:
        assert make(mp.url).publish(pub()).url == mp.posts[0].url


def test_media_with_alt_text_goes_to_the_media_endpoint_then_json(
    mp: FakeMicropub, ring, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    a, b = tmp_path / "a1.jpg", tmp_path / "b2.png"
    a.write_bytes(b"\xff\xd8jpeg")
    b.write_bytes(b"\x89PNGpng")
    make(mp.url).publish(pub(media=(MediaItem(a, "Two hives in spring"), MediaItem(b, ""))))

    uploads = [r for r in mp.requests if r.path == "/media"]
    assert len(uploads) == 2
    for u in uploads:
        assert u.header("Authorization") == f"Bearer {TOKEN}"
        _fields, files = u.multipart()
        assert [f[0] for f in files] == ["file"]
    assert [u[1] for u in mp.uploads] == ["spring-at-the-hives-1.jpg", "spring-at-the-hives-2.png"]
    [req] = creates(mp)
    assert req.content_type == "application/json"
    body = req.json()
    assert body["type"] == ["h-entry"]
    props = body["properties"]
    assert props["photo"] == [
        {"value": f"{mp.url}/media/1-spring-at-the-hives-1.jpg", "alt": "Two hives in spring"},
        f"{mp.url}/media/2-spring-at-the-hives-2.png",
    ]
    assert props["name"] == ["Spring at the hives"]
    assert props["category"] == ["bees", "garden", "Notes"]
    assert props["mp-slug"] == ["spring-at-the-hives"]
    assert "access_token" not in props


def test_media_without_a_media_endpoint_go_multipart(ring, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = tmp_path / "a1.jpg", tmp_path / "b2.jpg"
    a.write_bytes(b"\xff\xd8one")
    b.write_bytes(b"\xff\xd8two")
    with FakeMicropub(token=TOKEN, media=False) as mp:
        make(mp.url).publish(pub(media=(MediaItem(a, "alt"), MediaItem(b))))
        [req] = creates(mp)
        fields, files = req.multipart()
        assert ("h", "entry") in fields
        assert [(k, v) for k, v in fields if k == "category[]"] == [
            ("category[]", "bees"),
            ("category[]", "garden"),
            ("category[]", "Notes"),
        ]
        assert [(f[0], f[3]) for f in files] == [
            ("photo[]", b"\xff\xd8one"),
            ("photo[]", b"\xff\xd8two"),
        ]
        assert all(k != "access_token" for k, _ in fields)
        assert req.header("Authorization") == f"Bearer {TOKEN}"


# -- failures ---------------------------------------------------------------------------------


def test_insufficient_scope_is_permanent(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeMicropub(token=TOKEN, scopes=("media",)) as mp:
        with pytest.raises(PermanentError) as e:
            make(mp.url).publish(pub())
        assert "insufficient_scope" in e.value.message
        assert "'create'" in (e.value.hint or "")
        assert "crosspost accounts login blog" in (e.value.hint or "")


def test_wrong_token_is_permanent_and_never_shown(mp: FakeMicropub, isolated) -> None:  # type: ignore[no-untyped-def]
    wrong = "wrong-token-abcdef"
    isolated.set_password("crosspost/personal/blog", "token", wrong)
    adapter = make(mp.url)
    with pytest.raises(PermanentError) as e:
        adapter.publish(pub())
    assert "HTTP 403" in e.value.message and "forbidden" in e.value.message
    for text in (str(e.value), repr(e.value), repr(adapter)):
        assert wrong not in text


def test_429_with_retry_after(mp: FakeMicropub, ring) -> None:  # type: ignore[no-untyped-def]
    mp.fail_next(429, method="POST", path="/micropub", headers={"Retry-After": "30"})
    with pytest.raises(TransientError) as e:
        make(mp.url).publish(pub())
    assert e.value.retry_after == 30 and e.value.maybe_sent is False


def test_ratelimit_reset_seconds(mp: FakeMicropub, ring) -> None:  # type: ignore[no-untyped-def]
    mp.fail_next(429, method="POST", path="/micropub", headers={"RateLimit-Reset": "12"})
    with pytest.raises(TransientError) as e:
        make(mp.url).publish(pub())
    assert e.value.retry_after == 12


def test_500_on_create_may_have_created(mp: FakeMicropub, ring) -> None:  # type: ignore[no-untyped-def]
    mp.fail_next(500, method="POST", path="/micropub")
    with pytest.raises(TransientError) as e:
        make(mp.url).publish(pub())
    assert e.value.maybe_sent is True


def test_500_on_a_media_upload_was_not_sent(mp: FakeMicropub, ring, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = tmp_path / "a.jpg"
    a.write_bytes(b"x")
    mp.fail_next(500, path="/media")
    with pytest.raises(TransientError) as e:
        make(mp.url).publish(pub(media=(MediaItem(a, "alt"),)))
    assert e.value.maybe_sent is False
    assert mp.posts == []


def test_400_invalid_request_is_permanent_with_the_description(mp: FakeMicropub, ring) -> None:  # type: ignore[no-untyped-def]
    mp.fail_next(
        400,
        method="POST",
        path="/micropub",
        body={"error": "invalid_request", "error_description": "content is too long"},
    )
    with pytest.raises(PermanentError, match="content is too long"):
        make(mp.url).publish(pub())


def test_missing_token(mp: FakeMicropub) -> None:
    with pytest.raises(MissingCredentials):
        make(mp.url).publish(pub())


def test_accept_then_timeout_and_lookup(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeMicropub(token=TOKEN, post_list=True) as mp:
        mp.accept_then_hang(5)
        adapter = make(mp.url, timeout=httpx.Timeout(0.5, connect=1.0))
        t0 = time.monotonic()
        with pytest.raises(TransientError) as e:
            adapter.publish(pub())
        assert time.monotonic() - t0 < 3
        assert e.value.maybe_sent is True
        assert len(mp.posts) == 1
        found = adapter.lookup(pub())
        assert found is not None and found.url == mp.posts[0].url
        assert len(mp.posts) == 1
        # another entry is not mistaken for it: the server cannot tell
        with pytest.raises(LookupUnsupported):
            adapter.lookup(pub(title="Another", body="Other text", slug="another"))


def test_lookup_without_a_post_list_is_unsupported(mp: FakeMicropub, ring) -> None:  # type: ignore[no-untyped-def]
    make(mp.url).publish(pub())
    with pytest.raises(LookupUnsupported, match="cannot list posts"):
        make(mp.url).lookup(pub())


def test_verify_reads_the_config(mp: FakeMicropub, ring) -> None:  # type: ignore[no-untyped-def]
    text = make(mp.url).verify()
    assert text.startswith(f"Micropub endpoint {mp.endpoint}")
    assert f"media endpoint {mp.url}/media" in text
    [cfg] = [r for r in mp.requests if r.arg("q") == "config"]
    assert cfg.header("Authorization") == f"Bearer {TOKEN}"


def test_verify_with_a_bad_token(mp: FakeMicropub, isolated) -> None:  # type: ignore[no-untyped-def]
    isolated.set_password("crosspost/personal/blog", "token", "nope-nope")
    with pytest.raises(PermanentError) as e:
        make(mp.url).verify()
    assert "crosspost accounts login blog" in (e.value.hint or "")


def test_unreachable_endpoint_was_not_sent(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeMicropub() as dead:
        endpoint = dead.endpoint
    with pytest.raises(TransientError) as e:
        make("https://blog.invalid", endpoint=endpoint).publish(pub())
    assert e.value.maybe_sent is False


def test_published_is_omitted_when_on_time() -> None:
    adapter = make("https://blog.invalid", endpoint="https://blog.invalid/mp")
    now = datetime.now(UTC)
    assert "published" not in adapter.properties(pub(scheduled_at=now), now=now)
    late = now - timedelta(hours=3)
    assert adapter.properties(pub(scheduled_at=late), now=now)["published"] == [
        late.isoformat(timespec="seconds")
    ]


def test_lookup_with_a_bad_token_is_an_auth_failure_not_unsupported(ring) -> None:  # type: ignore[no-untyped-def]
    with FakeMicropub(token=TOKEN, post_list=True) as mp:
        ring.set_password("crosspost/personal/blog", "token", "revoked-token")
        with pytest.raises(PermanentError) as e:
            make(mp.url).lookup(pub())
        assert "crosspost accounts login blog --persona personal" in (e.value.hint or "")


def test_images_of_the_body_are_uploaded_and_the_content_points_at_them(
    mp: FakeMicropub, ring, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    snap = tmp_path / "9f8e.jpg"
    snap.write_bytes(b"\xff\xd8jpeg")
    body = "Look: ![two hives](photos/hives.jpg)"
    make(mp.url).publish(
        pub(body=body, text=body, media=(MediaItem(snap, "two hives", ref="photos/hives.jpg"),))
    )
    assert len([r for r in mp.requests if r.path == "/media"]) == 1
    [req] = creates(mp)
    props = req.json()["properties"]
    assert props["content"] == [f"Look: ![two hives]({mp.url}/media/1-spring-at-the-hives-1.jpg)"]
    assert "photo" not in props
