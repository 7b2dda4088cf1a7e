"""The traceability completeness report: per store, and within it per supplier, the gaps that
would leave a trace without its proof.

- Lots sold without receipt inspection: a (store, gtin, lot) sold in the period that the store
  never received from a supplier (GoodsReceived) or another store (ShipmentReceived), and that
  it did not make from lots it had inspected (LotTransformed: an output inherits its inputs'
  inspection, followed up to GENEALOGY_DEPTH transformations).
- Receipts uploaded late: goods receipts that reached the cloud more than `late_after_h` hours
  after they were signed at the store (ingested_at − occurred_at).
- Missing documents: lots received in the period whose papers (the receipts' and the lot
  registration's documents) lack one that the item's category requires (the store's latest
  CategoryRuleSet for the category of its latest ItemProfileSet for the item).
- Sensor gaps: readings that never arrived (ReadingSeqGap) and probes that went offline, for
  how long within the period (until ProbeCameBack, or still offline at `until`).

A store's `score` is the share of the lots it sold in the period that were inspected and carry
every required document (directly, or through the lots they were made from).

The work is done by ClickHouse: five GROUP BY queries, each returning counts and at most
`examples` examples per group (groupArraySorted), so no Python runs per event. Folding those
rows into the report is pure. Every fact is read as of `until`: a receipt, rule or profile
recorded later does not change the report of an earlier period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import msgspec

from cloud.clickhouse import ClickHouseGateway

# Split → sort → repack → cook is three; deeper genealogies count as not inspected.
GENEALOGY_DEPTH = 4

# --- the report --------------------------------------------------------------------------------


class UninspectedSale(msgspec.Struct, frozen=True, kw_only=True):
    """A lot sold in the period that the store cannot show it inspected."""

    gtin: str
    lot: str
    first_sold_at: datetime
    sales: int  # sale events in the period that sold some of it
    # never_received: no receipt of it at this store; made_from_uninspected: the store made
    # it (LotTransformed) from lots it never received, or more than GENEALOGY_DEPTH steps ago
    reason: Literal["never_received", "made_from_uninspected"]


class LateReceipt(msgspec.Struct, frozen=True, kw_only=True):
    receipt_id: str
    signed_at: datetime  # when the store recorded the receipt
    uploaded_at: datetime  # when the cloud had it
    delay_h: float
    lines: int  # lots on the receipt


class MissingDocuments(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    lot: str
    receipt_id: str  # the lot's latest goods receipt
    received_at: datetime
    category: str
    missing: tuple[str, ...]


class SupplierGaps(msgspec.Struct, frozen=True, kw_only=True):
    """One supplier's lots at one store. `supplier_id` "" gathers lots no receipt or lot
    registration names a supplier for (store-made lots, lots from other stores, unknown)."""

    supplier_id: str
    sold_lots: int = 0
    complete_lots: int = 0  # sold, inspected, every required document
    uninspected_lots: int = 0
    uninspected: tuple[UninspectedSale, ...] = ()
    late_receipts: int = 0
    worst_delay_h: float = 0.0
    late: tuple[LateReceipt, ...] = ()
    received_lots: int = 0  # lots received in the period
    lots_missing_documents: int = 0
    missing_documents: tuple[MissingDocuments, ...] = ()


class OfflinePeriod(msgspec.Struct, frozen=True, kw_only=True):
    started_at: datetime
    ended_at: datetime | None  # None: still offline at the end of the period
    hours_in_period: float
    location_id: str
    reason: str


class DeviceGaps(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    location_id: str = ""
    seq_gaps: int = 0
    readings_missing: int = 0
    offline_periods: int = 0
    offline_h: float = 0.0  # within the period
    offline_since: datetime | None = None  # still offline at the end of the period
    offline: tuple[OfflinePeriod, ...] = ()  # longest first


class StoreCompleteness(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    score: float | None  # complete_lots / sold_lots; None when the store sold no lot
    sold_lots: int
    complete_lots: int
    uninspected_lots: int
    late_receipts: int
    worst_delay_h: float
    lots_missing_documents: int
    seq_gaps: int
    readings_missing: int
    offline_h: float
    suppliers: tuple[SupplierGaps, ...]
    devices: tuple[DeviceGaps, ...]


class CompletenessReport(msgspec.Struct, frozen=True, kw_only=True):
    since: datetime
    until: datetime
    late_after_h: float
    examples: int  # at most this many examples per store and supplier (or device) and gap
    score: float | None  # over every store's sold lots
    sold_lots: int
    complete_lots: int
    stores: tuple[StoreCompleteness, ...]


# --- the queries -------------------------------------------------------------------------------

_SINCE = "fromUnixTimestamp64Micro({since_us:Int64}, 'UTC')"
_UNTIL = "fromUnixTimestamp64Micro({until_us:Int64}, 'UTC')"
_IN_PERIOD = f"occurred_at >= {_SINCE} AND occurred_at < {_UNTIL}"
_J = "JSONExtractString"
_PARTS = "Array(Tuple(gtin String, lot String))"


def _lot_ctes(db: str) -> str:
    """The papers of the lots in `scope` (store_id, gtin, lot: a CTE defined before these).

    `checked` has one row per lot of the scope that a goods receipt, a shipment received or a
    lot registration names, with its supplier and `missing`: the required documents that no
    receipt or registration of it carries. Those events are found through the lot index's
    primary key, so only the scope's are read and parsed."""
    kinds = "('GoodsReceived', 'LotRegistered', 'ShipmentReceived')"
    return f"""
    papers AS (
        SELECT store_id, occurred_at, type = 'GoodsReceived' AS delivery,
            type = 'ShipmentReceived' AS shipment,
            {_J}(body_json, 'gtin') AS gtin, {_J}(body_json, 'lot') AS lot,
            {_J}(body_json, 'supplier_id') AS supplier_id,
            {_J}(body_json, 'receipt_id') AS receipt_id,
            JSONExtract(body_json, 'documents', 'Array(String)') AS documents
        FROM {db}.events
        WHERE type IN {kinds} AND occurred_at < {_UNTIL}
            AND (store_id, seq) IN (
                SELECT store_id, seq FROM {db}.trace_lot_index
                WHERE (gtin, lot, store_id) IN (SELECT gtin, lot, store_id FROM scope)
                    AND type IN {kinds} AND occurred_at < {_UNTIL})),
    categories AS (
        SELECT store_id, {_J}(body_json, 'gtin') AS gtin,
            argMax({_J}(body_json, 'category'), seq) AS category
        FROM {db}.events WHERE type = 'ItemProfileSet' AND occurred_at < {_UNTIL}
        GROUP BY store_id, gtin),
    rules AS (
        SELECT store_id, {_J}(body_json, 'category') AS category,
            argMax(JSONExtract(body_json, 'required_documents', 'Array(String)'), seq) AS required
        FROM {db}.events WHERE type = 'CategoryRuleSet' AND occurred_at < {_UNTIL}
        GROUP BY store_id, category),
    received AS (
        SELECT store_id, gtin, lot,
            anyIf(supplier_id, delivery AND supplier_id != '') AS delivery_supplier,
            anyIf(supplier_id, NOT delivery AND supplier_id != '') AS registered_supplier,
            groupUniqArrayArray(documents) AS documents,
            max(delivery) AS delivered, max(shipment) AS shipped_in,
            countIf(delivery AND occurred_at >= {_SINCE}) AS receipts_in_period,
            maxIf(occurred_at, delivery) AS received_at,
            argMaxIf(receipt_id, occurred_at, delivery) AS receipt_id
        FROM papers GROUP BY store_id, gtin, lot),
    checked AS (
        SELECT r.store_id AS store_id, r.gtin AS gtin, r.lot AS lot,
            if(r.delivery_supplier != '', r.delivery_supplier, r.registered_supplier)
                AS supplier_id,
            r.delivered AS delivered, r.shipped_in AS shipped_in,
            r.receipts_in_period AS receipts_in_period, r.received_at AS received_at,
            r.receipt_id AS receipt_id, c.category AS category,
            arrayFilter(d -> NOT has(r.documents, d),
                if(c.category = '', CAST([], 'Array(String)'), q.required)) AS missing
        FROM received AS r
        LEFT JOIN categories AS c ON c.store_id = r.store_id AND c.gtin = r.gtin
        LEFT JOIN rules AS q ON q.store_id = r.store_id AND q.category = c.category)"""


def _holds(kind: str, key: str, depth: int) -> str:
    """Whether the lot `key` names ("store_id, gtin, lot" columns) is `kind` (inspected |
    complete), received here or made here within `depth` steps."""
    sets = [f"{kind}_0"] + ([f"{kind}_made_{depth}"] if depth else [])
    return " OR ".join(f"({key}) IN (SELECT store_id, gtin, lot FROM {name})" for name in sets)


def _genealogy_ctes(db: str, depth: int) -> str:
    """From the lots `sold`, up their genealogy (LotTransformed at the same store) at most
    `depth` steps, through the indexes only:

    - `moves_<k>`: the transformations (store_id, seq) that name a lot of `lots_<k-1>` (by the
      lot index's primary key); `lots_<k>`: every lot those name (by the events' primary key).
      Each level holds the one before, so `moves_<depth>` is every transformation in reach;
    - `links`: their output ← input pairs; `scope`: the sold lots and every parent, whose
      papers `checked` reads;
    - `<kind>_0` (kind: inspected, complete): the scope's lots received here (complete: with
      every required document; a lot from another store was checked there), and
      `<kind>_made_<k>`: the lots made here only from lots in `<kind>_0` or
      `<kind>_made_<k-1>`. Each level only adds, so `_made_<depth>` holds the lower ones.

    ClickHouse inlines a CTE wherever it is named, so the levels would read the events again
    and again: links and papers are read once, into two scalar arrays (a scalar subquery runs
    once per query), and every level reads those."""
    if depth < 1:
        raise ValueError("the genealogy depth is at least 1")
    moved = "type = 'LotTransformed' AND occurred_at < " + _UNTIL
    parts = ["lots_0 AS (SELECT store_id, gtin, lot FROM sold)"]
    for k in range(1, depth + 1):
        parts.append(
            f"""moves_{k} AS (
        SELECT store_id, seq FROM {db}.trace_lot_index WHERE {moved}
            AND (gtin, lot, store_id) IN (SELECT gtin, lot, store_id FROM lots_{k - 1}))"""
        )
        if k < depth:
            parts.append(
                f"""lots_{k} AS (
        SELECT store_id, part.1 AS gtin, part.2 AS lot FROM {db}.events
        ARRAY JOIN arrayConcat(JSONExtract(body_json, 'inputs', '{_PARTS}'),
            JSONExtract(body_json, 'outputs', '{_PARTS}')) AS part
        WHERE {moved} AND (store_id, seq) IN (SELECT store_id, seq FROM moves_{k}))"""
            )
    parts.append(
        f"""found_links AS (
        SELECT DISTINCT store_id, output.1 AS gtin, output.2 AS lot,
            input.1 AS parent_gtin, input.2 AS parent_lot
        FROM {db}.events
        ARRAY JOIN JSONExtract(body_json, 'outputs', '{_PARTS}') AS output
        ARRAY JOIN JSONExtract(body_json, 'inputs', '{_PARTS}') AS input
        WHERE {moved} AND (store_id, seq) IN (SELECT store_id, seq FROM moves_{depth})
            AND (gtin, lot) != (parent_gtin, parent_lot))"""
    )
    parts.append(
        """(SELECT groupArray((store_id, gtin, lot, parent_gtin, parent_lot)) FROM found_links)
        AS link_rows"""
    )
    parts.append(
        """links AS (
        SELECT row.1 AS store_id, row.2 AS gtin, row.3 AS lot, row.4 AS parent_gtin,
            row.5 AS parent_lot
        FROM (SELECT arrayJoin(link_rows) AS row))"""
    )
    parts.append(
        """scope AS (
        SELECT store_id, gtin, lot FROM sold
        UNION ALL SELECT store_id, parent_gtin AS gtin, parent_lot AS lot FROM links)"""
    )
    parts.append(_lot_ctes(db))
    parts.append(
        """(SELECT groupArray((store_id, gtin, lot, supplier_id, delivered OR shipped_in,
            shipped_in OR (delivered AND empty(missing)))) FROM checked) AS lot_rows"""
    )
    parts.append(
        """standing AS (
        SELECT row.1 AS store_id, row.2 AS gtin, row.3 AS lot, row.4 AS supplier_id,
            row.5 AS inspected, row.6 AS complete
        FROM (SELECT arrayJoin(lot_rows) AS row))"""
    )
    parts.append(
        """inspected_0 AS (SELECT store_id, gtin, lot FROM standing WHERE inspected),
    complete_0 AS (SELECT store_id, gtin, lot FROM standing WHERE complete)"""
    )
    parent = "store_id, parent_gtin, parent_lot"
    for kind in ("inspected", "complete"):
        for k in range(1, depth + 1):
            parts.append(
                f"""{kind}_made_{k} AS (
        SELECT store_id, gtin, lot FROM links GROUP BY store_id, gtin, lot
        HAVING min({_holds(kind, parent, k - 1)}) = 1)"""
            )
    return ",\n    ".join(parts)


def sold_lots_sql(db: str, examples: int, depth: int = GENEALOGY_DEPTH) -> str:
    """Per (store, supplier): lots sold, uninspected, complete, and the earliest-sold
    uninspected examples (first sold µs, gtin, lot, sales, made here)."""
    key = "store_id, gtin, lot"
    return f"""
    WITH
    sold AS (
        SELECT store_id, gtin, lot, uniqExact(seq) AS sales, min(occurred_at) AS first_sold_at
        FROM {db}.trace_lot_index WHERE type = 'SaleRecorded' AND {_IN_PERIOD}
        GROUP BY store_id, gtin, lot),
    {_genealogy_ctes(db, depth)},
    judged AS (
        SELECT store_id, gtin, lot, sales, first_sold_at,
            {_holds("inspected", key, depth)} AS inspected,
            {_holds("complete", key, depth)} AS complete,
            ({key}) IN (SELECT store_id, gtin, lot FROM links) AS made_here
        FROM sold)
    SELECT s.store_id, c.supplier_id, count(), countIf(NOT s.inspected), countIf(s.complete),
        groupArraySortedIf({max(1, examples)})(
            (toUnixTimestamp64Micro(s.first_sold_at), s.gtin, s.lot, s.sales, s.made_here),
            NOT s.inspected)
    FROM judged AS s
    LEFT JOIN standing AS c ON c.store_id = s.store_id AND c.gtin = s.gtin AND c.lot = s.lot
    GROUP BY s.store_id, c.supplier_id
    SETTINGS join_use_nulls = 0"""


def missing_documents_sql(db: str, examples: int) -> str:
    """Per (store, supplier): lots received in the period, those missing a document, and the
    earliest examples (received µs, gtin, lot, receipt id, category, missing)."""
    return f"""
    WITH
    scope AS (
        SELECT store_id, gtin, lot FROM {db}.trace_lot_index
        WHERE type = 'GoodsReceived' AND {_IN_PERIOD}),
    {_lot_ctes(db)}
    SELECT store_id, supplier_id, count(), countIf(notEmpty(missing)),
        groupArraySortedIf({max(1, examples)})(
            (toUnixTimestamp64Micro(received_at), gtin, lot, receipt_id, category, missing),
            notEmpty(missing))
    FROM checked WHERE receipts_in_period > 0
    GROUP BY store_id, supplier_id"""


def late_receipts_sql(db: str, examples: int) -> str:
    """Per (store, supplier): goods receipts signed in the period and uploaded late, the worst
    delay (µs) and the worst examples (−delay µs, receipt id, signed µs, uploaded µs, lines).

    A replayed insert leaves a second copy of an event until merges fold it: the first copy's
    ingested_at is when the receipt was uploaded."""
    return f"""
    SELECT store_id, supplier_id, count(), max(receipt_delay_us),
        groupArraySorted({max(1, examples)})(
            (-receipt_delay_us, receipt_id, signed_at_us, uploaded_at_us, lines))
    FROM (
        SELECT store_id, receipt_id, any(supplier_id) AS supplier_id,
            max(delay_us) AS receipt_delay_us, argMax(signed_us, delay_us) AS signed_at_us,
            argMax(uploaded_us, delay_us) AS uploaded_at_us, count() AS lines
        FROM (
            SELECT store_id, seq, any({_J}(body_json, 'receipt_id')) AS receipt_id,
                any({_J}(body_json, 'supplier_id')) AS supplier_id,
                toUnixTimestamp64Micro(any(occurred_at)) AS signed_us,
                toUnixTimestamp64Micro(toDateTime64(min(ingested_at), 6, 'UTC')) AS uploaded_us,
                uploaded_us - signed_us AS delay_us
            FROM {db}.events WHERE type = 'GoodsReceived' AND {_IN_PERIOD}
            GROUP BY store_id, seq)
        GROUP BY store_id, receipt_id
        HAVING receipt_delay_us > {{late_us:Int64}})
    GROUP BY store_id, supplier_id"""


def seq_gaps_sql(db: str) -> str:
    """Per (store, device): reading gaps recorded in the period and readings missing."""
    return f"""
    SELECT store_id, device_id, count(), sum(missing)
    FROM (
        SELECT store_id, seq, {_J}(body_json, 'device_id') AS device_id,
            toUInt64(greatest(JSONExtractInt(body_json, 'last_missing_seq')
                - JSONExtractInt(body_json, 'first_missing_seq') + 1, 0)) AS missing
        FROM {db}.events WHERE type = 'ReadingSeqGap' AND {_IN_PERIOD}
        LIMIT 1 BY store_id, seq)
    GROUP BY store_id, device_id"""


def offline_sql(db: str, examples: int) -> str:
    """Per (store, device): offline periods overlapping the period, offline µs within it,
    whether still offline at `until` (and since when), and the longest periods (−µs in period,
    started µs, ended µs or 0, location, reason).

    Each ProbeWentOffline pairs with the device's next ProbeCameBack (ASOF JOIN on seq);
    repeated offline events before one come-back are one period, from the first."""
    return f"""
    WITH
    offline AS (
        SELECT store_id, seq, occurred_at, {_J}(body_json, 'device_id') AS device_id,
            {_J}(body_json, 'location_id') AS location_id, {_J}(body_json, 'reason') AS reason
        FROM {db}.events WHERE type = 'ProbeWentOffline' AND occurred_at < {_UNTIL}
        LIMIT 1 BY store_id, seq),
    back AS (
        SELECT store_id, seq, occurred_at, {_J}(body_json, 'device_id') AS device_id
        FROM {db}.events WHERE type = 'ProbeCameBack' AND occurred_at < {_UNTIL}
        LIMIT 1 BY store_id, seq),
    periods AS (
        SELECT o.store_id AS store_id, o.device_id AS device_id, b.seq AS back_seq,
            min(o.occurred_at) AS started_at, any(b.occurred_at) AS ended_at,
            argMin(o.location_id, o.seq) AS location_id, argMin(o.reason, o.seq) AS reason
        FROM offline AS o
        ASOF LEFT JOIN back AS b
            ON b.store_id = o.store_id AND b.device_id = o.device_id AND o.seq < b.seq
        GROUP BY store_id, device_id, back_seq
        HAVING back_seq = 0 OR ended_at > {_SINCE}),
    timed AS (
        SELECT store_id, device_id, back_seq, location_id, reason,
            toUnixTimestamp64Micro(started_at) AS started_us,
            if(back_seq = 0, 0, toUnixTimestamp64Micro(ended_at)) AS ended_us,
            greatest(toInt64(0),
                toUnixTimestamp64Micro(if(back_seq = 0, {_UNTIL}, least(ended_at, {_UNTIL})))
                - toUnixTimestamp64Micro(greatest(started_at, {_SINCE}))) AS in_period_us
        FROM periods)
    SELECT store_id, device_id, argMin(location_id, started_us), count(), sum(in_period_us),
        minIf(started_us, back_seq = 0), countIf(back_seq = 0),
        groupArraySorted({max(1, examples)})(
            (-in_period_us, started_us, ended_us, location_id, reason))
    FROM timed
    GROUP BY store_id, device_id"""


async def completeness_report(
    gateway: ClickHouseGateway,
    db: str,
    *,
    since: datetime,
    until: datetime,
    late_after_h: float,
    examples: int = 20,
) -> CompletenessReport:
    """The report of `db`'s stores for occurred_at in [since, until) (aware datetimes)."""
    params: dict[str, Any] = {
        "since_us": _micros(since),
        "until_us": _micros(until),
        "late_us": round(late_after_h * 3_600_000_000),
    }
    return fold_report(
        since=since,
        until=until,
        late_after_h=late_after_h,
        examples=examples,
        sold=await gateway.rows(sold_lots_sql(db, examples), params),
        documents=await gateway.rows(missing_documents_sql(db, examples), params),
        late=await gateway.rows(late_receipts_sql(db, examples), params),
        seq_gaps=await gateway.rows(seq_gaps_sql(db), params),
        offline=await gateway.rows(offline_sql(db, examples), params),
    )


# --- folding (pure) ----------------------------------------------------------------------------

Row = Sequence[Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_US = 3_600_000_000


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _at(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(micros))


def _hours(micros: int) -> float:
    return round(int(micros) / _HOUR_US, 2)


def fold_report(
    *,
    since: datetime,
    until: datetime,
    late_after_h: float,
    examples: int,
    sold: Iterable[Row],
    documents: Iterable[Row],
    late: Iterable[Row],
    seq_gaps: Iterable[Row],
    offline: Iterable[Row],
) -> CompletenessReport:
    """Rows of the five queries → the report, stores by id, suppliers by id ("" last)."""
    suppliers: dict[tuple[str, str], dict[str, Any]] = {}
    devices: dict[tuple[str, str], dict[str, Any]] = {}

    def supplier(store_id: str, supplier_id: str) -> dict[str, Any]:
        return suppliers.setdefault((store_id, supplier_id), {"supplier_id": supplier_id})

    def device(store_id: str, device_id: str) -> dict[str, Any]:
        return devices.setdefault((store_id, device_id), {"device_id": device_id})

    for store_id, supplier_id, lots, uninspected, complete, found in sold:
        supplier(store_id, supplier_id).update(
            sold_lots=int(lots),
            uninspected_lots=int(uninspected),
            complete_lots=int(complete),
            uninspected=tuple(
                UninspectedSale(
                    gtin=gtin,
                    lot=lot,
                    first_sold_at=_at(first_us),
                    sales=int(sales),
                    reason="made_from_uninspected" if made_here else "never_received",
                )
                for first_us, gtin, lot, sales, made_here in found[:examples]
            ),
        )
    for store_id, supplier_id, lots, lacking, found in documents:
        supplier(store_id, supplier_id).update(
            received_lots=int(lots),
            lots_missing_documents=int(lacking),
            missing_documents=tuple(
                MissingDocuments(
                    gtin=gtin,
                    lot=lot,
                    receipt_id=receipt_id,
                    received_at=_at(received_us),
                    category=category,
                    missing=tuple(missing),
                )
                for received_us, gtin, lot, receipt_id, category, missing in found[:examples]
            ),
        )
    for store_id, supplier_id, receipts, worst_us, found in late:
        supplier(store_id, supplier_id).update(
            late_receipts=int(receipts),
            worst_delay_h=_hours(worst_us),
            late=tuple(
                LateReceipt(
                    receipt_id=receipt_id,
                    signed_at=_at(signed_us),
                    uploaded_at=_at(uploaded_us),
                    delay_h=_hours(-minus_delay_us),
                    lines=int(lines),
                )
                for minus_delay_us, receipt_id, signed_us, uploaded_us, lines in found[:examples]
            ),
        )
    for store_id, device_id, gaps, missing in seq_gaps:
        device(store_id, device_id).update(seq_gaps=int(gaps), readings_missing=int(missing))
    for (
        store_id,
        device_id,
        location_id,
        periods,
        in_period_us,
        open_since_us,
        still,
        found,
    ) in offline:
        device(store_id, device_id).update(
            location_id=location_id,
            offline_periods=int(periods),
            offline_h=_hours(in_period_us),
            offline_since=_at(open_since_us) if still else None,
            offline=tuple(
                OfflinePeriod(
                    started_at=_at(started_us),
                    ended_at=_at(ended_us) if ended_us else None,
                    hours_in_period=_hours(-minus_us),
                    location_id=location,
                    reason=reason,
                )
                for minus_us, started_us, ended_us, location, reason in found[:examples]
            ),
        )

    store_ids = sorted({s for s, _ in suppliers} | {s for s, _ in devices})
    stores = tuple(
        _store(
            store_id,
            [
                SupplierGaps(**fields)
                for (s, supplier_id), fields in sorted(
                    suppliers.items(), key=lambda item: (item[0][1] == "", item[0][1])
                )
                if s == store_id
            ],
            [DeviceGaps(**fields) for (s, _), fields in sorted(devices.items()) if s == store_id],
        )
        for store_id in store_ids
    )
    sold_lots = sum(s.sold_lots for s in stores)
    complete_lots = sum(s.complete_lots for s in stores)
    return CompletenessReport(
        since=since,
        until=until,
        late_after_h=late_after_h,
        examples=examples,
        score=complete_lots / sold_lots if sold_lots else None,
        sold_lots=sold_lots,
        complete_lots=complete_lots,
        stores=stores,
    )


def _store(
    store_id: str, suppliers: Sequence[SupplierGaps], devices: Sequence[DeviceGaps]
) -> StoreCompleteness:
    sold = sum(s.sold_lots for s in suppliers)
    complete = sum(s.complete_lots for s in suppliers)
    return StoreCompleteness(
        store_id=store_id,
        score=complete / sold if sold else None,
        sold_lots=sold,
        complete_lots=complete,
        uninspected_lots=sum(s.uninspected_lots for s in suppliers),
        late_receipts=sum(s.late_receipts for s in suppliers),
        worst_delay_h=max((s.worst_delay_h for s in suppliers), default=0.0),
        lots_missing_documents=sum(s.lots_missing_documents for s in suppliers),
        seq_gaps=sum(d.seq_gaps for d in devices),
        readings_missing=sum(d.readings_missing for d in devices),
        offline_h=round(sum(d.offline_h for d in devices), 2),
        suppliers=tuple(suppliers),
        devices=tuple(devices),
    )
