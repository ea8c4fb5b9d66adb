"""Bulk inserts of prepared values (one multi-row statement, or ``executemany``), for the hot write paths.

Also ``ByteOrderCharField``, text compared byte by byte on both databases.

Responsible for the two ways the project inserts many new rows at once without the ORM's
per-batch statement building: ``insert_instances`` (model instances, each field prepared the way
``bulk_create`` prepares it) and ``insert_rows`` (plain tuples of raw values in a given column
order, adapted per column type). Both leave an auto-increment primary key to the database and do
not read it back. Measured on the identity, intake, audit and scale-fixture paths: for batches of
thousands, compiling a multi-row statement of placeholders per batch, and building model instances
for rows nobody reads again, cost more per row than sealing the identity they belong to; so a large
batch goes by ``executemany``, and a small one (a submission's rows) as one statement.

A few small writes of one action can also share one statement: ``insert_together`` (several
tables' rows, on PostgreSQL one ``WITH ... AS (INSERT ...)`` statement), ``insert_with_child`` (a
row and one row referring to it, the parent's new key read back), ``upsert`` (one row, no
transaction of its own) and ``insert_unless_taken``: each a round trip and a parse fewer for the
server on the public submission's path (issue 20, "a surge").

Must never: run outside the caller's transaction (``upsert``: or as a statement of its own), build
SQL from anything but quoted model table and column names, or be used for a row whose primary key
the caller needs back (except the parent of ``insert_with_child``).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import CharField, DateField, DateTimeField, JSONField, Model

UTC = datetime.UTC


class ByteOrderCharField(CharField):  # type: ignore[type-arg]
    """A ``CharField`` compared byte by byte: SQLite's default, the "C" collation on PostgreSQL.

    In a database's own (linguistic) collation a prefix is not a range of the column's index and
    the order may skip punctuation, so a keyset page over a prefix walks the index from its start
    or sorts the matches; in byte order both databases agree and a prefix is one index range.
    """

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        parameters: dict[str, Any] = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            parameters["collation"] = "C"
        return parameters


def insert_instances(model: type[Model], objects: Sequence[Model]) -> None:
    """Inserts new instances of ``model`` and marks them saved (an auto primary key is not read back)."""
    if not objects:
        return
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and getattr(f, "db_returning", False))]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    rows = [[f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] for obj in objects]
    types = [str(f.db_type(connection)) for f in fields]
    insert_values(quote(model._meta.db_table), columns, len(fields), rows, types)
    for obj in objects:
        _saved(obj)


def _insert_one(obj: Model, unique_field: str, conflict: str) -> int:
    """``INSERT ... ON CONFLICT (unique_field's column) <conflict>`` of one instance, every concrete
    field but a database-made primary key; the rows it wrote."""
    model = type(obj)
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and getattr(f, "db_returning", False))]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    target = quote(str(model._meta.get_field(unique_field).column))  # type: ignore[union-attr]
    values = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks}) "  # noqa: S608 — quoted model names, placeholders
            f"ON CONFLICT ({target}) {conflict}",
            values,
        )
        return int(cursor.rowcount)


def _saved(obj: Model) -> None:
    obj._state.adding = False
    obj._state.db = connection.alias


def insert_unless_taken(obj: Model, unique_field: str) -> bool:
    """Inserts one new instance unless another row already holds its ``unique_field`` value
    (``INSERT ... ON CONFLICT (column) DO NOTHING``, on both databases): True if inserted. A
    conflict on any other constraint still raises ``IntegrityError``. Needs no savepoint to go on
    after a conflict, unlike catching the error inside a transaction."""
    inserted = _insert_one(obj, unique_field, "DO NOTHING") == 1
    if inserted:
        _saved(obj)
    return inserted


def upsert(obj: Model, unique_field: str, update_fields: Sequence[str]) -> None:
    """Inserts one instance, or overwrites ``update_fields`` of the row already holding its
    ``unique_field`` value: ``INSERT ... ON CONFLICT (column) DO UPDATE``, one statement on both
    databases. Unlike ``bulk_create(update_conflicts=True)`` it opens no transaction of its own,
    so outside one it is a single statement for the server (no BEGIN and COMMIT around it)."""
    quote = connection.ops.quote_name
    columns = (quote(str(type(obj)._meta.get_field(name).column)) for name in update_fields)  # type: ignore[union-attr]
    _insert_one(obj, unique_field, "DO UPDATE SET " + ", ".join(f"{column} = EXCLUDED.{column}" for column in columns))
    _saved(obj)


def insert_rows(model: type[Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Inserts plain tuples (values in ``names`` order, foreign keys as ids) into ``model``'s table.

    Dates, datetimes and JSON are adapted as Django's backend would store them; every other value
    goes to the driver as it is.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    adapters = [_adapter(f) for f in fields]
    columns = ", ".join(quote(str(f.column)) for f in fields)  # type: ignore[union-attr]
    if not any(adapters):
        params: Sequence[Sequence[Any]] = rows  # nothing to adapt: no per-row copy on a hot path
    else:
        params = [
            tuple(value if adapt is None else adapt(value) for adapt, value in zip(adapters, row, strict=True))
            for row in rows
        ]
    types = [str(f.db_type(connection)) for f in fields]
    insert_values(quote(model._meta.db_table), columns, len(fields), params, types)


# Up to this many rows go as one statement: a submission's ~150 blind-index rows, its audit entries
# and Merkle nodes are then one statement each for the server to run, not one per row (psycopg's
# executemany sends every row as its own statement). Past it, ``executemany``: a bulk import's
# batches of thousands keep the path they were measured on.
MULTI_ROW_MAX = 1000
# On PostgreSQL the rows travel as one array per column (``unnest``): a constant statement text,
# which psycopg and the server prepare once, where a multi-row VALUES list of hundreds of
# placeholders is parsed again on each call. Column types that arrays carry as they are:
_ARRAY_TYPES = re.compile(
    r"^(smallint|integer|bigint|boolean|bytea|text|varchar\(\d+\)|date|timestamp with time zone)$"
)
# SQLite: a multi-row VALUES list, within its limit on parameters.
MULTI_ROW_MAX_PARAMS = 8000


def insert_values(
    table: str, columns: str, width: int, rows: Sequence[Sequence[Any]], types: Sequence[str] | None = None
) -> None:
    """``INSERT INTO table (columns)`` of ``rows`` (``width`` values each): one statement for one
    row or a small batch (on PostgreSQL with ``types``, the columns' SQL types, as arrays through
    ``unnest``), ``executemany`` for a large one. ``table`` and ``columns`` must be quoted model
    names and ``types`` model column types (never data)."""
    if not rows:
        return
    one = "(" + ", ".join(["%s"] * width) + ")"
    statement = _one_statement(table, columns, width, rows, types)
    with connection.cursor() as cursor:
        if statement is not None:
            cursor.execute(*statement)
        else:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES {one}", rows)  # noqa: S608 — quoted model names


def _one_statement(
    table: str, columns: str, width: int, rows: Sequence[Sequence[Any]], types: Sequence[str] | None
) -> tuple[str, list[Any]] | None:
    """``insert_values``'s single statement (text, parameters) for these rows, or None when they
    go by ``executemany`` (a large batch)."""
    one = "(" + ", ".join(["%s"] * width) + ")"
    if len(rows) == 1:
        return f"INSERT INTO {table} ({columns}) VALUES {one}", list(rows[0])  # noqa: S608 — quoted model names
    if (
        len(rows) <= MULTI_ROW_MAX
        and connection.vendor == "postgresql"
        and types is not None
        and all(_ARRAY_TYPES.match(kind) for kind in types)
    ):
        arrays = ", ".join(f"%s::{kind}[]" for kind in types)
        return (
            f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})",  # noqa: S608 — quoted model names and types
            [list(column) for column in zip(*rows, strict=True)],
        )
    if len(rows) <= MULTI_ROW_MAX and len(rows) * width <= MULTI_ROW_MAX_PARAMS:
        values = ", ".join([one] * len(rows))
        return (
            f"INSERT INTO {table} ({columns}) VALUES {values}",  # noqa: S608 — quoted model names, placeholders
            [value for row in rows for value in row],
        )
    return None


@dataclass(frozen=True)
class Insert:
    """The rows of one table for ``insert_together`` (``instances_insert`` or ``rows_insert`` make one)."""

    table: str
    columns: str
    width: int
    rows: Sequence[Sequence[Any]]
    types: Sequence[str]


def instances_insert(model: type[Model], objects: Sequence[Model]) -> Insert:
    """New instances of ``model``, prepared as ``insert_instances`` prepares them, for ``insert_together``."""
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and getattr(f, "db_returning", False))]
    quote = connection.ops.quote_name
    return Insert(
        table=quote(model._meta.db_table),
        columns=", ".join(quote(str(f.column)) for f in fields),
        width=len(fields),
        rows=[[f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] for obj in objects],
        types=[str(f.db_type(connection)) for f in fields],
    )


def rows_insert(model: type[Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> Insert:
    """Plain tuples for ``model``'s table, adapted as ``insert_rows`` adapts them, for ``insert_together``."""
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    adapters = [_adapter(f) for f in fields]
    if any(adapters):
        rows = [
            tuple(value if adapt is None else adapt(value) for adapt, value in zip(adapters, row, strict=True))
            for row in rows
        ]
    return Insert(
        table=quote(model._meta.db_table),
        columns=", ".join(quote(str(f.column)) for f in fields),  # type: ignore[union-attr]
        width=len(fields),
        rows=rows,
        types=[str(f.db_type(connection)) for f in fields],
    )


def insert_together(inserts: Sequence[Insert]) -> None:
    """Inserts the rows of several tables. On PostgreSQL, one statement when each table's rows fit
    one (``WITH a AS (INSERT ...), b AS (INSERT ...) INSERT ...``: every data-modifying part of a
    statement runs, once, whatever reads it; foreign keys are checked at commit, as Django declares
    them deferrable), so a few small inserts are one round trip and one parse for the server.
    Elsewhere, or for a large batch, each table's rows as ``insert_values`` inserts them. Inside the
    caller's transaction, like every helper here."""
    parts = [part for part in inserts if part.rows]
    statements = [_one_statement(p.table, p.columns, p.width, p.rows, p.types) for p in parts]
    ready = [statement for statement in statements if statement is not None]
    if connection.vendor != "postgresql" or len(parts) < 2 or len(ready) != len(parts):
        for part in parts:
            insert_values(part.table, part.columns, part.width, part.rows, part.types)
        return
    heads = ", ".join(f"inserted_{n} AS ({text})" for n, (text, _) in enumerate(ready[:-1]))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {heads} {ready[-1][0]}", [value for _, params in ready for value in params])


def insert_with_child(parent: Model, child: Model | None, link: str) -> None:
    """Inserts ``parent`` (a new instance whose auto primary key the database assigns) and, when
    given, ``child``, whose foreign key field ``link`` points at it; sets both primary keys' links
    and marks them saved. On PostgreSQL one statement (``WITH parent AS (INSERT ... RETURNING id)
    INSERT ... SELECT parent.id, ...``), elsewhere two (``INSERT ... RETURNING id``, then the child)."""
    quote = connection.ops.quote_name
    parent_fields = [f for f in parent._meta.concrete_fields if not f.primary_key]
    parent_values = [f.get_db_prep_save(getattr(parent, f.attname), connection) for f in parent_fields]
    pk = quote(str(parent._meta.pk.column))
    parent_sql = (
        f"INSERT INTO {quote(parent._meta.db_table)} ({', '.join(quote(str(f.column)) for f in parent_fields)}) "  # noqa: S608 — quoted model names, placeholders
        f"VALUES ({', '.join(['%s'] * len(parent_fields))}) RETURNING {pk}"
    )
    fk = child._meta.get_field(link) if child is not None else None
    child_fields = [f for f in child._meta.concrete_fields if not f.primary_key and f is not fk] if child else []
    child_values = [f.get_db_prep_save(getattr(child, f.attname), connection) for f in child_fields]
    child_columns = ", ".join([quote(str(fk.column)), *(quote(str(f.column)) for f in child_fields)]) if fk else ""  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        if child is not None and connection.vendor == "postgresql":
            marks = ", ".join(["%s"] * len(child_fields))
            cursor.execute(
                f"WITH parent AS ({parent_sql}) INSERT INTO {quote(child._meta.db_table)} ({child_columns}) "  # noqa: S608 — quoted model names, placeholders
                f"SELECT parent.{pk}, {marks} FROM parent RETURNING {quote(str(fk.column))}",  # type: ignore[union-attr]
                [*parent_values, *child_values],
            )
            (parent_id,) = cursor.fetchone()
        else:
            cursor.execute(parent_sql, parent_values)
            (parent_id,) = cursor.fetchone()
            if child is not None:
                marks = ", ".join(["%s"] * (len(child_fields) + 1))
                cursor.execute(
                    f"INSERT INTO {quote(child._meta.db_table)} ({child_columns}) VALUES ({marks})",  # noqa: S608 — quoted model names, placeholders
                    [parent_id, *child_values],
                )
    parent.pk = parent_id
    for obj in (parent, child):
        if obj is not None:
            _saved(obj)
    if child is not None:
        setattr(child, link, parent)


def _sqlite_datetime(value: datetime.datetime | None) -> str | None:
    # What Django's SQLite backend stores (USE_TZ): naive UTC in ``str()`` form.
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return str(value.replace(tzinfo=None))


def _sqlite_date(value: datetime.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _adapter(model_field: Any) -> Callable[[Any], Any] | None:
    """How a raw value becomes a query parameter for this column (None: as it is)."""
    sqlite = connection.vendor == "sqlite"
    if isinstance(model_field, DateTimeField):
        return _sqlite_datetime if sqlite else connection.ops.adapt_datetimefield_value
    if isinstance(model_field, DateField):
        return _sqlite_date if sqlite else connection.ops.adapt_datefield_value
    if isinstance(model_field, JSONField):
        if sqlite:
            return lambda value: None if value is None else json.dumps(value)
        return lambda value: model_field.get_db_prep_save(value, connection)
    return None
