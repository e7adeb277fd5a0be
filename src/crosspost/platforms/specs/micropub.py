"""Any blog with a Micropub endpoint (IndieWeb sites, micro.blog, Known, ...)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..spec import BlogConfig, CredentialField, PlatformSpec, http_url


class MicropubBlog(BlogConfig):
    platform: Literal["micropub"]
    endpoint: str | None = Field(
        default=None, description="Micropub endpoint (default: the site's rel=micropub link)"
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        return http_url(v)


SPEC = PlatformSpec(
    name="micropub",
    title="Micropub",
    role="blog",
    config=MicropubBlog,
    adapter="crosspost.platforms.micropub:MicropubAdapter",
    credential_fields=(
        CredentialField("token", "Micropub access token (scope 'create', plus 'media' for images)"),
    ),
    summary="publishes to a site's Micropub endpoint with an access token",
)
