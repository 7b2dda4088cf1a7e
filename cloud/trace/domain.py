"""Lot traces: the pure part. Genealogy walks, stays at locations, stock still on hand.

Everything here works on values already read (records, edges, readings summaries); the
ClickHouse queries live in cloud/trace/store.py. No clock reads: `now` is passed in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

import msgspec

from cloud.trace.records import LotLink, TraceRecord

MAX_GENEALOGY_DEPTH = 32
MAX_GENEALOGY_LOTS = 5000


class LotRef(msgspec.Struct, frozen=True, order=True):
    gtin: str
    lot: str


LotEdge = LotLink  # a genealogy edge, as the events make them (cloud/trace/records.py)


def parent_of(edge: LotEdge) -> LotRef:
    return LotRef(edge.parent_gtin, edge.parent_lot)


def child_of(edge: LotEdge) -> LotRef:
    return LotRef(edge.child_gtin, edge.child_lot)


class TemperaturePoint(msgspec.Struct, frozen=True, array_like=True):
    at: datetime
    centi_c: int


class LocationExcursion(msgspec.Struct, frozen=True, kw_only=True):
    started_at: datetime
    ended_at: datetime | None
    direction: str
    limit_centi_c: int
    worst_centi_c: int
    device_id: str


class StaySummary(msgspec.Struct, frozen=True, kw_only=True):
    """The temperatures of one location over one period, as ClickHouse summarized them."""

    readings: int = 0
    min_centi_c: int | None = None
    max_centi_c: int | None = None
    mkt_centi_c: int | None = None  # mean kinetic temperature, ΔH/R = 10,000 K
    curve: tuple[TemperaturePoint, ...] = ()
    excursions: tuple[LocationExcursion, ...] = ()


class LotStay(msgspec.Struct, frozen=True, kw_only=True):
    """A lot at one location of one store from when it arrived until its stock there ran out
    (`until` None: still there)."""

    store_id: str
    location: str
    gtin: str
    lot: str
    since: datetime
    until: datetime | None
    temperatures: StaySummary = StaySummary()


class StockOnHand(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    location: str
    gtin: str
    lot: str
    quantity: int


class Genealogy(msgspec.Struct, frozen=True, kw_only=True):
    ancestors: tuple[LotEdge, ...]
    descendants: tuple[LotEdge, ...]
    truncated: bool = False

    def lots(self, root: LotRef) -> list[LotRef]:
        seen = {root}
        for edge in (*self.ancestors, *self.descendants):
            seen.add(parent_of(edge))
            seen.add(child_of(edge))
        return sorted(seen)


# --- stock movements per location -------------------------------------------------------

# Roles that bring stock to a location and roles that take it away ("moved" does both).
# Packing into a container moves no stock: the goods stay where they are, grouped.
_INTO = {"received", "shipment_received", "transformed_out"}
_OUT_OF = {"shipped", "transformed_in", "sold", "wasted"}


def _key(record: TraceRecord, location: str) -> tuple[str, str, str, str]:
    return (record.store_id, location, record.gtin, record.lot)


def stays_and_stock(
    records: Sequence[TraceRecord], *, default_location: str = "sales_floor"
) -> tuple[list[LotStay], list[StockOnHand]]:
    """Replay the lots' movements in time order: where each lot stayed, and what is left.

    A stay opens when stock arrives at a location where the lot had none, and closes when the
    balance there falls to zero. A count sets the balance. A sale or waste with no location
    is taken from the sales floor (as the edge ledger does).
    """
    balance: dict[tuple[str, str, str, str], int] = defaultdict(int)
    opened: dict[tuple[str, str, str, str], datetime] = {}
    stays: list[LotStay] = []

    def change(
        key: tuple[str, str, str, str], delta: int | None, at: datetime, count: int = 0
    ) -> None:
        before = balance[key]
        after = count if delta is None else before + delta
        balance[key] = after
        if before <= 0 < after and key not in opened:
            opened[key] = at
        elif after <= 0 < before and key in opened:
            stays.append(_stay(key, opened.pop(key), at))

    for record in sorted(records, key=lambda r: (r.occurred_at, r.store_id, r.seq)):
        location = record.location or default_location
        if record.role in _INTO and record.quantity > 0:
            change(_key(record, location), record.quantity, record.occurred_at)
        elif record.role in _OUT_OF and record.quantity > 0:
            change(_key(record, location), -record.quantity, record.occurred_at)
        elif record.role == "moved":
            change(_key(record, location), -record.quantity, record.occurred_at)
            change(
                _key(record, record.to_location or default_location),
                record.quantity,
                record.occurred_at,
            )
        elif record.role == "returned" and record.kind == "restocked":
            change(_key(record, location), record.quantity, record.occurred_at)
        elif record.role == "counted":
            change(_key(record, location), None, record.occurred_at, count=record.quantity)
    for key, since in opened.items():
        stays.append(_stay(key, since, None))
    stays.sort(key=lambda s: (s.since, s.store_id, s.location))
    stock = [
        StockOnHand(store_id=k[0], location=k[1], gtin=k[2], lot=k[3], quantity=q)
        for k, q in sorted(balance.items())
        if q != 0
    ]
    return stays, stock


def _stay(key: tuple[str, str, str, str], since: datetime, until: datetime | None) -> LotStay:
    store_id, location, gtin, lot = key
    return LotStay(
        store_id=store_id, location=location, gtin=gtin, lot=lot, since=since, until=until
    )


# --- the report -----------------------------------------------------------------------------


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    operator_id: str
    device_id: str
    records: int


class LotFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the records say of the traced lot itself."""

    suppliers: tuple[str, ...]
    expiry: date | None
    expiry_margin_days: int | None  # expiry minus the last sale (or now when unsold)
    first_received_at: datetime | None
    shelf_time_h: float | None  # first arrival in any store → last sale, or → now
    documents: tuple[str, ...]
    inspections: tuple[TraceRecord, ...]  # receipts with temperature and accepted/rejected


class LotTrace(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    lot: str
    generated_at: datetime
    facts: LotFacts
    genealogy: Genealogy
    stores: tuple[str, ...]
    records: tuple[TraceRecord, ...]  # of the lot and of every ancestor and descendant
    sales: tuple[TraceRecord, ...]  # receipts (and e-receipts) of the lot and its descendants
    stays: tuple[LotStay, ...]
    on_hand: tuple[StockOnHand, ...]
    actors: tuple[Actor, ...]
    # Events of these lots the cloud holds but could not use: bytes that do not hash to their
    # chained hash (altered) or do not decode. A report with any of them does not verify.
    integrity: tuple[str, ...] = ()
    unusable_events: tuple[tuple[str, int], ...] = ()


def lot_facts(root: LotRef, records: Sequence[TraceRecord], now: datetime) -> LotFacts:
    own = [r for r in records if r.gtin == root.gtin and r.lot == root.lot]
    suppliers = sorted(
        {r.counterpart for r in own if r.role in ("received", "registered") and r.counterpart}
    )
    expiries = [r.expiry for r in own if r.expiry is not None]
    expiry = max(expiries) if expiries else None
    arrivals = [
        r.occurred_at for r in own if r.role in ("received", "shipment_received", "transformed_out")
    ]
    sales = [r.occurred_at for r in own if r.role == "sold"]
    first = min(arrivals) if arrivals else None
    end = max(sales) if sales else now
    documents = sorted({d for r in own for d in r.documents})
    inspections = tuple(r for r in own if r.role in ("received", "shipment_received"))
    return LotFacts(
        suppliers=tuple(suppliers),
        expiry=expiry,
        expiry_margin_days=(expiry - end.date()).days if expiry else None,
        first_received_at=first,
        shelf_time_h=round((end - first).total_seconds() / 3600, 2) if first else None,
        documents=tuple(documents),
        inspections=inspections,
    )


def actors_of(records: Iterable[TraceRecord]) -> list[Actor]:
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in records:
        counts[(r.store_id, r.operator_id, r.device_id)] += 1
    return [
        Actor(store_id=s, operator_id=o, device_id=d, records=n)
        for (s, o, d), n in sorted(counts.items())
    ]


def dedupe_records(records: Iterable[TraceRecord]) -> list[TraceRecord]:
    """One copy of each record, in time order (a lot can be reached by several paths)."""
    seen: set[tuple[str, int, int]] = set()
    out: list[TraceRecord] = []
    for r in sorted(records, key=lambda r: (r.occurred_at, r.store_id, r.seq)):
        key = (r.store_id, r.seq, r.line)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
