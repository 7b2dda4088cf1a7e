"""Tasmota tele/SENSOR, tele/LWT and stat/STATUS10, with payloads as the firmware prints them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from firmware_bridge.mqtt_devices import (
    DecodedMessage,
    DecodeOptions,
    decode_message,
    subscriptions,
)
from firmware_bridge.readings import Availability, Ignored, ProbeFault, ProbeSample, Rejected

# From the Tasmota DS18x20 documentation (tasmota.github.io/docs/DS18x20/).
SINGLE_DS18B20 = (
    b'{"Time":"2021-07-17T17:29:51","DS18B20":{"Id":"000003287EF1","Temperature":24.7},'
    b'"TempUnit":"C"}'
)
THREE_DS18B20 = (
    b'{"Time":"2021-01-02T09:09:44","DS18B20-1":{"Id":"00000566CC39","Temperature":13.3},'
    b'"DS18B20-2":{"Id":"0000048EC44C","Temperature":13.3},'
    b'"DS18B20-3":{"Id":"000003AC4D47","Temperature":13.1},"TempUnit":"C"}'
)
# A cold-room controller: AM2301 and SHT3X with dew point, BME280 with pressure too.
MIXED_SENSORS = (
    b'{"Time":"2024-05-01T08:00:00","AM2301":{"Temperature":3.9,"Humidity":85.3,'
    b'"DewPoint":1.6},"SHT3X":{"Temperature":4.1,"Humidity":82.0,"DewPoint":1.3},'
    b'"BME280":{"Temperature":4.0,"Humidity":83.1,"DewPoint":1.4,"Pressure":1013.2},'
    b'"PressureUnit":"hPa","TempUnit":"C"}'
)


def tasmota(
    topic: str, payload: bytes, *, retained: bool = False, options: DecodeOptions | None = None
) -> DecodedMessage:
    return decode_message(
        "tasmota", topic, payload, retained=retained, options=options or DecodeOptions()
    )


def samples(decoded: DecodedMessage) -> dict[tuple[str, str], int]:
    return {
        (o.sensor, o.quantity): o.value_centi
        for o in decoded.outcomes
        if isinstance(o, ProbeSample)
    }


def faults(decoded: DecodedMessage) -> dict[str, str]:
    return {o.sensor: o.reason for o in decoded.outcomes if isinstance(o, ProbeFault)}


def only(decoded: DecodedMessage) -> object:
    assert len(decoded.outcomes) == 1, decoded.outcomes
    return decoded.outcomes[0]


def test_single_ds18b20_from_the_docs() -> None:
    decoded = tasmota("tele/coldroom1/SENSOR", SINGLE_DS18B20)
    assert decoded.device == "coldroom1"
    assert decoded.firmware == "tasmota"
    assert decoded.retained_last_known is False
    assert samples(decoded) == {("DS18B20:000003287EF1", "temperature"): 2470}


def test_several_ds18b20_are_keyed_by_rom_id_not_by_their_position() -> None:
    decoded = tasmota("tele/coldroom1/SENSOR", THREE_DS18B20)
    assert samples(decoded) == {
        ("DS18B20:00000566CC39", "temperature"): 1330,
        ("DS18B20:0000048EC44C", "temperature"): 1330,
        ("DS18B20:000003AC4D47", "temperature"): 1310,
    }
    # A probe added with a lower ROM id renumbers the others; their keys must not move.
    renumbered = tasmota(
        "tele/coldroom1/SENSOR",
        b'{"DS18B20-1":{"Id":"000001000000","Temperature":2.0},'
        b'"DS18B20-2":{"Id":"00000566CC39","Temperature":13.3},"TempUnit":"C"}',
    )
    assert samples(renumbered)[("DS18B20:00000566CC39", "temperature")] == 1330


def test_multi_sensor_payload_gives_temperature_and_humidity_never_dew_point() -> None:
    decoded = tasmota("tele/coldroom1/SENSOR", MIXED_SENSORS)
    assert samples(decoded) == {
        ("AM2301", "temperature"): 390,
        ("AM2301", "humidity"): 8530,
        ("SHT3X", "temperature"): 410,
        ("SHT3X", "humidity"): 8200,
        ("BME280", "temperature"): 400,
        ("BME280", "humidity"): 8310,
    }
    dew_points = {160, 130, 140}
    assert not dew_points & set(samples(decoded).values())
    assert decoded.readings == decoded.outcomes


def test_decoded_message_is_frozen() -> None:
    decoded = tasmota("tele/coldroom1/SENSOR", MIXED_SENSORS)
    with pytest.raises(AttributeError):
        decoded.device = "other"  # type: ignore[misc]


def test_a_message_with_only_a_dew_point_is_ignored_with_the_reason() -> None:
    decoded = tasmota("tele/x/SENSOR", b'{"AHT2X":{"DewPoint":1.6},"TempUnit":"C"}')
    outcome = only(decoded)
    assert isinstance(outcome, Ignored)
    assert "DewPoint" in outcome.reason
    assert "not the air temperature" in outcome.reason


@pytest.mark.parametrize(
    ("fahrenheit", "centi_celsius"),
    [
        ("39.2", 400),  # 4 °C
        ("46.4", 800),  # 8 °C, the chilled limit
        ("-0.4", -1800),  # -18 °C, the frozen limit
        ("4.35", -1536),  # -15.3611… °C: exact arithmetic, half-even rounding
        ("32.009", 0),  # 0.005 °C exactly: half to even gives 0
        ("32.027", 2),  # 0.015 °C exactly: half to even gives 2
    ],
)
def test_tempunit_f_is_converted_to_centi_celsius_exactly(
    fahrenheit: str, centi_celsius: int
) -> None:
    payload = f'{{"SHT3X":{{"Temperature":{fahrenheit},"Humidity":50.0}},"TempUnit":"F"}}'
    decoded = tasmota("tele/x/SENSOR", payload.encode())
    assert samples(decoded) == {
        ("SHT3X", "temperature"): centi_celsius,
        ("SHT3X", "humidity"): 5000,
    }


@pytest.mark.parametrize(
    ("value", "unit", "reason_part"),
    [
        ("85.0", "C", "power-on"),
        ("-127.0", "C", "disconnected"),
        ("185.0", "F", "power-on"),  # 85 °C as a Tasmota set to °F prints it
        ("-196.6", "F", "disconnected"),  # -127 °C in °F
    ],
)
def test_ds18b20_sentinels_are_faults(value: str, unit: str, reason_part: str) -> None:
    payload = (
        f'{{"DS18B20":{{"Id":"000003287EF1","Temperature":{value}}},"TempUnit":"{unit}"}}'
    ).encode()
    decoded = tasmota("tele/x/SENSOR", payload)
    assert samples(decoded) == {}
    assert reason_part in faults(decoded)["DS18B20:000003287EF1"]


def test_85_degrees_from_a_non_ds18b20_sensor_is_a_reading() -> None:
    decoded = tasmota("tele/oven/SENSOR", b'{"MAX31855":{"Temperature":85.0},"TempUnit":"C"}')
    assert samples(decoded) == {("MAX31855", "temperature"): 8500}


def test_null_and_bare_nan_are_faults_and_the_other_sensors_still_count() -> None:
    null = tasmota(
        "tele/x/SENSOR",
        b'{"AM2301":{"Temperature":null,"Humidity":null},"SHT3X":{"Temperature":4.0},'
        b'"TempUnit":"C"}',
    )
    assert samples(null) == {("SHT3X", "temperature"): 400}
    assert sum(isinstance(o, ProbeFault) for o in null.outcomes) == 2
    # Older drivers print a bare nan, which is not JSON; one bad sensor must not sink the rest.
    nan = tasmota(
        "tele/x/SENSOR",
        b'{"AM2301":{"Temperature":nan,"Humidity":nan},"DS18B20":{"Temperature":3.5},'
        b'"TempUnit":"C"}',
    )
    assert samples(nan) == {("DS18B20", "temperature"): 350}
    assert set(faults(nan)) == {"AM2301"}


def test_esp32_die_temperature_is_not_the_room() -> None:
    decoded = tasmota("tele/x/SENSOR", b'{"ESP32":{"Temperature":52.8},"TempUnit":"C"}')
    outcome = only(decoded)
    assert isinstance(outcome, Ignored)
    assert "microcontroller" in outcome.reason


def test_local_time_without_offset_stays_unknown() -> None:
    decoded = tasmota("tele/x/SENSOR", SINGLE_DS18B20)
    sample = decoded.outcomes[0]
    assert isinstance(sample, ProbeSample)
    assert sample.device_time is None


def test_local_time_with_the_store_offset_becomes_utc() -> None:
    options = DecodeOptions(tasmota_utc_offset=timedelta(hours=8))
    decoded = tasmota("tele/x/SENSOR", SINGLE_DS18B20, options=options)
    sample = decoded.outcomes[0]
    assert isinstance(sample, ProbeSample)
    assert sample.device_time == datetime(2021, 7, 17, 9, 29, 51, tzinfo=UTC)


def test_time_with_an_offset_in_the_payload_needs_no_option() -> None:
    # SetOption52 1 appends the zone offset to "Time".
    decoded = tasmota(
        "tele/x/SENSOR",
        b'{"Time":"2024-05-01T08:00:00+08:00","SHT3X":{"Temperature":4.0},"TempUnit":"C"}',
    )
    sample = decoded.outcomes[0]
    assert isinstance(sample, ProbeSample)
    assert sample.device_time == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("time", ["1970-01-01T00:00:12", "not a time", "2024-13-45T99:00:00"])
def test_unsynced_or_garbled_time_gives_no_device_time(time: str) -> None:
    payload = f'{{"Time":"{time}","SHT3X":{{"Temperature":4.0}},"TempUnit":"C"}}'.encode()
    options = DecodeOptions(tasmota_utc_offset=timedelta(hours=1))
    decoded = tasmota("tele/x/SENSOR", payload, options=options)
    assert decoded.outcomes == (
        ProbeSample(sensor="SHT3X", quantity="temperature", value_centi=400),
    )


@pytest.mark.parametrize(
    ("payload", "state"),
    [(b"Online", "online"), (b"Offline", "offline"), (b"online", "online"), (b"", "removed")],
)
def test_lwt_is_availability(
    payload: bytes, state: Literal["online", "offline", "removed"]
) -> None:
    decoded = tasmota("tele/coldroom1/LWT", payload, retained=True)
    assert decoded.device == "coldroom1"
    assert only(decoded) == Availability(state=state)


def test_unknown_lwt_word_is_rejected() -> None:
    outcome = only(tasmota("tele/x/LWT", b"Maybe"))
    assert isinstance(outcome, Rejected)
    assert outcome.raw == b"Maybe"


def test_status10_reply_carries_the_same_sensor_object() -> None:
    payload = b'{"StatusSNS":' + SINGLE_DS18B20 + b"}"
    decoded = tasmota("stat/coldroom1/STATUS10", payload)
    assert samples(decoded) == {("DS18B20:000003287EF1", "temperature"): 2470}
    other = only(tasmota("stat/coldroom1/STATUS10", b'{"StatusFWR":{"Version":"13.1.0"}}'))
    assert isinstance(other, Ignored)


def test_retained_sensor_message_is_flagged_as_last_known() -> None:
    # SensorRetain 1 makes the broker replay the last SENSOR message to every new subscriber.
    decoded = tasmota("tele/coldroom1/SENSOR", SINGLE_DS18B20, retained=True)
    assert decoded.retained_last_known is True
    assert samples(decoded) == {("DS18B20:000003287EF1", "temperature"): 2470}


@pytest.mark.parametrize(
    "topic",
    ["tele/coldroom1/STATE", "cmnd/coldroom1/POWER", "stat/coldroom1/RESULT", "tele/SENSOR", ""],
)
def test_other_topics_are_ignored(topic: str) -> None:
    assert isinstance(only(tasmota(topic, b'{"POWER":"ON"}')), Ignored)


@pytest.mark.parametrize(
    ("payload", "reason_part"),
    [
        (b'{"DS18B20":{"Temperature":4.5}', "invalid JSON"),
        (b"[1,2,3]", "expected a JSON object"),
        (b"\xff\xfe garbage", "invalid JSON"),
        (b'{"SHT3X":{"Temperature":4.0},"TempUnit":"K"}', "TempUnit"),
    ],
)
def test_malformed_sensor_messages_are_rejected_with_reason_and_bytes(
    payload: bytes, reason_part: str
) -> None:
    outcome = only(tasmota("tele/x/SENSOR", payload))
    assert isinstance(outcome, Rejected)
    assert reason_part in outcome.reason
    assert outcome.raw == payload


def test_subscriptions() -> None:
    assert subscriptions("tasmota") == ["tele/+/SENSOR", "tele/+/LWT", "stat/+/STATUS10"]
    assert subscriptions("tasmota", "coldroom1") == [
        "tele/coldroom1/SENSOR",
        "tele/coldroom1/LWT",
        "stat/coldroom1/STATUS10",
    ]
