"""Feeds in: the items of each persona's ``[[feeds]]`` already seen, and each feed's state.

Only new tables that nothing else refers to.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crosspost.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("persona", sa.String(), nullable=False),
        sa.Column("feed", sa.String(), nullable=False),
        sa.Column("guid", sa.String(), nullable=True),
        sa.Column("link", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("persona", "feed", "guid", name="uq_feed_item_guid"),
        sa.UniqueConstraint("persona", "link", name="uq_feed_item_link"),
    )
    op.create_table(
        "feed_state",
        sa.Column("persona", sa.String(), primary_key=True),
        sa.Column("feed", sa.String(), primary_key=True),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("etag", sa.String(), nullable=True),
        sa.Column("last_modified", sa.String(), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("feed_state")
    op.drop_table("feed_item")
