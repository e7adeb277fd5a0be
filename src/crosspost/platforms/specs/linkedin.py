"""LinkedIn: member or organisation-page shares through the REST Posts API (OAuth 2)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from ..spec import AccountConfig, Counting, CredentialField, PlatformSpec

#: the LinkedIn-Version sent when the account names none (YYYYMM; LinkedIn serves a version
#: for about a year after its release)
DEFAULT_VERSION = "202610"
#: where LinkedIn sends the browser after the member allows the app; it must be one of the
#: app's "Authorized redirect URLs". Nothing needs to listen there: the member copies it.
DEFAULT_REDIRECT = "http://localhost:8765/linkedin"
PERSON_RE = re.compile(r"^urn:li:person:[A-Za-z0-9_-]+$")
ORGANIZATION_RE = re.compile(r"^urn:li:organization:\d+$")


def linkedin_length(text: str) -> int:
    """The length LinkedIn holds a commentary to (3,000): UTF-16 code units of the text shown.

    LinkedIn does not document its unit. Its API is Java (Rest.li), where a string's length is
    its UTF-16 code units, and third-party tools disagree (graphemes, "characters"). UTF-16
    units are never fewer than code points or graphemes, so a text that fits this count fits
    whichever LinkedIn uses; the price is that an emoji outside the BMP costs 2. The escaping
    backslashes and hashtag templates of the little format are not counted: the limit is on
    what members see.
    """
    return len(text.encode("utf-16-le")) // 2


class LinkedInAccount(AccountConfig):
    platform: Literal["linkedin"]
    author: str | None = Field(
        default=None,
        description=(
            'who posts: "urn:li:person:<id>" (checked at login) or "urn:li:organization:<id>" '
            "(a page the member administers); default: the member who logged in"
        ),
    )
    visibility: Literal["public", "connections"] | None = Field(
        default=None,
        description='who sees the share: "public" (default) or "connections" (members only)',
    )
    api_version: str | None = Field(
        default=None,
        description=f"the LinkedIn-Version header, YYYYMM (default: {DEFAULT_VERSION})",
    )
    redirect_uri: str | None = Field(
        default=None,
        description=f"the app's redirect URL the login uses (default: {DEFAULT_REDIRECT})",
    )

    @field_validator("author")
    @classmethod
    def _author(cls, v: str | None) -> str | None:
        if v is not None and not (PERSON_RE.match(v) or ORGANIZATION_RE.match(v)):
            raise ValueError(
                f"author {v!r} is not a LinkedIn URN; write it like "
                '"urn:li:person:AbC123xYz" or "urn:li:organization:12345", or leave it out '
                "to post as the member who logged in"
            )
        return v

    @field_validator("api_version")
    @classmethod
    def _api_version(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"20\d\d(0[1-9]|1[0-2])", v):
            raise ValueError(
                f'api_version {v!r} is not a LinkedIn API version; write it as YYYYMM, like "'
                f'{DEFAULT_VERSION}"'
            )
        return v

    @field_validator("redirect_uri")
    @classmethod
    def _redirect(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(
                f"redirect_uri {v!r} is not an http(s) address; use one of your LinkedIn app's "
                f'Authorized redirect URLs, like "{DEFAULT_REDIRECT}"'
            )
        return v


SPEC = PlatformSpec(
    name="linkedin",
    title="LinkedIn",
    role="share",
    config=LinkedInAccount,
    adapter="crosspost.platforms.linkedin:LinkedInAdapter",
    login_ends=("refresh_expires_at", "expires_at"),
    credential_fields=(
        CredentialField("client_id", "Client ID of your LinkedIn app", secret=False),
        CredentialField("client_secret", "Client secret of your LinkedIn app"),
        CredentialField("access_token", "Access token"),
    ),
    limit=3000,
    # UTF-16 units of the text as shown; URLs at full length (see linkedin_length)
    counting=Counting(length=linkedin_length, unit="UTF-16 units"),
    summary="posts as a LinkedIn member or page through the Posts API (OAuth 2)",
)
