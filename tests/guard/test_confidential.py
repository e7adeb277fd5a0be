"""Hashed confidential identifiers."""

from __future__ import annotations

import re

import pytest

from crosspost.guard import GuardProfile, TextField, build_matcher, check_content, hash_confidential
from crosspost.guard.confidential import parse_hash

from .conftest import SECRET, make_profiles


def test_hash_format_and_normalisation() -> None:
    h = hash_confidential("Marcus Whitfield", SECRET)
    assert re.fullmatch(r"hmac-sha256:2:[0-9a-f]{64}", h)
    for variant in (
        "MARCUS  WHITFIELD",
        "marcus_whitfield",
        "Mаrcus Whitfiеld",
        "M4rcus Wh1tfield",
    ):
        assert hash_confidential(variant, SECRET) == h, variant
    assert hash_confidential("Marcus Whitfield", b"other secret") != h
    assert parse_hash(h).words == 2
    with pytest.raises(ValueError, match="invalid confidential hash"):
        parse_hash("sha256:abc")
    with pytest.raises(ValueError):
        hash_confidential("  ", SECRET)


def test_hashed_identifier_found_in_every_persona_and_field(matcher) -> None:
    for persona in ("professional", "personal"):
        text = "I saw MARCUS WHITFIELD at the market"
        findings = check_content(matcher, persona, [TextField("title", text)])
        [f] = findings
        assert f.rule == "confidential" and f.severity == "block" and f.field == "title"
        assert f.match == "MARCUS WHITFIELD" and text[f.start : f.end] == f.match
        assert "Marcus" not in f.message  # the message does not reveal more than the match


def test_without_secret_hashes_are_reported_as_unchecked() -> None:
    m = build_matcher(make_profiles())
    assert any("cannot be checked" in n for n in m.notes)
    assert check_content(m, "personal", [TextField("body", "Marcus Whitfield")]) == []


def test_hash_without_word_count_checks_up_to_four_words() -> None:
    pro, per = make_profiles()
    legacy = hash_confidential("Anna Maria Lopez Diaz", SECRET).replace(":4:", ":", 1)
    pro = GuardProfile(**{**pro.__dict__, "confidential_hashes": (legacy,)})
    m = build_matcher([pro, per], secret=SECRET)
    findings = check_content(m, "personal", [TextField("body", "met anna maria lopez diaz")])
    assert [f.match for f in findings] == ["anna maria lopez diaz"]
