"""`jxc transport status`: per store, how far events have travelled from edge to ClickHouse."""

from __future__ import annotations

import json

import click

from ops.cli.cloud_api import call_cloud, cloud_options

_COLUMNS = (
    ("store_id", "store"),
    ("edge_seq", "edge seq"),
    ("edge_acked_seq", "JetStream acked"),
    ("cloud_hwm", "cloud mark"),
    ("distinct_seqs", "in ClickHouse"),
    ("lag", "lag"),
    ("missing_below_max", "gaps"),
    ("duplicated", "dup"),
    ("chain_breaks", "chain breaks"),
)


@click.group()
def transport() -> None:
    """Store-and-forward: edge log → NATS JetStream → ClickHouse."""


@transport.command()
@cloud_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def status(cloud_url: str, token: str | None, as_json: bool) -> None:
    """Per store: edge seq, last JetStream-acked seq, cloud high-water mark, lag, gaps,
    duplicates and hash-chain breaks. Exits 1 when any store has gaps, duplicates or breaks."""
    response = call_cloud(cloud_url, token, "/v1/transport/stores", timeout_s=10)
    report = response.json()
    if as_json:
        click.echo(json.dumps(report))
    else:
        rows = [[header for _, header in _COLUMNS]] + [
            ["-" if store.get(key) is None else str(store[key]) for key, _ in _COLUMNS]
            for store in report["stores"]
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
        for row in rows:
            click.echo(
                "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
            )
        click.echo(f"dead letters: {report['dead_letters']}")
    unhealthy = report["dead_letters"] or any(
        store["missing_below_max"] or store["duplicated"] or store["chain_breaks"]
        for store in report["stores"]
    )
    raise SystemExit(1 if unhealthy else 0)
