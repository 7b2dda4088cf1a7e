"""The `jxc` command line: one group, one module per command family.

Command modules import their heavy dependencies (Litestar, chdb, NATS) inside the commands,
so `jxc --help` stays instant and a store box without the cloud extras can run edge commands.
"""

from __future__ import annotations

import importlib

import click

# Each module defines a click command or group named like the module (`barcode` → `barcode`).
_COMMAND_MODULES = (
    "services",
    "edge",
    "cloud",
    "demo",
    "barcode",
    "device",
    "bench",
    "transport",
    "redeem",
    "sim",
    "trace",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="jxc")
def main() -> None:
    """jxc: the store edge node and cloud for fresh-food retail.

    \b
    Start here:
      jxc services up      run NATS JetStream and Mosquitto on loopback (data under .jxc/)
      jxc demo             a store day end to end: edge, ingest, ClickHouse, checks
      jxc edge serve       the store edge service for POS terminals
      jxc cloud serve      ingest + API on ClickHouse (embedded chdb by default)
    """


for _name in _COMMAND_MODULES:
    _module = importlib.import_module(f"ops.cli.{_name}")
    main.add_command(getattr(_module, _name))
