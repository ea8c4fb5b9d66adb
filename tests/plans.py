"""The SQL a piece of code sends, and the database's plan for one statement, for tests that prove
an index is used (on both databases, with the real parameters: SQLite uses a partial index only
when the query holds its literals, so pasting values in would prove the wrong thing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection

Statement = tuple[str, Any]


def statements_of(run: Callable[[], object]) -> list[Statement]:
    """The SQL and parameters of every statement ``run`` sends."""
    seen: list[Statement] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        run()
    return seen


def plan_of(statement: Statement) -> str:
    """``EXPLAIN`` (PostgreSQL, scans and sorts discouraged: test tables hold a few rows, where a
    scan is cheapest) or ``EXPLAIN QUERY PLAN`` (SQLite) of one statement, as text."""
    sql, params = statement
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")  # so a page in index order wins if the query allows one
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


# The apps whose tables the duplicate sample fills. ANALYZE writes a table's size (pg_class.reltuples)
# in place, so it outlives the test's rolled-back transaction; analysing an empty table would tell
# later tests' planner that it is empty for good. So only these apps' tables that hold rows are
# analysed (a test proving the commander's vacant billets use their partial index failed when every
# table was).
BULK_LOADED_APPS = ("identity", "intake", "vetting")


def analyze_after_bulk_load() -> None:
    """Gives PostgreSQL the statistics autovacuum would have gathered after a bulk load: rows a test
    writes inside its own transaction are invisible to autovacuum, so the planner takes the tables
    for empty and joins the blind indexes row by row (minutes instead of seconds on the sample).
    SQLite plans without such statistics; nothing to do there."""
    if connection.vendor != "postgresql":
        return
    from django.apps import apps

    filled = sorted(
        connection.ops.quote_name(model._meta.db_table)
        for label in BULK_LOADED_APPS
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed and not model._meta.proxy and model._base_manager.exists()
    )
    if filled:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(filled))
