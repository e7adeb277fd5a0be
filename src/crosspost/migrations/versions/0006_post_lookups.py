"""Indexed look-ups of posts: a content hash for ``queue``'s duplicate check, and the indexes
that keep it and ``list`` from reading every post as the queue grows.

``post.content_hash`` is backfilled here for the posts already stored, with the same function
the application uses (a post written later gets it on every write).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crosspost.contenthash import content_hash

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: rows hashed per round trip while backfilling
_BATCH = 5000

_INDEXES = {
    "ix_post_persona_content_hash": ["persona", "content_hash"],
    "ix_post_persona_source_path": ["persona", "source_path"],
    "ix_post_persona_slug": ["persona", "slug"],
    "ix_post_status_scheduled": ["status", "scheduled_at"],
}


def upgrade() -> None:
    op.add_column("post", sa.Column("content_hash", sa.String(), nullable=True))
    post = sa.table(
        "post",
        sa.column("id", sa.Integer()),
        sa.column("title", sa.String()),
        sa.column("body", sa.String()),
        sa.column("content_hash", sa.String()),
    )
    conn = op.get_bind()
    update = (
        post.update()
        .where(post.c.id == sa.bindparam("post_id"))
        .values(content_hash=sa.bindparam("hash"))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(post.c.id, post.c.title, post.c.body)
            .where(post.c.id > last)
            .order_by(post.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            update, [{"post_id": r.id, "hash": content_hash(r.title, r.body)} for r in rows]
        )
        last = rows[-1].id
    for name, columns in _INDEXES.items():
        op.create_index(name, "post", columns)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="post")
    with op.batch_alter_table("post") as batch:
        batch.drop_column("content_hash")
