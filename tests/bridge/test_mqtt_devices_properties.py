"""Property tests: no topic or payload makes a decoder raise, and values round-trip exactly."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.mqtt_devices import (
    FIRMWARES,
    DecodedMessage,
    DecodeOptions,
    Firmware,
    decode_message,
    explain_message,
)
from firmware_bridge.readings import Availability, Ignored, ProbeFault, ProbeSample, Rejected

OUTCOME_TYPES = (ProbeSample, ProbeFault, Availability, Ignored, Rejected)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

REAL_TOPICS: dict[Firmware, list[str]] = {
    "tasmota": ["tele/coldroom1/SENSOR", "tele/coldroom1/LWT", "stat/coldroom1/STATUS10"],
    "shelly-gen2": [
        "shellyplusht-x/events/rpc",
        "shellyplusht-x/online",
        "shellyplusht-x/status/temperature:0",
        "shellyplusht-x/status/switch:0",
    ],
    "shelly-gen1": [
        "shellies/ht/sensor/temperature",
        "shellies/ht/sensor/humidity",
        "shellies/ht/sensor/error",
        "shellies/s1/ext_temperature/0",
        "shellies/ht/online",
    ],
    "zigbee2mqtt": [
        "zigbee2mqtt/fridge",
        "zigbee2mqtt/cold/left/availability",
        "zigbee2mqtt/fridge/temperature",
        "zigbee2mqtt/bridge/state",
    ],
    "esphome": ["node/status", "node/sensor/probe/state"],
    "ttn-v3": ["v3/app@ttn/devices/lht65/up", "v3/app/devices/lht65/join"],
}

KEYS = [
    "Time", "TempUnit", "StatusSNS", "DS18B20", "DS18B20-1", "Id", "Temperature", "Humidity",
    "DewPoint", "ESP32", "method", "params", "ts", "temperature:0", "temperature:100",
    "humidity:0", "switch:0", "tC", "tF", "rh", "errors", "temperature", "humidity",
    "device_temperature", "state", "uplink_message", "decoded_payload", "f_port", "received_at",
    "simulated", "TempC_SHT", "TempC_DS", "Hum_SHT", "No_connect", "normalized_payload", "air",
    "relativeHumidity", "externalTemperature",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "nan",
            "NaN",
            "",
            "4.50",
            "-127",
            "85",
            "327.67",
            "F",
            "C",
            "K",
            "online",
            "offline",
            "NotifyStatus",
            "NotifyFullStatus",
            "1970-01-01T00:00:00",
            "2024-05-01T08:00:00Z",
            "2024-05-01T08:00:00+08:00",
            "9999-12-31T23:59:59-23:59",
            "read",
        ]
    ),
    st.text(max_size=12),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=6
        ),
    ),
    max_leaves=25,
)


def check(decoded: DecodedMessage, retained: bool) -> None:
    assert isinstance(decoded, DecodedMessage)
    assert decoded.outcomes
    assert decoded.retained_last_known is retained
    for outcome in decoded.outcomes:
        assert isinstance(outcome, OUTCOME_TYPES)
        if isinstance(outcome, ProbeSample):
            low, high = (-10_000, 20_000) if outcome.quantity == "temperature" else (0, 10_000)
            assert low <= outcome.value_centi <= high
            assert outcome.device_time is None or outcome.device_time.tzinfo is not None


@FAST
@given(
    firmware=st.sampled_from(FIRMWARES),
    topic=st.text(max_size=60),
    payload=st.binary(max_size=300),
    retained=st.booleans(),
)
def test_arbitrary_topic_and_bytes_never_raise(
    firmware: Firmware, topic: str, payload: bytes, retained: bool
) -> None:
    check(decode_message(firmware, topic, payload, retained=retained), retained)
    json.dumps(explain_message(firmware, topic, payload, retained))


@FAST
@given(data=st.data(), value=JSON_VALUES, retained=st.booleans(), fahrenheit=st.booleans())
def test_json_of_any_shape_on_real_topics_never_raises(
    data: st.DataObject, value: Any, retained: bool, fahrenheit: bool
) -> None:
    firmware = data.draw(st.sampled_from(FIRMWARES))
    topic = data.draw(st.sampled_from(REAL_TOPICS[firmware]))
    payload = json.dumps(value).encode()
    options = DecodeOptions(shelly_gen1_ht_unit="F" if fahrenheit else "C")
    check(decode_message(firmware, topic, payload, retained=retained, options=options), retained)
    json.dumps(explain_message(firmware, topic, payload, retained, options=options))


@FAST
@given(data=st.data(), text=st.text(max_size=20), retained=st.booleans())
def test_plain_text_payloads_on_real_topics_never_raise(
    data: st.DataObject, text: str, retained: bool
) -> None:
    firmware = data.draw(st.sampled_from(FIRMWARES))
    topic = data.draw(st.sampled_from(REAL_TOPICS[firmware]))
    check(decode_message(firmware, topic, text.encode(), retained=retained), retained)


def test_deeply_nested_json_is_rejected_not_a_recursion_crash() -> None:
    for payload in (b"[" * 200_000 + b"]" * 200_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        for firmware in FIRMWARES:
            topic = REAL_TOPICS[firmware][0]
            check(decode_message(firmware, topic, payload), False)


CELSIUS = st.decimals(min_value=Decimal("-55"), max_value=Decimal("125"), places=2).filter(
    lambda d: d not in (Decimal(85), Decimal(-127))
)


@FAST
@given(celsius=CELSIUS)
def test_two_decimal_celsius_values_arrive_exactly(celsius: Decimal) -> None:
    expected = int(celsius * 100)
    text = str(celsius)
    cases: list[tuple[Firmware, str, bytes]] = [
        (
            "tasmota",
            "tele/t/SENSOR",
            f'{{"SHT3X":{{"Temperature":{text}}},"TempUnit":"C"}}'.encode(),
        ),
        (
            "shelly-gen2",
            "s/events/rpc",
            f'{{"method":"NotifyStatus","params":{{"temperature:0":{{"tC":{text}}}}}}}'.encode(),
        ),
        ("shelly-gen1", "shellies/s/ext_temperature/0", text.encode()),
        ("zigbee2mqtt", "zigbee2mqtt/f", f'{{"temperature":{text}}}'.encode()),
        ("esphome", "n/sensor/p/state", text.encode()),
        (
            "ttn-v3",
            "v3/a/devices/d/up",
            f'{{"uplink_message":{{"f_port":2,"decoded_payload":{{"TempC_SHT":{text}}}}}}}'.encode(),
        ),
    ]
    for firmware, topic, payload in cases:
        outcome = decode_message(firmware, topic, payload).outcomes[0]
        assert isinstance(outcome, ProbeSample), (firmware, outcome)
        assert outcome.value_centi == expected, firmware
