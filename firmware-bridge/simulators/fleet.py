"""A simulated store's devices with the real bridge, in a background thread (for the demo).

One MT-SICS scale on a pty (read by the real serial shell), a Tasmota cold-room probe and a
Zigbee2MQTT holding-tank probe publishing to the store's Mosquitto, and the bridge publishing
their readings on `jxc/<store>/readings/<device>`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from firmware_bridge.registry import parse_registry
from firmware_bridge.shells.bridge import Bridge
from firmware_bridge.simulators.mqtt_probe import run_mqtt_probe
from firmware_bridge.simulators.pty_device import PtySerialDevice
from firmware_bridge.simulators.responders import ScaleResponder
from firmware_bridge.simulators.scenarios import settle, steady, tank_drift


def fleet_registry(store_id: str, scale_link: Path) -> str:
    return f"""
store_id = "{store_id}"

[[device]]
id = "scale-counter-1"
kind = "scale"
transport = "serial"
port = "{scale_link}"
protocol = "mt-sics"
location = "counter-1"
location_kind = "counter"
poll_interval_s = 0.2

[[device]]
id = "probe-cold-room-1"
kind = "probe"
transport = "mqtt"
firmware = "tasmota"
topic = "coldroom1"
location = "cold-room-1"
location_kind = "cold-room"
product_class = "chilled"

[[device]]
id = "probe-tank-1"
kind = "probe"
transport = "mqtt"
firmware = "zigbee2mqtt"
topic = "tank-1"
location = "tank-1"
location_kind = "holding-tank"
product_class = "live-seafood:grouper"
"""


class SimulatedDevices:
    def __init__(self, store_id: str, mqtt_url: str, folder: Path, interval_s: float = 0.2):
        folder.mkdir(parents=True, exist_ok=True)
        self._store_id = store_id
        self._mqtt_url = mqtt_url
        self._interval_s = interval_s
        started = time.monotonic()
        self._scale = PtySerialDevice(
            ScaleResponder("mt-sics", settle, lambda: time.monotonic() - started),
            folder / "scale-counter-1",
        )
        self.registry = parse_registry(fleet_registry(store_id, self._scale.link))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bridge: Bridge | None = None
        self.published = 0
        self.probe_readings = 0

    def start(self) -> None:
        self._scale.plug()
        ready = threading.Event()
        self._threads.append(threading.Thread(target=self._run_bridge, args=(ready,), daemon=True))
        for firmware, device, scenario in (
            ("tasmota", "coldroom1", steady),
            ("zigbee2mqtt", "tank-1", tank_drift),
        ):
            self._threads.append(
                threading.Thread(
                    target=self._run_probe, args=(firmware, device, scenario), daemon=True
                )
            )
        self._threads[0].start()
        ready.wait(10)
        for thread in self._threads[1:]:
            thread.start()

    def _run_probe(self, firmware: str, device: str, scenario: object) -> None:
        sent = run_mqtt_probe(
            self._mqtt_url,
            firmware=firmware,
            device=device,
            scenario=scenario,  # type: ignore[arg-type]
            interval_s=self._interval_s,
            speed=60.0,
            should_stop=self._stop.is_set,
        )
        self.probe_readings += sent

    def _run_bridge(self, ready: threading.Event) -> None:
        async def main() -> None:
            bridge = Bridge(
                self.registry,
                mqtt_url=self._mqtt_url,
                clock=lambda: datetime.now(UTC),
                epoch_ms=int(time.time() * 1000),
            )
            self._bridge = bridge
            await bridge.start()
            for _ in range(500):
                if bridge.mqtt.connected:
                    break
                await asyncio.sleep(0.01)
            ready.set()
            await asyncio.to_thread(self._stop.wait)
            await asyncio.sleep(self._interval_s * 2)  # the probes' last messages
            await bridge.stop()
            self.published = bridge.coordinator.published

        asyncio.run(main())

    def stop(self) -> int:
        """Stop the devices and the bridge; returns the readings the bridge published."""
        self._stop.set()
        for thread in self._threads[1:]:
            thread.join(timeout=10)
        self._threads[0].join(timeout=15)
        self._scale.unplug()
        return self.published
