"""The FDA FSMA 204 electronic sortable spreadsheet of lot traces (21 CFR 1.1455(c)(3)(ii)).

One row per Critical Tracking Event with its Key Data Elements, the column headings taken from
the rule's wording: receiving (21 CFR 1.1345), shipping (1.1340) and transformation (1.1350).
A row may leave blank the columns its event has no use for (a receipt has no subsequent
recipient), as sortable spreadsheets do.

What a store's events make CTEs, and what they do not:
- received (from a supplier) and shipment_received (from another store): Receiving;
- shipped (to another store): Shipping;
- a transformation (split, sort, repack, cook, produce): Transformation, one row per lot it
  made, naming the lots it used. Repacking is a transformation in the rule's sense.
- A sale is not a CTE: the rule leaves sales to consumers out of shipping. Moves inside a
  store, packing into a case and waste are not CTEs either.
- Harvesting, cooling, initial packing and first land-based receiving happen on farms, packing
  houses and fishing docks; no store event records them, so no row is one of those.

Pure: records in, rows out. Descriptions (business name, address, phone of a store or
supplier; product names) are master data the records do not carry: the caller passes what it
has, and an id stands for anything not described.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Literal

from cloud.trace.records import CONTAINER_GTIN, TraceRecord

CriticalTrackingEvent = Literal["Receiving", "Shipping", "Transformation"]

CTE = "Critical Tracking Event"
TLC = "Traceability Lot Code"
TLC_SOURCE = "Location Description for the Traceability Lot Code Source"
PRODUCT = "Product Description"
QUANTITY = "Quantity"
UNIT = "Unit of Measure"
PREVIOUS_SOURCE = "Location Description for the Immediate Previous Source"
EVENT_LOCATION = "Location Description for Where the Event Took Place"
SUBSEQUENT_RECIPIENT = "Location Description for the Immediate Subsequent Recipient"
EVENT_DATE = "Date of the Event"
DOCUMENT_TYPE = "Reference Document Type"
DOCUMENT_NUMBER = "Reference Document Number"
INPUT_LOTS = "Traceability Lot Codes of Foods Used in Transformation"
# Not KDEs: what ties a row to the store event it comes from (the evidence of a trace report).
EVENT_TIME = "Event Time (UTC)"
SOURCE_EVENT = "Source Event (store:seq)"

FSMA204_COLUMNS: tuple[str, ...] = (
    CTE,
    TLC,
    TLC_SOURCE,
    PRODUCT,
    QUANTITY,
    UNIT,
    PREVIOUS_SOURCE,
    EVENT_LOCATION,
    SUBSEQUENT_RECIPIENT,
    EVENT_DATE,
    DOCUMENT_TYPE,
    DOCUMENT_NUMBER,
    INPUT_LOTS,
    EVENT_TIME,
    SOURCE_EVENT,
)

_DOCUMENT_TYPES = {
    "received": "Goods Receipt",
    "shipment_received": "Despatch Advice",
    "shipped": "Despatch Advice",
    "transformed": "Transformation Record",
}
# A spreadsheet program runs a cell that starts with these as a formula (CSV injection):
# a lot code or a supplier name is text from outside, so it is kept text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_CTE_ROLES = frozenset(
    {"received", "shipment_received", "shipped", "transformed_in", "transformed_out"}
)

Row = dict[str, str]


class _Describe:
    def __init__(
        self,
        places: Mapping[str, str],
        products: Mapping[str, str],
        weighed: Collection[str],
        zone: tzinfo,
    ) -> None:
        self.places = places
        self.products = products
        self.weighed = weighed
        self.zone = zone

    def place(self, party_id: str, location: str = "") -> str:
        """A store or supplier by its description (or id), and the place inside a store."""
        where = self.places.get(party_id, party_id)
        return f"{where} ({location})" if where and location else where

    def product(self, gtin: str) -> str:
        if gtin == CONTAINER_GTIN:
            return "Logistic unit (SSCC)"
        name = self.products.get(gtin, "")
        return f"{name} (GTIN {gtin})" if name else f"GTIN {gtin}"

    def amount(self, record: TraceRecord) -> tuple[str, str]:
        # Quantities are in the item's base unit: grams for items sold by weight.
        if record.gtin in self.weighed:
            return str(Decimal(record.quantity) / 1000), "kg"
        return str(record.quantity), "each"

    def local_date(self, moment: datetime) -> date:
        return _utc(moment).astimezone(self.zone).date()


def _utc(moment: datetime) -> datetime:
    # Records are UTC; a naive time is read as UTC, never as the machine's local time.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC)


def _lot_sources(records: Sequence[TraceRecord]) -> dict[tuple[str, str], tuple[str, str]]:
    """Who assigned each lot code: the store that made the lot by a transformation, else the
    supplier it was received from (or registered with). (party id, location)"""
    made: dict[tuple[str, str], tuple[str, str]] = {}
    supplied: dict[tuple[str, str], tuple[str, str]] = {}
    for r in sorted(records, key=lambda r: (_utc(r.occurred_at), r.store_id, r.seq)):
        key = (r.gtin, r.lot)
        if r.role == "transformed_out":
            made.setdefault(key, (r.store_id, r.location))
        elif r.role in ("received", "registered") and r.counterpart:
            supplied.setdefault(key, (r.counterpart, ""))
    return supplied | made


def fsma204_rows(
    records: Iterable[TraceRecord],
    *,
    from_date: date,
    to_date: date,
    places: Mapping[str, str] | None = None,
    products: Mapping[str, str] | None = None,
    weighed_gtins: Collection[str] = frozenset(),
    zone: tzinfo = UTC,
) -> list[Row]:
    """The CTE rows of events dated from `from_date` to `to_date` (both included, dates in
    `zone`), sorted by traceability lot code, then date and time.

    `places`: store or supplier id → location description (business name, address, phone).
    `products`: GTIN → product description. `weighed_gtins`: items whose quantities are grams.
    """
    everything = list(records)
    describe = _Describe(places or {}, products or {}, frozenset(weighed_gtins), zone)
    sources = _lot_sources(everything)
    # One store event (store, seq) is one CTE; its records are all of one kind, except a
    # transformation's inputs and outputs (a mixed group is bad input: split, not lost).
    events: dict[tuple[str, int, str], list[TraceRecord]] = defaultdict(list)
    for r in everything:
        if r.role in _CTE_ROLES:
            kind = "transformed" if r.role.startswith("transformed") else r.role
            events[(r.store_id, r.seq, kind)].append(r)
    rows: list[tuple[tuple[str, str, datetime, str, int], Row]] = []
    for group in events.values():
        first = group[0]
        day = describe.local_date(first.occurred_at)
        if not from_date <= day <= to_date:
            continue
        if first.role.startswith("transformed"):
            made = _transformation(group, describe, sources)
        else:
            made = [_movement(r, describe, sources) for r in group]
        for row in made:
            key = (row[TLC], row[EVENT_DATE], _utc(first.occurred_at), first.store_id, first.seq)
            rows.append((key, row))
    rows.sort(key=lambda pair: pair[0])
    return [row for _key, row in rows]


def _base(
    record: TraceRecord,
    describe: _Describe,
    sources: Mapping[tuple[str, str], tuple[str, str]],
    cte: CriticalTrackingEvent,
) -> Row:
    row = dict.fromkeys(FSMA204_COLUMNS, "")
    source = sources.get((record.gtin, record.lot))
    quantity, unit = describe.amount(record)
    row |= {
        CTE: cte,
        TLC: record.lot,
        TLC_SOURCE: describe.place(*source) if source else "",
        PRODUCT: describe.product(record.gtin),
        QUANTITY: quantity,
        UNIT: unit,
        EVENT_DATE: describe.local_date(record.occurred_at).isoformat(),
        DOCUMENT_NUMBER: record.document_id,
        EVENT_TIME: _utc(record.occurred_at).isoformat(),
        SOURCE_EVENT: f"{record.store_id}:{record.seq}",
    }
    return row


def _movement(
    record: TraceRecord,
    describe: _Describe,
    sources: Mapping[tuple[str, str], tuple[str, str]],
) -> Row:
    here = describe.place(record.store_id, record.location)
    if record.role == "shipped":
        row = _base(record, describe, sources, "Shipping")
        row[EVENT_LOCATION] = here
        row[SUBSEQUENT_RECIPIENT] = describe.place(record.counterpart)
    else:
        row = _base(record, describe, sources, "Receiving")
        row[EVENT_LOCATION] = here
        row[PREVIOUS_SOURCE] = describe.place(record.counterpart)
    row[DOCUMENT_TYPE] = _DOCUMENT_TYPES[record.role] if record.document_id else ""
    return row


def _transformation(
    group: Sequence[TraceRecord],
    describe: _Describe,
    sources: Mapping[tuple[str, str], tuple[str, str]],
) -> list[Row]:
    inputs = [r for r in group if r.role == "transformed_in"]
    outputs = [r for r in group if r.role == "transformed_out"]
    used = "; ".join(
        f"{r.lot} ({describe.product(r.gtin)}, {' '.join(describe.amount(r))})" for r in inputs
    )
    rows = []
    # A trace can hold the inputs of a transformation without what it made: the event still
    # shows, with the lots it used and no new lot.
    for made in outputs or inputs[:1]:
        row = _base(made, describe, sources, "Transformation")
        if not outputs:
            row |= {TLC: "", TLC_SOURCE: "", PRODUCT: "", QUANTITY: "", UNIT: ""}
        row[EVENT_LOCATION] = describe.place(made.store_id, made.location)
        row[DOCUMENT_TYPE] = _DOCUMENT_TYPES["transformed"] if made.document_id else ""
        row[INPUT_LOTS] = used
        rows.append(row)
    return rows


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def fsma204_csv(
    records: Iterable[TraceRecord],
    *,
    from_date: date,
    to_date: date,
    places: Mapping[str, str] | None = None,
    products: Mapping[str, str] | None = None,
    weighed_gtins: Collection[str] = frozenset(),
    zone: tzinfo = UTC,
) -> str:
    """The sortable spreadsheet as CSV (RFC 4180: comma, CRLF, quotes where needed)."""
    rows = fsma204_rows(
        records,
        from_date=from_date,
        to_date=to_date,
        places=places,
        products=products,
        weighed_gtins=weighed_gtins,
        zone=zone,
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FSMA204_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in FSMA204_COLUMNS])
    return out.getvalue()
