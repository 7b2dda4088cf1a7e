"""The demo's traceability part: a supplier lot's day across both demo stores, then its trace,
evidence report (verified offline), exports and a recall that blocks the lot at the counter.

Store 1 receives a case of prawns from a supplier (with inspection), sorts it into two grades,
repacks one grade into retail packs and ships the other grade to store 2, which receives and
repacks it; both stores sell packs with e-receipts and record a little waste. Everything goes
through the stores' real POS/back-office HTTP API, the edges' logs, NATS and ingest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec

SUPPLIER = "sup-zhoushan-seafood"
SUPPLIER_LOT = "ZS-20261126-A"


class TraceDemo(msgspec.Struct, kw_only=True):
    gtin: str = ""
    lot: str = SUPPLIER_LOT
    descendants: int = 0
    stores: tuple[str, ...] = ()
    receipts: int = 0
    report_verified: bool = False
    events_anchored: int = 0
    epcis_events: int = 0
    fsma_rows: int = 0
    recall_holds: int = 0
    recalled_scan_verdict: str = ""
    trace_ms: float = 0.0
    problems: list[str] = msgspec.field(default_factory=list)


class _Store(msgspec.Struct, frozen=True):
    store_id: str
    url: str
    token: str


def _post(store: _Store, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{store.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {store.token}"},
        timeout=10,
    )
    if response.status_code >= 400:
        raise RuntimeError(f"{store.store_id} {path}: {response.status_code} {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


def record_store_day(
    store_1: tuple[str, str, str],
    store_2: tuple[str, str, str],
    gtins: tuple[str, str, str],
    say: Callable[[str], None],
) -> None:
    """The lot's day through both stores' APIs (store = (id, url, token); gtins = case,
    graded, retail pack)."""
    a, b = _Store(*store_1), _Store(*store_2)
    case, graded, pack = gtins
    expiry = (datetime.now(UTC) + timedelta(days=4)).date().isoformat()
    say(f"{a.store_id} receives supplier lot {SUPPLIER_LOT} with inspection, sorts and repacks it")
    _post(
        a,
        "/v1/receipts",
        {
            "receipt_id": "GR-DEMO-1",
            "gtin": case,
            "lot": SUPPLIER_LOT,
            "location": "backroom",
            "accepted_quantity": 20_000,
            "rejected_quantity": 800,
            "reject_reason": "dead on arrival",
            "supplier_id": SUPPLIER,
            "expiry": expiry,
            "temperature_centi_c": 280,
            "documents": ["inspection_report", "quarantine_certificate"],
            "operator_id": "receiver-li",
        },
    )
    _post(
        a,
        "/v1/transformations",
        {
            "transformation_id": "T-DEMO-SORT",
            "kind": "sort",
            "inputs": [
                {"gtin": case, "lot": SUPPLIER_LOT, "quantity": 20_000, "location": "backroom"}
            ],
            "outputs": [
                {
                    "gtin": graded,
                    "lot": f"{SUPPLIER_LOT}-L",
                    "quantity": 12_000,
                    "location": "backroom",
                },
                {
                    "gtin": graded,
                    "lot": f"{SUPPLIER_LOT}-M",
                    "quantity": 8_000,
                    "location": "backroom",
                },
            ],
            "operator_id": "butcher-wang",
        },
    )
    _post(
        a,
        "/v1/transformations",
        {
            "transformation_id": "T-DEMO-PACK-1",
            "kind": "repack",
            "inputs": [
                {
                    "gtin": graded,
                    "lot": f"{SUPPLIER_LOT}-L",
                    "quantity": 12_000,
                    "location": "backroom",
                }
            ],
            "outputs": [
                {
                    "gtin": pack,
                    "lot": f"{SUPPLIER_LOT}-P1",
                    "quantity": 24,
                    "location": "sales_floor",
                }
            ],
            "operator_id": "butcher-wang",
        },
    )
    say(f"{a.store_id} ships the second grade to {b.store_id}, which receives and repacks it")
    _post(
        a,
        "/v1/shipments",
        {
            "shipment_id": "SH-DEMO-1",
            "to_store_id": b.store_id,
            "gtin": graded,
            "lot": f"{SUPPLIER_LOT}-M",
            "from_location": "backroom",
            "quantity": 8_000,
        },
    )
    _post(
        b,
        "/v1/shipment-receipts",
        {
            "shipment_id": "SH-DEMO-1",
            "from_store_id": a.store_id,
            "gtin": graded,
            "lot": f"{SUPPLIER_LOT}-M",
            "location": "backroom",
            "accepted_quantity": 8_000,
            "temperature_centi_c": 350,
            "supplier_id": SUPPLIER,
            "documents": ["inspection_report", "quarantine_certificate"],
            "operator_id": "receiver-zhao",
        },
    )
    _post(
        b,
        "/v1/transformations",
        {
            "transformation_id": "T-DEMO-PACK-2",
            "kind": "repack",
            "inputs": [
                {
                    "gtin": graded,
                    "lot": f"{SUPPLIER_LOT}-M",
                    "quantity": 8_000,
                    "location": "backroom",
                }
            ],
            "outputs": [
                {
                    "gtin": pack,
                    "lot": f"{SUPPLIER_LOT}-P2",
                    "quantity": 16,
                    "location": "sales_floor",
                }
            ],
        },
    )
    say("both stores sell packs with e-receipts; one pack is damaged")
    for store, lot, count in ((a, "P1", 3), (b, "P2", 2)):
        for n in range(count):
            _post(
                store,
                "/v1/sales",
                {
                    "sale_id": f"SA-DEMO-{store.store_id}-{n}",
                    "receipt_id": f"RC-{store.store_id}-{n}",
                    "e_receipt_ref": f"ER-{store.store_id}-{n}",
                    "lines": [
                        {
                            "gtin": pack,
                            "lot": f"{SUPPLIER_LOT}-{lot}",
                            "quantity": 1,
                            "amount_fen": 3990,
                            "unit_price_fen": 3990,
                        }
                    ],
                },
            )
    _post(
        a,
        "/v1/waste",
        {
            "waste_id": "W-DEMO-1",
            "gtin": pack,
            "lot": f"{SUPPLIER_LOT}-P1",
            "location": "sales_floor",
            "quantity": 1,
            "reason": "damage",
        },
    )


def trace_and_recall(
    cloud_url: str,
    api_token: str,
    store_1: tuple[str, str, str],
    case_gtin: str,
    pack_gtin: str,
    say: Callable[[str], None],
    timeout_s: float = 60,
) -> TraceDemo:
    """Trace the supplier lot in the cloud, verify its report offline, export it, recall it and
    check that store 1's counter now blocks the pack."""
    from cloud.trace.evidence import TraceReport, verify_report

    out = TraceDemo(gtin=case_gtin)
    headers = {"Authorization": f"Bearer {api_token}"}
    base = f"{cloud_url}/v1/trace/lots/{case_gtin}/{SUPPLIER_LOT}"
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:  # the edges sign a checkpoint every couple of seconds
        started = time.perf_counter()
        answer = httpx.get(f"{base}/report", headers=headers, timeout=30)
        out.trace_ms = round((time.perf_counter() - started) * 1000, 1)
        if answer.status_code == 200:
            report = msgspec.json.decode(answer.content, type=TraceReport)
            check = verify_report(report)
            body = msgspec.to_builtins(report.trace)
            if check.ok and check.unanchored == 0 and len(body["sales"]) >= 5:
                out.report_verified, out.events_anchored = True, check.anchored
                break
        time.sleep(1)
    if not out.report_verified:
        out.problems.append("the lot's report did not verify with every event anchored in time")
        return out
    out.descendants = len(body["genealogy"]["descendants"])
    out.stores = tuple(body["stores"])
    out.receipts = len(body["sales"])
    say(
        f"traced {case_gtin}/{SUPPLIER_LOT}: {out.descendants} lots made from it in"
        f" {len(out.stores)} stores, {out.receipts} customer receipts; report verified offline"
        f" ({out.events_anchored} events under signed checkpoints)"
    )
    epcis = httpx.get(f"{base}/epcis", headers=headers, timeout=30).json()
    out.epcis_events = len(epcis["epcisBody"]["eventList"])
    sheet = httpx.get(f"{base}/fsma204.csv", headers=headers, timeout=30).text
    out.fsma_rows = max(0, len(sheet.strip().splitlines()) - 1)
    say(f"exported EPCIS 2.0 ({out.epcis_events} events) and FSMA 204 ({out.fsma_rows} rows)")

    recall = httpx.post(
        f"{cloud_url}/v1/recalls",
        headers=headers,
        json={
            "recall_id": "RECALL-DEMO-1",
            "reason": "supplier reported Vibrio in lot " + SUPPLIER_LOT,
            "lots": [{"gtin": case_gtin, "lot": SUPPLIER_LOT}],
        },
        timeout=30,
    )
    if recall.status_code >= 300:
        out.problems.append(f"recall refused: {recall.status_code} {recall.text}")
        return out
    out.recall_holds = int(recall.json()["holds_sent"])
    say(f"recall opened: {out.recall_holds} holds sent to {', '.join(recall.json()['stores'])}")
    out.recalled_scan_verdict = _wait_blocked(store_1, pack_gtin, f"{SUPPLIER_LOT}-P1", deadline)
    say(
        f"{store_1[0]}'s counter now answers a scan of the recalled pack:"
        f" {out.recalled_scan_verdict}"
    )
    if out.recalled_scan_verdict != "block":
        out.problems.append("the recalled pack still scans as sellable")
    return out


def _wait_blocked(store: tuple[str, str, str], gtin: str, lot: str, deadline: float) -> str:
    """Scan the pack (GS1-128 with its lot) until the store's hold arrives, or time is up."""
    counter = _Store(*store)
    code = f"]C101{gtin}10{lot}"
    verdict = ""
    end = max(deadline, time.monotonic() + 15)
    while time.monotonic() < end:
        answer = _post(counter, "/v1/scans", {"code": code})
        verdict = str(answer.get("verdict", ""))
        if verdict == "block" and "recalled_lot" in str(answer):
            return verdict
        time.sleep(0.5)
    return verdict
