"""WordPress through its REST API and an application password."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..spec import BlogConfig, CredentialField, PlatformSpec, http_url


class WordPressBlog(BlogConfig):
    platform: Literal["wordpress"]
    endpoint: str | None = Field(
        default=None, description="REST API root (default: url + /wp-json/)"
    )
    username: str | None = Field(
        default=None, description="the user the application password belongs to"
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        return http_url(v)


SPEC = PlatformSpec(
    name="wordpress",
    title="WordPress",
    role="blog",
    config=WordPressBlog,
    adapter="crosspost.platforms.wordpress:WordPressAdapter",
    credential_fields=(
        CredentialField(
            "app_password",
            "WordPress application password (Users → Profile → Application Passwords)",
        ),
    ),
    summary="publishes through the WordPress REST API with an application password",
)
