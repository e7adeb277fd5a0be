"""The ``clinician`` pack on a corpus of realistic posts (``tests/data/clinician/``).

``disclosures.txt``: posts about one specific client/patient (each must warn);
``innocent.txt``: psychoeducation, practice news, general statements about clients, CPD,
supervision, self-care, booking, research (none may warn). Targets: at least 95 % of the
disclosures warn and at most 5 % of the innocent posts do — on the whole corpus and on the
held-out split (every 5th post, never used to tune the rules). ``benchmarks/clinician_corpus.py``
prints the same figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crosspost.guard import GuardProfile, TextField, build_matcher, check_content

DATA = Path(__file__).resolve().parents[1] / "data" / "clinician"
MATCHER = build_matcher([GuardProfile(name="clinician", packs=("clinician",))])


def _posts(name: str) -> list[str]:
    lines = (DATA / name).read_text("utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def _warned(posts: list[str]) -> list[str]:
    out = []
    for text in posts:
        findings = check_content(MATCHER, "clinician", [TextField("body", text)])
        for f in findings:
            assert text[f.start : f.end] == f.match, (text, f)
        if any(f.rule.startswith("clinician.") for f in findings):
            out.append(text)
    return out


DISCLOSURES = _posts("disclosures.txt")
INNOCENT = _posts("innocent.txt")


def test_corpus_size() -> None:
    assert len(DISCLOSURES) >= 150 and len(INNOCENT) >= 150


@pytest.mark.parametrize("split", ["all", "held-out"])
def test_recall_and_false_alarm_targets(split: str) -> None:
    def pick(posts: list[str]) -> list[str]:
        return posts if split == "all" else posts[4::5]

    dis, inn = pick(DISCLOSURES), pick(INNOCENT)
    warned = _warned(dis)
    missed = sorted(set(dis) - set(warned))
    false_alarms = _warned(inn)
    assert len(warned) / len(dis) >= 0.95, f"recall {len(warned)}/{len(dis)}; missed: {missed}"
    assert len(false_alarms) / len(inn) <= 0.05, f"false alarms: {false_alarms}"


@pytest.mark.parametrize(
    "text",
    [
        "Tough session with a teenage client today",
        "My Tuesday morning client brought me flowers",
        "Just finished with my last client of the day, a teacher who has been signed off with "
        "stress",
        "My new client starts on Monday; she's a barrister going through a divorce",
        "a man in his 40s described his brother's suicide",
        "A 15-year-old I work with told me she's being bullied",
    ],
)
def test_the_disclosures_that_used_to_pass(text: str) -> None:
    assert _warned([text]) == [text]


@pytest.mark.parametrize(
    "text",
    [
        "clients often find the first session the hardest",
        "Many of my clients find journalling helps.",
        "If you are a client of mine, please use the booking link.",
        "Anxiety is the body's alarm system, and it can be too sensitive.",
        "I have two spaces for new clients on Tuesday mornings.",
    ],
)
def test_general_statements_stay_quiet(text: str) -> None:
    assert _warned([text]) == []
