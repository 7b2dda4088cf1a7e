"""Benchmarks behind `jxc bench <name> --json`: each prints one JSON object of figures.

One module per benchmark (`pipeline.py`, `scan.py`, …), each defining a click command named
like the module; `ops/cli/bench.py` registers them.
"""
