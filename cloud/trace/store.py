"""Traceability in ClickHouse: index tables filled by materialized views over `events`, and the
few indexed reads a trace needs.

The views run inside ClickHouse as each ingest batch is inserted (no Python per event):
- `trace_lot_index`: every (gtin, lot) an event mentions → that event's whole envelope. A trace
  derives its records and its genealogy links (transformations, packing) from the events'
  bytes, so a report says exactly what the evidence says, and each level of a genealogy walk,
  up and down at once, is one indexed read.
- `trace_receipts`: customer receipts, e-receipts, goods receipts and shipments → events.
- `trace_temperatures` (five minutes) and `trace_temperatures_hourly`: temperatures by
  (store, location, time bucket), pre-aggregated.
- `trace_excursion_marks`: cold-chain excursion starts and ends by (store, location).
- `trace_checkpoints` / `trace_checkpoint_keys`: the stores' signed chain checkpoints and keys.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cloud.clickhouse import ClickHouseGateway
from cloud.trace.records import CONTAINER_GTIN, LOT_EVENT_TYPES

_CASCADED = frozenset({"trace_temperatures_hourly_mv"})
_TOP_LEVEL_LOT_TYPES = tuple(
    t for t in LOT_EVENT_TYPES if t not in ("SaleRecorded", "LotTransformed", "LotsAggregated")
)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


# The index rows carry the whole envelope: a trace reads its events in one indexed read.
_ENVELOPE = " event_id, recorded_at, device_id, operator_id, prev_hash, hash, body"


def _view_selects(db: str) -> dict[str, tuple[str, str]]:
    """name → (target table, SELECT over events): each is a materialized view, and the same
    SELECT back-fills the table when the views are created on a database that has events."""
    j = "JSONExtractString"
    return {
        "trace_lot_index_top_mv": (
            "trace_lot_index",
            f"SELECT {j}(body_json, 'gtin') AS gtin, {j}(body_json, 'lot') AS lot, store_id, seq,"
            f" type, occurred_at,{_ENVELOPE} FROM {db}.events"
            f" WHERE type IN ({_quoted(_TOP_LEVEL_LOT_TYPES)}) AND lot != ''",
        ),
        "trace_lot_index_parts_mv": (
            "trace_lot_index",
            f"SELECT {j}(part, 'gtin') AS gtin, {j}(part, 'lot') AS lot, store_id, seq, type,"
            f" occurred_at,{_ENVELOPE} FROM {db}.events ARRAY JOIN arrayConcat("
            "JSONExtractArrayRaw(body_json, 'lines'), JSONExtractArrayRaw(body_json, 'inputs'),"
            " JSONExtractArrayRaw(body_json, 'outputs'), JSONExtractArrayRaw(body_json, 'children')"
            ") AS part"
            " WHERE type IN ('SaleRecorded', 'LotTransformed', 'LotsAggregated') AND lot != ''",
        ),
        "trace_lot_index_containers_mv": (
            "trace_lot_index",
            f"SELECT '{CONTAINER_GTIN}' AS gtin, {j}(body_json, 'container_id') AS lot, store_id,"
            f" seq, type, occurred_at,{_ENVELOPE} FROM {db}.events WHERE type = 'LotsAggregated'",
        ),
        # Genealogy links both ways (a transformation's every input → every output, a packed
        # lot → its container), so a whole genealogy is one recursive read.
        "trace_lot_links_transformed_mv": (
            "trace_lot_links",
            "SELECT t.1 AS gtin, t.2 AS lot, t.3 AS direction, t.4 AS to_gtin, t.5 AS to_lot"
            f" FROM (SELECT {j}(i, 'gtin') AS ig, {j}(i, 'lot') AS il, {j}(o, 'gtin') AS og,"
            f" {j}(o, 'lot') AS ol FROM {db}.events"
            " ARRAY JOIN JSONExtractArrayRaw(body_json, 'inputs') AS i"
            " ARRAY JOIN JSONExtractArrayRaw(body_json, 'outputs') AS o"
            " WHERE type = 'LotTransformed' AND (ig, il) != (og, ol))"
            " ARRAY JOIN [(ig, il, 'down', og, ol), (og, ol, 'up', ig, il)] AS t",
        ),
        "trace_lot_links_packed_mv": (
            "trace_lot_links",
            "SELECT t.1 AS gtin, t.2 AS lot, t.3 AS direction, t.4 AS to_gtin, t.5 AS to_lot"
            f" FROM (SELECT {j}(c, 'gtin') AS cg, {j}(c, 'lot') AS cl,"
            f" {j}(body_json, 'container_id') AS box FROM {db}.events"
            " ARRAY JOIN JSONExtractArrayRaw(body_json, 'children') AS c"
            f" WHERE type = 'LotsAggregated' AND {j}(body_json, 'action') = 'pack')"
            f" ARRAY JOIN [(cg, cl, 'down', '{CONTAINER_GTIN}', box),"
            f" ('{CONTAINER_GTIN}', box, 'up', cg, cl)] AS t",
        ),
        "trace_receipts_sales_mv": (
            "trace_receipts",
            f"SELECT arrayJoin(arrayFilter(x -> x != '', [{j}(body_json, 'receipt_id'),"
            f" {j}(body_json, 'e_receipt_ref'), {j}(body_json, 'sale_id')])) AS document_id,"
            f" store_id, seq, type FROM {db}.events WHERE type = 'SaleRecorded'",
        ),
        "trace_receipts_goods_mv": (
            "trace_receipts",
            f"SELECT if(type = 'GoodsReceived', {j}(body_json, 'receipt_id'),"
            f" {j}(body_json, 'shipment_id')) AS document_id, store_id, seq, type"
            f" FROM {db}.events"
            " WHERE type IN ('GoodsReceived', 'StockDispatched', 'ShipmentReceived')",
        ),
        "trace_temperatures_mv": (
            "trace_temperatures",
            # Five-minute buckets per location: count, min, max, sum, and the sum of MKT terms
            # exp(-ΔH/RT) (ΔH/R = 10,000 K), so any period's MKT is one small read away.
            "SELECT store_id, location_id, toStartOfFiveMinutes(at) AS bucket, count() AS n,"
            " min(centi_c) AS lo, max(centi_c) AS hi, sum(toInt64(centi_c)) AS total,"
            " sum(exp(-10000 / (centi_c / 100 + 273.15))) AS terms FROM ("
            f"SELECT store_id, {j}(body_json, 'location_id') AS location_id,"
            f" parseDateTime64BestEffort(if({j}(r, 'device_time') != '', {j}(r, 'device_time'),"
            f" {j}(r, 'received_at')), 3, 'UTC') AS at,"
            f" toInt32(JSONExtractInt(v, 'value')) AS centi_c FROM {db}.events"
            " ARRAY JOIN JSONExtractArrayRaw(body_json, 'readings') AS r"
            " ARRAY JOIN JSONExtractArrayRaw(r, 'values') AS v"
            " WHERE type = 'ReadingsRecorded' AND location_id != ''"
            f" AND {j}(v, 'quantity') = 'temperature')"
            " GROUP BY store_id, location_id, bucket",
        ),
        # Fed by the five-minute table's inserts (a view on a view's table).
        "trace_temperatures_hourly_mv": (
            "trace_temperatures_hourly",
            "SELECT store_id, location_id, toStartOfHour(bucket) AS bucket, sum(n) AS n,"
            " min(lo) AS lo, max(hi) AS hi, sum(total) AS total, sum(terms) AS terms"
            f" FROM {db}.trace_temperatures GROUP BY store_id, location_id, bucket",
        ),
        "trace_excursion_marks_mv": (
            "trace_excursion_marks",
            f"SELECT store_id, {j}(body_json, 'location_id') AS location_id,"
            f" {j}(body_json, 'device_id') AS device_id,"
            f" parseDateTime64BestEffort({j}(body_json, 'outside_since'), 3, 'UTC')"
            " AS outside_since,"
            " if(type = 'ColdChainExcursionStarted', 'started', 'ended') AS mark,"
            f" if(type = 'ColdChainExcursionEnded',"
            f" parseDateTime64BestEffort({j}(body_json, 'ended_at'), 3, 'UTC'),"
            " toDateTime64(occurred_at, 3, 'UTC')) AS at,"
            f" {j}(body_json, 'direction') AS direction,"
            " toInt32(JSONExtractInt(body_json, 'limit_centi_c')) AS limit_centi_c,"
            " toInt32(if(type = 'ColdChainExcursionEnded',"
            " JSONExtractInt(body_json, 'worst_centi_c'),"
            " JSONExtractInt(body_json, 'temp_centi_c'))) AS temp_centi_c"
            f" FROM {db}.events"
            " WHERE type IN ('ColdChainExcursionStarted', 'ColdChainExcursionEnded')",
        ),
        "trace_checkpoints_mv": (
            "trace_checkpoints",
            f"SELECT store_id, toUInt64(JSONExtractUInt(body_json, 'last_seq')) AS last_seq,"
            " toUInt64(JSONExtractUInt(body_json, 'first_seq')) AS first_seq,"
            f" {j}(body_json, 'key_id') AS key_id, {j}(body_json, 'head_hash') AS head_hash,"
            f" {j}(body_json, 'merkle_root') AS merkle_root,"
            f" {j}(body_json, 'signature') AS signature, seq, occurred_at"
            f" FROM {db}.events WHERE type = 'ChainCheckpointSigned'",
        ),
        "trace_checkpoint_keys_mv": (
            "trace_checkpoint_keys",
            f"SELECT store_id, {j}(body_json, 'key_id') AS key_id,"
            f" {j}(body_json, 'public_key') AS public_key, seq, occurred_at"
            f" FROM {db}.events WHERE type = 'CheckpointKeyAnnounced'",
        ),
    }


# The trace tables answer point reads (a lot, a receipt, a place's hours), never scans: one
# file per part (compact parts) instead of one per column roughly halves a read's fixed cost,
# and small granules in small compressed blocks mean a lot's few rows are read without
# decompressing the hundreds of kilobytes of envelopes around them (a read of 12 lots went
# from 21 to 11 ms; the table grows by a quarter).
_COMPACT_PARTS = "min_bytes_for_wide_part = 1099511627776, min_rows_for_wide_part = 1000000000000"
_SMALL_BLOCKS = "min_compress_block_size = 8192, max_compress_block_size = 32768"
_POINT_READS = (
    f"index_granularity = 1024, index_granularity_bytes = 32768, {_SMALL_BLOCKS}, {_COMPACT_PARTS}"
)


def _tables(db: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {db}.trace_lot_index (
            gtin String, lot String, store_id LowCardinality(String), seq UInt64,
            type LowCardinality(String), occurred_at DateTime64(6, 'UTC'),
            event_id UUID, recorded_at DateTime64(6, 'UTC'), device_id String,
            operator_id String, prev_hash String, hash String, body String
        ) ENGINE = ReplacingMergeTree ORDER BY (gtin, lot, store_id, seq)
        SETTINGS {_POINT_READS}""",
        f"""CREATE TABLE IF NOT EXISTS {db}.trace_lot_links (
            gtin String, lot String, direction LowCardinality(String), to_gtin String,
            to_lot String
        ) ENGINE = ReplacingMergeTree ORDER BY (gtin, lot, direction, to_gtin, to_lot)
        SETTINGS {_POINT_READS}""",
        f"""CREATE TABLE IF NOT EXISTS {db}.trace_receipts (
            document_id String, store_id LowCardinality(String), seq UInt64,
            type LowCardinality(String)
        ) ENGINE = ReplacingMergeTree ORDER BY (document_id, store_id, seq)
        SETTINGS {_POINT_READS}""",
        f"""CREATE TABLE IF NOT EXISTS {db}.trace_temperatures (
            store_id LowCardinality(String), location_id LowCardinality(String),
            bucket DateTime('UTC'), n SimpleAggregateFunction(sum, UInt64),
            lo SimpleAggregateFunction(min, Int32), hi SimpleAggregateFunction(max, Int32),
            total SimpleAggregateFunction(sum, Int64),
            terms SimpleAggregateFunction(sum, Float64)
        ) ENGINE = AggregatingMergeTree ORDER BY (store_id, location_id, bucket)
        SETTINGS {_POINT_READS}""",
        f"""CREATE TABLE IF NOT EXISTS {db}.trace_temperatures_hourly
        AS {db}.trace_temperatures ENGINE = AggregatingMergeTree
        ORDER BY (store_id, location_id, bucket) SETTINGS {_POINT_READS}""",
        f"""CREATE TABLE IF NOT EXISTS {db}.trace_excursion_marks (
            store_id LowCardinality(String), location_id LowCardinality(String),
            device_id String, outside_since DateTime64(3, 'UTC'),
            mark LowCardinality(String), at DateTime64(3, 'UTC'),
            direction LowCardinality(String), limit_centi_c Int32, temp_centi_c Int32
        ) ENGINE = ReplacingMergeTree
        ORDER BY (store_id, location_id, outside_since, device_id, mark)
        SETTINGS {_POINT_READS}""",
        f"""CREATE TABLE IF NOT EXISTS {db}.trace_checkpoints (
            store_id LowCardinality(String), last_seq UInt64, first_seq UInt64, key_id String,
            head_hash String, merkle_root String, signature String, seq UInt64,
            occurred_at DateTime64(6, 'UTC')
        ) ENGINE = ReplacingMergeTree ORDER BY (store_id, last_seq) SETTINGS {_POINT_READS}""",
        f"""CREATE TABLE IF NOT EXISTS {db}.trace_checkpoint_keys (
            store_id LowCardinality(String), key_id String, public_key String, seq UInt64,
            occurred_at DateTime64(6, 'UTC')
        ) ENGINE = ReplacingMergeTree ORDER BY (store_id, key_id) SETTINGS {_POINT_READS}""",
    ]


TRACE_TABLES = (
    "trace_lot_index",
    "trace_lot_links",
    "trace_receipts",
    "trace_temperatures",
    "trace_temperatures_hourly",
    "trace_excursion_marks",
    "trace_checkpoints",
    "trace_checkpoint_keys",
)


async def compact_trace_tables(gateway: ClickHouseGateway, db: str) -> None:
    """Merge each trace table's parts now (a point read costs per part). A server merges in
    the background anyway; after a bulk load, or on the embedded engine, this does it at once."""
    for table in TRACE_TABLES:
        await gateway.command(f"OPTIMIZE TABLE {db}.{table} FINAL")


async def create_trace_schema(gateway: ClickHouseGateway, db: str) -> None:
    """Tables and views (idempotent); a database that already had events is back-filled once."""
    existing = {
        str(name)
        for (name,) in await gateway.rows(
            "SELECT name FROM system.tables WHERE database = {db:String}", {"db": db}
        )
    }
    for statement in _tables(db):
        await gateway.command(statement)
    for table in TRACE_TABLES:  # tables made by an older version: from their next merge on
        # (a table's granule size is fixed when it is created)
        await gateway.command(
            f"ALTER TABLE {db}.{table} MODIFY SETTING {_COMPACT_PARTS}, {_SMALL_BLOCKS}"
        )
    selects = _view_selects(db)
    for name, (table, select) in selects.items():
        await gateway.command(
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{name} TO {db}.{table} AS {select}"
        )
    for name, (table, select) in selects.items():
        # A view new to this database back-fills its table from the events already there
        # (cascaded views fill from another view's inserts). Runs at start, before ingest.
        if name not in existing and name not in _CASCADED:
            await gateway.command(f"INSERT INTO {db}.{table} {select}")


# --- reads -----------------------------------------------------------------------------------

LotKey = tuple[str, str]
LONG_STAY = timedelta(hours=48)
_BUCKET_TABLES = {300: "trace_temperatures", 3600: "trace_temperatures_hourly"}


def bucket_width(since: datetime, until: datetime) -> int:
    """Seconds per temperature bucket a stay is read in: five minutes up to LONG_STAY, an
    hour beyond (so a trace reads at most a few thousand buckets)."""
    return 3600 if until - since > LONG_STAY else 300


# An envelope back from `events`, exactly: (store_id, seq, event_id, occurred_at µs,
# recorded_at µs, device_id, operator_id, prev_hash, hash, body hex).
_ENVELOPE_COLUMNS = (
    "store_id, seq, toString(event_id), toUnixTimestamp64Micro(occurred_at),"
    " toUnixTimestamp64Micro(recorded_at), device_id, operator_id, prev_hash, hash, hex(body)"
)


class TraceStore:
    def __init__(self, gateway: ClickHouseGateway, db: str) -> None:
        self._gateway = gateway
        self._db = db

    async def lot_events_ahead(
        self, up: Sequence[LotKey], down: Sequence[LotKey], hops: int
    ) -> list[tuple[Any, ...]]:
        """In one read, the events of these lots and of the lots up to `hops` links further
        (what `up` lots were made from, what was made from `down` lots): rows of (gtin, lot,
        then the envelope columns), one per lot an event names, so every lot read shows
        up (at least with the event linking it)."""
        links = f"{self._db}.trace_lot_links"
        # The (lot, direction) keys whose links make each hop: the starting lots, then the
        # lots the hop before reached, keeping its direction. One read of the links table
        # per hop, and one read of the index for every lot reached.
        keys = ["{steps:Array(Tuple(String, String, String))}"]
        for _ in range(1, hops):
            keys.append(
                f"(SELECT to_gtin, to_lot, direction FROM {links}"
                f" WHERE (gtin, lot, direction) IN {keys[-1]})"
            )
        reached = " OR ".join(f"(gtin, lot, direction) IN {k}" for k in keys)
        return await self._gateway.rows(
            f"SELECT gtin, lot, {_ENVELOPE_COLUMNS} FROM {self._db}.trace_lot_index"
            " WHERE (gtin, lot) IN {lots:Array(Tuple(String, String))}"
            + (
                f" OR (gtin, lot) IN (SELECT to_gtin, to_lot FROM {links} WHERE {reached})"
                if hops
                else ""
            ),
            {
                "lots": sorted({*up, *down}),
                "steps": sorted(
                    {*((g, lot, "up") for g, lot in up), *((g, lot, "down") for g, lot in down)}
                ),
            },
        )

    async def events_by_document(self, document_id: str) -> list[tuple[Any, ...]]:
        return await self._gateway.rows(
            f"SELECT DISTINCT store_id, seq, type FROM {self._db}.trace_receipts"
            " WHERE document_id = {d:String} ORDER BY store_id, seq",
            {"d": document_id},
        )

    async def events_at(self, refs: Sequence[tuple[str, int]]) -> list[tuple[Any, ...]]:
        """Events by (store_id, seq): the envelope columns."""
        if not refs:
            return []
        return await self._gateway.rows(
            f"SELECT {_ENVELOPE_COLUMNS} FROM {self._db}.events"
            " WHERE (store_id, seq) IN {refs:Array(Tuple(String, UInt64))}"
            " ORDER BY store_id, seq LIMIT 1 BY store_id, seq",
            {"refs": list(refs)},
        )

    async def store_lot_events(
        self, store_id: str | None, since: datetime, until: datetime, limit: int
    ) -> list[tuple[Any, ...]]:
        """The lot events of one store (or every store) that occurred in [since, until), in
        time order, at most `limit`: the envelope columns."""
        where = "occurred_at >= {a:DateTime64(6)} AND occurred_at < {b:DateTime64(6)}"
        params: dict[str, Any] = {"a": since, "b": until, "n": limit}
        if store_id is not None:
            where += " AND store_id = {s:String}"
            params["s"] = store_id
        return await self._gateway.rows(
            f"SELECT {_ENVELOPE_COLUMNS} FROM {self._db}.events"
            f" WHERE {where} AND type IN ({_quoted(LOT_EVENT_TYPES)})"
            " ORDER BY occurred_at, store_id, seq LIMIT 1 BY store_id, seq LIMIT {n:UInt32}",
            params,
        )

    async def stay_readings(
        self, windows: Sequence[tuple[str, str, datetime, datetime]]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The temperature buckets and the excursion marks of these (store, location, since,
        until) windows, in one read (each read has a fixed cost: one, not two).

        Buckets: (bucket width in seconds, store_id, location_id, bucket start as epoch
        seconds, count, min, max, sum, sum of MKT terms), each window in its `bucket_width`,
        each width one primary-key read over its windows' places and span. Marks: (store_id,
        location_id, device_id, outside_since, started|ended, at, direction, limit,
        temperature), in time order per place."""
        if not windows:
            return [], []
        # One row shape for both: (kind, store, location, text, t1, t2, n, lo, hi, total,
        # terms); kind is the bucket width, or 0 for an excursion mark.
        parts: list[str] = []
        params: dict[str, Any] = {
            "p": sorted({(w[0], w[1]) for w in windows}),
            "a": min(w[2] for w in windows),
            "b": max(w[3] for w in windows),
        }
        for width, table in _BUCKET_TABLES.items():
            chosen = [w for w in windows if bucket_width(w[2], w[3]) == width]
            if not chosen:
                continue
            params[f"p{width}"] = sorted({(w[0], w[1]) for w in chosen})
            params[f"a{width}"] = int(min(w[2] for w in chosen).timestamp()) // width * width
            params[f"b{width}"] = int(max(w[3] for w in chosen).timestamp())
            parts.append(
                f"SELECT toUInt16({width}), store_id, location_id, '', toInt64(bucket), 0,"
                f" n, lo, hi, total, terms FROM {self._db}.{table}"
                f" WHERE (store_id, location_id) IN {{p{width}:Array(Tuple(String, String))}}"
                f" AND bucket >= toDateTime({{a{width}:UInt32}}, 'UTC')"
                f" AND bucket <= toDateTime({{b{width}:UInt32}}, 'UTC')"
            )
        parts.append(
            "SELECT toUInt16(0), store_id, location_id,"
            " concat(device_id, '\\t', mark, '\\t', direction),"
            " toUnixTimestamp64Milli(outside_since), toUnixTimestamp64Milli(at), toUInt64(0),"
            f" limit_centi_c, temp_centi_c, toInt64(0), toFloat64(0)"
            f" FROM {self._db}.trace_excursion_marks"
            " WHERE (store_id, location_id) IN {p:Array(Tuple(String, String))}"
            " AND outside_since <= {b:DateTime64(6)} AND at >= {a:DateTime64(6)}"
        )
        buckets: list[tuple[Any, ...]] = []
        marks: list[tuple[Any, ...]] = []
        for (
            kind,
            store,
            location,
            text,
            t1,
            t2,
            n,
            lo,
            hi,
            total,
            terms,
        ) in await self._gateway.rows(" UNION ALL ".join(parts), params):
            if kind:
                buckets.append((kind, store, location, t1, n, lo, hi, total, terms))
            else:
                device, mark, direction = str(text).rsplit("\t", 2)
                marks.append(
                    (store, location, device, _from_ms(t1), mark, _from_ms(t2), direction, lo, hi)
                )
        marks.sort(key=lambda m: (m[0], m[1], m[3]))
        return buckets, marks

    async def checkpoints_covering(self, refs: Sequence[tuple[str, int]]) -> list[tuple[Any, ...]]:
        """For each store, the checkpoints whose range covers some of `refs`."""
        if not refs:
            return []
        return await self._gateway.rows(
            "SELECT c.store_id, c.first_seq, c.last_seq, c.key_id, c.head_hash, c.merkle_root,"
            f" c.signature, c.seq, k.public_key FROM {self._db}.trace_checkpoints AS c"
            f" LEFT JOIN {self._db}.trace_checkpoint_keys AS k"
            " ON k.store_id = c.store_id AND k.key_id = c.key_id"
            " WHERE (c.store_id, c.last_seq) IN (SELECT store_id, min(last_seq)"
            f" FROM {self._db}.trace_checkpoints"
            " ARRAY JOIN {refs:Array(Tuple(String, UInt64))} AS r"
            " WHERE store_id = r.1 AND first_seq <= r.2 AND last_seq >= r.2"
            " GROUP BY store_id, r.2)",
            {"refs": list(refs)},
        )

    async def chain_hashes(
        self, store_id: str, first_seq: int, last_seq: int
    ) -> list[tuple[int, str]]:
        return [
            (int(seq), str(h))
            for seq, h in await self._gateway.rows(
                f"SELECT seq, any(hash) FROM {self._db}.events"
                " WHERE store_id = {s:String} AND seq >= {a:UInt64} AND seq <= {b:UInt64}"
                " GROUP BY seq ORDER BY seq",
                {"s": store_id, "a": first_seq, "b": last_seq},
            )
        ]


def _from_ms(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(int(epoch_ms) / 1000, UTC)


def b64(text: str) -> bytes:
    return base64.b64decode(text)
