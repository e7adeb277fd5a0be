"""Times shown to people are in the persona's timezone, with its abbreviation; JSON stays UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crosspost.when import format_local, parse_when

CHI = ZoneInfo("America/Chicago")
#: what format_local writes: "Tue 2026-12-01 09:00 CST"
SHAPE = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d{2}-\d{2} \d{2}:\d{2} [A-Z]{3,4}\b")


@pytest.mark.parametrize(
    ("dt", "tz", "expected"),
    [
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "America/Chicago", "Tue 2026-12-01 09:00 CST"),
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), CHI, "Tue 2026-12-01 09:00 CST"),
        (datetime(2026, 7, 1, 14, 0, tzinfo=UTC), CHI, "Wed 2026-07-01 09:00 CDT"),
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "Europe/Berlin", "Tue 2026-12-01 16:00 CET"),
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "UTC", "Tue 2026-12-01 15:00 UTC"),
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), UTC, "Tue 2026-12-01 15:00 UTC"),
        # naive times are UTC, the store's convention
        (datetime(2026, 12, 1, 15, 0), CHI, "Tue 2026-12-01 09:00 CST"),
    ],
)
def test_format_local(dt, tz, expected):
    assert format_local(dt, tz) == expected


def test_past_time_error_is_local():
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    with pytest.raises(
        Exception,
        match=r"in the past \(Tue 2026-12-01 08:00 CST; now is "
        r"Tue 2026-12-01 09:00 CST\)",
    ):
        parse_when("2026-12-01 08:00", CHI, now)


def test_dst_notes_are_local():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    spring = parse_when("2026-03-08 02:30", CHI, now).note
    assert spring is not None and "Sun 2026-03-08 03:30 CDT" in spring
    fall = parse_when("2026-11-01 01:30", CHI, now).note
    assert fall is not None and "Sun 2026-11-01 01:30 CDT" in fall and "UTC" not in fall


def test_queue_list_show_reschedule_show_local_times(ws):
    r = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        "Office hours moved.",
        "--to",
        "pro-x",
        "--at",
        "2099-01-02 09:00",
    )
    assert r.code == 0, r.err
    assert "at Fri 2099-01-02 09:00 CST" in r.out
    listing = ws.run("list")
    assert "Fri 2099-01-02 09:00 CST" in listing.out, listing.out
    shown = ws.run("show", "1")
    assert "scheduled: Fri 2099-01-02 09:00 CST" in shown.out
    moved = ws.run("reschedule", "1", "--at", "2099-07-03 10:00")
    assert "rescheduled for Fri 2099-07-03 10:00 CDT" in moved.out
    data = ws.run("show", "1", "--format", "json").json()
    assert data["scheduled_at"] == "2099-07-03T15:00:00Z", "JSON keeps UTC"


def test_separation_refusal_names_local_times(ws):
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
    assert "scheduled Mon 2099-06-01 10:20 CDT" in b.err
    assert "at Mon 2099-06-01 10:00 CDT" in b.err
    assert "next allowed time: Mon 2099-06-01 10:45 CDT" in b.err
    assert "UTC" not in b.err


def test_next_allowed_time_is_rounded_up_to_a_whole_minute(ws):
    a = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        "Office closed Friday.",
        "--at",
        "2099-06-01T10:00:30-05:00",
    )
    assert a.code == 0, a.err
    b = ws.run(
        "queue", "--persona", "personal", "--text", "Garden day!", "--at", "2099-06-01 10:20"
    )
    assert "next allowed time: Mon 2099-06-01 10:46 CDT" in b.err


def test_audit_shows_the_records_persona_timezone(ws):
    path = ws.profiles / "personal.toml"
    path.write_text(
        path.read_text().replace('timezone = "America/Chicago"', 'timezone = "Europe/Berlin"')
    )
    r = ws.run("check", "--persona", "personal", "--text", "Ask Dr. Reyes at harborpsych.example")
    assert r.code == 1
    records = ws.run("audit", "--format", "json").json()["records"]
    assert records and all(rec["at"].endswith("Z") for rec in records)
    at = datetime.fromisoformat(records[0]["at"].replace("Z", "+00:00"))
    text = ws.run("audit").out
    assert format_local(at, "Europe/Berlin") in text
    assert "(UTC)" not in text


def test_daemon_notes_use_the_persona_timezone(ws):
    """The separation wait and the retry time, stored as the target's note for `show`."""
    from crosspost.claims import claim
    from crosspost.errors import TransientError
    from crosspost.publisher import Publisher

    path = ws.profiles / "personal.toml"
    path.write_text(
        path.read_text().replace('timezone = "America/Chicago"', 'timezone = "Asia/Tokyo"')
    )
    r = ws.run(
        "queue",
        "--persona",
        "personal",
        "--text",
        "Hives wrapped for winter.",
        "--to",
        "home-feed",
        "--at",
        "+1h",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    post_id = r.json()["id"]
    app = ws.app()
    later = datetime.now(UTC) + timedelta(hours=2)
    [c] = claim(app.store, "w1", later, timedelta(minutes=2), {}, 4)
    Publisher(app)._transient(c, TransientError("the server is busy"), None)
    target = ws.run("show", str(post_id), "--format", "json").json()["targets"][0]
    assert re.search(r"retrying at \w{3} \d{4}-\d{2}-\d{2} \d{2}:\d{2} JST", target["error"])
    assert "UTC" not in target["error"]


def test_separation_wait_note_is_local(ws):
    from sqlmodel import select

    from crosspost.models import Delivery, Post

    (ws.root / "site-pro" / "content" / "posts").mkdir(parents=True)
    entry = ws.write("e.md", "---\ntitle: Boundaries Online\n---\nThe frame still matters.\n")
    ids = []
    for args in (
        ["--persona", "professional", str(entry), "--to", "blog", "--at", "+1h"],
        [
            "--persona",
            "personal",
            "--text",
            "Garden day, bees everywhere.",
            "--to",
            "home-feed",
            "--at",
            "+3h",
        ],
    ):
        r = ws.run("queue", *args, "--format", "json")
        assert r.code == 0, r.err
        ids.append(r.json()["id"])
    now = datetime.now(UTC)
    with ws.app().store.write() as s:
        for post_id, ago in zip(ids, (2, 1), strict=True):
            p = s.get(Post, post_id)
            p.scheduled_at = now - timedelta(minutes=ago)
            s.add(p)
            for d in s.exec(select(Delivery).where(Delivery.post_id == post_id)):
                d.due_at = p.scheduled_at
                s.add(d)
    assert ws.run("daemon", "--once").code == 0
    waiting = ws.run("show", str(ids[1]), "--format", "json").json()["targets"][0]
    assert "separation" in waiting["error"]
    assert SHAPE.search(waiting["error"]) and "UTC" not in waiting["error"], waiting["error"]


def test_front_matter_time_in_the_past_is_shown_locally(ws):
    entry = ws.write("old.md", "---\ntitle: Old news\nat: 2001-01-01 10:00:00\n---\nBody.\n")
    r = ws.run("queue", str(entry), "--persona", "professional")
    assert r.code == 2
    assert "front matter 'at' (Mon 2001-01-01 10:00 CST) is in the past (now is " in r.err


def test_a_broken_profile_shows_utc_and_says_why(ws):
    """The queue stays readable with a broken profile, and the user learns why times are UTC."""
    r = ws.run(
        "queue",
        "--persona",
        "personal",
        "--text",
        "Hives wrapped for winter.",
        "--to",
        "home-feed",
        "--at",
        "+1h",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    path = ws.profiles / "personal.toml"
    path.write_text(
        path.read_text().replace(
            'timezone = "America/Chicago"', 'timezone = "America/Chicago"\nshare = "{titel}"'
        )
    )
    for args in (["list"], ["show", str(r.json()["id"])]):
        shown = ws.run(*args)
        assert shown.code == 0, shown.err
        assert " UTC" in shown.out
        assert "warning: times are shown in UTC until the profiles load" in shown.err
        assert "{titel}" in shown.err
