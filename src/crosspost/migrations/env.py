"""Alembic environment: always run from crosspost's store with an open connection."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

# imported for its effect: the models register their tables on SQLModel.metadata
import crosspost.models  # noqa: F401

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
