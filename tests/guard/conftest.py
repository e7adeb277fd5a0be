"""Shared fictional personas for the guard tests.

Professional: "Dr. Ana Reyes" of Harbor Psychology (harborpsych.example, @DrAnaReyes on X,
@anareyes@psych.social on Mastodon, +1 503 555 0142, ana@harborpsych.example).
Personal: "Ana Bee", who keeps bees (anabee.example, anabee.bsky.social, ana.bee@gmail.com,
family name "Tomasz Bee", a short Mastodon handle @bee@hive.social).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
if str(SRC) not in sys.path:  # src layout without an installed package
    sys.path.insert(0, str(SRC))

from crosspost.guard import (  # noqa: E402
    AccountRef,
    GuardProfile,
    Matcher,
    build_matcher,
    hash_confidential,
)

SECRET = b"test-secret-for-confidential-hashes"


def make_profiles(**overrides: object) -> list[GuardProfile]:
    professional = GuardProfile(
        name="professional",
        display_name="Dr. Ana Reyes",
        names=("Ana Reyes",),
        domains=("harborpsych.example",),
        emails=("ana@harborpsych.example",),
        phones=("+1 503 555 0142",),
        terms=("Harbor Psychology",),
        accounts=(
            AccountRef("pro-x", "x", "@DrAnaReyes"),
            AccountRef("pro-masto", "mastodon", "@anareyes@psych.social", "https://psych.social"),
        ),
        blog_url="https://harborpsych.example",
        never_mention=("Sellwood",),
        confidential=("Jane Doe",),
        confidential_hashes=(hash_confidential("Marcus Whitfield", SECRET),),
        packs=("clinician",),
        phone_region="US",
        separation=timedelta(minutes=45),
    )
    personal = GuardProfile(
        name="personal",
        display_name="Ana Bee",
        names=("Ana Bee",),
        emails=("ana.bee@gmail.com",),
        phones=("(503) 555-0177",),
        terms=("Tomasz Bee", "Bee Family Apiary"),
        accounts=(
            AccountRef("bee-sky", "bluesky", "anabee.bsky.social"),
            AccountRef("bee-masto", "mastodon", "@bee@hive.social", "https://hive.social"),
            AccountRef("bee-feed", "feed", None, "https://anabee.example/feed.xml"),
        ),
        blog_url="https://anabee.example",
        phone_region="US",
        separation=timedelta(minutes=10),
    )
    return [professional, personal]


@pytest.fixture(scope="session")
def profiles() -> list[GuardProfile]:
    return make_profiles()


@pytest.fixture(scope="session")
def matcher(profiles: list[GuardProfile]) -> Matcher:
    return build_matcher(profiles, secret=SECRET)
