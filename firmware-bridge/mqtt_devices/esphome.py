"""ESPHome's MQTT client: `<node>/sensor/<object id>/state` and `<node>/status`.

A state is the number as text, rounded to the sensor's accuracy ("4.50"); a sensor without a
value publishes "nan". The unit is in the node's YAML, not in the message, so it comes from
`DecodeOptions.esphome_units` (per object id) or `esphome_default_unit` (°C unless set to None,
which ignores unlisted sensors such as `wifi_signal` or `uptime`). `<node>/status` is the birth
"online" and last will "offline". The node's topic prefix may contain "/".
"""

from __future__ import annotations

from firmware_bridge.mqtt_devices import values
from firmware_bridge.mqtt_devices.messages import DecodedMessage, DecodeOptions, Outcome
from firmware_bridge.mqtt_devices.payloads import availability, decode_text, message
from firmware_bridge.readings import Ignored, Rejected

FIRMWARE = "esphome"
# Home Assistant's own birth message lands on a topic of the same shape as a node's status.
_HOME_ASSISTANT_STATUS = "homeassistant/status"


def subscriptions(node: str | None = None) -> list[str]:
    base = node or "+"
    return [f"{base}/status", f"{base}/sensor/+/state"]


def decode(topic: str, payload: bytes, *, retained: bool, options: DecodeOptions) -> DecodedMessage:
    segments = topic.split("/")
    outcome: Outcome
    if topic == _HOME_ASSISTANT_STATUS:
        outcome = Ignored(reason="Home Assistant's own status, not an ESPHome node")
        return message(FIRMWARE, topic, "", [outcome], retained=retained)
    if len(segments) >= 2 and segments[-1] == "status" and all(segments[:-1]):
        node = "/".join(segments[:-1])
        outcome = availability(payload, online=["online"], offline=["offline"])
        return message(FIRMWARE, topic, node, [outcome], retained=retained)
    if len(segments) >= 4 and segments[-3] == "sensor" and segments[-1] == "state":
        node, object_id = "/".join(segments[:-3]), segments[-2]
        outcome = _state(object_id, payload, options)
        return message(FIRMWARE, topic, node, [outcome], retained=retained)
    outcome = Ignored(reason="not an ESPHome sensor state or status topic")
    return message(FIRMWARE, topic, "", [outcome], retained=retained)


def _state(object_id: str, payload: bytes, options: DecodeOptions) -> Outcome:
    unit = options.esphome_units.get(object_id, options.esphome_default_unit)
    if unit is None:
        return Ignored(reason=f"sensor {object_id[:40]!r} has no configured unit")
    text = decode_text(payload)
    if isinstance(text, Rejected):
        return text
    if text == "":
        return Ignored(reason="empty payload: the retained state was cleared")
    if unit == "%":
        return values.humidity(object_id, text)
    return values.temperature(
        object_id,
        text,
        "F" if unit == "°F" else "C",
        sentinels_c=values.DS18X20_SENTINELS_C,
    )
