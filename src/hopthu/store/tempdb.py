"""Temporary PostgreSQL databases beside the live one: a backup's dump is restored into one to read
a single mailbox back (R9.2), then it is dropped. CREATE and DROP DATABASE cannot run inside a
transaction, so they go over a connection of their own in autocommit mode.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine


def _quoted(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain database name: {name!r}")
    return f'"{name}"'


async def _administer(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def beside(url: str, name: str) -> str:
    """The URL of the database `name` on the server of `url`."""
    return url.rsplit("/", 1)[0] + f"/{name}"


async def create(url: str, name: str) -> str:
    """Create the empty database `name` on the server of `url` (connecting as `url` does); its URL."""
    await _administer(url, f"CREATE DATABASE {_quoted(name)}")
    return beside(url, name)


async def drop(url: str, name: str) -> None:
    """Drop the database `name`, closing whatever is still connected to it."""
    await _administer(url, f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")
