"""The audit log's head: its length and last hash, kept apart so a truncated log shows.

The row starts from the log as it is (unsigned: a migration has no access to the keyring); the
next record written signs it. Records written before this revision may hold matched text;
``crosspost audit --verify`` says so and ``crosspost audit redact`` rewrites them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from crosspost.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("mac", sa.String(), nullable=True),
    )
    bind = op.get_bind()
    records = bind.execute(sa.text("SELECT count(*) FROM auditrecord")).scalar() or 0
    last = bind.execute(sa.text("SELECT hash FROM auditrecord ORDER BY id DESC LIMIT 1")).scalar()
    op.bulk_insert(
        head,
        [
            {
                "id": 1,
                "records": records,
                "head_hash": last or GENESIS,
                "updated_at": datetime.now(UTC),
                "mac": None,
            }
        ],
    )

    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head "
            "WHEN NEW.records < OLD.records "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )
    elif bind.dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION crosspost_audit_head_forward() RETURNS trigger AS $$ "
            "BEGIN IF TG_OP = 'DELETE' OR NEW.records < OLD.records THEN "
            "RAISE EXCEPTION 'the audit log is append-only'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head "
            "FOR EACH ROW EXECUTE FUNCTION crosspost_audit_head_forward()"
        )


def downgrade() -> None:
    op.drop_table("audit_head")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS crosspost_audit_head_forward()")
