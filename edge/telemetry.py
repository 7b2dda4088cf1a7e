"""How long the edge's hot work takes, kept as it runs: latency histograms.

A store manager asking "why was the till slow at noon" and a benchmark asking "where did the
time go" need the same figure: how long the edge itself took, apart from the network and the
terminal. Each timed step (a POS route's answer, the event log's commit, a fact's wait to be
durable) counts its durations in logarithmic buckets, eight per doubling (each ~9 % wide),
from 1 µs to over an hour. Recording is one `log2` and an increment; memory is fixed; and
counts are cumulative since start, so two snapshots taken around a period subtract into the
exact distribution of that period (the bench does this around its measured run).
"""

from __future__ import annotations

import math

import msgspec

_PER_DOUBLING = 8
BUCKETS = 256  # bucket 255 ends at 2**(255/8) µs ≈ 66 minutes; longer durations count there


def bucket_of(seconds: float) -> int:
    """The bucket counting a duration: bucket i holds (2**((i-1)/8), 2**(i/8)] µs."""
    micros = seconds * 1e6
    if micros <= 1.0:
        return 0
    return min(BUCKETS - 1, math.ceil(math.log2(micros) * _PER_DOUBLING))


def bucket_upper_ms(index: int) -> float:
    """The longest duration bucket `index` counts, in milliseconds."""
    return float(2.0 ** (index / _PER_DOUBLING) / 1000.0)


class LatencySnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A histogram's counts at one moment: `buckets` holds [bucket, count] for non-empty
    buckets, in bucket order. Subtract an earlier snapshot to get what happened in between."""

    count: int = 0
    sum_ms: float = 0.0
    max_ms: float = 0.0  # since start (a difference keeps the later one's)
    buckets: tuple[tuple[int, int], ...] = ()

    def since(self, earlier: LatencySnapshot) -> LatencySnapshot:
        """What was recorded after `earlier` (a snapshot of the same histogram)."""
        before = dict(earlier.buckets)
        buckets = tuple(
            (index, count - before.get(index, 0))
            for index, count in self.buckets
            if count > before.get(index, 0)
        )
        return LatencySnapshot(
            count=self.count - earlier.count,
            sum_ms=self.sum_ms - earlier.sum_ms,
            max_ms=self.max_ms,
            buckets=buckets,
        )

    def quantile_ms(self, q: float) -> float:
        """The q-quantile (0..1) as its bucket's upper bound (or the maximum, if lower):
        never below the true value, at most ~9 % above it. 0.0 when nothing was recorded."""
        if self.count <= 0 or not self.buckets:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        found = self.buckets[-1][0]
        for index, count in self.buckets:
            seen += count
            if seen >= rank:
                found = index
                break
        return min(bucket_upper_ms(found), self.max_ms)

    def binned(self, upper_ms: tuple[float, ...]) -> list[int]:
        """Counts per display bin: bin k holds durations up to `upper_ms[k]` and over the
        bound before it (by bucket upper bound); the last bin also holds everything longer."""
        counts = [0] * len(upper_ms)
        for index, count in self.buckets:
            bound = bucket_upper_ms(index)
            k = next((k for k, upper in enumerate(upper_ms) if bound <= upper), len(upper_ms) - 1)
            counts[k] += count
        return counts

    def mean_ms(self) -> float:
        return self.sum_ms / self.count if self.count else 0.0

    def summary(self) -> LatencySummary:
        return LatencySummary(
            count=self.count,
            mean_ms=round(self.mean_ms(), 3),
            p50_ms=round(self.quantile_ms(0.50), 3),
            p90_ms=round(self.quantile_ms(0.90), 3),
            p99_ms=round(self.quantile_ms(0.99), 3),
            max_ms=round(self.max_ms, 3),
        )


class LatencySummary(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot read the way a person reads it (quantiles at bucket resolution)."""

    count: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


class LatencyHistogram:
    """Durations counted in logarithmic buckets since start (see the module docstring)."""

    __slots__ = ("_counts", "_max_s", "_sum_s", "count")

    def __init__(self) -> None:
        self._counts = [0] * BUCKETS
        self.count = 0
        self._sum_s = 0.0
        self._max_s = 0.0

    def record(self, seconds: float) -> None:
        self._counts[bucket_of(seconds)] += 1
        self.count += 1
        self._sum_s += seconds
        if seconds > self._max_s:
            self._max_s = seconds

    def snapshot(self) -> LatencySnapshot:
        return LatencySnapshot(
            count=self.count,
            sum_ms=self._sum_s * 1000.0,
            max_ms=self._max_s * 1000.0,
            buckets=tuple((i, n) for i, n in enumerate(self._counts) if n),
        )
