"""A fridge fails, end to end: a Zigbee2MQTT probe simulator publishes a compressor failure to a
real Mosquitto, the real bridge (registry, MQTT shell, coordinator) turns it into reading
batches, the edge records them, detects the excursion, holds the lot stored there, and the POS
scan of that lot is refused with the cold-chain reason."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from edge.app import create_app
from edge.catalog.domain import Item
from edge.catalog.service import record_item_master
from edge.clock import random_event_id, utc_now
from edge.eventlog.database import open_database
from edge.settings import EdgeSettings
from edge.terminals.store import issue_terminal_token
from firmware_bridge.registry import parse_registry
from firmware_bridge.shells.bridge import Bridge
from firmware_bridge.simulators.mqtt_probe import run_mqtt_probe
from firmware_bridge.simulators.scenarios import compressor_failure
from ops import services as local

pytestmark = pytest.mark.integration

STORE = "s1"
MILK = Item(gtin="06901234567885", name="鲜奶 fresh milk", price_fen=1290)
SPEED = 600.0  # ten scenario minutes a second
REGISTRY = f"""
store_id = "{STORE}"

[[device]]
id = "fridge-1-probe"
kind = "probe"
transport = "mqtt"
firmware = "zigbee2mqtt"
topic = "fridge-1"
location = "cold-room-1"
location_kind = "cold-room"
product_class = "chilled"

[[device]]
id = "broken-entry"
kind = "probe"
transport = "mqtt"
firmware = "tasmota"
location = "cold-room-2"
location_kind = "cold-room"
"""


@pytest.fixture
async def edge(tmp_path: Path, mosquitto: local.LocalServer) -> AsyncIterator[AsyncTestClient[Any]]:
    db = tmp_path / "store.db"
    conn = await open_database(db)
    await conn.close()
    await record_item_master(
        db, store_id=STORE, items=(MILK,), clock=utc_now, new_event_id=random_event_id
    )
    token = issue_terminal_token(db, "pos-1")
    settings = EdgeSettings(store_id=STORE, db_path=db, relay_enabled=False, mqtt_url=mosquitto.url)
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        client.app.state.db_path = db
        yield client


async def test_failing_fridge_holds_the_lot_and_the_scan_refuses_it(  # type: ignore[no-untyped-def]
    edge: AsyncTestClient[Any], mosquitto: local.LocalServer, eventually
) -> None:
    receipt = {
        "receipt_id": "G-1",
        "gtin": MILK.gtin,
        "lot": "MILK-0526",
        "location": "cold-room-1",
        "accepted_quantity": 24,
    }
    assert (await edge.post("/v1/receipts", json=receipt)).status_code == 200

    registry = parse_registry(REGISTRY)
    assert [p.entry for p in registry.problems] == ["broken-entry"]  # visible, with a reason
    started_wall, started = datetime.now(UTC), time.monotonic()

    def fast_clock() -> datetime:  # the bridge stamps readings in scenario time
        return started_wall + timedelta(seconds=(time.monotonic() - started) * SPEED)

    bridge = Bridge(
        registry, mqtt_url=mosquitto.url, clock=fast_clock, epoch_ms=1, flush_interval_s=0.05
    )
    await bridge.start()
    stop = threading.Event()
    simulator = threading.Thread(
        target=run_mqtt_probe,
        kwargs={
            "mqtt_url": mosquitto.url,
            "firmware": "zigbee2mqtt",
            "device": "fridge-1",
            "scenario": compressor_failure,
            "interval_s": 0.02,
            "speed": SPEED,
            "should_stop": stop.is_set,
        },
    )
    simulator.start()
    try:

        async def excursion() -> list[dict[str, Any]]:
            response = await edge.get("/v1/coldchain/excursions?location=cold-room-1")
            return response.json()  # type: ignore[no-any-return]

        (found,) = await eventually(excursion, timeout_s=30, what="a cold-chain excursion")
        assert found["direction"] == "above"
        assert found["limit_centi_c"] == 800
        assert found["device_id"] == "fridge-1-probe"

        async def held() -> dict[str, Any] | None:
            lot = (await edge.get(f"/v1/lots/{MILK.gtin}/MILK-0526")).json()
            return lot if lot.get("holds") else None

        lot = await eventually(held, what="the lot held")
        assert lot["holds"][0]["kind"] == "cold_chain"
        assert "cold-room-1" in lot["holds"][0]["reason"]
    finally:
        stop.set()
        await asyncio.to_thread(simulator.join, 10)
        await bridge.stop()

    scan = await edge.post(
        "/v1/scans", json={"code": f"]C101{MILK.gtin}10MILK-0526", "location": "cold-room-1"}
    )
    assert scan.status_code == 200, scan.text
    verdict = scan.json()
    assert verdict["verdict"] in ("warn", "block")
    assert "cold_chain_hold" in [r["code"] for r in verdict["reasons"]]

    db = edge.app.state.db_path
    with sqlite3.connect(db) as conn:
        types = [r[0] for r in conn.execute("SELECT type FROM events ORDER BY seq")]
    assert "ReadingsRecorded" in types
    assert types.index("ColdChainExcursionStarted") < types.index("LotHoldPlaced")
    assert "ReadingSeqGap" not in types  # nothing lost between bridge and edge
