"""Durations need a unit: a bare number could mean seconds or minutes, so it is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crosspost.durations import parse_duration

#: every duration setting of config.toml: (TOML section, key)
CONFIG_DURATIONS = [
    ("", "max_lateness"),
    ("daemon", "wake_interval"),
    ("daemon", "change_check"),
    ("daemon", "lease"),
    ("daemon", "request_timeout"),
    ("daemon", "shutdown_grace"),
    ("daemon", "credentials_ttl"),
    ("daemon", "login_warning"),
    ("daemon", "feeds_interval"),
    ("daemon.retry", "base_delay"),
    ("daemon.retry", "max_delay"),
    ("guard", "correlation_window"),
]


@pytest.mark.parametrize("value", [45, 45.0, "45", " 45 "])
def test_a_number_without_unit_is_refused_with_a_suggestion(value):
    with pytest.raises(ValueError) as e:
        parse_duration(value)
    assert "no unit" in str(e.value)
    assert '"45m"' in str(e.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("45m", timedelta(minutes=45)),
        ("1h30m", timedelta(minutes=90)),
        ("90s", timedelta(seconds=90)),
        (0, timedelta(0)),
        ("0", timedelta(0)),
        (timedelta(hours=1), timedelta(hours=1)),
    ],
)
def test_durations_with_units_and_zero(value, expected):
    assert parse_duration(value) == expected


def test_the_table_covers_every_duration_setting():
    from crosspost.durations import Duration
    from crosspost.settings import DaemonSettings, GuardSettings, RetrySettings, Settings

    found = set()
    for section, model in [
        ("", Settings),
        ("daemon", DaemonSettings),
        ("daemon.retry", RetrySettings),
        ("guard", GuardSettings),
    ]:
        for name, field in model.model_fields.items():
            if field.annotation == Duration.__origin__ and field.metadata:
                found.add((section, name))
    assert found == set(CONFIG_DURATIONS)


@pytest.mark.parametrize(("section", "key"), CONFIG_DURATIONS)
@pytest.mark.parametrize("value", ["45", '"45"'])
def test_config_duration_without_unit_names_file_and_key(ws, section, key, value):
    body = f"{key} = {value}\n" if not section else f"[{section}]\n{key} = {value}\n"
    ws.write("config.toml", 'profiles_dir = "profiles"\ndata_dir = "data"\n' + body)
    r = ws.run("personas")
    assert r.code == 2, r.out
    dotted = f"{section}.{key}" if section else key
    assert f"{ws.config}: {dotted}:" in r.err
    assert '"45m"' in r.err
    assert "Traceback" not in r.err


@pytest.mark.parametrize("value", ["45", '"45"'])
def test_profile_separation_without_unit_names_file_and_key(ws, value):
    path = ws.profiles / "professional.toml"
    path.write_text(path.read_text().replace('separation = "45m"', f"separation = {value}"))
    r = ws.run("personas")
    assert r.code == 2, r.out
    assert f"{path}: guard.separation:" in r.err
    assert '"45m"' in r.err
