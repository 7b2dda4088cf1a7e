"""Cold-chain rules, pure: limits per product class, excursions, probe liveness, reading order,
mean kinetic temperature, sellable scale weights. No I/O, no clock: every rule takes `now`/`at`.

- An excursion is a period outside the product class's limits longer than its grace time
  (chilled ≤ 8 °C, frozen ≤ −18 °C, live-seafood tanks a range per species). A blip shorter
  than the grace time is not an excursion; an excursion ends at the first reading back inside.
- A probe silent past its offline timeout is offline, not "fine"; it comes back when it reports.
- Each device's readings carry a seq per bridge run (`epoch`): a gap is reported, a duplicate is
  dropped, a late reading that fills a reported gap is accepted.
- Mean kinetic temperature (ΔH/R = 10,000 K) over equally spaced readings:
  MKT = (ΔH/R) / −ln(mean(exp(−ΔH/(R·T_i)))), kept as (n, Σ exp) so periods add up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Final, Literal

import msgspec

from protocol.reading_events import (
    ColdChainExcursionEnded,
    ColdChainExcursionStarted,
    DeviceReading,
    ProbeCameBack,
    ProbeWentOffline,
    SensorFault,
    SensorValue,
)

ProbeStatus = Literal["online", "stale", "offline"]

DELTA_H_OVER_R_K: Final = 10_000.0
KELVIN_OFFSET: Final = 273.15

# Plausible ranges: values outside are a broken probe or a unit mix-up, never a reading.
PLAUSIBLE_CENTI_C: Final = (-8_000, 15_000)
PLAUSIBLE_CENTI_RH: Final = (0, 10_000)
PLAUSIBLE_WEIGHT_G: Final = (-1_000_000, 10_000_000)
# Seqs of reported gaps remembered per device, so a late reading is told from a duplicate.
MAX_TRACKED_MISSING: Final = 10_000


class ColdChainRule(msgspec.Struct, frozen=True, kw_only=True):
    """Limits of one product class, centi-°C, and how long it may be outside before it counts."""

    product_class: str
    min_centi_c: int | None = None
    max_centi_c: int | None = None
    grace_s: int = 900


DEFAULT_RULES: Final[Mapping[str, ColdChainRule]] = MappingProxyType(
    {
        rule.product_class: rule
        for rule in (
            # GB 31605-2020 chilled food: 0..8 °C; frozen: at or below -18 °C.
            ColdChainRule(product_class="chilled", max_centi_c=800, grace_s=900),
            ColdChainRule(product_class="frozen", max_centi_c=-1800, grace_s=900),
            # Live seafood holding tanks: water temperature range per species (store defaults).
            ColdChainRule(
                product_class="live-seafood:lobster", min_centi_c=400, max_centi_c=1000, grace_s=600
            ),
            ColdChainRule(
                product_class="live-seafood:crab", min_centi_c=500, max_centi_c=1200, grace_s=600
            ),
            ColdChainRule(
                product_class="live-seafood:grouper",
                min_centi_c=2000,
                max_centi_c=2600,
                grace_s=600,
            ),
            ColdChainRule(
                product_class="live-seafood:shrimp",
                min_centi_c=1600,
                max_centi_c=2400,
                grace_s=600,
            ),
        )
    }
)


def rule_for(
    product_class: str, rules: Mapping[str, ColdChainRule] = DEFAULT_RULES
) -> ColdChainRule | None:
    """The rule of a product class; None when the class has no limits (not watched)."""
    return rules.get(product_class)


# --- excursions -------------------------------------------------------------------------


class ExcursionWatch(msgspec.Struct, frozen=True, kw_only=True):
    """One probe's watch over its location: is it outside, since when, and is it an excursion."""

    location_id: str
    device_id: str
    product_class: str
    outside_since: datetime | None = None
    direction: Literal["above", "below"] | None = None
    worst_centi_c: int | None = None
    in_excursion: bool = False


ExcursionEvent = ColdChainExcursionStarted | ColdChainExcursionEnded


def _outside(rule: ColdChainRule, temp: int) -> Literal["above", "below"] | None:
    if rule.max_centi_c is not None and temp > rule.max_centi_c:
        return "above"
    if rule.min_centi_c is not None and temp < rule.min_centi_c:
        return "below"
    return None


def observe_temperature(
    watch: ExcursionWatch, rule: ColdChainRule, temp_centi_c: int, at: datetime
) -> tuple[ExcursionWatch, ExcursionEvent | None]:
    """Fold one temperature reading (taken `at`) into the watch; returns the event it causes."""
    direction = _outside(rule, temp_centi_c)
    if direction is None:
        inside = msgspec.structs.replace(
            watch, outside_since=None, direction=None, worst_centi_c=None, in_excursion=False
        )
        if watch.in_excursion and watch.outside_since is not None:
            ended = ColdChainExcursionEnded(
                location_id=watch.location_id,
                device_id=watch.device_id,
                product_class=watch.product_class,
                outside_since=watch.outside_since,
                ended_at=max(at, watch.outside_since),
                worst_centi_c=watch.worst_centi_c
                if watch.worst_centi_c is not None
                else temp_centi_c,
            )
            return inside, ended
        return inside, None
    if watch.outside_since is None or watch.direction is None:
        watch = msgspec.structs.replace(
            watch, outside_since=at, direction=direction, worst_centi_c=temp_centi_c
        )
    else:
        worse = max if watch.direction == "above" else min
        worst = temp_centi_c if watch.worst_centi_c is None else watch.worst_centi_c
        watch = msgspec.structs.replace(watch, worst_centi_c=worse(worst, temp_centi_c))
    assert watch.outside_since is not None
    assert watch.direction is not None
    if watch.in_excursion or (at - watch.outside_since).total_seconds() < rule.grace_s:
        return watch, None
    limit = rule.max_centi_c if watch.direction == "above" else rule.min_centi_c
    assert limit is not None
    started = ColdChainExcursionStarted(
        location_id=watch.location_id,
        device_id=watch.device_id,
        product_class=watch.product_class,
        direction=watch.direction,
        limit_centi_c=limit,
        temp_centi_c=temp_centi_c,
        outside_since=watch.outside_since,
        grace_s=rule.grace_s,
    )
    return msgspec.structs.replace(watch, in_excursion=True), started


# --- probe liveness ---------------------------------------------------------------------


class ProbeLiveness(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    location_id: str
    last_seen_at: datetime | None = None
    offline_since: datetime | None = None


def probe_status(
    last_seen_at: datetime | None,
    now: datetime,
    *,
    stale_after_s: float,
    offline_after_s: float,
    offline_since: datetime | None = None,
) -> ProbeStatus:
    """online, stale (late but within the timeout) or offline (silent past it, or said so)."""
    if offline_since is not None or last_seen_at is None:
        return "offline"
    age = (now - last_seen_at).total_seconds()
    if age > offline_after_s:
        return "offline"
    if age > stale_after_s:
        return "stale"
    return "online"


def heard_from(liveness: ProbeLiveness, at: datetime) -> tuple[ProbeLiveness, ProbeCameBack | None]:
    """The probe reported (a reading taken `at`): it is online again if it was offline."""
    last = at if liveness.last_seen_at is None else max(at, liveness.last_seen_at)
    if liveness.offline_since is None:
        return msgspec.structs.replace(liveness, last_seen_at=last), None
    back = ProbeCameBack(
        device_id=liveness.device_id,
        location_id=liveness.location_id,
        offline_since=liveness.offline_since,
    )
    return msgspec.structs.replace(liveness, last_seen_at=last, offline_since=None), back


def went_offline(
    liveness: ProbeLiveness, at: datetime, reason: str
) -> tuple[ProbeLiveness, ProbeWentOffline | None]:
    """The probe said it is offline (LWT, availability topic); no event if already offline."""
    if liveness.offline_since is not None:
        return liveness, None
    event = ProbeWentOffline(
        device_id=liveness.device_id,
        location_id=liveness.location_id,
        reason=reason,
        last_seen_at=liveness.last_seen_at,
    )
    return msgspec.structs.replace(liveness, offline_since=at), event


def check_silence(
    liveness: ProbeLiveness, now: datetime, *, offline_after_s: float
) -> tuple[ProbeLiveness, ProbeWentOffline | None]:
    """A probe silent for longer than `offline_after_s` goes offline (once)."""
    if liveness.offline_since is not None or liveness.last_seen_at is None:
        return liveness, None
    silent_s = (now - liveness.last_seen_at).total_seconds()
    if silent_s <= offline_after_s:
        return liveness, None
    return went_offline(
        liveness, now, f"silent for {silent_s:.0f} s (timeout {offline_after_s:.0f} s)"
    )


# --- reading order ----------------------------------------------------------------------


class SeqState(msgspec.Struct, frozen=True, kw_only=True):
    """Where a device's readings stand: the bridge run, the highest seq, seqs reported missing."""

    epoch: int
    high_seq: int = 0
    missing: frozenset[int] = frozenset()


SeqOutcome = Literal["accepted", "late", "duplicate", "old_epoch"]


class SeqAdmission(msgspec.Struct, frozen=True, kw_only=True):
    state: SeqState
    outcome: SeqOutcome
    gap: tuple[int, int] | None = None  # (first missing, last missing) newly found


def admit_seq(state: SeqState | None, epoch: int, seq: int) -> SeqAdmission:
    """Decide one reading's place in its device's sequence."""
    if state is None or epoch > state.epoch:
        state = SeqState(epoch=epoch)
    elif epoch < state.epoch:
        return SeqAdmission(state=state, outcome="old_epoch")
    if seq <= state.high_seq:
        if seq in state.missing:
            return SeqAdmission(
                state=msgspec.structs.replace(state, missing=state.missing - {seq}),
                outcome="late",
            )
        return SeqAdmission(state=state, outcome="duplicate")
    gap = (state.high_seq + 1, seq - 1) if seq > state.high_seq + 1 else None
    missing = state.missing
    if gap is not None and len(missing) + (gap[1] - gap[0] + 1) <= MAX_TRACKED_MISSING:
        missing = missing | frozenset(range(gap[0], gap[1] + 1))
    return SeqAdmission(
        state=SeqState(epoch=epoch, high_seq=seq, missing=missing), outcome="accepted", gap=gap
    )


# --- plausibility -----------------------------------------------------------------------


def screen_values(reading: DeviceReading) -> tuple[DeviceReading, tuple[str, ...]]:
    """Move implausible values (broken probe, unit mix-up) to faults; returns the reasons."""
    kept: list[SensorValue] = []
    faults = list(reading.faults)
    reasons: list[str] = []
    for value in reading.values:
        low, high = {
            "temperature": PLAUSIBLE_CENTI_C,
            "humidity": PLAUSIBLE_CENTI_RH,
            "weight": PLAUSIBLE_WEIGHT_G,
        }[value.quantity]
        if low <= value.value <= high:
            kept.append(value)
            continue
        reason = f"implausible_{value.quantity}"
        reasons.append(reason)
        faults.append(
            SensorFault(
                sensor=value.sensor, reason=f"{reason}: {value.value} outside {low}..{high}"
            )
        )
    if not reasons:
        return reading, ()
    return (
        msgspec.structs.replace(reading, values=tuple(kept), faults=tuple(faults)),
        tuple(reasons),
    )


def reading_time(reading: DeviceReading) -> datetime:
    """When a reading was taken: the device's clock if it keeps one, else the bridge's."""
    return reading.device_time or reading.received_at


# --- mean kinetic temperature -------------------------------------------------------------


def mkt_term(temp_centi_c: int) -> float:
    """exp(−ΔH/(R·T)) of one reading; MKT over a period needs only the count and their sum."""
    return math.exp(-DELTA_H_OVER_R_K / (temp_centi_c / 100 + KELVIN_OFFSET))


def mkt_from_terms(count: int, sum_terms: float) -> int | None:
    """MKT in centi-°C from `count` readings whose `mkt_term`s sum to `sum_terms`."""
    if count <= 0 or sum_terms <= 0:
        return None
    kelvin = DELTA_H_OVER_R_K / -math.log(sum_terms / count)
    return round((kelvin - KELVIN_OFFSET) * 100)


def mean_kinetic_temperature(temps_centi_c: Iterable[int]) -> int | None:
    """MKT in centi-°C of equally spaced readings (None for no readings)."""
    terms = [mkt_term(t) for t in temps_centi_c]
    return mkt_from_terms(len(terms), math.fsum(terms))


# --- scale weights ------------------------------------------------------------------------


class ScaleWeight(msgspec.Struct, frozen=True, kw_only=True):
    """A scale's latest weight and whether the POS may sell it: only a stable, fault-free weight.

    Overload, underload and motion are reasons, never zero.
    """

    device_id: str
    seq: int
    at: datetime
    net_g: int | None
    stable: bool
    sellable: bool
    reason: str = ""


def scale_weight(device_id: str, reading: DeviceReading) -> ScaleWeight | None:
    """The weight a scale reading states (None for a reading about availability only)."""
    weights = [v for v in reading.values if v.quantity == "weight"]
    at = reading_time(reading)
    if reading.faults:
        reason = "; ".join(f.reason for f in reading.faults)
        net = weights[0].value if weights else None
        return ScaleWeight(
            device_id=device_id,
            seq=reading.seq,
            at=at,
            net_g=net,
            stable=False,
            sellable=False,
            reason=reason,
        )
    if not weights:
        return None
    weight = weights[0]
    return ScaleWeight(
        device_id=device_id,
        seq=reading.seq,
        at=at,
        net_g=weight.value,
        stable=weight.stable,
        sellable=weight.stable,
        reason="" if weight.stable else "motion: the weight is not stable",
    )


# --- auto-hold ----------------------------------------------------------------------------


class LotAtLocation(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    lot: str
    location_id: str
    quantity: int


class HoldRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A cold-chain hold the edge places on a lot stored where an excursion started."""

    gtin: str
    lot: str
    location_id: str
    reason: str


def excursion_hold_reason(excursion: ColdChainExcursionStarted) -> str:
    """The reason a cold-chain hold states, for the QA officer who will release it."""
    limit = excursion.limit_centi_c / 100
    return (
        f"cold-chain excursion at {excursion.location_id}: {excursion.temp_centi_c / 100:.2f} °C "
        f"{excursion.direction} the {excursion.product_class} limit {limit:.2f} °C since "
        f"{excursion.outside_since.isoformat()} (probe {excursion.device_id})"
    )


def holds_for_excursion(
    excursion: ColdChainExcursionStarted, lots: Sequence[LotAtLocation]
) -> list[HoldRequest]:
    """One hold per distinct lot with stock at the excursion's location."""
    reason = excursion_hold_reason(excursion)
    seen: set[tuple[str, str]] = set()
    out: list[HoldRequest] = []
    for lot in lots:
        key = (lot.gtin, lot.lot)
        if lot.location_id != excursion.location_id or lot.quantity <= 0 or key in seen:
            continue
        seen.add(key)
        out.append(
            HoldRequest(gtin=lot.gtin, lot=lot.lot, location_id=lot.location_id, reason=reason)
        )
    return out
