"""`jxc transport status`: per store, how far events have travelled from edge to ClickHouse."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

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
@click.option(
    "--cloud-url",
    envvar="JXC_CLOUD_URL",
    default="http://127.0.0.1:8200",
    show_default=True,
    help="The cloud API (jxc cloud serve).",
)
@click.option(
    "--token",
    envvar="JXC_CLOUD_API_TOKEN",
    help="Cloud API token (default: JXC_CLOUD_API_TOKEN, else JXC_HOME/cloud/api-token).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def status(cloud_url: str, token: str | None, as_json: bool) -> None:
    """Per store: edge seq, last JetStream-acked seq, cloud high-water mark, lag, gaps,
    duplicates and hash-chain breaks. Exits 1 when any store has gaps, duplicates or breaks."""
    import httpx

    if not token:
        token_file = Path(os.environ.get("JXC_HOME", ".jxc")) / "cloud" / "api-token"
        if not token_file.exists():
            raise click.UsageError("no API token: pass --token or set JXC_CLOUD_API_TOKEN")
        token = token_file.read_text().strip()
    try:
        response = httpx.get(
            f"{cloud_url.rstrip('/')}/v1/transport/stores",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cloud API unreachable at {cloud_url}: {exc}") from exc
    if response.status_code != 200:
        raise click.ClickException(f"cloud API answered {response.status_code}: {response.text}")
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
