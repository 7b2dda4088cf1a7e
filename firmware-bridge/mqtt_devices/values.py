"""From a reported value (JSON number, numeric string, null, "nan") to a sample or a fault.

Numbers arrive as `Decimal` (JSON floats are decoded with `float_hook=Decimal`) or `int`, never
as binary floats, and unit conversion is done on exact fractions: 4.35 °F is exactly
-1536.111… centi-°C and rounds, half to even, to -1536 on every machine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from firmware_bridge.mqtt_devices.messages import TemperatureUnit
from firmware_bridge.readings import ProbeFault, ProbeQuantity, ProbeSample

# Plausibility bounds: a fresh-food store has nothing below -100 °C or above +200 °C, and a
# value outside is a broken probe or a misread field (uptime, RSSI), never a temperature.
TEMPERATURE_MIN_CENTI_C = -10_000
TEMPERATURE_MAX_CENTI_C = 20_000
HUMIDITY_MAX_CENTI_PERCENT = 10_000
# Checked on the raw number before any arithmetic, so "1e999999" costs nothing.
_RAW_MAGNITUDE_LIMIT = Decimal(100_000)

# A DS18B20 that lost power reads its reset value 85 °C before its first conversion; the
# Dallas library (Arduino, many firmwares) reports -127 °C for a probe that does not answer.
DS18X20_SENTINELS_C: Mapping[Fraction, str] = {
    Fraction(85): "DS18B20 power-on reset value 85 °C: no conversion was made",
    Fraction(-127): "DS18B20 disconnected: -127 °C is the 'no device' value",
}

_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAN_TEXT = frozenset({"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity"})


def parse_number_text(text: str) -> Decimal | None:
    """A decimal number written as plain text ("4.50", "-12", "1e2"), else None.

    Stricter than `Decimal(text)`: no "NaN", "Infinity", underscores or inner spaces.
    """
    stripped = text.strip()
    if _NUMBER_TEXT.fullmatch(stripped) is None:
        return None
    return Decimal(stripped)


def _as_number(raw: object) -> Decimal | int | str:
    """The number in `raw`, or the reason it is not one."""
    if raw is None:
        return "value is null: the sensor gave no reading"
    if isinstance(raw, bool):
        return "value is a boolean, not a number"
    if isinstance(raw, int | Decimal):
        return raw
    if isinstance(raw, str):
        if raw.strip().lower() in _NAN_TEXT:
            return f"value is {raw.strip()!r}: the sensor gave no reading"
        parsed = parse_number_text(raw)
        return parsed if parsed is not None else f"value {raw[:40]!r} is not a number"
    return f"value of type {type(raw).__name__} is not a number"


def raw_text(raw: object) -> str:
    """How a reported value is shown in a fault: as the device wrote it, shortened."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | Decimal | str):
        return str(raw)[:64]
    return type(raw).__name__


def round_centi(value: Fraction) -> int:
    """Hundredths, rounded half to even (`round` of a Fraction is exact and banker's)."""
    return round(value * 100)


def temperature(
    sensor: str,
    raw: object,
    unit: TemperatureUnit,
    *,
    device_time: datetime | None = None,
    sentinels_c: Mapping[Fraction, str] | None = None,
) -> ProbeSample | ProbeFault:
    """A temperature in °C or °F as centi-°C, or the fault that stands in its place.

    `sentinels_c` are "no data" values of the probe type, compared exactly after conversion
    to °C: DS18B20 85 / -127 °C (which a Tasmota set to °F prints as 185 / -196.6), Dragino
    327.67.
    """
    number = _as_number(raw)
    if isinstance(number, str):
        return ProbeFault(sensor=sensor, reason=number, raw=raw_text(raw))
    if not -_RAW_MAGNITUDE_LIMIT <= number <= _RAW_MAGNITUDE_LIMIT:
        return ProbeFault(sensor=sensor, reason="temperature out of range", raw=raw_text(raw))
    celsius = Fraction(number)
    if unit == "F":
        celsius = (celsius - 32) * Fraction(5, 9)
    if sentinels_c:
        reason = sentinels_c.get(celsius)
        if reason is not None:
            return ProbeFault(sensor=sensor, reason=reason, raw=raw_text(raw))
    centi = round_centi(celsius)
    if not TEMPERATURE_MIN_CENTI_C <= centi <= TEMPERATURE_MAX_CENTI_C:
        return ProbeFault(
            sensor=sensor,
            reason="temperature out of range (-100 to 200 °C)",
            raw=raw_text(raw),
        )
    return ProbeSample(
        sensor=sensor, quantity="temperature", value_centi=centi, device_time=device_time
    )


def humidity(
    sensor: str, raw: object, *, device_time: datetime | None = None
) -> ProbeSample | ProbeFault:
    """Relative humidity in % as centi-%RH, or the fault that stands in its place."""
    number = _as_number(raw)
    if isinstance(number, str):
        return ProbeFault(sensor=sensor, reason=number, raw=raw_text(raw))
    if not -_RAW_MAGNITUDE_LIMIT <= number <= _RAW_MAGNITUDE_LIMIT:
        return ProbeFault(sensor=sensor, reason="humidity out of range", raw=raw_text(raw))
    centi = round_centi(Fraction(number))
    if not 0 <= centi <= HUMIDITY_MAX_CENTI_PERCENT:
        return ProbeFault(
            sensor=sensor, reason="humidity out of range (0 to 100 %RH)", raw=raw_text(raw)
        )
    return ProbeSample(
        sensor=sensor, quantity="humidity", value_centi=centi, device_time=device_time
    )


def reading(
    sensor: str,
    quantity: ProbeQuantity,
    raw: object,
    unit: TemperatureUnit = "C",
    *,
    device_time: datetime | None = None,
    sentinels_c: Mapping[Fraction, str] | None = None,
) -> ProbeSample | ProbeFault:
    """`temperature` or `humidity`, chosen by quantity."""
    if quantity == "humidity":
        return humidity(sensor, raw, device_time=device_time)
    return temperature(sensor, raw, unit, device_time=device_time, sentinels_c=sentinels_c)
