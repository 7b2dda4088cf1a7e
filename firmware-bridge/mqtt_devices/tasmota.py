"""Tasmota: `tele/<topic>/SENSOR`, `tele/<topic>/LWT` and `stat/<topic>/STATUS10`.

A SENSOR message holds one object per sensor, keyed by driver name (`DS18B20-1`, `AM2301`,
`SHT3X-0x44`, `BME280`), plus "Time" and "TempUnit":

    {"Time":"2024-05-01T08:00:00","DS18B20-1":{"Id":"01144A0CB2AA","Temperature":3.9},
     "AM2301":{"Temperature":4.1,"Humidity":80.2,"DewPoint":0.9},"TempUnit":"C"}

- Temperatures are in "TempUnit" (SetOption8 1 makes it "F"); we convert to °C.
- "DewPoint" is computed from temperature and humidity: it is not the air temperature.
- The DS18B20-N numbering follows the sorted ROM ids, so adding a probe renumbers the others;
  a DS18x20 sensor is keyed by its ROM id ("DS18B20:01144A0CB2AA"), which is stable.
- "Time" is local time without a zone (with SetOption52 it carries an offset, which we use).
  Without an offset in the payload or `DecodeOptions.tasmota_utc_offset`, device_time is None.
- "ESP32" is the microcontroller's own die temperature, not the room.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from firmware_bridge.mqtt_devices import values
from firmware_bridge.mqtt_devices.messages import (
    DecodedMessage,
    DecodeOptions,
    Outcome,
    Reading,
    TemperatureUnit,
)
from firmware_bridge.mqtt_devices.payloads import (
    availability,
    decode_object,
    message,
    object_field,
    readings_or_ignored,
    rejected,
)
from firmware_bridge.readings import Ignored, Rejected

FIRMWARE = "tasmota"
_DS18X20_FAMILIES = ("DS18B20", "DS18S20", "DS1822", "DS18X20")
_CHIP_SENSORS = frozenset({"ESP32"})
# Before NTP sync Tasmota counts from 1970; such a "Time" says nothing about when.
_EARLIEST_PLAUSIBLE_YEAR = 2016


def subscriptions(device_topic: str | None = None) -> list[str]:
    topic = device_topic or "+"
    return [f"tele/{topic}/SENSOR", f"tele/{topic}/LWT", f"stat/{topic}/STATUS10"]


def decode(topic: str, payload: bytes, *, retained: bool, options: DecodeOptions) -> DecodedMessage:
    segments = topic.split("/")
    device = "/".join(segments[1:-1])
    if len(segments) < 3 or segments[0] not in {"tele", "stat"} or not device:
        outcome: Outcome = Ignored(reason="not a Tasmota tele/ or stat/ topic")
        return message(FIRMWARE, topic, "", [outcome], retained=retained)
    prefix, command = segments[0], segments[-1]
    outcomes: list[Outcome]
    if prefix == "tele" and command == "LWT":
        outcomes = [availability(payload, online=["Online"], offline=["Offline"])]
    elif prefix == "tele" and command == "SENSOR":
        outcomes = _sensor_message(payload, options, wrapper=None)
    elif prefix == "stat" and command.startswith("STATUS"):
        outcomes = _sensor_message(payload, options, wrapper="StatusSNS")
    else:
        outcomes = [Ignored(reason=f"{prefix}/{command} carries no probe reading")]
    return message(FIRMWARE, topic, device, outcomes, retained=retained)


def _sensor_message(
    payload: bytes, options: DecodeOptions, *, wrapper: str | None
) -> list[Outcome]:
    body = decode_object(payload)
    if isinstance(body, Rejected):
        return [body]
    if wrapper is not None:
        inner = object_field(body, wrapper)
        if inner is None:
            return [Ignored(reason=f"status reply without {wrapper}: not the sensor status")]
        body = inner
    unit_field = body.get("TempUnit", "C")
    if unit_field not in ("C", "F"):
        return [rejected(f"unknown TempUnit {str(unit_field)[:10]!r}", payload)]
    unit: TemperatureUnit = "F" if unit_field == "F" else "C"
    device_time = _device_time(body.get("Time"), options.tasmota_utc_offset)
    readings: list[Reading] = []
    notes: list[str] = []
    for key, fields in body.items():
        if not isinstance(fields, dict):
            continue
        if key in _CHIP_SENSORS:
            notes.append(f"{key} is the microcontroller's own temperature, not the room")
            continue
        sensor, sentinels = _sensor_identity(key, fields)
        if "Temperature" in fields:
            readings.append(
                values.temperature(
                    sensor,
                    fields["Temperature"],
                    unit,
                    device_time=device_time,
                    sentinels_c=sentinels,
                )
            )
        if "Humidity" in fields:
            readings.append(values.humidity(sensor, fields["Humidity"], device_time=device_time))
        if "DewPoint" in fields:
            notes.append(f"{key} DewPoint is a computed dew point, not the air temperature")
    return readings_or_ignored(readings, notes, "no temperature or humidity sensor in message")


def _sensor_identity(
    key: str, fields: dict[str, object]
) -> tuple[str, Mapping[Fraction, str] | None]:
    """The stable sensor name and the sentinel values of its probe type."""
    family = key.split("-", 1)[0]
    if not family.upper().startswith(_DS18X20_FAMILIES):
        return key, None
    rom_id = fields.get("Id")
    if isinstance(rom_id, str) and rom_id:
        return f"{family}:{rom_id}", values.DS18X20_SENTINELS_C
    return key, values.DS18X20_SENTINELS_C


def _device_time(value: object, utc_offset: timedelta | None) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamped = datetime.fromisoformat(value)
        if stamped.year < _EARLIEST_PLAUSIBLE_YEAR:
            return None
        if stamped.tzinfo is not None:
            return stamped.astimezone(UTC)
        if utc_offset is None:
            return None
        return (stamped - utc_offset).replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
