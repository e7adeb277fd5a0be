"""The clinician pack: inline fixtures of every rule, severity overrides, pack opt-in."""

from __future__ import annotations

import pytest

from crosspost.guard import (
    PACK_RULES,
    GuardProfile,
    Report,
    TextField,
    build_matcher,
    check_content,
)
from crosspost.guard._text import Normalised
from crosspost.guard.packs import PACKS, scan_pack

from .conftest import make_profiles

TP = [(r.id, t) for r in PACK_RULES.values() for t in r.true_positives]
FP = [(r.id, t) for r in PACK_RULES.values() for t in r.false_positives]


def _rules_found(text: str) -> set[str]:
    return {rule.id for rule, _, _ in scan_pack("clinician", Normalised(text))}


@pytest.mark.parametrize(("rule", "text"), TP, ids=[f"{r}:{t[:30]}" for r, t in TP])
def test_true_positive(rule: str, text: str) -> None:
    assert rule in _rules_found(text)


@pytest.mark.parametrize(("rule", "text"), FP, ids=[f"{r}:{t[:30]}" for r, t in FP])
def test_false_positive(rule: str, text: str) -> None:
    assert rule not in _rules_found(text)


def test_every_pack_rule_has_fixtures() -> None:
    expected = {
        "clinician.client-disclosure",
        "clinician.session-content",
        "clinician.testimonial",
        "clinician.diagnosis",
        "clinician.check-in",
    }
    assert set(PACK_RULES) == expected
    for rule in PACK_RULES.values():
        assert len(rule.true_positives) >= 3 and len(rule.false_positives) >= 3, rule.id
        assert rule.severity == "warn"
        assert rule.rationale and rule.summary
    assert [r.id for r in PACKS["clinician"]] == list(PACK_RULES)


EXTRA_TP = [
    ("clinician.client-disclosure", "my patient K. made progress"),
    ("clinician.session-content", "іn ѕеssіоn tоdау she finally cried"),  # Cyrillic look-alikes
    ("clinician.session-content", "in\u200b session\u200b today"),
    ("clinician.testimonial", "Former clients: testimonials welcome!"),
    ("clinician.diagnosis", "I think Trump is a malignant narcissist."),
    ("clinician.check-in", "Checked in at Lakeside Yoga, 14 Elm Street"),
]
EXTRA_FP = [
    "Therapy works best when it fits your life.",
    "I diagnose nothing on the internet.",
    "Session musicians are underrated.",
    "The Office is my comfort show.",
    "We visited 3 farms and 2 markets.",
    "Borderline weather today, might rain.",
    "Ratings for the new season look good.",
]


@pytest.mark.parametrize(("rule", "text"), EXTRA_TP)
def test_extra_true_positives(rule: str, text: str) -> None:
    assert rule in _rules_found(text)


@pytest.mark.parametrize("text", EXTRA_FP)
def test_extra_false_positives(text: str) -> None:
    assert _rules_found(text) == set()


def test_pack_runs_only_for_personas_that_opt_in(matcher) -> None:
    text = "In session today a client told me something."
    pro = check_content(matcher, "professional", [TextField("body", text)])
    per = check_content(matcher, "personal", [TextField("body", text)])
    assert {f.rule for f in pro} == {"clinician.session-content"}
    assert per == []
    f = pro[0]
    assert text[f.start : f.end] == f.match
    assert f.severity == "warn" and not f.blocks
    assert f.owner is None


def test_severity_override_raises_and_switches_off() -> None:
    pro, per = make_profiles()
    pro = GuardProfile(
        **{**pro.__dict__, "severity": {"clinician.testimonial": "block", "clinician.check-in": "off"}}
    )
    m = build_matcher([pro, per])
    text = "Please leave a review on Google! Checked in at the office on 5th Street."
    findings = check_content(m, "professional", [TextField("body", text)])
    rules = {f.rule: f.severity for f in findings}
    assert rules == {"clinician.testimonial": "block"}
    report = Report("professional", tuple(findings))
    assert report.blocked
    assert not report.with_allowances({"clinician": "approved by supervisor"}).blocked


def test_prefix_override_and_identity_cannot_be_lowered() -> None:
    pro, per = make_profiles()
    pro = GuardProfile(**{**pro.__dict__, "severity": {"clinician": "block", "identity": "warn"}})
    m = build_matcher([pro, per])
    findings = check_content(
        m, "professional", [TextField("body", "Trump is clearly a narcissist, says Ana Bee")]
    )
    sev = {f.rule: f.severity for f in findings}
    assert sev == {"clinician.diagnosis": "block", "identity": "block"}


def test_unknown_pack_or_rule_is_a_configuration_error() -> None:
    pro, per = make_profiles()
    with pytest.raises(ValueError, match="unknown rule pack"):
        build_matcher([GuardProfile(**{**pro.__dict__, "packs": ("lawyer",)}), per])
    with pytest.raises(ValueError, match="unknown rule"):
        build_matcher([GuardProfile(**{**pro.__dict__, "severity": {"clinican": "block"}}), per])
    with pytest.raises(ValueError, match="severity"):
        GuardProfile(name="x", severity={"identity": "loud"})
