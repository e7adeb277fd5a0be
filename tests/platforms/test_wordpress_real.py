"""The WordPress adapter against a real WordPress (``scripts/wordpress-local start DIR PORT``).

Needs ``CROSSPOST_TEST_WORDPRESS_URL``, ``CROSSPOST_TEST_WORDPRESS_USER`` and
``CROSSPOST_TEST_WORDPRESS_APP_PASSWORD`` (the script's ``DIR/env`` has them). They are read
when this module is imported, because the autouse ``isolated`` fixture removes every
``CROSSPOST_*`` variable before each test.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from crosspost.errors import PermanentError
from crosspost.platforms.base import AdapterContext, MediaItem, Publication
from crosspost.platforms.wordpress import WordPressAdapter
from crosspost.profiles import Persona, make_blog
from tests.support.publications import make_publication

URL = os.environ.get("CROSSPOST_TEST_WORDPRESS_URL", "")
USER = os.environ.get("CROSSPOST_TEST_WORDPRESS_USER", "")
APP_PASSWORD = os.environ.get("CROSSPOST_TEST_WORDPRESS_APP_PASSWORD", "")

pytestmark = pytest.mark.skipif(
    not (URL and USER and APP_PASSWORD),
    reason="no real WordPress: run 'scripts/wordpress-local start DIR PORT' and export "
    "CROSSPOST_TEST_WORDPRESS_URL/_USER/_APP_PASSWORD from DIR/env",
)
RUN = uuid.uuid4().hex[:8]  # every run makes its own posts and tags


@pytest.fixture
def adapter(isolated) -> WordPressAdapter:  # type: ignore[no-untyped-def]
    isolated.set_password("crosspost/professional/blog", "app_password", APP_PASSWORD)
    return make()


def make(**kw: object) -> WordPressAdapter:
    p = Persona(
        display_name="Dr. Ana Reyes",
        blog=make_blog(platform="wordpress", url=URL, username=USER),
    )
    p.name = "professional"
    return WordPressAdapter(
        AdapterContext(persona=p, blog=p.blog),
        timeout=httpx.Timeout(20.0, connect=5.0),
        **kw,  # type: ignore[arg-type]
    )


def pub(name: str, **kw: object) -> Publication:
    defaults = dict(
        post_id=1,
        persona="professional",
        target="blog",
        platform="wordpress",
        idempotency_key=uuid.uuid4().hex,
        kind="entry",
        title=f"Sleep & anxiety 😴 {name} {RUN}",
        body="Some **bold** advice.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        summary="Five small habits.",
        tags=(f"sleep-{RUN}", "Anxiety"),
        categories=(f"Articles {RUN}",),
        slug=f"sleep-{name}-{RUN}",
        lang="en",
        scheduled_at=datetime.now(UTC),
        text="",
    )
    return make_publication(**{**defaults, **kw})


def api(path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{URL}/wp-json{path}", params=params, auth=(USER, APP_PASSWORD), timeout=20)


def test_verify(adapter: WordPressAdapter) -> None:
    assert adapter.verify().startswith(f"WordPress user {USER} at {URL}")


def test_publish_with_new_tags_serves_the_post_and_lookup_finds_it(
    adapter: WordPressAdapter, tmp_path: Path
) -> None:
    from PIL import Image

    img = tmp_path / "img.png"
    Image.new("RGB", (16, 16), "teal").save(img)
    p = pub("now", media=(MediaItem(img, "A calm lake"),))
    result = adapter.publish(p)

    assert result.url == f"{URL}/{p.slug}/"
    page = httpx.get(result.url, timeout=20)
    assert page.status_code == 200
    # WordPress names the post it serves in a Link header (no theme is installed)
    assert f"/wp/v2/posts/{result.remote_id}>" in page.headers.get("link", "")

    post = api(f"/wp/v2/posts/{result.remote_id}", context="edit").json()
    assert post["status"] == "publish"
    assert post["title"]["raw"] == p.title  # utf8mb4 round trip
    assert "<strong>bold</strong>" in post["content"]["raw"]
    assert f"<!-- crosspost:{p.idempotency_key} -->" in post["content"]["raw"]
    tags = {
        t["id"]: t["name"]
        for t in api("/wp/v2/tags", include=",".join(map(str, post["tags"]))).json()
    }
    assert sorted(tags.values()) == sorted(["Anxiety", f"sleep-{RUN}"])
    media = api(f"/wp/v2/media/{post['featured_media']}").json()
    assert media["alt_text"] == "A calm lake"

    # a second entry reuses the tags instead of failing on term_exists
    again = adapter.publish(pub("again"))
    post2 = api(f"/wp/v2/posts/{again.remote_id}").json()
    assert sorted(post2["tags"]) == sorted(post["tags"])

    assert adapter.lookup(p) == result
    assert adapter.lookup(pub("never-published")) is None


def test_future_post_keeps_the_plain_link(adapter: WordPressAdapter, isolated) -> None:  # type: ignore[no-untyped-def]
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    p = pub("future", scheduled_at=at)
    result = make(schedule_on_server=True).publish(p)

    post = api(f"/wp/v2/posts/{result.remote_id}", context="edit").json()
    assert post["status"] == "future"
    assert post["date_gmt"] == at.strftime("%Y-%m-%dT%H:%M:%S")
    assert result.url == f"{URL}/?p={result.remote_id}"
    assert httpx.get(result.url, timeout=20).status_code == 404  # not viewable until published
    assert adapter.lookup(p) == result


def test_a_wrong_application_password_is_permanent(isolated) -> None:  # type: ignore[no-untyped-def]
    isolated.set_password(
        "crosspost/professional/blog", "app_password", "aaaa bbbb cccc dddd eeee ffff"
    )
    with pytest.raises(PermanentError) as e:
        make().verify()
    assert "HTTP 401" in e.value.message
    assert "crosspost accounts login blog" in (e.value.hint or "")
    assert APP_PASSWORD not in str(e.value)


def test_audit_exposure_reads_back_what_was_published(ws, isolated) -> None:  # type: ignore[no-untyped-def]
    """A post naming the other persona, published on the real WordPress, is found by
    ``crosspost audit-exposure`` with its link; the site's title and tagline are read too."""
    pro = ws.profiles / "professional.toml"
    pro.write_text(
        pro.read_text().replace(
            'platform = "static"\nurl = "https://harborpsych.example"\n'
            'content_dir = "site-pro/content/posts"',
            f'platform = "wordpress"\nurl = "{URL}"\nusername = "{USER}"',
        )
    )
    isolated.set_password("crosspost/professional/blog", "app_password", APP_PASSWORD)
    p = pub("audit", title=f"Weekend {RUN}", body="A long walk with Tomasz Bee and the dog.")
    published = make().publish(p)

    r = ws.run("audit-exposure", "--persona", "professional", "--limit", "20", "--format", "json")
    assert r.code == 1, r.out + r.err
    data = r.json()
    [blog] = [t for t in data["targets"] if t["target"] == "blog"]
    assert blog["notes"] == [] and blog["items"] >= 1 and blog["profile"] is True
    found = [f for f in data["findings"] if f["url"] == published.url]
    assert found and found[0]["owner"] == "personal" and found[0]["severity"] == "block"
