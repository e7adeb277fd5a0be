"""``clinician.check-in``, ``clinician.diagnosis`` and ``clinician.testimonial`` on corpora of
realistic posts (``tests/data/guard/<rule>.fire.txt`` must warn, ``<rule>.innocent.txt`` are
near-misses that must not).

The thresholds are the measured figures less a margin, not targets (``docs/guard.md``,
*Measured precision and recall, per rule*; ``benchmarks/guard_corpora.py`` prints them), and
each can fail: on the whole corpus a few posts fewer found (2 to 4) or a false alarm or two
more; on the held-out split (9 and 13 posts) one post fewer found or one false alarm more.

Measured (all posts / held-out split, every 5th post, never used for tuning):

* check-in: 37/45 found, 3/65 near-misses flagged / 8/9 found, 1/13 flagged;
* diagnosis: 44/45, 1/65 / 8/9, 0/13; its second set (``diagnosis2``, written before the
  structural rule): 54/56, 0/72 / 11/11, 0/14;
* testimonial: 38/45, 1/65 / 5/9, 1/13.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crosspost.guard import GuardProfile, TextField, build_matcher, check_content

DATA = Path(__file__).resolve().parents[1] / "data" / "guard"
CLINICIAN = Path(__file__).resolve().parents[1] / "data" / "clinician"
MATCHER = build_matcher([GuardProfile(name="clinician", packs=("clinician",))])

#: corpus (``<name>.fire.txt`` / ``<name>.innocent.txt``) -> (split -> (least recall, most
#: false-alarm rate))
THRESHOLDS: dict[str, dict[str, tuple[float, float]]] = {
    "check-in": {"all": (0.75, 0.05), "held-out": (0.75, 0.08)},
    "diagnosis": {"all": (0.90, 0.04), "held-out": (0.75, 0.08)},
    "diagnosis2": {"all": (0.90, 0.04), "held-out": (0.75, 0.08)},
    "testimonial": {"all": (0.78, 0.04), "held-out": (0.50, 0.08)},
}
#: the rule each corpus is written for
RULE = {"diagnosis2": "diagnosis"}


def _posts(path: Path) -> list[str]:
    lines = path.read_text("utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def _fires(rule: str, posts: list[str]) -> list[str]:
    out = []
    for text in posts:
        findings = check_content(MATCHER, "clinician", [TextField("body", text)])
        for f in findings:
            assert text[f.start : f.end] == f.match, (text, f)
        if any(f.rule == f"clinician.{rule}" for f in findings):
            out.append(text)
    return out


@pytest.mark.parametrize("corpus", sorted(THRESHOLDS))
def test_corpus_size(corpus: str) -> None:
    assert len(_posts(DATA / f"{corpus}.fire.txt")) >= 40
    assert len(_posts(DATA / f"{corpus}.innocent.txt")) >= 60


@pytest.mark.parametrize("split", ["all", "held-out"])
@pytest.mark.parametrize("corpus", sorted(THRESHOLDS))
def test_recall_and_false_alarms(corpus: str, split: str) -> None:
    rule = RULE.get(corpus, corpus)
    fire = _posts(DATA / f"{corpus}.fire.txt")
    innocent = _posts(DATA / f"{corpus}.innocent.txt")
    if split == "held-out":
        fire, innocent = fire[4::5], innocent[4::5]
    least_recall, most_false = THRESHOLDS[corpus][split]
    found = _fires(rule, fire)
    false_alarms = _fires(rule, innocent)
    missed = [p for p in fire if p not in found]
    assert len(found) / len(fire) >= least_recall, f"{len(found)}/{len(fire)}; missed: {missed}"
    assert len(false_alarms) / len(innocent) <= most_false, f"false alarms: {false_alarms}"


@pytest.mark.parametrize("rule", sorted({RULE.get(c, c) for c in THRESHOLDS}))
def test_quiet_on_the_other_corpora(rule: str) -> None:
    """None of the other corpus files was written to fire this rule; measured: 0 of 571 for
    diagnosis, 0 of 699 (with the second diagnosis set) for check-in and testimonial."""
    own = {c for c in THRESHOLDS if RULE.get(c, c) == rule}
    others = [
        p
        for path in [*DATA.glob("*.txt"), *CLINICIAN.glob("*.txt")]
        if path.name.split(".", 1)[0] not in own
        for p in _posts(path)
    ]
    assert len(others) > 500
    assert _fires(rule, others) == []
