"""What one store event says about lots: the records of a trace, derived by one pure function.

A trace report lists `TraceRecord`s; each names the event it comes from (store, seq). Anyone
holding the event's bytes re-derives the same records with `records_of`, which is how
`jxc trace verify` checks a report offline: a record that its event does not yield is forged.

Lots are named (gtin, lot) in every store. A container (case, pallet) is the node
(CONTAINER_GTIN, its SSCC).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Literal

import msgspec

from protocol.event_base import Event
from protocol.ledger_events import (
    GoodsReceived,
    LotHoldPlaced,
    LotHoldReleased,
    LotRegistered,
    SaleReturned,
    StockCounted,
    StockTransferred,
    WasteRecorded,
)
from protocol.scan_events import SaleRecorded
from protocol.trace_events import (
    LotsAggregated,
    LotTransformed,
    ShipmentReceived,
    StockDispatched,
)

CONTAINER_GTIN = "sscc"

RecordRole = Literal[
    "registered",  # lot master data (expiry, supplier, documents)
    "received",  # from a supplier, inspected
    "shipment_received",  # from another store, inspected
    "shipped",  # to another store
    "moved",  # between locations of one store
    "transformed_in",  # consumed by a transformation
    "transformed_out",  # made by a transformation
    "packed",  # put into a container
    "unpacked",  # taken out of a container
    "sold",
    "returned",
    "wasted",
    "counted",
    "held",
    "released",
]
ROLES_INTO_STORE = ("received", "shipment_received", "transformed_out")


class TraceRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One fact about one lot, with who and what recorded it and where it came from."""

    store_id: str
    seq: int
    event_id: str
    event_type: str
    role: RecordRole
    occurred_at: datetime
    gtin: str
    lot: str
    operator_id: str
    device_id: str
    quantity: int = 0
    location: str = ""
    to_location: str = ""
    document_id: str = ""  # receipt, sale, shipment, transformation, waste, count id…
    receipt_id: str = ""  # the customer receipt of a sale
    e_receipt_ref: str = ""  # the customer's electronic receipt
    counterpart: str = ""  # supplier id, the other store, or the container
    reason: str = ""
    kind: str = ""  # transformation kind, hold kind, channel of a sale
    expiry: date | None = None
    temperature_centi_c: int | None = None
    rejected_quantity: int = 0
    documents: tuple[str, ...] = ()
    amount_fen: int = 0
    # Which of the event's records this is: two lines of one sale may name the same lot.
    line: int = 0
    # A sale line sold by weight: its quantity (and all of this item's) is grams.
    weighed: bool = False


class EventSource(msgspec.Struct, frozen=True, kw_only=True):
    """The envelope fields a record carries (the event's chain position and its authors)."""

    store_id: str
    seq: int
    event_id: uuid.UUID
    occurred_at: datetime
    device_id: str
    operator_id: str


def records_of(source: EventSource, event: Event) -> list[TraceRecord]:
    """Every lot record one event yields (none for events that concern no lot)."""
    base = {
        "store_id": source.store_id,
        "seq": source.seq,
        "event_id": str(source.event_id),
        "event_type": type(event).__name__,
        "occurred_at": source.occurred_at,
        "operator_id": source.operator_id,
        "device_id": source.device_id,
    }
    out: list[TraceRecord] = []

    def add(role: RecordRole, gtin: str, lot: str, **fields: object) -> None:
        out.append(
            TraceRecord(role=role, gtin=gtin, lot=lot, line=len(out), **base, **fields)  # type: ignore[arg-type]
        )

    match event:
        case GoodsReceived():
            add(
                "received",
                event.gtin,
                event.lot,
                quantity=event.accepted_quantity,
                rejected_quantity=event.rejected_quantity,
                reason=event.reject_reason,
                location=event.location,
                document_id=event.receipt_id,
                counterpart=event.supplier_id,
                expiry=event.expiry,
                temperature_centi_c=event.temperature_centi_c,
                documents=event.documents,
            )
        case ShipmentReceived():
            add(
                "shipment_received",
                event.gtin,
                event.lot,
                quantity=event.accepted_quantity,
                rejected_quantity=event.rejected_quantity,
                reason=event.reject_reason,
                location=event.location,
                document_id=event.shipment_id,
                counterpart=event.from_store_id,
                expiry=event.expiry,
                temperature_centi_c=event.temperature_centi_c,
            )
        case StockDispatched():
            add(
                "shipped",
                event.gtin,
                event.lot,
                quantity=event.quantity,
                location=event.from_location,
                document_id=event.shipment_id,
                counterpart=event.to_store_id,
                expiry=event.expiry,
            )
        case LotRegistered():
            add(
                "registered",
                event.gtin,
                event.lot,
                expiry=event.expiry,
                counterpart=event.supplier_id,
                documents=event.documents,
            )
        case StockTransferred():
            add(
                "moved",
                event.gtin,
                event.lot,
                quantity=event.quantity,
                location=event.from_location,
                to_location=event.to_location,
                document_id=event.transfer_id,
            )
        case LotTransformed():
            for part in event.inputs:
                add(
                    "transformed_in",
                    part.gtin,
                    part.lot,
                    quantity=part.quantity,
                    location=part.location,
                    document_id=event.transformation_id,
                    kind=event.kind,
                )
            for part in event.outputs:
                add(
                    "transformed_out",
                    part.gtin,
                    part.lot,
                    quantity=part.quantity,
                    location=part.location,
                    document_id=event.transformation_id,
                    kind=event.kind,
                    expiry=part.expiry,
                )
        case LotsAggregated():
            role: RecordRole = "packed" if event.action == "pack" else "unpacked"
            for part in event.children:
                add(
                    role,
                    part.gtin,
                    part.lot,
                    quantity=part.quantity,
                    location=event.location or part.location,
                    document_id=event.aggregation_id,
                    counterpart=event.container_id,
                )
            add(
                role,
                CONTAINER_GTIN,
                event.container_id,
                quantity=len(event.children),
                location=event.location,
                document_id=event.aggregation_id,
            )
        case SaleRecorded():
            for line in event.lines:
                if line.lot is None:
                    continue
                add(
                    "sold",
                    line.gtin,
                    line.lot,
                    quantity=line.net_g if line.net_g is not None else line.quantity,
                    location=event.location,
                    document_id=event.sale_id,
                    receipt_id=event.receipt_id,
                    e_receipt_ref=event.e_receipt_ref,
                    counterpart=event.terminal_id,
                    kind=event.channel,
                    amount_fen=line.amount_fen,
                    weighed=line.net_g is not None,
                )
        case SaleReturned():
            add(
                "returned",
                event.gtin,
                event.lot,
                quantity=event.quantity,
                location=event.location,
                document_id=event.return_id,
                receipt_id=event.sale_id,
                reason=event.reason,
                kind="restocked" if event.restocked else "not_restocked",
                amount_fen=event.amount_fen,
            )
        case WasteRecorded():
            add(
                "wasted",
                event.gtin,
                event.lot,
                quantity=event.quantity,
                location=event.location,
                document_id=event.waste_id,
                reason=event.reason,
            )
        case StockCounted():
            add(
                "counted",
                event.gtin,
                event.lot,
                quantity=event.counted,
                location=event.location,
                document_id=event.count_id,
                reason=f"difference {event.difference:+d}",
            )
        case LotHoldPlaced():
            add(
                "held",
                event.gtin,
                event.lot,
                location=event.location or "",
                document_id=event.hold_id,
                kind=event.kind,
                reason=event.reason,
            )
        case LotHoldReleased():
            add(
                "released",
                event.gtin,
                event.lot,
                document_id=event.hold_id,
                kind=event.kind,
                reason=event.reason,
            )
        case _:
            pass
    return out


def weighed_gtins_of(records: Iterable[TraceRecord]) -> frozenset[str]:
    """Items these records show sold by weight: their quantities are grams (the item master,
    which says so for every item, stays at the edge)."""
    return frozenset(r.gtin for r in records if r.weighed)


class LotLink(msgspec.Struct, frozen=True, kw_only=True):
    """`parent` went into `child`: a transformation's input → output, or a lot → the container
    (case, pallet) it was packed into."""

    parent_gtin: str
    parent_lot: str
    child_gtin: str
    child_lot: str
    kind: str  # split | sort | repack | cook | produce | aggregation
    store_id: str
    seq: int
    occurred_at: datetime


def links_of(source: EventSource, event: Event) -> list[LotLink]:
    """The genealogy links one event makes (every input × every output of a transformation;
    each lot packed into a container → the container)."""
    where = {"store_id": source.store_id, "seq": source.seq, "occurred_at": source.occurred_at}
    match event:
        case LotTransformed():
            return [
                LotLink(
                    parent_gtin=i.gtin,
                    parent_lot=i.lot,
                    child_gtin=o.gtin,
                    child_lot=o.lot,
                    kind=event.kind,
                    **where,  # type: ignore[arg-type]
                )
                for i in event.inputs
                for o in event.outputs
                if (i.gtin, i.lot) != (o.gtin, o.lot)
            ]
        case LotsAggregated(action="pack"):
            return [
                LotLink(
                    parent_gtin=c.gtin,
                    parent_lot=c.lot,
                    child_gtin=CONTAINER_GTIN,
                    child_lot=event.container_id,
                    kind="aggregation",
                    **where,  # type: ignore[arg-type]
                )
                for c in event.children
            ]
        case _:
            return []


# The event types `records_of` reads: the ClickHouse lot index covers exactly these.
LOT_EVENT_TYPES: tuple[str, ...] = (
    "GoodsReceived",
    "ShipmentReceived",
    "StockDispatched",
    "LotRegistered",
    "StockTransferred",
    "LotTransformed",
    "LotsAggregated",
    "SaleRecorded",
    "SaleReturned",
    "WasteRecorded",
    "StockCounted",
    "LotHoldPlaced",
    "LotHoldReleased",
)
