"""The running bridge: registry → one task per serial port or bus, one MQTT client, the
coordinator, a flush loop. Clock and epoch come from the caller (ops)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

import structlog

from firmware_bridge.coordinator import BridgeCoordinator
from firmware_bridge.mqtt_devices import decode_message, subscriptions
from firmware_bridge.registry import DeviceConfig, Registry
from firmware_bridge.shells.mqtt_shell import MqttShell
from firmware_bridge.shells.serial_shell import Backoff, ModbusBusShell, SerialScaleShell

log = structlog.get_logger(__name__)


def _topics_of(device: DeviceConfig) -> list[str]:
    """Topic filters for one MQTT device. Zigbee2MQTT and TTN name devices below a shared base
    (`zigbee2mqtt/<friendly name>`, an application's uplinks), so those subscribe to the base."""
    firmware = device.firmware
    per_device = firmware not in ("zigbee2mqtt", "ttn-v3")
    return subscriptions(firmware, device.topic if per_device else None)  # type: ignore[arg-type]


class Bridge:
    def __init__(
        self,
        registry: Registry,
        *,
        mqtt_url: str,
        clock: Callable[[], datetime],
        epoch_ms: int,
        flush_interval_s: float = 0.2,
        backoff: Backoff | None = None,
        stale_after_s: float = 30.0,
        offline_after_s: float = 120.0,
    ) -> None:
        self.registry = registry
        backoff = backoff or Backoff()
        self._clock = clock
        self._flush_interval_s = flush_interval_s
        mqtt_devices = [d for d in registry.devices if d.transport == "mqtt"]
        topics = sorted({t for d in mqtt_devices for t in _topics_of(d)})
        self.mqtt = MqttShell(
            mqtt_url,
            client_id=f"jxc-bridge-{registry.store_id}",
            subscriptions=topics,
            on_message=self._on_device_message,
        )
        self.coordinator = BridgeCoordinator(
            registry,
            publish=self.mqtt.publish,
            epoch_ms=epoch_ms,
            stale_after_s=stale_after_s,
            offline_after_s=offline_after_s,
        )
        self._mqtt_devices = mqtt_devices
        self.scales = [
            SerialScaleShell(
                d,
                on_events=lambda dev, events: self.coordinator.observe_scale(dev, events, clock()),
                on_port_lost=self._port_lost,
                backoff=backoff,
            )
            for d in registry.devices
            if d.transport == "serial"
        ]
        buses: dict[str, list[DeviceConfig]] = {}
        for d in registry.devices:
            if d.transport == "modbus":
                buses.setdefault(d.port, []).append(d)
        self.buses = [
            ModbusBusShell(
                port,
                devices,
                on_outcomes=lambda dev, out: self.coordinator.observe_probe(dev, out, clock()),
                on_port_lost=self._port_lost,
                backoff=backoff,
                poll_interval_s=min(d.poll_interval_s for d in devices),
            )
            for port, devices in buses.items()
        ]
        self._tasks: list[asyncio.Task[None]] = []

    def _port_lost(self, device: DeviceConfig, reason: str) -> None:
        self.coordinator.port_lost(device, self._clock(), reason)

    def _on_device_message(self, topic: str, payload: bytes, retained: bool) -> None:
        now = self._clock()
        for device in self._mqtt_devices:
            if device.topic not in topic:
                continue
            decoded = decode_message(device.firmware, topic, payload, retained=retained)  # type: ignore[arg-type]
            if decoded.device == device.topic:
                self.coordinator.observe_mqtt(decoded, now)
                return

    async def start(self) -> None:
        self.mqtt.start()
        for shell in self.scales:
            self._tasks.append(
                asyncio.create_task(shell.run(), name=f"scale:{shell.device.device_id}")
            )
        for bus in self.buses:
            self._tasks.append(asyncio.create_task(bus.run(), name=f"bus:{bus.port}"))
        self._tasks.append(asyncio.create_task(self._flush_loop(), name="bridge-flush"))
        log.info(
            "bridge.started",
            store_id=self.registry.store_id,
            devices=len(self.registry.devices),
            problems=len(self.registry.problems),
        )

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval_s)
            self.coordinator.check_availability(self._clock())
            self.coordinator.flush()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self.coordinator.flush()
        for _ in range(100):  # let the broker acknowledge what is in flight (5 s at most)
            if self.mqtt.outstanding() == 0:
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(self.mqtt.stop)
