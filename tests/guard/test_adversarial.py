"""Pathological inputs stay linear (a guard that hangs is a guard that gets disabled)."""

from __future__ import annotations

import time

import pytest

from crosspost.guard import Matcher, TextField, check_content

N = 20_000
INPUTS = {
    "single letters": " ".join("abcdefghij"[i % 10] for i in range(N)),
    "a a a": "a " * N,
    "spaced digits": " ".join(str(i % 10) for i in range(N)),
    "digit run": "5" * N,
    "dashes and digits": "5-" * N,
    "zero width": "\u200b" * N + "Ana Bee",
    "confusables": "а" * N,
    "percent": "%41" * N,
    "entities": "&amp;" * N,
    "at signs": "@a " * N,
    "clinician words": "my client said in session today review narcissist office street " * 300,
    "capitalised words": "Trump Is A Narcissist Who Is Clearly " * 500,
}


@pytest.mark.parametrize("name", list(INPUTS))
def test_pathological_input_is_fast(matcher: Matcher, name: str) -> None:
    text = INPUTS[name]
    # CPU time, not wall time: a quadratic scan of 20,000 units takes minutes of CPU, while a
    # loaded machine only stretches the wall clock
    t0 = time.process_time()
    findings = check_content(matcher, "professional", [TextField("body", text)])
    elapsed = time.process_time() - t0
    assert elapsed < 2.0, f"{name}: {elapsed:.2f}s of CPU"
    for f in findings[:50]:
        assert text[f.start : f.end] == f.match
