"""The store's device registry: which port or topic is which device, where it stands, what it
watches over. TOML, parsed with `tomllib`; pure (the caller reads the file).

    store_id = "store-001"

    [[device]]
    id = "scale-counter-1"
    kind = "scale"
    transport = "serial"          # serial (a scale), modbus (RS-485 probes), mqtt (probes)
    port = "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0"
    protocol = "mt-sics"          # mt-sics | toledo-8217 | nci
    location = "counter-1"
    location_kind = "counter"     # counter | cold-room | holding-tank | freezer | display

    [[device]]
    id = "probe-cold-room-1"
    kind = "probe"
    transport = "mqtt"
    firmware = "tasmota"          # tasmota, shelly-gen2/-gen1, zigbee2mqtt, esphome, ttn-v3
    topic = "coldroom1"           # the device key the firmware's topics carry
    location = "cold-room-1"
    location_kind = "cold-room"
    product_class = "chilled"     # chilled | frozen | live-seafood:<species>

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

A device entry that cannot be used is not dropped: it stays in `Registry.problems` with its
id (or position) and a named reason, shown in health.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any, Final, Literal, get_args

import msgspec

from firmware_bridge.modbus.probes import PROBE_MODELS
from firmware_bridge.mqtt_devices.messages import FIRMWARES
from protocol.reading_events import DeviceKind, is_valid_device_id

Transport = Literal["serial", "modbus", "mqtt"]
ScaleProtocol = Literal["mt-sics", "toledo-8217", "nci"]
SCALE_PROTOCOLS: Final = get_args(ScaleProtocol)
LOCATION_KINDS: Final = ("counter", "cold-room", "holding-tank", "freezer", "display", "backroom")
_KNOWN_KEYS: Final = frozenset(
    {
        "id",
        "kind",
        "transport",
        "port",
        "baudrate",
        "protocol",
        "unit",
        "weight_unit",
        "model",
        "firmware",
        "topic",
        "sensor",
        "location",
        "location_kind",
        "product_class",
        "poll_interval_s",
    }
)


class DeviceConfig(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    kind: DeviceKind
    transport: Transport
    location_id: str
    location_kind: str
    product_class: str = ""
    # serial and modbus
    port: str = ""
    baudrate: int = 9600
    protocol: str = ""  # scale protocol
    weight_unit: str = "kg"  # Toledo 8217 / NCI frames without a unit
    unit: int = 0  # modbus unit (slave) address
    model: str = ""  # modbus probe model
    # mqtt
    firmware: str = ""
    topic: str = ""
    sensor: str = ""  # only this channel (e.g. "DS18B20:01144A0CB2AA"); "" = all
    poll_interval_s: float = 1.0


class DeviceProblem(msgspec.Struct, frozen=True, kw_only=True):
    """A registry entry that cannot be used, and why (shown in health, never dropped)."""

    entry: str
    reason: str


class Registry(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    devices: tuple[DeviceConfig, ...]
    problems: tuple[DeviceProblem, ...] = ()

    def by_mqtt_key(self, firmware: str, device_key: str) -> DeviceConfig | None:
        for device in self.devices:
            if device.transport == "mqtt" and (device.firmware, device.topic) == (
                firmware,
                device_key,
            ):
                return device
        return None

    def on_port(self, port: str) -> tuple[DeviceConfig, ...]:
        return tuple(d for d in self.devices if d.port == port and d.transport != "mqtt")


class RegistryError(ValueError):
    """The registry file as a whole cannot be used (not TOML, no store id)."""


def parse_registry(text: str) -> Registry:
    """Parse the registry TOML. Raises RegistryError only for a file that is unusable as a
    whole; a bad device entry becomes a `DeviceProblem`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"device registry is not valid TOML: {exc}") from exc
    store_id = data.get("store_id")
    if not isinstance(store_id, str) or not is_valid_device_id(store_id):
        raise RegistryError('device registry needs store_id = "<store>" (letters, digits, -_)')
    entries = data.get("device", [])
    if not isinstance(entries, list):
        raise RegistryError("`device` must be an array of tables: [[device]]")
    devices: list[DeviceConfig] = []
    problems: list[DeviceProblem] = []
    seen_ids: set[str] = set()
    seen_buses: dict[tuple[str, int], str] = {}
    for position, entry in enumerate(entries, start=1):
        name = str(entry.get("id", f"device #{position}")) if isinstance(entry, dict) else ""
        if not isinstance(entry, dict):
            problems.append(DeviceProblem(entry=f"device #{position}", reason="not a table"))
            continue
        result = _device(entry)
        if isinstance(result, str):
            problems.append(DeviceProblem(entry=name, reason=result))
            continue
        if result.device_id in seen_ids:
            problems.append(DeviceProblem(entry=name, reason="duplicate device id"))
            continue
        if result.transport == "modbus":
            key = (result.port, result.unit)
            if key in seen_buses:
                reason = f"unit {result.unit} on {result.port} is already {seen_buses[key]}"
                problems.append(DeviceProblem(entry=name, reason=reason))
                continue
            seen_buses[key] = result.device_id
        seen_ids.add(result.device_id)
        devices.append(result)
    return Registry(store_id=store_id, devices=tuple(devices), problems=tuple(problems))


def _device(entry: Mapping[str, Any]) -> DeviceConfig | str:
    unknown = sorted(set(entry) - _KNOWN_KEYS)
    if unknown:
        return f"unknown keys {', '.join(unknown)}"
    device_id = entry.get("id")
    if not isinstance(device_id, str) or not is_valid_device_id(device_id):
        return "id must be 1-64 letters, digits or . _ : - (it becomes an MQTT topic level)"
    kind, transport = entry.get("kind"), entry.get("transport")
    if kind not in ("scale", "probe"):
        return "kind must be scale or probe"
    if transport not in ("serial", "modbus", "mqtt"):
        return "transport must be serial, modbus or mqtt"
    location = entry.get("location")
    if not isinstance(location, str) or not is_valid_device_id(location):
        return "location is required (letters, digits, . _ : -)"
    location_kind = str(entry.get("location_kind", ""))
    if location_kind not in LOCATION_KINDS:
        return f"location_kind must be one of {', '.join(LOCATION_KINDS)}"
    product_class = str(entry.get("product_class", ""))
    if kind == "probe" and not product_class:
        return "a probe needs a product_class (chilled, frozen, live-seafood:<species>)"
    if kind == "scale" and transport != "serial":
        return "scales are read over serial"
    if transport in ("serial", "modbus") and not entry.get("port"):
        return f"{transport} devices need a port"
    if transport == "serial" and entry.get("protocol") not in SCALE_PROTOCOLS:
        return f"protocol must be one of {', '.join(SCALE_PROTOCOLS)}"
    if transport == "modbus":
        if entry.get("model") not in {m.name for m in PROBE_MODELS}:
            return f"model must be one of {', '.join(m.name for m in PROBE_MODELS)}"
        unit = entry.get("unit")
        if not isinstance(unit, int) or not 1 <= unit <= 247:
            return "unit must be a Modbus address 1..247"
    if transport == "mqtt":
        if entry.get("firmware") not in FIRMWARES:
            return f"firmware must be one of {', '.join(FIRMWARES)}"
        if not entry.get("topic"):
            return "mqtt devices need the topic key their firmware publishes under"
    try:
        return msgspec.convert(
            {
                "device_id": device_id,
                "kind": kind,
                "transport": transport,
                "location_id": location,
                "location_kind": location_kind,
                "product_class": product_class,
                "port": entry.get("port", ""),
                "baudrate": entry.get("baudrate", 9600),
                "protocol": entry.get("protocol", ""),
                "weight_unit": entry.get("weight_unit", "kg"),
                "unit": entry.get("unit", 0),
                "model": entry.get("model", ""),
                "firmware": entry.get("firmware", ""),
                "topic": entry.get("topic", ""),
                "sensor": entry.get("sensor", ""),
                "poll_interval_s": entry.get("poll_interval_s", 1.0),
            },
            DeviceConfig,
        )
    except msgspec.ValidationError as exc:
        return str(exc)
