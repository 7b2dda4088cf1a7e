"""Edge test fixtures: a migrated store database ("s1") whose item master holds one item.
Test modules that need a different store define their own `store_db`."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.catalog.domain import Item
from edge.catalog.service import record_item_master
from edge.clock import random_event_id, utc_now
from edge.eventlog.database import open_database

SEA_BASS = Item(gtin="06901234567892", name="鲈鱼 sea bass", price_fen=3990, unit="kg")


@pytest.fixture
async def store_db(tmp_path: Path) -> Path:
    db = tmp_path / "store.db"
    await (await open_database(db)).close()
    await record_item_master(
        db, store_id="s1", items=(SEA_BASS,), clock=utc_now, new_event_id=random_event_id
    )
    return db
