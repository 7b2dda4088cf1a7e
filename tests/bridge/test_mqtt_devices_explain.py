"""explain_message: what `jxc device decode --json` prints, for people and scripts."""

from __future__ import annotations

import json

import pytest

from firmware_bridge.mqtt_devices import FIRMWARES, explain_message, format_centi


def roundtrip(explained: dict[str, object]) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(json.dumps(explained, ensure_ascii=False))
    assert decoded == explained
    return decoded


def test_readings_are_shown_in_degrees_and_percent() -> None:
    explained = roundtrip(
        explain_message(
            "shelly-gen2",
            "shellyplusht-x/events/rpc",
            b'{"method":"NotifyStatus","params":{"ts":1714550400,'
            b'"temperature:0":{"id":0,"tC":-18.5},"humidity:0":{"id":0,"rh":55.25}}}',
        )
    )
    assert explained["device"] == "shellyplusht-x"
    assert explained["readings"] == [
        {
            "sensor": "temperature:0",
            "quantity": "temperature",
            "value": "-18.50",
            "unit": "°C",
            "value_centi": -1850,
            "device_time": "2024-05-01T08:00:00+00:00",
        },
        {
            "sensor": "humidity:0",
            "quantity": "humidity",
            "value": "55.25",
            "unit": "%RH",
            "value_centi": 5525,
            "device_time": "2024-05-01T08:00:00+00:00",
        },
    ]
    assert explained["summary"] == "temperature:0 -18.50 °C; humidity:0 55.25 %RH"


def test_availability_is_shown() -> None:
    explained = roundtrip(explain_message("tasmota", "tele/coldroom1/LWT", b"Offline", True))
    assert explained["availability"] == "offline"
    assert explained["readings"] == []
    assert explained["summary"] == "device offline"


def test_faults_ignored_and_rejected_carry_their_reasons() -> None:
    fault = roundtrip(explain_message("esphome", "node/sensor/probe/state", b"nan"))
    assert fault["faults"] == [
        {"sensor": "probe", "reason": "value is 'nan': the sensor gave no reading", "raw": "nan"}
    ]
    ignored = roundtrip(explain_message("zigbee2mqtt", "zigbee2mqtt/bridge/state", b"online"))
    assert ignored["ignored"] == ["bridge topic: Zigbee2MQTT's own state, not a device"]
    rejected = roundtrip(explain_message("tasmota", "tele/x/SENSOR", b"\xff\x00{oops"))
    reasons = rejected["rejected"]
    assert isinstance(reasons, list)
    assert reasons[0]["reason"].startswith("invalid JSON")
    assert reasons[0]["raw"] == "\\xff\x00{oops"


def test_retained_readings_are_called_last_known_in_the_summary() -> None:
    explained = explain_message("zigbee2mqtt", "zigbee2mqtt/fridge", b'{"temperature":3.1}', True)
    assert explained["retained_last_known"] is True
    assert "last known value" in explained["summary"]


def test_long_rejected_payloads_are_shortened() -> None:
    explained = explain_message("ttn-v3", "v3/a/devices/b/up", b"x" * 5000)
    shown = explained["rejected"][0]["raw"]
    assert 0 < len(shown) <= 256


@pytest.mark.parametrize("firmware", FIRMWARES)
def test_every_firmware_explains_garbage(firmware: str) -> None:
    explained = roundtrip(explain_message(firmware, "a/b/c", b"\x00\xff", False))  # type: ignore[arg-type]
    assert explained["summary"]


@pytest.mark.parametrize(
    ("centi", "text"), [(450, "4.50"), (-5, "-0.05"), (0, "0.00"), (-1850, "-18.50"), (7, "0.07")]
)
def test_format_centi(centi: int, text: str) -> None:
    assert format_centi(centi) == text
