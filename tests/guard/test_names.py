"""Names as people write them (``names.toml``): initials, citations, titles, inflections,
a distinctive surname alone — and no block across punctuation or for lowercase prose."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from crosspost.guard import GuardProfile, TextField, build_matcher, check_content
from crosspost.guard._words import is_common, language

DATA = tomllib.loads((Path(__file__).parent / "names.toml").read_text("utf-8"))
MATCHER = build_matcher([GuardProfile(**p) for p in DATA["persona"]])
CASES = DATA["case"]
NAME_RULES = ("identity", "confidential")


def _id(case: dict) -> str:
    return f"{case['expect']}-{case['persona']}-{case['text'][:40]}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_name_fixture(case: dict) -> None:
    text = case["text"]
    findings = check_content(MATCHER, case["persona"], [TextField("body", text)])
    for f in findings:
        assert text[f.start : f.end] == f.match, f
    hits = [f for f in findings if f.rule.split(".")[0] in NAME_RULES]
    expect = case["expect"]
    if expect == "none":
        assert hits == [], hits
    elif expect == "no-block":
        assert not any(f.blocks for f in hits), hits
    elif expect == "warn":
        assert hits and not any(f.blocks for f in hits), hits
    else:
        assert any(f.blocks for f in hits), f"no block in {text!r}: {findings}"
    if "rule" in case:
        assert case["rule"] in [f.rule for f in hits], hits
    if "match" in case:
        assert case["match"] in [f.match for f in hits], hits


def test_fixtures_cover_both_directions_and_german() -> None:
    kinds = {c["expect"] for c in CASES}
    assert {"block", "warn", "none", "no-block"} <= kinds
    assert any(c["persona"] == "campaign" and c["expect"] == "block" for c in CASES)
    assert any(c["persona"] == "campaign" and c["expect"] == "none" for c in CASES)


def test_surname_warning_is_a_warning_that_can_be_raised_or_switched_off() -> None:
    profiles = [GuardProfile(**p) for p in DATA["persona"]]
    text = "Brannigan came round."
    pen = next(p for p in profiles if p.name == "pen")
    for override, expected in (
        ({"identity.surname": "block"}, ["block"]),
        ({"identity.surname": "off"}, []),
        ({}, ["warn"]),
    ):
        others = [p for p in profiles if p.name != "pen"]
        m = build_matcher([*others, GuardProfile(**{**pen.__dict__, "severity": override})])
        found = check_content(m, "pen", [TextField("body", text)])
        assert [f.severity for f in found if f.rule == "identity.surname"] == expected


def test_ordinary_words_by_language() -> None:
    assert is_common("marsh", "en") and is_common("Heather", "en")
    assert not is_common("Brannigan", "en") and not is_common("Ana", "en")
    assert is_common("Vogel", "de") and not is_common("Marsh", "de")
    assert language("en-GB") == "en" and language("de_DE") == "de" and language(None) == "en"


CAMPAIGN = """
display_name = "Jana Vogel"
lang = "de"
[identity]
names = ["Jana Vogel"]
[[accounts]]
name = "campaign-feed"
platform = "feed"
path = "campaign.xml"
"""


def test_check_cli_reads_names_in_the_persona_language(ws) -> None:  # type: ignore[no-untyped-def]
    ws.write("profiles/campaign.toml", CAMPAIGN)
    post = ws.write("post.md", "Ana Bees Honig, Dr. Reyes’ Buch und A. Reyes.\n")
    r = ws.run("check", str(post), "--persona", "campaign", "--format", "json")
    assert r.code == 1, r.out + r.err
    data = r.json()
    raw = post.read_text("utf-8")
    assert [(f["rule"], f["match"]) for f in data["findings"]] == [
        ("identity", "Ana Bees"),
        ("identity", "Dr. Reyes"),
        ("identity", "A. Reyes"),
    ]
    for f in data["findings"]:
        assert raw[f["start"] : f["end"]] == f["match"]
    # the German genitive is a form of German posts only
    r = ws.run("check", str(post), "--persona", "professional", "--format", "json")
    assert "Ana Bees" not in [f["match"] for f in r.json()["findings"]]


def test_an_unknown_language_code_is_a_config_error(ws) -> None:  # type: ignore[no-untyped-def]
    ws.write("profiles/campaign.toml", CAMPAIGN.replace('"de"', '"german!"'))
    post = ws.write("post.md", "Hallo\n")
    r = ws.run("check", str(post), "--persona", "campaign")
    assert r.code == 2
    assert "lang" in r.err and "campaign.toml" in r.err
