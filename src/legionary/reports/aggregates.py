"""Durations for the reports: days between two instants in SQL on both databases, and percentiles.

Responsible for ``DaysBetween`` (dates and datetimes alike, as a float number of days, computed by
the database), ``percentile_of`` (linear interpolation between the closest ranks, the definition
of PostgreSQL's ``percentile_cont``) and its twin over a histogram of tenths of a day
(``histogram_percentile``, for the rollup), and the UTC month and day of an instant (``MonthOf``,
``DayOf``), so that figures are the same on SQLite and PostgreSQL. Must never put a value into SQL
text: every operand is a compiled expression.
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


# Durations are counted in the rollup in buckets of 1/BUCKETS_PER_DAY day (a tenth of a day).
BUCKETS_PER_DAY = 10


def bucket_of(days: float) -> int:
    """The histogram bucket of a duration: whole tenths of a day, rounded down (negative ones too)."""
    return math.floor(days * BUCKETS_PER_DAY)


def bucket_value(bucket: int) -> float:
    """The duration a bucket stands for: its middle, so that it is at most half a bucket off."""
    return (bucket + 0.5) / BUCKETS_PER_DAY


def histogram_percentile(counts: list[tuple[int, int]], fraction: float) -> float | None:
    """``percentile_of`` over a histogram of (bucket, how many) sorted by bucket, each value at its bucket's middle.

    The same ranks are interpolated as ``percentile_of`` would over the exact values, so the result
    is within half a bucket (0.05 day) of the exact percentile.
    """
    total = sum(n for _bucket, n in counts)
    if total == 0:
        return None
    position = fraction * (total - 1)
    lower = math.floor(position)
    upper = min(lower + 1, total - 1)
    found: dict[int, float] = {}
    seen = 0
    for bucket, n in counts:
        for rank in (lower, upper):
            if rank not in found and seen <= rank < seen + n:
                found[rank] = bucket_value(bucket)
        seen += n
        if upper in found:
            break
    return found[lower] + (found[upper] - found[lower]) * (position - lower)


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


class DayOf(Func):
    """The UTC day of a datetime as ``YYYY-MM-DD`` text (the day ``MonthOf`` takes its month from)."""

    output_field = CharField()
    arity = 1

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra_context: Any) -> Any:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"substr({sql}, 1, 10)", list(params)

    def as_postgresql(self, compiler: Any, connection: Any, *args: Any, **extra_context: Any) -> Any:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"to_char(({sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')", list(params)
