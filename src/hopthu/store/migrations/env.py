"""Alembic environment: always run on a connection `hopthu.store.migrate` hands in."""

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from hopthu.store.schema import UTCDateTime, metadata


def render_item(kind: str, obj: Any, _autogen: AutogenContext) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy ones, so revisions never import the schema."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=metadata, render_as_batch=True, render_item=render_item
)
with context.begin_transaction():
    context.run_migrations()
