"""`jxc bench …`: measured performance of each budget in DESIGN.md, as JSON."""

from __future__ import annotations

import importlib

import click

# Each module under ops/bench/ defines a click command named like the module.
_BENCHMARKS: tuple[str, ...] = ("scan", "pipeline", "redeem", "intake", "trace")


@click.group()
def bench() -> None:
    """Benchmarks of the performance budgets; each prints one JSON object with --json.

    Run them on a quiet machine: they measure real processes on loopback.
    """


for _name in _BENCHMARKS:
    bench.add_command(getattr(importlib.import_module(f"ops.bench.{_name}"), _name))
