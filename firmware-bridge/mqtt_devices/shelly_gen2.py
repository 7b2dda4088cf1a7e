"""Shelly Gen2/Gen3 (Plus, Pro, H&T Gen3) RPC notifications over MQTT.

- `<prefix>/events/rpc`: JSON-RPC notifications. `NotifyStatus` (changes only) and
  `NotifyFullStatus` (everything, e.g. when an H&T wakes) carry `params` with "ts" (Unix
  seconds, UTC) and one status object per component:
  `"temperature:0": {"id":0,"tC":4.5,"tF":40.1}`, `"humidity:0": {"id":0,"rh":55.2}`.
  A sensor that cannot be read has `tC: null` and `"errors": ["read"]` (or "out_of_range").
- `<prefix>/status/<component>`: the same status objects, when "generic status update over
  MQTT" is on; they carry no timestamp.
- `<prefix>/online`: "true" / "false" (retained; the MQTT last will).

The `temperature` inside `switch:N`, `cover:N`, `light:N`, `pm1:N`... is the relay's own chip
temperature, not the room: it is never a reading. Components `temperature:100`..`:104` are the
Plus add-on's DS18B20 probes, which get the DS18B20 sentinel checks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from firmware_bridge.mqtt_devices import values
from firmware_bridge.mqtt_devices.messages import DecodedMessage, DecodeOptions, Outcome, Reading
from firmware_bridge.mqtt_devices.payloads import (
    availability,
    decode_object,
    message,
    object_field,
    readings_or_ignored,
    rejected,
)
from firmware_bridge.readings import Ignored, ProbeFault, Rejected

FIRMWARE = "shelly-gen2"
_ADDON_FIRST_ID = 100
# "ts" before 2017 or after 2100 means the clock was never set (it counts from boot).
_TS_MIN = 1_483_228_800
_TS_MAX = 4_102_444_800
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def subscriptions(prefix: str | None = None) -> list[str]:
    base = prefix or "+"
    return [f"{base}/events/rpc", f"{base}/online", f"{base}/status/+"]


def decode(topic: str, payload: bytes, *, retained: bool, options: DecodeOptions) -> DecodedMessage:
    prefix, suffix = _split(topic)
    outcomes: list[Outcome]
    if suffix == "online":
        outcomes = [availability(payload, online=["true"], offline=["false"])]
    elif suffix == "events/rpc":
        outcomes = _notification(payload)
    elif suffix.startswith("status/"):
        outcomes = _status_topic(suffix.removeprefix("status/"), payload)
    else:
        outcomes = [Ignored(reason="not a Shelly Gen2 events/rpc, status or online topic")]
    return message(FIRMWARE, topic, prefix, outcomes, retained=retained)


def _split(topic: str) -> tuple[str, str]:
    """(prefix, what follows it) for the topics we read; ("", "") for anything else."""
    for suffix in ("/events/rpc", "/online"):
        if topic.endswith(suffix) and len(topic) > len(suffix):
            return topic[: -len(suffix)], suffix[1:]
    head, separator, component = topic.rpartition("/status/")
    if separator and head and component and "/" not in component:
        return head, f"status/{component}"
    return "", ""


def _notification(payload: bytes) -> list[Outcome]:
    frame = decode_object(payload)
    if isinstance(frame, Rejected):
        return [frame]
    method = frame.get("method")
    if method not in ("NotifyStatus", "NotifyFullStatus"):
        what = f"{str(method)[:40]} notification" if method else "RPC reply"
        return [Ignored(reason=f"{what} carries no status")]
    params = object_field(frame, "params")
    if params is None:
        return [rejected(f"{method} without a params object", payload)]
    device_time = _device_time(params.get("ts"))
    readings: list[Reading] = []
    notes: list[str] = []
    for component, status in params.items():
        if isinstance(status, dict):
            _component(component, status, device_time, readings, notes)
    return readings_or_ignored(readings, notes, f"{method} holds no temperature or humidity")


def _status_topic(component: str, payload: bytes) -> list[Outcome]:
    status = decode_object(payload)
    if isinstance(status, Rejected):
        return [status]
    readings: list[Reading] = []
    notes: list[str] = []
    _component(component, status, None, readings, notes)
    return readings_or_ignored(readings, notes, f"status of {component} holds no reading")


def _component(
    component: str,
    status: dict[str, object],
    device_time: datetime | None,
    readings: list[Reading],
    notes: list[str],
) -> None:
    kind, _, index = component.partition(":")
    errors = status.get("errors")
    if kind in ("temperature", "humidity") and isinstance(errors, list) and errors:
        field = "tC" if kind == "temperature" else "rh"
        reason = "sensor reports " + ", ".join(str(e)[:40] for e in errors)
        readings.append(
            ProbeFault(sensor=component, reason=reason, raw=values.raw_text(status.get(field)))
        )
    elif kind == "temperature":
        sentinels = values.DS18X20_SENTINELS_C if _is_addon(index) else None
        if "tC" in status:
            readings.append(
                values.temperature(
                    component, status["tC"], "C", device_time=device_time, sentinels_c=sentinels
                )
            )
        elif "tF" in status:
            readings.append(
                values.temperature(
                    component, status["tF"], "F", device_time=device_time, sentinels_c=sentinels
                )
            )
    elif kind == "humidity":
        if "rh" in status:
            readings.append(values.humidity(component, status["rh"], device_time=device_time))
    elif "temperature" in status:
        notes.append(f"{component} temperature is the device's own chip temperature, not the room")


def _is_addon(index: str) -> bool:
    return index.isascii() and index.isdigit() and len(index) <= 4 and int(index) >= _ADDON_FIRST_ID


def _device_time(ts: object) -> datetime | None:
    if isinstance(ts, bool) or not isinstance(ts, int | Decimal):
        return None
    if not _TS_MIN <= ts <= _TS_MAX:
        return None
    seconds = Decimal(ts)
    whole = int(seconds)
    micros = int((seconds - whole) * 1_000_000)
    return _EPOCH + timedelta(seconds=whole, microseconds=micros)
