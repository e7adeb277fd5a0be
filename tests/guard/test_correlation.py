"""near-duplicate and separation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosspost.guard import Matcher, RecentPost, check_correlation
from crosspost.guard.correlation import similarity

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
PRO_TEXT = (
    "Spring is a good time to notice how sleep changes with the light; small routines help "
    "more than big resolutions."
)


def _post(persona: str, text: str, at: datetime, pid: int = 1) -> RecentPost:
    return RecentPost(persona=persona, post_id=pid, text=text, at=at)


NEAR_DUPLICATES = [
    PRO_TEXT,
    PRO_TEXT.upper(),
    PRO_TEXT.replace("o", "0"),  # digit swaps
    PRO_TEXT.replace(";", ".") + " https://example.org/spring",  # same text plus a link
    "Spring is a good time to notice how sleep changes with the light. Small routines "
    "help more than big resolutions!",
    "Ѕpring is a gооd time tо nоtice hоw sleep changes with the light; small routines help "
    "more than big resolutions.",  # Cyrillic look-alikes
]
DIFFERENT = [
    "The bees were calm this morning; the queen is laying again and the garden smells of lime.",
    "Spring is here!",  # too short to be a fingerprint
    "Good morning everyone",  # too short
    "Small routines help. Here is a recipe for honey cake with rye flour and cardamom, "
    "baked slowly in a cold oven.",
]


@pytest.mark.parametrize("text", NEAR_DUPLICATES)
def test_near_duplicate_found(matcher: Matcher, text: str) -> None:
    recent = [_post("professional", PRO_TEXT, T0 - timedelta(days=2), 7)]
    findings = check_correlation(matcher, "personal", text, T0, recent)
    dups = [f for f in findings if f.rule == "near-duplicate"]
    assert len(dups) == 1, similarity(text, PRO_TEXT)
    f = dups[0]
    assert f.owner == "professional" and f.severity == "block"
    assert "post 7" in f.message and "'professional'" in f.message
    assert (f.start, f.end, f.match) == (0, len(text), text)


@pytest.mark.parametrize("text", DIFFERENT)
def test_different_text_is_not_a_duplicate(matcher: Matcher, text: str) -> None:
    recent = [_post("professional", PRO_TEXT, T0 - timedelta(days=2))]
    findings = check_correlation(matcher, "personal", text, T0, recent)
    assert [f for f in findings if f.rule == "near-duplicate"] == []


def test_same_persona_and_old_posts_are_ignored(matcher: Matcher) -> None:
    recent = [
        _post("personal", PRO_TEXT, T0 - timedelta(days=1)),
        _post("professional", PRO_TEXT, T0 - timedelta(days=31)),
    ]
    assert check_correlation(matcher, "personal", PRO_TEXT, T0, recent) == []
    findings = check_correlation(
        matcher, "personal", PRO_TEXT, T0, recent, window=timedelta(days=40)
    )
    assert [f.rule for f in findings] == ["near-duplicate"]


def test_separation_uses_the_larger_window_and_names_next_time(matcher: Matcher) -> None:
    # professional.separation = 45m, personal.separation = 10m → 45m either way
    recent = [_post("professional", "unrelated words entirely here", T0, 3)]
    at = T0 + timedelta(minutes=20)
    findings = check_correlation(matcher, "personal", "something else", at, recent)
    assert [f.rule for f in findings] == ["separation"]
    f = findings[0]
    assert f.owner == "professional" and f.field == "at" and f.severity == "block"
    assert "45m" in f.message
    assert "next allowed time: 2024-05-01 10:45 UTC" in f.message
    # outside the window: fine; before the other post counts too
    assert check_correlation(matcher, "personal", "x", T0 + timedelta(minutes=45), recent) == []
    assert check_correlation(matcher, "personal", "x", T0 - timedelta(minutes=44), recent)


def test_next_allowed_time_skips_chained_windows(matcher: Matcher) -> None:
    recent = [
        _post("professional", "a", T0, 1),
        _post("professional", "b", T0 + timedelta(minutes=40), 2),
    ]
    findings = check_correlation(matcher, "personal", "x", T0 + timedelta(minutes=5), recent)
    assert len(findings) == 1
    assert "next allowed time: 2024-05-01 11:25 UTC" in findings[0].message


def test_own_separation_applies_to_others_without_one(matcher: Matcher) -> None:
    recent = [_post("stranger", "a", T0, 1)]  # unknown persona: only our own 45m
    findings = check_correlation(matcher, "professional", "x", T0 + timedelta(minutes=30), recent)
    assert [f.rule for f in findings] == ["separation"]
    findings = check_correlation(matcher, "personal", "x", T0 + timedelta(minutes=30), recent)
    assert findings == []  # personal's own separation is 10m


def test_naive_datetimes_are_rejected(matcher: Matcher) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_correlation(matcher, "personal", "x", datetime(2024, 5, 1, 10, 0), [])
