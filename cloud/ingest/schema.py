"""ClickHouse schema of the ingest, created on start (idempotent statements, applied in order).

`events` is the raw log of every store, one row per (store_id, seq). ReplacingMergeTree on that
key is a second line of defence: the ingest already never inserts a seq twice, and should a
crash between insert and ack replay a batch, merges fold the copy away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the column list is imported by ingest pool workers, which need no client
    from cloud.clickhouse import ClickHouseGateway

EVENT_COLUMNS = (
    "store_id",
    "seq",
    "event_id",
    "type",
    "occurred_at",
    "recorded_at",
    "device_id",
    "operator_id",
    "prev_hash",
    "hash",
    "body",
    "body_json",
)


def schema_statements(db: str) -> list[str]:
    return [
        f"CREATE DATABASE IF NOT EXISTS {db}",
        f"""CREATE TABLE IF NOT EXISTS {db}.events (
            store_id    LowCardinality(String),
            seq         UInt64,
            event_id    UUID,
            type        LowCardinality(String),
            occurred_at DateTime64(6, 'UTC'),
            recorded_at DateTime64(6, 'UTC'),
            device_id   String,
            operator_id String,
            prev_hash   String,  -- hex SHA-256
            hash        String,
            body        String,
            body_json   String,
            ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
        ) ENGINE = ReplacingMergeTree
        ORDER BY (store_id, seq)""",
        f"""CREATE TABLE IF NOT EXISTS {db}.dead_letters (
            received_at DateTime64(3, 'UTC') DEFAULT now64(3),
            subject     String,
            msg_id      String,
            reason      LowCardinality(String),
            detail      String,
            payload     String
        ) ENGINE = MergeTree
        ORDER BY received_at""",
        f"""CREATE TABLE IF NOT EXISTS {db}.chain_breaks (
            detected_at DateTime64(3, 'UTC') DEFAULT now64(3),
            store_id    LowCardinality(String),
            seq         UInt64,
            reason      LowCardinality(String)
        ) ENGINE = ReplacingMergeTree
        ORDER BY (store_id, seq, reason)""",
    ]


async def create_schema(gateway: ClickHouseGateway, db: str) -> None:
    for statement in schema_statements(db):
        await gateway.command(statement)
