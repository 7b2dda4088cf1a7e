"""One entry point over all firmware families: decode a message, list the topics to subscribe."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple, Protocol

from firmware_bridge.mqtt_devices import (
    esphome,
    shelly_gen1,
    shelly_gen2,
    tasmota,
    ttn_v3,
    zigbee2mqtt,
)
from firmware_bridge.mqtt_devices.messages import (
    DEFAULT_OPTIONS,
    FIRMWARES,
    DecodedMessage,
    DecodeOptions,
    Firmware,
)
from firmware_bridge.mqtt_devices.payloads import message, rejected


class _Decode(Protocol):
    def __call__(
        self, topic: str, payload: bytes, *, retained: bool, options: DecodeOptions
    ) -> DecodedMessage: ...


class _Family(NamedTuple):
    decode: _Decode
    subscriptions: Callable[[str | None], list[str]]


_FAMILIES: Mapping[str, _Family] = MappingProxyType(
    {
        "tasmota": _Family(tasmota.decode, tasmota.subscriptions),
        "shelly-gen2": _Family(shelly_gen2.decode, shelly_gen2.subscriptions),
        "shelly-gen1": _Family(shelly_gen1.decode, shelly_gen1.subscriptions),
        "zigbee2mqtt": _Family(zigbee2mqtt.decode, zigbee2mqtt.subscriptions),
        "esphome": _Family(esphome.decode, esphome.subscriptions),
        "ttn-v3": _Family(ttn_v3.decode, ttn_v3.subscriptions),
    }
)


def decode_message(
    firmware: Firmware,
    topic: str,
    payload: bytes,
    *,
    retained: bool = False,
    options: DecodeOptions = DEFAULT_OPTIONS,
) -> DecodedMessage:
    """Decode one MQTT message published by a device of `firmware`. Never raises.

    `retained` is the MQTT retain flag of the delivered message; it is carried to
    `DecodedMessage.retained_last_known` because a retained reading is an old value replayed by
    the broker, not a new measurement. An unknown `firmware` (a CLI typo) is Rejected too.
    """
    family = _FAMILIES.get(firmware)
    if family is None:
        outcome = rejected(f"unknown firmware {str(firmware)[:40]!r}", payload)
        return message(str(firmware), topic, "", [outcome], retained=retained)
    return family.decode(topic, payload, retained=retained, options=options)


def subscriptions(firmware: Firmware, base_topic: str | None = None) -> list[str]:
    """The MQTT topic filters to subscribe to for `firmware`.

    `base_topic` narrows them, its meaning per firmware: Tasmota device %topic%, Shelly Gen2
    topic prefix, Shelly Gen1 root (default "shellies"), Zigbee2MQTT base topic (default
    "zigbee2mqtt"), ESPHome node topic prefix, TTN application id with tenant ("app@ttn").
    Unset, they match every device. Raises ValueError for an unknown firmware or a base topic
    that is empty or holds MQTT wildcards (configuration errors, found at start-up).
    """
    family = _FAMILIES.get(firmware)
    if family is None:
        raise ValueError(f"unknown firmware {firmware!r}; expected one of {', '.join(FIRMWARES)}")
    if base_topic is not None and (not base_topic or "+" in base_topic or "#" in base_topic):
        raise ValueError(f"base topic must be a plain topic, got {base_topic!r}")
    return family.subscriptions(base_topic)
