"""Latency histograms (edge/telemetry.py): quantiles within a bucket of the truth, and two
snapshots subtract into exactly what was recorded between them."""

from __future__ import annotations

import math

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from edge.telemetry import (
    BUCKETS,
    LatencyHistogram,
    LatencySnapshot,
    bucket_of,
    bucket_upper_ms,
)

BUCKET_RATIO = 2 ** (1 / 8)
durations = st.lists(
    st.floats(min_value=0.0, max_value=3600.0, allow_nan=False), min_size=1, max_size=300
)
quantiles = st.sampled_from([0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0])


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def histogram_of(values: list[float]) -> LatencyHistogram:
    histogram = LatencyHistogram()
    for value in values:
        histogram.record(value)
    return histogram


@given(durations, quantiles)
def test_a_quantile_is_its_buckets_upper_bound(values: list[float], q: float) -> None:
    got = histogram_of(values).snapshot().quantile_ms(q)
    true_ms = nearest_rank(values, q) * 1000
    assert got >= true_ms * (1 - 1e-9)
    # At most one bucket (~9 %) above, and never below the 1 µs floor.
    assert got <= max(true_ms * BUCKET_RATIO * (1 + 1e-9), 0.001)


@given(durations, durations)
def test_snapshots_subtract_into_what_came_between(before: list[float], after: list[float]) -> None:
    histogram = histogram_of(before)
    earlier = histogram.snapshot()
    for value in after:
        histogram.record(value)
    between = histogram.snapshot().since(earlier)
    alone = histogram_of(after).snapshot()
    assert between.count == alone.count == len(after)
    assert between.buckets == alone.buckets
    assert math.isclose(between.sum_ms, alone.sum_ms, rel_tol=1e-9, abs_tol=1e-6)
    # The difference keeps the later maximum (an upper bound of the period's), which only
    # caps a quantile: with the period's own maximum they read the same.
    exact = msgspec.structs.replace(between, max_ms=alone.max_ms)
    for q in (0.5, 0.99):
        assert exact.quantile_ms(q) == alone.quantile_ms(q)
        assert between.quantile_ms(q) >= alone.quantile_ms(q)


def test_buckets_are_ordered_and_bounded() -> None:
    assert bucket_of(0.0) == 0
    assert bucket_of(1e-6) == 0
    assert bucket_of(2e-6) == 8  # 2 µs ends the eighth bucket
    assert bucket_of(1e9) == BUCKETS - 1  # absurdly long: counted in the last bucket
    assert bucket_upper_ms(bucket_of(0.0042)) >= 4.2
    uppers = [bucket_upper_ms(i) for i in range(BUCKETS)]
    assert uppers == sorted(uppers)


def test_a_summary_reads_like_the_histogram() -> None:
    histogram = histogram_of([0.001] * 98 + [0.050, 0.200])
    summary = histogram.snapshot().summary()
    assert summary.count == 100
    assert 1.0 <= summary.p50_ms <= 1.0 * BUCKET_RATIO
    assert 50.0 <= summary.p99_ms <= 50.0 * BUCKET_RATIO
    assert summary.max_ms == 200.0
    assert math.isclose(summary.mean_ms, (98 * 1.0 + 50 + 200) / 100, rel_tol=1e-3)
    assert LatencySnapshot().summary().p99_ms == 0.0


@given(durations)
def test_display_bins_hold_every_count(values: list[float]) -> None:
    bounds = (0.1, 1.0, 10.0, 100.0)
    counts = histogram_of(values).snapshot().binned(bounds)
    assert sum(counts) == len(values)
    # A bin never holds a duration over its bound, except the last (everything longer).
    assert counts[0] <= sum(1 for v in values if v * 1000 <= 0.1)
    assert sum(counts[:3]) <= sum(1 for v in values if v * 1000 <= 10.0)
