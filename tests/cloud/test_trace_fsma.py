"""The FSMA 204 sortable spreadsheet of a lot trace: a supplier lot received at store A, split,
sorted and repacked there, half of it shipped to store B and repacked there, sold; one row per
critical tracking event with the rule's key data elements, for a range of dates."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, get_args
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.trace.fsma import FSMA204_COLUMNS, fsma204_csv, fsma204_rows
from cloud.trace.records import CONTAINER_GTIN, RecordRole, TraceRecord

T0 = datetime(2026, 11, 20, 6, tzinfo=UTC)
RAW, SORTED, PACK, PACK_B = "06900000000014", "06900000000021", "06900000000038", "06900000000045"
SSCC = "069000000000000014"
WEIGHED = frozenset({RAW, SORTED})
PLACES = {
    "sup-1": "Green Farm Co., 1 Farm Rd, Shouguang, +86 536 000 0001",
    "store-a": "JXC Store A, 8 Market St, Jinan, +86 531 000 0001",
    "store-b": "JXC Store B, 9 River Rd, Jinan, +86 531 000 0002",
}
PRODUCTS = {RAW: "Tomatoes, loose", SORTED: "Tomatoes, sorted", PACK: "Tomatoes 500 g tray"}
FIRST, LAST = date(2026, 1, 1), date(2026, 12, 31)  # every event of the scenario


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def rec(
    store: str, seq: int, at: float, role: RecordRole, gtin: str, lot: str, **kw: Any
) -> TraceRecord:
    return TraceRecord(
        store_id=store,
        seq=seq,
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"test:{store}:{seq}")),
        event_type="Event",
        role=role,
        occurred_at=_h(at),
        gtin=gtin,
        lot=lot,
        operator_id="op-1",
        device_id="dev-1",
        **kw,
    )


def scenario() -> list[TraceRecord]:
    a, b = "store-a", "store-b"
    return [
        rec(a, 1, 0, "registered", RAW, "L1", counterpart="sup-1"),
        rec(a, 2, 1, "received", RAW, "L1", quantity=10_000, location="cold_room",
            document_id="GR-1", counterpart="sup-1", temperature_centi_c=350),
        rec(a, 3, 2, "transformed_in", RAW, "L1", quantity=10_000, location="cold_room",
            document_id="T-SPLIT", kind="split"),
        rec(a, 3, 2, "transformed_out", RAW, "L1-A", quantity=6_000, location="cold_room",
            document_id="T-SPLIT", kind="split"),
        rec(a, 3, 2, "transformed_out", RAW, "L1-B", quantity=4_000, location="cold_room",
            document_id="T-SPLIT", kind="split"),
        rec(a, 4, 26, "transformed_in", RAW, "L1-A", quantity=6_000, location="cold_room",
            document_id="T-SORT", kind="sort"),
        rec(a, 4, 26, "transformed_out", SORTED, "S1", quantity=5_500, location="cold_room",
            document_id="T-SORT", kind="sort"),
        rec(a, 5, 27, "transformed_in", SORTED, "S1", quantity=5_500, location="cold_room",
            document_id="T-PACK", kind="repack"),
        rec(a, 5, 27, "transformed_out", PACK, "P1", quantity=11, location="cold_room",
            document_id="T-PACK", kind="repack"),
        rec(a, 6, 28, "packed", PACK, "P1", quantity=10, document_id="AG-1", counterpart=SSCC),
        rec(a, 6, 28, "packed", CONTAINER_GTIN, SSCC, quantity=1, document_id="AG-1"),
        rec(a, 7, 30, "unpacked", PACK, "P1", quantity=10, document_id="AG-2", counterpart=SSCC),
        rec(a, 7, 30, "unpacked", CONTAINER_GTIN, SSCC, quantity=1, document_id="AG-2"),
        rec(a, 8, 48, "shipped", RAW, "L1-B", quantity=4_000, location="cold_room",
            document_id="SH-1", counterpart=b),
        rec(b, 1, 50, "shipment_received", RAW, "L1-B", quantity=4_000, location="chiller",
            document_id="SH-1", counterpart=a),
        rec(b, 2, 73, "transformed_in", RAW, "L1-B", quantity=4_000, location="chiller",
            document_id="T-B", kind="repack"),
        rec(b, 2, 73, "transformed_out", PACK_B, "PB1", quantity=8, location="chiller",
            document_id="T-B", kind="repack"),
        rec(a, 9, 74, "sold", PACK, "P1", quantity=2, document_id="SALE-1", receipt_id="R-1"),
        rec(b, 3, 75, "sold", PACK_B, "PB1", quantity=1, document_id="SALE-B1"),
        rec(a, 10, 76, "wasted", PACK, "P1", quantity=1, reason="spoilage"),
    ]  # fmt: skip


def rows(records: list[TraceRecord] | None = None, **kw: Any) -> list[dict[str, str]]:
    return fsma204_rows(
        scenario() if records is None else records,
        **(_DEFAULTS | kw),
    )


_DEFAULTS: dict[str, Any] = {
    "from_date": FIRST,
    "to_date": LAST,
    "places": PLACES,
    "products": PRODUCTS,
    "weighed_gtins": WEIGHED,
}


def test_the_sheet_has_the_rules_key_data_elements_as_columns() -> None:
    # 21 CFR 1.1345 (receiving), 1.1340 (shipping), 1.1350 (transformation)
    for kde in (
        "Critical Tracking Event",
        "Traceability Lot Code",
        "Location Description for the Traceability Lot Code Source",
        "Product Description",
        "Quantity",
        "Unit of Measure",
        "Location Description for the Immediate Previous Source",
        "Location Description for Where the Event Took Place",
        "Location Description for the Immediate Subsequent Recipient",
        "Date of the Event",
        "Reference Document Type",
        "Reference Document Number",
        "Traceability Lot Codes of Foods Used in Transformation",
    ):
        assert kde in FSMA204_COLUMNS
    assert len(set(FSMA204_COLUMNS)) == len(FSMA204_COLUMNS)
    for row in rows():
        assert tuple(row) == FSMA204_COLUMNS


def test_one_row_per_critical_tracking_event() -> None:
    sheet = rows()
    assert Counter(r["Critical Tracking Event"] for r in sheet) == {
        "Receiving": 2,  # from the supplier at A, from A at B
        "Shipping": 1,
        "Transformation": 5,  # the split made two lots, then sort, repack at A, repack at B
    }
    # sales to consumers, packing and waste are not CTEs
    assert {r["Source Event (store:seq)"] for r in sheet} == {
        "store-a:2",
        "store-a:3",
        "store-a:4",
        "store-a:5",
        "store-a:8",
        "store-b:1",
        "store-b:2",
    }


def test_rows_are_sorted_by_lot_code_then_date() -> None:
    sheet = rows()
    assert [(r["Traceability Lot Code"], r["Critical Tracking Event"]) for r in sheet] == [
        ("L1", "Receiving"),
        ("L1-A", "Transformation"),
        ("L1-B", "Transformation"),
        ("L1-B", "Shipping"),
        ("L1-B", "Receiving"),
        ("P1", "Transformation"),
        ("PB1", "Transformation"),
        ("S1", "Transformation"),
    ]
    keys = [(r["Traceability Lot Code"], r["Date of the Event"]) for r in sheet]
    assert keys == sorted(keys)


def test_key_data_elements_of_each_event() -> None:
    by = {(r["Traceability Lot Code"], r["Critical Tracking Event"]): r for r in rows()}
    received = by[("L1", "Receiving")]
    assert received["Traceability Lot Code"] == "L1"
    assert received["Location Description for the Traceability Lot Code Source"] == PLACES["sup-1"]
    assert received["Product Description"] == f"Tomatoes, loose (GTIN {RAW})"
    assert (received["Quantity"], received["Unit of Measure"]) == ("10", "kg")
    assert received["Location Description for the Immediate Previous Source"] == PLACES["sup-1"]
    assert (
        received["Location Description for Where the Event Took Place"]
        == f"{PLACES['store-a']} (cold_room)"
    )
    assert received["Location Description for the Immediate Subsequent Recipient"] == ""
    assert received["Date of the Event"] == "2026-11-20"
    assert received["Reference Document Type"] == "Goods Receipt"
    assert received["Reference Document Number"] == "GR-1"
    assert received["Event Time (UTC)"] == "2026-11-20T07:00:00+00:00"

    shipped = by[("L1-B", "Shipping")]
    assert (
        shipped["Location Description for the Immediate Subsequent Recipient"]
        == (PLACES["store-b"])
    )
    assert shipped["Reference Document Type"] == "Despatch Advice"
    assert shipped["Reference Document Number"] == "SH-1"
    at_b = by[("L1-B", "Receiving")]
    assert at_b["Location Description for the Immediate Previous Source"] == PLACES["store-a"]
    assert at_b["Location Description for Where the Event Took Place"] == (
        f"{PLACES['store-b']} (chiller)"
    )
    # the lot code was assigned where the split made it, not where it was received
    assert at_b["Location Description for the Traceability Lot Code Source"] == (
        f"{PLACES['store-a']} (cold_room)"
    )

    sort = by[("S1", "Transformation")]
    assert sort["Traceability Lot Codes of Foods Used in Transformation"] == (
        f"L1-A (Tomatoes, loose (GTIN {RAW}), 6 kg)"
    )
    assert (sort["Quantity"], sort["Unit of Measure"]) == ("5.5", "kg")
    assert sort["Reference Document Type"] == "Transformation Record"
    assert sort["Reference Document Number"] == "T-SORT"
    pack_b = by[("PB1", "Transformation")]
    assert (pack_b["Quantity"], pack_b["Unit of Measure"]) == ("8", "each")
    assert pack_b["Product Description"] == f"GTIN {PACK_B}"  # no name known: the GTIN
    assert pack_b["Location Description for the Traceability Lot Code Source"] == (
        f"{PLACES['store-b']} (chiller)"
    )


def test_date_range() -> None:
    sheet = rows(from_date=date(2026, 11, 21), to_date=date(2026, 11, 22))
    assert [(r["Traceability Lot Code"], r["Date of the Event"]) for r in sheet] == [
        ("L1-B", "2026-11-22"),
        ("L1-B", "2026-11-22"),
        ("P1", "2026-11-21"),
        ("S1", "2026-11-21"),
    ]
    # the lot code source still comes from events before the range
    assert sheet[0]["Location Description for the Traceability Lot Code Source"] == (
        f"{PLACES['store-a']} (cold_room)"
    )
    assert rows(from_date=date(2026, 11, 24), to_date=date(2026, 11, 30)) == []
    one_day = rows(from_date=date(2026, 11, 20), to_date=date(2026, 11, 20))
    assert {r["Date of the Event"] for r in one_day} == {"2026-11-20"}
    assert len(one_day) == 3


def test_dates_are_the_stores_local_dates() -> None:
    late = [rec("store-a", 1, 17, "received", RAW, "L9", quantity=5, counterpart="sup-1")]
    # 23:00 UTC on the 20th is 07:00 on the 21st in Jinan
    assert rows(late, from_date=date(2026, 11, 21), to_date=date(2026, 11, 21)) == []
    [row] = rows(
        late,
        from_date=date(2026, 11, 21),
        to_date=date(2026, 11, 21),
        zone=ZoneInfo("Asia/Shanghai"),
    )
    assert row["Date of the Event"] == "2026-11-21"


def test_a_transformation_seen_only_from_its_inputs_still_shows() -> None:
    inputs_only = [r for r in scenario() if r.seq == 4 and r.role == "transformed_in"]
    [row] = rows(inputs_only)
    assert row["Critical Tracking Event"] == "Transformation"
    assert row["Traceability Lot Code"] == ""
    assert row["Traceability Lot Codes of Foods Used in Transformation"].startswith("L1-A ")


def test_csv() -> None:
    text = fsma204_csv(
        scenario(), from_date=FIRST, to_date=LAST, places=PLACES, weighed_gtins=WEIGHED
    )
    assert text.endswith("\r\n")
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(table[0]) == FSMA204_COLUMNS
    expected = rows(products={})
    assert table[1:] == [[r[c] for c in FSMA204_COLUMNS] for r in expected]


def test_csv_cells_never_run_as_formulas() -> None:
    hostile = [
        rec("store-a", 1, 0, "received", RAW, "=HYPERLINK(1)", quantity=1, counterpart="@evil")
    ]
    table = list(
        csv.reader(io.StringIO(fsma204_csv(hostile, from_date=FIRST, to_date=LAST), newline=""))
    )
    row = dict(zip(table[0], table[1], strict=True))
    assert row["Traceability Lot Code"] == "'=HYPERLINK(1)"
    assert row["Location Description for the Immediate Previous Source"] == "'@evil"
    # the rows themselves keep the values as recorded
    assert rows(hostile)[0]["Traceability Lot Code"] == "=HYPERLINK(1)"


# --- any records -------------------------------------------------------------------------------

ROLES: tuple[RecordRole, ...] = get_args(RecordRole)
texts = st.text(max_size=16)
records = st.builds(
    TraceRecord,
    store_id=st.sampled_from(["store-a", "store-b"]),
    seq=st.integers(1, 5),
    event_id=texts,
    event_type=texts,
    role=st.sampled_from(ROLES),
    occurred_at=st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2027, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]),
    ),
    gtin=st.sampled_from([RAW, PACK, CONTAINER_GTIN]) | texts,
    lot=texts,
    operator_id=texts,
    device_id=texts,
    quantity=st.integers(-(10**6), 10**9),
    location=texts,
    document_id=texts,
    counterpart=texts,
)


@settings(max_examples=150)
@given(st.lists(records, max_size=15), st.dates(), st.dates())
def test_any_records_make_a_sorted_sheet(
    given_records: list[TraceRecord], first: date, last: date
) -> None:
    sheet = fsma204_rows(
        given_records, from_date=first, to_date=last, weighed_gtins={RAW}, places=PLACES
    )
    for row in sheet:
        assert tuple(row) == FSMA204_COLUMNS
        assert row["Critical Tracking Event"] in ("Receiving", "Shipping", "Transformation")
        assert first.isoformat() <= row["Date of the Event"] <= last.isoformat()
    keys = [(r["Traceability Lot Code"], r["Date of the Event"]) for r in sheet]
    assert keys == sorted(keys)
    text = fsma204_csv(given_records, from_date=first, to_date=last)
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == len(sheet) + 1
