"""Turning payload bytes into JSON values, text and availability, without ever raising."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal

import msgspec

from firmware_bridge.mqtt_devices.messages import DecodedMessage, Outcome, Reading
from firmware_bridge.readings import Availability, Ignored, Rejected

# A Rejected keeps the offending bytes for diagnosis, bounded so a flood of 1 MB garbage
# messages cannot pile up in memory.
REJECTED_RAW_LIMIT = 1024

_JSON = msgspec.json.Decoder(float_hook=Decimal)
# Older Tasmota drivers (and some hand-written firmwares) print a failed float as a bare
# `nan`, which makes the whole message invalid JSON. Read it as null so the one bad sensor
# becomes a fault instead of losing every other reading in the message.
_BARE_NAN = re.compile(rb"(?<=[:\[,])(\s*)[+-]?nan(?=\s*[,}\]])", re.IGNORECASE)


def rejected(reason: str, payload: bytes) -> Rejected:
    return Rejected(reason=reason, raw=payload[:REJECTED_RAW_LIMIT])


def decode_json(payload: bytes) -> object | Rejected:
    """The JSON value in `payload` (floats as Decimal), or Rejected with the reason."""
    try:
        value: object = _JSON.decode(payload)
    except RecursionError:
        return rejected("JSON nested too deeply", payload)
    except msgspec.DecodeError as error:
        repaired = _BARE_NAN.sub(rb"\1null", payload)
        if repaired != payload:
            return decode_json(repaired)
        return rejected(f"invalid JSON: {error}", payload)
    return value


def decode_object(payload: bytes) -> dict[str, object] | Rejected:
    """The JSON object in `payload`, or Rejected (invalid JSON, or JSON of another shape)."""
    value = decode_json(payload)
    if isinstance(value, Rejected):
        return value
    if not isinstance(value, dict):
        return rejected(f"expected a JSON object, got {_json_kind(value)}", payload)
    return value


def decode_text(payload: bytes) -> str | Rejected:
    """The payload as stripped UTF-8 text, or Rejected."""
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return rejected("payload is not UTF-8 text", payload)


def object_field(container: Mapping[str, object], key: str) -> dict[str, object] | None:
    """`container[key]` when it is a JSON object, else None."""
    value = container.get(key)
    return value if isinstance(value, dict) else None


def availability(
    payload: bytes, online: Collection[str], offline: Collection[str]
) -> Availability | Rejected:
    """An availability topic's payload: one of the given words (any case), or empty.

    An empty payload clears the topic's retained message; firmwares and bridges do that when a
    device is deleted or renamed, so the device is "removed". A broker forwards the clearing
    message to present subscribers with the retain flag unset (MQTT 3.1.1), so emptiness alone
    decides, not the flag.
    """
    text = decode_text(payload)
    if isinstance(text, Rejected):
        return text
    return availability_word(text, online, offline, payload)


def availability_word(
    text: str, online: Collection[str], offline: Collection[str], payload: bytes
) -> Availability | Rejected:
    """`availability` once the payload is text (or a JSON string field of it)."""
    word = text.strip().lower()
    if word == "":
        return Availability(state="removed")
    if word in {w.lower() for w in online}:
        return Availability(state="online")
    if word in {w.lower() for w in offline}:
        return Availability(state="offline")
    return rejected(f"unknown availability payload {text[:40]!r}", payload)


def readings_or_ignored(readings: list[Reading], notes: list[str], nothing: str) -> list[Outcome]:
    """The readings of a message; when it has none, one Ignored saying why.

    `notes` name what was skipped (chip temperature, dew point); they matter only when they
    are the reason a message yields nothing.
    """
    if readings:
        return list(readings)
    return [Ignored(reason="; ".join(notes) if notes else nothing)]


def message(
    firmware: str, topic: str, device: str, outcomes: Iterable[Outcome], *, retained: bool
) -> DecodedMessage:
    return DecodedMessage(
        firmware=firmware,
        topic=topic,
        device=device,
        outcomes=tuple(outcomes),
        retained_last_known=retained,
    )


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
