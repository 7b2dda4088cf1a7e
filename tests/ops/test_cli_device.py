"""`jxc device decode`: captured serial lines, Modbus frames and MQTT messages explained."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ops.cli import main


def decode(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(main, ["device", "decode", *args, "--json"])
    return result.exit_code, json.loads(result.output) if result.exit_code in (0, 1) else {}


def test_mt_sics_stable_weight() -> None:
    code, report = decode("--protocol", "mt-sics", r"S S     100.00 g\r\n")
    assert code == 0
    (event,) = report["events"]  # type: ignore[misc]
    assert event["event"] == "WeightReading"
    assert event["stable"] is True
    assert event["net_mg"] == 100_000


def test_modbus_probe_registers_become_readings() -> None:
    code, report = decode("--protocol", "modbus", "--probe", "sht20", "01 04 04 00 E1 02 2B EA CD")
    assert code == 0
    samples = report["probe"]["samples"]  # type: ignore[index]
    assert [(s["quantity"], s["value_centi"]) for s in samples] == [
        ("temperature", 2250),
        ("humidity", 5550),
    ]


def test_bad_crc_is_explained_and_exits_1() -> None:
    code, report = decode("--protocol", "modbus", "01 04 04 00 E1 02 2B 2A 6E")
    assert code == 1
    assert "CRC" in report["events"][0]["reason"]  # type: ignore[index]


def test_tasmota_fahrenheit_payload_in_celsius() -> None:
    payload = (
        '{"Time":"2026-11-26T08:00:00","DS18B20":{"Id":"01","Temperature":39.2},"TempUnit":"F"}'
    )
    code, report = decode("--protocol", "tasmota", "--topic", "tele/cold1/SENSOR", payload)
    assert code == 0
    assert report["readings"][0]["value_centi"] == 400  # type: ignore[index]


def test_rejected_mqtt_payload_exits_1_with_the_reason() -> None:
    code, report = decode("--protocol", "zigbee2mqtt", "--topic", "zigbee2mqtt/x", "{bad")
    assert code == 1
    assert report["rejected"]


@pytest.mark.parametrize(
    "args",
    [
        ["--protocol", "tasmota", "{}"],  # MQTT needs a topic
        ["--protocol", "mt-sics", "--topic", "a/b", "S S 1 g"],  # serial takes no topic
        ["--protocol", "modbus", "not hex"],
        ["--protocol", "modbus", "--probe", "nope", "01 04"],
        ["--protocol", "carrier-pigeon", "x"],
    ],
)
def test_bad_arguments_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["device", "decode", *args])
    assert result.exit_code == 2
    assert "Error" in result.output
