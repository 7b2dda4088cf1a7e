"""Zigbee2MQTT: `<base>/<friendly name>` JSON state and `<base>/<friendly name>/availability`.

A state message is the device's whole state: `{"temperature":4.2,"humidity":81.5,
"battery":97,"linkquality":120}`. Zigbee reports temperature in °C. `device_temperature`
(e.g. on Xiaomi and Aqara devices) is the chip's own temperature, not the room.

- Friendly names may contain "/" ("cold-room/left"), so the base topic is configured, and the
  name is everything between it and an optional `/availability`.
- Availability is `{"state":"online"}` since 1.x with `legacy_availability_payload: false`
  (the only form in 2.x), plain `online` / `offline` before. An empty retained availability
  means the device was removed or renamed.
- With `output: attribute` each value has its own topic (`<base>/<name>/temperature`, "4.2").
- `<base>/bridge/...` is the bridge's own state and log; `.../set` and `.../get` are commands.
"""

from __future__ import annotations

from firmware_bridge.mqtt_devices import values
from firmware_bridge.mqtt_devices.messages import DecodedMessage, DecodeOptions, Outcome, Reading
from firmware_bridge.mqtt_devices.payloads import availability as plain_availability
from firmware_bridge.mqtt_devices.payloads import (
    availability_word,
    decode_json,
    decode_text,
    message,
    readings_or_ignored,
    rejected,
)
from firmware_bridge.readings import Availability, Ignored, Rejected

FIRMWARE = "zigbee2mqtt"
_CHIP_FIELD = "device_temperature"
_COMMANDS = frozenset({"set", "get"})
_ONLINE = ("online",)
_OFFLINE = ("offline",)


def subscriptions(base_topic: str | None = None) -> list[str]:
    return [f"{base_topic or 'zigbee2mqtt'}/#"]


def decode(topic: str, payload: bytes, *, retained: bool, options: DecodeOptions) -> DecodedMessage:
    base = options.zigbee2mqtt_base_topic.rstrip("/")
    if not topic.startswith(base + "/") or topic == base + "/":
        outcome: Outcome = Ignored(reason=f"not under the Zigbee2MQTT base topic {base!r}")
        return message(FIRMWARE, topic, "", [outcome], retained=retained)
    name = topic[len(base) + 1 :]
    segments = name.split("/")
    if segments[0] == "bridge":
        outcome = Ignored(reason="bridge topic: Zigbee2MQTT's own state, not a device")
        return message(FIRMWARE, topic, "", [outcome], retained=retained)
    if len(segments) > 1 and (segments[-1] in _COMMANDS or segments[-2] in _COMMANDS):
        cut = -1 if segments[-1] in _COMMANDS else -2
        outcome = Ignored(reason="command topic (/set or /get), not a device report")
        return message(FIRMWARE, topic, "/".join(segments[:cut]), [outcome], retained=retained)
    if len(segments) > 1 and segments[-1] == "availability":
        device = "/".join(segments[:-1])
        return message(FIRMWARE, topic, device, [_availability(payload)], retained=retained)
    if payload.strip() == b"":
        outcome = Ignored(reason="empty payload: the retained state was cleared")
        return message(FIRMWARE, topic, name, [outcome], retained=retained)
    state = decode_json(payload)
    if isinstance(state, dict):
        return message(FIRMWARE, topic, name, _state(state), retained=retained)
    broken_object = isinstance(state, Rejected) and payload.lstrip().startswith(b"{")
    if len(segments) > 1 and not broken_object:
        # `output: attribute`: <name>/<attribute> with a bare value, strings unquoted.
        value = decode_text(payload) if isinstance(state, Rejected) else state
        device, attribute = "/".join(segments[:-1]), segments[-1]
        outcome = value if isinstance(value, Rejected) else _attribute(attribute, value)
        return message(FIRMWARE, topic, device, [outcome], retained=retained)
    if isinstance(state, Rejected):
        return message(FIRMWARE, topic, name, [state], retained=retained)
    outcome = rejected("expected a JSON object with the device state", payload)
    return message(FIRMWARE, topic, name, [outcome], retained=retained)


def _availability(payload: bytes) -> Availability | Rejected:
    if not payload.lstrip().startswith(b"{"):
        return plain_availability(payload, online=_ONLINE, offline=_OFFLINE)
    body = decode_json(payload)
    if isinstance(body, Rejected):
        return body
    state = body.get("state") if isinstance(body, dict) else None
    if isinstance(state, str):
        return availability_word(state, _ONLINE, _OFFLINE, payload)
    return rejected('availability JSON without a "state" string', payload)


def _state(state: dict[str, object]) -> list[Outcome]:
    readings: list[Reading] = []
    notes: list[str] = []
    if "temperature" in state:
        readings.append(values.temperature("temperature", state["temperature"], "C"))
    if "humidity" in state:
        readings.append(values.humidity("humidity", state["humidity"]))
    if _CHIP_FIELD in state:
        notes.append("device_temperature is the device's own chip temperature, not the room")
    return readings_or_ignored(readings, notes, "state holds no temperature or humidity")


def _attribute(attribute: str, value: object) -> Outcome:
    if attribute == "temperature":
        return values.temperature("temperature", value, "C")
    if attribute == "humidity":
        return values.humidity("humidity", value)
    if attribute == _CHIP_FIELD:
        return Ignored(reason="device_temperature is the device's own chip temperature")
    return Ignored(reason=f"attribute {attribute[:40]!r} is not a temperature or humidity")
