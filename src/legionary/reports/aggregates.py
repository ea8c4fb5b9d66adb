"""Durations for the reports: days between two instants in SQL on both databases, and percentiles.

Responsible for ``DaysBetween`` (dates and datetimes alike, as a float number of days, computed by
the database) and ``percentile_of`` (linear interpolation between the closest ranks, the
definition of PostgreSQL's ``percentile_cont``), so that figures are the same on SQLite and
PostgreSQL. Must never put a value into SQL text: both operands are compiled expressions.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import CharField, FloatField, Func


def percentile_of(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's ``percentile_cont``)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


class DaysBetween(Func):
    """``later - earlier`` in days (a float), for dates and datetimes alike; NULL if either is NULL."""

    output_field = FloatField()
    arity = 2

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra_context: Any) -> Any:
        (later, later_params), (earlier, earlier_params) = (compiler.compile(e) for e in self.get_source_expressions())
        return f"(julianday({later}) - julianday({earlier}))", [*later_params, *earlier_params]

    def as_postgresql(self, compiler: Any, connection: Any, *args: Any, **extra_context: Any) -> Any:
        (later, later_params), (earlier, earlier_params) = (compiler.compile(e) for e in self.get_source_expressions())
        # Dates become midnight UTC (Django sets the connection's time zone to UTC).
        sql = f"(EXTRACT(EPOCH FROM (({later})::timestamptz - ({earlier})::timestamptz)) / 86400.0)::double precision"
        return sql, [*later_params, *earlier_params]


class MonthOf(Func):
    """The UTC month of a datetime as ``YYYY-MM`` text.

    Cheaper than ``TruncMonth`` on SQLite, where Django truncates through a Python function per
    row; SQLite stores datetimes as UTC text, so the month is the text's first seven characters.
    """

    output_field = CharField()
    arity = 1

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra_context: Any) -> Any:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"substr({sql}, 1, 7)", list(params)

    def as_postgresql(self, compiler: Any, connection: Any, *args: Any, **extra_context: Any) -> Any:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"to_char(({sql}) AT TIME ZONE 'UTC', 'YYYY-MM')", list(params)
