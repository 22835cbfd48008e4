"""The database engine for SQLite (embedded default) or PostgreSQL, chosen by one URL.

Services own transactions: `async with db.write() as conn:` for changes, `async with db.read() as
conn:` for queries. Repositories take the connection and never commit. SQLite has one writer, so
writes are queued in-process (an asyncio lock and `BEGIN IMMEDIATE`) instead of failing with
"database is locked"; PostgreSQL takes concurrent writers and row locks decide.

`run_in_writer(fn)` runs a whole synchronous transaction at once: on SQLite in a thread of its own
with a plain (not async) connection, so a group commit of many statements costs one hand-off to the
event loop rather than one per statement, each waiting its turn behind every busy session.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeAlias, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from hopthu.errors import HopThuError
from hopthu.security.private import make_private
from hopthu.store.kept import KeptStatement

T = TypeVar("T")
KEPT_MAX = 1024  # compiled statements `tuples` keeps (SQLite)
log = logging.getLogger("hopthu.store.db")
_Write: TypeAlias = tuple[Callable[[sa.Connection], Any], "asyncio.Future[Any]"]
WRITE_BATCH = 64  # works sharing one SQLite transaction at most (each is already a batch itself)

Connection: TypeAlias = AsyncConnection
"""An open transaction, as rooms outside the store hand it on to an operation that must join it
(an audit event written with the change it records); they never run statements on it themselves."""

Unreachable = sa.exc.OperationalError
"""The database refused the connection or went away (`error.orig` says why): the console says so
instead of printing a traceback."""


def _compile(statement: sa.Executable, dialect: sa.Dialect) -> SQLCompiler:
    """A statement (always a SQL expression here) compiled for `dialect`, to run on the driver."""
    compiled = cast(ClauseElement, statement).compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    return compiled


def _log_write_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("a deferred write failed", exc_info=future.exception())


def backend_of(url: str) -> str:
    """`sqlite` or `postgresql`, from a SQLAlchemy URL."""
    name = sa.engine.make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise HopThuError(
            f"Cơ sở dữ liệu không hỗ trợ: {name} (dùng SQLite hoặc PostgreSQL)",
            f"Unsupported database: {name} (use SQLite or PostgreSQL)",
            code="config",
        )
    return name


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; synchronous=FULL makes a commit durable (fsync of the
    # WAL) before we answer 250. Deliveries share commits (group commit), so this costs little.
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        "foreign_keys=ON",
        "busy_timeout=30000",
        "cache_size=-65536",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Reads run without BEGIN: each statement sees a consistent snapshot by itself, and a read
    # costs one round trip to the driver's thread instead of three.
    if conn.info.get("write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _private_sqlite(database: str) -> None:
    """The database file made (or kept) 0600 before SQLite opens it: SQLite gives its -wal and -shm
    files the database file's own permissions, so all three stay the server's alone."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite will say so in its own words
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(PermissionError):  # another's file: `tighten` at start said so
            make_private(path.with_name(path.name + suffix))


def _file_sizes(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total


class Database:
    """An engine plus the write discipline of its backend."""

    def __init__(self, url: str, *, pool_size: int | None = None) -> None:
        self.url = url
        self.backend = backend_of(url)
        if self.backend == "sqlite":
            self.engine: AsyncEngine = create_async_engine(url, pool_size=pool_size or 10, max_overflow=0)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        else:
            # Every connection is kept once made: with overflow connections, a busy MX opened and
            # closed a PostgreSQL connection (and its TLS attempt) for every checkout past the pool,
            # a fifth of its time. At most `pool_size` at once, as before; the rest wait their turn.
            self.engine = create_async_engine(url, pool_size=pool_size or 20, max_overflow=0)
        self._write_lock = asyncio.Lock() if self.backend == "sqlite" else None
        self._writes: list[_Write] = []  # SQLite: works waiting for the next shared transaction
        self._write_batcher: asyncio.Task[None] | None = None
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._sync_engine: sa.Engine | None = None
        self._reader: sa.Engine | None = None
        self._statements: dict[sa.Executable, SQLCompiler] = {}
        self._kept: dict[sa.Executable, KeptStatement] = {}  # SQLite: `tuples`' constant statements
        if self.backend == "sqlite":
            _private_sqlite(sa.engine.make_url(url).database or "")
            sync_url = sa.engine.make_url(url).set(drivername="sqlite")
            self._reader = sa.create_engine(sync_url, poolclass=sa.pool.SingletonThreadPool)
            event.listen(self._reader, "connect", _sqlite_pragmas)
            self._sync_engine = sa.create_engine(sync_url, poolclass=sa.pool.SingletonThreadPool)
            event.listen(self._sync_engine, "connect", _sqlite_pragmas)
            event.listen(self._sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
            self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, committed on normal exit and rolled back on an exception."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.connect() as conn:
            info = conn.sync_connection.info if conn.sync_connection is not None else {}
            info["write"] = True
            try:
                async with conn.begin():
                    yield conn
            finally:
                info["write"] = False

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for queries: a transaction never committed on PostgreSQL; on SQLite each
        statement is its own snapshot."""
        async with self.engine.connect() as conn:
            yield conn

    async def first(self, statement: sa.Executable, params: dict[str, Any] | None = None) -> Any:
        """The first row of a point query on an index (None if there is none).

        The statement is compiled once and run straight on the driver: on SQLite on the calling
        thread (a lookup by key takes tens of microseconds, far less than a hand-off to a driver
        thread and back through a busy event loop); on PostgreSQL by asyncpg itself, without a
        transaction around it nor a result object (a quarter of the time through SQLAlchemy: an SMTP
        RCPT costs one of these). Parameters are plain values (str, int), bound without type
        processing, and the columns asked for are plain values too.
        """
        compiled = self._compiled(statement)
        if self._reader is not None:
            return self._raw(compiled, params, all_rows=False)
        values = compiled.construct_params(params)
        async with self.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            arguments = [values[name] for name in compiled.positiontup or ()]
            return await driver.fetchrow(compiled.string, *arguments)

    async def all(
        self, statement: sa.Executable, params: dict[str, Any] | None = None, *, large: bool = False
    ) -> list[sa.Row[*tuple[Any, ...]]]:
        """Every row of a query served from an index (a page of messages, a mailbox's UIDs).

        The queries a page makes on every request are module constants with bound `params`: a
        statement object keeps its cache key, so SQLAlchemy finds its compiled form without walking
        the statement again (building the statement per call made that walk a tenth of a page).

        On SQLite it runs on the calling thread through a plain connection of the reader: for the
        short indexed reads IMAP and the webmail make all day, the query costs less than the two
        hand-offs to a driver thread and back through a busy event loop. A `large` one (a whole
        mailbox of tens of thousands of messages) runs in the driver's thread instead, so the loop
        goes on serving everyone else meanwhile. PostgreSQL answers it without a transaction around it.
        """
        if self._reader is not None and not large:
            with self._reader.connect() as conn:
                return list(conn.execute(statement, params).all())
        async with self.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return list((await autocommit.execute(statement, params)).all())

    async def tuples(
        self, statement: sa.Executable, params: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Every row of a small indexed query, as tuples of the values SQLAlchemy would give, for a
        statement kept as a constant (a module's, or one made once per shape and cached); `IN`
        lists are bound with `sa.bindparam(name, expanding=True)` and given as lists.

        On SQLite it runs straight on the reader's driver (`store.kept`), on the calling thread as
        `all` does; PostgreSQL runs it through `all`."""
        if self._reader is None:
            return [tuple(row) for row in await self.all(statement, params)]
        kept = self._kept.get(statement)
        if kept is None:
            if len(self._kept) >= KEPT_MAX:  # the oldest first: statements made per shape come and go
                del self._kept[next(iter(self._kept))]
            kept = self._kept[statement] = KeptStatement.of(statement, self._reader.dialect)
        sql, values = kept.bind(params)
        raw = self._reader.raw_connection()
        try:
            assert raw.driver_connection is not None
            found: list[tuple[Any, ...]] = raw.driver_connection.execute(sql, values).fetchall()
        finally:
            raw.close()
        return kept.convert(found)

    async def integers(self, statement: sa.Executable, params: dict[str, Any] | None = None) -> list[int]:
        """The first column of every row, for queries of whole numbers only (a mailbox's UIDs):
        on SQLite straight from the driver, without building a row object per value."""
        if self._reader is not None:
            compiled = self._statements.get(statement) or _compile(statement, self._reader.dialect)
            return [row[0] for row in self._raw(compiled, params, all_rows=True)]
        # asyncpg answers straight to us: no result object, no row object per value
        compiled = _compile(statement, self.engine.dialect)
        values = compiled.construct_params(params)
        async with self.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            found = await driver.fetch(
                compiled.string, *[values[name] for name in compiled.positiontup or ()]
            )
            return [row[0] for row in found]

    def _raw(self, compiled: SQLCompiler, params: dict[str, Any] | None, *, all_rows: bool) -> Any:
        """`compiled` run on this thread's plain SQLite connection: every row, or the first (or None)."""
        assert self._reader is not None
        values = compiled.construct_params(params)
        raw = self._reader.raw_connection()
        try:
            assert raw.driver_connection is not None
            cursor = raw.driver_connection.execute(
                compiled.string, [values[name] for name in compiled.positiontup or ()]
            )
            return cursor.fetchall() if all_rows else cursor.fetchone()
        finally:
            raw.close()

    def _compiled(self, statement: sa.Executable) -> SQLCompiler:
        """`statement` compiled for the driver that runs it, once (the statements are module constants)."""
        found = self._statements.get(statement)
        if found is None:
            dialect = self._reader.dialect if self._reader is not None else self.engine.dialect
            found = self._statements[statement] = _compile(statement, dialect)
        return found

    async def run_in_writer(self, work: Callable[[sa.Connection], T]) -> T:
        """Run `work(connection)` as one write transaction, committed if it returns.

        On SQLite the works that wait while a transaction is being written share the next one (a
        group commit for every caller, as deliveries and flag changes had for themselves): each
        runs in a savepoint of its own, so one that fails is rolled back and raises to its caller
        alone, and all of them are durable when the one commit returns. A session's expunge costs
        a share of one WAL fsync instead of a whole one, behind every other writer."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                return await conn.run_sync(work)
        return cast(T, await self._queue_write(work))

    def write_soon(self, work: Callable[[sa.Connection], Any]) -> None:
        """Queue `work` for SQLite's next shared transaction without waiting for its commit: for
        state that is already decided in this process (SQLite has one) and whose last moments may
        be lost in a crash without harm. A failure is logged; the work is not tried again."""
        assert self._write_lock is not None, "SQLite only: PostgreSQL decides in the database"
        self._queue_write(work).add_done_callback(_log_write_failure)

    def _queue_write(self, work: Callable[[sa.Connection], Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._writes.append((work, future))
        if self._write_batcher is None or self._write_batcher.done():
            self._write_batcher = loop.create_task(self._write_batches())
        return future

    async def _write_batches(self) -> None:
        assert self._write_lock is not None and self._writer is not None and self._sync_engine is not None
        engine = self._sync_engine

        def transaction(batch: list[_Write]) -> list[tuple[bool, Any]]:
            outcomes: list[tuple[bool, Any]] = []
            with engine.begin() as conn:
                for work, _future in batch:
                    savepoint = conn.begin_nested()
                    try:
                        outcome = work(conn)
                    except Exception as error:
                        savepoint.rollback()
                        outcomes.append((False, error))
                    else:
                        savepoint.commit()
                        outcomes.append((True, outcome))
            return outcomes

        while self._writes:
            batch, self._writes = self._writes[:WRITE_BATCH], self._writes[WRITE_BATCH:]
            try:
                async with self._write_lock:
                    outcomes = await asyncio.get_running_loop().run_in_executor(
                        self._writer, transaction, batch
                    )
            except BaseException as error:  # the commit itself failed: nothing of the batch holds
                for _work, future in batch:
                    if not future.done():
                        future.set_exception(error)
                if not isinstance(error, Exception):
                    raise
                continue
            for (_work, future), (done, outcome) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if done:
                    future.set_result(outcome)
                else:
                    future.set_exception(outcome)

    def pool_use(self) -> tuple[int, int]:
        """(connections checked out now, the pool's size): read by /metrics without a query."""
        pool: Any = self.engine.sync_engine.pool  # a QueuePool: both counts are plain reads
        return int(pool.checkedout()), int(pool.size())

    async def size_bytes(self) -> int:
        """The database's size on disk: SQLite's file with its WAL, PostgreSQL's `pg_database_size`."""
        if self.backend == "postgresql":
            async with self.engine.connect() as conn:
                size = await conn.execute(sa.text("SELECT pg_database_size(current_database())"))
                return int(size.scalar_one())
        path = Path(sa.engine.make_url(self.url).database or "")
        return await asyncio.to_thread(_file_sizes, [path, path.with_name(path.name + "-wal")])

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        if self._write_batcher is not None:  # writes already asked for reach the database first
            await asyncio.gather(self._write_batcher, return_exceptions=True)
        await self.engine.dispose()
        if self._reader is not None:
            self._reader.dispose()
        if self._writer is not None and self._sync_engine is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._sync_engine.dispose)
            self._writer.shutdown(wait=True)
