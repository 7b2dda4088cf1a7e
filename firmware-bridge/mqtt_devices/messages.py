"""What decoding one MQTT message yields, and the knobs a store sets per firmware."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, TypeAlias

import msgspec

from firmware_bridge.readings import Availability, Ignored, ProbeFault, ProbeSample, Rejected

Firmware = Literal["tasmota", "shelly-gen2", "shelly-gen1", "zigbee2mqtt", "esphome", "ttn-v3"]
FIRMWARES: tuple[Firmware, ...] = (
    "tasmota",
    "shelly-gen2",
    "shelly-gen1",
    "zigbee2mqtt",
    "esphome",
    "ttn-v3",
)

TemperatureUnit = Literal["C", "F"]
# What an ESPHome sensor reports; its payload is a bare number, so the unit comes from config.
SensorUnit = Literal["°C", "°F", "%"]

Reading: TypeAlias = ProbeSample | ProbeFault
Outcome: TypeAlias = ProbeSample | ProbeFault | Availability | Ignored | Rejected


class DecodedMessage(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one MQTT message said about one device.

    `device` is the key the topic names (Tasmota %topic%, Shelly prefix or id, Zigbee2MQTT
    friendly name, ESPHome node, TTN `application/device`); "" when the topic names none.
    `retained_last_known` is the MQTT retain flag: a retained message is the broker's copy of
    the last value published, possibly hours old, not a new measurement.
    """

    firmware: str
    topic: str
    device: str
    outcomes: tuple[Outcome, ...]
    retained_last_known: bool = False

    @property
    def readings(self) -> tuple[Reading, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, ProbeSample | ProbeFault))


class DecodeOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Per-store facts the payloads do not carry.

    - `tasmota_utc_offset`: Tasmota's "Time" is local time without a zone (unless SetOption52
      is on). With an offset the device time becomes UTC; with None it stays unknown (None),
      because guessing a zone would shift every reading of an excursion.
    - `shelly_gen1_ht_unit`: a Gen1 H&T publishes `sensor/temperature` in the unit set in its
      web UI, and nothing in the message says which.
    - `esphome_units`: unit per ESPHome sensor object id (`cold_room_temp` -> "°C"); sensors not
      listed use `esphome_default_unit`, or are ignored when that is None.
    - `zigbee2mqtt_base_topic`: Zigbee2MQTT's `mqtt.base_topic` (friendly names may hold "/").
    """

    tasmota_utc_offset: timedelta | None = None
    shelly_gen1_ht_unit: TemperatureUnit = "C"
    esphome_units: dict[str, SensorUnit] = {}
    esphome_default_unit: SensorUnit | None = "°C"
    zigbee2mqtt_base_topic: str = "zigbee2mqtt"


DEFAULT_OPTIONS = DecodeOptions()
