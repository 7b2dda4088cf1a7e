"""Lot traces on real embedded ClickHouse: genealogy both ways across two stores, stays with
temperatures, evidence that verifies offline and breaks when anything is tampered with, and the
HTTP API's answers to unknown and malformed ids."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient

from cloud.app import create_app
from cloud.clickhouse import ClickHouseGateway
from cloud.ingest.schema import create_schema
from cloud.settings import CloudSettings
from cloud.trace.domain import LotRef, dedupe_records
from cloud.trace.epcis import epcis_document, lot_uri, validate_epcis
from cloud.trace.evidence import TraceReport, verify_report
from cloud.trace.recall import RecallDesk, RecallRequest, StoresUnreachable, recall_table
from cloud.trace.records import EventSource, records_of, weighed_gtins_of
from cloud.trace.service import LotNotFound, TraceRequestInvalid, TraceService
from cloud.trace.store import TraceStore, compact_trace_tables, create_trace_schema
from ops.bench.chains import StoreChain, land
from protocol.ledger_events import GoodsReceived, StockTransferred, WasteRecorded
from protocol.reading_events import (
    ColdChainExcursionEnded,
    ColdChainExcursionStarted,
    DeviceReading,
    ReadingsRecorded,
    SensorValue,
)
from protocol.recall import RecallHold
from protocol.scan_events import SaleLine, SaleRecorded
from protocol.trace_events import (
    LotQuantity,
    LotsAggregated,
    LotTransformed,
    ShipmentReceived,
    StockDispatched,
)

T0 = datetime(2026, 11, 20, 6, tzinfo=UTC)
NOW = T0 + timedelta(days=2)
RAW, SORTED, PACK, PACK_B = "06900000000019", "06900000000026", "06900000000033", "06900000000040"
SSCC = "069000000000000017"


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _history() -> tuple[StoreChain, StoreChain]:
    """Supplier lot L1 arrives at store A, is split, one half sorted and repacked and sold at A,
    the other half shipped to store B, repacked there and sold."""
    a, b = StoreChain("store-a"), StoreChain("store-b")
    a.announce_key(Ed25519PrivateKey.generate(), at=_h(0))
    b.announce_key(Ed25519PrivateKey.generate(), at=_h(0))
    a.add(
        GoodsReceived(
            receipt_id="GR-1",
            gtin=RAW,
            lot="L1",
            location="chiller",
            accepted_quantity=10_000,
            rejected_quantity=500,
            reject_reason="bruised",
            supplier_id="sup-7",
            expiry=date(2026, 11, 28),
            temperature_centi_c=320,
            documents=("inspection_report",),
        ),
        at=_h(1),
        operator_id="receiver-1",
        device_id="handheld-1",
    )
    a.add(
        ReadingsRecorded(
            device_id="probe-1",
            kind="probe",
            epoch=1,
            location_id="chiller",
            readings=tuple(
                DeviceReading(
                    seq=i + 1,
                    received_at=_h(1) + timedelta(minutes=5 * i),
                    values=(SensorValue(sensor="t", quantity="temperature", value=300 + 10 * i),),
                )
                for i in range(24)
            ),
        ),
        at=_h(3),
        device_id="probe-1",
    )
    a.add(
        ColdChainExcursionStarted(
            location_id="chiller",
            device_id="probe-1",
            product_class="chilled",
            direction="above",
            limit_centi_c=500,
            temp_centi_c=520,
            outside_since=_h(2.6),
            grace_s=600,
        ),
        at=_h(2.8),
    )
    a.add(
        ColdChainExcursionEnded(
            location_id="chiller",
            device_id="probe-1",
            product_class="chilled",
            outside_since=_h(2.6),
            ended_at=_h(2.9),
            worst_centi_c=530,
        ),
        at=_h(2.9),
    )
    a.add(
        LotTransformed(
            transformation_id="X-split",
            kind="split",
            inputs=(LotQuantity(gtin=RAW, lot="L1", quantity=10_000, location="chiller"),),
            outputs=(
                LotQuantity(gtin=SORTED, lot="L1-A", quantity=5_000, location="chiller"),
                LotQuantity(gtin=SORTED, lot="L1-B", quantity=5_000, location="chiller"),
            ),
        ),
        at=_h(4),
        operator_id="butcher-1",
    )
    a.add(
        LotTransformed(
            transformation_id="X-sort",
            kind="sort",
            inputs=(LotQuantity(gtin=SORTED, lot="L1-A", quantity=5_000, location="chiller"),),
            outputs=(LotQuantity(gtin=SORTED, lot="L1-A1", quantity=5_000, location="chiller"),),
        ),
        at=_h(5),
    )
    a.add(
        LotTransformed(
            transformation_id="X-pack",
            kind="repack",
            inputs=(LotQuantity(gtin=SORTED, lot="L1-A1", quantity=5_000, location="chiller"),),
            outputs=(
                LotQuantity(
                    gtin=PACK, lot="P1", quantity=10, location="chiller", expiry=date(2026, 11, 25)
                ),
            ),
        ),
        at=_h(6),
    )
    a.add(
        StockTransferred(
            transfer_id="MV-1",
            gtin=PACK,
            lot="P1",
            from_location="chiller",
            to_location="sales_floor",
            quantity=10,
        ),
        at=_h(7),
    )
    a.add(
        SaleRecorded(
            sale_id="S-1",
            terminal_id="pos-1",
            receipt_id="RC-1",
            e_receipt_ref="ER-1",
            lines=(
                SaleLine(gtin=PACK, amount_fen=1290, unit_price_fen=1290, quantity=3, lot="P1"),
            ),
            total_fen=1290,
        ),
        at=_h(8),
        operator_id="cashier-1",
        device_id="pos-1",
    )
    a.add(
        StockDispatched(
            shipment_id="SH-1",
            to_store_id="store-b",
            gtin=SORTED,
            lot="L1-B",
            from_location="chiller",
            quantity=5_000,
        ),
        at=_h(9),
    )
    a.checkpoint(at=_h(10))
    b.add(
        ShipmentReceived(
            shipment_id="SH-1",
            from_store_id="store-a",
            gtin=SORTED,
            lot="L1-B",
            location="backroom",
            accepted_quantity=5_000,
            temperature_centi_c=410,
        ),
        at=_h(12),
        operator_id="receiver-b",
    )
    b.add(
        LotTransformed(
            transformation_id="X-pack-b",
            kind="repack",
            inputs=(LotQuantity(gtin=SORTED, lot="L1-B", quantity=5_000, location="backroom"),),
            outputs=(LotQuantity(gtin=PACK_B, lot="PB1", quantity=20, location="sales_floor"),),
        ),
        at=_h(13),
    )
    b.add(
        LotsAggregated(
            aggregation_id="AG-1",
            container_id=SSCC,
            action="pack",
            children=(LotQuantity(gtin=PACK_B, lot="PB1", quantity=5),),
            location="sales_floor",
        ),
        at=_h(13.5),
    )
    b.add(
        SaleRecorded(
            sale_id="S-2",
            terminal_id="pos-9",
            receipt_id="RC-2",
            e_receipt_ref="ER-2",
            lines=(
                SaleLine(gtin=PACK_B, amount_fen=990, unit_price_fen=990, quantity=1, lot="PB1"),
            ),
            total_fen=990,
            channel="takeout",
        ),
        at=_h(14),
        operator_id="cashier-9",
    )
    b.add(
        WasteRecorded(
            waste_id="W-1",
            gtin=PACK_B,
            lot="PB1",
            location="sales_floor",
            quantity=2,
            reason="damage",
        ),
        at=_h(15),
    )
    b.checkpoint(at=_h(16))
    return a, b


@pytest.fixture
async def landed_history(clickhouse: Any, ch_database: str) -> TraceService:
    await create_schema(clickhouse, ch_database)
    await create_trace_schema(clickhouse, ch_database)
    a, b = _history()
    await land(clickhouse, ch_database, a.drain())
    await land(clickhouse, ch_database, b.drain())
    await compact_trace_tables(clickhouse, ch_database)
    return TraceService(TraceStore(clickhouse, ch_database))


def _lots(edges: Any, end: str) -> set[tuple[str, str]]:
    return {(getattr(e, f"{end}_gtin"), getattr(e, f"{end}_lot")) for e in edges}


async def test_forward_trace_follows_the_supplier_lot_into_both_stores(
    landed_history: TraceService,
) -> None:
    trace = await landed_history.trace_lot(RAW, "L1", NOW)
    assert _lots(trace.genealogy.descendants, "child") == {
        (SORTED, "L1-A"),
        (SORTED, "L1-B"),
        (SORTED, "L1-A1"),
        (PACK, "P1"),
        (PACK_B, "PB1"),
        ("sscc", SSCC),
    }
    assert trace.genealogy.ancestors == ()
    assert trace.stores == ("store-a", "store-b")
    sales = {(s.store_id, s.receipt_id, s.e_receipt_ref) for s in trace.sales}
    assert sales == {("store-a", "RC-1", "ER-1"), ("store-b", "RC-2", "ER-2")}
    assert trace.facts.suppliers == ("sup-7",)
    assert [i.document_id for i in trace.facts.inspections] == ["GR-1"]
    assert trace.facts.inspections[0].temperature_centi_c == 320
    assert trace.facts.expiry == date(2026, 11, 28)
    # what is still on a shelf somewhere: 7 packs at A, 17 less 5 packed... at B
    on_hand = {(s.store_id, s.location, s.lot): s.quantity for s in trace.on_hand}
    assert on_hand[("store-a", "sales_floor", "P1")] == 7
    assert on_hand[("store-b", "sales_floor", "PB1")] == 17
    operators = {a.operator_id for a in trace.actors}
    assert {"receiver-1", "butcher-1", "cashier-1", "receiver-b", "cashier-9"} <= operators
    assert {"handheld-1", "pos-1"} <= {a.device_id for a in trace.actors}


async def test_backward_trace_from_a_pack_sold_in_the_other_store(
    landed_history: TraceService,
) -> None:
    trace = await landed_history.trace_lot(PACK_B, "PB1", NOW)
    assert _lots(trace.genealogy.ancestors, "parent") == {(SORTED, "L1-B"), (RAW, "L1")}
    assert {e.kind for e in trace.genealogy.ancestors} == {"split", "repack"}
    # siblings (the half that stayed in store A) are not part of this pack's trace
    assert (PACK, "P1") not in {(r.gtin, r.lot) for r in trace.records}
    receipt = next(r for r in trace.records if r.role == "received")
    assert (receipt.counterpart, receipt.document_id, receipt.store_id) == (
        "sup-7",
        "GR-1",
        "store-a",
    )
    shipped = {(r.role, r.store_id) for r in trace.records if r.document_id == "SH-1"}
    assert shipped == {("shipped", "store-a"), ("shipment_received", "store-b")}
    assert [(s.receipt_id, s.kind) for s in trace.sales] == [("RC-2", "takeout")]
    # the container it was packed into is downstream of it
    assert _lots(trace.genealogy.descendants, "child") == {("sscc", SSCC)}


async def test_one_read_serves_the_family_and_the_walk_does_not_depend_on_it(
    clickhouse: ClickHouseGateway, ch_database: str, landed_history: TraceService
) -> None:
    store = TraceStore(clickhouse, ch_database)
    reads: list[Any] = []
    read = store.lot_events_ahead

    async def counted(up: Any, down: Any, hops: int) -> Any:
        reads.append((up, down))
        return await read(up, down, hops)

    store.lot_events_ahead = counted  # type: ignore[method-assign]
    service = TraceService(store)
    # Supplier lot → sorted lots → packs (one read) → the case (a second).
    shortcut = await service.trace_lot(RAW, "L1", NOW)
    assert len(reads) == 2
    # Without the links view each level is read on its own: the same trace.
    await clickhouse.command(f"TRUNCATE TABLE {ch_database}.trace_lot_links")
    reads.clear()
    walked = await service.trace_lot(RAW, "L1", NOW)
    assert len(reads) == 4
    assert walked.genealogy == shortcut.genealogy
    assert walked.records == shortcut.records


async def test_stays_carry_temperatures_mkt_and_excursions(landed_history: TraceService) -> None:
    trace = await landed_history.trace_lot(RAW, "L1", NOW)
    chiller = next(
        s for s in trace.stays if (s.store_id, s.location, s.lot) == ("store-a", "chiller", "L1")
    )
    assert (chiller.since, chiller.until) == (_h(1), _h(4))
    temps = chiller.temperatures
    assert temps.readings == 24
    assert (temps.min_centi_c, temps.max_centi_c) == (300, 530)
    assert temps.mkt_centi_c is not None
    assert 300 < temps.mkt_centi_c < 530
    assert temps.curve
    assert temps.curve[0].at == _h(1)
    assert [(x.direction, x.worst_centi_c) for x in temps.excursions] == [("above", 530)]
    # the shipped half's stay in store B's backroom has no probe: no readings, not invented
    backroom = next(s for s in trace.stays if s.store_id == "store-b" and s.location == "backroom")
    assert backroom.temperatures.readings == 0


async def test_container_and_receipt_traces(landed_history: TraceService) -> None:
    box = await landed_history.trace_lot("sscc", SSCC, NOW)
    assert _lots(box.genealogy.ancestors, "parent") == {
        (PACK_B, "PB1"),
        (SORTED, "L1-B"),
        (RAW, "L1"),
    }
    lots = await landed_history.lots_of_document("ER-2")
    assert [(r.gtin, r.lot) for r in lots] == [(PACK_B, "PB1")]
    with pytest.raises(LotNotFound):
        await landed_history.lots_of_document("no-such-receipt")
    with pytest.raises(LotNotFound):
        await landed_history.trace_lot(RAW, "NOPE", NOW)


def till_source(seq: int) -> EventSource:
    """Where a sale at till pos-1 of store s-a was recorded."""
    return EventSource(
        store_id="s-a", seq=seq, event_id=uuid.uuid4(), occurred_at=T0, device_id="pos-1",
        operator_id="cashier-1",
    )  # fmt: skip


def test_two_lines_of_one_lot_in_one_sale_stay_two_records() -> None:
    sale = SaleRecorded(
        sale_id="S-9",
        terminal_id="pos-1",
        receipt_id="RC-9",
        lines=(
            SaleLine(gtin=PACK, amount_fen=1290, unit_price_fen=1290, quantity=1, lot="P1"),
            SaleLine(gtin=PACK, amount_fen=1290, unit_price_fen=1290, quantity=2, lot="P1"),
        ),
        total_fen=3870,
    )
    source = till_source(seq=7)
    once = records_of(source, sale)
    # The same event reached by two genealogy paths is one copy; its two lines stay two.
    kept = dedupe_records([*once, *records_of(source, sale)])
    assert [r.quantity for r in kept] == [1, 2]


async def _report(service: TraceService) -> TraceReport:
    return await service.report(PACK_B, "PB1", NOW)


async def test_a_correct_report_verifies_offline(landed_history: TraceService) -> None:
    report = await _report(landed_history)
    # through JSON and back, as a third party would receive it
    again = msgspec.json.decode(msgspec.json.encode(report), type=TraceReport)
    check = verify_report(again)
    assert check.ok, check.failures
    assert check.anchored == check.events > 0
    assert check.unanchored == 0
    assert len(check.keys) == 2  # both stores signed their part
    assert verify_report(again, trusted_keys=frozenset(check.keys)).ok
    distrust = verify_report(again, trusted_keys=frozenset({"0123456789abcdef"}))
    assert not distrust.ok
    assert "do not trust" in distrust.failures[0]


async def test_tampering_with_the_report_is_caught(landed_history: TraceService) -> None:
    report = await _report(landed_history)
    sale = report.trace.sales[0]
    forged_trace = msgspec.structs.replace(
        report.trace, sales=(msgspec.structs.replace(sale, quantity=sale.quantity + 1),)
    )
    forged = msgspec.structs.replace(report, trace=forged_trace)
    check = verify_report(forged)
    assert not check.ok
    assert "differs from what its event says" in " ".join(check.failures)

    event = report.evidence.events[0]
    body = bytearray(base64.b64decode(event.body))
    body[-1] ^= 1
    altered = msgspec.structs.replace(event, body=base64.b64encode(bytes(body)).decode())
    evidence = msgspec.structs.replace(
        report.evidence, events=(altered, *report.evidence.events[1:])
    )
    check = verify_report(msgspec.structs.replace(report, evidence=evidence))
    assert not check.ok

    checkpoint = report.evidence.checkpoints[0]
    bad_root = msgspec.structs.replace(checkpoint, merkle_root="00" * 32)
    evidence = msgspec.structs.replace(
        report.evidence, checkpoints=(bad_root, *report.evidence.checkpoints[1:])
    )
    check = verify_report(msgspec.structs.replace(report, evidence=evidence))
    assert not check.ok
    assert any("Merkle root" in f or "signature" in f for f in check.failures)


@pytest.mark.parametrize("column", ["body", "operator_id", "occurred_at"])
async def test_tampering_with_a_stored_event_breaks_verification(
    clickhouse: ClickHouseGateway, ch_database: str, landed_history: TraceService, column: str
) -> None:
    report = await _report(landed_history)
    victim = next(e for e in report.evidence.events if e.store_id == "store-b")
    change = {
        "body": "body = concat(body, '\\x00')",
        "operator_id": "operator_id = 'somebody-else'",
        "occurred_at": "occurred_at = occurred_at + INTERVAL 1 SECOND",
    }[column]
    for table in ("events", "trace_lot_index"):
        await clickhouse.command(
            f"ALTER TABLE {ch_database}.{table} UPDATE {change}"
            f" WHERE store_id = 'store-b' AND seq = {victim.seq} SETTINGS mutations_sync = 2"
        )
    check = verify_report(await _report(landed_history))
    assert not check.ok
    assert any(f.startswith(f"store-b#{victim.seq}") for f in check.failures), check.failures


async def test_events_after_the_last_checkpoint_are_reported_unanchored(
    clickhouse: ClickHouseGateway, ch_database: str
) -> None:
    await create_schema(clickhouse, ch_database)
    await create_trace_schema(clickhouse, ch_database)
    chain = StoreChain("store-c")
    chain.announce_key(Ed25519PrivateKey.generate(), at=_h(0))
    chain.add(
        GoodsReceived(
            receipt_id="GR-9", gtin=RAW, lot="L9", location="chiller", accepted_quantity=1
        ),
        at=_h(1),
    )
    chain.checkpoint(at=_h(2))
    chain.add(
        WasteRecorded(
            waste_id="W-9", gtin=RAW, lot="L9", location="chiller", quantity=1, reason="spoilage"
        ),
        at=_h(3),
    )
    await land(clickhouse, ch_database, chain.drain())
    report = await TraceService(TraceStore(clickhouse, ch_database)).report(RAW, "L9", NOW)
    check = verify_report(report)
    assert check.ok
    assert (check.anchored, check.unanchored) == (1, 1)
    assert not verify_report(report, strict=True).ok


async def test_trace_api_answers_404_400_and_401(
    clickhouse: ClickHouseGateway, ch_database: str, landed_history: TraceService, tmp_path: Any
) -> None:
    settings = CloudSettings(
        database=ch_database, ingest_enabled=False, api_token="t0ken", home=tmp_path
    )
    headers = {"authorization": "Bearer t0ken"}
    async with AsyncTestClient(app=create_app(settings, gateway=clickhouse)) as client:
        ok = await client.get(f"/v1/trace/lots/{PACK_B}/PB1", headers=headers)
        assert ok.status_code == 200, ok.text
        assert {e["parent_lot"] for e in ok.json()["genealogy"]["ancestors"]} == {"L1", "L1-B"}
        unknown = await client.get(f"/v1/trace/lots/{RAW}/NOPE", headers=headers)
        assert unknown.status_code == 404
        assert "NOPE" in unknown.json()["detail"]
        for bad in (
            "/v1/trace/lots/abc/L1",
            f"/v1/trace/lots/{RAW}/bad%20lot",
            "/v1/trace/serials/123",
        ):
            answer = await client.get(bad, headers=headers)
            assert answer.status_code == 400, (bad, answer.text)
        assert (await client.get(f"/v1/trace/lots/{RAW}/L1")).status_code == 401
        receipt = await client.get("/v1/trace/receipts/RC-1", headers=headers)
        assert receipt.status_code == 200
        assert [lot["lot"] for lot in receipt.json()["lots"]] == ["P1"]
        report = await client.get(f"/v1/trace/lots/{PACK_B}/PB1/report", headers=headers)
        assert verify_report(msgspec.json.decode(report.content, type=TraceReport)).ok
        bad_range = {"from": "2026-11-20T08:00:00+08:00", "to": "2026-11-21"}
        for params in (bad_range, {**bad_range, "to": "2026-11-19T00:00:00Z"}):
            answer = await client.get("/v1/trace/epcis", params=params, headers=headers)
            assert answer.status_code == 400, (params, answer.text)
        bad_store = {**bad_range, "to": "2026-11-21T00:00:00Z", "store": "no/such"}
        assert (
            await client.get("/v1/trace/epcis", params=bad_store, headers=headers)
        ).status_code == 400


async def test_epcis_export_of_a_time_range_is_valid_and_scoped(
    clickhouse: ClickHouseGateway, ch_database: str, landed_history: TraceService, tmp_path: Any
) -> None:
    settings = CloudSettings(
        database=ch_database, ingest_enabled=False, api_token="t0ken", home=tmp_path
    )
    headers = {"authorization": "Bearer t0ken"}
    # Store A works the first 10 hours (receipt, sort, repack, sale), store B after.
    day = {"from": T0.isoformat(), "to": _h(17).isoformat()}
    morning = {"from": T0.isoformat(), "to": _h(10).isoformat()}
    async with AsyncTestClient(app=create_app(settings, gateway=clickhouse)) as client:
        every = await client.get("/v1/trace/epcis", params=day, headers=headers)
        only_b = await client.get(
            "/v1/trace/epcis", params={**day, "store": "store-b"}, headers=headers
        )
        early = await client.get("/v1/trace/epcis", params=morning, headers=headers)
    assert every.status_code == 200, every.text
    assert every.headers["x-jxc-truncated"] == "false"
    document = every.json()
    assert validate_epcis(document) == []
    events = document["epcisBody"]["eventList"]
    assert {e["type"] for e in events} >= {"ObjectEvent", "TransformationEvent"}
    assert only_b.status_code == 200
    b_events = only_b.json()["epcisBody"]["eventList"]
    assert 0 < len(b_events) < len(events)
    assert early.status_code == 200
    early_events = early.json()["epcisBody"]["eventList"]
    assert 0 < len(early_events) < len(events)
    assert all(datetime.fromisoformat(e["eventTime"]) < _h(10) for e in early_events)


# --- recalls ---------------------------------------------------------------------------------


async def _recall_messages(nats_url: str, store_id: str) -> list[RecallHold]:
    import nats

    from protocol.recall import decode_recall_hold

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(f"jxc.v1.cmd.{store_id}.recalls", durable=None)
        out: list[RecallHold] = []
        while True:
            try:
                batch = await sub.fetch(100, timeout=0.5)
            except TimeoutError:
                return out
            out.extend(decode_recall_hold(m.data) for m in batch)
    finally:
        await nc.close()


async def test_a_recall_holds_the_lot_and_its_products_in_every_store_once(
    clickhouse: ClickHouseGateway,
    ch_database: str,
    landed_history: TraceService,
    nats_server: Any,
) -> None:
    await clickhouse.command(recall_table(ch_database))
    desk = RecallDesk(clickhouse, ch_database, landed_history, nats_server.url)
    request = RecallRequest(
        reason="Listeria in supplier lot", lots=(LotRef(RAW, "L1"),), recall_id="R-1"
    )
    recall = await desk.open(request, NOW)
    assert recall.stores == ("store-a", "store-b")
    recalled = {(lot.gtin, lot.lot): lot for lot in recall.lots}
    assert set(recalled) >= {(RAW, "L1"), (SORTED, "L1-B"), (PACK, "P1"), (PACK_B, "PB1")}
    assert recalled[(PACK_B, "PB1")].recalled_because_of == f"{RAW}/L1"
    assert recalled[(PACK_B, "PB1")].stores == ("store-b",)
    assert {(r.receipt_id, r.e_receipt_ref) for r in recall.receipts} == {
        ("RC-1", "ER-1"),
        ("RC-2", "ER-2"),
    }
    at_b = await _recall_messages(nats_server.url, "store-b")
    assert {(m.gtin, m.lot) for m in at_b} == {
        (lot.gtin, lot.lot) for lot in recall.lots if "store-b" in lot.stores
    }
    assert all(m.action == "place" and m.recall_id == "R-1" for m in at_b)

    again = await desk.open(request, NOW + timedelta(minutes=5))  # a retried request
    assert again.holds_sent == recall.holds_sent
    assert len(await _recall_messages(nats_server.url, "store-b")) == len(at_b)  # nothing twice
    assert (await desk.get("R-1")).status == "open"

    closed = await desk.close("R-1", NOW + timedelta(days=1))
    assert closed.status == "closed"
    releases = [
        m for m in await _recall_messages(nats_server.url, "store-b") if m.action == "release"
    ]
    assert len(releases) == len(at_b)
    assert [r.recall_id for r in await desk.recent()] == ["R-1"]


async def test_a_supplier_recall_finds_the_lots_received_in_the_period(
    clickhouse: ClickHouseGateway, ch_database: str, landed_history: TraceService, nats_server: Any
) -> None:
    await clickhouse.command(recall_table(ch_database))
    desk = RecallDesk(clickhouse, ch_database, landed_history, nats_server.url)
    recall = await desk.open(
        RecallRequest(
            reason="supplier audit",
            supplier_id="sup-7",
            received_from=date(2026, 11, 20),
            received_to=date(2026, 11, 20),
        ),
        NOW,
    )
    assert (RAW, "L1") in {(lot.gtin, lot.lot) for lot in recall.lots}
    with pytest.raises(TraceRequestInvalid):
        await desk.open(
            RecallRequest(reason="x", supplier_id="sup-7", received_from=date(2026, 12, 1)), NOW
        )
    with pytest.raises(LotNotFound):
        await desk.open(RecallRequest(reason="x", lots=(LotRef(RAW, "NOPE"),)), NOW)


async def test_a_recall_without_nats_is_refused_as_retryable_and_not_kept(
    clickhouse: ClickHouseGateway, ch_database: str, landed_history: TraceService
) -> None:
    from ops.services import free_port

    await clickhouse.command(recall_table(ch_database))
    desk = RecallDesk(clickhouse, ch_database, landed_history, f"nats://127.0.0.1:{free_port()}")
    with pytest.raises(StoresUnreachable):
        await desk.open(RecallRequest(reason="x", lots=(LotRef(RAW, "L1"),), recall_id="R-2"), NOW)
    with pytest.raises(LotNotFound):
        await desk.get("R-2")


async def test_jxc_trace_verify_exit_codes(landed_history: TraceService, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from ops.cli import main

    report = await _report(landed_history)
    good = tmp_path / "report.json"
    good.write_bytes(msgspec.json.encode(report))
    runner = CliRunner()
    holds = runner.invoke(main, ["trace", "verify", str(good)])
    assert holds.exit_code == 0, holds.output
    assert "HOLDS" in holds.output
    as_json = runner.invoke(main, ["trace", "verify", "--json", "--strict", str(good)])
    assert msgspec.json.decode(as_json.output)["ok"] is True

    sale = report.trace.sales[0]
    forged = msgspec.structs.replace(
        report,
        trace=msgspec.structs.replace(
            report.trace, sales=(msgspec.structs.replace(sale, e_receipt_ref="ER-FORGED"),)
        ),
    )
    bad = tmp_path / "forged.json"
    bad.write_bytes(msgspec.json.encode(forged))
    fails = runner.invoke(main, ["trace", "verify", str(bad)])
    assert fails.exit_code == 1
    assert "FAILS" in fails.output
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"not": "a report"}')
    refused = runner.invoke(main, ["trace", "verify", str(garbage)])
    assert refused.exit_code == 2
    assert "not a jxc trace report" in refused.output


def test_jxc_trace_epcis_refuses_half_a_range_or_nothing() -> None:
    from click.testing import CliRunner

    from ops.cli import main

    runner = CliRunner()
    for args in (
        ["trace", "epcis"],
        ["trace", "epcis", "--from", "2026-11-20T00:00:00Z"],
        [
            "trace",
            "epcis",
            RAW,
            "L1",
            "--from",
            "2026-11-20T00:00:00Z",
            "--to",
            "2026-11-21T00:00:00Z",
        ],
    ):
        answer = runner.invoke(main, [*args, "--token", "t"])
        assert answer.exit_code == 2, (args, answer.output)


def test_items_sold_by_weight_are_exported_in_kilograms() -> None:
    sale = SaleRecorded(
        sale_id="S-10",
        terminal_id="pos-1",
        receipt_id="RC-10",
        lines=(
            SaleLine(gtin=RAW, amount_fen=2394, unit_price_fen=3990, net_g=600, lot="L1"),
            SaleLine(gtin=PACK, amount_fen=1290, unit_price_fen=1290, quantity=1, lot="P1"),
        ),
        total_fen=3684,
    )
    source = till_source(seq=9)
    records = records_of(source, sale)
    assert weighed_gtins_of(records) == {RAW}
    document = epcis_document(records, created_at=NOW, weighed_gtins=weighed_gtins_of(records))
    assert validate_epcis(document) == []
    quantities = [q for e in document["epcisBody"]["eventList"] for q in e.get("quantityList", [])]
    assert {"epcClass": lot_uri(RAW, "L1"), "quantity": 0.6, "uom": "KGM"} in quantities
    assert {"epcClass": lot_uri(PACK, "P1"), "quantity": 1.0} in quantities
