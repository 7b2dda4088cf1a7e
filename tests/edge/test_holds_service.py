"""HoldService on real SQLite: idempotent place, release with reason, holds by location."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge.app import EdgeRuntime
from edge.catalog.domain import Item
from edge.catalog.service import record_item_master
from edge.clock import random_event_id, utc_now
from edge.eventlog.database import open_database
from edge.holds.service import HoldAlreadyReleased, HoldNotFound
from edge.ledger.service import ReceiveCommand
from edge.settings import EdgeSettings

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TIN = Item(gtin="06901234567885", name="tin", price_fen=650)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[EdgeRuntime]:
    db = tmp_path / "store.db"
    conn = await open_database(db)
    await conn.close()
    await record_item_master(
        db, store_id="s1", items=(TIN,), clock=utc_now, new_event_id=random_event_id
    )
    settings = EdgeSettings(
        store_id="s1", db_path=db, relay_enabled=False, coldchain_intake_enabled=False
    )
    rt = EdgeRuntime(settings, clock=lambda: NOW)
    await rt.start()
    yield rt
    await rt.stop()


def types(rt: EdgeRuntime) -> list[str]:
    with sqlite3.connect(rt.settings.db_path) as conn:
        return [r[0] for r in conn.execute("SELECT type FROM events ORDER BY seq")]


async def test_place_is_idempotent_and_release_needs_an_active_hold(runtime: EdgeRuntime) -> None:
    holds = runtime.hold_service
    kw: dict[str, Any] = {"operator_id": "qa", "now": NOW}
    first = await holds.place(TIN.gtin, "L1", "recall", "supplier recall 42", **kw)
    again = await holds.place(TIN.gtin, "L1", "recall", "supplier recall 42", **kw)
    assert again.hold_id == first.hold_id
    assert [h.hold_id for h in holds.active_for(TIN.gtin, "L1")] == [first.hold_id]
    released = await holds.release(first.hold_id, "supplier withdrew the recall", **kw)
    assert released.released_by == "qa"
    assert holds.active_for(TIN.gtin, "L1") == ()
    with pytest.raises(HoldAlreadyReleased):
        await holds.release(first.hold_id, "twice", **kw)
    with pytest.raises(HoldNotFound):
        await holds.release("no-such-hold", "x", **kw)
    assert types(runtime).count("LotHoldPlaced") == 1
    assert types(runtime).count("LotHoldReleased") == 1


async def test_place_at_location_holds_the_lots_stocked_there(runtime: EdgeRuntime) -> None:
    for lot, location in (("L1", "cold-room-1"), ("L2", "cold-room-1"), ("L3", "sales_floor")):
        await runtime.ledger_service.receive(
            ReceiveCommand(receipt_id=f"GR-{lot}", gtin=TIN.gtin, lot=lot, location=location,
                           accepted_quantity=5),
            terminal_id="pos", operator_id="",
        )  # fmt: skip
    held = await runtime.hold_service.place_at_location(
        "cold-room-1", "cold_chain", "above 8 °C for 45 min", operator_id="coldchain", now=NOW
    )
    assert sorted(h.lot for h in held) == ["L1", "L2"]
    assert all(h.location == "cold-room-1" for h in held)
    assert runtime.hold_service.active_for(TIN.gtin, "L3") == ()


async def test_holds_survive_a_restart(runtime: EdgeRuntime) -> None:
    hold = await runtime.hold_service.place(
        TIN.gtin, "L9", "quality", "smell", operator_id="qa", now=NOW
    )
    rt2 = EdgeRuntime(runtime.settings, clock=lambda: NOW)
    await rt2.start()
    try:
        assert [h.hold_id for h in rt2.hold_service.active_for(TIN.gtin, "L9")] == [hold.hold_id]
    finally:
        await rt2.stop()
