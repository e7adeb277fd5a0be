"""Notices per persona: real apprise against a local SMTP server and a local JSON receiver."""

from __future__ import annotations

import logging
import os
import signal
import time
import zlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from crosspost.when import format_local
from tests.fakes.receivers import FakeSmtp, FakeWebhook, free_port
from tests.support.procs import env_for, start_daemon, wait_for
from tests.test_daemon import ENTRY, queue_json, set_due_now, summary

CHICAGO = ZoneInfo("America/Chicago")
LEASE_OVER = timedelta(minutes=6)


def set_notify(ws, persona: str, *urls: str, digest: str | None = None) -> None:
    """Top-level keys go before the profile's first table."""
    path = ws.profiles / f"{persona}.toml"
    lines = [f"notify = [{', '.join(repr(u) for u in urls)}]"]
    if digest:
        lines.append(f'notify_digest = "{digest}"')
    path.write_text("\n".join(lines) + "\n" + path.read_text())


def notices(ws) -> list:  # type: ignore[type-arg]
    from crosspost.models import Notification

    with ws.app().store.read() as s:
        return list(s.exec(select(Notification).order_by(Notification.id)))


@pytest.fixture
def hook():  # type: ignore[no-untyped-def]
    with FakeWebhook() as h:
        yield h


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with FakeSmtp() as s:
        yield s


def due_entry(ws) -> int:
    q = queue_json(
        ws, str(ws.write("e.md", ENTRY)), "--persona", "professional", "--at", "+1h", "--to", "blog"
    )
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(seconds=1))
    return int(q["id"])


# -- profiles ---------------------------------------------------------------------------------


def test_a_url_apprise_does_not_understand_is_a_profile_error_that_keeps_its_secret(ws):
    set_notify(ws, "personal", "json://127.0.0.1:9/hook", "nosuchservice://user:hunter22@x")
    r = ws.run("personas")
    assert r.code == 2
    assert "personal.toml notify[1]" in r.err
    assert "nosuchservice://" in r.err and "apprise does not understand" in r.err
    assert "hunter22" not in r.err
    assert "notify[0]" not in r.err, "the good URL is fine"


def test_urls_found_good_once_load_without_apprise(ws, tmp_path):
    """apprise reads a URL only after loading all its plugins: an unchanged profile skips it."""
    import subprocess
    import sys

    set_notify(ws, "personal", "json://127.0.0.1:9/hook")
    script = (
        "import sys; from pathlib import Path; from crosspost.app import App; "
        f"App(Path({str(ws.config)!r})).personas; print('apprise' in sys.modules)"
    )
    env = env_for(tmp_path)

    def loads() -> str:
        r = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
        )
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    assert loads() == "True", "the first time apprise checks it"
    assert loads() == "False"
    # a new URL is checked, a bad one refused
    path = ws.profiles / "personal.toml"
    path.write_text(path.read_text().replace("json://127.0.0.1:9/hook", "nosuchservice://x"))
    r = ws.run("personas")
    assert r.code == 2 and "notify[0]" in r.err


def test_a_digest_time_must_be_a_time_of_day(ws):
    set_notify(ws, "personal", "json://127.0.0.1:9/hook", digest="25:00")
    r = ws.run("personas")
    assert r.code == 2
    assert "personal.toml" in r.err and "notify_digest" in r.err and "'18:00'" in r.err


# -- events from the daemon -------------------------------------------------------------------


def test_a_transient_failure_notifies_only_once_retries_are_used_up(ws, wp_blog, hook):
    set_notify(ws, "professional", hook.apprise_url())
    post_id = due_entry(ws)
    wp_blog.fail_next(429, method="POST", path="/wp/v2/posts", headers={"Retry-After": "600"})
    r = ws.run("daemon", "--once")
    assert "retrying 1" in summary(r)
    assert hook.messages() == [] and notices(ws) == []

    # the retry is due and fails too: with two attempts allowed, that was the last one
    ws.write(
        "config.toml",
        'profiles_dir = "profiles"\ndata_dir = "data"\n[daemon.retry]\nmax_attempts = 2\n',
    )
    set_due_now(ws, post_id, datetime.now(UTC) - timedelta(seconds=1))
    wp_blog.fail_next(429, method="POST", path="/wp/v2/posts", headers={"Retry-After": "600"})
    r = ws.run("daemon", "--once")
    assert "failed 1" in summary(r)
    (msg,) = hook.messages()
    assert msg["title"] == "crosspost (professional): a post failed: Boundaries Online"
    assert f'Post {post_id} "Boundaries Online"' in msg["message"]
    assert "Target: blog" in msg["message"]
    assert "gave up after 2 attempts" in msg["message"]
    assert msg["type"] == "info"


def test_rejected_credentials_say_how_to_log_in_once_across_restarts(ws, wp_blog, isolated, smtp):
    set_notify(ws, "professional", smtp.apprise_url("ana@harborpsych.example"))
    isolated.set_password("crosspost/professional/blog", "app_password", "wrong password")
    post_id = due_entry(ws)
    r = ws.run("daemon", "--once")
    assert "failed 1" in summary(r)
    (mail,) = smtp.bodies()
    assert "credentials rejected: Boundaries Online" in mail
    assert "crosspost accounts login blog --persona professional" in mail
    assert "wrong password" not in mail

    # the same failure again, after a restart: still one notice for this delivery
    assert ws.run("retry", str(post_id)).code == 0
    set_due_now(ws, post_id, datetime.now(UTC) - timedelta(seconds=1))
    r = ws.run("daemon", "--once")
    assert "failed 1" in summary(r)
    assert len(smtp.bodies()) == 1
    (row,) = notices(ws)
    assert row.event == "credentials" and row.sent_at is not None


def test_missing_credentials_are_a_failure_not_a_rejection(ws, wp_blog, isolated, hook):
    set_notify(ws, "professional", hook.apprise_url())
    isolated.delete_password("crosspost/professional/blog", "app_password")
    due_entry(ws)
    r = ws.run("daemon", "--once")
    assert "failed 1" in summary(r)
    (msg,) = hook.messages()
    assert msg["title"] == "crosspost (professional): a post failed: Boundaries Online"
    assert "accounts login" in msg["message"]


def test_a_held_post_is_notified_by_mail(ws, smtp):
    set_notify(ws, "personal", smtp.apprise_url("ana.bee@gmail.com"))
    q = queue_json(
        ws, "--persona", "personal", "--text", "A day late.", "--at", "+2h", "--to", "home-feed"
    )
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(days=1))
    r = ws.run("daemon", "--once")
    assert "held 1" in summary(r)
    (mail,) = smtp.bodies()
    assert "crosspost (personal): a post is held: A day late." in mail
    assert f"crosspost release {q['id']}" in mail
    assert smtp.messages[0]["To"] == "ana.bee@gmail.com"


def test_an_unknown_outcome_is_notified(ws, hook, monkeypatch):
    from crosspost.platforms.feed import FeedAdapter

    def breaks_mid_call(self, pub):  # type: ignore[no-untyped-def]
        raise RuntimeError("connection reset while writing")

    monkeypatch.setattr(FeedAdapter, "publish", breaks_mid_call)
    set_notify(ws, "personal", hook.apprise_url())
    q = queue_json(
        ws, "--persona", "personal", "--text", "Hives.", "--at", "+1h", "--to", "home-feed"
    )
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(seconds=1))
    r = ws.run("daemon", "--once")
    assert "unknown 1" in summary(r)
    (msg,) = hook.messages()
    assert "unclear whether a post went out: Hives." in msg["title"]
    assert f"crosspost resolve {q['id']} --target home-feed" in msg["message"]


def test_a_persona_never_hears_of_another(ws, hook):
    """Personal's post trips over a term of professional's identity at publish time: personal
    is told which rule fired where, never the term nor whose it is; professional hears nothing."""
    set_notify(ws, "personal", hook.apprise_url("/personal"))
    set_notify(ws, "professional", hook.apprise_url("/professional"))
    q = queue_json(
        ws,
        "--persona",
        "personal",
        "--text",
        "Honey from the Willow Creek Clinic garden.",
        "--at",
        "+1h",
        "--to",
        "home-feed",
    )
    # professional's identity grows after queueing: the guard at publish time knows it
    ws.add_professional_term("Willow Creek Clinic")
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(seconds=1))
    r = ws.run("daemon", "--once")
    assert "blocked 1" in summary(r), r.err
    assert hook.messages("/professional") == []
    (msg,) = hook.messages("/personal")
    text = msg["title"] + "\n" + msg["message"]
    assert "the leak guard blocked a post" in text
    assert "[identity] in body" in text
    for other in ("professional", "Willow Creek", "Reyes", "Harbor", "harborpsych", "pro-"):
        assert other not in text, other
    # and the stored notice is what was sent
    (row,) = notices(ws)
    assert row.persona == "personal" and "Willow" not in row.body


def test_the_daemon_tells_every_persona_once_when_the_database_is_unreachable(ws, hook):
    from crosspost.daemon import Daemon

    set_notify(ws, "personal", hook.apprise_url("/personal"))
    set_notify(ws, "professional", hook.apprise_url("/professional"))
    app = ws.app()
    d = Daemon(app, once=True)
    _ = app.personas
    db = app.store.path
    app.store.engine.dispose()
    db.write_bytes(os.urandom(4096))
    for path in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)
    try:
        for _ in range(2):
            with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
                d.dispatch()
    finally:
        d.pool.shutdown()
    for persona in ("personal", "professional"):
        (msg,) = hook.messages(f"/{persona}")
        assert msg["title"] == "crosspost: the daemon cannot reach its database"
        assert str(db) in msg["message"]
        assert "persona" not in msg["message"] + msg["title"]


def test_a_running_daemon_sends_each_notice_once_across_restarts(ws, hook, tmp_path):
    """A notice kept before the daemon ran, and one of a post it holds: each arrives once,
    and a daemon started again (after a stop, or a kill -9) sends neither again."""
    set_notify(ws, "personal", hook.apprise_url())
    keep(ws, "personal", "Kept before the start", datetime.now(UTC))
    q = queue_json(
        ws, "--persona", "personal", "--text", "A day late.", "--at", "+2h", "--to", "home-feed"
    )
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(days=1))
    env = env_for(tmp_path)
    log = tmp_path / "daemon.log"
    proc = start_daemon(ws.config, env, log)
    try:
        wait_for(lambda: len(hook.messages()) == 2, timeout=30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        proc = start_daemon(ws.config, env, log)
        time.sleep(3)  # its first check of the notices runs at the start
        proc.kill()
        proc.wait(30)
        proc = start_daemon(ws.config, env, log)
        time.sleep(3)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    titles = sorted(m["title"] for m in hook.messages())
    assert titles == [
        "crosspost (personal): a post failed: Kept before the start",
        "crosspost (personal): a post is held: A day late.",
    ], log.read_text()
    assert all(n.sent_at is not None for n in notices(ws))


# -- sending ----------------------------------------------------------------------------------


def keep(ws, persona: str, title: str, at: datetime) -> None:
    from crosspost.models import Post
    from crosspost.notices import FAILED, record

    app = ws.app()
    delivery = zlib.crc32(title.encode())
    post = Post(
        id=7, persona=persona, kind="short", title=title, body=title, slug="x", scheduled_at=at
    )
    assert record(
        app.store,
        app.personas.get(persona),
        FAILED,
        post,
        targets=["home-feed"],
        error="HTTP 500",
        delivery_id=delivery,
        now=at,
    )


def test_a_digest_sends_the_days_notices_at_its_time(ws, hook):
    from crosspost.notices import Sender

    set_notify(ws, "personal", hook.apprise_url(), digest="18:00")
    morning = datetime(2026, 3, 9, 9, 0, tzinfo=CHICAGO).astimezone(UTC)
    keep(ws, "personal", "First", morning)
    keep(ws, "personal", "Second", morning + timedelta(hours=2))
    sender = Sender(ws.app())
    assert sender.flush(datetime(2026, 3, 9, 17, 59, tzinfo=CHICAGO)) == 0
    assert hook.messages() == []
    assert sender.flush(datetime(2026, 3, 9, 18, 0, 30, tzinfo=CHICAGO)) == 2
    (msg,) = hook.messages()
    assert msg["title"] == "crosspost (personal): 2 notices"
    assert "a post failed: First" in msg["message"] and "a post failed: Second" in msg["message"]
    # sent once: the next flush has nothing
    assert sender.flush(datetime(2026, 3, 10, 18, 1, tzinfo=CHICAGO)) == 0
    assert len(hook.messages()) == 1


def test_next_digest_is_the_next_local_time_across_dst():
    from crosspost.notifysend import next_digest

    before = datetime(2026, 3, 7, 19, 0, tzinfo=CHICAGO)  # Saturday evening, CST
    assert next_digest(before, "18:00", CHICAGO) == datetime(2026, 3, 8, 18, 0, tzinfo=CHICAGO)
    assert next_digest(before, "18:00", CHICAGO).utcoffset() == timedelta(0)
    assert next_digest(datetime(2026, 3, 8, 23, 0, tzinfo=UTC), "18:00", CHICAGO) == (
        datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # 18:00 CDT on the day the clocks moved
    ) + timedelta(days=1)


def test_a_failing_url_is_retried_a_few_times_without_resending_to_the_working_one(
    ws, hook, caplog
):
    from crosspost.notices import MAX_ATTEMPTS, RETRY_DELAYS, Sender

    dead = f"json://notifier:s3cret-pw@127.0.0.1:{free_port()}/hook"
    set_notify(ws, "personal", hook.apprise_url(), dead)
    now = datetime.now(UTC)
    keep(ws, "personal", "Stuck", now)
    sender = Sender(ws.app())
    caplog.set_level(logging.DEBUG)
    assert sender.flush(now) == 0
    assert len(hook.messages()) == 1
    (row,) = notices(ws)
    assert row.attempts == 1 and row.sent_at is None
    assert row.next_try_at == now + RETRY_DELAYS[0]
    assert "notify[1] (json)" in row.last_error
    assert sender.flush(now + timedelta(seconds=30)) == 0, "not due yet"
    t = now
    for delay in RETRY_DELAYS:
        t += delay
        sender.flush(t)
    (row,) = notices(ws)
    assert row.attempts == MAX_ATTEMPTS and row.sent_at is None
    assert len(hook.messages()) == 1, "the URL that worked got it once"
    sender.flush(t + timedelta(days=1))
    assert notices(ws)[0].attempts == MAX_ATTEMPTS, "given up"
    assert any("giving up" in r.getMessage() for r in caplog.records)
    assert not any("s3cret-pw" in r.getMessage() for r in caplog.records)
    assert "s3cret-pw" not in (row.last_error or "")


def test_one_notice_per_event_and_delivery_and_one_sender_per_notice(ws, hook, ws_database):
    from crosspost.models import Post
    from crosspost.notices import FAILED, UNKNOWN, Sender, pending, record

    set_notify(ws, "personal", hook.apprise_url())
    app = ws.app()
    persona = app.personas.get("personal")
    now = datetime.now(UTC)
    post = Post(id=3, persona="personal", kind="short", body="Hives.", slug="h", scheduled_at=now)
    kw = {"targets": ["home-feed"], "error": "HTTP 500", "delivery_id": 9}
    assert record(app.store, persona, FAILED, post, **kw)
    assert not record(ws.app().store, persona, FAILED, post, **kw), "seen again: no second"
    assert record(app.store, persona, UNKNOWN, post, **kw), "another event of it: a notice"
    rows = pending(app.store)
    assert [r.event for r in rows] == [FAILED, UNKNOWN]
    # two daemons sending at once: each notice is taken by one of them
    first, second = Sender(app), Sender(ws.app())
    assert first._lease(rows, now) == rows
    assert second._lease(rows, now) == []
    assert second.flush(now) == 0 and hook.messages() == []
    assert first.flush(now + LEASE_OVER) == 2
    assert len(hook.messages()) == 2
    assert Sender(ws.app()).flush(now + 2 * LEASE_OVER) == 0
    assert len(hook.messages()) == 2


# -- notify test ------------------------------------------------------------------------------


def test_notify_test_reports_each_url(ws, hook, smtp):
    dead = f"json://notifier:s3cret-pw@127.0.0.1:{free_port()}/hook"
    set_notify(ws, "personal", hook.apprise_url(), smtp.apprise_url("ana.bee@gmail.com"))
    set_notify(ws, "professional", dead)
    r = ws.run("notify", "test", "--persona", "personal")
    assert r.code == 0, r.out + r.err
    lines = r.out.strip().splitlines()
    assert len(lines) == 2 and all(line.endswith(": ok") for line in lines)
    assert lines[0].startswith("personal: notify[0] json://127.0.0.1:")
    (msg,) = hook.messages()
    assert msg["title"] == "crosspost (personal): test notice"
    assert "professional" not in msg["message"]
    assert len(smtp.messages) == 1

    r = ws.run("notify", "test")
    assert r.code == 1
    failed = [line for line in r.out.splitlines() if "failed" in line]
    assert len(failed) == 1 and failed[0].startswith("professional: notify[0]")
    assert "Connection error" in failed[0]
    assert "s3cret-pw" not in r.out + r.err
    assert len(hook.messages()) == 2


def test_notify_test_without_urls_says_where_to_add_them(ws):
    r = ws.run("notify", "test", "--persona", "personal")
    assert r.code == 2
    assert "persona 'personal' has no notify URLs" in r.err
    assert "personal.toml" in r.err
    r = ws.run("notify", "test")
    assert r.code == 2 and "no persona has notify URLs" in r.err


def test_a_login_that_ends_soon_is_told_once_per_login(ws, hook):
    """LinkedIn's token expires in three days: the persona hears it once, however often the
    daemon runs; a new login with a new expiry is told again when that one nears."""
    from tests.test_status import LINKEDIN, login_linkedin

    pro = ws.profiles / "professional.toml"
    pro.write_text(pro.read_text() + LINKEDIN)
    set_notify(ws, "professional", hook.apprise_url("/professional"))
    set_notify(ws, "personal", hook.apprise_url("/personal"))
    ends = login_linkedin(ws, timedelta(days=3))
    for _ in range(2):
        r = ws.run("daemon", "--once")
        assert r.code == 0, r.err
    (msg,) = hook.messages("/professional")
    assert msg["title"] == "crosspost (professional): an account's login ends soon: pro-linkedin"
    assert f"The login ends: {format_local(ends, CHICAGO)}" in msg["message"]
    assert "crosspost accounts login pro-linkedin" in msg["message"]
    assert hook.messages("/personal") == []

    # logged in again, for a token that ends in two days: a new notice
    login_linkedin(ws, timedelta(days=2))
    assert ws.run("daemon", "--once").code == 0
    assert len(hook.messages("/professional")) == 2


def test_a_login_far_from_its_end_is_not_told(ws, hook):
    from tests.test_status import LINKEDIN, login_linkedin

    pro = ws.profiles / "professional.toml"
    pro.write_text(pro.read_text() + LINKEDIN)
    set_notify(ws, "professional", hook.apprise_url())
    login_linkedin(ws, timedelta(days=50))
    assert ws.run("daemon", "--once").code == 0
    assert hook.messages() == [] and notices(ws) == []


def test_a_notify_url_kept_in_the_keyring_is_used_and_never_written_down(
    ws, hook, isolated, monkeypatch
):
    import io
    import sys

    url = hook.apprise_url().replace("json://", "json://notifier:pw-in-keyring@")
    monkeypatch.setattr(sys, "stdin", io.StringIO(url + "\n"))
    r = ws.run("notify", "add", "phone", "--persona", "personal", "--stdin")
    assert r.code == 0, r.err
    assert "add 'keyring:phone' to notify" in r.out and "personal.toml" in r.out
    assert isolated.get_password("crosspost/personal/:notify", "phone") == url
    set_notify(ws, "personal", "keyring:phone")
    q = queue_json(
        ws, "--persona", "personal", "--text", "A day late.", "--at", "+2h", "--to", "home-feed"
    )
    set_due_now(ws, q["id"], datetime.now(UTC) - timedelta(days=1))
    r = ws.run("daemon", "--once")
    assert "held 1" in summary(r)
    (msg,) = hook.messages()
    assert "a post is held: A day late." in msg["title"]
    assert "pw-in-keyring" not in r.out + r.err
    assert all("pw-in-keyring" not in n.body + n.title for n in notices(ws))
    checks = {c["check"]: c for c in ws.run("doctor", "--format", "json").json()["checks"]}
    assert checks["personal notify[0] (keyring)"]["ok"] is True


def test_a_missing_keyring_url_says_how_to_add_it(ws):
    set_notify(ws, "personal", "keyring:phone")
    r = ws.run("notify", "test", "--persona", "personal")
    assert r.code == 1
    assert "no notify URL 'phone' in the keyring" in r.out
    assert "crosspost notify add phone --persona personal" in r.out
    doctor = ws.run("doctor", "--format", "json").json()
    checks = {c["check"]: c for c in doctor["checks"]}
    assert checks["personal notify[0] (keyring)"]["ok"] is False


def test_a_password_written_in_the_profile_is_a_doctor_failure(ws):
    set_notify(ws, "personal", "json://notifier:s3cret-pw@127.0.0.1:9/hook", "ntfy://bee-posts")
    r = ws.run("doctor", "--format", "json")
    checks = {c["check"]: c for c in r.json()["checks"]}
    bad = checks["personal notify[0] (json)"]
    assert bad["ok"] is False and "crosspost notify add LABEL --persona personal" in bad["fix"]
    assert checks["personal notify[1] (ntfy)"]["ok"] is True
    assert "s3cret-pw" not in r.out + r.err


def test_notify_add_refuses_what_it_cannot_use(ws, isolated, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO("nosuchservice://user:hunter22@x\n"))
    r = ws.run("notify", "add", "phone", "--persona", "personal", "--stdin")
    assert r.code == 2 and "apprise does not understand" in r.err
    assert "hunter22" not in r.err
    assert isolated.get_password("crosspost/personal/:notify", "phone") is None
    r = ws.run("notify", "add", "Phone!", "--persona", "personal", "--stdin")
    assert r.code == 2 and "not a label" in r.err
    set_notify(ws, "personal", "keyring:Bad Label")
    r = ws.run("personas")
    assert r.code == 2 and "notify[0]" in r.err and "keyring:phone" in r.err


def test_a_password_in_a_profile_url_is_kept_out_of_the_logs_too():
    from crosspost.logs import redact
    from crosspost.notifysend import resolve

    url = "json://notifier:inline-pw-123@127.0.0.1:9/hook"
    assert resolve("personal", url) == url
    assert "inline-pw-123" not in redact(f"POST {url} failed")
