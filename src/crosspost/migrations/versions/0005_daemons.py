"""Running daemons: a heartbeat row each, so ``crosspost status`` sees them from any process.

Only a new table that nothing else refers to: it can follow any revision (``down_revision``
is the one line that names it).

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crosspost.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daemons",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("beat_at", UTCDateTime(), nullable=False),
        sa.Column("last_dispatch_at", UTCDateTime(), nullable=True),
        sa.Column("wake_seconds", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("daemons")
