"""Alembic revisions and `schema.py` describe the same tables, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hopthu.store import Store
from hopthu.store.migrate import HEAD, current_revision, head_revision, upgrade
from hopthu.store.schema import metadata
from hopthu.store.textindex import UNDESCRIBED


def _described(name: str | None, kind: str, parents: object) -> bool:
    """The full-text index (an FTS5 table and its shadows, a GIN trigram index) is the migration's alone."""
    return name not in UNDESCRIBED


async def test_migrations_match_schema(store: Store) -> None:
    assert await current_revision(store.db) == head_revision() == HEAD

    def differences(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"include_name": _described})
        return compare_metadata(context, metadata)

    async with store.db.read() as conn:
        assert await conn.run_sync(differences) == []


async def test_upgrade_is_idempotent(store: Store) -> None:
    await upgrade(store.db)
    await upgrade(store.db)
    assert await current_revision(store.db) == head_revision()
