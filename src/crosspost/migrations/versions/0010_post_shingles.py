"""Shingle hashes of every post's text, so ``queue``'s near-duplicate check reads only the
other personas' posts that share one with the new text (not every post of the correlation
window).

The hashes of the posts and imported posts already stored are backfilled here, with the same
functions the application uses (a post written later gets them on every write of its text).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from crosspost.guard.correlation import index_hashes

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: rows read per round trip while backfilling
_BATCH = 2000


def _create(name: str, key: str) -> sa.TableClause:
    op.create_table(
        name,
        sa.Column(key, sa.Integer(), nullable=False),
        sa.Column("hash", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("persona", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(key, "hash"),
    )
    op.create_index(f"ix_{name}_hash_persona", name, ["hash", "persona"])
    return sa.table(
        name, sa.column(key, sa.Integer()), sa.column("hash"), sa.column("persona", sa.String())
    )


def _backfill(
    source: sa.TableClause, target: sa.TableClause, key: str, text_of: Any, columns: list[Any]
) -> None:
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(source.c.id, source.c.persona, *columns)
            .where(source.c.id > last)
            .order_by(source.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        values = [
            {key: r.id, "persona": r.persona, "hash": h}
            for r in rows
            for h in index_hashes(text_of(r))
        ]
        if values:
            conn.execute(target.insert(), values)
        last = rows[-1].id


def _post_text(r: Any) -> str:
    # the same as crosspost.models.post_text, on a raw row (tags stored as JSON)
    return "\n".join(x for x in (r.title, r.summary, r.body, *(r.tags or [])) if x)


def upgrade() -> None:
    post = sa.table(
        "post",
        sa.column("id", sa.Integer()),
        sa.column("persona", sa.String()),
        sa.column("title", sa.String()),
        sa.column("summary", sa.String()),
        sa.column("body", sa.String()),
        sa.column("tags", sa.JSON()),
    )
    imported = sa.table(
        "imported_post",
        sa.column("id", sa.Integer()),
        sa.column("persona", sa.String()),
        sa.column("text", sa.String()),
    )
    shingles = _create("post_shingle", "post_id")
    _backfill(
        post,
        shingles,
        "post_id",
        _post_text,
        [post.c.title, post.c.summary, post.c.body, post.c.tags],
    )
    imported_shingles = _create("imported_shingle", "imported_id")
    _backfill(imported, imported_shingles, "imported_id", lambda r: r.text, [imported.c.text])


def downgrade() -> None:
    op.drop_table("imported_shingle")
    op.drop_table("post_shingle")
