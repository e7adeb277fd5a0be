"""Recurring posts: a ``recurrence`` table (the rule, its first wall time and timezone) and,
on each post, the series and occurrence it belongs to. Evergreen re-shares: an entry's place
in its persona's pool (``evergreen``) and, on a re-share, the entry it shares again.

``(series_id, occurrence)`` is unique: however many daemons finish an occurrence at once, or
retry after a crash, the next one exists once.

Revision ID: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crosspost.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recurrence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("persona", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("dtstart", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(), nullable=True),
    )
    op.create_index("ix_recurrence_persona", "recurrence", ["persona"])
    with op.batch_alter_table("post") as batch:
        batch.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("occurrence", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("needs_check", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("evergreen", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("evergreen_of", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_post_series_id", "recurrence", ["series_id"], ["id"])
        batch.create_unique_constraint("uq_post_series_occurrence", ["series_id", "occurrence"])
        batch.create_index("ix_post_series_id", ["series_id"])
        batch.create_index("ix_post_evergreen_of", ["evergreen_of"])
        batch.create_index("ix_post_needs_check", ["needs_check"])


def downgrade() -> None:
    with op.batch_alter_table("post") as batch:
        batch.drop_index("ix_post_needs_check")
        batch.drop_index("ix_post_evergreen_of")
        batch.drop_index("ix_post_series_id")
        batch.drop_column("evergreen_of")
        batch.drop_column("evergreen")
        batch.drop_constraint("uq_post_series_occurrence", type_="unique")
        batch.drop_constraint("fk_post_series_id", type_="foreignkey")
        batch.drop_column("needs_check")
        batch.drop_column("occurrence")
        batch.drop_column("series_id")
    op.drop_index("ix_recurrence_persona", table_name="recurrence")
    op.drop_table("recurrence")
