"""The device registry (TOML) and the bridge coordinator, pure: no ports, no broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from firmware_bridge.coordinator import BridgeCoordinator
from firmware_bridge.mqtt_devices import decode_message
from firmware_bridge.registry import RegistryError, parse_registry
from protocol.reading_events import SensorValue, decode_reading_batch, readings_topic

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)

GOOD = """
store_id = "store-001"

[[device]]
id = "scale-counter-1"
kind = "scale"
transport = "serial"
port = "/dev/serial/by-id/usb-FTDI-if00"
protocol = "mt-sics"
location = "counter-1"
location_kind = "counter"

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
transport = "modbus"
port = "/dev/ttyUSB1"
unit = 3
model = "sht20"
location = "tank-1"
location_kind = "holding-tank"
product_class = "live-seafood:grouper"
"""

BAD_ENTRIES = """
[[device]]
id = "probe-no-class"
kind = "probe"
transport = "mqtt"
firmware = "tasmota"
topic = "x"
location = "cold-room-1"
location_kind = "cold-room"

[[device]]
id = "scale-odd-protocol"
kind = "scale"
transport = "serial"
port = "/dev/ttyS0"
protocol = "dibal-xyz"
location = "counter-1"
location_kind = "counter"

[[device]]
id = "probe-tank-1"
kind = "probe"
transport = "modbus"
port = "/dev/ttyUSB9"
unit = 3
model = "sht20"
location = "tank-2"
location_kind = "holding-tank"
product_class = "live-seafood:crab"

[[device]]
id = "probe-same-unit"
kind = "probe"
transport = "modbus"
port = "/dev/ttyUSB1"
unit = 3
model = "sht20"
location = "tank-3"
location_kind = "holding-tank"
product_class = "live-seafood:crab"

[[device]]
id = "with/slash"
kind = "probe"
transport = "mqtt"
firmware = "tasmota"
topic = "y"
location = "cold-room-1"
location_kind = "cold-room"
product_class = "chilled"
typo_key = 1
"""


def test_a_good_registry_parses() -> None:
    registry = parse_registry(GOOD)
    assert registry.store_id == "store-001"
    assert [d.device_id for d in registry.devices] == [
        "scale-counter-1",
        "probe-cold-room-1",
        "probe-tank-1",
    ]
    assert registry.problems == ()
    assert registry.by_mqtt_key("tasmota", "coldroom1") is registry.devices[1]
    assert registry.on_port("/dev/ttyUSB1")[0].unit == 3


def test_misconfigured_devices_stay_visible_with_a_named_reason() -> None:
    registry = parse_registry(GOOD + BAD_ENTRIES)
    assert len(registry.devices) == 3
    problems = {p.entry: p.reason for p in registry.problems}
    assert "product_class" in problems["probe-no-class"]
    assert "protocol must be one of" in problems["scale-odd-protocol"]
    assert problems["probe-tank-1"] == "duplicate device id"
    assert "already probe-tank-1" in problems["probe-same-unit"]
    assert "unknown keys typo_key" in problems["with/slash"]


@pytest.mark.parametrize("text", ["not = [toml", "[[device]]\nid = 'x'\n", 'store_id = "a/b"'])
def test_an_unusable_registry_is_a_typed_error(text: str) -> None:
    with pytest.raises(RegistryError):
        parse_registry(text)


def coordinator(published: list[tuple[str, bytes]], **kw: object) -> BridgeCoordinator:
    def publish(topic: str, payload: bytes) -> bool:
        published.append((topic, payload))
        return True

    return BridgeCoordinator(parse_registry(GOOD), publish=publish, epoch_ms=42, **kw)  # type: ignore[arg-type]


def test_mqtt_probe_messages_become_numbered_batches() -> None:
    published: list[tuple[str, bytes]] = []
    bridge = coordinator(published)
    payload = b'{"Time":"2024-05-01T08:00:00+00:00","DS18B20":{"Id":"01","Temperature":3.9}}'
    for n in range(3):
        message = decode_message("tasmota", "tele/coldroom1/SENSOR", payload)
        bridge.observe_mqtt(message, T0 + timedelta(seconds=n))
    # a retained copy is the broker's last known value, not a new reading
    retained = decode_message("tasmota", "tele/coldroom1/SENSOR", payload, retained=True)
    bridge.observe_mqtt(retained, T0)
    # an unknown device and a rejected payload are counted, not published
    bridge.observe_mqtt(decode_message("tasmota", "tele/other/SENSOR", payload), T0)
    bridge.observe_mqtt(decode_message("tasmota", "tele/coldroom1/SENSOR", b"{nope"), T0)
    assert bridge.flush() == 3
    ((topic, body),) = published
    assert topic == readings_topic("store-001", "probe-cold-room-1")
    batch = decode_reading_batch(body)
    assert batch.epoch == 42
    assert batch.product_class == "chilled"
    assert [r.seq for r in batch.readings] == [1, 2, 3]
    assert batch.readings[0].values[0].value == 390
    assert batch.readings[0].device_time == T0
    assert bridge.dropped == {
        "retained_last_known": 1,
        "unregistered_device": 1,
        "rejected_payload": 1,
    }


def test_availability_is_published_on_change_only() -> None:
    published: list[tuple[str, bytes]] = []
    bridge = coordinator(published, stale_after_s=30, offline_after_s=120)
    device = bridge.registry.devices[1]
    value = SensorValue(sensor="t", quantity="temperature", value=400)
    bridge.observe(device, T0, values=(value,))
    for seconds in (10, 40, 50, 130, 200):
        bridge.check_availability(T0 + timedelta(seconds=seconds))
    bridge.flush()
    readings = [r for _, p in published for r in decode_reading_batch(p).readings]
    assert [r.availability for r in readings] == [None, "stale", "offline"]
    assert bridge.health().devices["probe-cold-room-1"] == "offline"


def test_a_refusing_publisher_keeps_readings_pending_and_bounded() -> None:
    accept = False

    def publish(topic: str, payload: bytes) -> bool:
        return accept

    bridge = BridgeCoordinator(parse_registry(GOOD), publish=publish, epoch_ms=1, max_pending=5)
    device = bridge.registry.devices[1]
    for n in range(8):
        bridge.observe(
            device, T0, values=(SensorValue(sensor="t", quantity="temperature", value=n),)
        )
    assert bridge.flush() == 0
    assert bridge.pending() == 5
    assert bridge.dropped["pending_overflow"] == 3  # the edge will see seqs 1..3 as a gap
    accept = True
    assert bridge.flush() == 5
