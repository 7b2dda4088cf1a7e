"""kill -9 the edge while probe readings stream in over MQTT: after a restart every reading
is in the log exactly once. The edge acknowledges an MQTT message only after its fact
committed, and its persistent session makes Mosquitto redeliver the rest; the per-device seq
drops what was redelivered but already recorded."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.eventlog.database import open_database
from ops import services as local
from protocol.envelope import decode_envelope, verify_chain
from protocol.reading_events import (
    DeviceReading,
    ReadingBatch,
    ReadingsRecorded,
    SensorValue,
    encode_reading_batch,
    readings_topic,
)

STORE = "s-cold-crash"
pytestmark = pytest.mark.integration


def spawn_edge(db: Path, port: int, mqtt_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "JXC_STORE_ID": STORE,
        "JXC_MQTT_URL": mqtt_url,
        "JXC_RELAY_ENABLED": "0",
        "JXC_COLDCHAIN_INTAKE": "1",
    }
    with log.open("ab") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "ops", "edge", "serve", "--db", str(db), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    local.wait_for_http_ok(f"http://127.0.0.1:{port}/healthz", timeout_s=30, process=child)
    return child


def recorded_seqs(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT envelope FROM events ORDER BY seq").fetchall()
    envelopes = [decode_envelope(r[0]) for r in rows]
    assert verify_chain(envelopes) is None
    return [
        reading.seq
        for e in envelopes
        if isinstance(event := e.event(), ReadingsRecorded)
        for reading in event.readings
    ]


async def test_kill_the_edge_mid_stream_of_readings(
    tmp_path: Path,
    mosquitto: local.LocalServer,
    eventually,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "store.db"
    await (await open_database(db)).close()
    port = local.free_port()
    edge = spawn_edge(db, port, mosquitto.url, tmp_path / "edge.log")
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-bridge")
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    start = datetime.now(UTC) - timedelta(minutes=30)
    published = 0
    stop = threading.Event()

    def bridge() -> None:
        """Publish batches of 5 readings (QoS 1) until stopped, like a busy bridge."""
        nonlocal published
        while not stop.is_set():
            readings = tuple(
                DeviceReading(
                    seq=published + n + 1,
                    received_at=start + timedelta(seconds=published + n),
                    values=(SensorValue(sensor="t", quantity="temperature", value=350),),
                )
                for n in range(5)
            )
            batch = ReadingBatch(
                store_id=STORE,
                device_id="probe-1",
                kind="probe",
                epoch=1,
                readings=readings,
                location_id="cold-room-1",
                location_kind="cold-room",
                product_class="chilled",
            )
            publisher.publish(
                readings_topic(STORE, "probe-1"), encode_reading_batch(batch), qos=1
            ).wait_for_publish(5)
            published += len(readings)
            time.sleep(0.002)

    feeder = threading.Thread(target=bridge, daemon=True)
    feeder.start()
    behind: list[int] = []  # readings published but not yet recorded at each kill
    try:
        for _ in range(2):
            target = len(recorded_seqs(db)) + 100

            async def progressing(target: int = target) -> bool:
                return len(recorded_seqs(db)) >= target

            await eventually(progressing, timeout_s=30, what="readings flowing")
            edge.send_signal(signal.SIGKILL)  # mid-stream: the bridge keeps publishing
            edge.wait()
            behind.append(published - len(recorded_seqs(db)))
            await asyncio.sleep(0.3)
            edge = spawn_edge(db, port, mosquitto.url, tmp_path / "edge.log")
        await asyncio.sleep(0.5)
        stop.set()
        feeder.join(10)
        total = published

        async def all_recorded() -> bool:
            return len(recorded_seqs(db)) >= total

        await eventually(all_recorded, timeout_s=30, what=f"{total} readings in the log")
        assert sorted(recorded_seqs(db)) == list(range(1, total + 1))  # once each, none lost
        assert any(n > 0 for n in behind), f"the kills missed the stream: {behind}"
    finally:
        stop.set()
        publisher.loop_stop()
        publisher.disconnect()
        edge.terminate()
        edge.wait(timeout=15)
