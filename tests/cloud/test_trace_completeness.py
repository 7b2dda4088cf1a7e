"""The traceability completeness report on real embedded ClickHouse: every kind of gap found
per store and supplier, a complete store scoring 1.0, period filtering, the HTTP endpoint (400
on bad values, 401 without a token) and `jxc trace completeness` against a served cloud."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from cloud.app import create_app
from cloud.clickhouse import ClickHouseGateway
from cloud.ingest.rows import event_table
from cloud.ingest.schema import create_schema
from cloud.settings import CloudSettings
from cloud.trace.completeness import (
    GENEALOGY_DEPTH,
    CompletenessReport,
    StoreCompleteness,
    SupplierGaps,
    completeness_report,
)
from cloud.trace.completeness_api import ReportWindow, report_window
from cloud.trace.service import TraceRequestInvalid
from cloud.trace.store import create_trace_schema
from ops.bench.chains import StoreChain
from protocol.envelope import Envelope
from protocol.ledger_events import (
    CategoryRuleSet,
    GoodsReceived,
    ItemProfileSet,
    LotRegistered,
)
from protocol.reading_events import ProbeCameBack, ProbeWentOffline, ReadingSeqGap
from protocol.scan_events import SaleLine, SaleRecorded
from protocol.trace_events import LotQuantity, LotTransformed, ShipmentReceived

T0 = datetime(2026, 11, 20, 6, tzinfo=UTC)
UNTIL = T0 + timedelta(days=7)
FISH, APPLE, APPLE_SPLIT, PACK, GHOST = (
    "06900000000019",
    "06900000000026",
    "06900000000033",
    "06900000000040",
    "06900000000057",
)
FILLET = "06900000000064"
TOKEN = "t0ken"


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


async def _land_uploaded(
    gateway: ClickHouseGateway,
    db: str,
    envelopes: list[Envelope],
    delay: Callable[[Envelope], timedelta] = lambda _: timedelta(minutes=1),
) -> None:
    """Land events as ingest would, each uploaded `delay(envelope)` after it occurred."""
    table = event_table(envelopes).append_column(
        "ingested_at",
        pa.array([e.occurred_at + delay(e) for e in envelopes], pa.timestamp("ms", tz="UTC")),
    )
    await gateway.insert_arrow(f"{db}.events", table)


def _sale(chain: StoreChain, sale_id: str, lots: list[tuple[str, str]], at: datetime) -> None:
    chain.add(
        SaleRecorded(
            sale_id=sale_id,
            terminal_id="pos-1",
            receipt_id=f"RC-{sale_id}",
            lines=tuple(
                SaleLine(gtin=gtin, lot=lot, amount_fen=100, unit_price_fen=100)
                for gtin, lot in lots
            ),
            total_fen=100 * len(lots),
        ),
        at=at,
    )


def _receive(
    chain: StoreChain, receipt_id: str, gtin: str, lot: str, supplier: str, *docs: str, at: datetime
) -> Envelope:
    return chain.add(
        GoodsReceived(
            receipt_id=receipt_id,
            gtin=gtin,
            lot=lot,
            location="chiller",
            accepted_quantity=1000,
            supplier_id=supplier,
            documents=docs,
        ),
        at=at,
    )


def _split(chain: StoreChain, tid: str, parent: tuple[str, str], child: tuple[str, str]) -> None:
    chain.add(
        LotTransformed(
            transformation_id=tid,
            kind="split",
            inputs=(LotQuantity(gtin=parent[0], lot=parent[1], quantity=500),),
            outputs=(LotQuantity(gtin=child[0], lot=child[1], quantity=500),),
        ),
        at=_h(2.5),
    )


def _gap(device_id: str, first: int, last: int) -> ReadingSeqGap:
    return ReadingSeqGap(
        device_id=device_id, epoch=1, first_missing_seq=first, last_missing_seq=last
    )


def _offline(
    chain: StoreChain,
    device_id: str,
    location_id: str,
    reason: str,
    at: datetime,
    *,
    back_at: datetime | None,
) -> None:
    chain.add(ProbeWentOffline(device_id=device_id, location_id=location_id, reason=reason), at=at)
    if back_at is not None:
        chain.add(
            ProbeCameBack(device_id=device_id, location_id=location_id, offline_since=at),
            at=back_at,
        )


def _gappy_store() -> tuple[StoreChain, int]:
    """store-a: one late receipt, one lot missing a document, two uninspected sales (one
    never received, one made from a lot never received), reading gaps and offline probes.
    Returns the chain and the late receipt's seq."""
    a = StoreChain("store-a")
    # The latest rule and profile win: seafood needs only the quarantine certificate.
    a.add(
        CategoryRuleSet(
            category="seafood", required_documents=("quarantine_certificate", "inspection_report")
        ),
        at=_h(-48),
    )
    a.add(ItemProfileSet(gtin=FISH, category="produce"), at=_h(-48))
    a.add(
        CategoryRuleSet(category="seafood", required_documents=("quarantine_certificate",)),
        at=_h(-24),
    )
    a.add(ItemProfileSet(gtin=FISH, category="seafood"), at=_h(-24))
    a.add(ItemProfileSet(gtin=APPLE, category="produce"), at=_h(-24))
    # Before the period: a sale of a lot never received, a gap, a probe offline and back.
    _sale(a, "S-OLD", [(GHOST, "G-OLD")], _h(-1))
    a.add(
        ReadingSeqGap(device_id="probe-1", epoch=1, first_missing_seq=1, last_missing_seq=2),
        at=_h(-3),
    )
    a.add(ProbeWentOffline(device_id="probe-5", location_id="freezer", reason="lwt"), at=_h(-5))
    a.add(
        ProbeCameBack(device_id="probe-5", location_id="freezer", offline_since=_h(-5)), at=_h(-4)
    )
    a.add(ProbeWentOffline(device_id="probe-4", location_id="chiller", reason="silent"), at=_h(-2))
    a.add(ProbeCameBack(device_id="probe-4", location_id="chiller", offline_since=_h(-2)), at=_h(1))

    late = _receive(a, "GR-1", FISH, "F1", "sup-sea", at=_h(1))  # papers come by registration
    a.add(LotRegistered(gtin=FISH, lot="F1", documents=("quarantine_certificate",)), at=_h(2))
    _receive(a, "GR-2", FISH, "F2", "sup-sea", "inspection_report", at=_h(1.5))
    _receive(a, "GR-3", APPLE, "A1", "sup-fruit", at=_h(2))
    _split(a, "T-1", (APPLE, "A1"), (APPLE_SPLIT, "A1-S"))
    _split(a, "T-2", (APPLE_SPLIT, "A1-S"), (PACK, "P3"))
    _split(a, "T-3", (APPLE, "A1"), (PACK, "P1"))
    _split(a, "T-4", (GHOST, "G0"), (PACK, "P2"))
    _sale(a, "S-1", [(FISH, "F1"), (FISH, "F2"), (APPLE, "A1")], _h(3))
    _sale(a, "S-2", [(GHOST, "G1"), (PACK, "P1"), (PACK, "P2"), (PACK, "P3")], _h(4))
    _sale(a, "S-3", [(GHOST, "G1")], _h(5))

    a.add(
        ReadingSeqGap(device_id="probe-1", epoch=1, first_missing_seq=10, last_missing_seq=14),
        at=_h(5),
    )
    a.add(
        ReadingSeqGap(device_id="probe-1", epoch=1, first_missing_seq=20, last_missing_seq=20),
        at=_h(6),
    )
    a.add(ProbeWentOffline(device_id="probe-2", location_id="chiller", reason="silent"), at=_h(10))
    a.add(
        ProbeCameBack(device_id="probe-2", location_id="chiller", offline_since=_h(10)), at=_h(13)
    )
    a.add(ProbeWentOffline(device_id="probe-3", location_id="deli", reason="lwt"), at=_h(144))
    return a, late.seq


def _complete_store() -> StoreChain:
    """store-b: every sold lot received with its papers, made from such, or shipped in."""
    b = StoreChain("store-b")
    b.add(
        CategoryRuleSet(category="seafood", required_documents=("quarantine_certificate",)),
        at=_h(-24),
    )
    b.add(ItemProfileSet(gtin=FISH, category="seafood"), at=_h(-24))
    _receive(b, "GR-B1", FISH, "F9", "sup-sea", "quarantine_certificate", at=_h(1))
    b.add(
        ShipmentReceived(
            shipment_id="SH-1",
            from_store_id="store-a",
            gtin=APPLE,
            lot="A1",
            location="floor",
            accepted_quantity=100,
        ),
        at=_h(1),
    )
    _split(b, "T-B1", (FISH, "F9"), (FILLET, "FF9"))
    _sale(b, "S-B1", [(FISH, "F9"), (FILLET, "FF9"), (APPLE, "A1")], _h(3))
    return b


@pytest.fixture
async def landed(clickhouse: ClickHouseGateway, ch_database: str) -> str:
    await create_schema(clickhouse, ch_database)
    await create_trace_schema(clickhouse, ch_database)
    a, late_seq = _gappy_store()
    await _land_uploaded(
        clickhouse,
        ch_database,
        a.drain(),
        lambda e: timedelta(hours=30) if e.seq == late_seq else timedelta(minutes=2),
    )
    await _land_uploaded(clickhouse, ch_database, _complete_store().drain())
    return ch_database


def _store(report: CompletenessReport, store_id: str) -> StoreCompleteness:
    (store,) = [s for s in report.stores if s.store_id == store_id]
    return store


def _supplier(store: StoreCompleteness, supplier_id: str) -> SupplierGaps:
    (supplier,) = [s for s in store.suppliers if s.supplier_id == supplier_id]
    return supplier


async def test_every_kind_of_gap_is_found_per_store_and_supplier(
    clickhouse: ClickHouseGateway, landed: str
) -> None:
    report = await completeness_report(
        clickhouse, landed, since=T0, until=UNTIL, late_after_h=24, examples=20
    )
    a = _store(report, "store-a")
    # Sold: F1, F2, A1, G1, P1, P2, P3; complete: F1, A1 and P1, P3 made from A1.
    assert (a.sold_lots, a.complete_lots, a.uninspected_lots) == (7, 4, 2)
    assert a.score == pytest.approx(4 / 7)
    assert [s.supplier_id for s in a.suppliers] == ["sup-fruit", "sup-sea", ""]

    unknown = _supplier(a, "")
    assert (unknown.sold_lots, unknown.complete_lots, unknown.uninspected_lots) == (4, 2, 2)
    assert {(u.gtin, u.lot, u.reason, u.sales) for u in unknown.uninspected} == {
        (GHOST, "G1", "never_received", 2),
        (PACK, "P2", "made_from_uninspected", 1),
    }
    assert min(u.first_sold_at for u in unknown.uninspected) == _h(4)

    sea = _supplier(a, "sup-sea")
    assert (sea.sold_lots, sea.complete_lots, sea.uninspected_lots) == (2, 1, 0)
    assert (sea.late_receipts, sea.worst_delay_h) == (1, 30.0)
    (late,) = sea.late
    assert (late.receipt_id, late.signed_at, late.delay_h, late.lines) == ("GR-1", _h(1), 30.0, 1)
    assert late.uploaded_at == _h(31)
    assert (sea.received_lots, sea.lots_missing_documents) == (2, 1)
    (missing,) = sea.missing_documents
    assert (missing.gtin, missing.lot, missing.receipt_id, missing.category) == (
        FISH,
        "F2",
        "GR-2",
        "seafood",
    )
    assert missing.missing == ("quarantine_certificate",)
    assert missing.received_at == _h(1.5)

    fruit = _supplier(a, "sup-fruit")
    assert (fruit.sold_lots, fruit.complete_lots, fruit.late_receipts) == (1, 1, 0)
    assert (fruit.received_lots, fruit.lots_missing_documents) == (1, 0)
    assert (a.late_receipts, a.lots_missing_documents, a.worst_delay_h) == (1, 1, 30.0)

    devices = {d.device_id: d for d in a.devices}
    assert (devices["probe-1"].seq_gaps, devices["probe-1"].readings_missing) == (2, 6)
    assert (a.seq_gaps, a.readings_missing) == (2, 6)
    two = devices["probe-2"]
    assert (two.offline_periods, two.offline_h, two.offline_since) == (1, 3.0, None)
    assert (two.offline[0].started_at, two.offline[0].ended_at) == (_h(10), _h(13))
    assert two.location_id == "chiller"
    three = devices["probe-3"]
    assert (three.offline_h, three.offline_since) == (24.0, _h(144))
    assert three.offline[0].ended_at is None
    assert (three.offline[0].reason, three.location_id) == ("lwt", "deli")
    four = devices["probe-4"]  # offline since before the period: only its hour inside counts
    assert (four.offline_h, four.offline[0].started_at) == (1.0, _h(-2))
    assert "probe-5" not in devices  # offline and back before the period
    assert a.offline_h == 28.0

    # The JSON the API sends decodes back to the same report.
    assert msgspec.json.decode(msgspec.json.encode(report), type=CompletenessReport) == report


async def test_a_complete_store_scores_one(clickhouse: ClickHouseGateway, landed: str) -> None:
    report = await completeness_report(clickhouse, landed, since=T0, until=UNTIL, late_after_h=24)
    b = _store(report, "store-b")
    assert (b.score, b.sold_lots, b.complete_lots) == (1.0, 3, 3)
    assert (b.uninspected_lots, b.late_receipts, b.lots_missing_documents) == (0, 0, 0)
    assert (b.seq_gaps, b.offline_h, b.devices) == (0, 0.0, ())
    assert report.sold_lots == 10
    assert report.score == pytest.approx(7 / 10)
    # A lower threshold makes store-a's 2-minute uploads late too; examples are capped.
    strict = await completeness_report(
        clickhouse, landed, since=T0, until=UNTIL, late_after_h=0.01, examples=1
    )
    sea = _supplier(_store(strict, "store-a"), "sup-sea")
    assert sea.late_receipts == 2
    assert [r.receipt_id for r in sea.late] == ["GR-1"]  # worst first
    assert len(_supplier(_store(strict, "store-a"), "").uninspected) == 1


async def test_the_period_filters_sales_receipts_and_sensor_gaps(
    clickhouse: ClickHouseGateway, landed: str
) -> None:
    # The day before: only the old sale, whose lot was never received; receipts made later
    # are not known yet; probe-4 was still offline when the period ended.
    before = await completeness_report(
        clickhouse, landed, since=T0 - timedelta(days=1), until=T0, late_after_h=24
    )
    assert [s.store_id for s in before.stores] == ["store-a"]
    a = before.stores[0]
    assert (a.sold_lots, a.uninspected_lots, a.late_receipts, a.score) == (1, 1, 0, 0.0)
    assert [(u.lot, u.reason) for u in a.suppliers[0].uninspected] == [("G-OLD", "never_received")]
    devices = {d.device_id: d for d in a.devices}
    assert (devices["probe-1"].seq_gaps, devices["probe-1"].readings_missing) == (1, 2)
    assert (devices["probe-4"].offline_h, devices["probe-4"].offline_since) == (2.0, _h(-2))
    assert devices["probe-5"].offline_h == 1.0
    assert "probe-2" not in devices

    # Long after: nothing sold (score None), probe-3 is still offline the whole day.
    after = await completeness_report(
        clickhouse,
        landed,
        since=UNTIL + timedelta(days=1),
        until=UNTIL + timedelta(days=2),
        late_after_h=24,
    )
    (quiet,) = after.stores
    assert (quiet.store_id, quiet.score, quiet.sold_lots, after.score) == ("store-a", None, 0, None)
    (three,) = quiet.devices
    assert (three.device_id, three.offline_h, three.offline_since) == ("probe-3", 24.0, _h(144))


async def test_an_empty_database_gives_an_empty_report(
    clickhouse: ClickHouseGateway, ch_database: str
) -> None:
    await create_schema(clickhouse, ch_database)
    await create_trace_schema(clickhouse, ch_database)
    report = await completeness_report(
        clickhouse, ch_database, since=T0, until=UNTIL, late_after_h=24
    )
    assert (report.stores, report.score, report.sold_lots) == ((), None, 0)


async def test_inspection_is_inherited_through_the_genealogy_depth(
    clickhouse: ClickHouseGateway, ch_database: str
) -> None:
    """R received; R → L1 → L2 → L3 → L4 → L5 by transformations: L4 (4 steps) inherits the
    inspection, L5 (5 steps, past GENEALOGY_DEPTH) counts as not inspected."""
    await create_schema(clickhouse, ch_database)
    await create_trace_schema(clickhouse, ch_database)
    chain = StoreChain("store-c")
    _receive(chain, "GR-C", APPLE, "R", "sup-fruit", at=_h(1))
    lots = ["R", "L1", "L2", "L3", "L4", "L5"]
    for step, (parent, child) in enumerate(itertools.pairwise(lots), start=1):
        _split(chain, f"T-{step}", (APPLE, parent), (APPLE, child))
    _sale(chain, "S-C", [(APPLE, "L4"), (APPLE, "L5")], _h(4))
    await _land_uploaded(clickhouse, ch_database, chain.drain())
    assert GENEALOGY_DEPTH == 4
    report = await completeness_report(
        clickhouse, ch_database, since=T0, until=UNTIL, late_after_h=24
    )
    (store,) = report.stores
    assert (store.sold_lots, store.complete_lots, store.uninspected_lots) == (2, 1, 1)
    unknown = _supplier(store, "")
    assert [(u.lot, u.reason) for u in unknown.uninspected] == [("L5", "made_from_uninspected")]


# --- the HTTP API --------------------------------------------------------------------------------


def _app(clickhouse: ClickHouseGateway, db: str, tmp_path: Any) -> Litestar:
    settings = CloudSettings(database=db, ingest_enabled=False, api_token=TOKEN, home=tmp_path)
    return create_app(settings, gateway=clickhouse)


async def test_the_api_answers_the_report_400_and_401(
    clickhouse: ClickHouseGateway, landed: str, tmp_path: Any
) -> None:
    headers = {"authorization": f"Bearer {TOKEN}"}
    url = "/v1/trace/completeness"
    async with AsyncTestClient(app=_app(clickhouse, landed, tmp_path)) as client:
        ok = await client.get(
            url,
            params={"since": "2026-11-20T14:00:00+08:00", "until": "2026-11-27T06:00:00Z"},
            headers=headers,
        )
        assert ok.status_code == 200, ok.text
        report = msgspec.json.decode(ok.content, type=CompletenessReport)
        assert (report.since, report.until, report.late_after_h) == (T0, UNTIL, 24.0)
        assert _store(report, "store-b").score == 1.0
        assert _supplier(_store(report, "store-a"), "sup-sea").late_receipts == 1
        # An unencoded '+' arrives as a space and still means the offset.
        spaced = await client.get(
            f"{url}?since=2026-11-20T14:00:00+08:00&until=2026-11-27T06:00:00Z&late_after_h=40",
            headers=headers,
        )
        assert spaced.status_code == 200, spaced.text
        assert spaced.json()["since"].startswith("2026-11-20T06:00:00")
        assert (
            _supplier(
                _store(msgspec.json.decode(spaced.content, type=CompletenessReport), "store-a"),
                "sup-sea",
            ).late_receipts
            == 0
        )
        default = await client.get(url, headers=headers)  # the last 7 days: nothing landed
        assert default.status_code == 200
        window = default.json()
        assert datetime.fromisoformat(window["until"]) - datetime.fromisoformat(
            window["since"]
        ) == timedelta(days=7)

        for params, word in (
            ({"since": "last tuesday"}, "since"),
            ({"since": "2026-11-20T06:00:00"}, "timezone"),
            ({"since": "2026-11-27T06:00:00Z", "until": "2026-11-20T06:00:00Z"}, "before"),
            ({"since": "2020-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "longer"),
            ({"late_after_h": "soon"}, "late_after_h"),
            ({"late_after_h": "-1"}, "late_after_h"),
            ({"late_after_h": "nan"}, "late_after_h"),
            ({"examples": "many"}, "examples"),
        ):
            bad = await client.get(url, params=params, headers=headers)
            assert bad.status_code == 400, (params, bad.text)
            assert bad.headers["content-type"].startswith("application/problem+json")
            assert word in bad.json()["detail"], bad.json()
        assert (await client.get(url)).status_code == 401
        wrong = await client.get(url, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401


@given(
    since=st.one_of(st.none(), st.text(max_size=40)),
    until=st.one_of(st.none(), st.text(max_size=40)),
    late=st.one_of(st.none(), st.text(max_size=12)),
    examples=st.one_of(st.none(), st.text(max_size=8)),
)
def test_any_query_is_a_window_or_a_clear_400(
    since: str | None, until: str | None, late: str | None, examples: str | None
) -> None:
    outcome: ReportWindow | TraceRequestInvalid
    try:
        outcome = report_window(since, until, late, examples, now=T0)
    except TraceRequestInvalid as exc:
        outcome = exc
    if isinstance(outcome, TraceRequestInvalid):
        assert outcome.status_code == 400
        assert str(outcome)
    else:
        assert outcome.since < outcome.until
        assert outcome.since.tzinfo is UTC
        assert outcome.late_after_h >= 0
        assert outcome.examples >= 0


_OFFSETS = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 30), timezones=_OFFSETS
    )
)
def test_any_aware_iso_instant_parses_to_the_same_instant(at: datetime) -> None:
    window = report_window(None, at.isoformat(), None, None, now=T0)
    assert window.until == at
    assert window.until.tzinfo is UTC


# --- the CLI against a served cloud ----------------------------------------------------------


async def test_jxc_trace_completeness_prints_a_table_and_json(
    clickhouse: ClickHouseGateway, landed: str, tmp_path: Any
) -> None:
    import uvicorn
    from click.testing import CliRunner

    from ops.cli.trace_completeness import completeness_command
    from ops.services import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            _app(clickhouse, landed, tmp_path), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the cloud API did not start"
            assert thread.is_alive(), "the cloud API stopped"
            await asyncio.sleep(0.05)
        args = [
            "--cloud-url", f"http://127.0.0.1:{port}", "--token", TOKEN,
            "--since", "2026-11-20T06:00:00Z", "--until", "2026-11-27T06:00:00Z",
        ]  # fmt: skip
        runner = CliRunner()
        table = runner.invoke(completeness_command, args, env={"COLUMNS": "160"})
        assert table.exit_code == 0, table.output
        for text in ("store-a", "store-b", "sup-sea", "GR-1", "quarantine_certificate", "G1",
                     "probe-3", "57.1%", "100.0%"):  # fmt: skip
            assert text in table.output, (text, table.output)
        as_json = runner.invoke(completeness_command, [*args, "--json", "--late-after-h", "48"])
        assert as_json.exit_code == 0, as_json.output
        body = json.loads(as_json.output)
        assert body["late_after_h"] == 48.0
        assert {s["store_id"] for s in body["stores"]} == {"store-a", "store-b"}
        bad = runner.invoke(completeness_command, [*args[:4], "--since", "tuesday"])
        assert bad.exit_code != 0
        assert "since" in bad.output
        denied = runner.invoke(completeness_command, [*args[:2], "--token", "nope"])
        assert denied.exit_code != 0
        assert "401" in denied.output
    finally:
        server.should_exit = True
        thread.join(timeout=30)
