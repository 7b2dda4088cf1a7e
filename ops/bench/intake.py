"""`jxc bench intake`: readings through a real Mosquitto into the real edge intake and log.

A bridge coordinator in a child process numbers and batches readings of many probes and
publishes them at QoS 1 with a bounded in-flight window; the store's Mosquitto runs with the
queue limits of ops/deploy/mosquitto; the edge (in this process) subscribes with its persistent
session, records the batches through its single writer and acks after commit. Then the log is
read back: every (device, seq) must be there exactly once.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import click

STORE = "bench-store"


def _publish(mqtt_url: str, readings: int, devices: int, batch: int, epoch_ms: int) -> None:
    """The bridge side, in its own process: observe, batch, publish with backpressure."""
    from firmware_bridge.coordinator import BridgeCoordinator
    from firmware_bridge.registry import DeviceConfig, Registry
    from firmware_bridge.shells.mqtt_shell import MqttShell
    from ops.logs import configure_logging
    from protocol.reading_events import SensorValue

    configure_logging("error")
    configs = tuple(
        DeviceConfig(
            device_id=f"probe-{n:03d}",
            kind="probe",
            transport="mqtt",
            location_id=f"cold-room-{n % 4}",
            location_kind="cold-room",
            product_class="chilled",
            firmware="tasmota",
            topic=f"probe{n}",
        )
        for n in range(devices)
    )
    shell = MqttShell(mqtt_url, client_id="jxc-bench-bridge", max_inflight=100, max_queued=200)
    shell.start()
    while not shell.connected:
        time.sleep(0.01)
    coordinator = BridgeCoordinator(
        Registry(store_id=STORE, devices=configs),
        publish=shell.publish,
        epoch_ms=epoch_ms,
        batch_max=batch,
    )
    now = datetime.now(UTC)
    for n in range(readings):
        value = SensorValue(sensor="DS18B20-1", quantity="temperature", value=300 + n % 200)
        coordinator.observe(configs[n % devices], now, values=(value,))
        if coordinator.pending() >= batch * devices:
            while coordinator.flush() == 0 and coordinator.pending():
                time.sleep(0.001)
    while coordinator.pending():
        if coordinator.flush() == 0:
            time.sleep(0.001)
    while shell.outstanding():
        time.sleep(0.01)
    shell.stop()


async def _run(readings: int, devices: int, batch: int, folder: Path) -> dict[str, object]:
    from edge.app import EdgeRuntime
    from edge.settings import EdgeSettings
    from ops import services as local

    # The local broker carries the store broker's queue limits (ops/deploy/mosquitto).
    broker = local.start_mosquitto(folder / "mosquitto", port=local.free_port())
    runtime = EdgeRuntime(
        EdgeSettings(
            store_id=STORE,
            db_path=folder / "edge.db",
            relay_enabled=False,
            mqtt_url=broker.url,
        )
    )
    try:
        await runtime.start()
        assert runtime.coldchain is not None
        assert runtime.coldchain.intake is not None
        intake = runtime.coldchain.intake
        for _ in range(2000):  # subscribed before the first reading is published
            if intake.connected:
                break
            await asyncio.sleep(0.01)
        counters = runtime.coldchain.service.counters
        epoch_ms = int(time.time() * 1000)
        publisher = multiprocessing.get_context("spawn").Process(
            target=_publish, args=(broker.url, readings, devices, batch, epoch_ms), daemon=True
        )
        started = time.monotonic()
        publisher.start()
        deadline = started + max(120.0, readings / 1000)
        while counters.readings_recorded < readings and time.monotonic() < deadline:
            if not publisher.is_alive() and publisher.exitcode not in (0, None):
                break
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.5)  # anything extra (a duplicate) would land now
        publisher.join(timeout=30)
    finally:
        await runtime.stop()
        broker.stop()
    distinct, total = _count_logged(folder / "edge.db")
    return {
        "readings": readings,
        "readings_per_s": round(counters.readings_recorded / elapsed) if elapsed else 0,
        "lost": readings - distinct,
        "duplicated": total - distinct,
        "devices": devices,
        "readings_per_message": batch,
        "gaps_reported": counters.gaps,
        "seconds": round(elapsed, 3),
    }


def _count_logged(db: Path) -> tuple[int, int]:
    from protocol.envelope import decode_envelope
    from protocol.reading_events import ReadingsRecorded

    seen: set[tuple[str, int]] = set()
    total = 0
    with sqlite3.connect(db) as conn:
        for (blob,) in conn.execute("SELECT envelope FROM events WHERE type = 'ReadingsRecorded'"):
            event = decode_envelope(blob).event()
            assert isinstance(event, ReadingsRecorded)
            for reading in event.readings:
                seen.add((event.device_id, reading.seq))
                total += 1
    return len(seen), total


@click.command()
@click.option("--readings", default=200_000, show_default=True, type=click.IntRange(1))
@click.option("--devices", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--batch",
    default=200,
    show_default=True,
    type=click.IntRange(1, 500),
    help="Readings per MQTT message (the bridge's batch size).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def intake(readings: int, devices: int, batch: int, as_json: bool) -> None:
    """Sensor intake: readings/s from the bridge through Mosquitto into the edge log.

    Budget (DESIGN.md): >= 10,000 readings/s with nothing lost. Exits 1 if anything was lost
    or duplicated.
    """
    from ops.logs import configure_logging

    configure_logging("error")
    with tempfile.TemporaryDirectory(prefix="jxc-bench-intake-") as tmp:
        result = asyncio.run(_run(readings, devices, batch, Path(tmp)))
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(
            f"{result['readings']} readings at {result['readings_per_s']} readings/s; "
            f"lost {result['lost']}, duplicated {result['duplicated']}"
        )
    raise SystemExit(0 if result["lost"] == 0 and result["duplicated"] == 0 else 1)
