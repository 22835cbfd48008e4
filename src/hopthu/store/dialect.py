"""The few statements whose SQL differs between SQLite and PostgreSQL, in one place."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert(backend: str, table: sa.Table) -> Any:
    """An INSERT that understands ON CONFLICT on the given backend."""
    return (postgresql.insert if backend == "postgresql" else sqlite.insert)(table)
