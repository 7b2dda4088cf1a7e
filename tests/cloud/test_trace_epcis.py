"""EPCIS 2.0 export of lot traces, checked against GS1's published JSON schema (shipped in
cloud/trace/schemas/): a supplier lot split, sorted and repacked at store A, half of it shipped
to store B, packed into a case and unpacked, sold, wasted, and kept in a cold room whose
temperatures the export reports as sensor data."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.trace.domain import LocationExcursion, LotStay, StaySummary, TemperaturePoint
from cloud.trace.epcis import (
    EPCIS_CONTEXT,
    container_uri,
    epcis_document,
    lot_uri,
    validate_epcis,
)
from cloud.trace.records import CONTAINER_GTIN, RecordRole, TraceRecord

VECTORS = Path(__file__).parents[2] / "../shared/vectors/epcis"
SCHEMA = Path(__file__).parents[2] / "cloud/trace/schemas/EPCIS-JSON-Schema.json"

T0 = datetime(2026, 11, 20, 6, tzinfo=UTC)
NOW = T0 + timedelta(days=5)
# valid GS1 check digits: only those make Digital Link URIs
RAW, SORTED, PACK, PACK_B = "06900000000014", "06900000000021", "06900000000038", "06900000000045"
SSCC = "069000000000000014"
WEIGHED = frozenset({RAW, SORTED})  # stocked in grams; the packs are pieces


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _id(store: str, seq: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"test:{store}:{seq}"))


def rec(
    store: str, seq: int, at: float, role: RecordRole, gtin: str, lot: str, **kw: Any
) -> TraceRecord:
    return TraceRecord(
        store_id=store,
        seq=seq,
        event_id=_id(store, seq),
        event_type=kw.pop("event_type", "Event"),
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
        rec(a, 1, 0, "registered", RAW, "L1", counterpart="sup-1", expiry=date(2026, 12, 1)),
        rec(a, 2, 1, "received", RAW, "L1", quantity=10_000, location="cold_room",
            document_id="GR-1", counterpart="sup-1", expiry=date(2026, 12, 1),
            temperature_centi_c=350, rejected_quantity=500, reason="bruised",
            documents=("inspection_report",)),
        # split
        rec(a, 3, 2, "transformed_in", RAW, "L1", quantity=10_000, location="cold_room",
            document_id="T-SPLIT", kind="split"),
        rec(a, 3, 2, "transformed_out", RAW, "L1-A", quantity=6_000, location="cold_room",
            document_id="T-SPLIT", kind="split", expiry=date(2026, 12, 1)),
        rec(a, 3, 2, "transformed_out", RAW, "L1-B", quantity=4_000, location="cold_room",
            document_id="T-SPLIT", kind="split", expiry=date(2026, 12, 1)),
        # sort, then repack into 500 g packs
        rec(a, 4, 26, "transformed_in", RAW, "L1-A", quantity=6_000, location="cold_room",
            document_id="T-SORT", kind="sort"),
        rec(a, 4, 26, "transformed_out", SORTED, "S1", quantity=5_500, location="cold_room",
            document_id="T-SORT", kind="sort"),
        rec(a, 5, 27, "transformed_in", SORTED, "S1", quantity=5_500, location="cold_room",
            document_id="T-PACK", kind="repack"),
        rec(a, 5, 27, "transformed_out", PACK, "P1", quantity=11, location="cold_room",
            document_id="T-PACK", kind="repack", expiry=date(2026, 11, 25)),
        # a case of packs, opened again on the sales floor
        rec(a, 6, 28, "packed", PACK, "P1", quantity=10, location="backroom",
            document_id="AG-1", counterpart=SSCC),
        rec(a, 6, 28, "packed", CONTAINER_GTIN, SSCC, quantity=1, location="backroom",
            document_id="AG-1"),
        rec(a, 7, 30, "unpacked", PACK, "P1", quantity=10, location="sales_floor",
            document_id="AG-2", counterpart=SSCC),
        rec(a, 7, 30, "unpacked", CONTAINER_GTIN, SSCC, quantity=1, location="sales_floor",
            document_id="AG-2"),
        rec(a, 8, 31, "moved", PACK, "P1", quantity=1, location="cold_room",
            to_location="sales_floor", document_id="TR-1"),
        # the other half goes to store B
        rec(a, 9, 48, "shipped", RAW, "L1-B", quantity=4_000, location="cold_room",
            document_id="SH-1", counterpart=b, expiry=date(2026, 12, 1)),
        rec(b, 1, 50, "shipment_received", RAW, "L1-B", quantity=4_000, location="chiller",
            document_id="SH-1", counterpart=a, temperature_centi_c=420),
        rec(b, 2, 51, "transformed_in", RAW, "L1-B", quantity=4_000, location="chiller",
            document_id="T-B", kind="repack"),
        rec(b, 2, 51, "transformed_out", PACK_B, "PB1", quantity=8, location="chiller",
            document_id="T-B", kind="repack"),
        # sales, waste, a count, a hold and its release
        rec(a, 10, 52, "sold", PACK, "P1", quantity=2, location="till-1", document_id="SALE-1",
            receipt_id="R-1", e_receipt_ref="https://receipts.example/r/1", kind="pos",
            amount_fen=1980),
        rec(b, 3, 53, "sold", PACK_B, "PB1", quantity=1, document_id="SALE-B1", receipt_id="RB-1"),
        rec(a, 11, 54, "wasted", PACK, "P1", quantity=1, location="sales_floor",
            document_id="W-1", reason="spoilage"),
        rec(a, 12, 55, "counted", PACK, "P1", quantity=7, location="sales_floor",
            document_id="C-1", reason="difference -1"),
        rec(a, 13, 56, "held", PACK, "P1", document_id="H-1", kind="quality", reason="smell"),
        rec(a, 14, 57, "released", PACK, "P1", document_id="H-1", kind="quality"),
        rec(a, 15, 58, "returned", PACK, "P1", quantity=1, location="sales_floor",
            document_id="RET-1", receipt_id="SALE-1", kind="restocked", amount_fen=990),
    ]  # fmt: skip


def cold_room_stay() -> LotStay:
    return LotStay(
        store_id="store-a",
        location="cold_room",
        gtin=RAW,
        lot="L1",
        since=_h(1),
        until=_h(2),
        temperatures=StaySummary(
            readings=12,
            min_centi_c=200,
            max_centi_c=450,
            mkt_centi_c=330,
            curve=(
                TemperaturePoint(_h(1), 250),
                TemperaturePoint(_h(1.33), 310),
                TemperaturePoint(_h(1.66), 420),
            ),
            excursions=(
                LocationExcursion(
                    started_at=_h(1.7),
                    ended_at=_h(1.9),
                    direction="above",
                    limit_centi_c=400,
                    worst_centi_c=450,
                    device_id="probe-1",
                ),
            ),
        ),
    )


def document(**kw: Any) -> dict[str, Any]:
    return epcis_document(
        scenario(),
        [cold_room_stay()],
        created_at=NOW,
        sender="urn:jxc:cloud",
        weighed_gtins=WEIGHED,
        **kw,
    )


def events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = doc["epcisBody"]["eventList"]
    return found


def one(doc: dict[str, Any], **match: Any) -> dict[str, Any]:
    hits = [e for e in events(doc) if all(e.get(k) == v for k, v in match.items())]
    assert len(hits) == 1, (match, hits)
    return hits[0]


# --- the schema ----------------------------------------------------------------------------


def test_the_shipped_schema_is_the_published_one() -> None:
    assert SCHEMA.read_bytes() == (VECTORS / "EPCIS-JSON-Schema.json").read_bytes()


@pytest.mark.parametrize(
    "example",
    sorted(p.name for p in VECTORS.glob("*.jsonld") if p.name != "epcis-context.jsonld"),
)
def test_gs1_examples_validate(example: str) -> None:
    assert validate_epcis(json.loads((VECTORS / example).read_text())) == []


def test_strict_validation_rejects_json_ld_blank_nodes() -> None:
    example = json.loads((VECTORS / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    assert validate_epcis(example, strict=True) == ["id: '_:document1' is not a 'uri'"]


def test_a_broken_document_is_reported_invalid() -> None:
    doc = document()
    assert validate_epcis(doc, strict=True) == []
    broken = copy.deepcopy(doc)
    sale = next(e for e in events(broken) if e.get("bizStep") == "retail_selling")
    i = events(broken).index(sale)
    sale["bizStep"] = "selling"  # not CBV, not a URI
    del sale["eventTimeZoneOffset"]
    sale["quantityList"][0]["uom"] = "kilograms"
    sale["readPoint"]["id"] = "till 1"
    sale["eventTime"] = "2026-13-01T00:00:00Z"
    errors = validate_epcis(broken)
    for expected in (
        f"epcisBody/eventList/{i}/bizStep: 'selling' is not a 'uri'",
        f"epcisBody/eventList/{i}: 'eventTimeZoneOffset' is a required property",
        f"epcisBody/eventList/{i}/quantityList/0/uom: 'kilograms' does not match",
        f"epcisBody/eventList/{i}/readPoint/id: 'till 1' is not a 'uri'",
        f"epcisBody/eventList/{i}/eventTime: '2026-13-01T00:00:00Z' is not a 'date-time'",
    ):
        assert any(e.startswith(expected) for e in errors), (expected, errors)
    assert validate_epcis({"type": "EPCISDocument"}) != []
    assert validate_epcis([]) != []


# --- the document --------------------------------------------------------------------------


def test_document_is_valid_and_has_every_event_type() -> None:
    doc = document()
    assert validate_epcis(doc, strict=True) == []
    assert doc["@context"] == [EPCIS_CONTEXT, {"jxc": "urn:jxc:epcis:"}]
    assert doc["type"] == "EPCISDocument"
    assert doc["schemaVersion"] == "2.0"
    assert doc["creationDate"] == "2026-11-25T06:00:00.000+00:00"
    assert doc["sender"] == "urn:jxc:cloud"
    kinds = {e["type"] for e in events(doc)}
    assert kinds == {"ObjectEvent", "AggregationEvent", "TransformationEvent", "TransactionEvent"}
    ids = [e["eventID"] for e in events(doc)]
    assert len(ids) == len(set(ids))
    times = [datetime.fromisoformat(e["eventTime"]) for e in events(doc)]
    assert times == sorted(times)
    # every event from a record names the store event it comes from
    for event in events(doc):
        if event.get("bizStep") != "sensor_reporting":
            assert isinstance(event["jxc:seq"], int)
            assert event["jxc:store"] in ("store-a", "store-b")
    # the document is plain JSON
    assert json.loads(json.dumps(doc)) == doc


def test_receiving_from_a_supplier() -> None:
    event = one(document(), bizStep="receiving", **{"jxc:store": "store-a", "jxc:seq": 2})
    assert event["type"] == "ObjectEvent"
    assert event["action"] == "OBSERVE"
    assert event["eventID"] == f"urn:uuid:{_id('store-a', 2)}"
    assert event["eventTime"] == "2026-11-20T07:00:00.000+00:00"
    assert event["eventTimeZoneOffset"] == "+00:00"
    assert event["disposition"] == "in_progress"
    assert event["quantityList"] == [
        {"epcClass": f"https://id.gs1.org/01/{RAW}/10/L1", "quantity": 10.0, "uom": "KGM"}
    ]
    assert event["readPoint"] == {"id": "urn:jxc:store:store-a:loc:cold_room"}
    assert event["bizLocation"] == {"id": "urn:jxc:store:store-a:loc:cold_room"}
    assert event["bizTransactionList"] == [
        {"type": "recadv", "bizTransaction": "urn:jxc:store:store-a:goods-receipt:GR-1"}
    ]
    assert event["sourceList"] == [{"type": "owning_party", "source": "urn:jxc:supplier:sup-1"}]
    assert {"type": "owning_party", "destination": "urn:jxc:store:store-a"} in event[
        "destinationList"
    ]
    assert event["sensorElementList"] == [
        {
            "sensorMetadata": {"time": "2026-11-20T07:00:00.000+00:00"},
            "sensorReport": [{"type": "Temperature", "value": 3.5, "uom": "CEL"}],
        }
    ]
    assert event["jxc:rejectedQuantity"] == 500
    assert event["jxc:reason"] == "bruised"
    assert event["jxc:expiry"] == "2026-12-01"
    assert event["jxc:documents"] == ["inspection_report"]


def test_a_shipment_links_both_stores() -> None:
    doc = document()
    shipped = one(doc, bizStep="shipping")
    received = one(doc, bizStep="receiving", **{"jxc:store": "store-b"})
    assert shipped["disposition"] == "in_transit"
    assert "bizLocation" not in shipped  # in transit
    assert shipped["destinationList"] == [
        {"type": "location", "destination": "urn:jxc:store:store-b"}
    ]
    assert received["sourceList"] == [{"type": "location", "source": "urn:jxc:store:store-a"}]
    desadv = {"type": "desadv", "bizTransaction": "urn:jxc:shipment:SH-1"}
    assert shipped["bizTransactionList"] == received["bizTransactionList"] == [desadv]
    assert shipped["quantityList"] == received["quantityList"]
    assert received["sensorElementList"][0]["sensorReport"][0]["value"] == 4.2


def test_transformations() -> None:
    doc = document()
    split = one(doc, type="TransformationEvent", **{"jxc:seq": 3})
    assert split["inputQuantityList"] == [
        {"epcClass": lot_uri(RAW, "L1"), "quantity": 10.0, "uom": "KGM"}
    ]
    assert split["outputQuantityList"] == [
        {"epcClass": lot_uri(RAW, "L1-A"), "quantity": 6.0, "uom": "KGM"},
        {"epcClass": lot_uri(RAW, "L1-B"), "quantity": 4.0, "uom": "KGM"},
    ]
    assert split["transformationID"] == "urn:jxc:store:store-a:transformation:T-SPLIT"
    assert split["bizStep"] == "repackaging"
    assert split["ilmd"] == {"cbvmda:itemExpirationDate": "2026-12-01"}
    assert split["jxc:transformationKind"] == "split"
    repack = one(doc, type="TransformationEvent", **{"jxc:seq": 5})
    # packs are pieces: a count, no unit
    assert repack["outputQuantityList"] == [{"epcClass": lot_uri(PACK, "P1"), "quantity": 11}]
    transformations = [e for e in events(doc) if e["type"] == "TransformationEvent"]
    assert len(transformations) == 4


def test_packing_and_unpacking_a_case() -> None:
    doc = document()
    packed = one(doc, type="AggregationEvent", action="ADD")
    unpacked = one(doc, type="AggregationEvent", action="DELETE")
    assert packed["parentID"] == unpacked["parentID"] == f"https://id.gs1.org/00/{SSCC}"
    assert packed["childQuantityList"] == [{"epcClass": lot_uri(PACK, "P1"), "quantity": 10}]
    assert (packed["bizStep"], packed["disposition"]) == ("packing", "container_closed")
    assert (unpacked["bizStep"], unpacked["disposition"]) == ("unpacking", "container_open")


def test_a_case_packed_with_nothing_known_inside_is_observed() -> None:
    only_case = [r for r in scenario() if r.seq == 6 and r.gtin == CONTAINER_GTIN]
    doc = epcis_document(only_case, created_at=NOW)
    assert validate_epcis(doc, strict=True) == []
    [event] = events(doc)
    assert event["type"] == "ObjectEvent"
    assert event["epcList"] == [container_uri(SSCC)]
    assert event["bizStep"] == "packing"


def test_a_sale_is_observed_and_tied_to_its_receipt() -> None:
    doc = document()
    sale = one(doc, type="ObjectEvent", bizStep="retail_selling", **{"jxc:store": "store-a"})
    link = one(doc, type="TransactionEvent", **{"jxc:store": "store-a"})
    assert sale["disposition"] == link["disposition"] == "retail_sold"
    assert link["action"] == "ADD"
    assert (
        sale["quantityList"]
        == link["quantityList"]
        == [{"epcClass": lot_uri(PACK, "P1"), "quantity": 2}]
    )
    assert (
        sale["bizTransactionList"]
        == link["bizTransactionList"]
        == [
            {"type": "jxc:sale", "bizTransaction": "urn:jxc:store:store-a:sale:SALE-1"},
            {"type": "jxc:receipt", "bizTransaction": "urn:jxc:store:store-a:receipt:R-1"},
            {
                "type": "jxc:e_receipt",
                "bizTransaction": "urn:jxc:e-receipt:https%3A%2F%2Freceipts.example%2Fr%2F1",
            },
        ]
    )
    assert sale["eventID"] == f"urn:uuid:{_id('store-a', 10)}"
    assert link["eventID"] != sale["eventID"]
    assert sale["jxc:amountFen"] == 1980
    # the return names the sale it undoes
    returned = one(doc, **{"jxc:seq": 15, "jxc:store": "store-a"})
    assert returned["bizTransactionList"][0] == sale["bizTransactionList"][0]
    assert returned["disposition"] == "sellable_accessible"


def test_waste_hold_count_and_move() -> None:
    doc = document()
    waste = one(doc, bizStep="destroying")
    assert waste["disposition"] == "destroyed"
    assert waste["jxc:reason"] == "spoilage"
    hold = one(doc, bizStep="holding")
    assert hold["disposition"] == "non_sellable_other"
    assert hold["quantityList"] == [{"epcClass": lot_uri(PACK, "P1")}]  # the lot, no amount
    assert one(doc, bizStep="inspecting")["disposition"] == "conformant"
    assert one(doc, bizStep="cycle_counting")["quantityList"][0]["quantity"] == 7
    moved = one(doc, bizStep="stocking")
    assert moved["bizLocation"] == {"id": "urn:jxc:store:store-a:loc:sales_floor"}


def test_a_stay_reports_its_temperatures() -> None:
    event = one(document(), bizStep="sensor_reporting")
    assert event["type"] == "ObjectEvent"
    assert event["quantityList"] == [{"epcClass": lot_uri(RAW, "L1")}]
    assert event["readPoint"] == {"id": "urn:jxc:store:store-a:loc:cold_room"}
    assert event["eventTime"] == "2026-11-20T08:00:00.000+00:00"  # the end of the stay
    summary, *curve, excursion = event["sensorElementList"]
    assert summary == {
        "sensorMetadata": {
            "startTime": "2026-11-20T07:00:00.000+00:00",
            "endTime": "2026-11-20T08:00:00.000+00:00",
        },
        "sensorReport": [
            {
                "type": "Temperature",
                "minValue": 2.0,
                "maxValue": 4.5,
                "uom": "CEL",
                "jxc:meanKineticTemperature": 3.3,
                "jxc:readings": 12,
            }
        ],
    }
    assert [c["sensorReport"][0]["meanValue"] for c in curve] == [2.5, 3.1, 4.2]
    assert curve[-1]["sensorMetadata"]["endTime"] == "2026-11-20T08:00:00.000+00:00"
    assert excursion["sensorReport"][0]["exception"] == "ALARM_CONDITION"
    assert excursion["sensorReport"][0]["maxValue"] == 4.5
    assert excursion["sensorReport"][0]["jxc:limit"] == 4.0
    assert excursion["sensorMetadata"]["deviceID"] == "urn:jxc:store:store-a:device:probe-1"


def test_a_stay_without_temperatures_makes_no_event() -> None:
    bare = LotStay(store_id="s", location="x", gtin=RAW, lot="L1", since=_h(0), until=None)
    assert events(epcis_document([], [bare], created_at=NOW)) == []


def test_event_times_in_the_stores_time_zone() -> None:
    doc = document(zone=ZoneInfo("Asia/Shanghai"))
    assert validate_epcis(doc, strict=True) == []
    event = one(doc, **{"jxc:store": "store-a", "jxc:seq": 2})
    assert event["eventTime"] == "2026-11-20T15:00:00.000+08:00"
    assert event["eventTimeZoneOffset"] == "+08:00"
    assert doc["creationDate"] == "2026-11-25T14:00:00.000+08:00"


def test_identifiers() -> None:
    assert lot_uri("6900000000014", "L 1/ä") == "urn:jxc:item:6900000000014:lot:L%201%2F%C3%A4"
    assert lot_uri(RAW, "AB/12") == f"https://id.gs1.org/01/{RAW}/10/AB%2F12"
    assert lot_uri("96385074", "") == "https://id.gs1.org/01/00000096385074"
    assert lot_uri(RAW, "X" * 21).startswith("urn:jxc:item:")  # AI 10 holds 20 characters
    assert lot_uri("06900000000019", "L1").startswith("urn:jxc:item:")  # bad check digit
    # an in-store weighed-goods number means nothing outside the store
    assert lot_uri("2001234000000", "L1").startswith("urn:jxc:item:")
    assert container_uri("not-an-sscc") == "urn:jxc:container:not-an-sscc"


# --- any records -------------------------------------------------------------------------------

ROLES: tuple[RecordRole, ...] = get_args(RecordRole)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-9, minutes=-30))]
)
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones
)
texts = st.text(max_size=24)
gtins = st.one_of(
    st.sampled_from([RAW, PACK, "96385074", CONTAINER_GTIN, "2001234000000", SSCC]), texts
)
records = st.builds(
    TraceRecord,
    store_id=st.sampled_from(["store-a", "store-b", "商店 3"]),
    seq=st.integers(1, 6),
    event_id=st.one_of(st.uuids().map(str), texts),
    event_type=texts,
    role=st.sampled_from(ROLES),
    occurred_at=moments,
    gtin=gtins,
    lot=texts,
    operator_id=texts,
    device_id=texts,
    quantity=st.integers(-(10**6), 10**9),
    location=texts,
    to_location=texts,
    document_id=texts,
    receipt_id=texts,
    e_receipt_ref=texts,
    counterpart=texts,
    reason=texts,
    kind=st.sampled_from(["", "split", "cook", "recall", "restocked", "pos"]),
    expiry=st.none() | st.dates(),
    temperature_centi_c=st.none() | st.integers(-5000, 5000),
    rejected_quantity=st.integers(0, 1000),
    documents=st.lists(texts, max_size=2).map(tuple),
    amount_fen=st.integers(-(10**6), 10**6),
)
points = st.builds(TemperaturePoint, moments, st.integers(-5000, 5000))
excursions = st.builds(
    LocationExcursion,
    started_at=moments,
    ended_at=st.none() | moments,
    direction=st.sampled_from(["above", "below"]),
    limit_centi_c=st.integers(-3000, 3000),
    worst_centi_c=st.integers(-5000, 5000),
    device_id=texts,
)
stays = st.builds(
    LotStay,
    store_id=texts,
    location=texts,
    gtin=gtins,
    lot=texts,
    since=moments,
    until=st.none() | moments,
    temperatures=st.builds(
        StaySummary,
        readings=st.integers(0, 10**6),
        min_centi_c=st.none() | st.integers(-5000, 5000),
        max_centi_c=st.none() | st.integers(-5000, 5000),
        mkt_centi_c=st.none() | st.integers(-5000, 5000),
        curve=st.lists(points, max_size=4).map(tuple),
        excursions=st.lists(excursions, max_size=2).map(tuple),
    ),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(records, max_size=12),
    st.lists(stays, max_size=3),
    moments,
    st.none() | st.sampled_from([ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")]),
    st.frozensets(gtins, max_size=2),
)
def test_any_records_make_a_valid_document(
    given_records: list[TraceRecord],
    given_stays: list[LotStay],
    created_at: datetime,
    zone: ZoneInfo | None,
    weighed: frozenset[str],
) -> None:
    doc = epcis_document(
        given_records, given_stays, created_at=created_at, weighed_gtins=weighed, zone=zone
    )
    assert validate_epcis(doc, strict=True) == []
    ids = [e["eventID"] for e in events(doc)]
    assert len(ids) == len(set(ids))
    assert json.loads(json.dumps(doc)) == doc
