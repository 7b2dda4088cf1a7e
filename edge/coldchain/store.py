"""SQL of the cold-chain slice: state statements (run by the single writer) and reads for the API.

Only this module touches the `coldchain_*` and `scale_weights` tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiosqlite
import msgspec

from edge.coldchain.domain import ExcursionWatch, ProbeLiveness, ScaleWeight, SeqState
from edge.eventlog.writer import FIRST_SEQ, Statement
from protocol.reading_events import (
    ColdChainExcursionEnded,
    ColdChainExcursionStarted,
    DeviceKind,
)


def epoch_us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def from_us(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1_000_000, UTC)


class DeviceRow(msgspec.Struct, frozen=True, kw_only=True):
    """A device's persisted state, as the service keeps it in memory."""

    device_id: str
    kind: DeviceKind
    location_id: str
    location_kind: str
    product_class: str
    seq: SeqState
    liveness: ProbeLiveness
    watch: ExcursionWatch


def upsert_device(row: DeviceRow) -> Statement:
    watch, live = row.watch, row.liveness
    return (
        "INSERT INTO coldchain_devices(device_id, kind, location_id, location_kind,"
        " product_class, epoch, high_seq, last_seen_at_us, offline_since_us, outside_since_us,"
        " outside_direction, worst_centi_c, in_excursion, updated_seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(device_id) DO UPDATE SET kind=excluded.kind,"
        " location_id=excluded.location_id, location_kind=excluded.location_kind,"
        " product_class=excluded.product_class, epoch=excluded.epoch,"
        " high_seq=excluded.high_seq, last_seen_at_us=excluded.last_seen_at_us,"
        " offline_since_us=excluded.offline_since_us,"
        " outside_since_us=excluded.outside_since_us,"
        " outside_direction=excluded.outside_direction, worst_centi_c=excluded.worst_centi_c,"
        " in_excursion=excluded.in_excursion, updated_seq=excluded.updated_seq",
        (
            row.device_id,
            row.kind,
            row.location_id,
            row.location_kind,
            row.product_class,
            row.seq.epoch,
            row.seq.high_seq,
            None if live.last_seen_at is None else epoch_us(live.last_seen_at),
            None if live.offline_since is None else epoch_us(live.offline_since),
            None if watch.outside_since is None else epoch_us(watch.outside_since),
            watch.direction,
            watch.worst_centi_c,
            int(watch.in_excursion),
            FIRST_SEQ,
        ),
    )


def upsert_latest(
    device_id: str, sensor: str, quantity: str, value: int, stable: bool, at: datetime
) -> Statement:
    return (
        "INSERT INTO coldchain_latest(device_id, sensor, quantity, value, stable, at_us)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(device_id, sensor, quantity) DO UPDATE SET"
        " value=excluded.value, stable=excluded.stable, at_us=excluded.at_us",
        (device_id, sensor, quantity, value, int(stable), epoch_us(at)),
    )


def insert_excursion(started: ColdChainExcursionStarted) -> Statement:
    return (
        "INSERT OR IGNORE INTO coldchain_excursions(device_id, outside_since_us, location_id,"
        " product_class, direction, limit_centi_c, started_temp_centi_c, started_seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            started.device_id,
            epoch_us(started.outside_since),
            started.location_id,
            started.product_class,
            started.direction,
            started.limit_centi_c,
            started.temp_centi_c,
            FIRST_SEQ,
        ),
    )


def end_excursion(ended: ColdChainExcursionEnded) -> Statement:
    return (
        "UPDATE coldchain_excursions SET ended_at_us = ?, worst_centi_c = ?, ended_seq = ?"
        " WHERE device_id = ? AND outside_since_us = ?",
        (
            epoch_us(ended.ended_at),
            ended.worst_centi_c,
            FIRST_SEQ,
            ended.device_id,
            epoch_us(ended.outside_since),
        ),
    )


def add_mkt(
    location_id: str, hour_start: datetime, readings: int, sum_terms: float, low: int, high: int
) -> Statement:
    return (
        "INSERT INTO coldchain_mkt_hours(location_id, hour_start_us, readings, sum_terms,"
        " min_centi_c, max_centi_c) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(location_id, hour_start_us) DO UPDATE SET"
        " readings = readings + excluded.readings, sum_terms = sum_terms + excluded.sum_terms,"
        " min_centi_c = min(min_centi_c, excluded.min_centi_c),"
        " max_centi_c = max(max_centi_c, excluded.max_centi_c)",
        (location_id, epoch_us(hour_start), readings, sum_terms, low, high),
    )


def upsert_scale_weight(weight: ScaleWeight, last_stable: ScaleWeight | None) -> Statement:
    return (
        "INSERT INTO scale_weights(device_id, seq, at_us, net_g, stable, sellable, reason,"
        " stable_net_g, stable_at_us, stable_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(device_id) DO UPDATE SET seq=excluded.seq, at_us=excluded.at_us,"
        " net_g=excluded.net_g, stable=excluded.stable, sellable=excluded.sellable,"
        " reason=excluded.reason, stable_net_g=excluded.stable_net_g,"
        " stable_at_us=excluded.stable_at_us, stable_seq=excluded.stable_seq",
        (
            weight.device_id,
            weight.seq,
            epoch_us(weight.at),
            weight.net_g,
            int(weight.stable),
            int(weight.sellable),
            weight.reason,
            None if last_stable is None else last_stable.net_g,
            None if last_stable is None else epoch_us(last_stable.at),
            None if last_stable is None else last_stable.seq,
        ),
    )


# --- loading state at start-up ---------------------------------------------------------------


async def load_devices(conn: aiosqlite.Connection) -> list[DeviceRow]:
    async with conn.execute(
        "SELECT device_id, kind, location_id, location_kind, product_class, epoch, high_seq,"
        " last_seen_at_us, offline_since_us, outside_since_us, outside_direction,"
        " worst_centi_c, in_excursion FROM coldchain_devices"
    ) as cur:
        rows = await cur.fetchall()
    out = []
    for r in rows:
        device_id, location_id, product_class = str(r[0]), str(r[2]), str(r[4])
        out.append(
            DeviceRow(
                device_id=device_id,
                kind=r[1],
                location_id=location_id,
                location_kind=str(r[3]),
                product_class=product_class,
                seq=SeqState(epoch=int(r[5]), high_seq=int(r[6])),
                liveness=ProbeLiveness(
                    device_id=device_id,
                    location_id=location_id,
                    last_seen_at=from_us(r[7]),
                    offline_since=from_us(r[8]),
                ),
                watch=ExcursionWatch(
                    location_id=location_id,
                    device_id=device_id,
                    product_class=product_class,
                    outside_since=from_us(r[9]),
                    direction=r[10],
                    worst_centi_c=r[11],
                    in_excursion=bool(r[12]),
                ),
            )
        )
    return out


async def load_scale_weights(
    conn: aiosqlite.Connection,
) -> dict[str, tuple[ScaleWeight, ScaleWeight | None]]:
    async with conn.execute(
        "SELECT device_id, seq, at_us, net_g, stable, sellable, reason, stable_net_g,"
        " stable_at_us, stable_seq FROM scale_weights"
    ) as cur:
        rows = await cur.fetchall()
    out: dict[str, tuple[ScaleWeight, ScaleWeight | None]] = {}
    for r in rows:
        at = from_us(r[2])
        assert at is not None
        current = ScaleWeight(
            device_id=r[0],
            seq=r[1],
            at=at,
            net_g=r[3],
            stable=bool(r[4]),
            sellable=bool(r[5]),
            reason=r[6],
        )
        stable_at = from_us(r[8])
        last_stable = (
            None
            if stable_at is None
            else ScaleWeight(
                device_id=r[0],
                seq=r[9],
                at=stable_at,
                net_g=r[7],
                stable=True,
                sellable=True,
            )
        )
        out[str(r[0])] = (current, last_stable)
    return out


# --- reads for the API -------------------------------------------------------------------


class LatestValue(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    sensor: str
    quantity: str
    value: int
    stable: bool
    at: datetime


async def latest_values(conn: aiosqlite.Connection) -> list[LatestValue]:
    async with conn.execute(
        "SELECT device_id, sensor, quantity, value, stable, at_us FROM coldchain_latest"
        " ORDER BY device_id, sensor, quantity"
    ) as cur:
        rows = await cur.fetchall()
    return [
        LatestValue(
            device_id=r[0],
            sensor=r[1],
            quantity=r[2],
            value=r[3],
            stable=bool(r[4]),
            at=_required(from_us(r[5])),
        )
        for r in rows
    ]


class ExcursionRecord(msgspec.Struct, frozen=True, kw_only=True):
    location_id: str
    device_id: str
    product_class: str
    direction: str
    limit_centi_c: int
    started_temp_centi_c: int
    outside_since: datetime
    started_seq: int
    ended_at: datetime | None
    worst_centi_c: int | None
    ended_seq: int | None


async def excursions(
    conn: aiosqlite.Connection, *, location_id: str | None, open_only: bool, limit: int
) -> list[ExcursionRecord]:
    where, params = ["1 = 1"], []
    if location_id is not None:
        where.append("location_id = ?")
        params.append(location_id)
    if open_only:
        where.append("ended_at_us IS NULL")
    sql = (
        "SELECT location_id, device_id, product_class, direction, limit_centi_c,"
        " started_temp_centi_c, outside_since_us, started_seq, ended_at_us, worst_centi_c,"
        f" ended_seq FROM coldchain_excursions WHERE {' AND '.join(where)}"
        " ORDER BY outside_since_us DESC LIMIT ?"
    )
    async with conn.execute(sql, (*params, limit)) as cur:
        rows = await cur.fetchall()
    return [
        ExcursionRecord(
            location_id=r[0],
            device_id=r[1],
            product_class=r[2],
            direction=r[3],
            limit_centi_c=r[4],
            started_temp_centi_c=r[5],
            outside_since=_required(from_us(r[6])),
            started_seq=r[7],
            ended_at=from_us(r[8]),
            worst_centi_c=r[9],
            ended_seq=r[10],
        )
        for r in rows
    ]


async def mkt_hours(
    conn: aiosqlite.Connection, location_id: str, since: datetime
) -> list[tuple[datetime, int, float, int, int]]:
    """(hour start, readings, sum of MKT terms, min, max) per hour of a location since `since`."""
    async with conn.execute(
        "SELECT hour_start_us, readings, sum_terms, min_centi_c, max_centi_c"
        " FROM coldchain_mkt_hours WHERE location_id = ? AND hour_start_us >= ?"
        " ORDER BY hour_start_us",
        (location_id, epoch_us(since)),
    ) as cur:
        rows = await cur.fetchall()
    return [(_required(from_us(r[0])), int(r[1]), float(r[2]), int(r[3]), int(r[4])) for r in rows]


def _required(value: Any) -> Any:
    assert value is not None
    return value
