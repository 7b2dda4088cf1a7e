"""Exact unit conversion and rounding, numeric text, and the cold-chain limits in shared vectors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_bridge.mqtt_devices import decode_message, subscriptions
from firmware_bridge.mqtt_devices.values import humidity, parse_number_text, temperature
from firmware_bridge.readings import ProbeFault, ProbeSample, Rejected

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "coldchain.json"


def centi(outcome: ProbeSample | ProbeFault) -> int:
    assert isinstance(outcome, ProbeSample), outcome
    return outcome.value_centi


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (Decimal("2.675"), 268),  # exactly 267.5 hundredths: half to even
        (Decimal("-9.995"), -1000),  # exactly -999.5: half to even; a float pipeline gives -999
        (Decimal("0.125"), 12),  # 12.5 -> 12
        (Decimal("0.135"), 14),  # 13.5 -> 14
        (Decimal("-0.125"), -12),
        (Decimal("-18.005"), -1800),
        (Decimal("4.5"), 450),
        (4, 400),
        ("4.50", 450),
        (" -3.1 ", -310),
        ("1e1", 1000),
    ],
)
def test_celsius_to_centi_rounds_half_to_even_from_the_decimal(raw: object, expected: int) -> None:
    assert centi(temperature("t", raw, "C")) == expected


def test_the_float_trap_this_avoids() -> None:
    assert round(-9.995 * 100) == -999  # what a float pipeline would store
    assert centi(temperature("t", Decimal("-9.995"), "C")) == -1000
    assert centi(temperature("t", "-9.995", "C")) == -1000


@pytest.mark.parametrize(
    ("fahrenheit", "expected"),
    [
        (Decimal("4.35"), -1536),  # -1536.111…
        (Decimal("32.009"), 0),  # 0.5 hundredths exactly -> 0
        (Decimal("32.027"), 2),  # 1.5 hundredths exactly -> 2
        (Decimal("31.991"), 0),  # -0.5 -> 0
        (Decimal("212"), 10000),
        (Decimal("-40"), -4000),
    ],
)
def test_fahrenheit_conversion_is_exact(fahrenheit: Decimal, expected: int) -> None:
    assert centi(temperature("t", fahrenheit, "F")) == expected


def test_cold_chain_limits_from_the_shared_vectors_survive_a_fahrenheit_round_trip() -> None:
    limits = json.loads(VECTORS.read_text())["limits_c"]
    for name, limit_c in limits.items():
        fahrenheit = Decimal(limit_c) * 9 / 5 + 32
        payload = f'{{"SHT3X":{{"Temperature":{fahrenheit}}},"TempUnit":"F"}}'.encode()
        decoded = decode_message("tasmota", "tele/coldroom/SENSOR", payload)
        sample = decoded.outcomes[0]
        assert isinstance(sample, ProbeSample), name
        assert sample.value_centi == limit_c * 100, name


def test_the_shared_vectors_hold_no_mqtt_frames() -> None:
    # If MQTT vectors are added there, they belong in these tests.
    vectors = json.loads(VECTORS.read_text())
    assert set(vectors) == {"mean_kinetic_temperature", "limits_c"}


@pytest.mark.parametrize(
    "raw",
    [None, True, "nan", "-nan", "NaN", "inf", "", "4,5", "1_000", "Infinity", [4.5], {"v": 1}],
)
def test_non_numbers_are_faults_not_readings(raw: object) -> None:
    assert isinstance(temperature("t", raw, "C"), ProbeFault)
    assert isinstance(humidity("h", raw), ProbeFault)


@pytest.mark.parametrize(
    "raw", [Decimal("-100.01"), Decimal("200.01"), Decimal("1e999999"), 10**40, "-1e999999"]
)
def test_implausible_temperatures_are_faults(raw: object) -> None:
    fault = temperature("t", raw, "C")
    assert isinstance(fault, ProbeFault)
    assert "out of range" in fault.reason


def test_plausible_extremes_are_readings() -> None:
    assert centi(temperature("t", Decimal("-100"), "C")) == -10000
    assert centi(temperature("t", Decimal("200"), "C")) == 20000


@pytest.mark.parametrize(
    ("raw", "ok"), [(0, True), (100, True), ("100.004", True), (-1, False), ("100.5", False)]
)
def test_humidity_bounds(raw: object, ok: bool) -> None:
    assert isinstance(humidity("h", raw), ProbeSample) is ok


@pytest.mark.parametrize(
    ("text", "value"),
    [("4.50", Decimal("4.50")), ("-0", Decimal("0")), (".5", Decimal("0.5")), ("5.", Decimal(5))],
)
def test_parse_number_text_accepts_plain_decimals(text: str, value: Decimal) -> None:
    assert parse_number_text(text) == value


@pytest.mark.parametrize("text", ["nan", "Infinity", "1_0", "4 5", "0x10", "", "+", "١٢"])
def test_parse_number_text_refuses_everything_else(text: str) -> None:
    assert parse_number_text(text) is None


def test_unknown_firmware_is_rejected_not_raised() -> None:
    decoded = decode_message("sonoff-ewelink", "a/b", b"{}")  # type: ignore[arg-type]
    assert isinstance(decoded.outcomes[0], Rejected)
    with pytest.raises(ValueError, match="unknown firmware"):
        subscriptions("sonoff-ewelink")  # type: ignore[arg-type]


@pytest.mark.parametrize("base", ["", "+", "store/#"])
def test_wildcards_in_a_base_topic_are_a_configuration_error(base: str) -> None:
    with pytest.raises(ValueError, match="plain topic"):
        subscriptions("tasmota", base)
