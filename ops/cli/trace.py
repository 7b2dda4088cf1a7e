"""`jxc trace …`: trace a lot, a receipt or a container from the terminal; fetch and verify
evidence reports; export EPCIS 2.0 and FSMA 204; open recalls; the completeness report."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from ops.cli.cloud_api import call_cloud, cloud_options
from ops.cli.trace_completeness import completeness_command

_SPARK = "▁▂▃▄▅▆▇█"


@click.group()
def trace() -> None:
    """Traceability: where a lot came from, where it went, and the proof.

    \b
      jxc trace lot 06900000000019 L1        trace a lot (backward, forward, receipts, stays)
      jxc trace lot '(01)06900000000019(10)L1'   or give the label's GS1 code / Digital Link
      jxc trace receipt RC-1                 every lot on a receipt or e-receipt
      jxc trace report GTIN LOT -o r.json    the trace with its evidence
      jxc trace verify r.json                check a report offline (no cloud needed)
    """


def _lot_arguments(code_or_gtin: str, lot: str | None) -> tuple[str, str]:
    """GTIN and lot, from two arguments or from one GS1 element string / Digital Link."""
    if lot is not None:
        return code_or_gtin, lot
    from protocol.gs1 import BarcodeError, decode_scan

    code = decode_scan(code_or_gtin.replace("<GS>", "\x1d"), today=date.today())
    if isinstance(code, BarcodeError):
        raise click.BadParameter(f"not a GS1 code with a GTIN and a lot: {code.reason}")
    if not code.gtin14 or not code.lot:
        raise click.BadParameter("the code carries no lot (AI 10): give GTIN and LOT instead")
    return code.gtin14, code.lot


@trace.command()
@click.argument("code_or_gtin")
@click.argument("lot", required=False)
@cloud_options
@click.option("--json", "as_json", is_flag=True, help="Print the whole trace as JSON.")
def lot(
    code_or_gtin: str, lot: str | None, cloud_url: str, token: str | None, as_json: bool
) -> None:
    """Trace one lot: its suppliers and inspections, its genealogy both ways, every store and
    receipt it reached, its stays with temperature curves, what is still on hand, and who and
    which devices touched it."""
    gtin, lot_number = _lot_arguments(code_or_gtin, lot)
    body = call_cloud(cloud_url, token, f"/v1/trace/lots/{gtin}/{lot_number}").json()
    if as_json:
        click.echo(json.dumps(body))
    else:
        _print_trace(body)


@trace.command()
@click.argument("sscc")
@cloud_options
@click.option("--json", "as_json", is_flag=True, help="Print the whole trace as JSON.")
def serial(sscc: str, cloud_url: str, token: str | None, as_json: bool) -> None:
    """Trace a container (case, pallet) by its 18-digit SSCC: what was packed into it, and
    where that came from."""
    body = call_cloud(cloud_url, token, f"/v1/trace/serials/{sscc}").json()
    click.echo(json.dumps(body)) if as_json else _print_trace(body)


@trace.command()
@click.argument("document_id")
@cloud_options
@click.option("--json", "as_json", is_flag=True, help="Print the traces as JSON.")
def receipt(document_id: str, cloud_url: str, token: str | None, as_json: bool) -> None:
    """Trace every lot on a customer receipt, e-receipt reference, goods receipt or shipment."""
    body = call_cloud(cloud_url, token, f"/v1/trace/receipts/{document_id}").json()
    if as_json:
        click.echo(json.dumps(body))
        return
    lots = ", ".join(f"{r['gtin']}/{r['lot']}" for r in body["lots"])
    click.secho(f"{document_id}: {len(body['lots'])} lot(s): {lots}", bold=True)
    for one in body["traces"]:
        click.echo()
        _print_trace(one)


@trace.command()
@click.argument("code_or_gtin")
@click.argument("lot", required=False)
@cloud_options
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
def report(
    code_or_gtin: str, lot: str | None, cloud_url: str, token: str | None, output: Path | None
) -> None:
    """Fetch a lot's trace with its evidence (events, Merkle proofs, signed checkpoints), to
    hand to an auditor or regulator; they check it with `jxc trace verify`."""
    gtin, lot_number = _lot_arguments(code_or_gtin, lot)
    response = call_cloud(cloud_url, token, f"/v1/trace/lots/{gtin}/{lot_number}/report")
    _write(response.content, output)


@trace.command()
@click.argument("report_file", type=click.File("rb"))
@click.option(
    "--trust",
    "trusted",
    multiple=True,
    metavar="KEY_ID",
    help="A store key fingerprint you trust (repeatable); default: any key the report names.",
)
@click.option("--strict", is_flag=True, help="Fail when an event is not yet under a checkpoint.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def verify(report_file: Any, trusted: tuple[str, ...], strict: bool, as_json: bool) -> None:
    """Verify a trace report offline: every event hashes to its chain link, every record is
    what its event says, every proof leads to a checkpoint signed by the store's key.
    Exits 0 when the report holds, 1 when it does not, 2 when the file is not a report."""
    import msgspec

    from cloud.trace.evidence import TraceReport, verify_report

    try:
        parsed = msgspec.json.decode(report_file.read(), type=TraceReport)
    except msgspec.DecodeError as exc:
        click.echo(f"Error: not a jxc trace report: {exc}", err=True)
        raise SystemExit(2) from exc
    check = verify_report(parsed, trusted_keys=frozenset(trusted), strict=strict)
    if as_json:
        click.echo(msgspec.json.encode(check).decode())
    else:
        mark = click.style("HOLDS", fg="green") if check.ok else click.style("FAILS", fg="red")
        click.echo(
            f"report on {parsed.trace.gtin}/{parsed.trace.lot}: {mark} — {check.events} events,"
            f" {check.records} records, {check.anchored} under signed checkpoints,"
            f" {check.unanchored} not yet; store keys {', '.join(check.keys) or 'none'}"
        )
        for failure in check.failures:
            click.echo(f"  ✗ {failure}")
    raise SystemExit(0 if check.ok else 1)


@trace.command()
@click.argument("code_or_gtin", required=False)
@click.argument("lot", required=False)
@cloud_options
@click.option("--from", "since", help="Range export: start, ISO 8601 with timezone.")
@click.option("--to", "until", help="Range export: end (excluded), ISO 8601 with timezone.")
@click.option("--store", help="Range export: one store only (default: every store).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
def epcis(
    code_or_gtin: str | None,
    lot: str | None,
    cloud_url: str,
    token: str | None,
    since: str | None,
    until: str | None,
    store: str | None,
    output: Path | None,
) -> None:
    """Export EPCIS 2.0 JSON-LD (CBV 2.0 vocabulary): a lot's whole trace, or every lot event
    of a time range.

    \b
      jxc trace epcis 0106940000000010 LOT-1 -o lot.jsonld
      jxc trace epcis --from 2026-11-20T00:00:00+08:00 --to 2026-11-21T00:00:00+08:00 --store s-1
    """
    if since or until:
        if code_or_gtin is not None or not (since and until):
            raise click.UsageError("a range export takes --from and --to, and no lot")
        response = call_cloud(
            cloud_url,
            token,
            "/v1/trace/epcis",
            params={"from": since, "to": until, "store": store},
            timeout_s=120.0,
        )
        if response.headers.get("x-jxc-truncated") == "true":
            click.echo("the range holds more than 50,000 events: exported the first", err=True)
        _write(response.content, output)
        return
    if code_or_gtin is None:
        raise click.UsageError("give a lot (CODE, or GTIN LOT), or --from and --to")
    gtin, lot_number = _lot_arguments(code_or_gtin, lot)
    response = call_cloud(cloud_url, token, f"/v1/trace/lots/{gtin}/{lot_number}/epcis")
    _write(response.content, output)


@trace.command()
@click.argument("code_or_gtin")
@click.argument("lot", required=False)
@cloud_options
@click.option("--from", "from_date", type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--to", "to_date", type=click.DateTime(["%Y-%m-%d"]), help="Last day.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
def fsma(
    code_or_gtin: str,
    lot: str | None,
    cloud_url: str,
    token: str | None,
    from_date: Any,
    to_date: Any,
    output: Path | None,
) -> None:
    """Export the FDA FSMA 204 sortable spreadsheet (CSV: critical tracking events with their
    key data elements) for a lot and date range."""
    gtin, lot_number = _lot_arguments(code_or_gtin, lot)
    response = call_cloud(
        cloud_url,
        token,
        f"/v1/trace/lots/{gtin}/{lot_number}/fsma204.csv",
        params={
            "from": from_date.date().isoformat() if from_date else None,
            "to": to_date.date().isoformat() if to_date else None,
        },
    )
    _write(response.content, output)


def _write(content: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.write(b"\n")
    else:
        output.write_bytes(content)
        click.echo(f"wrote {output} ({len(content):,} bytes)", err=True)


# --- terminal rendering ----------------------------------------------------------------------


def sparkline(values: list[int]) -> str:
    """A one-line chart of a temperature curve."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1
    return "".join(_SPARK[(v - low) * (len(_SPARK) - 1) // span] for v in values)


def _c(centi: int | None) -> str:
    return "–" if centi is None else f"{centi / 100:.1f}°C"


def _print_trace(t: dict[str, Any]) -> None:
    facts = t["facts"]
    click.secho(f"Lot {t['gtin']} / {t['lot']}", bold=True)
    click.echo(
        f"  suppliers {', '.join(facts['suppliers']) or '–'} · expiry {facts['expiry'] or '–'}"
        f" (margin {facts['expiry_margin_days']} d) · shelf time {facts['shelf_time_h']} h"
        f" · documents {', '.join(facts['documents']) or 'none'}"
    )
    for i in facts["inspections"]:
        click.echo(
            f"  inspected {i['occurred_at']} at {i['store_id']}/{i.get('location', '')}:"
            f" {i.get('quantity', 0)} accepted, {i.get('rejected_quantity', 0)} rejected,"
            f" {_c(i.get('temperature_centi_c'))} ({i['document_id']}, by {i['operator_id']})"
        )
    genealogy = t["genealogy"]
    for title, edges in (("from", genealogy["ancestors"]), ("into", genealogy["descendants"])):
        for e in edges:
            click.echo(
                f"  {title:>4} {e['parent_gtin']}/{e['parent_lot']} → {e['child_gtin']}/"
                f"{e['child_lot']} ({e['kind']} at {e['store_id']}, {e['occurred_at']})"
            )
    click.echo(f"  stores: {', '.join(t['stores'])}")
    for s in t["sales"]:
        click.echo(
            f"  sold {s['occurred_at']} {s['store_id']} receipt {s.get('receipt_id', '')}"
            f" e-receipt {s.get('e_receipt_ref') or '–'} ({s['gtin']}/{s['lot']} ×"
            f" {s.get('quantity', 0)})"
        )
    for stay in t["stays"]:
        temps = stay["temperatures"]
        curve = sparkline([point[1] for point in temps["curve"]])
        click.echo(
            f"  stay {stay['store_id']}/{stay['location']} {stay['since']} → "
            f"{stay['until'] or 'now'}: {temps['readings']} readings, {_c(temps['min_centi_c'])}"
            f"..{_c(temps['max_centi_c'])}, MKT {_c(temps['mkt_centi_c'])} {curve}"
        )
        for x in temps["excursions"]:
            click.secho(
                f"    excursion {x['direction']} {_c(x['limit_centi_c'])} from {x['started_at']}"
                f" to {x['ended_at'] or 'ongoing'}, worst {_c(x['worst_centi_c'])}",
                fg="red",
            )
    for h in t["on_hand"]:
        click.echo(f"  on hand {h['store_id']}/{h['location']}: {h['quantity']} of {h['lot']}")
    people = sorted({a["operator_id"] for a in t["actors"] if a["operator_id"]})
    devices = sorted({a["device_id"] for a in t["actors"] if a["device_id"]})
    click.echo(f"  operators: {', '.join(people) or '–'} · devices: {', '.join(devices) or '–'}")
    for problem in t.get("integrity", ()):
        click.secho(f"  ✗ {problem}", fg="red")


@trace.group()
def recall() -> None:
    """Recalls: hold a lot and everything made from it in every store that had it."""


@recall.command("open")
@click.argument("lots", nargs=-1, metavar="[GTIN/LOT]...")
@click.option("--reason", required=True, help="Why (shown to the stores and kept).")
@click.option("--supplier", help="Also recall every lot received from this supplier...")
@click.option("--received-from", type=click.DateTime(["%Y-%m-%d"]), help="...from this day")
@click.option("--received-to", type=click.DateTime(["%Y-%m-%d"]), help="...to this day.")
@click.option("--id", "recall_id", default="", help="Your recall id (a retry with it is safe).")
@cloud_options
@click.option("--json", "as_json", is_flag=True, help="Print the recall as JSON.")
def open_recall(
    lots: tuple[str, ...],
    reason: str,
    supplier: str | None,
    received_from: Any,
    received_to: Any,
    recall_id: str,
    cloud_url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Open a recall. Each store that had a recalled lot, or a lot made from it, gets a hold
    (its counters then block the lot), and the receipts it reached are listed."""
    parsed = []
    for text in lots:
        gtin, sep, lot_number = text.partition("/")
        if not sep or not gtin or not lot_number:
            raise click.BadParameter(f"{text!r}: write lots as GTIN/LOT", param_hint="LOTS")
        parsed.append({"gtin": gtin, "lot": lot_number})
    if not parsed and not supplier:
        raise click.UsageError("name lots (GTIN/LOT) or a --supplier")
    body = {
        "reason": reason,
        "lots": parsed,
        "supplier_id": supplier or "",
        "received_from": received_from.date().isoformat() if received_from else None,
        "received_to": received_to.date().isoformat() if received_to else None,
        "recall_id": recall_id,
    }
    answer = call_cloud(
        cloud_url,
        token,
        "/v1/recalls",
        method="POST",
        json_body={k: v for k, v in body.items() if v is not None},
        timeout_s=120,
    ).json()
    if as_json:
        click.echo(json.dumps(answer))
        return
    click.secho(f"recall {answer['recall_id']} opened: {answer['reason']}", bold=True)
    for item in answer["lots"]:
        because = f" (from {item['recalled_because_of']})" if item["recalled_because_of"] else ""
        click.echo(f"  {item['gtin']}/{item['lot']}{because}: held in {', '.join(item['stores'])}")
    click.echo(f"  {answer['holds_sent']} holds sent to {', '.join(answer['stores'])}")
    for sale in answer["receipts"]:
        click.echo(
            f"  customer receipt {sale.get('receipt_id', '')} e-receipt"
            f" {sale.get('e_receipt_ref') or '–'} at {sale['store_id']} {sale['occurred_at']}"
        )


@recall.command("close")
@click.argument("recall_id")
@cloud_options
def close_recall(recall_id: str, cloud_url: str, token: str | None) -> None:
    """Close a recall: release its holds in every store."""
    answer = call_cloud(cloud_url, token, f"/v1/recalls/{recall_id}/close", method="POST").json()
    click.echo(
        f"recall {answer['recall_id']} closed; holds released in {', '.join(answer['stores'])}"
    )


@recall.command("list")
@cloud_options
@click.option("--json", "as_json", is_flag=True, help="Print the recalls as JSON.")
def list_recalls(cloud_url: str, token: str | None, as_json: bool) -> None:
    """Recalls, newest first."""
    answer = call_cloud(cloud_url, token, "/v1/recalls").json()
    if as_json:
        click.echo(json.dumps(answer))
        return
    for item in answer["recalls"]:
        click.echo(
            f"{item['recall_id']}  {item['status']:6}  {item['opened_at']}  {len(item['lots'])}"
            f" lots  {item['holds_sent']} holds  {item['reason']}"
        )


trace.add_command(completeness_command)
