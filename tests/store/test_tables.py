"""The tables as the database and the store see them, pinned by a golden file (issue 14, cold start).

Everything app/store/models.py declares that reaches the database or a
statement: each table's DDL on SQLite and PostgreSQL (columns, types, keys,
constraints and their names, indexes), and per column its Python-side
default and the type that binds and reads its values. The tables were once
SQLModel classes and are now SQLAlchemy Core tables (docs/decisions.md#cold-start);
the golden file was written from the SQLModel classes, so this fails if the
two ever differ. Regenerate with `pytest --update-golden` and review the diff.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from app.store.models import metadata

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "store" / "tables.txt"


def _describe(table: Table) -> list[str]:
    lines = [f"== {table.name}"]
    for column in table.columns:
        default = None if column.default is None else repr(column.default.arg)
        server = None if column.server_default is None else str(column.server_default.arg)  # type: ignore[attr-defined]
        lines.append(
            f"{column.name}: {type(column.type).__name__} {column.type!r} "
            f"impl={getattr(column.type, 'impl_instance', None)!r} nullable={column.nullable} "
            f"pk={column.primary_key} autoincrement={column.autoincrement!r} default={default} server_default={server} "
            f"index={bool(column.index)} unique={bool(column.unique)}"
        )
    lines.append(f"kwargs: {sorted(table.kwargs.items())}")
    for name, dialect in (("sqlite", sqlite.dialect()), ("postgresql", postgresql.dialect())):
        lines.append(f"-- {name}")
        lines.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            lines.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    return lines


def test_the_tables_are_the_golden_ones(update_golden: bool) -> None:
    text = "\n".join(line for table in metadata.sorted_tables for line in _describe(table)) + "\n"
    if update_golden:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def _datetime_type() -> object:
    return metadata.tables["wizard"].c.created_at.type


def test_times_are_stored_in_utc_and_read_back_in_utc() -> None:
    kind = _datetime_type()
    dialect = sqlite.dialect()
    paris = datetime(2026, 12, 2, 16, 0, tzinfo=timezone(timedelta(hours=1)))
    stored = kind.process_bind_param(paris, dialect)  # type: ignore[attr-defined]
    assert stored == datetime(2026, 12, 2, 15, 0, tzinfo=UTC) and stored.tzinfo is UTC
    read = kind.process_result_value(datetime(2026, 12, 2, 15, 0), dialect)  # type: ignore[attr-defined]
    assert read == datetime(2026, 12, 2, 15, 0, tzinfo=UTC) and read.tzinfo is UTC
    assert kind.process_bind_param(None, dialect) is None  # type: ignore[attr-defined]


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError):
        _datetime_type().process_bind_param(datetime(2026, 12, 2, 15, 0), sqlite.dialect())  # type: ignore[attr-defined]
