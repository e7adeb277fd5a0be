"""Queueing twice, editing a queued post, explicit slugs, and the media an entry names."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import update
from sqlmodel import select

from crosspost.guard.media import inspect_image

ENTRY = """---
title: Therapy and Social Networking
tags: [ethics]
---
Blogging and social networking bring opportunities to counter stigma.
"""

OTHER = """---
title: Sleep and Anxiety
---
Why a regular bedtime matters more than its hour.
"""


def count_posts(ws) -> int:
    return ws.run("list", "--format", "json").json()["total"]


def queue_json(ws, *args: str) -> dict:
    r = ws.run("queue", *args, "--format", "json")
    assert r.code == 0, r.err
    return r.json()


def show(ws, post_id: int) -> dict:
    return ws.run("show", str(post_id), "--format", "json").json()


def audit(ws) -> list[dict]:
    return ws.run("audit", "--format", "json").json()["records"]


def set_states(ws, post_id: int, state: str, target: str | None = None) -> None:
    """Put a post's deliveries (or one of them) into ``state``, as the daemon would."""
    from crosspost.models import Delivery, Post
    from crosspost.store import rollup

    store = ws.app().store
    with store.write() as s:
        q = update(Delivery).where(Delivery.post_id == post_id)
        if target is not None:
            q = q.where(Delivery.target == target)
        s.execute(q.values(state=state))
        states = list(s.exec(select(Delivery.state).where(Delivery.post_id == post_id)))
        s.execute(update(Post).where(Post.id == post_id).values(status=rollup(states)))


def gps_jpeg(path) -> None:
    img = Image.new("RGB", (32, 32), "green")
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (45.0, 31.0, 12.0)
    gps[3] = "W"
    gps[4] = (122.0, 40.0, 30.0)
    img.save(path, exif=exif)


# -- queueing the same post twice ------------------------------------------------------------


def test_queueing_the_same_file_twice_is_refused_unless_again(ws):
    entry = ws.write("entry.md", ENTRY)
    first = queue_json(ws, str(entry), "--persona", "professional", "--at", "2099-01-02 09:00")
    r = ws.run("queue", str(entry), "--persona", "professional", "--at", "+3h")
    assert r.code == 1, r.err
    assert f"already post {first['id']}" in r.err
    assert "queued" in r.err and "2099-01-02 09:00 CST" in r.err
    assert "--again" in r.err and "Traceback" not in r.err
    assert count_posts(ws) == 1
    again = ws.run("queue", str(entry), "--persona", "professional", "--at", "+3h", "--again")
    assert again.code == 0, again.err
    assert count_posts(ws) == 2


def test_identical_file_under_another_path_is_the_same_post(ws):
    entry = ws.write("entry.md", ENTRY)
    queue_json(ws, str(entry), "--persona", "professional", "--at", "+2h")
    copy = ws.root / "drafts" / "copy.md"
    copy.parent.mkdir()
    copy.write_bytes(entry.read_bytes().replace(b"\n", b"\r\n"))  # even with CRLF line ends
    r = ws.run("queue", str(copy), "--persona", "professional", "--at", "+3h")
    assert r.code == 1 and "same content" in r.err
    # another persona may post the same text (the guard decides about that, not this check)
    other = ws.run("queue", "--persona", "personal", "--text", "Hives wrapped.", "--at", "+5h")
    assert other.code == 0, other.err
    assert count_posts(ws) == 2


def test_same_text_twice_and_a_published_post(ws):
    q = queue_json(
        ws, "--persona", "personal", "--text", "Hives wrapped for winter.", "--at", "+2h"
    )
    r = ws.run(
        "queue", "--persona", "personal", "--text", "  Hives wrapped for winter.\n", "--at", "+4h"
    )
    assert r.code == 1 and f"already post {q['id']}" in r.err and "--again" in r.err
    set_states(ws, q["id"], "published")
    r = ws.run(
        "queue", "--persona", "personal", "--text", "Hives wrapped for winter.", "--at", "+4h"
    )
    assert r.code == 1 and "published" in r.err
    assert "published, published" not in r.err
    assert "crosspost edit" not in r.err, "a published post cannot be edited: no such hint"
    # a cancelled post published nothing: queueing its text is fine
    c = queue_json(ws, "--persona", "personal", "--text", "Honey harvest soon.", "--at", "+2h")
    assert ws.run("cancel", str(c["id"])).code == 0
    assert (
        ws.run(
            "queue", "--persona", "personal", "--text", "Honey harvest soon.", "--at", "+3h"
        ).code
        == 0
    )


def test_changed_file_still_queued_is_refused_and_free_once_published(ws):
    entry = ws.write("entry.md", ENTRY)
    q = queue_json(ws, str(entry), "--persona", "professional", "--at", "+2h")
    entry.write_text(ENTRY.replace("stigma", "stigma, carefully"))
    r = ws.run("queue", str(entry), "--persona", "professional", "--at", "+3h")
    assert r.code == 1 and "same file, still queued" in r.err
    assert f"crosspost edit {q['id']}" in r.err
    set_states(ws, q["id"], "published")
    r = ws.run("queue", str(entry), "--persona", "professional", "--at", "+3h")
    assert r.code == 0, r.err


def test_duplicate_lookup_reads_only_matching_rows(ws):
    """The check is one query filtered in the database, not a scan of the queue in Python."""
    from sqlalchemy import event

    from crosspost.contenthash import content_hash
    from crosspost.models import Post
    from crosspost.queueing import refuse_conflicts

    app = ws.app()
    now = datetime.now(UTC)
    with app.store.write() as s:
        s.execute(
            Post.__table__.insert(),
            [
                {
                    "persona": "professional",
                    "kind": "short",
                    "title": None,
                    "body": f"post {i}",
                    "slug": f"post-{i}",
                    "tags": [],
                    "categories": [],
                    "share": {},
                    "media": [],
                    "allow": {},
                    "scheduled_at": now + timedelta(hours=i),
                    "created_at": now,
                    "updated_at": now,
                    "status": "queued",
                }
                for i in range(2000)
            ],
        )
    statements: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    from crosspost.entries import text_entry

    persona = app.personas.get("professional")
    event.listen(app.store.engine, "before_cursor_execute", count)
    try:
        refuse_conflicts(app.store, persona, text_entry("a new post"))
    finally:
        event.remove(app.store.engine, "before_cursor_execute", count)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1 and "LIMIT" in selects[0].upper()
    hash_of = content_hash
    found = app.store.similar_posts("professional", content_hash=hash_of(None, "post 7\r\n"))
    assert [r.body for r in found] == ["post 7"]
    missing = app.store.similar_posts("professional", content_hash=hash_of(None, "nothing"))
    assert missing == []


# -- explicit slugs ----------------------------------------------------------------------------


def test_explicit_slug_taken_by_another_post_is_an_error(ws):
    a = ws.write("a.md", "---\ntitle: First\nslug: hello\n---\nOne.\n")
    b = ws.write("b.md", "---\ntitle: Second\nslug: Hello\n---\nTwo.\n")
    q = queue_json(ws, str(a), "--persona", "professional", "--to", "blog", "--at", "+2h")
    r = ws.run("queue", str(b), "--persona", "professional", "--to", "blog", "--at", "+3h")
    assert r.code == 2, r.err
    assert f"slug 'hello' is already taken by post {q['id']}" in r.err and "b.md" in r.err
    assert count_posts(ws) == 1
    # --again is about duplicates; it does not make a taken slug free
    r = ws.run(
        "queue", str(b), "--persona", "professional", "--to", "blog", "--at", "+3h", "--again"
    )
    assert r.code == 2 and "already taken" in r.err
    # the other persona has its own blog and its own slugs
    r = ws.run("queue", str(b), "--persona", "personal", "--to", "blog", "--at", "+8h")
    assert r.code == 0, r.err
    # automatic slugs (from the title) are not checked: the blog makes them unique
    c = ws.write("c.md", "---\ntitle: Hello\n---\nThree.\n")
    auto = queue_json(ws, str(c), "--persona", "professional", "--to", "blog", "--at", "+4h")
    # a cancelled post no longer takes its slug; an automatic one still does
    assert ws.run("cancel", str(q["id"])).code == 0
    r = ws.run("queue", str(b), "--persona", "professional", "--to", "blog", "--at", "+3h")
    assert r.code == 2 and f"already taken by post {auto['id']}" in r.err
    assert ws.run("cancel", str(auto["id"])).code == 0
    r = ws.run("queue", str(b), "--persona", "professional", "--to", "blog", "--at", "+3h")
    assert r.code == 0, r.err


# -- edit --------------------------------------------------------------------------------------


def test_edit_replaces_the_snapshot_and_keeps_the_schedule(ws):
    entry = ws.write("entry.md", ENTRY)
    q = queue_json(ws, str(entry), "--persona", "professional", "--at", "2099-01-02 09:00")
    before = show(ws, q["id"])
    changed = ws.write(
        "changed.md",
        ENTRY.replace("Therapy and", "Therapy, Boundaries and").replace(
            "[ethics]", "[ethics, boundaries]"
        ),
    )
    r = ws.run("edit", str(q["id"]), str(changed), "--format", "json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["changed"] == ["slug", "source_hash", "source_path", "tags", "title"]
    after = show(ws, q["id"])
    assert after["title"] == "Therapy, Boundaries and Social Networking"
    assert after["tags"] == ["ethics", "boundaries"]
    assert after["scheduled_at"] == before["scheduled_at"] == data["scheduled_at"]
    assert {t["target"] for t in after["targets"]} == {"blog", "pro-x", "pro-mastodon"}
    assert after["source"].endswith("changed.md")
    assert count_posts(ws) == 1
    rec = audit(ws)[0]
    assert rec["kind"] == "edit" and rec["post_id"] == q["id"]
    assert rec["persona"] == "professional"
    assert "title" in rec["detail"]["changed"]
    assert "Boundaries" not in str(rec["detail"]), "no published text in the audit log"
    assert ws.run("audit", "--verify", "--format", "json").json()["ok"]


def test_edit_with_at_moves_it_and_update_is_an_alias(ws):
    q = queue_json(ws, "--persona", "personal", "--text", "Hives wrapped.", "--at", "+2h")
    r = ws.run(
        "update", str(q["id"]), "--text", "Hives wrapped for winter.", "--at", "2099-03-04 10:00"
    )
    assert r.code == 0, r.err
    assert f"edited post {q['id']}" in r.out and "2099-03-04 10:00 CST" in r.out
    after = show(ws, q["id"])
    assert after["body"] == "Hives wrapped for winter."
    assert after["scheduled_local"].startswith("2099-03-04T10:00")
    assert [t["due_at"] for t in after["targets"]] == [after["scheduled_at"]] * 2


def test_edit_runs_the_guard_and_leaves_a_blocked_post_alone(ws):
    q = queue_json(ws, "--persona", "personal", "--text", "Bees!", "--at", "+2h")
    leak = "Proud of my colleagues at Harbor Psychology today."
    r = ws.run("edit", str(q["id"]), "--text", leak)
    assert r.code == 1 and "identity" in r.err
    assert show(ws, q["id"])["body"] == "Bees!"
    blocked = audit(ws)[0]
    assert blocked["kind"] == "blocked" and blocked["post_id"] == q["id"]
    r = ws.run(
        "edit",
        str(q["id"]),
        "--text",
        leak,
        "--allow",
        "identity",
        "--reason",
        "public event announcement",
    )
    assert r.code == 0, r.err
    assert show(ws, q["id"])["body"] == leak
    assert show(ws, q["id"])["allow"] == {"identity": "public event announcement"}
    kinds = [(rec["kind"], rec["rule"]) for rec in audit(ws)]
    assert ("edit", None) in kinds and ("override", "identity") in kinds
    r = ws.run("edit", str(q["id"]), "--text", "x", "--allow", "identity", "--reason", "y")
    assert r.code == 2 and "no such finding" in r.err


def test_edit_recomputes_targets_when_the_entry_says_to(ws):
    entry = ws.write("entry.md", ENTRY)
    q = queue_json(ws, str(entry), "--persona", "professional", "--to", "blog,pro-x", "--at", "+2h")
    # no 'to' in the changed entry: the targets stay as they were queued
    changed = ws.write("v2.md", ENTRY.replace("stigma", "stigma, carefully"))
    assert ws.run("edit", str(q["id"]), str(changed)).code == 0
    assert {t["target"] for t in show(ws, q["id"])["targets"]} == {"blog", "pro-x"}
    v3 = ws.write("v3.md", ENTRY.replace("tags:", "to: [blog, pro-mastodon]\ntags:"))
    r = ws.run("edit", str(q["id"]), str(v3))
    assert r.code == 0, r.err
    targets = show(ws, q["id"])["targets"]
    assert {t["target"] for t in targets} == {"blog", "pro-mastodon"}
    assert all(t["state"] == "queued" for t in targets)
    # routing is checked as in queue: another persona's account is refused, nothing changes
    v4 = ws.write("v4.md", ENTRY.replace("tags:", "to: [blog, home-bsky]\ntags:"))
    r = ws.run("edit", str(q["id"]), str(v4))
    assert r.code == 1 and "belongs to persona 'personal'" in r.err
    assert {t["target"] for t in show(ws, q["id"])["targets"]} == {"blog", "pro-mastodon"}


def test_edit_is_refused_once_publishing_started(ws):
    entry = ws.write("entry.md", ENTRY)
    q = queue_json(ws, str(entry), "--persona", "professional", "--at", "+2h")
    changed = ws.write("v2.md", ENTRY.replace("stigma", "stigma, carefully"))
    set_states(ws, q["id"], "published", target="blog")
    r = ws.run("edit", str(q["id"]), str(changed))
    assert r.code == 1 and "can no longer be edited" in r.err and "blog" in r.err
    assert "carefully" not in show(ws, q["id"])["body"]
    set_states(ws, q["id"], "publishing", target="blog")
    assert ws.run("edit", str(q["id"]), str(changed)).code == 1
    c = queue_json(ws, "--persona", "personal", "--text", "Bees.", "--at", "+6h")
    assert ws.run("cancel", str(c["id"])).code == 0
    r = ws.run("edit", str(c["id"]), "--text", "More bees.")
    assert r.code == 1 and "only queued or held posts" in r.err
    r = ws.run("edit", "999", "--text", "x")
    assert r.code == 1 and "no post with id 999" in r.err


def test_edit_keeps_the_persona_and_its_slug(ws):
    a = ws.write("a.md", "---\ntitle: First\nslug: hello\n---\nOne.\n")
    q = queue_json(ws, str(a), "--persona", "professional", "--to", "blog", "--at", "+2h")
    v2 = ws.write("a2.md", "---\ntitle: First, again\nslug: hello\n---\nOne, better.\n")
    r = ws.run("edit", str(q["id"]), str(v2))
    assert r.code == 0, r.err  # its own slug is not "taken"
    r = ws.run("edit", str(q["id"]), str(v2), "--persona", "personal")
    assert r.code == 2 and "belongs to persona 'professional'" in r.err
    b = ws.write("b.md", "---\ntitle: Second\n---\nTwo.\n")
    other = queue_json(ws, str(b), "--persona", "professional", "--to", "blog", "--at", "+3h")
    r = ws.run("edit", str(other["id"]), str(v2))
    assert r.code == 2 and f"already taken by post {q['id']}" in r.err


# -- media -------------------------------------------------------------------------------------


def test_missing_media_is_a_usage_error_naming_file_and_path(ws):
    fm = ws.write("fm.md", "---\ntitle: Hives\nmedia: [photos/hive.jpg]\n---\nBees.\n")
    r = ws.run("queue", str(fm), "--persona", "personal", "--at", "+2h")
    assert r.code == 2, r.err
    assert "fm.md" in r.err and "photos/hive.jpg" in r.err and "not found" in r.err
    assert "media-metadata" not in r.err
    body = ws.write("body.md", "---\ntitle: Hives\n---\nLook: ![a hive](photos/gone.jpg)\n")
    for cmd in ("queue", "check"):
        r = ws.run(cmd, str(body), "--persona", "personal")
        assert r.code == 2, (cmd, r.err)
        assert "body.md" in r.err and "photos/gone.jpg" in r.err
    assert count_posts(ws) == 0
    assert audit(ws) == []


def test_body_image_with_gps_is_blocked_like_front_matter_media(ws):
    (ws.root / "photos").mkdir()
    gps_jpeg(ws.root / "photos" / "hive.jpg")
    e = ws.write("e.md", "---\ntitle: Hives\n---\nLook: ![a hive](photos/hive.jpg)\n")
    r = ws.run("queue", str(e), "--persona", "professional", "--to", "blog", "--at", "+2h")
    assert r.code == 1
    assert "media-metadata" in r.err and "photos/hive.jpg" in r.err
    assert count_posts(ws) == 0


def test_body_image_is_stripped_snapshotted_and_published_next_to_the_entry(ws):
    (ws.root / "photos").mkdir()
    gps_jpeg(ws.root / "photos" / "hive.jpg")
    e = ws.write(
        "e.md",
        "---\ntitle: Hives in Winter\n---\n"
        "Look: ![a hive](photos/hive.jpg) and ![remote](https://x.example/a.jpg)\n",
    )
    q = queue_json(ws, str(e), "--persona", "personal", "--to", "blog,home-feed", "--at", "+2h")
    shown = show(ws, q["id"])
    assert len(shown["media"]) == 1 and shown["media"][0]["alt"] == "a hive"
    stored = shown["media"][0]["path"]
    assert inspect_image(stored) == [], "stripped like front matter media"
    assert inspect_image(ws.root / "photos" / "hive.jpg"), "the original is left alone"
    assert shown["body"].endswith("![remote](https://x.example/a.jpg)")
    shutil.rmtree(ws.root / "photos")  # the snapshot is what gets published

    from .test_daemon import set_due_now

    (ws.root / "site-home" / "content" / "posts").mkdir(parents=True)
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(seconds=5))
    r = ws.run("daemon", "--once")
    assert r.code == 0, r.err
    shown = show(ws, q["id"])
    assert shown["status"] == "published", [t["error"] for t in shown["targets"]]
    bundle = ws.root / "site-home" / "content" / "posts" / "hives-in-winter"
    text = (bundle / "index.md").read_text()
    assert "Look: ![a hive](hive.jpg) and ![remote](https://x.example/a.jpg)" in text
    assert (bundle / "hive.jpg").read_bytes() == Path(stored).read_bytes()
    assert sorted(p.name for p in bundle.iterdir()) == ["hive.jpg", "index.md"]


WP_PROFILE = """
display_name = "Dr. Ana Reyes"
timezone = "America/Chicago"
share = "New on the blog: {{title}} {{url}}"
[identity]
names = ["Ana Reyes"]
[blog]
platform = "wordpress"
url = "{wp}"
username = "admin"
[[accounts]]
name = "pro-mastodon"
platform = "mastodon"
handle = "@anareyes@127.0.0.1"
instance = "{masto}"
"""


def test_body_images_go_to_the_blog_and_not_to_the_shares(ws, monkeypatch):
    import io
    import sys

    from tests.fakes.mastodon import FakeMastodon
    from tests.fakes.wordpress import FakeWordPress

    wp = FakeWordPress(app_password="wpAp pPas s123 4567 89ab cdef").start()
    masto = FakeMastodon(access_token="mastodon-token-1").start()
    try:
        ws.write("profiles/professional.toml", WP_PROFILE.format(wp=wp.url, masto=masto.url))
        for args, secret in (
            (("blog", "--persona", "professional"), "wpAp pPas s123 4567 89ab cdef"),
            (("pro-mastodon",), "mastodon-token-1"),
        ):
            monkeypatch.setattr(sys, "stdin", io.StringIO(secret + "\n"))
            assert ws.run("accounts", "login", *args, "--stdin").code == 0
        (ws.root / "photos").mkdir()
        Image.new("RGB", (8, 8), "blue").save(ws.root / "photos" / "lake.png")
        e = ws.write(
            "e.md", "---\ntitle: Sleep and Anxiety\n---\nRest. ![a lake](photos/lake.png)\n"
        )
        q = queue_json(ws, str(e), "--persona", "professional", "--at", "+1h")

        from .test_daemon import set_due_now

        set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(seconds=5))
        for _ in range(2):  # the blog first, then the share that links to it
            assert ws.run("daemon", "--once").code == 0
        shown = show(ws, q["id"])
        assert shown["status"] == "published", [t["error"] for t in shown["targets"]]
        assert len(wp.media()) == 1
        content = wp.api_requests("POST", "/wp/v2/posts")[0].json()["content"]
        assert "photos/lake.png" not in content and wp.media()[0]["title"] in content
        assert len(masto.statuses) == 1 and masto.media == {}
    finally:
        wp.stop()
        masto.stop()
