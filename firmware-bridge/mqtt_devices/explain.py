"""A person-readable, JSON-able account of what one MQTT message says (`jxc device decode`)."""

from __future__ import annotations

from typing import Any

from firmware_bridge.mqtt_devices.dispatch import decode_message
from firmware_bridge.mqtt_devices.messages import DEFAULT_OPTIONS, DecodeOptions, Firmware
from firmware_bridge.readings import Availability, Ignored, ProbeFault, ProbeSample, Rejected

_RAW_SHOWN = 256
_UNITS = {"temperature": "°C", "humidity": "%RH"}


def explain_message(
    firmware: Firmware,
    topic: str,
    payload: bytes,
    retained: bool = False,
    *,
    options: DecodeOptions = DEFAULT_OPTIONS,
) -> dict[str, Any]:
    """What `decode_message` makes of the message, as plain JSON types.

    Keys: firmware, topic, device, retained_last_known, readings (sensor, quantity, value as
    a decimal string, unit, value_centi, device_time), faults, availability (or None), ignored
    and rejected reasons, and a one-line summary.
    """
    decoded = decode_message(firmware, topic, payload, retained=retained, options=options)
    readings: list[dict[str, Any]] = []
    faults: list[dict[str, str]] = []
    ignored: list[str] = []
    rejected: list[dict[str, str]] = []
    availability: str | None = None
    for outcome in decoded.outcomes:
        if isinstance(outcome, ProbeSample):
            readings.append(
                {
                    "sensor": outcome.sensor,
                    "quantity": outcome.quantity,
                    "value": format_centi(outcome.value_centi),
                    "unit": _UNITS[outcome.quantity],
                    "value_centi": outcome.value_centi,
                    "device_time": (
                        outcome.device_time.isoformat() if outcome.device_time else None
                    ),
                }
            )
        elif isinstance(outcome, ProbeFault):
            faults.append({"sensor": outcome.sensor, "reason": outcome.reason, "raw": outcome.raw})
        elif isinstance(outcome, Availability):
            availability = outcome.state
        elif isinstance(outcome, Ignored):
            ignored.append(outcome.reason)
        elif isinstance(outcome, Rejected):
            shown = outcome.raw[:_RAW_SHOWN].decode("utf-8", errors="backslashreplace")
            rejected.append({"reason": outcome.reason, "raw": shown})
    return {
        "firmware": decoded.firmware,
        "topic": decoded.topic,
        "device": decoded.device,
        "retained_last_known": decoded.retained_last_known,
        "readings": readings,
        "faults": faults,
        "availability": availability,
        "ignored": ignored,
        "rejected": rejected,
        "summary": _summary(readings, faults, availability, ignored, rejected, retained),
    }


def format_centi(value_centi: int) -> str:
    """Hundredths as a decimal string: 450 -> "4.50", -5 -> "-0.05"."""
    sign = "-" if value_centi < 0 else ""
    whole, cents = divmod(abs(value_centi), 100)
    return f"{sign}{whole}.{cents:02d}"


def _summary(
    readings: list[dict[str, Any]],
    faults: list[dict[str, str]],
    availability: str | None,
    ignored: list[str],
    rejected: list[dict[str, str]],
    retained: bool,
) -> str:
    parts = [f"{r['sensor']} {r['value']} {r['unit']}" for r in readings]
    parts += [f"{f['sensor']} fault: {f['reason']}" for f in faults]
    if availability is not None:
        parts.append(f"device {availability}")
    parts += [f"ignored: {reason}" for reason in ignored]
    parts += [f"rejected: {r['reason']}" for r in rejected]
    text = "; ".join(parts)
    if retained and (readings or faults):
        text += " (retained: last known value, not a new reading)"
    return text
