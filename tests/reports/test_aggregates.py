"""The percentile used on SQLite interpolates like PostgreSQL's percentile_cont."""

from __future__ import annotations

import statistics

from hypothesis import given
from hypothesis import strategies as st

from legionary.reports.aggregates import percentile_of

values = st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=2, max_size=60)


@given(values)
def test_the_median_is_the_statistics_median(data: list[float]) -> None:
    assert abs((percentile_of(data, 0.5) or 0.0) - statistics.median(data)) <= 1e-6 * max(1.0, *map(abs, data))


@given(values)
def test_the_90th_percentile_is_the_inclusive_quantile(data: list[float]) -> None:
    expected = statistics.quantiles(data, n=10, method="inclusive")[8]
    assert abs((percentile_of(data, 0.9) or 0.0) - expected) <= 1e-6 * max(1.0, *map(abs, data))


def test_no_values_have_no_percentile_and_one_value_is_its_own() -> None:
    assert percentile_of([], 0.5) is None
    assert percentile_of([3.0], 0.9) == 3.0
