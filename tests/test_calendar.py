"""``crosspost calendar --format ics`` and the daemon's per-persona calendar files, read back
with the icalendar library."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from sqlmodel import select

from tests.support.procs import crosspost, env_for, start_daemon, wait_for

ENTRY = """---
title: Boundaries Online
summary: Keeping the therapeutic frame on social media.
---
Blogging can counter stigma; the frame still matters.
"""


def queue(ws, *args: str) -> dict:
    r = ws.run("queue", *args, "--format", "json")
    assert r.code == 0, r.err
    return r.json()


def events(ics: bytes | str) -> dict[str, dict]:
    """UID → what a calendar app shows of each event."""
    raw = ics.encode() if isinstance(ics, str) else ics
    cal = Calendar.from_ical(raw)
    out = {}
    for ev in cal.walk("VEVENT"):
        cats = ev.get("categories")
        out[str(ev["uid"])] = {
            "summary": str(ev["summary"]),
            "start": ev.decoded("dtstart"),
            "categories": [str(c) for c in cats.cats] if cats is not None else [],
            "status": str(ev["status"]),
            "description": str(ev["description"]),
        }
    return out


def calendar(ws, *args: str) -> tuple[bytes, dict[str, dict]]:
    r = ws.run("calendar", "--format", "ics", *args)
    assert r.code == 0, r.err
    return r.out.encode(), events(r.out)


def set_post(ws, post_id: int, **values) -> None:
    from crosspost.models import Delivery, Post

    with ws.app().store.write() as s:
        p = s.get(Post, post_id)
        for k, v in values.items():
            setattr(p, k, v)
        s.add(p)
        if "status" in values:
            for d in s.exec(select(Delivery).where(Delivery.post_id == post_id)):
                d.state = values["status"]
                s.add(d)


def test_one_personas_calendar_holds_only_its_posts(ws):
    (ws.root / "site-pro" / "content" / "posts").mkdir(parents=True)
    entry = ws.write("e.md", ENTRY)
    pro = queue(ws, str(entry), "--persona", "professional", "--at", "+5h", "--to", "blog")
    home = queue(
        ws,
        "--persona",
        "personal",
        "--text",
        "The bees swarmed the old apple tree this morning, all of them at once.",
        "--at",
        "+2h",
        "--to",
        "home-feed",
    )
    raw, found = calendar(ws, "--persona", "personal")
    assert len(found) == 1
    (ev,) = found.values()
    assert ev["summary"] == "The bees swarmed the old apple tree this…"
    assert ev["categories"] == ["personal"]
    assert ev["status"] == "TENTATIVE"
    scheduled = datetime.fromisoformat(home["scheduled_at"].replace("Z", "+00:00"))
    assert ev["start"] == scheduled.replace(microsecond=0)  # ICS times are to the second
    assert ev["start"].utcoffset() == timedelta(0)
    assert b"DTSTART:" in raw and b"Z\r\n" in raw  # a UTC time, not a floating one
    assert b"professional" not in raw and b"Boundaries" not in raw
    assert b"Ana Reyes" not in raw
    _, pro_only = calendar(ws, "--persona", "professional")
    assert [e["summary"] for e in pro_only.values()] == ["Boundaries Online"]
    assert not set(pro_only) & set(found)
    # every persona: each event says whose it is
    _, both = calendar(ws)
    assert {e["summary"]: e["categories"] for e in both.values()} == {
        "Boundaries Online": ["professional"],
        ev["summary"]: ["personal"],
    }
    assert set(both) == set(found) | set(pro_only)
    assert pro["id"] != home["id"]


def test_uids_stay_and_edits_moves_and_cancels_show(ws):
    a = queue(
        ws, "--persona", "personal", "--text", "First draft.", "--at", "+2h", "--to", "home-feed"
    )
    b = queue(
        ws, "--persona", "personal", "--text", "Second post.", "--at", "+3h", "--to", "home-feed"
    )
    first, found = calendar(ws, "--persona", "personal")
    again, _ = calendar(ws, "--persona", "personal")
    assert first == again, "an unchanged queue exports the same bytes"
    uid_a = next(u for u, e in found.items() if e["summary"] == "First draft.")
    uid_b = next(u for u, e in found.items() if e["summary"] == "Second post.")
    assert ws.run("edit", str(a["id"]), "--text", "First, edited.").code == 0
    assert ws.run("reschedule", str(b["id"]), "--at", "+6h").code == 0
    _, after = calendar(ws, "--persona", "personal")
    assert set(after) == {uid_a, uid_b}, "edits keep each event's UID"
    assert after[uid_a]["summary"] == "First, edited."
    assert after[uid_b]["start"] - found[uid_b]["start"] > timedelta(hours=2, minutes=50)
    assert ws.run("cancel", str(a["id"])).code == 0
    _, cancelled = calendar(ws, "--persona", "personal")
    assert set(cancelled) == {uid_b}


def test_published_posts_of_the_last_30_days_stay(ws):
    now = datetime.now(UTC)
    recent = queue(
        ws,
        "--persona",
        "personal",
        "--text",
        "Went out last week.",
        "--at",
        "+1h",
        "--to",
        "home-feed",
    )
    old = queue(
        ws,
        "--persona",
        "personal",
        "--text",
        "Went out in spring.",
        "--at",
        "+1h",
        "--to",
        "home-feed",
    )
    failed = queue(
        ws, "--persona", "personal", "--text", "Never went out.", "--at", "+1h", "--to", "home-feed"
    )
    set_post(ws, recent["id"], status="published", scheduled_at=now - timedelta(days=7))
    set_post(ws, old["id"], status="published", scheduled_at=now - timedelta(days=40))
    set_post(ws, failed["id"], status="failed", scheduled_at=now - timedelta(days=1))
    _, found = calendar(ws, "--persona", "personal")
    assert [(e["summary"], e["status"]) for e in found.values()] == [
        ("Went out last week.", "CONFIRMED")
    ]


def test_output_file_and_unknown_persona(ws):
    queue(ws, "--persona", "personal", "--text", "To a file.", "--at", "+1h", "--to", "home-feed")
    out = ws.root / "cal" / "all.ics"
    r = ws.run("calendar", "--output", str(out))
    assert r.code == 0, r.err
    assert [e["summary"] for e in events(out.read_bytes()).values()] == ["To a file."]
    bad = ws.run("calendar", "--persona", "nobody")
    assert bad.code == 2 and "unknown persona 'nobody'" in bad.err


def test_daemon_keeps_each_personas_calendar_file(ws, tmp_path):
    for name in ("personal", "professional"):
        path = ws.profiles / f"{name}.toml"
        path.write_text(f'calendar_file = "calendars/{name}.ics"\n' + path.read_text())
    home_file = ws.root / "calendars" / "personal.ics"
    pro_file = ws.root / "calendars" / "professional.ics"
    env = env_for(tmp_path)
    proc = start_daemon(ws.config, env, tmp_path / "daemon.log")
    try:
        wait_for(lambda: home_file.exists() and pro_file.exists(), timeout=30)
        assert events(home_file.read_bytes()) == {}
        r = crosspost(
            ws.config,
            "queue",
            "--persona",
            "personal",
            "--text",
            "Hive check.",
            "--at",
            "+2h",
            "--to",
            "home-feed",
            "--format",
            "json",
            env=env,
        )
        assert r.returncode == 0, r.stderr

        def shown():
            return [e["summary"] for e in events(home_file.read_bytes()).values()]

        wait_for(lambda: shown() == ["Hive check."], timeout=20, interval=0.2)
        assert events(pro_file.read_bytes()) == {}, "another persona's post never shows"
        import json

        post_id = json.loads(r.stdout)["id"]
        assert crosspost(ws.config, "cancel", str(post_id), env=env).returncode == 0
        wait_for(lambda: shown() == [], timeout=20, interval=0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, (tmp_path / "daemon.log").read_text()
    assert not list((ws.root / "calendars").glob("*.tmp")), "no temporary files left behind"
