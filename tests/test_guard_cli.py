"""The guard through the CLI: media metadata, correlation, hashed confidential identifiers."""

from __future__ import annotations

import io
import sys

from PIL import Image

from crosspost.guard.media import inspect_image


def gps_jpeg(path) -> None:
    img = Image.new("RGB", (32, 32), "green")
    exif = Image.Exif()
    exif[0x013B] = "Ana Bee"  # Artist
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (45.0, 31.0, 12.0)
    gps[3] = "W"
    gps[4] = (122.0, 40.0, 30.0)
    img.save(path, exif=exif)


def entry_with_photo(ws, name: str) -> object:
    gps_jpeg(ws.root / "hive.jpg")
    return ws.write(
        name,
        "---\ntitle: The Hives in Winter\nmedia:\n  - path: hive.jpg\n"
        "    alt: Two hives under snow\n---\nThe bees cluster to keep warm.\n",
    )


def test_photo_with_gps_is_blocked_without_strip_metadata(ws):
    entry = entry_with_photo(ws, "pro.md")
    r = ws.run("queue", str(entry), "--persona", "professional", "--to", "blog", "--at", "+2h")
    assert r.code == 1
    assert "media-metadata" in r.err and "GPS" in r.err
    assert ws.run("list", "--format", "json").json()["total"] == 0


def test_photo_is_stripped_for_a_persona_that_strips(ws):
    entry = entry_with_photo(ws, "home.md")
    assert inspect_image(ws.root / "hive.jpg"), "the fixture photo carries metadata"
    r = ws.run(
        "queue",
        str(entry),
        "--persona",
        "personal",
        "--to",
        "blog",
        "--at",
        "+2h",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    shown = ws.run("show", str(r.json()["id"]), "--format", "json").json()
    stored = shown["media"][0]["path"]
    assert shown["media"][0]["alt"] == "Two hives under snow"
    with Image.open(stored) as im:
        exif = im.getexif()
        assert 0x8825 not in exif and 0x013B not in exif
    assert inspect_image(stored) == []
    assert inspect_image(ws.root / "hive.jpg"), "the user's original is left alone"


def test_separation_window_between_personas(ws):
    a = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        "Office closed Friday.",
        "--at",
        "2099-06-01 10:00",
    )
    assert a.code == 0, a.err
    b = ws.run(
        "queue", "--persona", "personal", "--text", "Garden day!", "--at", "2099-06-01 10:20"
    )
    assert b.code == 1
    assert "separation" in b.err
    assert "10:45" in b.err or "15:45" in b.err  # the next allowed time (local or UTC)
    c = ws.run(
        "queue", "--persona", "personal", "--text", "Garden day!", "--at", "2099-06-01 10:50"
    )
    assert c.code == 0, c.err


def test_reschedule_and_release_keep_the_separation(ws):
    a = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        "Office closed Friday.",
        "--at",
        "2099-06-01 10:00",
    )
    assert a.code == 0, a.err
    b = ws.run(
        "queue",
        "--persona",
        "personal",
        "--text",
        "Garden day!",
        "--at",
        "2099-06-01 12:00",
        "--format",
        "json",
    )
    assert b.code == 0, b.err
    post_id = str(b.json()["id"])
    moved = ws.run("reschedule", post_id, "--at", "2099-06-01 10:15")
    assert moved.code == 1
    assert "separation" in moved.err and "new time" in moved.err
    shown = ws.run("show", post_id, "--format", "json").json()
    assert shown["scheduled_at"] == b.json()["scheduled_at"], "the post stays where it was"
    audit = ws.run("audit", "--format", "json").json()
    assert any(r["rule"] == "separation" for r in audit["records"])
    assert ws.run("reschedule", post_id, "--at", "2099-06-01 11:00").code == 0
    # an allowance given when queueing still counts
    c = ws.run(
        "queue",
        "--persona",
        "personal",
        "--text",
        "Bees are out.",
        "--at",
        "2099-06-02 10:00",
        "--format",
        "json",
    )
    assert c.code == 0, c.err
    other = str(c.json()["id"])
    assert ws.run("reschedule", other, "--at", "2099-06-01 10:20").code == 1
    d = ws.run(
        "queue",
        "--persona",
        "personal",
        "--text",
        "Hive check.",
        "--at",
        "2099-06-01 10:10",
        "--allow",
        "separation",
        "--reason",
        "public event",
        "--format",
        "json",
    )
    assert d.code == 0, d.err
    allowed = str(d.json()["id"])
    assert ws.run("reschedule", allowed, "--at", "2099-06-01 10:05").code == 0


def test_near_duplicate_of_the_other_personas_post(ws):
    text = (
        "Five small habits that help with sleep when the days get shorter and the "
        "evenings feel long and restless"
    )
    assert ws.run("queue", "--persona", "professional", "--text", text, "--at", "+1h").code == 0
    r = ws.run("queue", "--persona", "personal", "--text", text.replace("Five", "5"), "--at", "+5h")
    assert r.code == 1 and "near-duplicate" in r.err


def test_hashed_confidential_identifier(ws, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Jonathan Whitcombe\n"))
    r = ws.run("guard", "add-confidential", "professional", "--stdin")
    assert r.code == 0, r.err
    profile = (ws.profiles / "professional.toml").read_text()
    assert "Whitcombe" not in profile and "hmac-sha256:" in profile
    assert "Alberta Arts District" in profile, "the rest of the profile is kept as written"
    r = ws.run(
        "check",
        "--persona",
        "personal",
        "--text",
        "Ran into jonathan  WHITCOMBE at the market",
        "--format",
        "json",
    )
    assert r.code == 1
    (finding,) = r.json()["findings"]
    assert finding["rule"] == "confidential"
    assert finding["match"] == "jonathan  WHITCOMBE"


def test_the_guard_key_moves_to_another_machine(ws, monkeypatch, isolated):
    """export-key on one machine, import-key on another: the hashes check there too."""
    from crosspost.guardkey import SERVICE, USERNAME

    assert ws.run("guard", "export-key").code == 2, "no key yet"
    monkeypatch.setattr(sys, "stdin", io.StringIO("Jonathan Whitcombe\n"))
    assert ws.run("guard", "add-confidential", "professional", "--stdin").code == 0
    exported = ws.run("guard", "export-key")
    assert exported.code == 0 and len(exported.out.strip()) == 64
    # the other machine: an empty keyring
    isolated.delete_password(SERVICE, USERNAME)
    r = ws.run("check", "--persona", "personal", "--text", "hello")
    assert r.code == 2 and "crosspost guard import-key" in r.err
    for bad in ("not a key", exported.out.strip()[:-2]):
        monkeypatch.setattr(sys, "stdin", io.StringIO(bad))
        r = ws.run("guard", "import-key")
        assert r.code == 2 and "64 hexadecimal digits" in r.err
    monkeypatch.setattr(sys, "stdin", io.StringIO(exported.out))
    assert ws.run("guard", "import-key").code == 0
    r = ws.run("check", "--persona", "personal", "--text", "Saw Jonathan Whitcombe today")
    assert r.code == 1 and "confidential" in r.out
    # a different key is not replaced by accident
    monkeypatch.setattr(sys, "stdin", io.StringIO("ab" * 32))
    r = ws.run("guard", "import-key")
    assert r.code == 2 and "--force" in r.err
    monkeypatch.setattr(sys, "stdin", io.StringIO("ab" * 32))
    assert ws.run("guard", "import-key", "--force").code == 0
    assert isolated.get_password(SERVICE, USERNAME) == "ab" * 32
