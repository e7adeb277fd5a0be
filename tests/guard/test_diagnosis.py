"""``clinician.diagnosis`` read from structure: a specific person + an attribution + a label
(``guard/packs/_diagnosis.py``). The corpora (``tests/data/guard/diagnosis*.txt``) measure it;
these cases pin the parts of the structure one at a time."""

from __future__ import annotations

import pytest

from crosspost.guard import GuardProfile, TextField, build_matcher, check_content
from crosspost.guard._text import Normalised
from crosspost.guard.packs import _diagnosis

MATCHER = build_matcher([GuardProfile(name="clinician", packs=("clinician",))])


def _warned(text: str) -> bool:
    findings = check_content(MATCHER, "clinician", [TextField("body", text)])
    return any(f.rule == "clinician.diagnosis" for f in findings)


@pytest.mark.parametrize(
    "text",
    [
        # a name, a relation or role with a determiner, a pronoun, a bare relation
        "Keir Starmer is a sociopath.",
        "My landlord is delusional.",
        "His mum is a textbook narcissist tbh",
        "honestly my bf's mum is such a narc",
        "Dad was a narcissist. There, I said it.",
        "He is such a narcissist.",
        "Mrs. Jones is clearly delusional.",
        "elon is a narcissist and i will die on this hill",
        "ur ex is a narc babe",
        # the person followed by what places them
        "The guy next door is a psychopath.",
        "that woman from the school gate is 100% a narcissist",
        "The guy who keeps texting me is definitely a psychopath.",
        "my neighbour's kid is definitely ADHD",
        # attributions: having, showing, suffering, a colon, a dash, an apposition
        "My boss clearly suffers from narcissistic personality disorder.",
        "this politician screams BPD honestly",
        "that CEO has psychopathic traits for sure",
        "The new manager at work has BPD written all over her.",
        "My ex-husband — a textbook narcissist — wants the kids at Christmas.",
        "My ex, a textbook narcissist, texted again.",
        "Zuckerberg is on the autism spectrum, obviously.",
        # the person after the label; "diagnose X with"
        "Red flags of psychopathy all over Andrew Tate.",
        "I'd diagnose Trump with NPD from the debate alone.",
        # a condition with the writer's own judgement, or about a named person
        "My coworker is obviously autistic.",
        "My boss is so OCD about fonts.",
        "Rishi Sunak seems depressed.",
        "Kanye West suffers from bipolar disorder, just look at him.",
    ],
)
def test_diagnoses_warn(text: str) -> None:
    assert _warned(text)


@pytest.mark.parametrize(
    "text",
    [
        # general, hypothetical, the writer, a denial
        "Narcissists often isolate their partners.",
        "If your mum is a narcissist, boundaries are hard.",
        "Is my boss a narcissist? Probably not, just stressed.",
        "Signs your boss is a narcissist (and what to do about it)",
        "I am autistic.",
        "My boss is not a narcissist, she's just overworked.",
        # conditions stated as fact, or disclosed by the person
        "My daughter is autistic.",
        "My partner is bipolar and has taught me so much about resilience.",
        "My brother has bipolar disorder and he's doing really well.",
        "He was diagnosed with PTSD after Afghanistan and talks about it openly.",
        "The senator has spoken about her depression in Parliament.",
        "A coworker told me she has OCD and asked me to stop joking about it.",
        "Greta's autism is her superpower, she says.",
        # the label describes something else
        "The professor is an expert on psychopathy.",
        "My supervisor is brilliant with BPD presentations.",
        "My friend is training as a psychosis specialist.",
        "The vaccine rollout was a borderline disaster.",
        "The judge is paranoid about security, fair enough.",
        # fiction, titles, animals, things, moods of a day
        "Joe Goldberg is a psychopath, that's the show.",
        "The Narcissist's Playbook is a terrible book.",
        "Our dog is a psychopath at bathtime.",
        "The weather this week has been bipolar.",
        "Work has been manic all week.",
        "Christmas was manic!",
        # someone the writer treats is the client rules' business
        "The patient is delusional and has been sectioned.",
    ],
)
def test_near_misses_do_not_warn(text: str) -> None:
    assert not _warned(text)


def test_only_posts_with_a_label_run_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The labels are the rule's keywords: a post without one never reaches the sentence
    analysis, whatever else it says about someone."""
    calls: list[str] = []
    real = _diagnosis.diagnosed

    def counting(n: Normalised, start: int, end: int) -> bool:
        calls.append(n.norm[start:end])
        return real(n, start, end)

    monkeypatch.setattr(_diagnosis, "diagnosed", counting)
    assert not _warned("My boss is clearly the worst, honestly. Diagnosis: Monday.")
    assert calls == []
    assert _warned("My boss is clearly a sociopath.")
    assert calls == ["sociopath"]
