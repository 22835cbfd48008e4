"""Statements kept as constants, run straight on SQLite's driver with SQLAlchemy's conversions.

IMAP, delivery and the webmail make short indexed reads all day. Through SQLAlchemy each costs a
connection checkout, the statement's cache key, the `IN` lists rendered again, and a result and a
row object per row: more than SQLite's own work (about half of an IMAP server's reads, profiled
under imaptest). A `KeptStatement` is compiled once for a statement that is a constant (a module's,
or one made once per shape and cached), and binds and converts values exactly as SQLAlchemy would:
each parameter through its type's bind processor, each column through its result processor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class KeptStatement:
    compiled: SQLCompiler
    lists: frozenset[str]  # expanding parameters: one "?" per value
    binds: Mapping[str, Processor]  # parameters whose type converts them for the driver
    columns: tuple[Processor | None, ...] | None  # None: every column arrives as it is

    @classmethod
    def of(cls, statement: sa.Executable, dialect: sa.Dialect) -> KeptStatement:
        compiled = cast(ClauseElement, statement).compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        names = compiled.bind_names  # a literal's parameter is named in the SQL, not by its key
        lists = frozenset(names[bound] for bound in compiled.post_compile_params if bound.expanding)
        binds: dict[str, Processor] = {}
        for name, bound in compiled.binds.items():
            process = bound.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binds[name] = process
        selected = getattr(statement, "selected_columns", ())
        columns = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected
        )
        return cls(compiled, lists, binds, columns if any(columns) else None)

    def bind(self, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        """The SQL with each list's marker written out, and the values in order."""
        given = self.compiled.construct_params(params)  # with the statement's own literal values
        sql = self.compiled.string
        values: list[Any] = []
        for name in self.compiled.positiontup or ():
            value = given[name]
            process = self.binds.get(name)
            if name in self.lists:  # SQLite takes "IN ()" for an empty list: nothing matches
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * len(value)), 1)
                values.extend(value if process is None else [process(item) for item in value])
            else:
                values.append(value if process is None else process(value))
        return sql, values

    def convert(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The driver's rows with each column as SQLAlchemy gives it (dates, booleans, JSON)."""
        columns = self.columns
        if columns is None:
            return list(rows)
        return [tuple(v if p is None else p(v) for p, v in zip(columns, row, strict=True)) for row in rows]
