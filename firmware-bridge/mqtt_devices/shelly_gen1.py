"""Shelly Gen1: one plain-text value per topic under `shellies/<device id>/`.

- `sensor/temperature`, `sensor/humidity`: an H&T. The temperature is in the unit chosen in
  the device's settings and the payload does not say which: `DecodeOptions.shelly_gen1_ht_unit`.
- `sensor/error`: an H&T's sensor error flag ("0" is fine).
- `ext_temperature/<i>` (°C), `ext_humidity/<i>`: probes on the temperature add-on (DS18B20,
  DHT22). `ext_temperature_f/<i>` repeats the same probe in °F and is skipped, so one
  measurement never becomes two readings.
- `temperature`, `temperature_f`, `overtemperature`, `temperature_status` directly under the
  device: a relay's own internal temperature, not the room.
- `online`: "true" / "false" (retained; the MQTT last will).

With a custom MQTT prefix the prefix replaces `shellies/<device id>`; the topic's tail is
what we match, and the device key is the prefix without a leading "shellies/".
"""

from __future__ import annotations

from firmware_bridge.mqtt_devices import values
from firmware_bridge.mqtt_devices.messages import DecodedMessage, DecodeOptions, Outcome
from firmware_bridge.mqtt_devices.payloads import availability, decode_text, message
from firmware_bridge.readings import Ignored, ProbeFault, Rejected

FIRMWARE = "shelly-gen1"
_CHIP_TOPICS = frozenset({"temperature", "temperature_f", "overtemperature", "temperature_status"})
_ADDON_CHANNELS = frozenset({"ext_temperature", "ext_temperature_f", "ext_humidity"})


def subscriptions(root: str | None = None) -> list[str]:
    base = f"{root or 'shellies'}/+"
    return [
        f"{base}/sensor/temperature",
        f"{base}/sensor/humidity",
        f"{base}/sensor/error",
        f"{base}/ext_temperature/+",
        f"{base}/ext_humidity/+",
        f"{base}/online",
    ]


def decode(topic: str, payload: bytes, *, retained: bool, options: DecodeOptions) -> DecodedMessage:
    device, channel = _split(topic)
    outcomes: list[Outcome]
    if not device:
        outcomes = [Ignored(reason="not a Shelly Gen1 sensor, add-on or online topic")]
    elif channel == "online":
        outcomes = [availability(payload, online=["true"], offline=["false"])]
    elif channel in _CHIP_TOPICS:
        outcomes = [Ignored(reason=f"{channel} is the device's own internal temperature")]
    elif channel.startswith("ext_temperature_f/"):
        outcomes = [Ignored(reason="°F copy of ext_temperature: read in °C from that topic")]
    elif channel in ("sensor/temperature", "sensor/humidity", "sensor/error") or (
        channel.startswith(("ext_temperature/", "ext_humidity/"))
    ):
        outcomes = [_value(channel, payload, options)]
    else:
        outcomes = [Ignored(reason=f"{channel} carries no probe reading")]
    return message(FIRMWARE, topic, device, outcomes, retained=retained)


def _split(topic: str) -> tuple[str, str]:
    """(device key, channel) — channel like "sensor/temperature" or "ext_temperature/0"."""
    segments = topic.split("/")
    if len(segments) >= 3 and (segments[-2] == "sensor" or segments[-2] in _ADDON_CHANNELS):
        head, channel = segments[:-2], "/".join(segments[-2:])
    elif len(segments) >= 2:
        head, channel = segments[:-1], segments[-1]
    else:
        return "", ""
    if head and head[0] == "shellies":
        head = head[1:]
    return "/".join(head), channel


def _value(channel: str, payload: bytes, options: DecodeOptions) -> Outcome:
    text = decode_text(payload)
    if isinstance(text, Rejected):
        return text
    if text == "":
        return Ignored(reason="empty payload: the retained value was cleared")
    if channel == "sensor/error":
        if text == "0":
            return Ignored(reason="sensor/error 0: no sensor error")
        return ProbeFault(sensor="sensor", reason="device reports a sensor error", raw=text[:64])
    if channel == "sensor/temperature":
        return values.temperature(channel, text, options.shelly_gen1_ht_unit)
    if channel.startswith("ext_temperature/"):
        return values.temperature(channel, text, "C", sentinels_c=values.DS18X20_SENTINELS_C)
    return values.humidity(channel, text)
