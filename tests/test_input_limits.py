"""Times beyond what can be scheduled and arguments that are not UTF-8 are usage errors:
exit 2 and one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crosspost.errors import UsageError
from crosspost.when import localize, parse_when

CHI = ZoneInfo("America/Chicago")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "tz"),
    [
        ("9999-12-31 23:59", CHI),  # past the last UTC instant datetime can hold
        ("9999-12-31T23:59:00-05:00", CHI),
        ("9999-12-31", KIRITIMATI),  # fits in UTC, but nowhere near room for anything after it
        ("9999-06-01 12:00", CHI),
        ("0001-01-01T00:00+05:00", CHI),  # before the first instant
        ("+999999999d", CHI),
        ("+99999999999d", CHI),  # more days than timedelta holds
    ],
)
def test_times_out_of_range(text, tz):
    with pytest.raises(UsageError, match="out of range"):
        parse_when(text, tz, NOW)


def test_the_last_schedulable_day_still_works():
    assert parse_when("9998-12-31 12:00", CHI, NOW).utc == datetime(9998, 12, 31, 18, 0, tzinfo=UTC)


def test_localize_out_of_range_is_a_usage_error():
    with pytest.raises(UsageError, match="out of range"):
        localize(datetime(9999, 12, 31, 23, 59), CHI)
    with pytest.raises(UsageError, match="out of range"):
        localize(datetime(9999, 6, 1, 9, 0), CHI)
    assert localize(datetime(2030, 1, 1, 9, 0), CHI).utc == datetime(2030, 1, 1, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "at", ["9999-12-31 23:59", "10000-01-01 00:00", "+999999999d", "9999-12-31T20:00"]
)
@pytest.mark.parametrize("command", ["queue", "reschedule"])
def test_out_of_range_at_on_the_command_line(ws, at, command):
    if command == "queue":
        args = ["queue", "--persona", "professional", "--text", "x", "--at", at]
    else:
        r = ws.run("queue", "--persona", "professional", "--text", "x", "--at", "+1h")
        assert r.code == 0, r.err
        args = ["reschedule", "1", "--at", at]
    r = ws.run(*args)
    assert r.code == 2, r.err
    assert r.err.startswith("error: --at") and r.err.strip().count("\n") == 0, r.err
    assert "unexpected" not in r.err


@pytest.mark.parametrize(
    "at", ["9999-12-31T23:59:00-05:00", "9999-06-01T09:00:00+00:00", "9999-12-31 23:59"]
)
def test_out_of_range_at_in_front_matter(ws, at):
    entry = ws.write("far.md", f"---\ntitle: Far away\nat: {at}\n---\nSome day.\n")
    r = ws.run("queue", str(entry), "--persona", "professional", "--to", "pro-x")
    assert r.code == 2, r.err
    assert "out of range" in r.err and r.err.strip().count("\n") == 0, r.err
    assert "unexpected" not in r.err
    assert ws.run("list", "--all", "--format", "json").json()["total"] == 0


def crosspost_bytes(ws, *args: bytes) -> subprocess.CompletedProcess[bytes]:
    """argv as raw bytes, as a shell in a non-UTF-8 session would pass them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_")}
    env["LC_ALL"] = "C.UTF-8"
    return subprocess.run(
        [sys.executable, "-m", "crosspost", "--config", str(ws.config), *args],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        [b"queue", b"--persona", b"professional", b"--text", b"caf\xe9 au lait", b"--at", b"+1h"],
        [b"queue", b"--persona", b"professional", b"--text=caf\xe9", b"--at", b"+1h"],
        [b"check", b"--persona", b"professional", b"--text", b"caf\xe9"],
        [b"preview", b"--persona", b"professional", b"--text", b"caf\xe9"],
        [
            b"queue",
            b"--persona",
            b"professional",
            b"--text",
            b"ok",
            b"--at",
            b"+1h",
            b"--allow",
            b"identity",
            b"--reason",
            b"client asked \xff",
        ],
    ],
)
def test_arguments_that_are_not_utf8(ws, args):
    r = crosspost_bytes(ws, *args)
    err = r.stderr.decode("utf-8")
    assert r.returncode == 2, err
    assert err.startswith("error: --") and "not UTF-8" in err, err
    assert err.strip().count("\n") == 0 and "Traceback" not in err, err
    assert "\\xe9" in err or "\\xff" in err
    assert r.stdout == b""
    assert not (ws.root / "data" / "crosspost.db").exists()


def test_a_file_name_that_is_not_utf8_is_still_a_file(ws):
    name = os.fsencode(ws.root) + b"/caf\xe9.md"
    with open(name, "w", encoding="utf-8") as f:
        f.write("Boundaries matter in therapy.\n")
    r = crosspost_bytes(ws, b"check", name, b"--persona", b"professional")
    assert r.returncode == 0, r.stderr


def test_times_near_the_limit_are_not_rejected_for_nothing():
    assert parse_when("+3650d", CHI, NOW).utc == NOW + timedelta(days=3650)
