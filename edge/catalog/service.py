"""Item master changes: validated, then recorded as one fact (rows + events, one transaction)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from edge.catalog.domain import Item, ItemMasterChange
from edge.catalog.store import item_master_fact
from edge.eventlog.database import open_database
from edge.eventlog.writer import EventLogWriter
from protocol.gs1 import BarcodeError
from protocol.gs1.gtin import normalise_gtin


class ItemFileError(ValueError):
    """A line of an item file that cannot be loaded, with its line number."""


def parse_item_csv(text: str) -> tuple[Item, ...]:
    """`gtin,name,price_fen[,unit]` with a header line; every line validated."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"gtin", "name", "price_fen"} - set(reader.fieldnames or ())
    if missing:
        raise ItemFileError(f"item file lacks columns: {', '.join(sorted(missing))}")
    items = []
    for line_no, row in enumerate(reader, start=2):
        gtin = normalise_gtin((row.get("gtin") or "").strip())
        if isinstance(gtin, BarcodeError):
            raise ItemFileError(f"line {line_no}: {gtin.message}")
        try:
            price_fen = int(row.get("price_fen") or "")
        except ValueError:
            raise ItemFileError(f"line {line_no}: price_fen must be an integer (fen)") from None
        unit = (row.get("unit") or "each").strip()
        if price_fen < 0 or unit not in ("each", "kg"):
            raise ItemFileError(f"line {line_no}: price_fen ≥ 0 and unit each|kg required")
        name = (row.get("name") or "").strip()
        if not name:
            raise ItemFileError(f"line {line_no}: name is empty")
        items.append(Item(gtin=gtin, name=name, price_fen=price_fen, unit=unit))  # type: ignore[arg-type]
    return tuple(items)


async def record_item_master(
    db_path: Path,
    *,
    store_id: str,
    items: tuple[Item, ...],
    clock: Callable[[], datetime],
    new_event_id: Callable[[datetime], uuid.UUID],
    device_id: str = "admin-cli",
    chunk: int = 5000,
) -> int:
    """Record items into a store database (the edge may be running: SQLite serializes)."""
    conn = await open_database(db_path)
    writer = EventLogWriter(conn, store_id=store_id, clock=clock, new_event_id=new_event_id)
    await writer.start()
    try:
        for start in range(0, len(items), chunk):
            change = ItemMasterChange(items=items[start : start + chunk], occurred_at=clock())
            await writer.record(item_master_fact(change, device_id=device_id))
    finally:
        await writer.stop()
        await conn.close()
    return len(items)
