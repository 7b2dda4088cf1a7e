"""Lot holds in SQLite (`lot_holds`), with an in-memory index of the active ones.

The index is what the scan hot path reads (`active_for`: a dict lookup). It is updated at once
after this process commits a change, and `refresh()` picks up rows written by other processes
(`updated_seq` beyond the last one seen).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from edge.eventlog.writer import FIRST_SEQ, Statement
from edge.holds.domain import Hold

_COLUMNS = (
    "hold_id, gtin, lot, location, kind, reason, placed_by, placed_at_us,"
    " released_by, release_reason, released_at_us, updated_seq"
)


def epoch_us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _from_us(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def hold_from_row(row: Any) -> Hold:
    return Hold(
        hold_id=row[0],
        gtin=row[1],
        lot=row[2],
        location=row[3],
        kind=row[4],
        reason=row[5],
        placed_by=row[6],
        placed_at=_from_us(row[7]),
        released_by=row[8],
        release_reason=row[9],
        released_at=_from_us(row[10]),
    )


def insert_hold(hold: Hold) -> Statement:
    assert hold.placed_at is not None
    return (
        "INSERT INTO lot_holds(hold_id, gtin, lot, location, kind, reason, placed_by,"
        " placed_at_us, updated_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            hold.hold_id,
            hold.gtin,
            hold.lot,
            hold.location,
            hold.kind,
            hold.reason,
            hold.placed_by,
            epoch_us(hold.placed_at),
            FIRST_SEQ,
        ),
    )


def release_hold(hold: Hold) -> Statement:
    assert hold.released_at is not None
    return (
        "UPDATE lot_holds SET released_by = ?, release_reason = ?, released_at_us = ?,"
        " updated_seq = ? WHERE hold_id = ? AND released_at_us IS NULL",
        (
            hold.released_by,
            hold.release_reason,
            epoch_us(hold.released_at),
            FIRST_SEQ,
            hold.hold_id,
        ),
    )


async def find_hold(conn: aiosqlite.Connection, hold_id: str) -> Hold | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM lot_holds WHERE hold_id = ?", (hold_id,)) as c:
        row = await c.fetchone()
    return None if row is None else hold_from_row(row)


async def find_active(
    conn: aiosqlite.Connection, gtin: str, lot: str, kind: str, location: str | None
) -> Hold | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM lot_holds WHERE gtin = ? AND lot = ? AND kind = ?"
        " AND location IS ? AND released_at_us IS NULL LIMIT 1",
        (gtin, lot, kind, location),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else hold_from_row(row)


class ActiveHolds:
    """(gtin, lot) → active holds, in memory."""

    def __init__(self, reader: aiosqlite.Connection) -> None:
        self._reader = reader
        self._by_lot: dict[tuple[str, str], dict[str, Hold]] = {}
        self._seen_seq = 0

    async def refresh(self) -> int:
        """Apply rows changed since the last refresh (by anyone); returns how many."""
        async with self._reader.execute(
            f"SELECT {_COLUMNS} FROM lot_holds WHERE updated_seq > ? ORDER BY updated_seq",
            (self._seen_seq,),
        ) as cur:
            rows = list(await cur.fetchall())
        for row in rows:
            self._seen_seq = max(self._seen_seq, int(row[11]))
        self.remember(hold_from_row(row) for row in rows)
        return len(rows)

    def remember(self, holds: Iterable[Hold]) -> None:
        for hold in holds:
            held = self._by_lot.setdefault((hold.gtin, hold.lot), {})
            if hold.active:
                held[hold.hold_id] = hold
            else:
                held.pop(hold.hold_id, None)
                if not held:
                    del self._by_lot[(hold.gtin, hold.lot)]

    def active_for(self, gtin: str, lot: str) -> tuple[Hold, ...]:
        held = self._by_lot.get((gtin, lot))
        return tuple(held.values()) if held else ()

    def all_active(self) -> tuple[Hold, ...]:
        return tuple(h for held in self._by_lot.values() for h in held.values())
