"""Lot traces as an EPCIS 2.0 JSON-LD document (GS1 EPCIS 2.0 / CBV 2.0), checked against the
published JSON schema that ships in cloud/trace/schemas/.

Pure: trace records and stays in, a JSON-ready dict out (no clock: `created_at` is passed).

What is named how:
- A lot is a class-level identifier in a quantity list: the GS1 Digital Link URI
  `https://id.gs1.org/01/{gtin14}/10/{lot}` when the GTIN is a valid, globally unique one and
  the lot fits AI 10 (1-20 CSET 82 characters); otherwise (in-store numbers, lots in other
  scripts) a private `urn:jxc:item:{gtin}:lot:{lot}`, so every lot still has one stable name.
- A container is instance-level: `https://id.gs1.org/00/{sscc}` (or `urn:jxc:container:{id}`).
- Quantities are in the item's base unit (ledger rule): grams for items sold by weight. The
  caller names those (`weighed_gtins`; the API passes the items its records show sold by
  weight, `weighed_gtins_of`); they are exported in kilograms with uom KGM, anything else as
  a count of pieces with uom omitted (EPCIS: no uom means a number of instances).
- Places: `urn:jxc:store:{store}` (the business location and the store as a party) and
  `urn:jxc:store:{store}:loc:{location}` (the read point); suppliers `urn:jxc:supplier:{id}`.
- eventID: `urn:uuid:{event_id}` of the store event it comes from; the second EPCIS event of
  one store event (a sale's TransactionEvent) and the sensor events of stays get UUIDv5 names.
- Every event carries `jxc:store` and `jxc:seq`: the store event (hash chain position) it is
  derived from, so it can be checked against the evidence of a trace report.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from importlib import resources
from typing import Any
from urllib.parse import quote

import jsonschema
import jsonschema.exceptions

from cloud.trace.domain import LotStay
from cloud.trace.records import CONTAINER_GTIN, TraceRecord
from protocol.gs1.ai import CHARSETS
from protocol.gs1.gtin import has_valid_check_digit, is_restricted_circulation, is_valid_gtin

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
JXC_NAMESPACE = "urn:jxc:epcis:"  # the `jxc:` prefix of our extension fields
SCHEMA_RESOURCE = "schemas/EPCIS-JSON-Schema.json"

# UUIDv5 namespace for EPCIS event ids that are not a store event's own id.
_EVENT_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:jxc:epcis:event")
_LOT_CHARACTERS = CHARSETS["X"]  # GS1 CSET 82, the character set of AI 10
_MAX_LOT_LENGTH = 20
_SALES_FLOOR = "sales_floor"

JsonObject = dict[str, Any]


# --- identifiers ---------------------------------------------------------------------------


def _q(text: str) -> str:
    """One URI segment: everything but unreserved characters percent-encoded (UTF-8)."""
    return quote(text, safe="")


def lot_uri(gtin: str, lot: str) -> str:
    """The class-level name of a lot (all of it, not one piece)."""
    if (
        is_valid_gtin(gtin)
        and not is_restricted_circulation(gtin.zfill(14))
        and len(lot) <= _MAX_LOT_LENGTH
        and all(c in _LOT_CHARACTERS for c in lot)
    ):
        base = f"https://id.gs1.org/01/{gtin.zfill(14)}"
        return f"{base}/10/{_q(lot)}" if lot else base
    base = f"urn:jxc:item:{_q(gtin)}"
    return f"{base}:lot:{_q(lot)}" if lot else base


def container_uri(container_id: str) -> str:
    """A case or pallet: an SSCC when it is one."""
    if len(container_id) == 18 and has_valid_check_digit(container_id):
        return f"https://id.gs1.org/00/{container_id}"
    return f"urn:jxc:container:{_q(container_id)}"


def store_uri(store_id: str) -> str:
    return f"urn:jxc:store:{_q(store_id)}"


def location_uri(store_id: str, location: str) -> str:
    if not location:
        return store_uri(store_id)
    return f"{store_uri(store_id)}:loc:{_q(location)}"


def supplier_uri(supplier_id: str) -> str:
    return f"urn:jxc:supplier:{_q(supplier_id)}"


def shipment_uri(shipment_id: str) -> str:
    # No store in it: the dispatching and the receiving store name the same despatch advice.
    return f"urn:jxc:shipment:{_q(shipment_id)}"


def _document_uri(store_id: str, kind: str, document_id: str) -> str:
    return f"{store_uri(store_id)}:{kind}:{_q(document_id)}"


def _device_uri(store_id: str, device_id: str) -> str:
    return f"{store_uri(store_id)}:device:{_q(device_id)}"


def _event_id(event_id: str, part: str = "") -> str:
    """The store event's own UUID for its first EPCIS event; a UUIDv5 below it otherwise."""
    try:
        source = uuid.UUID(event_id)
    except ValueError:
        source = uuid.uuid5(_EVENT_IDS, event_id)
        part = part or "event"
    return f"urn:uuid:{uuid.uuid5(source, part) if part else source}"


# --- times and quantities -------------------------------------------------------------------


def _aware(moment: datetime, zone: tzinfo | None) -> datetime:
    if moment.tzinfo is None:  # records are UTC; a naive time is read as UTC, never as local
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone) if zone is not None else moment
    offset = local.utcoffset() or timedelta(0)
    if offset.total_seconds() % 60:  # historical local mean time: not an RFC 3339 offset
        return moment.astimezone(UTC)
    return local


def _utc(moment: datetime) -> datetime:
    return _aware(moment, UTC)


def _time(moment: datetime, zone: tzinfo | None = None) -> str:
    return _aware(moment, zone).isoformat(timespec="milliseconds")


def _when(moment: datetime, zone: tzinfo | None) -> JsonObject:
    local = _aware(moment, zone)
    minutes = int((local.utcoffset() or timedelta(0)).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return {
        "eventTime": local.isoformat(timespec="milliseconds"),
        "eventTimeZoneOffset": f"{sign}{hours:02d}:{minutes:02d}",
    }


def _celsius(centi_c: int) -> float:
    return float(Decimal(centi_c) / 100)


def _quantity(gtin: str, lot: str, quantity: int | None, weighed: Collection[str]) -> JsonObject:
    element: JsonObject = {"epcClass": lot_uri(gtin, lot)}
    if quantity is None:
        return element  # quantity unknown (a hold names the lot, not an amount)
    if gtin in weighed:
        element["quantity"] = float(Decimal(quantity) / 1000)
        element["uom"] = "KGM"
    else:
        element["quantity"] = quantity
    return element


# --- events --------------------------------------------------------------------------------


class _Build:
    """Turns records and stays into EPCIS events (one call, no state kept across documents)."""

    def __init__(self, weighed: Collection[str], zone: tzinfo | None, now: datetime) -> None:
        self.weighed = weighed
        self.zone = zone
        self.now = now

    def base(self, kind: str, first: TraceRecord, part: str = "") -> JsonObject:
        return {
            "type": kind,
            "eventID": _event_id(first.event_id, part),
            **_when(first.occurred_at, self.zone),
        }

    def source(self, event: JsonObject, first: TraceRecord) -> JsonObject:
        event["jxc:store"] = first.store_id
        event["jxc:seq"] = first.seq
        event["jxc:sourceEvent"] = first.event_type
        return event

    def what(self, records: Sequence[TraceRecord], *, with_quantity: bool = True) -> JsonObject:
        """Lots go in a quantity list, containers (instances) in an EPC list."""
        lots = [
            _quantity(r.gtin, r.lot, r.quantity if with_quantity else None, self.weighed)
            for r in records
            if r.gtin != CONTAINER_GTIN
        ]
        containers = sorted({container_uri(r.lot) for r in records if r.gtin == CONTAINER_GTIN})
        out: JsonObject = {"epcList": containers}
        if lots:
            out["quantityList"] = lots
        return out

    def where(self, first: TraceRecord, location: str | None = None) -> JsonObject:
        return {"readPoint": {"id": location_uri(first.store_id, first.location)}} | (
            {}
            if location is None
            else {"bizLocation": {"id": location_uri(first.store_id, location)}}
        )

    def receipt_temperature(self, first: TraceRecord) -> JsonObject:
        if first.temperature_centi_c is None:
            return {}
        return {
            "sensorElementList": [
                {
                    "sensorMetadata": {"time": _time(first.occurred_at, self.zone)},
                    "sensorReport": [
                        {
                            "type": "Temperature",
                            "value": _celsius(first.temperature_centi_c),
                            "uom": "CEL",
                        }
                    ],
                }
            ]
        }

    def details(self, first: TraceRecord) -> JsonObject:
        out: JsonObject = {}
        if first.expiry is not None:
            out["jxc:expiry"] = first.expiry.isoformat()
        if first.rejected_quantity:
            out["jxc:rejectedQuantity"] = first.rejected_quantity
        if first.reason:
            out["jxc:reason"] = first.reason
        if first.documents:
            out["jxc:documents"] = list(first.documents)
        return out

    # one store event (its records share store_id and seq) → its EPCIS events
    def events_of(self, records: Sequence[TraceRecord]) -> list[JsonObject]:
        first = records[0]
        match first.role:
            case "received":
                return [self.received(records)]
            case "shipment_received":
                return [self.shipment_received(records)]
            case "shipped":
                return [self.shipped(records)]
            case "transformed_in" | "transformed_out":
                return [self.transformed(records)]
            case "packed" | "unpacked":
                return [self.aggregated(records)]
            case "sold":
                return self.sold(records)
            case "wasted":
                return [self.wasted(records)]
            case "moved":
                return [self.moved(records)]
            case "returned":
                return [self.returned(records)]
            case "counted":
                return [self.counted(records)]
            case "held" | "released":
                return [self.hold(records)]
            case _:  # "registered": master data (supplier, expiry), no event of its own
                return []

    def received(self, records: Sequence[TraceRecord]) -> JsonObject:
        first = records[0]
        return self.receiving(
            records,
            transaction=(
                "recadv",
                _document_uri(first.store_id, "goods-receipt", first.document_id),
            ),
            source={"type": "owning_party", "source": supplier_uri(first.counterpart)},
            destinations=[
                {"type": "owning_party", "destination": store_uri(first.store_id)},
                {"type": "location", "destination": store_uri(first.store_id)},
            ],
        )

    def shipment_received(self, records: Sequence[TraceRecord]) -> JsonObject:
        first = records[0]
        return self.receiving(
            records,
            transaction=("desadv", shipment_uri(first.document_id)),
            source={"type": "location", "source": store_uri(first.counterpart)},
            destinations=[{"type": "location", "destination": store_uri(first.store_id)}],
        )

    def receiving(
        self,
        records: Sequence[TraceRecord],
        *,
        transaction: tuple[str, str],
        source: JsonObject,
        destinations: list[JsonObject],
    ) -> JsonObject:
        """Goods received with inspection, from a supplier or another store: the transaction
        and source are stated when the record names a document and a counterpart."""
        first = records[0]
        event = self.base("ObjectEvent", first) | {"action": "OBSERVE"} | self.what(records)
        event |= {
            "bizStep": "receiving",
            # accepted into stock, or everything turned away at inspection
            "disposition": "in_progress" if first.quantity > 0 else "non_conformant",
        }
        event |= self.where(first, first.location)
        if first.document_id:
            kind, uri = transaction
            event["bizTransactionList"] = [{"type": kind, "bizTransaction": uri}]
        if first.counterpart:
            event["sourceList"] = [source]
        event["destinationList"] = destinations
        event |= self.receipt_temperature(first)
        return self.source(event | self.details(first), first)

    def shipped(self, records: Sequence[TraceRecord]) -> JsonObject:
        first = records[0]
        event = self.base("ObjectEvent", first) | {"action": "OBSERVE"} | self.what(records)
        # No bizLocation: goods in transit are at no business location (CBV).
        event |= {"bizStep": "shipping", "disposition": "in_transit"} | self.where(first)
        if first.document_id:
            event["bizTransactionList"] = [
                {"type": "desadv", "bizTransaction": shipment_uri(first.document_id)}
            ]
        event["sourceList"] = [{"type": "location", "source": store_uri(first.store_id)}]
        if first.counterpart:
            event["destinationList"] = [
                {"type": "location", "destination": store_uri(first.counterpart)}
            ]
        return self.source(event | self.details(first), first)

    def transformed(self, records: Sequence[TraceRecord]) -> JsonObject:
        first = records[0]
        inputs = [r for r in records if r.role == "transformed_in"]
        outputs = [r for r in records if r.role == "transformed_out"]
        event = self.base("TransformationEvent", first)
        if inputs:
            event["inputQuantityList"] = [
                _quantity(r.gtin, r.lot, r.quantity, self.weighed) for r in inputs
            ]
        if outputs:
            event["outputQuantityList"] = [
                _quantity(r.gtin, r.lot, r.quantity, self.weighed) for r in outputs
            ]
        # Always named: a trace may hold only one side of a transformation, and an event with
        # inputs or outputs alone must carry the id that joins it to the other side.
        event["transformationID"] = _document_uri(
            first.store_id, "transformation", first.document_id or str(first.seq)
        )
        # cook / produce make a new product; split / sort / repack put the same food into
        # new lots and packages.
        event["bizStep"] = "commissioning" if first.kind in ("cook", "produce") else "repackaging"
        event["disposition"] = "in_progress"
        place = (outputs or inputs)[0]
        event |= {
            "readPoint": {"id": location_uri(first.store_id, place.location)},
            "bizLocation": {"id": location_uri(first.store_id, place.location)},
        }
        expiries = {r.expiry for r in outputs}
        if len(expiries) == 1 and (expiry := expiries.pop()) is not None:
            event["ilmd"] = {"cbvmda:itemExpirationDate": expiry.isoformat()}
        elif any(r.expiry for r in outputs):  # outputs with different expiries
            event["jxc:outputExpiries"] = [
                {"epcClass": lot_uri(r.gtin, r.lot), "expiry": r.expiry.isoformat()}
                for r in outputs
                if r.expiry is not None
            ]
        if first.kind:
            event["jxc:transformationKind"] = first.kind
        return self.source(event, first)

    def aggregated(self, records: Sequence[TraceRecord]) -> JsonObject:
        first = records[0]
        packing = first.role == "packed"
        children = [r for r in records if r.gtin != CONTAINER_GTIN]
        container_id = next(
            (r.lot for r in records if r.gtin == CONTAINER_GTIN),
            first.counterpart,
        )
        place = self.where(first, first.location)
        step: JsonObject = {
            "bizStep": "packing" if packing else "unpacking",
            "disposition": "container_closed" if packing else "container_open",
        }
        if packing and not children:
            # The trace holds the container but none of what went in: say that it was
            # packed here (an AggregationEvent ADD must name its children).
            event = self.base("ObjectEvent", first) | {
                "action": "OBSERVE",
                "epcList": [container_uri(container_id)],
            }
            event |= step | place
            event["jxc:childCount"] = first.quantity
            return self.source(event, first)
        event = self.base("AggregationEvent", first) | {
            "parentID": container_uri(container_id),
            "action": "ADD" if packing else "DELETE",
        }
        if children:
            event["childQuantityList"] = [
                _quantity(r.gtin, r.lot, r.quantity, self.weighed) for r in children
            ]
        event |= step | place
        if first.document_id:
            event["jxc:aggregationID"] = first.document_id
        return self.source(event, first)

    def sale_documents(self, first: TraceRecord) -> list[JsonObject]:
        """The sale (what a return names) and the customer's receipt and e-receipt."""
        out: list[JsonObject] = []
        if first.document_id:
            out.append(
                {
                    "type": "jxc:sale",
                    "bizTransaction": _document_uri(first.store_id, "sale", first.document_id),
                }
            )
        if first.receipt_id:
            out.append(
                {
                    "type": "jxc:receipt",
                    "bizTransaction": _document_uri(first.store_id, "receipt", first.receipt_id),
                }
            )
        if first.e_receipt_ref:
            out.append(
                {
                    "type": "jxc:e_receipt",
                    "bizTransaction": f"urn:jxc:e-receipt:{_q(first.e_receipt_ref)}",
                }
            )
        if not out:  # a TransactionEvent needs one: the store event itself is the record
            out.append({"bizTransaction": _event_id(first.event_id)})
        return out

    def sold(self, records: Sequence[TraceRecord]) -> list[JsonObject]:
        first = records[0]
        step = {"bizStep": "retail_selling", "disposition": "retail_sold"}
        # The goods left the store: an observation of them...
        sale = self.base("ObjectEvent", first) | {"action": "OBSERVE"} | self.what(records)
        sale |= step | self.where(first) | {"bizTransactionList": self.sale_documents(first)}
        sale["jxc:amountFen"] = sum(r.amount_fen for r in records)
        if first.kind:
            sale["jxc:channel"] = first.kind
        # ...and the lots now belong to a customer receipt, which is what a recall looks up.
        link = self.base("TransactionEvent", first, "transaction") | {
            "bizTransactionList": self.sale_documents(first),
            "action": "ADD",
        }
        link |= self.what(records) | step | self.where(first)
        return [self.source(sale, first), self.source(link, first)]

    def wasted(self, records: Sequence[TraceRecord]) -> JsonObject:
        first = records[0]
        event = self.base("ObjectEvent", first) | {"action": "OBSERVE"} | self.what(records)
        if first.reason == "theft":
            event["disposition"] = "stolen"
        else:
            event |= {"bizStep": "destroying", "disposition": "destroyed"}
        event |= self.where(first)
        return self.source(event | self.details(first), first)

    def moved(self, records: Sequence[TraceRecord]) -> JsonObject:
        first = records[0]
        to_floor = first.to_location in ("", _SALES_FLOOR)
        event = self.base("ObjectEvent", first) | {"action": "OBSERVE"} | self.what(records)
        event |= {
            "bizStep": "stocking" if to_floor else "storing",
            "disposition": "sellable_accessible" if to_floor else "sellable_not_accessible",
        }
        event |= self.where(first, first.to_location or _SALES_FLOOR)
        return self.source(event, first)

    def returned(self, records: Sequence[TraceRecord]) -> JsonObject:
        first = records[0]
        restocked = first.kind == "restocked"
        event = self.base("ObjectEvent", first) | {"action": "OBSERVE"} | self.what(records)
        event |= {
            "bizStep": "receiving",
            "disposition": "sellable_accessible" if restocked else "returned",
        }
        event |= self.where(first, first.location if restocked else None)
        if first.receipt_id:  # a return's receipt_id is the sale it undoes
            event["bizTransactionList"] = [
                {
                    "type": "jxc:sale",
                    "bizTransaction": _document_uri(first.store_id, "sale", first.receipt_id),
                }
            ]
        return self.source(event | self.details(first), first)

    def counted(self, records: Sequence[TraceRecord]) -> JsonObject:
        first = records[0]
        event = self.base("ObjectEvent", first) | {"action": "OBSERVE"} | self.what(records)
        event |= {"bizStep": "cycle_counting"} | self.where(first, first.location)
        return self.source(event | self.details(first), first)

    def hold(self, records: Sequence[TraceRecord]) -> JsonObject:
        first = records[0]
        event = self.base("ObjectEvent", first) | {"action": "OBSERVE"}
        event |= self.what(records, with_quantity=False)
        if first.role == "held":
            event |= {
                "bizStep": "holding",
                "disposition": "recalled" if first.kind == "recall" else "non_sellable_other",
            }
        else:  # released: inspected and found fit for sale again
            event |= {"bizStep": "inspecting", "disposition": "conformant"}
        event |= self.where(first)
        if first.kind:
            event["jxc:holdKind"] = first.kind
        if first.document_id:
            event["jxc:holdID"] = first.document_id
        return self.source(event | self.details(first), first)

    # --- temperatures of a stay -------------------------------------------------------------

    def stay(self, stay: LotStay) -> JsonObject | None:
        summary = stay.temperatures
        if summary.min_centi_c is None and not summary.curve and not summary.excursions:
            return None
        end = max(_utc(stay.until or self.now), _utc(stay.since))
        name = f"{stay.store_id}|{stay.location}|{stay.gtin}|{stay.lot}|{stay.since.isoformat()}"
        event: JsonObject = {
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:{uuid.uuid5(_EVENT_IDS, 'stay:' + name)}",
            **_when(end, self.zone),
            "action": "OBSERVE",
        }
        if stay.gtin == CONTAINER_GTIN:
            event["epcList"] = [container_uri(stay.lot)]
        else:
            event["epcList"] = []
            event["quantityList"] = [_quantity(stay.gtin, stay.lot, None, self.weighed)]
        where = location_uri(stay.store_id, stay.location)
        event |= {
            "bizStep": "sensor_reporting",
            "readPoint": {"id": where},
            "bizLocation": {"id": where},
        }
        elements: list[JsonObject] = []
        if summary.min_centi_c is not None and summary.max_centi_c is not None:
            report: JsonObject = {
                "type": "Temperature",
                "minValue": _celsius(summary.min_centi_c),
                "maxValue": _celsius(summary.max_centi_c),
                "uom": "CEL",
            }
            if summary.mkt_centi_c is not None:
                # Mean kinetic temperature is not the arithmetic mean EPCIS' meanValue means.
                report["jxc:meanKineticTemperature"] = _celsius(summary.mkt_centi_c)
            report["jxc:readings"] = summary.readings
            elements.append(
                {
                    "sensorMetadata": {
                        "startTime": _time(stay.since, self.zone),
                        "endTime": _time(end, self.zone),
                    },
                    "sensorReport": [report],
                }
            )
        # Each curve point is the mean of the readings of one bucket, from its start to the next.
        points = sorted(summary.curve, key=lambda p: _utc(p.at))
        for i, point in enumerate(points):
            bucket_end = points[i + 1].at if i + 1 < len(points) else max(end, _utc(point.at))
            elements.append(
                {
                    "sensorMetadata": {
                        "startTime": _time(point.at, self.zone),
                        "endTime": _time(bucket_end, self.zone),
                    },
                    "sensorReport": [
                        {
                            "type": "Temperature",
                            "meanValue": _celsius(point.centi_c),
                            "uom": "CEL",
                        }
                    ],
                }
            )
        for excursion in summary.excursions:
            metadata: JsonObject = {"startTime": _time(excursion.started_at, self.zone)}
            if excursion.ended_at is not None:
                metadata["endTime"] = _time(excursion.ended_at, self.zone)
            if excursion.device_id:
                metadata["deviceID"] = _device_uri(stay.store_id, excursion.device_id)
            worst = "maxValue" if excursion.direction == "above" else "minValue"
            elements.append(
                {
                    "sensorMetadata": metadata,
                    "sensorReport": [
                        {
                            "type": "Temperature",
                            "exception": "ALARM_CONDITION",
                            worst: _celsius(excursion.worst_centi_c),
                            "uom": "CEL",
                            "jxc:limit": _celsius(excursion.limit_centi_c),
                            "jxc:direction": excursion.direction,
                        }
                    ],
                }
            )
        event["sensorElementList"] = elements
        event["jxc:store"] = stay.store_id
        event["jxc:since"] = _time(stay.since, self.zone)
        if stay.until is not None:
            event["jxc:until"] = _time(stay.until, self.zone)
        return event


def _by_store_event(records: Iterable[TraceRecord]) -> list[list[TraceRecord]]:
    """Records grouped by the store event they come from, in time order."""
    groups: dict[tuple[str, int], list[TraceRecord]] = defaultdict(list)
    for record in records:
        groups[(record.store_id, record.seq)].append(record)
    return sorted(groups.values(), key=lambda g: (_utc(g[0].occurred_at), g[0].store_id, g[0].seq))


def epcis_events(
    records: Iterable[TraceRecord],
    stays: Iterable[LotStay] = (),
    *,
    now: datetime,
    weighed_gtins: Collection[str] = frozenset(),
    zone: tzinfo | None = None,
) -> list[JsonObject]:
    """The EPCIS events of these records and stays, in event time order.

    `now` ends the sensor report of a stay still open. Records with the same (store, seq)
    come from one store event and make its events together (a transformation's inputs and
    outputs, a sale's lines, a container and what was packed into it).
    """
    build = _Build(frozenset(weighed_gtins), zone, now)
    events: list[JsonObject] = []
    for group in _by_store_event(records):
        # One store event yields records of one kind; a mixed group (bad input) is split.
        by_kind: dict[str, list[TraceRecord]] = defaultdict(list)
        for record in group:
            kind = "transformed" if record.role.startswith("transformed") else record.role
            by_kind[kind].append(record)
        for part in by_kind.values():
            events.extend(build.events_of(part))
    for stay in stays:
        if (event := build.stay(stay)) is not None:
            events.append(event)
    # Ids are derived, so repeated input (the same stay twice, a store event given as two
    # groups) would repeat them: EPCIS ids must be unique in a document.
    seen: set[str] = set()
    for event in events:
        while event["eventID"] in seen:
            event["eventID"] = f"urn:uuid:{uuid.uuid5(_EVENT_IDS, event['eventID'])}"
        seen.add(event["eventID"])
    events.sort(key=lambda e: datetime.fromisoformat(e["eventTime"]))
    return events


def epcis_document(
    records: Iterable[TraceRecord],
    stays: Iterable[LotStay] = (),
    *,
    created_at: datetime,
    sender: str | None = None,
    weighed_gtins: Collection[str] = frozenset(),
    zone: tzinfo | None = None,
) -> JsonObject:
    """An EPCISDocument (EPCIS 2.0 JSON-LD) of a lot trace or of the records of a time range.

    `weighed_gtins`: items whose quantities are grams (exported in kg). `zone`: the stores'
    time zone for eventTime and eventTimeZoneOffset (UTC when None).
    """
    document: JsonObject = {
        "@context": [EPCIS_CONTEXT, {"jxc": JXC_NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(created_at, zone),
    }
    if sender:
        document["sender"] = sender
    document["epcisBody"] = {
        "eventList": epcis_events(
            records, stays, now=created_at, weighed_gtins=weighed_gtins, zone=zone
        )
    }
    return document


# --- validation against the published schema ------------------------------------------------

# The schema's formats, checked here rather than by jsonschema's optional format packages, so
# the result does not depend on what else is installed.
# "uri": an RFC 3986 absolute URI (scheme ":" then URI characters or %XX escapes).
_URI = re.compile(
    r"^[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*$"
)
# The schema is applied to JSON-LD, where a blank node ("_:document1") names a node too and
# "type"/"id" are the context's aliases of @type/@id (GS1's own examples use both). Accepted
# unless strict; what we export is held to plain URIs.
_JSON_LD_NAME = re.compile(r"^(?:_:[A-Za-z0-9_.\-]+|type|id)$")
# "date-time": RFC 3339, a full date, a full time and an offset.
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)


def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


def _is_uri_or_json_ld_name(value: object) -> bool:
    return _is_uri(value) or bool(isinstance(value, str) and _JSON_LD_NAME.match(value))


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:  # a 13th month, a 25th hour
        return False
    return True


@functools.cache
def _validator(strict: bool) -> Any:
    text = resources.files("cloud.trace").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uri")(_is_uri if strict else _is_uri_or_json_ld_name)
    checker.checks("date-time")(_is_date_time)
    return jsonschema.Draft7Validator(json.loads(text), format_checker=checker)


def validate_epcis(document: object, *, strict: bool = False) -> list[str]:
    """Why `document` is not a valid EPCIS 2.0 document by GS1's JSON schema ([] when it is).

    `strict`: every "uri" must be a plain URI (no JSON-LD blank nodes or keyword aliases).
    """
    errors = []
    for error in _validator(strict).iter_errors(document):
        # Under anyOf/oneOf the top error says only "not valid under any": show the closest.
        detail = jsonschema.exceptions.best_match(error.context) if error.context else error
        where = "/".join(str(p) for p in detail.absolute_path) or "(document)"
        errors.append(f"{where}: {detail.message}")
    return sorted(set(errors))
