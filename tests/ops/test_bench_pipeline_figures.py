"""`jxc bench pipeline`'s account of where the time went: CPU per event of each process."""

from __future__ import annotations

from ops.bench.pipeline import _cpu_per_event


def test_cpu_per_event_is_each_process_own_share() -> None:
    before = {"cloud": 1.5, "nats": 0.25}  # the edge starts with the run: from zero
    after = {"edge": 10.0, "cloud": 21.5, "nats": 1.25}
    assert _cpu_per_event(before, after, 1_000_000) == {"edge": 10.0, "cloud": 20.0, "nats": 1.0}


def test_no_figures_where_a_process_cannot_be_read() -> None:
    assert _cpu_per_event({"cloud": None}, {"edge": 1.0, "cloud": 2.0}, 10) is None
    assert _cpu_per_event({}, {"edge": None}, 10) is None
