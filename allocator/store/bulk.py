"""Writing many rows fast, inside the session's transaction.

Registry imports reach millions of rows; building a statement's parameters
through the ORM costs more than the database's own work. Here rows are plain
tuples handed to the driver: `COPY` on PostgreSQL, `executemany` on SQLite
(and SQLAlchemy Core elsewhere). Values must already be what the column
holds: the importer checks lengths, ranges and characters before writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, columns: Sequence[str],
                rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT rows (tuples in the order of `columns`) into `table`."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect.name
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    if dialect == "postgresql":
        with _driver(connection).cursor() as cursor, \
                cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    elif dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        cursor = _driver(connection).cursor()
        try:
            cursor.executemany(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})",
                               rows)
        finally:
            cursor.close()
    else:
        connection.execute(insert(table), [dict(zip(columns, row)) for row in rows])


def update_rows(session: Session, table: Table, key: str, columns: Sequence[str],
                rows: Sequence[tuple[Any, ...]]) -> None:
    """UPDATE rows of `table` found by `key` (one of `columns`) to the values given."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect.name
    quote = connection.dialect.identifier_preparer.quote
    changed = [c for c in columns if c != key]
    if dialect == "postgresql":
        # COPY into a scratch table of the same columns, then one UPDATE ... FROM.
        scratch = quote(f"import_{table.name}")
        insert_into = ", ".join(quote(c) for c in columns)
        connection.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {scratch} ON COMMIT DROP "
                                f"AS SELECT {insert_into} FROM {quote(table.name)} WITH NO DATA"))
        connection.execute(text(f"TRUNCATE {scratch}"))
        with _driver(connection).cursor() as cursor, \
                cursor.copy(f"COPY {scratch} ({insert_into}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        sets = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in changed)
        connection.execute(text(f"UPDATE {quote(table.name)} AS t SET {sets} FROM {scratch} "
                                f"AS s WHERE t.{quote(key)} = s.{quote(key)}"))
    elif dialect == "sqlite":
        sets = ", ".join(f"{quote(c)} = ?" for c in changed)
        at = columns.index(key)
        cursor = _driver(connection).cursor()
        try:
            cursor.executemany(f"UPDATE {quote(table.name)} SET {sets} WHERE {quote(key)} = ?",
                               [row[:at] + row[at + 1:] + (row[at],) for row in rows])
        finally:
            cursor.close()
    else:
        binds = [{**dict(zip(columns, row)), "_key": row[columns.index(key)]} for row in rows]
        connection.execute(update(table).where(table.c[key] == bindparam("_key"))
                           .values({c: bindparam(c) for c in changed}), binds)


def _driver(connection: Any) -> Any:
    """The driver's own connection, in the session's transaction."""
    return connection.connection.dbapi_connection


def driver_value(session: Session, table: Table, column: str, value: Any) -> Any:
    """A value as the driver takes it for this column (SQLite keeps timestamps as text,
    in SQLAlchemy's own format); convert once, then repeat it in every row."""
    dialect = session.connection().dialect
    process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return value if process is None or value is None else process(value)


def existing_keys(session: Session, table: Table, key: str, ids: Sequence[Any]) -> set[Any]:
    """The ids among `ids` that `table` already holds."""
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    found: set[Any] = set()
    if connection.dialect.name == "postgresql":
        with _driver(connection).cursor() as cursor:
            for start in range(0, len(ids), 50_000):
                cursor.execute(f"SELECT {quote(key)} FROM {quote(table.name)} "
                               f"WHERE {quote(key)} = ANY(%s)", [list(ids[start:start + 50_000])])
                found.update(row[0] for row in cursor.fetchall())
        return found
    step = 10_000 if connection.dialect.name == "sqlite" else 1_000  # parameter limits
    for start in range(0, len(ids), step):
        batch = list(ids[start:start + step])
        found.update(connection.execute(select(table.c[key]).where(table.c[key].in_(batch)))
                     .scalars())
    return found
