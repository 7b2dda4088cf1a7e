"""Pure decoders of MQTT temperature-probe messages as real firmwares publish them.

No I/O and no clock: the MQTT shell hands each message's topic, payload and retain flag to
`decode_message` and publishes what comes back. One module per firmware family (Tasmota,
Shelly Gen2/Gen3 RPC, Shelly Gen1, Zigbee2MQTT, ESPHome, The Things Stack v3); each module's
docstring lists the payload shapes and traps it handles.

Values become centi-°C / centi-%RH from exact decimals (round half to even); NaN, null,
vendor sentinels (DS18B20 85 / -127 °C, Dragino 327.67) and implausible values become
`ProbeFault`; chip temperatures and dew points never become readings.
"""

from firmware_bridge.mqtt_devices.dispatch import decode_message, subscriptions
from firmware_bridge.mqtt_devices.explain import explain_message, format_centi
from firmware_bridge.mqtt_devices.messages import (
    DEFAULT_OPTIONS,
    FIRMWARES,
    DecodedMessage,
    DecodeOptions,
    Firmware,
    Outcome,
    Reading,
    SensorUnit,
    TemperatureUnit,
)

__all__ = [
    "DEFAULT_OPTIONS",
    "FIRMWARES",
    "DecodeOptions",
    "DecodedMessage",
    "Firmware",
    "Outcome",
    "Reading",
    "SensorUnit",
    "TemperatureUnit",
    "decode_message",
    "explain_message",
    "format_centi",
    "subscriptions",
]
