"""What the scale parsers yield: small frozen Structs in integer units.

Every weight keeps the exact value the scale sent (`net` scaled by `decimals`, in `unit`, plus
the `raw` decimal string) and, when the unit is a unit of mass, the same weight in integer
milligrams (`net_mg`). Imperial units do not convert to whole milligrams; those are rounded to
the nearest milligram (half to even), far below any retail scale's division. The legal value is
always `net`/`decimals`/`unit`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Final

import msgspec


class WeightReading(msgspec.Struct, frozen=True, kw_only=True):
    """A weight the scale reported for the load on its platter.

    `net` is the payable weight as displayed: net of the active tare, equal to gross when no
    tare is set. `stable` is False while the scale reports motion; only a stable weight may be
    sold. `net_mg` is None when `unit` is not a unit of mass (pieces, percent).
    """

    stable: bool
    net: int
    decimals: int
    unit: str
    net_mg: int | None
    raw: str


class TareReading(msgspec.Struct, frozen=True, kw_only=True):
    """The tare the scale holds, after a tare command (`T`, `TI`) or a tare query (`TA`)."""

    command: str
    stable: bool
    tare: int
    decimals: int
    unit: str
    tare_mg: int | None
    raw: str


class ScaleStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Why there is no sellable weight, or the state a status frame reported.

    `overload` is over capacity, `underload` under zero (negative gross) or under capacity;
    `busy` is a command the scale understood but cannot execute now; `net_mode` is None when
    the protocol does not say; `faults` names self-test failures ("ram", "eeprom", "rom",
    "calibration", "zero-point").
    """

    motion: bool = False
    overload: bool = False
    underload: bool = False
    busy: bool = False
    center_of_zero: bool = False
    outside_zero_capture: bool = False
    net_mode: bool | None = None
    faults: tuple[str, ...] = ()
    raw: bytes = b""


class CommandAck(msgspec.Struct, frozen=True, kw_only=True):
    """The scale executed a command that returns no value (zero, clear tare)."""

    command: str
    detail: str = ""


class CommandRejected(msgspec.Struct, frozen=True, kw_only=True):
    """The scale answered a command with an error code (`command` is "" when it does not say)."""

    command: str
    code: str
    reason: str
    raw: bytes = b""


class SerialNumber(msgspec.Struct, frozen=True, kw_only=True):
    """The scale's serial number (MT-SICS `I4`): the stable key for the device registry."""

    serial: str


class OtherReply(msgspec.Struct, frozen=True, kw_only=True):
    """A well-formed reply this driver does not interpret, kept for the technician."""

    command: str
    status: str
    params: tuple[str, ...]
    raw: bytes = b""


class FrameError(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes that are not a valid frame, with the reason; the parser resynced after them."""

    reason: str
    raw: bytes


ScaleEvent = (
    WeightReading
    | TareReading
    | ScaleStatus
    | CommandAck
    | CommandRejected
    | SerialNumber
    | OtherReply
    | FrameError
)

# Milligrams per unit, exact. Keys are lower case; `canonical_unit` maps what scales send.
MG_PER_UNIT: Final[Mapping[str, Fraction]] = MappingProxyType(
    {
        "mg": Fraction(1),
        "g": Fraction(1000),
        "kg": Fraction(1_000_000),
        "t": Fraction(1_000_000_000),
        "ct": Fraction(200),
        "lb": Fraction(45_359_237, 100),
        "oz": Fraction(45_359_237, 1600),
        "ozt": Fraction(311_034_768, 10_000),
        "dwt": Fraction(155_517_384, 100_000),
        "gn": Fraction(6_479_891, 100_000),
    }
)

_DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")


def canonical_unit(unit: str) -> str:
    """Lower-case the known mass units ("KG" -> "kg", "GN" -> "gn"); keep others as sent."""
    lowered = unit.lower()
    return lowered if lowered in MG_PER_UNIT else unit


def to_mg(value: int, decimals: int, unit: str) -> int | None:
    """A scaled value in `unit` as integer milligrams (None if `unit` is not a mass unit)."""
    per_unit = MG_PER_UNIT.get(unit.lower())
    if per_unit is None:
        return None
    return round(Fraction(value, 10**decimals) * per_unit)


class Malformed(ValueError):
    """Raised inside a parser for one bad frame; the parser turns it into a FrameError."""


def scaled_decimal(text: str) -> tuple[int, int]:
    """`"-0.35"` -> `(-35, 2)`: the value scaled to an integer, and its number of decimals.

    Raises Malformed when `text` is not a plain decimal number.
    """
    match = _DECIMAL.fullmatch(text)
    if match is None or not (match.group(2) or match.group(3)):
        raise Malformed(f"weight {text!r} is not a decimal number")
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    value = int((whole or "0") + fraction)
    return (-value if sign == "-" else value), len(fraction)


def weight_reading(*, raw: str, unit: str, stable: bool) -> WeightReading:
    """Build a WeightReading from a decimal string and a unit (Malformed if not a number)."""
    net, decimals = scaled_decimal(raw)
    unit = canonical_unit(unit)
    return WeightReading(
        stable=stable,
        net=net,
        decimals=decimals,
        unit=unit,
        net_mg=to_mg(net, decimals, unit),
        raw=raw,
    )
