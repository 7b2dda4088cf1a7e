"""Redemptions in ClickHouse: materialized views over `events` (filled on ingest, as each
batch is inserted), the flags table, and the queries of the auditor and the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cloud.clickhouse import ClickHouseGateway
from cloud.redeem.domain import CodeRedemption, DoubleRedemptionFlag, RedemptionEvidence
from protocol.redeem_events import RemoteRedemption


def schema_statements(db: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {db}.redeem_redemptions (
            code          String,
            store_id      LowCardinality(String),
            seq           UInt64,
            redemption_id String,
            terminal_id   String,
            kind          LowCardinality(String),
            stores        Array(String),
            absorber      LowCardinality(String),
            occurred_at   DateTime64(6, 'UTC'),
            ingested_at   DateTime64(3, 'UTC')
        ) ENGINE = ReplacingMergeTree
        ORDER BY (code, store_id, seq)""",
        f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.redeem_redemptions_mv
        TO {db}.redeem_redemptions AS
        SELECT JSONExtractString(body_json, 'code') AS code, store_id, seq,
               JSONExtractString(body_json, 'redemption_id') AS redemption_id,
               JSONExtractString(body_json, 'terminal_id') AS terminal_id,
               JSONExtractString(body_json, 'kind') AS kind,
               JSONExtract(body_json, 'stores', 'Array(String)') AS stores,
               JSONExtractString(body_json, 'absorber') AS absorber,
               occurred_at, now64(3) AS ingested_at
        FROM {db}.events WHERE type = 'CodeRedeemed'""",
        f"""CREATE TABLE IF NOT EXISTS {db}.redeem_reversals (
            redemption_id String,
            store_id      LowCardinality(String),
            seq           UInt64
        ) ENGINE = ReplacingMergeTree
        ORDER BY redemption_id""",
        f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.redeem_reversals_mv
        TO {db}.redeem_reversals AS
        SELECT JSONExtractString(body_json, 'redemption_id') AS redemption_id, store_id, seq
        FROM {db}.events WHERE type = 'RedemptionReversed'""",
        f"""CREATE TABLE IF NOT EXISTS {db}.redeem_flags (
            code                 String,
            kind                 LowCardinality(String),
            first_store          String,
            first_seq            UInt64,
            first_terminal       String,
            first_at             DateTime64(6, 'UTC'),
            first_redemption_id  String,
            second_store         String,
            second_seq           UInt64,
            second_terminal      String,
            second_at            DateTime64(6, 'UTC'),
            second_redemption_id String,
            rule                 LowCardinality(String),
            absorbed_by          String,
            flagged_at           DateTime64(3, 'UTC') DEFAULT now64(3)
        ) ENGINE = ReplacingMergeTree
        ORDER BY (code, second_redemption_id)""",
    ]


async def create_redeem_schema(gateway: ClickHouseGateway, db: str) -> None:
    """Tables and views; on a database that already has redemptions, back-fill once."""
    for statement in schema_statements(db):
        await gateway.command(statement)
    (held,) = (await gateway.rows(f"SELECT count() FROM {db}.redeem_redemptions"))[0]
    if int(held) == 0:
        await gateway.command(
            f"INSERT INTO {db}.redeem_redemptions SELECT JSONExtractString(body_json, 'code'),"
            " store_id, seq, JSONExtractString(body_json, 'redemption_id'),"
            " JSONExtractString(body_json, 'terminal_id'), JSONExtractString(body_json, 'kind'),"
            " JSONExtract(body_json, 'stores', 'Array(String)'),"
            " JSONExtractString(body_json, 'absorber'), occurred_at, now64(3)"
            f" FROM {db}.events WHERE type = 'CodeRedeemed'"
        )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def redemptions_of_codes_touched_since(
    gateway: ClickHouseGateway, db: str, since_ms: int
) -> tuple[list[CodeRedemption], int]:
    """Live redemptions of every code redeemed more than once among those ingested after
    `since_ms`; and the newest ingest time seen (ms)."""
    rows = await gateway.rows(
        f"""SELECT code, kind, absorber, store_id, seq, terminal_id, occurred_at, redemption_id,
                   toUnixTimestamp64Milli(ingested_at)
        FROM {db}.redeem_redemptions FINAL
        WHERE code IN (SELECT code FROM {db}.redeem_redemptions
                       WHERE ingested_at > fromUnixTimestamp64Milli({{since:Int64}}))
          AND redemption_id NOT IN (SELECT redemption_id FROM {db}.redeem_reversals)""",
        {"since": since_ms},
    )
    newest = since_ms
    found = []
    for code, kind, absorber, store, seq, terminal, at, rid, ingested_ms in rows:
        newest = max(newest, int(ingested_ms))
        found.append(
            CodeRedemption(
                code=str(code),
                kind=str(kind),
                absorber=str(absorber),
                evidence=RedemptionEvidence(
                    store_id=str(store),
                    seq=int(seq),
                    terminal_id=str(terminal),
                    redeemed_at=_utc(at),
                    redemption_id=str(rid),
                ),
            )
        )
    if not rows:
        (latest,) = (
            await gateway.rows(
                f"SELECT toUnixTimestamp64Milli(max(ingested_at)) FROM {db}.redeem_redemptions"
            )
        )[0]
        newest = max(newest, int(latest or 0))
    return found, newest


async def flagged_keys(
    gateway: ClickHouseGateway, db: str, codes: list[str]
) -> set[tuple[str, str]]:
    if not codes:
        return set()
    rows = await gateway.rows(
        f"SELECT code, second_redemption_id FROM {db}.redeem_flags"
        " WHERE code IN {codes:Array(String)}",
        {"codes": codes},
    )
    return {(str(code), str(rid)) for code, rid in rows}


FLAG_COLUMNS = (
    "code",
    "kind",
    "first_store",
    "first_seq",
    "first_terminal",
    "first_at",
    "first_redemption_id",
    "second_store",
    "second_seq",
    "second_terminal",
    "second_at",
    "second_redemption_id",
    "rule",
    "absorbed_by",
)


async def insert_flags(
    gateway: ClickHouseGateway, db: str, flags: list[DoubleRedemptionFlag]
) -> None:
    rows: list[list[Any]] = [
        [
            f.code,
            f.kind,
            f.first.store_id,
            f.first.seq,
            f.first.terminal_id,
            f.first.redeemed_at,
            f.first.redemption_id,
            f.second.store_id,
            f.second.seq,
            f.second.terminal_id,
            f.second.redeemed_at,
            f.second.redemption_id,
            f.rule,
            f.absorbed_by,
        ]
        for f in flags
    ]
    await gateway.insert(f"{db}.redeem_flags", rows, FLAG_COLUMNS)


async def list_flags(
    gateway: ClickHouseGateway, db: str, *, code: str | None, limit: int
) -> list[DoubleRedemptionFlag]:
    rows = await gateway.rows(
        f"SELECT {', '.join(FLAG_COLUMNS)} FROM {db}.redeem_flags FINAL"
        " WHERE {code:String} = '' OR code = {code:String}"
        " ORDER BY flagged_at DESC, code LIMIT {limit:UInt32}",
        {"code": code or "", "limit": limit},
    )
    return [
        DoubleRedemptionFlag(
            code=str(r[0]),
            kind=str(r[1]),
            first=RedemptionEvidence(
                store_id=str(r[2]),
                seq=int(r[3]),
                terminal_id=str(r[4]),
                redeemed_at=_utc(r[5]),
                redemption_id=str(r[6]),
            ),
            second=RedemptionEvidence(
                store_id=str(r[7]),
                seq=int(r[8]),
                terminal_id=str(r[9]),
                redeemed_at=_utc(r[10]),
                redemption_id=str(r[11]),
            ),
            rule=r[12],
            absorbed_by=str(r[13]),
        )
        for r in rows
    ]


async def remote_redemptions_for(
    gateway: ClickHouseGateway, db: str, *, store_id: str, since_ms: int, limit: int
) -> tuple[list[RemoteRedemption], int]:
    """Live redemptions by other stores of codes `store_id` also accepts, ingested after
    `since_ms`; and the cursor to ask from next."""
    rows = await gateway.rows(
        f"""SELECT code, store_id, seq, terminal_id, occurred_at, redemption_id,
                   toUnixTimestamp64Milli(ingested_at) AS ingested_ms
        FROM {db}.redeem_redemptions FINAL
        WHERE store_id != {{store:String}}
          AND ingested_at > fromUnixTimestamp64Milli({{since:Int64}})
          AND (has(stores, {{store:String}}) OR empty(stores))
          AND redemption_id NOT IN (SELECT redemption_id FROM {db}.redeem_reversals)
        ORDER BY ingested_at LIMIT {{limit:UInt32}}""",
        {"store": store_id, "since": since_ms, "limit": limit},
    )
    found = [
        RemoteRedemption(
            code=str(code),
            store_id=str(store),
            seq=int(seq),
            terminal_id=str(terminal),
            redeemed_at=_utc(at),
            redemption_id=str(rid),
        )
        for code, store, seq, terminal, at, rid, _ in rows
    ]
    next_since = max([since_ms, *(int(r[6]) for r in rows)])
    return found, next_since
