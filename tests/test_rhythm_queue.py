"""fingerprint.rhythm at queue time and in ``crosspost check``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def _day(n: int, hh: int, mm: int) -> str:
    base = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return (base + timedelta(days=n, hours=hh, minutes=mm)).isoformat()


def _queue(ws, persona: str, to: str, text: str, when: str):  # type: ignore[no-untyped-def]
    r = ws.run(
        "queue", "--text", text, "--persona", persona, "--to", to, "--at", when, "--format", "json"
    )
    assert r.code == 0, r.err
    return r.json()


def test_queue_and_check_warn_on_converging_rhythm(ws) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        _queue(
            ws, "professional", "pro-x", f"Practice note number {n} for this week.", _day(n, 14, 30)
        )
    for n in (3, 4):
        data = _queue(ws, "personal", "home-bsky", f"Garden diary, day {n}.", _day(n, 14, 40))
        assert all(f["rule"] != "fingerprint.rhythm" for f in data["guard"]["findings"])
    # two days are no rhythm yet; the schedule as it stands does not warn either
    r = ws.run("check", "--text", "Bees.", "--persona", "personal", "--format", "json")
    assert r.code == 0 and r.json()["findings"] == []
    data = _queue(ws, "personal", "home-bsky", "Garden diary, day five.", _day(5, 14, 35))
    rhythm = [f for f in data["guard"]["findings"] if f["rule"] == "fingerprint.rhythm"]
    assert len(rhythm) == 1 and rhythm[0]["severity"] == "warn"
    assert "persona 'professional'" in rhythm[0]["message"]
    r = ws.run("check", "--text", "Bees.", "--persona", "personal")
    assert r.code == 0  # a warning does not block
    assert "fingerprint.rhythm" in r.out


def test_queue_at_another_time_of_day_does_not_warn(ws) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        _queue(
            ws, "professional", "pro-x", f"Practice note number {n} for this week.", _day(n, 14, 30)
        )
    for n in (3, 4, 5):
        data = _queue(ws, "personal", "home-bsky", f"Garden diary, day {n}.", _day(n, 20, 0))
        assert all(f["rule"] != "fingerprint.rhythm" for f in data["guard"]["findings"])
    r = ws.run("check", "--text", "Bees.", "--persona", "personal", "--format", "json")
    assert r.json()["findings"] == []


def test_check_without_a_usable_database_still_checks_the_text(ws) -> None:  # type: ignore[no-untyped-def]
    missing = ws.root / "no-such-folder" / "x.db"
    ws.write(
        "config.toml",
        f'profiles_dir = "profiles"\ndata_dir = "data"\ndatabase_url = "sqlite:///{missing}"\n',
    )
    r = ws.run(
        "check", "--text", "Ana Bee keeps bees", "--persona", "professional", "--format", "json"
    )
    assert r.code == 1 and r.json()["blocked"]  # the identity finding stands
    assert "not compared with the other personas' posts" in r.err
