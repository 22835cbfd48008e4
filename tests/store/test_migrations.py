"""Alembic revisions and `schema.py` describe the same tables, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hopthu.store import Store
from hopthu.store.migrate import HEAD, current_revision, head_revision, upgrade
from hopthu.store.schema import metadata


async def test_migrations_match_schema(store: Store) -> None:
    assert await current_revision(store.db) == head_revision() == HEAD

    def differences(sync_conn):
        return compare_metadata(MigrationContext.configure(sync_conn), metadata)

    async with store.db.read() as conn:
        assert await conn.run_sync(differences) == []


async def test_upgrade_is_idempotent(store: Store) -> None:
    await upgrade(store.db)
    await upgrade(store.db)
    assert await current_revision(store.db) == head_revision()
