"""media.same-image: a resized or re-encoded copy of another persona's photo is found, a
different photo is not."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from crosspost.guard.images import (
    MAX_DISTANCE,
    KnownImage,
    check_same_image,
    distance,
    image_hash,
)


def photo(path: Path, seed: int, size: tuple[int, int] = (640, 480)) -> Path:
    """A picture with structure (shapes of many colours, softened like a photo)."""
    rng = random.Random(seed)
    im = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))  # type: ignore[arg-type]
    draw = ImageDraw.Draw(im)
    w, h = size
    for _ in range(40):
        x, y = rng.randrange(w), rng.randrange(h)
        rx, ry = rng.randrange(20, w // 3), rng.randrange(20, h // 3)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=colour)  # type: ignore[arg-type]
    im = im.filter(ImageFilter.GaussianBlur(2))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path


def copy_of(src: Path, dest: Path, scale: float, quality: int) -> Path:
    with Image.open(src) as im:
        small = im.resize((int(im.width * scale), int(im.height * scale)))
        small.save(dest, "JPEG", quality=quality)
    return dest


def test_hash_survives_resizing_and_reencoding(tmp_path: Path) -> None:
    a = photo(tmp_path / "a.png", 1)
    a_copy = copy_of(a, tmp_path / "a-small.jpg", 0.4, 55)
    b = photo(tmp_path / "b.png", 2)
    ha, hc, hb = image_hash(a), image_hash(a_copy), image_hash(b)
    assert ha and hc and hb
    assert distance(ha, hc) <= MAX_DISTANCE
    assert distance(ha, hb) > MAX_DISTANCE


def test_not_an_image_has_no_hash(tmp_path: Path) -> None:
    p = tmp_path / "x.jpg"
    p.write_text("not an image")
    assert image_hash(p) is None


def test_findings_and_severity(tmp_path: Path) -> None:
    a = image_hash(photo(tmp_path / "a.png", 1))
    b = image_hash(photo(tmp_path / "b.png", 2))
    assert a and b
    known = [KnownImage("pro", 4, a)]
    found = check_same_image("home", [("media[0]", "a.png", a)], known, {})
    assert [(f.rule, f.severity, f.owner, f.field) for f in found] == [
        ("media.same-image", "block", "pro", "media[0]")
    ]
    assert "post 4 of persona 'pro'" in found[0].message
    assert check_same_image("home", [("media[0]", "b.png", b)], known, {}) == []
    # the persona's own earlier photo is no leak
    assert check_same_image("pro", [("media[0]", "a.png", a)], known, {}) == []
    warn = check_same_image("home", [("media[0]", "a.png", a)], known, {"media": "warn"})
    assert [f.severity for f in warn] == ["warn"]


def test_flat_images_are_not_compared(tmp_path: Path) -> None:
    flat = tmp_path / "flat.png"
    Image.new("RGB", (200, 100), (30, 90, 200)).save(flat)
    h = image_hash(flat)
    assert h is not None
    assert check_same_image("home", [("media[0]", "f", h)], [KnownImage("pro", 1, h)], {}) == []


# -- queue and check ---------------------------------------------------------------------------


def _entry(ws, name: str, image: Path, title: str) -> Path:  # type: ignore[no-untyped-def]
    return ws.write(
        f"{name}.md",
        f"""
        ---
        title: {title}
        media:
          - path: {image}
            alt: a picture
        ---
        {title}, with a picture of the day.
        """,
    )


def test_queue_blocks_a_copy_of_another_personas_photo(ws) -> None:  # type: ignore[no-untyped-def]
    a = photo(ws.root / "pics" / "a.png", 1)
    copy = copy_of(a, ws.root / "pics" / "a-copy.jpg", 0.5, 60)
    other = photo(ws.root / "pics" / "b.png", 2)

    r = ws.run(
        "queue",
        str(_entry(ws, "pro", a, "Practice news")),
        "--persona",
        "professional",
        "--to",
        "pro-x",
        "--at",
        "+2d",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    post_id = r.json()["id"]
    app = ws.app()
    post, _ = app.store.get(post_id)
    assert post.media[0]["phash"] == image_hash(a)  # kept in the post's media JSON

    copied = _entry(ws, "home", copy, "Saturday walk")
    r = ws.run("check", str(copied), "--persona", "personal", "--format", "json")
    assert r.code == 1
    rules = [f["rule"] for f in r.json()["findings"]]
    assert rules == ["media.same-image"]
    r = ws.run("queue", str(copied), "--persona", "personal", "--to", "home-bsky", "--at", "+3d")
    assert r.code != 0 and "media.same-image" in r.err + r.out

    # a different photo goes through
    r = ws.run(
        "queue",
        str(_entry(ws, "home2", other, "Sunday walk")),
        "--persona",
        "personal",
        "--to",
        "home-bsky",
        "--at",
        "+3d",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    assert all(f["rule"] != "media.same-image" for f in r.json()["guard"]["findings"])

    # the audit record of the blocked attempt keeps the message, not the path
    r = ws.run("audit", "--format", "json")
    blocked = [x for x in r.json()["records"] if x["rule"] == "media.same-image"]
    assert blocked and "message" in blocked[0]["detail"]
    assert str(copy) not in json.dumps(blocked[0])


def test_allow_with_reason(ws) -> None:  # type: ignore[no-untyped-def]
    a = photo(ws.root / "pics" / "a.png", 3)
    assert (
        ws.run(
            "queue",
            str(_entry(ws, "pro", a, "Practice news")),
            "--persona",
            "professional",
            "--to",
            "pro-x",
            "--at",
            "+2d",
        ).code
        == 0
    )
    r = ws.run(
        "queue",
        str(_entry(ws, "home", a, "Saturday walk")),
        "--persona",
        "personal",
        "--to",
        "home-bsky",
        "--at",
        "+3d",
        "--allow",
        "media.same-image",
        "--reason",
        "public-domain picture",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    found = [f for f in r.json()["guard"]["findings"] if f["rule"] == "media.same-image"]
    assert found and found[0]["allowed"] == "public-domain picture"


# -- publish time ------------------------------------------------------------------------------


def test_a_photo_the_other_persona_published_since_blocks_at_publish_time(ws) -> None:  # type: ignore[no-untyped-def]
    """Queueing compared the photo with every queued and published one; another persona's copy
    published after that (queued with --allow here; another machine on the same database
    would do the same) blocks this post when it is due, and is recorded as a block."""
    from datetime import UTC, datetime, timedelta

    from .test_daemon import queue_json, set_due_now, summary

    (ws.root / "site-pro" / "content" / "posts").mkdir(parents=True)
    a = photo(ws.root / "pics" / "a.png", 5)
    copy = copy_of(a, ws.root / "pics" / "a-copy.jpg", 0.5, 60)
    home = queue_json(
        ws, str(_entry(ws, "home", a, "Saturday walk")), "--persona", "personal",
        "--to", "home-feed", "--at", "+3h",
    )  # fmt: skip
    assert home["guard"]["findings"] == []
    pro = queue_json(
        ws, str(_entry(ws, "pro", copy, "Practice news")), "--persona", "professional",
        "--to", "blog", "--at", "+2h", "--allow", "media.same-image", "--reason", "on purpose",
    )  # fmt: skip
    # the professional post goes out first: the photo is now public under that persona
    set_due_now(ws, pro["id"], datetime.now(UTC) - timedelta(seconds=2))
    r = ws.run("daemon", "--once")
    assert r.code == 0, r.err
    assert ws.run("show", str(pro["id"]), "--format", "json").json()["status"] == "published"
    # then the personal one is due: blocked, nothing written to its feed
    set_due_now(ws, home["id"], datetime.now(UTC) - timedelta(seconds=1))
    r = ws.run("daemon", "--once")
    assert r.code == 1
    assert summary(r).startswith("targets: published 0, failed 0, blocked 1,")
    shown = ws.run("show", str(home["id"]), "--format", "json").json()
    assert shown["status"] == "failed"
    error = shown["targets"][0]["error"]
    assert "blocked by the leak guard at publish time" in error and "media.same-image" in error
    assert str(a) not in error
    assert not (ws.root / "site-home" / "feed.xml").exists()
    recs = ws.run("audit", "--format", "json").json()["records"]
    at_publish = [x for x in recs if x["detail"].get("at") == "publish"]
    assert [x["rule"] for x in at_publish] == ["media.same-image"]


def test_a_copy_still_queued_elsewhere_does_not_hold_the_first_to_go_out(ws) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from .test_daemon import queue_json, set_due_now, summary

    a = photo(ws.root / "pics" / "a.png", 6)
    home = queue_json(
        ws, str(_entry(ws, "home", a, "Saturday walk")), "--persona", "personal",
        "--to", "home-feed", "--at", "+3h",
    )  # fmt: skip
    queue_json(
        ws, str(_entry(ws, "pro", a, "Practice news")), "--persona", "professional",
        "--to", "blog", "--at", "+5h", "--allow", "media.same-image", "--reason", "on purpose",
    )  # fmt: skip
    set_due_now(ws, home["id"], datetime.now(UTC) - timedelta(seconds=1))
    r = ws.run("daemon", "--once")
    assert r.code == 0, r.err
    assert summary(r).startswith("targets: published 1, failed 0, blocked 0,")
