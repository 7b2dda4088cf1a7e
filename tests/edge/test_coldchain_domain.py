"""Cold-chain rules as pure tests: excursions, MKT (shared vectors), liveness, seq order, holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.coldchain.domain import (
    DEFAULT_RULES,
    ExcursionWatch,
    LotAtLocation,
    ProbeLiveness,
    SeqState,
    admit_seq,
    check_silence,
    heard_from,
    holds_for_excursion,
    mean_kinetic_temperature,
    mkt_from_terms,
    mkt_term,
    observe_temperature,
    probe_status,
    scale_weight,
    screen_values,
    went_offline,
)
from protocol.reading_events import (
    ColdChainExcursionEnded,
    ColdChainExcursionStarted,
    DeviceReading,
    ProbeCameBack,
    ProbeWentOffline,
    SensorFault,
    SensorValue,
)

VECTORS = json.loads((Path(__file__).parents[2] / "../shared/vectors/coldchain.json").read_text())
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def _watch(product_class: str = "chilled") -> ExcursionWatch:
    return ExcursionWatch(location_id="cold-room-1", device_id="p1", product_class=product_class)


def _run(temps_by_minute: list[int], product_class: str = "chilled") -> list[object]:
    rule = DEFAULT_RULES[product_class]
    watch, events = _watch(product_class), []
    for minute, temp in enumerate(temps_by_minute):
        watch, event = observe_temperature(watch, rule, temp, T0 + timedelta(minutes=minute))
        if event is not None:
            events.append(event)
    return events


def test_limits_match_the_shared_vectors() -> None:
    limits = VECTORS["limits_c"]
    assert DEFAULT_RULES["chilled"].max_centi_c == limits["chilled_max"] * 100
    assert DEFAULT_RULES["frozen"].max_centi_c == limits["frozen_max"] * 100


def test_a_door_open_blip_shorter_than_the_grace_time_is_not_an_excursion() -> None:
    assert _run([400] * 5 + [1100] * 10 + [450] * 5) == []


def test_above_limit_longer_than_grace_starts_then_ends_an_excursion() -> None:
    events = _run([400] * 3 + [900] * 10 + [1250] * 10 + [600] * 2)
    assert len(events) == 2
    started, ended = events
    assert isinstance(started, ColdChainExcursionStarted)
    assert started.outside_since == T0 + timedelta(minutes=3)
    assert started.direction == "above"
    assert started.limit_centi_c == 800
    assert started.grace_s == 900
    assert isinstance(ended, ColdChainExcursionEnded)
    assert ended.worst_centi_c == 1250
    assert ended.ended_at == T0 + timedelta(minutes=23)


def test_exactly_at_the_limit_is_inside() -> None:
    assert _run([800] * 60) == []


def test_live_seafood_tank_below_its_species_range_is_an_excursion() -> None:
    events = _run([2200] * 2 + [1900] * 15, product_class="live-seafood:grouper")
    assert len(events) == 1
    assert isinstance(events[0], ColdChainExcursionStarted)
    assert events[0].direction == "below"
    assert events[0].limit_centi_c == 2000


def test_frozen_product_class() -> None:
    assert _run([-2000] * 30) == []
    events = _run([-1500] * 20, product_class="frozen")
    assert [type(e) for e in events] == [ColdChainExcursionStarted]


@pytest.mark.parametrize(
    "case", VECTORS["mean_kinetic_temperature"]["cases"], ids=lambda c: str(c["mkt_c"])
)
def test_mean_kinetic_temperature_vectors(case: dict[str, object]) -> None:
    readings = case["readings_c"]
    if isinstance(readings, str):  # "23 readings of 5 then 1 reading of 25"
        temps = [500] * 23 + [2500]
    else:
        assert isinstance(readings, list)
        temps = [int(r) * 100 for r in readings]
    assert mean_kinetic_temperature(temps) == round(float(str(case["mkt_c"])) * 100)


def test_mkt_of_parts_adds_up_like_the_whole() -> None:
    temps = [300, 450, 700, 1200, 500]
    terms = [mkt_term(t) for t in temps]
    assert mkt_from_terms(2, sum(terms[:2])) is not None
    assert mkt_from_terms(5, sum(terms[:2]) + sum(terms[2:])) == mean_kinetic_temperature(temps)
    assert mean_kinetic_temperature([]) is None


def test_probe_status_online_stale_offline() -> None:
    seen = T0
    kw = {"stale_after_s": 60, "offline_after_s": 300}
    assert probe_status(seen, T0 + timedelta(seconds=30), **kw) == "online"
    assert probe_status(seen, T0 + timedelta(seconds=120), **kw) == "stale"
    assert probe_status(seen, T0 + timedelta(seconds=301), **kw) == "offline"
    assert probe_status(None, T0, **kw) == "offline"
    assert probe_status(seen, T0, offline_since=T0, **kw) == "offline"


def test_a_silent_probe_goes_offline_once_and_comes_back() -> None:
    live = ProbeLiveness(device_id="p1", location_id="cold-room-1", last_seen_at=T0)
    live, event = check_silence(live, T0 + timedelta(seconds=200), offline_after_s=300)
    assert event is None
    live, event = check_silence(live, T0 + timedelta(seconds=301), offline_after_s=300)
    assert isinstance(event, ProbeWentOffline)
    assert event.last_seen_at == T0
    live, again = check_silence(live, T0 + timedelta(seconds=900), offline_after_s=300)
    assert again is None
    live, back = heard_from(live, T0 + timedelta(seconds=1000))
    assert isinstance(back, ProbeCameBack)
    assert back.offline_since == T0 + timedelta(seconds=301)
    live, none = heard_from(live, T0 + timedelta(seconds=1010))
    assert none is None


def test_a_probe_that_says_offline_goes_offline() -> None:
    live = ProbeLiveness(device_id="p1", location_id="x", last_seen_at=T0)
    live, event = went_offline(live, T0, "device reported offline")
    assert event is not None
    assert event.reason == "device reported offline"
    assert went_offline(live, T0, "again")[1] is None


def test_seq_gap_duplicate_late_and_new_epoch() -> None:
    state = None
    outcomes = []
    for seq in (1, 2, 5, 5, 3, 3, 6):
        admission = admit_seq(state, 100, seq)
        state = admission.state
        outcomes.append((admission.outcome, admission.gap))
    assert outcomes == [
        ("accepted", None),
        ("accepted", None),
        ("accepted", (3, 4)),
        ("duplicate", None),
        ("late", None),
        ("duplicate", None),
        ("accepted", None),
    ]
    assert state is not None
    assert state.missing == frozenset({4})
    assert admit_seq(state, 99, 7).outcome == "old_epoch"
    restarted = admit_seq(state, 200, 1)
    assert restarted.outcome == "accepted"
    assert restarted.state == SeqState(epoch=200, high_seq=1)


@given(st.lists(st.integers(min_value=1, max_value=60), max_size=200))
def test_every_seq_is_accepted_at_most_once(seqs: list[int]) -> None:
    state = None
    accepted: list[int] = []
    for seq in seqs:
        admission = admit_seq(state, 1, seq)
        state = admission.state
        if admission.outcome in ("accepted", "late"):
            accepted.append(seq)
    assert len(accepted) == len(set(accepted))
    assert set(accepted) == set(seqs)


def test_implausible_values_become_faults() -> None:
    reading = DeviceReading(
        seq=1,
        received_at=T0,
        values=(
            SensorValue(sensor="t", quantity="temperature", value=412),
            SensorValue(sensor="t2", quantity="temperature", value=32767),
            SensorValue(sensor="h", quantity="humidity", value=-5),
        ),
    )
    screened, reasons = screen_values(reading)
    assert reasons == ("implausible_temperature", "implausible_humidity")
    assert [v.sensor for v in screened.values] == ["t"]
    assert [f.sensor for f in screened.faults] == ["t2", "h"]


def test_only_a_stable_fault_free_weight_is_sellable() -> None:
    def weight(stable: bool, faults: tuple[SensorFault, ...] = ()) -> DeviceReading:
        return DeviceReading(
            seq=1,
            received_at=T0,
            values=(SensorValue(sensor="net", quantity="weight", value=1234, stable=stable),),
            faults=faults,
        )

    stable = scale_weight("s1", weight(True))
    assert stable is not None
    assert stable.sellable
    assert stable.net_g == 1234
    moving = scale_weight("s1", weight(False))
    assert moving is not None
    assert not moving.sellable
    assert "motion" in moving.reason
    overload = scale_weight(
        "s1",
        DeviceReading(
            seq=2, received_at=T0, faults=(SensorFault(sensor="net", reason="overload"),)
        ),
    )
    assert overload is not None
    assert not overload.sellable
    assert overload.net_g is None
    assert overload.reason == "overload"


def test_an_excursion_holds_each_lot_stored_at_its_location_once() -> None:
    started = ColdChainExcursionStarted(
        location_id="cold-room-1",
        device_id="p1",
        product_class="chilled",
        direction="above",
        limit_centi_c=800,
        temp_centi_c=1210,
        outside_since=T0,
        grace_s=900,
    )
    lots = [
        LotAtLocation(gtin="0690", lot="L1", location_id="cold-room-1", quantity=10),
        LotAtLocation(gtin="0690", lot="L1", location_id="cold-room-1", quantity=3),
        LotAtLocation(gtin="0691", lot="L2", location_id="cold-room-1", quantity=0),
        LotAtLocation(gtin="0692", lot="L3", location_id="counter", quantity=5),
        LotAtLocation(gtin="0693", lot="L4", location_id="cold-room-1", quantity=1),
    ]
    holds = holds_for_excursion(started, lots)
    assert [(h.gtin, h.lot) for h in holds] == [("0690", "L1"), ("0693", "L4")]
    assert "12.10 °C above the chilled limit 8.00 °C" in holds[0].reason
