"""What device drivers produce: typed, integer-unit values, no I/O.

Drivers (scales, probes) yield these; the shells add where and when the bytes arrived and
publish them. Temperatures in centi-degrees Celsius, humidity in centi-percent, weights in
the unit the scale reports scaled to integers (see each driver).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

UtcDatetime = Annotated[datetime, msgspec.Meta(tz=True)]

ProbeQuantity = Literal["temperature", "humidity"]


class ProbeSample(msgspec.Struct, frozen=True, kw_only=True):
    """One measured value of one sensor channel of a probe.

    `sensor` names the channel within the device (e.g. "DS18B20-1", "temperature:0", "reg1").
    `value_centi` is temperature in centi-°C or humidity in centi-%RH, already converted from
    the device's unit (°F payloads are converted here, never downstream).
    """

    sensor: str
    quantity: ProbeQuantity
    value_centi: int
    device_time: UtcDatetime | None = None


class ProbeFault(msgspec.Struct, frozen=True, kw_only=True):
    """A channel that reported a value that is not a reading (no probe, sentinel, NaN)."""

    sensor: str
    reason: str
    raw: str = ""


class Availability(msgspec.Struct, frozen=True, kw_only=True):
    """A device said it is online/offline, or was removed (empty retained message)."""

    state: Literal["online", "offline", "removed"]


class Ignored(msgspec.Struct, frozen=True, kw_only=True):
    """A message that is valid but carries no reading we use, with the reason."""

    reason: str


class Rejected(msgspec.Struct, frozen=True, kw_only=True):
    """A message that is malformed, with the reason and the offending bytes."""

    reason: str
    raw: bytes = b""
