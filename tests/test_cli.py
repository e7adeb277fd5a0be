"""The CLI end to end, in process: exit codes, messages, JSON shapes, nothing lost."""

from __future__ import annotations

import subprocess
import sys

import pytest

ENTRY = """---
title: Therapy and Social Networking
tags: [social media, ethics]
summary: How clinicians keep their online lives apart
---
Blogging and social networking bring opportunities to share information and counter stigma.
"""


def count_posts(ws) -> int:
    return ws.run("list", "--format", "json").json()["total"]


def test_queue_list_show_reschedule_cancel(ws):
    entry = ws.write("entry.md", ENTRY)
    r = ws.run("queue", str(entry), "--persona", "professional", "--at", "+2h", "--format", "json")
    assert r.code == 0, r.err
    q = r.json()
    assert q["targets"] == ["blog", "pro-x", "pro-mastodon"]
    short = ws.run(
        "queue", "--persona", "personal", "--text", "Hives wrapped for winter.", "--at", "+5h"
    )
    assert short.code == 0, short.err
    assert "queued post 2" in short.out

    listing = ws.run("list", "--format", "json").json()
    assert listing["total"] == 2
    first = listing["posts"][0]
    assert first["persona"] == "professional" and first["status"] == "queued"
    assert {t["target"] for t in first["targets"]} == {"blog", "pro-x", "pro-mastodon"}
    assert first["scheduled_at"].endswith("Z")
    only_personal = ws.run("list", "--persona", "personal", "--format", "json").json()
    assert [p["id"] for p in only_personal["posts"]] == [2]

    shown = ws.run("show", str(q["id"]), "--format", "json").json()
    assert shown["title"] == "Therapy and Social Networking"
    assert shown["source_changed"] is False
    entry.write_text(ENTRY.replace("stigma", "STIGMA"))
    shown = ws.run("show", str(q["id"]), "--format", "json").json()
    assert shown["source_changed"] is True
    assert "stigma" in shown["body"], "the queued snapshot does not follow file edits"
    assert "changed since queued" in ws.run("show", str(q["id"])).out

    r = ws.run("reschedule", str(q["id"]), "--at", "2099-01-02 09:00")
    assert r.code == 0 and "2099-01-02 09:00 CST" in r.out
    r = ws.run("cancel", str(q["id"]))
    assert r.code == 0
    r = ws.run("cancel", str(q["id"]))
    assert r.code == 1 and "nothing left to cancel" in r.err
    assert ws.run("reschedule", str(q["id"]), "--at", "+1h").code == 1


def test_routing_to_another_personas_account_is_refused(ws):
    r = ws.run("queue", "--persona", "professional", "--text", "hello", "--to", "home-bsky")
    assert r.code == 1
    assert "belongs to persona 'personal'" in r.err
    assert "no override" in r.err
    assert count_posts(ws) == 0
    audit = ws.run("audit", "--format", "json").json()
    assert audit["records"][0]["rule"] == "routing"
    r = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        "hi",
        "--to",
        "home-bsky",
        "--allow",
        "routing",
        "--reason",
        "please",
    )
    assert r.code == 2 and "routing cannot be overridden" in r.err
    assert count_posts(ws) == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--persona", "work", "--text", "x"], 2, "unknown persona 'work'"),
        (
            ["--persona", "professional", "--text", "x", "--to", "pro-myspace"],
            2,
            "unknown account 'pro-myspace'",
        ),
        (
            ["--persona", "personal", "--text", "x", "--to", "blog,nope"],
            2,
            "unknown account 'nope'",
        ),
        (
            ["--persona", "professional", "--text", "x", "--at", "2001-01-01 10:00"],
            2,
            "in the past",
        ),
        (
            ["--persona", "professional", "--text", "x", "--at", "whenever"],
            2,
            "not a time I understand",
        ),
        (["--persona", "professional", "--text", "x", "--at", "+1h", "--next-slot"], 2, "not both"),
        (["--persona", "professional", "--text", "   "], 2, "empty"),
        (["--persona", "professional"], 2, "give a FILE"),
        (
            ["--persona", "professional", "--text", "x", "--allow", "identity"],
            2,
            "--allow needs --reason",
        ),
        (["--text", "x"], 2, "which persona"),
    ],
)
def test_queue_errors_leave_queue_untouched(ws, args, code, message):
    r = ws.run("queue", *args)
    assert r.code == code, (r.out, r.err)
    assert message in r.err
    assert "Traceback" not in r.err
    assert count_posts(ws) == 0


def test_bad_files_leave_queue_untouched(ws, tmp_path):
    bad = ws.write("bad.md", "---\ntitel: oops\n---\nbody\n")
    r = ws.run("queue", str(bad), "--persona", "professional")
    assert r.code == 2 and "did you mean 'title'" in r.err and "bad.md" in r.err
    latin = tmp_path / "latin.md"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    r = ws.run("queue", str(latin), "--persona", "professional")
    assert r.code == 2 and "not UTF-8" in r.err
    r = ws.run("queue", str(tmp_path / "missing.md"), "--persona", "professional")
    assert r.code == 2 and "file not found" in r.err
    mismatch = ws.write("m.md", "---\npersona: personal\n---\nbody\n")
    r = ws.run("queue", str(mismatch), "--persona", "professional")
    assert r.code == 2 and "make them agree" in r.err
    assert count_posts(ws) == 0


def test_leak_is_blocked_then_overridden_with_reason(ws):
    text = "Proud of my colleagues at Harbor Psychology today."
    r = ws.run("queue", "--persona", "personal", "--text", text)
    assert r.code == 1
    assert "identity" in r.err and "professional" in r.err
    assert count_posts(ws) == 0
    r = ws.run(
        "queue",
        "--persona",
        "personal",
        "--text",
        text,
        "--allow",
        "identity",
        "--reason",
        "public event announcement approved by the practice",
        "--at",
        "+3h",
    )
    assert r.code == 0, r.err
    assert count_posts(ws) == 1
    records = ws.run("audit", "--format", "json").json()["records"]
    kinds = [(rec["kind"], rec["rule"]) for rec in records]
    assert ("override", "identity") in kinds and ("blocked", "identity") in kinds
    override = next(rec for rec in records if rec["kind"] == "override")
    assert override["reason"].startswith("public event")
    v = ws.run("audit", "--verify", "--format", "json").json()
    assert v["ok"] and v["records"] == len(records)


def test_allow_for_a_rule_that_did_not_fire_is_an_error(ws):
    r = ws.run(
        "queue",
        "--persona",
        "personal",
        "--text",
        "Bees!",
        "--allow",
        "identity",
        "--reason",
        "just in case",
    )
    assert r.code == 2 and "no such finding" in r.err
    assert count_posts(ws) == 0


def test_check_json_contract_with_offsets_into_the_file(ws):
    f = ws.write(
        "leak.md",
        "---\ntitle: Visit anabee.example\ntags: [bees]\n---\n\nMore from Ana Bee soon.\n",
    )
    r = ws.run("check", str(f), "--persona", "professional", "--format", "json")
    assert r.code == 1
    data = r.json()
    assert data["persona"] == "professional" and data["blocked"] is True
    raw = f.read_text()
    assert data["findings"], data
    for finding in data["findings"]:
        assert set(finding) >= {"rule", "severity", "match", "start", "end", "message"}
        assert raw[finding["start"] : finding["end"]] == finding["match"]
    matches = {x["match"] for x in data["findings"]}
    assert "anabee.example" in matches and "Ana Bee" in matches
    clean = ws.write("clean.md", "Boundaries matter in therapy.\n")
    r = ws.run("check", str(clean), "--persona", "professional", "--format", "json")
    assert r.code == 0 and r.json() == {"persona": "professional", "blocked": False, "findings": []}


def test_next_slot_uses_free_slots(ws):
    a = ws.run(
        "queue", "--persona", "professional", "--text", "one", "--next-slot", "--format", "json"
    ).json()
    b = ws.run(
        "queue", "--persona", "professional", "--text", "two", "--next-slot", "--format", "json"
    ).json()
    assert a["scheduled_at"] != b["scheduled_at"]
    assert a["scheduled_at"] < b["scheduled_at"]


def test_dst_note_is_shown(ws):
    r = ws.run("queue", "--persona", "professional", "--text", "spring", "--at", "2099-03-08 02:30")
    assert r.code == 0
    assert "does not exist" in r.out and "03:30" in r.out


def test_preview_counts_per_target(ws):
    entry = ws.write("entry.md", ENTRY)
    r = ws.run("preview", str(entry), "--persona", "professional", "--format", "json")
    assert r.code == 0, r.err
    items = {t["target"]: t for t in r.json()["targets"]}
    assert items["pro-x"]["limit"] == 280
    assert (
        "https://harborpsych.example/posts/therapy-and-social-networking/" in items["pro-x"]["text"]
    )
    assert items["pro-x"]["length"] <= 280


def test_init_never_overwrites(tmp_path, capsys):
    from crosspost.cli import run

    d = tmp_path / "fresh"
    assert run(["init", str(d)]) == 0
    assert (d / "profiles" / "professional.toml").exists()
    (d / "config.toml").write_text("# mine\n")
    assert run(["init", str(d)]) == 0
    assert (d / "config.toml").read_text() == "# mine\n"
    out = capsys.readouterr().out
    assert "kept" in out


def test_newer_database_is_refused_cleanly(ws):
    from sqlalchemy import create_engine, text

    assert ws.run("list").code == 0
    db = ws.root / "data" / "crosspost.db"
    with create_engine(f"sqlite:///{db}").begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    r = ws.run("list")
    assert r.code == 2 and "newer crosspost" in r.err and "Traceback" not in r.err


def test_list_imports_no_sdk(ws):
    ws.run("queue", "--persona", "personal", "--text", "bees", "--at", "+1h")
    code = (
        "import sys; from crosspost.cli import run; "
        f"rc = run(['--config', {str(ws.config)!r}, 'list']); "
        "heavy = [m for m in ('tweepy', 'mastodon', 'atproto', 'apscheduler', 'httpx', "
        "'ahocorasick', 'phonenumbers', 'PIL', 'alembic') if m in sys.modules]; "
        "print('HEAVY', heavy, rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY [] 0" in out.stdout, out.stdout + out.stderr


def test_queue_warns_about_accounts_not_logged_in(ws, isolated):
    r = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        "note",
        "--at",
        "+1h",
        "--to",
        "pro-x,pro-mastodon",
    )
    assert r.code == 0
    assert "crosspost accounts login pro-x" in r.err
    isolated.set_password("crosspost/professional/pro-mastodon", "access_token", "t0ken-xyz")
    r = ws.run(
        "queue",
        "--persona",
        "professional",
        "--text",
        "note 2",
        "--at",
        "+2h",
        "--to",
        "pro-mastodon",
        "--format",
        "json",
    )
    assert r.json()["not_logged_in"] == []


def test_an_id_past_64_bits_is_no_such_post(ws):
    r = ws.run("show", str(2**63))
    assert r.code == 1 and "no post with id" in r.err and "Traceback" not in r.err, r.err
