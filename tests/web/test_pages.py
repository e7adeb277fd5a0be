"""The pages do what the commands do, through the same library calls."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest

from crosspost.claims import claim, record


def _queue(site, persona="professional", text="Sleep and the winter light.", at="+3h", to=None):
    args = ["queue", "--persona", persona, "--text", text, "--at", at, "--format", "json"]
    args += ["--to", to or ("pro-feed" if persona == "professional" else "home-feed")]
    r = site.run(*args)
    assert r.code == 0, r.err
    return r.json()


def _local(site, post_id: int) -> datetime:
    shown = site.run("show", str(post_id), "--format", "json").json()
    return datetime.fromisoformat(shown["scheduled_local"])


def test_the_week_shows_both_personas_side_by_side_with_their_windows(site, web):
    pro = _queue(site)
    home = _queue(site, "personal", "Hives wrapped for winter.", at="+5h")
    web.login()
    day = _local(site, pro["id"]).date().isoformat()
    page = web.client.get(f"/calendar?date={day}").text
    lane = re.compile(
        r'<ol class="lane lane-(\d)" data-day="([\d-]+)" data-persona="(\w+)".*?</ol>', re.S
    )
    lanes = {(m.group(2), m.group(3)): m.group(0) for m in lane.finditer(page)}
    assert len(lanes) == 14, "seven days, two personas each"
    pro_day = lanes[(day, "professional")]
    assert f'href="/posts/{pro["id"]}"' in pro_day
    local = _local(site, pro["id"])
    assert f'data-minute="{local.hour * 60 + local.minute}"' in pro_day
    assert 'data-window="45"' in pro_day, "the persona's separation is drawn around the post"
    assert local.strftime("%H:%M") in pro_day
    home_day = _local(site, home["id"]).date().isoformat()
    assert f'href="/posts/{home["id"]}"' in lanes[(home_day, "personal")]
    assert f'href="/posts/{home["id"]}"' not in lanes[(home_day, "professional")]
    assert 'id="no-daemon"' in page, "without a daemon nothing goes out: the page says so"
    month = web.client.get(f"/calendar?view=month&date={day}").text
    assert f'href="/posts/{pro["id"]}"' in month and f'href="/posts/{home["id"]}"' in month


def test_an_unknown_post_is_marked_and_can_be_retried_or_resolved(site, web):
    q = _queue(site, at="+1m")
    store = web.app.store
    later = datetime.now(UTC) + timedelta(minutes=5)
    (c,) = claim(store, "w", later, timedelta(minutes=2), {}, 4)
    record(store, c, state="unknown", now=later, error="timeout")
    web.login()
    day = _local(site, q["id"]).date().isoformat()
    page = web.client.get(f"/calendar?date={day}").text
    assert re.search(rf'class="item [^"]*attention[^"]*"[^>]*data-id="{q["id"]}"', page)
    assert "1 target unknown" in page, "what 'crosspost status' reports is on the calendar"
    detail = web.client.get(f"/posts/{q['id']}").text
    assert "Retry pro-feed" in detail and "Mark pro-feed published" in detail
    csrf = web.csrf()
    r = web.client.post(f"/posts/{q['id']}/retry", data={"csrf": csrf, "target": "pro-feed"})
    assert r.status_code == 200 and "pro-feed queued again" in unescape(r.text)
    assert store.get(q["id"])[1][0].state == "queued"
    (c,) = claim(store, "w", later + timedelta(minutes=1), timedelta(minutes=2), {}, 4)
    record(store, c, state="unknown", now=later, error="timeout")
    r = web.client.post(
        f"/posts/{q['id']}/resolve",
        data={"csrf": csrf, "target": "pro-feed", "url": "https://harborpsych.example/feed"},
    )
    assert "marked as published" in r.text
    assert store.get(q["id"])[0].status == "published"


def test_reschedule_release_and_cancel_go_through_the_commands_rules(site, web):
    q = _queue(site)
    web.login()
    csrf = web.csrf()
    r = web.client.post(
        f"/posts/{q['id']}/reschedule", data={"csrf": csrf, "at": "2030-01-08T09:30"}
    )
    assert "rescheduled for Tue 2030-01-08 09:30 CST" in unescape(r.text)
    assert _local(site, q["id"]).isoformat() == "2030-01-08T09:30:00-06:00"
    # the drag on the calendar sends the same request from the page's script
    r = web.client.post(
        f"/posts/{q['id']}/reschedule",
        data={"at": "2030-01-09 14:15"},
        headers={"x-csrf-token": csrf, "accept": "application/json"},
    )
    assert r.json() == {"ok": f"post {q['id']} rescheduled for Wed 2030-01-09 14:15 CST"}
    # a personal post 20 minutes away breaks the 45-minute separation: refused as on the CLI
    home = _queue(site, "personal", "Hives wrapped for winter.", at="2030-01-09 16:00")
    r = web.client.post(
        f"/posts/{home['id']}/reschedule",
        data={"at": "2030-01-09 14:35"},
        headers={"x-csrf-token": csrf, "accept": "application/json"},
    )
    assert r.status_code == 400 and "blocked" in r.json()["error"]
    assert _local(site, home["id"]).isoformat() == "2030-01-09T16:00:00-06:00"
    r = web.client.post(f"/posts/{q['id']}/release", data={"csrf": csrf})
    assert "is queued, not held" in unescape(r.text)
    r = web.client.post(f"/posts/{q['id']}/cancel", data={"csrf": csrf})
    assert f"cancelled post {q['id']}" in r.text
    assert web.app.store.get(q["id"])[0].status == "cancelled"


def _draft(**over):
    form = {
        "persona": "professional",
        "title": "",
        "body": "Three habits for better sleep in winter.",
        "tags": "sleep, winter",
        "to": ["pro-feed"],
        "when": "at",
        "at": "2030-02-04T08:30",
    }
    return {**form, **over}


def test_the_check_marks_a_leak_in_place_with_its_message(site, web):
    web.login()
    csrf = web.csrf()
    body = "Weekend notes: Ana Bee keeps bees at Bee Hollow Apiary."
    r = web.client.post("/api/check", data=_draft(body=body), headers={"x-csrf-token": csrf})
    res = r.json()
    assert res["blocked"] is True
    rules = {f["rule"] for f in res["findings"]}
    assert "identity" in rules
    marked = [s for s in res["body"] if s.get("rule")]
    assert {s["text"] for s in marked} >= {"Ana Bee", "Bee Hollow Apiary"}
    assert all("personal" in s["message"] for s in marked)
    assert "".join(s["text"] for s in res["body"]) == body
    assert res["when"] == "Mon 2030-02-04 08:30 CST"
    assert res["preview"][0]["target"] == "pro-feed"
    assert res["preview"][0]["parts"][0]["length"] == len(body)
    # routing: another persona's account cannot be chosen, even by a hand-made request
    r = web.client.post(
        "/api/check", data=_draft(to=["pro-feed", "home-feed"]), headers={"x-csrf-token": csrf}
    )
    assert "routing" in {f["rule"] for f in r.json()["findings"]}


def test_queueing_from_the_composer_is_queueing_from_the_command_line(site, web):
    web.login()
    csrf = web.csrf()
    leak = _draft(body="Ana Bee's honey is ready.")
    r = web.client.post("/compose", data={**leak, "csrf": csrf})
    assert r.status_code == 400
    assert "blocked" in r.text and "Ana Bee" in r.text, "the form keeps what the user wrote"
    assert web.app.store.list_posts()[1] == 0
    audit = site.run("audit", "--format", "json").json()
    assert audit["records"][0]["kind"] == "blocked"
    r = web.client.post("/compose", data={**_draft(title="Sleep in winter"), "csrf": csrf})
    assert r.status_code == 200 and "queued post" in r.text
    (post, deliveries), total = web.app.store.list_posts()[0][0], web.app.store.list_posts()[1]
    assert total == 1
    assert post.title == "Sleep in winter" and post.tags == ["sleep", "winter"]
    assert [d.target for d in deliveries] == ["pro-feed"]
    assert _local(site, post.id).isoformat() == "2030-02-04T08:30:00-06:00"
    # the same text again is refused as a duplicate, as by 'crosspost queue'
    r = web.client.post("/compose", data={**_draft(title="Sleep in winter"), "csrf": csrf})
    assert r.status_code == 400 and "already" in r.text


def test_an_override_needs_the_rule_and_a_reason(site, web):
    web.login()
    csrf = web.csrf()
    text = "I offer a sliding scale; ask at the Alberta Arts District office."
    r = web.client.post("/compose", data={**_draft(body=text), "allow": "identity", "csrf": csrf})
    assert r.status_code == 400 and "needs --reason" in unescape(r.text)
    check = web.client.post("/api/check", data=_draft(body=text), headers={"x-csrf-token": csrf})
    rule = next(f["rule"] for f in check.json()["findings"] if f["blocks"])
    r = web.client.post(
        "/compose",
        data={
            **_draft(body=text),
            "allow": rule,
            "reason": "the office address is public",
            "csrf": csrf,
        },
    )
    assert r.status_code == 200, r.text
    audit = site.run("audit", "--format", "json").json()["records"]
    assert audit[0]["kind"] == "override" and audit[0]["reason"] == "the office address is public"


def test_editing_a_queued_post_goes_through_edit(site, web):
    q = _queue(site, at="2030-03-05 10:00")
    web.login()
    csrf = web.csrf()
    form = web.client.get(f"/posts/{q['id']}/edit").text
    assert "Sleep and the winter light." in form and 'value="keep" checked' in form
    r = web.client.post(
        "/compose",
        data={
            **_draft(body="Sleep and the winter sun."),
            "when": "keep",
            "at": "",
            "post_id": str(q["id"]),
            "csrf": csrf,
        },
    )
    assert r.status_code == 200 and f"post {q['id']} edited" in r.text
    post, _ = web.app.store.get(q["id"])
    assert post.body == "Sleep and the winter sun."
    assert _local(site, q["id"]).isoformat() == "2030-03-05T10:00:00-06:00", "kept its time"
    assert site.run("audit", "--format", "json").json()["records"][0]["kind"] == "edit"


def test_the_personas_page_shows_identity_and_health_never_a_secret(site, web):
    pro = site.profiles / "professional.toml"
    pro.write_text(
        pro.read_text().replace("[guard]\n", '[guard]\nconfidential = ["Jane Client"]\n')
    )
    web.app.refresh_personas()
    web.login()
    page = web.client.get("/personas").text
    assert "Harbor Psychology" in page and "Bee Hollow Apiary" in page
    assert "Jane Client" not in page and "Alberta Arts District" not in page
    assert "writes local files" in page


def _jpeg(gps: bool) -> bytes:
    import io

    from PIL import Image

    img = Image.new("RGB", (32, 32), "green")
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        g = exif.get_ifd(0x8825)
        g[1], g[2], g[3], g[4] = "N", (45.0, 31.0, 12.0), "W", (122.0, 40.0, 30.0)
        img.save(out, "JPEG", exif=exif)
    else:
        img.save(out, "JPEG")
    return out.getvalue()


def test_images_with_alt_text_are_checked_and_queued_like_a_files_media(site, web):
    web.login()
    csrf = web.csrf()
    form = {**_draft(title="Winter light"), "alt0": "A green square", "csrf": csrf}
    gps = {"media0": ("office.jpg", _jpeg(gps=True), "image/jpeg")}
    # multipart forms carry the CSRF field too
    assert (
        web.client.post(
            "/api/check", data={k: v for k, v in form.items() if k != "csrf"}, files=gps
        ).status_code
        == 403
    )
    res = web.client.post("/api/check", data=form, files=gps).json()
    assert res["blocked"] and any(f["rule"] == "media-metadata" for f in res["findings"])
    r = web.client.post("/compose", data=form, files=gps)
    assert r.status_code == 400 and "GPS" in r.text and "choose the images again" in r.text
    r = web.client.post(
        "/compose", data=form, files={"media0": ("hive.jpg", _jpeg(gps=False), "image/jpeg")}
    )
    assert r.status_code == 200, r.text
    ((post, _),) = web.app.store.list_posts()[0]
    assert [m["alt"] for m in post.media] == ["A green square"]
    assert Path(post.media[0]["path"]).is_file(), "copied into the media store"
    assert not list((site.root / "data" / "uploads").iterdir()), "no upload left behind"
    # an edit keeps the image unless it is unticked, and can change its alt text
    page = web.client.get(f"/posts/{post.id}/edit").text
    assert 'name="keep0"' in page and "A green square" in page
    r = web.client.post(
        "/compose",
        data={
            **form,
            "post_id": str(post.id),
            "when": "keep",
            "at": "",
            "keep0": "1",
            "alt_kept0": "A green tile",
        },
    )
    assert r.status_code == 200, r.text
    post, _ = web.app.store.get(post.id)
    assert [m["alt"] for m in post.media] == ["A green tile"]
    r = web.client.post(
        "/compose", data={**form, "post_id": str(post.id), "when": "keep", "at": ""}
    )
    assert web.app.store.get(post.id)[0].media == []


def test_accounts_are_tested_against_their_platform_from_the_personas_page(ws):
    from tests.web.conftest import web_over

    web = web_over(ws)  # the shared profiles: X and Mastodon accounts without credentials
    with web.client:
        web.login()
        page = web.client.get("/personas").text
        assert "no credentials yet: crosspost accounts login pro-x" in page
        csrf = web.csrf()
        r = web.client.post(
            "/personas/test", data={"csrf": csrf, "persona": "professional", "target": "pro-x"}
        )
        assert r.status_code == 200
        assert "professional/pro-x:" in r.text and "accounts login pro-x" in unescape(r.text)
        r = web.client.post(
            "/personas/test", data={"csrf": csrf, "persona": "professional", "target": "home-bsky"}
        )
        assert "has no target 'home-bsky'" in unescape(r.text)
        r = web.client.post(
            "/personas/test", data={"csrf": csrf, "persona": "personal", "target": "home-feed"}
        )
        assert "flash-ok" in r.text and "personal/home-feed: " in r.text


def test_a_failure_is_one_readable_line_never_a_traceback(site, web, monkeypatch):
    from crosspost.errors import StoreError
    from crosspost.store import Store

    web.login()

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(Store, "list_posts", broken)
    from starlette.testclient import TestClient

    client = TestClient(web.client.app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    client.cookies = web.client.cookies
    r = client.get("/calendar")
    assert r.status_code == 500
    assert "unexpected RuntimeError: boom" in r.text and "Traceback" not in r.text
    assert "nothing was changed" in r.text
    monkeypatch.setattr(
        Store,
        "list_posts",
        lambda *a, **k: (_ for _ in ()).throw(
            StoreError(["the database is read-only"], hint="make it writable")
        ),
    )
    r = client.get("/calendar")
    assert r.status_code == 400 and "read-only" in r.text and "make it writable" in r.text


def test_an_edit_over_a_change_made_in_another_tab_is_refused(site, web):
    q = _queue(site, at="2030-03-05 10:00")
    web.login()
    csrf = web.csrf()
    form = web.client.get(f"/posts/{q['id']}/edit").text
    version = re.search(r'name="version" value="([^"]+)"', form).group(1)
    edit = {
        **_draft(body="Sleep and the winter sun."),
        "when": "keep",
        "at": "",
        "post_id": str(q["id"]),
        "version": version,
        "csrf": csrf,
    }
    # another tab (or the command line) moves the post meanwhile
    assert site.run("reschedule", str(q["id"]), "--at", "2030-03-06 10:00").code == 0
    r = web.client.post("/compose", data=edit)
    assert r.status_code == 400 and "was changed" in r.text and "not saved" in r.text
    assert web.app.store.get(q["id"])[0].body == "Sleep and the winter light."
    fresh = re.search(
        r'name="version" value="([^"]+)"', web.client.get(f"/posts/{q['id']}/edit").text
    ).group(1)
    r = web.client.post("/compose", data={**edit, "version": fresh})
    assert (
        r.status_code == 200 and web.app.store.get(q["id"])[0].body == "Sleep and the winter sun."
    )


@pytest.mark.parametrize(
    "query", ["date=9999-12-31", "view=month&date=9999-12-31", "date=0001-01-01"]
)
def test_a_calendar_date_at_the_end_of_time_shows_today(site, web, query):
    """A hand-edited ``date`` the calendar cannot step from is an unknown date, not a 500."""
    web.login()
    r = web.client.get(f"/calendar?{query}")
    assert r.status_code == 200
    assert 'id="calendar"' in r.text


def test_a_post_id_of_other_digits_is_no_post_id(site, web):
    """ "²" is a digit to ``str.isdigit`` but not a number to ``int``: a new post, not a 500."""
    web.login()
    csrf = web.csrf()
    r = web.client.post("/api/check", data=_draft(post_id="²"), headers={"x-csrf-token": csrf})
    assert r.status_code == 200 and r.json()["blocked"] is False
