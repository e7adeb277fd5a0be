"""Posts read back by ``crosspost audit-exposure``, for the correlation checks.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crosspost.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_post",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("persona", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("remote_id", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("persona", "target", "remote_id", name="uq_imported_post_item"),
    )
    op.create_index("ix_imported_post_published_at", "imported_post", ["published_at"])


def downgrade() -> None:
    op.drop_table("imported_post")
