"""Zigbee2MQTT device state, availability (both payload forms) and the topics to skip."""

from __future__ import annotations

from typing import Literal

import pytest

from firmware_bridge.mqtt_devices import (
    DecodedMessage,
    DecodeOptions,
    decode_message,
    subscriptions,
)
from firmware_bridge.readings import Availability, Ignored, ProbeFault, ProbeSample, Rejected

# From the Zigbee2MQTT "MQTT topics and messages" page (Xiaomi WSDCGQ01LM).
XIAOMI_WSDCGQ01LM = b'{"temperature":27.34,"humidity":44.72}'
# An Aqara WSDCGQ11LM as a 1.x bridge publishes it: chip temperature, battery, radio.
AQARA_WSDCGQ11LM = (
    b'{"battery":91,"device_temperature":24,"humidity":78.41,"linkquality":142,'
    b'"power_outage_count":3,"pressure":1012.4,"temperature":3.62,"voltage":2985}'
)


def z2m(
    topic: str, payload: bytes, *, retained: bool = False, options: DecodeOptions | None = None
) -> DecodedMessage:
    return decode_message(
        "zigbee2mqtt", topic, payload, retained=retained, options=options or DecodeOptions()
    )


def samples(decoded: DecodedMessage) -> dict[tuple[str, str], int]:
    return {
        (o.sensor, o.quantity): o.value_centi
        for o in decoded.outcomes
        if isinstance(o, ProbeSample)
    }


def only(decoded: DecodedMessage) -> object:
    assert len(decoded.outcomes) == 1, decoded.outcomes
    return decoded.outcomes[0]


def test_documented_state_message() -> None:
    decoded = z2m("zigbee2mqtt/fridge_1", XIAOMI_WSDCGQ01LM)
    assert decoded.device == "fridge_1"
    assert samples(decoded) == {
        ("temperature", "temperature"): 2734,
        ("humidity", "humidity"): 4472,
    }


def test_device_temperature_is_not_the_room() -> None:
    decoded = z2m("zigbee2mqtt/cold-room/left", AQARA_WSDCGQ11LM)
    assert decoded.device == "cold-room/left"
    assert samples(decoded) == {("temperature", "temperature"): 362, ("humidity", "humidity"): 7841}
    chip_only = only(
        z2m("zigbee2mqtt/plug", b'{"device_temperature":41,"power":12.5,"state":"ON"}')
    )
    assert isinstance(chip_only, Ignored)
    assert "chip" in chip_only.reason


def test_null_temperature_is_a_fault() -> None:
    decoded = z2m("zigbee2mqtt/fridge_1", b'{"temperature":null,"humidity":50.1,"battery":80}')
    assert samples(decoded) == {("humidity", "humidity"): 5010}
    assert any(isinstance(o, ProbeFault) and o.sensor == "temperature" for o in decoded.outcomes)


def test_state_without_readings_is_ignored() -> None:
    outcome = only(z2m("zigbee2mqtt/door", b'{"contact":true,"battery":100,"linkquality":90}'))
    assert isinstance(outcome, Ignored)


def test_retained_state_is_flagged_as_last_known() -> None:
    # With `retain: true` on a device the broker replays its last state on every reconnect.
    decoded = z2m("zigbee2mqtt/fridge_1", XIAOMI_WSDCGQ01LM, retained=True)
    assert decoded.retained_last_known is True


@pytest.mark.parametrize(
    ("payload", "state"),
    [
        (b'{"state":"online"}', "online"),
        (b'{"state":"offline"}', "offline"),
        (b"online", "online"),  # legacy_availability_payload: true (1.x default)
        (b"offline", "offline"),
        (b"", "removed"),  # retained availability cleared: device removed or renamed
    ],
)
def test_availability_both_forms(
    payload: bytes, state: Literal["online", "offline", "removed"]
) -> None:
    decoded = z2m("zigbee2mqtt/cold-room/left/availability", payload, retained=True)
    assert decoded.device == "cold-room/left"
    assert only(decoded) == Availability(state=state)


@pytest.mark.parametrize("payload", [b'{"state":"dunno"}', b'{"status":"online"}', b"{", b"up"])
def test_bad_availability_is_rejected(payload: bytes) -> None:
    outcome = only(z2m("zigbee2mqtt/fridge_1/availability", payload))
    assert isinstance(outcome, Rejected)
    assert outcome.raw == payload


@pytest.mark.parametrize(
    "topic",
    [
        "zigbee2mqtt/bridge/state",
        "zigbee2mqtt/bridge/devices",
        "zigbee2mqtt/bridge/logging",
        "zigbee2mqtt/fridge_1/set",
        "zigbee2mqtt/fridge_1/get",
        "zigbee2mqtt/fridge_1/set/temperature_unit",
        "homeassistant/sensor/fridge_1/temperature/config",
        "zigbee2mqtt",
    ],
)
def test_bridge_command_and_foreign_topics_are_ignored(topic: str) -> None:
    assert isinstance(only(z2m(topic, XIAOMI_WSDCGQ01LM)), Ignored)


def test_attribute_output_mode() -> None:
    # `output: attribute` publishes each value on its own topic.
    temp = z2m("zigbee2mqtt/fridge_1/temperature", b"3.7")
    assert temp.device == "fridge_1"
    assert samples(temp) == {("temperature", "temperature"): 370}
    hum = z2m("zigbee2mqtt/fridge_1/humidity", b"66")
    assert samples(hum) == {("humidity", "humidity"): 6600}
    for attribute, payload in (("device_temperature", b"30"), ("update_state", b"idle")):
        assert isinstance(only(z2m(f"zigbee2mqtt/fridge_1/{attribute}", payload)), Ignored)


def test_custom_base_topic() -> None:
    options = DecodeOptions(zigbee2mqtt_base_topic="store7/zigbee")
    decoded = z2m("store7/zigbee/fridge_1", XIAOMI_WSDCGQ01LM, options=options)
    assert decoded.device == "fridge_1"
    assert len(samples(decoded)) == 2
    assert isinstance(
        only(z2m("zigbee2mqtt/fridge_1", XIAOMI_WSDCGQ01LM, options=options)), Ignored
    )


def test_empty_state_clears_nothing_into_a_reading() -> None:
    assert isinstance(only(z2m("zigbee2mqtt/fridge_1", b"")), Ignored)


@pytest.mark.parametrize("payload", [b"{bad json", b"[1,2]", b"42", b"\x80\x81"])
def test_malformed_state_is_rejected(payload: bytes) -> None:
    outcome = only(z2m("zigbee2mqtt/fridge_1", payload))
    assert isinstance(outcome, Rejected)


def test_broken_state_of_a_device_with_a_slash_in_its_name_is_rejected() -> None:
    outcome = only(z2m("zigbee2mqtt/cold-room/left", b'{"temperature":3.1,'))
    assert isinstance(outcome, Rejected)


def test_subscriptions() -> None:
    assert subscriptions("zigbee2mqtt") == ["zigbee2mqtt/#"]
    assert subscriptions("zigbee2mqtt", "store7/zigbee") == ["store7/zigbee/#"]
