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


@pytest.mark.parametrize("rule", list(PACK_RULES.values()), ids=list(PACK_RULES))
def test_a_rule_scanned_alone_finds_what_the_pack_scan_finds(rule) -> None:
    """``PackRule.scan`` without keyword hits looks for the rule's keywords itself."""
    for text in (*rule.true_positives, *rule.false_positives):
        n = Normalised(text)
        in_pack = [(s, e) for r, s, e in scan_pack("clinician", n) if r is rule]
        assert sorted(rule.scan(n)) == sorted(in_pack), text
        assert bool(in_pack) == (text in rule.true_positives), text


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
        **{
            **pro.__dict__,
            "severity": {"clinician.testimonial": "block", "clinician.check-in": "off"},
        }
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


# -- the fast paths of the pack scan are exact --------------------------------------------------
#
# ``scan_pack`` finds keywords with one automaton over a masked copy of ``norm`` and tries the
# regexes only where a match can start (``anchored``/``first``) or where the window holds a
# literal every match contains (``requires``). The reference below is the plain algorithm: an
# automaton of the bare keywords over ``norm``, the boundary check per hit, and ``search`` over
# every window. Both must give the same spans, in the same order.


def _reference_scan_pack(n: Normalised) -> list[tuple[str, int, int]]:
    import ahocorasick

    from crosspost.guard.packs.engine import keyword_ok as _keyword_ok

    rules = PACKS["clinician"]
    kw: dict[str, list[tuple[int, str]]] = {}
    for i, rule in enumerate(rules):
        for k in rule.keywords:
            kw.setdefault(k.strip("*"), []).append((i, k))
    auto = ahocorasick.Automaton()
    for word, entries in kw.items():
        auto.add_word(word, (len(word), tuple(entries)))
    auto.make_automaton()
    norm = n.norm
    hits: dict[int, list[tuple[int, int, str]]] = {}
    for end, (length, entries) in auto.iter(norm):
        start = end - length + 1
        for i, k in entries:
            if _keyword_ok(norm, start, end + 1, k):
                hits.setdefault(i, []).append((start, end + 1, k))
    out = []
    for i, kw_hits in hits.items():
        rule = rules[i]
        kw_hits = sorted(kw_hits)
        for pat in rule.patterns:
            windows: list[list[int]] = []
            for s, e, k in kw_hits:
                if pat.keywords is not None and k not in pat.keywords:
                    continue
                lo, hi = max(0, s - pat.before), min(len(norm), e + pat.after)
                if windows and lo <= windows[-1][1]:
                    windows[-1][1] = max(windows[-1][1], hi)
                else:
                    windows.append([lo, hi])
            for lo, hi in windows:
                pos = lo
                while (m := pat.regex.search(norm, pos, hi)) is not None:
                    if pat.validate is None or pat.validate(n, m):
                        out.append((rule.id, *m.span()))
                        pos = max(m.end(), m.start() + 1)
                    else:
                        pos = m.start() + 1
    return out


def _pack_corpus() -> list[str]:
    import random
    from pathlib import Path

    texts = [t for _, t in TP + FP + EXTRA_TP]
    texts += [
        line
        for line in (Path(__file__).parent / "innocent_posts.txt").read_text("utf-8").splitlines()
        if line.strip()
    ]
    rng = random.Random(1234)
    words = [
        *" ".join(texts).split(),
        "in",
        "therapy",
        "group",
        "today",
        "this",
        "morning",
        "my",
        "3pm",
        "10",
        "a.m.",
        "p.m.",
        "o’clock",
        "5-star",
        "five-star",
        "📍",
        "“office”",
        "—",
        "1200",
        "Maple",
        "St.",
        "N.",
        "_office",
        "Session",
        "with",
        "Ｏｆｆｉｃｅ",
        "ѕеssіоn",
        "a\u200bm",
        "17-year-old",
        "review",
        "reviews",
        "rate",
        "us",
        "on",
        "Google",
        "diagnose",
        "narcissist",
        "is",
        "checked",
        "at",
        "street",
        "straße",
        "client's",
        "ex",
        "named",
        "(40s,",
        "couples",
    ]
    for _ in range(1500):
        sep = rng.choice([" ", " ", "  ", "\n", ", ", " — ", ". "])
        texts.append(sep.join(rng.choice(words) for _ in range(rng.randint(2, 40))))
    # phrases close to the rules' patterns, so the fast paths are exercised on real matches
    parts = {
        "when": [
            "today",
            "tonight",
            "this morning",
            "this afternoon",
            "this evening",
            "this week",
            "yesterday",
            "earlier",
            "earlier today",
            "last night",
            "last week",
            "just now",
            "now",
            "tomorrow",
        ],
        "prep": ["in", "during", "after", "from", "before", "In", "at"],
        "det": ["", "a ", "my ", "our ", "one ", "this ", "the ", "today's "],
        "kw": ["session", "sessions", "therapy", "group", "couples therapy", "couples  therapy"],
        "client": ["client", "patient", "clients", "counselee", "therapy client", "analysand"],
        "time": ["3pm", "10 am", "9:30", "10 o'clock", "11 a.m.", "4 p.m.", "12"],
        "verb": ["told", "said", "cried", "just told", "finally said", "cancelled", "brought"],
        "num": ["1", "14", "1200", "99999", "123456", "5th", "07"],
        "dir": ["", "N. ", "s ", "W "],
        "name": [
            "Elm",
            "Maple",
            "Oak Grove",
            "zed",
            "Quay",
            "Xylo",
            "Yew",
            "Union",
            "Park",
            "north",
            "Ｍaple",
        ],
        "street": [
            "Street",
            "St.",
            "st",
            "Avenue",
            "Ave",
            "Rd",
            "Blvd",
            "Lane",
            "Way",
            "Plaza",
            "Straße",
            "Str",
            "Court",
        ],
        "review": ["review", "reviews", "testimonial", "rating", "5-star review", "recommendation"],
        "age": ["34-year-old", "17 year old", "40 yr old", "9 years old"],
    }
    templates = [
        "{prep} {det}{kw} {when} we talked",
        "{when}, {det}{client} {verb} me",
        "{when} in {kw} a {client} laughed",
        "my {time} {client} {verb}",
        "my {time} {verb} me",
        "Our office is at {num} {dir}{name} {street}, suite 3",
        "{num} {dir}{name} {street}",
        "office on {name} {street}",
        "leave a {review} for {det}{client}",
        "{review}s from former {client}s are welcome",
        "a {age} {client} asked",
        "my {client} Sarah, {age}, said",
        "session with {name} about {when}",
        "diagnose {name} with it",
    ]
    for _ in range(2500):
        t = rng.choice(templates)
        text = t.format(**{k: rng.choice(v) for k, v in parts.items()})
        if rng.random() < 0.3:
            text = rng.choice(words) + " " + text + " " + rng.choice(words)
        texts.append(text)
    return texts


def test_fast_pack_scan_equals_plain_search() -> None:
    for text in _pack_corpus():
        n = Normalised(text)
        got = [(rule.id, s, e) for rule, s, e in scan_pack("clinician", n)]
        assert got == _reference_scan_pack(n), text


def test_fast_path_annotations_are_consistent() -> None:
    """``anchored`` patterns start with one of their keywords; ``first`` is only a hint."""
    for rule in PACK_RULES.values():
        for pat in rule.patterns:
            assert not (pat.anchored and pat.first is not None), (rule.id, pat.regex.pattern)
            if pat.anchored:
                assert pat.regex.pattern.startswith(r"\b"), (rule.id, pat.regex.pattern)


def test_a_packs_patterns_are_compiled_only_once_a_text_needs_them() -> None:
    """Compiling the clinician pack's regexes cost every command a few dozen milliseconds at
    import; personas without the pack never need them, and those with it compile a pattern
    when a text reaches it. (A fresh interpreter: other tests here compile them all.)"""
    import subprocess
    import sys
    from pathlib import Path

    probe = """
from crosspost.guard import TextField, check_content, build_matcher
from crosspost.guard.packs import PACKS
from dataclasses import replace
from tests.guard.conftest import make_profiles

def compiled():
    return sum("regex" in p.__dict__ for r in PACKS["clinician"] for p in r.patterns)

profiles = [replace(p, packs=()) for p in make_profiles()]
m = build_matcher(profiles)
check_content(m, "professional", [TextField("body", "Saw a client in session today.")])
print(compiled())
m = build_matcher(make_profiles())
check_content(m, "professional", [TextField("body", "Saw a client in session today.")])
print(compiled())
"""
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.split()
    assert out[0] == "0"
    assert int(out[1]) > 0
