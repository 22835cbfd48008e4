"""Bring a database to the newest schema with Alembic, on whichever backend it is.

Every process start checks the schema, so the check is a single query against `alembic_version`
compared with `HEAD` (a test keeps `HEAD` equal to the newest revision); Alembic itself is loaded
only when there is something to apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from hopthu.store.db import Database

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0025_folded_fields"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply every migration not yet applied (safe to call at every start)."""
    if revision == "head" and await current_revision(db) == HEAD:
        return
    from alembic import command

    async with db.write() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def current_revision(db: Database) -> str | None:
    async with db.read() as conn:
        try:
            return (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
        except DBAPIError:  # no such table: a new, empty database
            return None


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
