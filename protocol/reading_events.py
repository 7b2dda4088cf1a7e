"""Device readings on the wire (bridge → edge over MQTT) and the cold-chain events of the log.

The firmware bridge publishes one `ReadingBatch` per device and flush on
`jxc/<store>/readings/<device>` (QoS 1, JSON): a device's readings in order, each with the
device's clock (`device_time`, None when the device keeps none), the bridge's receive time
(`received_at`) and a per-device `seq` that counts from 1 within a bridge run (`epoch`, the
bridge's start time in ms: a restarted bridge starts a new epoch). The edge checks each device's
seq for gaps, duplicates and late arrivals, so a loss is reported, never silent.

Units are integers: temperature in centi-°C, humidity in centi-%RH, weight in grams (net).
A fault (no probe, sentinel value, overload) is a `SensorFault`, never a value.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

from protocol.event_base import Event

UtcDatetime = Annotated[datetime, msgspec.Meta(tz=True)]

READINGS_TOPIC_ROOT: Final = "jxc"
# Device and location ids become MQTT topic levels: no '/', '+', '#', no whitespace.
DEVICE_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

Quantity = Literal["temperature", "humidity", "weight"]
DeviceKind = Literal["scale", "probe"]
DeviceAvailability = Literal["online", "stale", "offline", "removed"]


def is_valid_device_id(device_id: str) -> bool:
    return bool(DEVICE_ID_PATTERN.match(device_id))


def readings_topic(store_id: str, device_id: str) -> str:
    """`jxc/<store>/readings/<device>`: where the bridge publishes a device's readings."""
    return f"{READINGS_TOPIC_ROOT}/{store_id}/readings/{device_id}"


def readings_filter(store_id: str) -> str:
    """The subscription that covers every device of a store."""
    return f"{READINGS_TOPIC_ROOT}/{store_id}/readings/+"


class SensorValue(msgspec.Struct, frozen=True, kw_only=True):
    """One measured value: `value` is centi-°C, centi-%RH or grams according to `quantity`.

    `stable` is False for a weight taken while the scale reported motion (never sellable);
    probe values are always stable.
    """

    sensor: str
    quantity: Quantity
    value: int
    stable: bool = True


class SensorFault(msgspec.Struct, frozen=True, kw_only=True):
    """A channel that gave no usable value, with the reason (no probe, overload, motion...)."""

    sensor: str
    reason: str


class DeviceReading(msgspec.Struct, frozen=True, kw_only=True):
    """What one device said at one moment, as the bridge received it."""

    seq: int
    received_at: UtcDatetime
    device_time: UtcDatetime | None = None
    values: tuple[SensorValue, ...] = ()
    faults: tuple[SensorFault, ...] = ()
    availability: DeviceAvailability | None = None


class ReadingBatch(msgspec.Struct, frozen=True, kw_only=True):
    """One MQTT message: a device's readings since the last flush, oldest first."""

    store_id: str
    device_id: str
    kind: DeviceKind
    epoch: int
    readings: tuple[DeviceReading, ...]
    location_id: str = ""
    location_kind: str = ""
    product_class: str = ""


_batch_encoder = msgspec.json.Encoder()
_batch_decoder = msgspec.json.Decoder(ReadingBatch)


def encode_reading_batch(batch: ReadingBatch) -> bytes:
    return _batch_encoder.encode(batch)


def decode_reading_batch(payload: bytes) -> ReadingBatch:
    """Decode one MQTT payload; raises msgspec.DecodeError (with the reason) when malformed."""
    return _batch_decoder.decode(payload)


# --- events in the store's log -------------------------------------------------------------


class ReadingsRecorded(Event, frozen=True, kw_only=True):
    """A batch of a device's readings, accepted by the edge in seq order (no duplicates)."""

    device_id: str
    kind: DeviceKind
    epoch: int
    readings: tuple[DeviceReading, ...]
    location_id: str = ""
    product_class: str = ""


class ReadingSeqGap(Event, frozen=True, kw_only=True):
    """Readings `first_missing_seq..last_missing_seq` of a device never arrived (so far)."""

    device_id: str
    epoch: int
    first_missing_seq: int
    last_missing_seq: int


class ColdChainExcursionStarted(Event, frozen=True, kw_only=True):
    """A location was outside its product class's limits for longer than the grace time."""

    location_id: str
    device_id: str
    product_class: str
    direction: Literal["above", "below"]
    limit_centi_c: int
    temp_centi_c: int
    outside_since: UtcDatetime
    grace_s: int


class ColdChainExcursionEnded(Event, frozen=True, kw_only=True):
    """The location is back within limits; `worst_centi_c` is the furthest reading outside."""

    location_id: str
    device_id: str
    product_class: str
    outside_since: UtcDatetime
    ended_at: UtcDatetime
    worst_centi_c: int


class ProbeWentOffline(Event, frozen=True, kw_only=True):
    """A probe went silent past its staleness timeout, or said it is offline: not "fine"."""

    device_id: str
    location_id: str
    reason: str
    last_seen_at: UtcDatetime | None = None


class ProbeCameBack(Event, frozen=True, kw_only=True):
    """An offline probe reported again."""

    device_id: str
    location_id: str
    offline_since: UtcDatetime


COLDCHAIN_EVENT_TYPES: Final = (
    ReadingsRecorded,
    ReadingSeqGap,
    ColdChainExcursionStarted,
    ColdChainExcursionEnded,
    ProbeWentOffline,
    ProbeCameBack,
)
