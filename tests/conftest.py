"""Fixtures shared by the tests: every store-backed test runs on SQLite and on PostgreSQL.

`HOPTHU_TEST_BACKENDS` (default `sqlite,postgresql`) chooses the backends; `HOPTHU_TEST_PG` the
PostgreSQL server (default `postgresql+asyncpg://postgres@127.0.0.1:5432`). On PostgreSQL one
database is made per test session and emptied before each test; on SQLite each test has its own file.

A test in the browser runs on SQLite only unless marked `both_backends`: a page is the same HTML over
either backend, and what it reads and writes is tested on both through HTTP, IMAP and the services.
The pages whose queries differ by backend (search, conversations, sorting) carry the mark.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hopthu.config import MetricsSettings, PolicySettings, Settings, StoreSettings
from hopthu.store import Store
from hopthu.store.schema import metadata

# Every server a test starts, here or as `hopthu serve`, puts /metrics on a free port: tests run side by side.
os.environ.setdefault("HOPTHU_METRICS_LISTEN", "127.0.0.1:0")
BACKENDS = [b.strip() for b in os.environ.get("HOPTHU_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
PG_SERVER = os.environ.get("HOPTHU_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


async def _admin(sql: str) -> None:
    engine = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    name = f"hopthu_test_{os.getpid()}"
    try:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except OSError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_SERVER} ({error}); start it or set "
            f"HOPTHU_TEST_BACKENDS=sqlite"
        )
    yield f"{PG_SERVER}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_pg(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            exists = (await conn.execute(sa.text("SELECT to_regclass('account') IS NOT NULL"))).scalar()
            if exists:
                tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
                await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests once, on SQLite, unless marked `both_backends` (see the module's docstring)."""
    if "sqlite" not in BACKENDS:
        return
    kept, once = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_url") if callspec else None
        in_browser = "browser" in getattr(item, "fixturenames", ())
        if in_browser and backend == "postgresql" and item.get_closest_marker("both_backends") is None:
            once.append(item)
        else:
            kept.append(item)
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = kept
        config.stash[_BROWSER_ONCE] = len(once)


_BROWSER_ONCE = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    once = config.stash.get(_BROWSER_ONCE, 0)
    if once:
        terminalreporter.write_line(
            f"{once} browser tests ran on SQLite only, not again on PostgreSQL: a page is the same HTML "
            "over both, and its data paths are tested on both (mark `both_backends` to run both)"
        )


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'hopthu.db'}"
    if request.param != "postgresql":
        raise ValueError(f"unknown backend {request.param}")
    url = request.getfixturevalue("pg_database_url")
    asyncio.run(_empty_pg(url))
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The defaults, except the new-place notice (R13.4): a test signing in by the webmail and by IMAP
    would find that notice in the INBOX it counts; `tests/directory/test_access_log.py` turns it on."""
    return Settings(
        data_dir=tmp_path,
        store=StoreSettings(database_url=database_url, group_commit_ms=1),
        policy=PolicySettings(signin_new_place_notice=False),
        metrics=MetricsSettings(listen="127.0.0.1:0"),
    )


@pytest.fixture
async def store(settings: Settings, clock: Clock) -> AsyncIterator[Store]:
    opened = await Store.open(settings, clock=clock)
    yield opened
    await opened.close()


@pytest.fixture
def directory(store: Store, settings: Settings, clock: Clock):
    from hopthu.directory.context import DirectoryContext
    from hopthu.directory.service import Directory

    return Directory(DirectoryContext(store, settings, clock=clock))


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout")
    return SHARED
