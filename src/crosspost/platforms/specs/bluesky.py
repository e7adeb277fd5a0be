"""Bluesky: the AT Protocol through atproto, on bsky.social or any PDS."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..spec import Counting, CredentialField, PlatformSpec, ThreadingAccount


class BlueskyAccount(ThreadingAccount):
    platform: Literal["bluesky"]
    instance: str | None = Field(
        default=None, description="the PDS's URL (default: https://bsky.social)"
    )

    def server(self) -> str | None:
        return self.instance


SPEC = PlatformSpec(
    name="bluesky",
    title="Bluesky",
    role="share",
    config=BlueskyAccount,
    adapter="crosspost.platforms.bluesky:BlueskyAdapter",
    credential_fields=(
        CredentialField(
            "app_password",
            "Bluesky app password (Settings → Privacy and security → App passwords)",
        ),
    ),
    limit=300,
    # graphemes of the text as sent (no URL discount), and at most 3000 UTF-8 bytes
    counting=Counting(
        length="crosspost.textlength:bluesky_length", unit="graphemes", max_bytes=3000
    ),
    threads=True,
    summary="posts to a Bluesky PDS with an app password",
)
