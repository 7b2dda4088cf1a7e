"""ESPHome MQTT sensor states (bare numbers, unit from config) and node status."""

from __future__ import annotations

from typing import Literal

import pytest

from firmware_bridge.mqtt_devices import (
    DecodedMessage,
    DecodeOptions,
    SensorUnit,
    decode_message,
    subscriptions,
)
from firmware_bridge.readings import Availability, Ignored, ProbeFault, ProbeSample, Rejected


def esphome(
    topic: str, payload: bytes, *, retained: bool = False, options: DecodeOptions | None = None
) -> DecodedMessage:
    return decode_message(
        "esphome", topic, payload, retained=retained, options=options or DecodeOptions()
    )


def only(decoded: DecodedMessage) -> object:
    assert len(decoded.outcomes) == 1, decoded.outcomes
    return decoded.outcomes[0]


def test_state_in_celsius_by_default() -> None:
    decoded = esphome("coldroom-esp/sensor/coldroom_probe/state", b"4.50")
    assert decoded.device == "coldroom-esp"
    assert only(decoded) == ProbeSample(
        sensor="coldroom_probe", quantity="temperature", value_centi=450
    )


@pytest.mark.parametrize(
    ("object_id", "unit", "payload", "quantity", "centi"),
    [
        ("freezer_f", "°F", b"-0.4", "temperature", -1800),
        ("freezer_f", "°F", b"4.35", "temperature", -1536),
        ("coldroom_humidity", "%", b"83.2", "humidity", 8320),
        ("coldroom_probe", "°C", b"-18.25", "temperature", -1825),
    ],
)
def test_unit_comes_from_the_per_sensor_hint(
    object_id: str,
    unit: SensorUnit,
    payload: bytes,
    quantity: Literal["temperature", "humidity"],
    centi: int,
) -> None:
    options = DecodeOptions(esphome_units={object_id: unit})
    decoded = esphome(f"coldroom-esp/sensor/{object_id}/state", payload, options=options)
    assert only(decoded) == ProbeSample(sensor=object_id, quantity=quantity, value_centi=centi)


def test_unlisted_sensors_are_ignored_when_there_is_no_default_unit() -> None:
    options = DecodeOptions(esphome_units={"coldroom_probe": "°C"}, esphome_default_unit=None)
    uptime = only(esphome("coldroom-esp/sensor/uptime/state", b"86400", options=options))
    assert isinstance(uptime, Ignored)
    probe = only(esphome("coldroom-esp/sensor/coldroom_probe/state", b"3.1", options=options))
    assert isinstance(probe, ProbeSample)


def test_a_misconfigured_sensor_read_as_celsius_is_caught_by_the_range_check() -> None:
    fault = only(esphome("coldroom-esp/sensor/uptime/state", b"86400"))
    assert isinstance(fault, ProbeFault)
    assert "out of range" in fault.reason


@pytest.mark.parametrize(
    ("payload", "reason_part"),
    [
        (b"nan", "no reading"),
        (b"NaN", "no reading"),
        (b"-127.00", "disconnected"),
        (b"85.00", "power-on"),
        (b"4,5", "not a number"),
        (b"ON", "not a number"),
    ],
)
def test_values_that_are_not_readings_are_faults(payload: bytes, reason_part: str) -> None:
    fault = only(esphome("coldroom-esp/sensor/coldroom_probe/state", payload))
    assert isinstance(fault, ProbeFault)
    assert reason_part in fault.reason
    assert fault.raw == payload.decode()


@pytest.mark.parametrize(
    ("payload", "state"), [(b"online", "online"), (b"offline", "offline"), (b"", "removed")]
)
def test_status(payload: bytes, state: Literal["online", "offline", "removed"]) -> None:
    decoded = esphome("store7/coldroom-esp/status", payload, retained=True)
    assert decoded.device == "store7/coldroom-esp"
    assert only(decoded) == Availability(state=state)


def test_home_assistant_birth_message_is_not_a_node() -> None:
    assert isinstance(only(esphome("homeassistant/status", b"online")), Ignored)


def test_retained_state_is_flagged() -> None:
    decoded = esphome("coldroom-esp/sensor/coldroom_probe/state", b"4.50", retained=True)
    assert decoded.retained_last_known is True


def test_non_utf8_state_is_rejected() -> None:
    outcome = only(esphome("coldroom-esp/sensor/coldroom_probe/state", b"\xc3\x28"))
    assert isinstance(outcome, Rejected)


@pytest.mark.parametrize(
    "topic",
    [
        "coldroom-esp/binary_sensor/door/state",
        "coldroom-esp/sensor/coldroom_probe/command",
        "coldroom-esp/debug",
        "homeassistant/sensor/coldroom-esp/coldroom_probe/config",
        "/status",
    ],
)
def test_other_topics_are_ignored(topic: str) -> None:
    assert isinstance(only(esphome(topic, b"ON")), Ignored)


def test_subscriptions() -> None:
    assert subscriptions("esphome") == ["+/status", "+/sensor/+/state"]
    assert subscriptions("esphome", "coldroom-esp") == [
        "coldroom-esp/status",
        "coldroom-esp/sensor/+/state",
    ]
