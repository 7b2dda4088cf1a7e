"""Pieces every HTTP benchmark shares: readiness of the edge under test, percentiles."""

from __future__ import annotations

import subprocess

import click

from ops import services as local


def wait_edge_ready(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    """Wait for the edge's /healthz, failing the benchmark clearly if it exits or hangs."""
    try:
        local.wait_for_http_ok(
            f"http://127.0.0.1:{port}/healthz", timeout_s=timeout_s, process=proc
        )
    except local.ServiceError as exc:
        raise click.ClickException(f"the edge did not become ready: {exc}") from exc


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) of already sorted values, 0.0 for none (nearest rank)."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]
