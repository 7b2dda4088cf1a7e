"""LoRaWAN sensors through The Things Stack v3 MQTT: `v3/<app>@<tenant>/devices/<device>/up`.

(The open-source stack drops "@<tenant>"; The Things Network's tenant is "ttn".) The uplink
JSON carries `uplink_message.decoded_payload`, the output of the device's payload formatter,
whose field names are the vendor's:

- Dragino LHT65/LHT65N: `TempC_SHT`, `Hum_SHT` (built-in SHT20/31), `TempC_DS` (external
  DS18B20), `TempC_TMP117`. 327.67 (0x7FFF) is the "no sensor" value and `No_connect` says
  the external probe is unplugged. Old formatters emit the numbers as strings ("27.81").
- Milesight EM300-TH and Elsys ERS: `temperature`, `humidity`; Elsys ELT `externalTemperature`.
- Failing those, `normalized_payload` (`[{"air": {"temperature":…, "relativeHumidity":…}}]`).

The network's reception time (`uplink_message.received_at`, else the top-level `received_at`)
stands in for the device time: a class A sensor transmits right after it measures. Empty
fields are omitted by the stack, so a missing `f_port` is port 0 (MAC commands only). An
uplink without `decoded_payload` has no formatter or one that failed; a `simulated` uplink was
typed into the console. Neither is a measurement.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from fractions import Fraction
from typing import NamedTuple

from firmware_bridge.mqtt_devices import values
from firmware_bridge.mqtt_devices.messages import DecodedMessage, DecodeOptions, Outcome, Reading
from firmware_bridge.mqtt_devices.payloads import (
    decode_object,
    message,
    object_field,
    readings_or_ignored,
    rejected,
)
from firmware_bridge.readings import Ignored, ProbeFault, ProbeQuantity, Rejected

FIRMWARE = "ttn-v3"
_DRAGINO_NO_SENSOR: Mapping[Fraction, str] = {
    Fraction("327.67"): "no sensor: 327.67 (0x7FFF) is Dragino's 'no probe' value"
}


class _Field(NamedTuple):
    name: str
    quantity: ProbeQuantity
    sentinels_c: Mapping[Fraction, str] | None = None


_DECODED_FIELDS = (
    _Field("TempC_SHT", "temperature", _DRAGINO_NO_SENSOR),
    _Field("Hum_SHT", "humidity"),
    _Field("TempC_DS", "temperature", {**_DRAGINO_NO_SENSOR, **values.DS18X20_SENTINELS_C}),
    _Field("TempC_TMP117", "temperature", _DRAGINO_NO_SENSOR),
    _Field("temperature", "temperature"),
    _Field("humidity", "humidity"),
    _Field("externalTemperature", "temperature"),
)
_NORMALIZED_FIELDS: tuple[tuple[str, ProbeQuantity], ...] = (
    ("temperature", "temperature"),
    ("relativeHumidity", "humidity"),
)


def subscriptions(application: str | None = None) -> list[str]:
    return [f"v3/{application or '+'}/devices/+/up"]


def decode(topic: str, payload: bytes, *, retained: bool, options: DecodeOptions) -> DecodedMessage:
    segments = topic.split("/")
    if len(segments) < 5 or segments[0] != "v3" or segments[2] != "devices":
        outcome: Outcome = Ignored(reason="not a The Things Stack v3/<app>/devices/<id>/ topic")
        return message(FIRMWARE, topic, "", [outcome], retained=retained)
    device = f"{segments[1]}/{segments[3]}"
    event = "/".join(segments[4:])
    if event != "up":
        outcome = Ignored(reason=f"{event[:40]} event carries no uplink reading")
        return message(FIRMWARE, topic, device, [outcome], retained=retained)
    return message(FIRMWARE, topic, device, _uplink(payload), retained=retained)


def _uplink(payload: bytes) -> list[Outcome]:
    body = decode_object(payload)
    if isinstance(body, Rejected):
        return [body]
    uplink = object_field(body, "uplink_message")
    if uplink is None:
        return [rejected("no uplink_message object in the uplink", payload)]
    if body.get("simulated") is True:
        return [Ignored(reason="simulated uplink typed into the console, not a measurement")]
    f_port = uplink.get("f_port", 0)
    if isinstance(f_port, bool) or not isinstance(f_port, int):
        return [rejected("f_port is not an integer", payload)]
    if f_port == 0:
        return [Ignored(reason="f_port 0: MAC commands only, no application data")]
    if "decoded_payload" not in uplink:
        return [
            Ignored(reason="uplink without decoded_payload: no payload formatter, or it failed")
        ]
    decoded = object_field(uplink, "decoded_payload")
    if decoded is None:
        return [rejected("decoded_payload is not a JSON object", payload)]
    device_time = _timestamp(uplink.get("received_at")) or _timestamp(body.get("received_at"))
    readings = _decoded(decoded, device_time) or _normalized(
        uplink.get("normalized_payload"), device_time
    )
    keys = ", ".join(sorted(decoded)[:10])
    return readings_or_ignored(
        readings, [], f"decoded_payload has no temperature or humidity field we know ({keys})"
    )


def _decoded(decoded: dict[str, object], device_time: datetime | None) -> list[Reading]:
    readings: list[Reading] = []
    for field in _DECODED_FIELDS:
        if field.name not in decoded:
            continue
        raw = decoded[field.name]
        if field.name == "TempC_DS" and "No_connect" in decoded:
            reason = "Dragino reports the external probe is not connected"
            readings.append(ProbeFault(sensor=field.name, reason=reason, raw=values.raw_text(raw)))
        elif field.quantity == "humidity":
            readings.append(values.humidity(field.name, raw, device_time=device_time))
        else:
            readings.append(
                values.temperature(
                    field.name,
                    raw,
                    "C",
                    device_time=device_time,
                    sentinels_c=field.sentinels_c,
                )
            )
    return readings


def _normalized(normalized: object, device_time: datetime | None) -> list[Reading]:
    if not isinstance(normalized, list):
        return []
    readings: list[Reading] = []
    for index, measurement in enumerate(normalized[:16]):
        air = object_field(measurement, "air") if isinstance(measurement, dict) else None
        if air is None:
            continue
        for name, quantity in _NORMALIZED_FIELDS:
            if name in air:
                sensor = f"normalized[{index}].air.{name}"
                readings.append(
                    values.reading(sensor, quantity, air[name], device_time=device_time)
                )
    return readings


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamped = datetime.fromisoformat(value)
        return stamped.astimezone(UTC) if stamped.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None
