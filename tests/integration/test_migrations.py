"""One migration history for SQLite and PostgreSQL: upgrading from empty gives exactly the models."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from yibao.store.db import create_engine
from yibao.store.migrate import ours
from yibao.store.tables import metadata


def test_upgrade_from_empty_matches_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": ours})
        diff = compare_metadata(mc, metadata)
    engine.dispose()
    assert diff == []


def test_database_is_at_the_single_head(database_url):
    from alembic.script import ScriptDirectory

    from yibao.store.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    engine = create_engine(database_url)
    with engine.connect() as conn:
        current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert len(heads) == 1 and current == heads
