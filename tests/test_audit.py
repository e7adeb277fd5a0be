"""The audit log keeps no matched text, old logs can be redacted, truncation shows.

Store-level tests run on SQLite and, with CROSSPOST_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text

from crosspost.models import AuditRecord
from crosspost.store import GENESIS, MIGRATIONS, AuditEntry, Store, known_revisions, normalise_url
from tests.support.pgdb import new_database

CLIENT = "Jonathan Whitcombe"
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


# -- helpers ---------------------------------------------------------------------------------


def db_bytes(db: Path) -> bytes:
    """Everything SQLite keeps on disk for ``db``: the file, its WAL and rollback journal."""
    out = b""
    for suffix in ("", "-wal", "-journal"):
        p = Path(str(db) + suffix)
        if p.exists():
            out += p.read_bytes()
    return out


def add_client(ws, monkeypatch, name: str = CLIENT) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(name + "\n"))
    r = ws.run("guard", "add-confidential", "professional", "--stdin")
    assert r.code == 0, r.err


def old_hash(prev: str, row: dict) -> str:
    """How version 0001 chained its records (kept here to build logs written the old way)."""
    body = {
        "at": row["at"].astimezone(UTC).isoformat(),
        "kind": row["kind"],
        "persona": row["persona"],
        "post_id": row["post_id"],
        "rule": row["rule"],
        "reason": row["reason"],
        "detail": row["detail"],
    }
    blob = prev + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


OLD_ROWS = [
    (
        "blocked",
        "professional",
        "confidential",
        None,
        {
            "match": CLIENT,
            "field": "body",
            "source": None,
            "message": "confidential identifier (listed by persona 'professional'): client "
            "identifiers are never published",
        },
    ),
    (
        "blocked",
        "professional",
        "identity",
        None,
        {
            "match": "Tomasz Bee",
            "field": "body",
            "source": "/home/ana/drafts/walk.md",
            "message": "name 'Tomasz Bee' identifies persona 'personal'",
        },
    ),
    (
        "override",
        "personal",
        "separation",
        "approved by the practice",
        {
            "match": "2026-03-01T10:00:00+00:00",
            "field": "at",
            "source": None,
            "message": "scheduled 2026-03-01 10:00 is within 45m of post 1 of persona 'professional'",
        },
    ),
    ("edit", "personal", None, None, {"post": 3}),
]


def write_old_log(url: str) -> list[dict]:
    """A database at revision 0001 holding records written before matched text was hashed."""
    from alembic import command
    from alembic.config import Config

    engine = create_engine(normalise_url(url))
    at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    rows = []
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        prev = GENESIS
        for i, (kind, persona, rule, reason, detail) in enumerate(OLD_ROWS):
            row = {
                "at": at + timedelta(minutes=i),
                "kind": kind,
                "persona": persona,
                "post_id": None,
                "rule": rule,
                "reason": reason,
                "detail": detail,
            }
            row["prev_hash"] = prev
            row["hash"] = prev = old_hash(prev, row)
            conn.execute(insert(AuditRecord.__table__), [row])  # type: ignore[attr-defined]
            rows.append(row)
    engine.dispose()
    return rows


def remove_last_records(store: Store, n: int) -> None:
    """What an attacker with access to the database file can do: bypass the triggers."""
    with store.engine.begin() as c:
        if store.is_sqlite:
            c.execute(text("DROP TRIGGER auditrecord_no_delete"))
        else:
            c.execute(text("ALTER TABLE auditrecord DISABLE TRIGGER auditrecord_append_only"))
        last = c.execute(text("SELECT max(id) FROM auditrecord")).scalar()
        c.execute(text("DELETE FROM auditrecord WHERE id > :k"), {"k": last - n})


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'q.db'}"
        return
    with new_database() as url:
        yield url


def open_store(url: str, key: bytes | None = KEY) -> Store:
    s = Store(url)
    s.audit_key = lambda: key
    return s


# -- 1. no matched text in the database --------------------------------------------------------


def test_blocked_post_leaves_no_plain_text_in_the_database(ws, monkeypatch):
    add_client(ws, monkeypatch)
    post = f"Coffee with {CLIENT} after group, and Tomasz Bee says hi."
    r = ws.run("queue", "--persona", "professional", "--text", post)
    assert r.code == 1 and "[confidential]" in r.err and "[identity]" in r.err
    # check prints the matches, on the terminal only
    r = ws.run("check", "--persona", "professional", "--text", post, "--format", "json")
    assert r.code == 1
    assert {f["match"] for f in r.json()["findings"]} == {CLIENT, "Tomasz Bee"}
    raw = db_bytes(ws.root / "data" / "crosspost.db")
    for secret in (CLIENT, "Whitcombe", "Tomasz Bee", "Tomasz"):
        assert secret.encode() not in raw, secret
        assert secret.encode("utf-16-le") not in raw, secret
    records = ws.run("audit", "--format", "json").json()["records"]
    assert len(records) == 4  # two findings, blocked by queue and by check
    profile = (ws.profiles / "professional.toml").read_text()
    for rec in records:
        d = rec["detail"]
        assert rec["kind"] == "blocked" and "match" not in d
        assert d["field"] == "body"
        assert post[d["start"] : d["end"]] in (CLIENT, "Tomasz Bee")
        assert d["match_hmac"].startswith("hmac-sha256:")
        if rec["rule"] == "confidential":
            # the same keyed hash as the profile's entry: a record names which client it was
            assert d["match_hmac"] in profile
        else:
            assert rec["rule"] == "identity" and d["owner"] == "personal"
    out = ws.run("audit").out
    assert "confidential" in out and "body" in out and "hmac-sha256:" in out
    assert CLIENT not in out and "Tomasz" not in out
    v = ws.run("audit", "--verify")
    assert v.code == 0 and "4 records" in v.out


def test_publish_time_block_stores_no_matched_text(ws):
    from .test_daemon import queue_json, set_due_now

    q = queue_json(
        ws,
        "--persona",
        "personal",
        "--text",
        "Lunch with Maple Grove friends.",
        "--at",
        "+1h",
        "--to",
        "home-feed",
    )
    ws.add_professional_term("Maple Grove")
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(seconds=1))
    assert ws.run("daemon", "--once").code == 1  # blocked at publish time
    target = ws.run("show", str(q["id"]), "--format", "json").json()["targets"][0]
    assert "blocked by the leak guard at publish time" in target["error"]
    assert "[identity]" in target["error"] and "body" in target["error"]
    assert "Maple Grove" not in target["error"]
    recs = ws.run("audit", "--format", "json").json()["records"]
    assert {r["detail"]["field"] for r in recs} >= {"body"}
    for rec in recs:
        assert rec["detail"]["at"] == "publish" and rec["detail"]["target"] == "home-feed"
        assert rec["detail"]["match_hmac"].startswith("hmac-sha256:2:")
    assert "maple" not in json.dumps(recs).lower()


def test_store_hashes_a_match_from_any_caller(db_url):
    s = open_store(db_url)
    s.audit(
        [
            AuditEntry(
                "blocked",
                "professional",
                rule="identity",
                detail={"match": "Tomasz Bee", "field": "title", "start": 0, "end": 10},
            )
        ]
    )
    (rec,), _ = s.audit_records()
    assert "match" not in rec.detail and rec.detail["field"] == "title"
    from crosspost.guard.confidential import hash_confidential

    assert rec.detail["match_hmac"] == hash_confidential("Tomasz Bee", KEY)
    # without a key there is no hash, and still no plain text
    nokey = open_store(db_url, key=None)
    nokey.audit(
        [AuditEntry("blocked", "personal", rule="never-mention", detail={"match": "Maple Grove"})]
    )
    recs, _ = nokey.audit_records()
    assert recs[0].detail == {"match_hmac": None}
    assert nokey.verify_audit() == []


# -- 3. truncation -------------------------------------------------------------------------------


def test_verify_detects_records_removed_from_the_end(db_url):
    s = open_store(db_url)
    for i in range(5):
        s.audit([AuditEntry("blocked", "personal", rule="identity", detail={"i": i})])
    assert s.check_audit(KEY).problems == []
    remove_last_records(s, 2)
    problems = s.check_audit(KEY).problems
    assert any("2 records were removed from the end" in p for p in problems), problems
    # a later append does not hide it
    s.audit([AuditEntry("blocked", "personal", rule="identity", detail={"i": 9})])
    assert any("removed from the end" in p for p in s.check_audit(KEY).problems)


def test_verify_detects_a_rewritten_head(db_url):
    s = open_store(db_url)
    for i in range(3):
        s.audit([AuditEntry("blocked", "personal", rule="identity", detail={"i": i})])
    remove_last_records(s, 1)
    with s.engine.begin() as c:  # the attacker also fixes the head, without the key
        last = c.execute(text("SELECT hash FROM auditrecord ORDER BY id DESC LIMIT 1")).scalar()
        if s.is_sqlite:
            c.execute(text("DROP TRIGGER audit_head_forward"))
        else:
            c.execute(text("ALTER TABLE audit_head DISABLE TRIGGER audit_head_forward"))
        c.execute(text("UPDATE audit_head SET records = 2, head_hash = :h"), {"h": last})
    assert any("signature" in p for p in s.check_audit(KEY).problems)
    # without the key the forged head cannot be told apart, and verify says what it skipped
    report = s.check_audit(None)
    assert report.problems == [] and any("not checked" in n for n in report.notes)


def test_head_refuses_going_backwards_and_deletes(db_url):
    s = open_store(db_url)
    s.audit([AuditEntry("blocked", "personal", rule="identity")])
    with pytest.raises(Exception, match="append-only"), s.engine.begin() as c:
        c.execute(text("UPDATE audit_head SET records = 0"))
    with pytest.raises(Exception, match="append-only"), s.engine.begin() as c:
        c.execute(text("DELETE FROM audit_head"))


def test_cli_verify_reports_truncation(ws):
    for _ in range(3):
        assert ws.run("check", "--persona", "personal", "--text", "Harbor Psychology").code == 1
    store = ws.app().store
    remove_last_records(store, 2)
    r = ws.run("audit", "--verify")
    assert r.code == 1
    assert "2 records were removed from the end" in r.out
    v = ws.run("audit", "--verify", "--format", "json").json()
    assert not v["ok"] and v["head"]["records"] == 3 and v["records"] == 1


# -- migration 0002 ------------------------------------------------------------------------------


def test_database_at_0001_is_upgraded_with_its_head(db_url):
    rows = write_old_log(db_url)
    s = open_store(db_url)
    assert s.current_revision() == known_revisions()[-1]
    report = s.check_audit(KEY)
    assert report.problems == []
    assert report.records == len(rows) and report.head == rows[-1]["hash"]
    assert any("audit redact" in n for n in report.notes), report.notes
    s.audit([AuditEntry("blocked", "personal", rule="identity")])
    assert s.check_audit(KEY).problems == []


# -- 2. redaction of old logs --------------------------------------------------------------------


def test_redaction_rechains_and_is_recorded(db_url):
    rows = write_old_log(db_url)
    s = open_store(db_url)
    done = s.redact_audit(KEY)
    assert done is not None
    assert done.records == [1, 2, 3]
    assert done.fields == {"match": [1, 2, 3], "message": [2]}
    assert done.old_head == rows[-1]["hash"]
    recs, total = s.audit_records()
    assert total == len(rows) + 1
    red = recs[0]
    assert red.kind == "redaction" and red.detail["records"] == [1, 2, 3]
    assert red.detail["fields"] == {"match": [1, 2, 3], "message": [2]}
    assert "old_head_hmac" in red.detail and "signature" in red.detail
    by_id = {r.id: r for r in recs}
    assert "match" not in by_id[1].detail and by_id[1].detail["match_hmac"].startswith("hmac-")
    assert "message" in by_id[1].detail  # the confidential message names no client
    assert "message" not in by_id[2].detail and by_id[2].detail["source"]
    assert by_id[3].detail["message"].startswith("scheduled")  # kept: no text of the post
    assert by_id[4].detail == {"post": 3}
    dump = json.dumps([r.model_dump(mode="json") for r in recs])
    assert CLIENT not in dump and "Tomasz" not in dump
    report = s.check_audit(KEY)
    assert report.problems == []
    (r,) = report.redactions
    assert r["id"] == red.id and r["records"] == [1, 2, 3] and r["signature"] == "valid"
    # the trigger is back
    with pytest.raises(Exception, match="append-only"), s.engine.begin() as c:
        c.execute(text("UPDATE auditrecord SET reason = 'x' WHERE id = 1"))
    # nothing left to redact: nothing happens, nothing is recorded
    assert s.redact_audit(KEY) is None
    assert s.audit_records()[1] == total


def test_redaction_signature_is_checked(db_url):
    write_old_log(db_url)
    s = open_store(db_url)
    s.redact_audit(KEY)
    report = s.check_audit(OTHER_KEY)
    assert any("redaction record 5" in p and "signature" in p for p in report.problems)


def test_cli_redact_of_a_log_written_the_old_way(ws):
    db = ws.root / "data" / "crosspost.db"
    db.parent.mkdir()
    write_old_log(f"sqlite:///{db}")
    before = ws.run("audit", "--verify")
    assert before.code == 0, before.out
    assert "3 records hold matched text" in before.out and "crosspost audit redact" in before.out
    r = ws.run("audit", "redact")
    assert r.code == 0, r.err
    assert "records 1, 2, 3" in r.out
    raw = db_bytes(db)
    for secret in (CLIENT, "Whitcombe", "Tomasz"):
        assert secret.encode() not in raw, secret
    v = ws.run("audit", "--verify")
    assert v.code == 0, v.out
    assert "redaction" in v.out and "records 1, 2, 3" in v.out and "signature valid" in v.out
    j = ws.run("audit", "--verify", "--format", "json").json()
    assert j["ok"] and j["redactions"][0]["records"] == [1, 2, 3]
    listed = ws.run("audit", "--format", "json").json()["records"]
    assert listed[0]["kind"] == "redaction"
    again = ws.run("audit", "redact")
    assert again.code == 0 and "nothing to redact" in again.out


def test_redact_without_a_keyring_is_refused(ws, monkeypatch):
    import keyring
    from keyring.backends import fail

    db = ws.root / "data" / "crosspost.db"
    db.parent.mkdir()
    write_old_log(f"sqlite:///{db}")
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    r = ws.run("audit", "redact")
    assert r.code == 2 and "keyring" in r.err and "Traceback" not in r.err
    assert CLIENT.encode() in db_bytes(db), "nothing was changed"


def test_redaction_restores_the_trigger_as_it_was(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    write_old_log(url)
    s = open_store(url)
    query = text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    with s.engine.connect() as c:
        before = c.execute(query).all()
    s.redact_audit(KEY)
    with s.engine.connect() as c:
        assert c.execute(query).all() == before


def test_redaction_refuses_a_damaged_log(db_url):
    from crosspost.errors import Refused

    write_old_log(db_url)
    s = open_store(db_url)
    remove_last_records(s, 1)
    with pytest.raises(Refused, match="fails verification"):
        s.redact_audit(KEY)
    recs, _ = s.audit_records()
    assert recs[-1].detail["match"] == CLIENT, "nothing was changed"
