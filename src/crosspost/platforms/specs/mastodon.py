"""Mastodon and servers speaking its API (GoToSocial, Pleroma, Akkoma) through Mastodon.py."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..spec import Counting, CredentialField, PlatformSpec, ThreadingAccount

#: the name the browser login registers its app under when neither the account (``app_name``)
#: nor the context (the persona's client name, ``crosspost.agentnames``) gives one
DEFAULT_APP_NAME = "crosspost"


class MastodonAccount(ThreadingAccount):
    platform: Literal["mastodon"]
    instance: str | None = Field(default=None, description="the instance's URL")
    visibility: Literal["public", "unlisted", "private"] | None = Field(
        default=None,
        description='who sees the share ("unlisted" keeps it off the public timelines)',
    )
    counting: str | None = Field(
        default=None,
        description=(
            'how the server counts a status: "mastodon" (23 per URL) or "codepoints" '
            "(GoToSocial and others: URLs at full length); default: detected from the instance"
        ),
    )
    app_name: str | None = Field(
        default=None,
        description=(
            "name of the app `crosspost accounts login` registers (default: the persona's "
            "own made-up client name, different for each persona); many instances show it "
            "under every post, so the same name on two personas' accounts ties them together"
        ),
    )

    @field_validator("app_name")
    @classmethod
    def _app_name(cls, v: str | None) -> str | None:
        if v is not None and not (0 < len(v.strip()) <= 60 and v.isprintable()):
            raise ValueError(
                f"app_name {v!r} must be 1 to 60 printable characters, like 'Harbor Notes'"
            )
        return v.strip() if v is not None else v

    @field_validator("counting")
    @classmethod
    def _counting(cls, v: str | None) -> str | None:
        if v is not None and v not in ("mastodon", "codepoints"):
            raise ValueError(
                f'counting {v!r} is not known; use "mastodon" (Mastodon: 23 per URL) or '
                '"codepoints" (GoToSocial and others: URLs at full length), or leave it out '
                "to detect it from the instance"
            )
        return v

    def chosen_counting(self) -> str | None:
        return self.counting

    def server(self) -> str | None:
        return self.instance


SPEC = PlatformSpec(
    name="mastodon",
    title="Mastodon",
    role="share",
    config=MastodonAccount,
    adapter="crosspost.platforms.mastodon:MastodonAdapter",
    credential_fields=(
        CredentialField(
            "access_token", "Access token (Preferences → Development → your application)"
        ),
    ),
    limit=500,
    # the server's StatusLengthValidator: graphemes, a URL with a scheme counts 23,
    # @user@domain counts as @user
    counting=Counting(
        length="crosspost.textlength:mastodon_length",
        url_spans="crosspost.textlength:mastodon_url_spans",
    ),
    countings={
        # GoToSocial: code points with every URL at full length; Pleroma and Akkoma count
        # graphemes at full length, never more than the code points
        "codepoints": Counting(length="crosspost.textlength:codepoint_length", unit="code points")
    },
    live_rules="crosspost.platforms.mastodon:share_rules",
    threads=True,
    summary="posts to a Mastodon-compatible instance with an access token",
)
