"""X (Twitter): API v2 through tweepy."""

from __future__ import annotations

from typing import Literal

from ..spec import Counting, CredentialField, PlatformSpec, ThreadingAccount


class XAccount(ThreadingAccount):
    platform: Literal["x"]


SPEC = PlatformSpec(
    name="x",
    title="X",
    role="share",
    config=XAccount,
    adapter="crosspost.platforms.x:XAdapter",
    credential_fields=(
        CredentialField("consumer_key", "API key (consumer key) of your X app", secret=False),
        CredentialField("consumer_secret", "API key secret (consumer secret)"),
        CredentialField("access_token", "Access token"),
        CredentialField("access_token_secret", "Access token secret"),
    ),
    limit=280,
    # twitter-text v3: weighted code points, every URL (also a bare domain) counts 23
    counting=Counting(
        length="crosspost.textlength:x_length",
        unit="weighted characters",
        url_spans="crosspost.textlength:x_url_spans",
    ),
    threads=True,
    summary="posts through the X API v2 (OAuth 1.0a user tokens)",
)
