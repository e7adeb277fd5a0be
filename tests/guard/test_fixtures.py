"""Table-driven true/false-positive fixtures for identity, never-mention and confidential."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from crosspost.guard import Matcher, TextField, check_content, rule_matches

CASES = tomllib.loads((Path(__file__).parent / "fixtures.toml").read_text("utf-8"))["case"]


def _id(case: dict) -> str:
    kind = "tp" if case["expect"] else "fp"
    return f"{kind}-{case['rule']}-{case['persona']}-{case['text'][:40]}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_fixture(matcher: Matcher, case: dict) -> None:
    text = case["text"]
    field = case.get("field", "body")
    findings = check_content(matcher, case["persona"], [TextField(field, text)])
    for f in findings:
        assert text[f.start : f.end] == f.match, f
        assert f.field == field
    hits = [f for f in findings if rule_matches(case["rule"], f.rule)]
    if not case["expect"]:
        assert hits == [], f"unexpected findings: {hits}"
        return
    assert hits, f"nothing found in {text!r}; all findings: {findings}"
    if "match" in case:
        assert case["match"] in [f.match for f in hits], hits
    if "owner" in case:
        assert case["owner"] in [f.owner for f in hits], hits
    assert all(f.severity == "block" for f in hits)


def test_every_content_rule_has_both_kinds_of_fixture() -> None:
    for rule in ("identity", "never-mention", "confidential"):
        kinds = {c["expect"] for c in CASES if c["rule"] == rule}
        assert kinds == {True, False}, rule
