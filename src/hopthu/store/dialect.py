"""The few statements whose SQL differs between SQLite and PostgreSQL, in one place."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def insert(backend: str, table: sa.Table) -> Any:
    """An INSERT that understands ON CONFLICT on the given backend."""
    return (postgresql.insert if backend == "postgresql" else sqlite.insert)(table)


class Position(FunctionElement[int]):
    """Where `needle` first occurs in `text`, from 1 (0: nowhere): `instr` or `strpos`."""

    type = sa.Integer()
    name = "position"
    inherit_cache = True


def position(text: sa.ColumnElement[str], needle: str) -> Position:
    return Position(text, sa.literal(needle, sa.Text()))


@compiles(Position, "sqlite")
def _instr(element: Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(Position, "postgresql")
def _strpos(element: Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


class EpochSeconds(FunctionElement[float]):
    """A timestamp column as seconds since 1970 (UTC, to the millisecond at least): compared in bulk
    as numbers, without a datetime object made per row (SQLite keeps the moment as text, PostgreSQL
    as timestamptz)."""

    type = sa.Float()
    name = "epoch_seconds"
    inherit_cache = True


def epoch_seconds(moment: sa.ColumnElement[Any]) -> EpochSeconds:
    return EpochSeconds(moment)


@compiles(EpochSeconds, "sqlite")
def _strftime_seconds(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(EpochSeconds, "postgresql")
def _extract_epoch(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"


def _sqlite_table_hint(_compiler: SQLiteCompiler, _table: sa.FromClause, text: str | None) -> str | None:
    return text


# SQLAlchemy writes a table's hint after its name in FROM where the dialect says how; SQLite's
# compiler says nothing, though SQLite has one such hint, `INDEXED BY` (`indexed_by`).
SQLiteCompiler.get_from_hint_text = _sqlite_table_hint  # type: ignore[method-assign,assignment]


def indexed_by(query: sa.Select[Any], table: sa.Table, index: str) -> sa.Select[Any]:
    """`query` reading `table` through `index` on SQLite (`INDEXED BY`): for a plan that must not
    depend on the statistics SQLite's planner may or may not have. SQLite refuses the query rather
    than read the table another way, so only a query that index can serve may name it. PostgreSQL
    is left to its planner, which always has statistics (autovacuum gathers them)."""
    return query.with_hint(table, f"INDEXED BY {index}", dialect_name="sqlite")


def unindexed(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """`column` through SQLite's unary plus, which leaves any value as it is and which no index
    serves: how a query tells SQLite's planner not to use an index for a bound or an order (SQLite
    only; PostgreSQL has no unary plus for text or times)."""
    return sa.sql.expression.UnaryExpression(
        column, operator=sa.sql.operators.custom_op("+"), type_=column.type
    )
