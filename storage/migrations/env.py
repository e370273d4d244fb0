"""Alembic environment: always run with a connection handed in by ``storage.migrate``."""

from alembic import context

import storage.harden_schema
import storage.intake_schema
import storage.reference_schema  # noqa: F401
from storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `hotline db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
