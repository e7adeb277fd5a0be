"""A corpus of ordinary posts must produce no findings at all (either persona, packs on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosspost.guard import Matcher, TextField, check_content

POSTS = [
    line
    for line in (Path(__file__).parent / "innocent_posts.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]


@pytest.mark.parametrize("text", POSTS, ids=[p[:40] for p in POSTS])
def test_no_findings(matcher: Matcher, text: str) -> None:
    for persona in ("professional", "personal"):
        findings = check_content(matcher, persona, [TextField("body", text)])
        assert findings == [], (persona, findings)
