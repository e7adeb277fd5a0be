"""Threads: an entry may ask for them, and a delivery records each part as it goes out.

``post.thread`` is the entry's ``thread: true``; ``delivery.parts`` holds the parts of a share
sent as a thread, each with its remote id as soon as the platform created it, so an attempt
after a crash resumes after the last recorded part instead of posting the thread again.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "post",
        sa.Column("thread", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("delivery", sa.Column("parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("parts")
    with op.batch_alter_table("post") as batch:
        batch.drop_column("thread")
