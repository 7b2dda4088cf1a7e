"""`jxc trace completeness`: the traceability completeness report of every store, from the
cloud API (GET /v1/trace/completeness), as tables per store and supplier or as JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from ops.cli.cloud_api import call_cloud, cloud_options

_MAX_LISTED = 5  # examples printed per kind and supplier (--json has them all)


@click.command("completeness")
@cloud_options
@click.option("--since", help="Start, ISO 8601 with timezone (default: 7 days before --until).")
@click.option("--until", help="End, ISO 8601 with timezone (default: now).")
@click.option(
    "--late-after-h",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    help="A goods receipt uploaded later than this many hours after signing is late.",
)
@click.option(
    "--examples",
    type=click.IntRange(0, 500),
    default=20,
    show_default=True,
    help="Examples per store, supplier and kind of gap.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
def completeness_command(
    cloud_url: str,
    token: str | None,
    since: str | None,
    until: str | None,
    late_after_h: float,
    examples: int,
    as_json: bool,
) -> None:
    """Trace gaps per store and supplier: lots sold without receipt inspection, receipts
    uploaded late, lots missing required documents, sensor reading gaps and offline probes.

    \b
      jxc trace completeness                                   the last 7 days
      jxc trace completeness --since 2026-11-01T00:00:00+08:00 --until 2026-12-01T00:00:00+08:00
      jxc trace completeness --late-after-h 12 --json
    """
    body = call_cloud(
        cloud_url,
        token,
        "/v1/trace/completeness",
        params={
            "since": since,
            "until": until,
            "late_after_h": f"{late_after_h:g}",
            "examples": str(examples),
        },
        timeout_s=120.0,
    ).json()
    if as_json:
        click.echo(json.dumps(body))
    else:
        print_report(body)


def _percent(score: float | None) -> str:
    return "—" if score is None else f"{score:.1%}"


def _supplier_name(supplier_id: str) -> str:
    return supplier_id or "(no supplier)"


def print_report(body: dict[str, Any]) -> None:
    """The report as rich tables: a summary of every store, then each store's suppliers and
    devices with a few examples of each gap."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=False)
    console.print(
        f"[bold]Traceability completeness[/bold] {escape(body['since'])} → {escape(body['until'])}"
        f"  (late after {body['late_after_h']:g} h)  overall {_percent(body['score'])}"
        f" of {body['sold_lots']} sold lots complete"
    )
    if not body["stores"]:
        console.print("No store recorded anything in this period.")
        return
    summary = Table(title="Stores", title_justify="left")
    for column in ("store", "score", "sold lots", "uninspected", "late receipts",
                   "missing docs", "reading gaps", "offline h"):  # fmt: skip
        summary.add_column(column, justify="left" if column == "store" else "right")
    for store in body["stores"]:
        summary.add_row(
            Text(store["store_id"]),
            _percent(store["score"]),
            str(store["sold_lots"]),
            str(store["uninspected_lots"]),
            f"{store['late_receipts']} (worst {store['worst_delay_h']:g} h)"
            if store["late_receipts"]
            else "0",
            str(store["lots_missing_documents"]),
            f"{store['seq_gaps']} ({store['readings_missing']} readings)",
            f"{store['offline_h']:g}",
        )
    console.print(summary)
    for store in body["stores"]:
        _print_store(console, store)


def _print_store(console: Any, store: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    console.print()
    console.rule(Text(f"{store['store_id']}  score {_percent(store['score'])}", style="bold"))
    if store["suppliers"]:
        suppliers = Table(title="Suppliers", title_justify="left")
        for column in ("supplier", "sold lots", "complete", "uninspected", "late receipts",
                       "worst delay h", "received lots", "missing docs"):  # fmt: skip
            suppliers.add_column(column, justify="left" if column == "supplier" else "right")
        for s in store["suppliers"]:
            suppliers.add_row(
                Text(_supplier_name(s["supplier_id"])),
                str(s["sold_lots"]),
                str(s["complete_lots"]),
                str(s["uninspected_lots"]),
                str(s["late_receipts"]),
                f"{s['worst_delay_h']:g}",
                str(s["received_lots"]),
                str(s["lots_missing_documents"]),
            )
        console.print(suppliers)
        for s in store["suppliers"]:
            _print_examples(console, s)
    if store["devices"]:
        devices = Table(title="Sensors", title_justify="left")
        for column in ("device", "location", "reading gaps", "readings missing",
                       "offline periods", "offline h", "still offline since"):  # fmt: skip
            devices.add_column(
                column, justify="left" if column in ("device", "location") else "right"
            )
        for d in store["devices"]:
            devices.add_row(
                Text(d["device_id"]),
                Text(d["location_id"]),
                str(d["seq_gaps"]),
                str(d["readings_missing"]),
                str(d["offline_periods"]),
                f"{d['offline_h']:g}",
                d.get("offline_since") or "",
            )
        console.print(devices)


def _print_examples(console: Any, supplier: dict[str, Any]) -> None:
    lines: list[str] = []
    for u in supplier["uninspected"][:_MAX_LISTED]:
        why = "never received" if u["reason"] == "never_received" else "made from uninspected lots"
        lines.append(
            f"  uninspected  {u['gtin']}/{u['lot']}: {why}; first sold {u['first_sold_at']}"
            f" ({u['sales']} sales)"
        )
    for r in supplier["late"][:_MAX_LISTED]:
        lines.append(
            f"  late receipt {r['receipt_id']}: signed {r['signed_at']}, uploaded"
            f" {r['uploaded_at']} ({r['delay_h']:g} h, {r['lines']} lots)"
        )
    for m in supplier["missing_documents"][:_MAX_LISTED]:
        lines.append(
            f"  missing docs {m['gtin']}/{m['lot']} ({m['category']}, receipt {m['receipt_id']}):"
            f" {', '.join(m['missing'])}"
        )
    if lines:
        console.print(_supplier_name(supplier["supplier_id"]), style="bold", markup=False)
        for line in lines:
            console.print(line, markup=False)
