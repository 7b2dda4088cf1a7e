"""`jxc demo`: a store day end to end on loopback, checked."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click


@click.command()
@click.option("--headless", is_flag=True, help="No progress bar, no pause: run, check, exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--scans", default=400, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--items", default=200, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option(
    "--home",
    envvar="JXC_HOME",
    default=".jxc",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Demo data and logs go under HOME/demo (wiped at start).",
)
def demo(headless: bool, as_json: bool, scans: int, items: int, home: Path) -> None:
    """Run a store day: NATS, Mosquitto, cloud ingest on ClickHouse, two store edges, POS
    terminals scanning and redeeming vouchers, coupons and pickup codes (one multi-store code
    redeemed in both stores); then check every edge event of both stores landed in ClickHouse
    exactly once and the cloud flagged the double redemption once.

    Exits 0 only when nothing was lost, nothing duplicated, every redemption answered as
    expected and the double redemption was flagged exactly once.
    """
    from ops.demo import DemoResult, run_demo
    from ops.logs import configure_logging

    configure_logging("warning")
    quiet = headless or as_json

    def say(message: str) -> None:
        if not quiet:
            click.echo(f"• {message}")

    @contextlib.contextmanager
    def progress(total: int) -> Iterator[Callable[[int], None]]:
        with click.progressbar(length=total, label="scanning", file=sys.stderr) as bar:
            yield bar.update

    def pause(result: DemoResult) -> None:
        _print_summary(result)
        if sys.stdin.isatty():
            click.echo("\nEverything is still running. Press Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(1)

    result = run_demo(
        home,
        scans=scans,
        items=items,
        say=say,
        progress_factory=None if quiet else progress,
        keep_running=None if quiet else pause,
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "scans": result.scans,
                    "events_edge": result.events_edge,
                    "events_clickhouse": result.events_clickhouse,
                    "lost": result.lost,
                    "duplicated": result.duplicated,
                    "verdicts": result.verdicts,
                    "landed_s": result.landed_s,
                    "ok": result.ok,
                    **result.devices,
                    "redemptions": result.redemptions,
                    "redemptions_rejected": result.redemptions_rejected,
                    "redemption_retries": result.redemption_retries,
                    "double_redemptions_flagged": result.double_redemptions_flagged,
                    "redeem_unexpected": result.redeem_unexpected,
                    "stores": result.stores,
                    "trace": result.trace,
                }
            )
        )
    elif headless:
        _print_summary(result)
    sys.exit(0 if result.ok else 1)


def _print_summary(result: object) -> None:
    from ops.demo import DemoResult

    assert isinstance(result, DemoResult)
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(result.verdicts.items()))
    click.echo(
        f"\nscans {result.scans} ({verdicts})\n"
        f"events at the edge {result.events_edge}, in ClickHouse {result.events_clickhouse}, "
        f"lost {result.lost}, duplicated {result.duplicated}  →  "
        f"{'OK: every event landed exactly once' if result.ok else 'FAILED'}\n"
        f"redemptions {result.redemptions}, rejected {result.redemptions_rejected}, "
        f"double redemptions flagged by the cloud {result.double_redemptions_flagged}"
    )
    for problem in result.redeem_unexpected:
        click.echo(f"  unexpected: {problem}")
    trace = result.trace
    if trace:
        click.echo(
            f"trace of lot {trace['gtin']}/{trace['lot']}: {trace['descendants']} lots made from"
            f" it in {len(trace['stores'])} stores, {trace['receipts']} receipts, report"
            f" {'verified offline' if trace['report_verified'] else 'NOT verified'},"
            f" recall holds {trace['recall_holds']}, recalled pack scans as"
            f" {trace['recalled_scan_verdict'] or '?'}"
        )
        for problem in trace["problems"]:
            click.echo(f"  trace problem: {problem}")
    if result.urls:
        click.echo("\nWhere to look:")
        for name, url in result.urls.items():
            click.echo(f"  {name:18} {url}")
