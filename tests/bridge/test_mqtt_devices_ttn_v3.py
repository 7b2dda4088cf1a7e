"""The Things Stack v3 uplinks with Dragino, Milesight and Elsys decoded payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from firmware_bridge.mqtt_devices import DecodedMessage, decode_message, subscriptions
from firmware_bridge.readings import Ignored, ProbeFault, ProbeSample, Rejected

TOPIC = "v3/coldchain-store7@ttn/devices/lht65-coldroom/up"
RECEIVED = datetime(2024, 5, 1, 8, 0, 1, 456789, tzinfo=UTC)


def uplink(decoded_payload: Any = None, **uplink_fields: Any) -> bytes:
    """An uplink as the stack publishes it (data formats page), with the given decoded payload."""
    message: dict[str, Any] = {
        "end_device_ids": {
            "device_id": "lht65-coldroom",
            "application_ids": {"application_id": "coldchain-store7"},
            "dev_eui": "A84041000181C8B6",
            "join_eui": "A840410000000101",
            "dev_addr": "260B1A2C",
        },
        "correlation_ids": ["as:up:01HWX4N5Q2", "gs:uplink:01HWX4N5H8"],
        "received_at": "2024-05-01T08:00:01.612345678Z",
        "uplink_message": {
            "session_key_id": "AYoKjFxQ7s6HkVsYf4UJYw==",
            "f_port": 2,
            "f_cnt": 1841,
            "frm_payload": "y/YLDQN2AQrdf/8=",
            "rx_metadata": [
                {
                    "gateway_ids": {"gateway_id": "store7-gw", "eui": "A840411D01A44150"},
                    "time": "2024-05-01T08:00:01.401Z",
                    "rssi": -87,
                    "snr": 7.5,
                }
            ],
            "settings": {
                "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 7}},
                "frequency": "868100000",
            },
            "received_at": "2024-05-01T08:00:01.456789012Z",
            "consumed_airtime": "0.061696s",
        },
    }
    if decoded_payload is not None:
        message["uplink_message"]["decoded_payload"] = decoded_payload
    message["uplink_message"].update(uplink_fields)
    return json.dumps(message).encode()


def ttn(topic: str, payload: bytes) -> DecodedMessage:
    return decode_message("ttn-v3", topic, payload)


def samples(decoded: DecodedMessage) -> dict[tuple[str, str], int]:
    return {
        (o.sensor, o.quantity): o.value_centi
        for o in decoded.outcomes
        if isinstance(o, ProbeSample)
    }


def only(decoded: DecodedMessage) -> object:
    assert len(decoded.outcomes) == 1, decoded.outcomes
    return decoded.outcomes[0]


def test_dragino_lht65_with_external_probe() -> None:
    # Output of the TTN device repository's LHT65 codec example.
    data = {
        "BatV": 3.062,
        "Bat_status": 3,
        "Ext_sensor": "Temperature Sensor",
        "Hum_SHT": 88.6,
        "TempC_DS": 27.81,
        "TempC_SHT": 28.29,
    }
    decoded = ttn(TOPIC, uplink(data))
    assert decoded.device == "coldchain-store7@ttn/lht65-coldroom"
    assert samples(decoded) == {
        ("TempC_SHT", "temperature"): 2829,
        ("Hum_SHT", "humidity"): 8860,
        ("TempC_DS", "temperature"): 2781,
    }
    assert all(isinstance(o, ProbeSample) and o.device_time == RECEIVED for o in decoded.outcomes)


def test_dragino_no_probe_value_and_no_connect_flag_are_faults() -> None:
    no_probe = ttn(TOPIC, uplink({"TempC_SHT": 3.84, "Hum_SHT": 79.1, "TempC_DS": 327.67}))
    assert samples(no_probe) == {("TempC_SHT", "temperature"): 384, ("Hum_SHT", "humidity"): 7910}
    faults = [o for o in no_probe.outcomes if isinstance(o, ProbeFault)]
    assert [f.sensor for f in faults] == ["TempC_DS"]
    assert "327.67" in faults[0].reason
    unplugged = ttn(
        TOPIC, uplink({"TempC_SHT": 3.84, "TempC_DS": 3.5, "No_connect": "Sensor no connection"})
    )
    assert ("TempC_DS", "temperature") not in samples(unplugged)
    assert any(isinstance(o, ProbeFault) and o.sensor == "TempC_DS" for o in unplugged.outcomes)


def test_old_dragino_formatter_with_numbers_as_strings() -> None:
    decoded = ttn(TOPIC, uplink({"TempC_SHT": "-18.25", "Hum_SHT": "61.0", "TempC_DS": "-18.50"}))
    assert samples(decoded) == {
        ("TempC_SHT", "temperature"): -1825,
        ("Hum_SHT", "humidity"): 6100,
        ("TempC_DS", "temperature"): -1850,
    }


def test_milesight_em300_th() -> None:
    decoded = ttn(
        "v3/coldchain-store7@ttn/devices/em300-freezer/up",
        uplink({"battery": 50, "temperature": -19.6, "humidity": 30.0}),
    )
    assert samples(decoded) == {
        ("temperature", "temperature"): -1960,
        ("humidity", "humidity"): 3000,
    }


def test_elsys_ers_and_elt_external_probe() -> None:
    ers = ttn(TOPIC, uplink({"temperature": 22.6, "humidity": 41, "light": 39, "motion": 6}))
    assert samples(ers) == {("temperature", "temperature"): 2260, ("humidity", "humidity"): 4100}
    elt = ttn(TOPIC, uplink({"externalTemperature": -21.3, "vdd": 3649}))
    assert samples(elt) == {("externalTemperature", "temperature"): -2130}


def test_normalized_payload_when_the_vendor_fields_are_unknown() -> None:
    normalized = [{"air": {"temperature": 4.2, "relativeHumidity": 71.5}}]
    decoded = ttn(TOPIC, uplink({"t": 42, "rh": 143}, normalized_payload=normalized))
    assert samples(decoded) == {
        ("normalized[0].air.temperature", "temperature"): 420,
        ("normalized[0].air.relativeHumidity", "humidity"): 7150,
    }


def test_unknown_vendor_fields_are_ignored_with_the_keys_named() -> None:
    outcome = only(ttn(TOPIC, uplink({"t": 42, "rh": 143})))
    assert isinstance(outcome, Ignored)
    assert "rh, t" in outcome.reason


def test_uplink_without_decoded_payload_is_ignored() -> None:
    outcome = only(ttn(TOPIC, uplink()))
    assert isinstance(outcome, Ignored)
    assert "decoded_payload" in outcome.reason


def test_port_zero_is_omitted_by_the_stack_and_means_mac_only() -> None:
    message = json.loads(uplink({"TempC_SHT": 4.0}))
    del message["uplink_message"]["f_port"]
    outcome = only(ttn(TOPIC, json.dumps(message).encode()))
    assert isinstance(outcome, Ignored)
    assert "f_port 0" in outcome.reason


def test_simulated_uplink_is_not_a_measurement() -> None:
    message = json.loads(uplink({"TempC_SHT": 4.0}))
    message["simulated"] = True
    outcome = only(ttn(TOPIC, json.dumps(message).encode()))
    assert isinstance(outcome, Ignored)
    assert "simulated" in outcome.reason


def test_top_level_received_at_when_the_uplink_has_none() -> None:
    message = json.loads(uplink({"TempC_SHT": 4.0}))
    del message["uplink_message"]["received_at"]
    sample = only(ttn(TOPIC, json.dumps(message).encode()))
    assert isinstance(sample, ProbeSample)
    assert sample.device_time == datetime(2024, 5, 1, 8, 0, 1, 612345, tzinfo=UTC)


def test_open_source_stack_topic_without_tenant() -> None:
    decoded = ttn("v3/coldchain/devices/lht65-coldroom/up", uplink({"TempC_SHT": 4.0}))
    assert decoded.device == "coldchain/lht65-coldroom"
    assert samples(decoded) == {("TempC_SHT", "temperature"): 400}


@pytest.mark.parametrize(
    "topic",
    [
        "v3/coldchain-store7@ttn/devices/lht65-coldroom/join",
        "v3/coldchain-store7@ttn/devices/lht65-coldroom/down/queued",
        "v3/coldchain-store7@ttn/devices/lht65-coldroom/service/data",
        "v3/coldchain-store7@ttn/gateways/gw/up",
        "coldchain/devices/lht65/up",
    ],
)
def test_other_events_and_topics_are_ignored(topic: str) -> None:
    assert isinstance(only(ttn(topic, uplink({"TempC_SHT": 4.0}))), Ignored)


@pytest.mark.parametrize(
    ("payload", "reason_part"),
    [
        (b'{"end_device_ids":{"device_id":"x"}}', "uplink_message"),
        (uplink([1, 2, 3]), "decoded_payload"),
        (uplink({"TempC_SHT": 4.0}, f_port="2"), "f_port"),
        (b"not json", "invalid JSON"),
    ],
)
def test_malformed_uplinks_are_rejected(payload: bytes, reason_part: str) -> None:
    outcome = only(ttn(TOPIC, payload))
    assert isinstance(outcome, Rejected)
    assert reason_part in outcome.reason


def test_subscriptions() -> None:
    assert subscriptions("ttn-v3") == ["v3/+/devices/+/up"]
    assert subscriptions("ttn-v3", "coldchain-store7@ttn") == [
        "v3/coldchain-store7@ttn/devices/+/up"
    ]
