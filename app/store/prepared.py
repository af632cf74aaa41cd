"""Prebuilt statements that run straight on the SQLite driver.

A tick and a page view run the same few Core statements thousands of times.
SQLAlchemy compiles each of them once (its compiled cache), but executing one
on a held connection still costs ~30 µs of Python (execution context, result
metadata, row processing) against ~8 µs in the sqlite3 driver: a tick's write
transaction took 250 µs through `Connection.execute` and 55 µs as the same SQL
on the driver (timeit, bench/README.md).

So on SQLite a `Prepared` statement is compiled once to its SQL text, the
order of its bind parameters and the type processors SQLAlchemy itself would
apply (the public `TypeEngine.dialect_impl(...).bind_processor` and
`result_processor`), and runs on the driver connection. The SQL, the stored
values and the values read back are the ones `Connection.execute` gives:
tests/store/test_prepared.py compares the two on every prepared statement.
Other databases (PostgreSQL) run the statement through `Connection.execute`
unchanged.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.base import Executable

_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bind parameter names, in placeholder order
    defaults: dict[str, Any]  # values the statement itself carries (literals such as note="")
    bind_processors: tuple[_Processor, ...]
    row: Any  # a namedtuple class with the result's column names, or None
    # (column index, processor) for the result columns that have one: most have
    # none, and looping over only these halved the cost of a 9-row read (timeit).
    result_processors: tuple[tuple[int, Callable[[Any], Any]], ...]


# What forget_memos() clears: every Prepared memo, and what callers built from memoized rows.
_FORGET: list[Callable[[], None]] = []


def on_forget(clear: Callable[[], None]) -> None:
    """Have forget_memos() call `clear` too (a cache of records built from memoized rows)."""
    _FORGET.append(clear)


def forget_memos() -> None:
    """Drop every memoized row: after a purge, nothing deleted stays in memory (issue 12)."""
    for clear in _FORGET:
        clear()


class Prepared:
    """A Core statement executed with the least Python on SQLite, as Core on other databases.

    `memo`: keep up to that many processed rows by their raw values, so a row
    read again unchanged (a share link resolved on every request) is not
    processed again: the access check's row has five stored times, each
    parsed from text by SQLAlchemy's processor (docs/decisions.md#direct-routes).
    A row that changed has other raw values, so it is a new entry.
    """

    def __init__(self, statement: Executable, *, memo: int = 0) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self.memo = memo
        self._rows: dict[tuple[Any, ...], Any] = {}
        if memo:
            on_forget(self._rows.clear)

    def all(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row; attribute access by column name, as SQLAlchemy's Row."""
        if conn.dialect.name != "sqlite":
            return conn.execute(self.statement, params).all()
        compiled = self._compile(conn.dialect)
        rows = self._cursor(conn, compiled, params).fetchall()
        return [self._processed(compiled, row) for row in rows]

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first row, or None."""
        if conn.dialect.name != "sqlite":
            return conn.execute(self.statement, params).first()
        compiled = self._compile(conn.dialect)
        cursor = self._cursor(conn, compiled, params)
        row = cursor.fetchone()
        cursor.close()  # the rest of a RETURNING result must not keep the statement open
        return None if row is None else self._processed(compiled, row)

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """A statement without a result."""
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, params)
            return
        self._cursor(conn, self._compile(conn.dialect), params).close()

    def _processed(self, compiled: _Compiled, values: tuple[Any, ...]) -> Any:
        if not self.memo:
            return _row(compiled, values)
        row = self._rows.get(values)
        if row is None:
            if len(self._rows) >= self.memo:
                self._rows.clear()
            row = self._rows[values] = _row(compiled, values)
        return row

    def _cursor(self, conn: Connection, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = []
        for name, process in zip(compiled.names, compiled.bind_processors, strict=True):
            value = params[name] if name in params else compiled.defaults[name]
            values.append(value if process is None else process(value))
        return conn.connection.driver_connection.execute(compiled.sql, values)  # type: ignore[union-attr]

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return compiled


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled: Any = cast(ClauseElement, statement).compile(dialect=dialect)
    if dialect.paramstyle != "qmark" or compiled.positiontup is None:
        raise ValueError(f"Prepared needs a positional (qmark) dialect, not {dialect.paramstyle}")
    names = tuple(compiled.positiontup)
    binds = compiled.binds
    defaults = {name: bind.value for name, bind in binds.items() if not bind.required}
    bind_processors = tuple(binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    columns = list(getattr(statement, "exported_columns", ()))
    row = namedtuple("Row", [column.key for column in columns]) if columns else None
    processors = (column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
    result_processors = tuple((index, process) for index, process in enumerate(processors) if process)
    return _Compiled(compiled.string, names, defaults, bind_processors, row, result_processors)


def _row(compiled: _Compiled, values: Sequence[Any]) -> Any:
    processed = list(values)
    for index, process in compiled.result_processors:
        processed[index] = process(processed[index])
    return compiled.row._make(processed)
