"""Alembic environment: runs on the connection yibao hands it (SQLite or PostgreSQL)."""

from alembic import context

from yibao.store.migrate import ours
from yibao.store.tables import metadata

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=ours,
)
with context.begin_transaction():
    context.run_migrations()
