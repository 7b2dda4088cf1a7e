"""Scripted device behaviour as pure functions of scenario time (seconds since start).

Weight scenarios give what is on the platter and whether it still moves; temperature scenarios
give a probe's reading in centi-°C, or None when the probe is silent. Simulators scale wall
time by a speed factor, so a 30-minute compressor failure plays in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import msgspec


class ScaleState(msgspec.Struct, frozen=True, kw_only=True):
    grams: int
    moving: bool = False
    overload: bool = False


WeightScenario = Callable[[float], ScaleState]
TemperatureScenario = Callable[[float], int | None]

CAPACITY_G: Final = 30_000
LOADS_G: Final = (1234, 562, 2875, 418)


def settle(t: float) -> ScaleState:
    """Every 6 s an item is put on: 1.5 s of damped swinging (motion), then stable."""
    cycle, phase = divmod(t, 6.0)
    if phase < 1.0:
        return ScaleState(grams=0)
    load = LOADS_G[int(cycle) % len(LOADS_G)]
    settling = phase - 1.0
    if settling < 1.5:
        swing = round(load * 0.08 * math.exp(-2 * settling) * math.sin(12 * settling))
        return ScaleState(grams=load + swing, moving=True)
    return ScaleState(grams=load)


def overload(t: float) -> ScaleState:
    """A 35 kg crate on a 30 kg scale after 1 s: over capacity is not zero and not a weight."""
    if t < 1.0:
        return ScaleState(grams=0)
    return ScaleState(grams=35_000, overload=True)


def _minutes(t: float) -> float:
    return t / 60.0


def steady(t: float) -> int | None:
    """A healthy chiller: 3.5 °C ± 0.3."""
    return 350 + round(30 * math.sin(_minutes(t) / 3))


def door_open(t: float) -> int | None:
    """Door left open at minute 5: up to 11.5 °C by minute 7, closed at minute 25."""
    m = _minutes(t)
    if m < 5:
        return 380
    if m < 7:
        return 380 + round((m - 5) / 2 * 770)
    if m < 25:
        return 1150
    if m < 30:
        return 1150 - round((m - 25) / 5 * 750)
    return 400


def compressor_failure(t: float) -> int | None:
    """The compressor fails at minute 2: +0.2 °C a minute, past 8 °C after ~23 minutes."""
    m = _minutes(t)
    return 380 if m < 2 else 380 + round((m - 2) * 20)


def probe_silent(t: float) -> int | None:
    """Healthy until minute 10, then nothing: the probe's battery or cable is gone."""
    return steady(t) if _minutes(t) < 10 else None


def tank_drift(t: float) -> int | None:
    """A grouper tank at 23 °C drifting down 0.15 °C a minute (heater failed): below 20 °C
    after 20 minutes."""
    return 2300 - round(_minutes(t) * 15)


WEIGHT_SCENARIOS: Final[dict[str, WeightScenario]] = {"settle": settle, "overload": overload}
TEMPERATURE_SCENARIOS: Final[dict[str, TemperatureScenario]] = {
    "steady": steady,
    "door-open": door_open,
    "compressor-failure": compressor_failure,
    "probe-silent": probe_silent,
    "tank-drift": tank_drift,
}
