"""The percentile used on SQLite interpolates like PostgreSQL's percentile_cont.

Read from a histogram in tenths of a day (the rollup), it is within 0.05 day of the exact one.
"""

from __future__ import annotations

import statistics
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from legionary.reports.aggregates import bucket_of, histogram_percentile, percentile_of

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


durations = st.lists(st.floats(min_value=-30, max_value=400, allow_nan=False), min_size=1, max_size=80)


@given(durations, st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
def test_a_percentile_read_from_tenths_of_a_day_is_within_half_a_tenth_of_the_exact_one(
    data: list[float], fraction: float
) -> None:
    counts = sorted(Counter(bucket_of(days) for days in data).items())
    exact = percentile_of(data, fraction)
    assert exact is not None
    assert abs((histogram_percentile(counts, fraction) or 0.0) - exact) <= 0.05 + 1e-9


def test_an_empty_histogram_has_no_percentile_and_buckets_round_down() -> None:
    assert histogram_percentile([], 0.5) is None
    assert (bucket_of(2.99), bucket_of(3.0), bucket_of(-0.01)) == (29, 30, -1)
