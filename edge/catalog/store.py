"""Item master in SQLite with an in-memory read cache for the scan hot path.

The cache is filled at start and updated after each committed change; a miss falls back to
one indexed read, so items loaded by another process (`jxc edge items load`) are seen too.
"""

from __future__ import annotations

import aiosqlite

from edge.catalog.domain import Item, ItemMasterChange, item_events
from edge.eventlog.writer import FIRST_SEQ, Fact, Statement

_UPSERT = (
    "INSERT INTO items(gtin, name, price_fen, unit, updated_seq) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT(gtin) DO UPDATE SET name = excluded.name, price_fen = excluded.price_fen,"
    " unit = excluded.unit, updated_seq = excluded.updated_seq"
)


def item_master_fact(change: ItemMasterChange, *, device_id: str, operator_id: str = "") -> Fact:
    """The fact that records an item master change: rows upserted + one event per item."""
    statements: list[Statement] = [
        (_UPSERT, (item.gtin, item.name, item.price_fen, item.unit, FIRST_SEQ))
        for item in change.items
    ]
    return Fact(
        events=item_events(change),
        occurred_at=change.occurred_at,
        device_id=device_id,
        operator_id=operator_id,
        statements=tuple(statements),
    )


class ItemCatalog:
    def __init__(self, reader: aiosqlite.Connection) -> None:
        self._reader = reader
        self._items: dict[str, Item] = {}

    async def load(self) -> int:
        async with self._reader.execute("SELECT gtin, name, price_fen, unit FROM items") as cur:
            rows = await cur.fetchall()
        self._items = {row[0]: _item(row) for row in rows}
        return len(self._items)

    async def lookup(self, gtin: str) -> Item | None:
        item = self._items.get(gtin)
        if item is not None:
            return item
        async with self._reader.execute(
            "SELECT gtin, name, price_fen, unit FROM items WHERE gtin = ?", (gtin,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        item = self._items[gtin] = _item(row)
        return item

    def remember(self, items: tuple[Item, ...]) -> None:
        """Called after a change committed, so the hot path sees it at once."""
        for item in items:
            self._items[item.gtin] = item

    def __len__(self) -> int:
        return len(self._items)


def _item(row: aiosqlite.Row | tuple[object, ...]) -> Item:
    gtin, name, price_fen, unit = row[0], row[1], row[2], row[3]
    return Item(gtin=str(gtin), name=str(name), price_fen=int(price_fen), unit=unit)  # type: ignore[arg-type]
