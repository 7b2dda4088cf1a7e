"""Cold-chain use cases: turn a reading batch from the bridge into one fact, watch for silence.

The service keeps each device's state in memory (loaded from SQLite at start), applies the
pure rules of `domain.py` and hands the writer one `Fact` per accepted batch: a
`ReadingsRecorded` event plus gap, excursion and liveness events, with the state statements
that go with them. Bad payloads are counted and dropped with a reason; nothing here raises on
input.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import msgspec
import structlog

from edge.coldchain import store
from edge.coldchain.domain import (
    DEFAULT_RULES,
    ColdChainRule,
    ExcursionWatch,
    ProbeLiveness,
    ProbeStatus,
    ScaleWeight,
    SeqState,
    admit_seq,
    check_silence,
    heard_from,
    mkt_term,
    observe_temperature,
    probe_status,
    reading_time,
    rule_for,
    scale_weight,
    screen_values,
    went_offline,
)
from edge.coldchain.store import DeviceRow
from edge.eventlog.writer import Fact, Statement
from protocol.event_base import Event
from protocol.reading_events import (
    ColdChainExcursionEnded,
    ColdChainExcursionStarted,
    DeviceReading,
    ReadingBatch,
    ReadingSeqGap,
    ReadingsRecorded,
    decode_reading_batch,
    is_valid_device_id,
)

log = structlog.get_logger(__name__)

OnExcursion = Callable[[ColdChainExcursionStarted], Awaitable[None]]


class Dropped(msgspec.Struct, frozen=True, kw_only=True):
    """A whole payload that was not recorded, and why."""

    reason: str
    detail: str = ""


class IntakeCounters(msgspec.Struct, kw_only=True):
    """What the intake has seen since start: a loss or a bad payload is never silent."""

    messages: int = 0
    readings_received: int = 0
    readings_recorded: int = 0
    readings_late: int = 0
    readings_missing: int = 0
    gaps: int = 0
    dropped: dict[str, int] = msgspec.field(default_factory=dict)


@dataclass(slots=True)
class _Device:
    row: DeviceRow
    weight: ScaleWeight | None = None
    last_stable: ScaleWeight | None = None


class ColdChainService:
    def __init__(
        self,
        *,
        store_id: str,
        clock: Callable[[], datetime],
        stale_after_s: float,
        offline_after_s: float,
        rules: Mapping[str, ColdChainRule] = DEFAULT_RULES,
        device_id: str = "edge",
    ) -> None:
        self._store_id = store_id
        self._clock = clock
        self._stale_after_s = stale_after_s
        self._offline_after_s = offline_after_s
        self._rules = rules
        self._device_id = device_id
        self._devices: dict[str, _Device] = {}
        self._drops: Counter[str] = Counter()
        self.counters = IntakeCounters()

    # --- state --------------------------------------------------------------------------

    def load(
        self,
        devices: list[DeviceRow],
        weights: Mapping[str, tuple[ScaleWeight, ScaleWeight | None]],
    ) -> None:
        """Replace the in-memory state with what SQLite holds (at start, after a failure)."""
        self._devices.clear()
        for row in devices:
            current, last_stable = weights.get(row.device_id, (None, None))
            self._devices[row.device_id] = _Device(row=row, weight=current, last_stable=last_stable)

    def device_rows(self) -> list[DeviceRow]:
        return [device.row for device in self._devices.values()]

    def status_of(self, row: DeviceRow, now: datetime) -> ProbeStatus:
        return probe_status(
            row.liveness.last_seen_at,
            now,
            stale_after_s=self._stale_after_s,
            offline_after_s=self._offline_after_s,
            offline_since=row.liveness.offline_since,
        )

    def scale_weight(self, device_id: str) -> tuple[ScaleWeight | None, ScaleWeight | None] | None:
        """(current weight, latest stable weight) of a scale; None for an unknown device."""
        device = self._devices.get(device_id)
        if device is None or device.row.kind != "scale":
            return None
        return device.weight, device.last_stable

    def drop(self, reason: str, detail: str = "") -> Dropped:
        self._drops[reason] += 1
        self.counters.dropped = dict(self._drops)
        log.warning("coldchain.dropped", store_id=self._store_id, reason=reason, detail=detail)
        return Dropped(reason=reason, detail=detail)

    def _count(self, reason: str, n: int = 1) -> None:
        self._drops[reason] += n
        self.counters.dropped = dict(self._drops)

    # --- intake -------------------------------------------------------------------------

    def committed(self, facts: list[Fact]) -> None:
        """The facts `ingest` returned are durable: only now do their readings count as
        recorded (a reader of the counter may look for them in the log at once)."""
        self.counters.readings_recorded += sum(
            len(event.readings)
            for fact in facts
            for event in fact.events
            if isinstance(event, ReadingsRecorded)
        )

    def ingest(self, topic: str, payload: bytes) -> Fact | Dropped | None:
        """One MQTT message from `jxc/<store>/readings/<device>`: a fact to record, the reason
        it was dropped, or None when it held nothing new (all duplicates)."""
        self.counters.messages += 1
        try:
            batch = decode_reading_batch(payload)
        except msgspec.DecodeError as exc:
            return self.drop("malformed_payload", str(exc)[:200])
        self.counters.readings_received += len(batch.readings)
        topic_device = topic.rsplit("/", 1)[-1]
        if batch.store_id != self._store_id:
            return self.drop("wrong_store", f"{batch.store_id!r} on {topic}")
        if not is_valid_device_id(batch.device_id) or batch.device_id != topic_device:
            return self.drop("topic_mismatch", f"device {batch.device_id!r} on {topic}")
        if not batch.readings:
            return self.drop("empty_batch", topic)
        return self._apply(batch)

    def _device_for(self, batch: ReadingBatch) -> _Device:
        device = self._devices.get(batch.device_id)
        if device is None:
            row = DeviceRow(
                device_id=batch.device_id,
                kind=batch.kind,
                location_id=batch.location_id,
                location_kind=batch.location_kind,
                product_class=batch.product_class,
                seq=SeqState(epoch=batch.epoch),
                liveness=ProbeLiveness(device_id=batch.device_id, location_id=batch.location_id),
                watch=ExcursionWatch(
                    location_id=batch.location_id,
                    device_id=batch.device_id,
                    product_class=batch.product_class,
                ),
            )
            device = self._devices[batch.device_id] = _Device(row=row)
            log.info(
                "coldchain.device_seen",
                store_id=self._store_id,
                device_id=batch.device_id,
                kind=batch.kind,
                location=batch.location_id,
            )
            return device
        row = device.row
        if (row.location_id, row.product_class, row.kind, row.location_kind) != (
            batch.location_id,
            batch.product_class,
            batch.kind,
            batch.location_kind,
        ):  # the registry moved the device: follow it
            device.row = msgspec.structs.replace(
                row,
                kind=batch.kind,
                location_id=batch.location_id,
                location_kind=batch.location_kind,
                product_class=batch.product_class,
                liveness=msgspec.structs.replace(row.liveness, location_id=batch.location_id),
                watch=ExcursionWatch(
                    location_id=batch.location_id,
                    device_id=batch.device_id,
                    product_class=batch.product_class,
                ),
            )
        return device

    def _apply(self, batch: ReadingBatch) -> Fact | None:
        device = self._device_for(batch)
        row = device.row
        rule = rule_for(row.product_class, self._rules) if row.kind == "probe" else None
        seq_state: SeqState | None = row.seq
        liveness, watch = row.liveness, row.watch
        events: list[Event] = []
        statements: list[Statement] = []
        accepted: list[DeviceReading] = []
        mkt: dict[datetime, list[int]] = {}
        latest: dict[tuple[str, str], tuple[int, bool, datetime]] = {}
        for raw_reading in batch.readings:
            admission = admit_seq(seq_state, batch.epoch, raw_reading.seq)
            seq_state = admission.state
            if admission.outcome in ("duplicate", "old_epoch"):
                self._count(admission.outcome)
                continue
            if admission.gap is not None:
                first, last = admission.gap
                self.counters.gaps += 1
                self.counters.readings_missing += last - first + 1
                events.append(
                    ReadingSeqGap(
                        device_id=row.device_id,
                        epoch=batch.epoch,
                        first_missing_seq=first,
                        last_missing_seq=last,
                    )
                )
                log.warning(
                    "coldchain.seq_gap",
                    store_id=self._store_id,
                    device_id=row.device_id,
                    missing=f"{first}..{last}",
                )
            reading, implausible = screen_values(raw_reading)
            for reason in implausible:
                self._count(reason)
            accepted.append(reading)
            if admission.outcome == "late":
                # An older reading filling a reported gap: logged, but it does not move the
                # current state back in time.
                self.counters.readings_late += 1
                continue
            liveness, watch = self._fold(device, reading, rule, liveness, watch, events, mkt)
            at = reading_time(reading)
            for v in reading.values:
                latest[(v.sensor, v.quantity)] = (v.value, v.stable, at)
        assert seq_state is not None
        device.row = msgspec.structs.replace(row, seq=seq_state, liveness=liveness, watch=watch)
        if not accepted and not events:
            return None
        recorded = ReadingsRecorded(
            device_id=row.device_id,
            kind=row.kind,
            epoch=batch.epoch,
            readings=tuple(accepted),
            location_id=row.location_id,
            product_class=row.product_class,
        )
        events.insert(sum(isinstance(e, ReadingSeqGap) for e in events), recorded)
        for event in events:
            if isinstance(event, ColdChainExcursionStarted):
                statements.append(store.insert_excursion(event))
            elif isinstance(event, ColdChainExcursionEnded):
                statements.append(store.end_excursion(event))
        for hour, temps in mkt.items():
            terms = math.fsum(mkt_term(t) for t in temps)
            statements.append(
                store.add_mkt(row.location_id, hour, len(temps), terms, min(temps), max(temps))
            )
        statements.extend(
            store.upsert_latest(row.device_id, sensor, quantity, value, stable, at)
            for (sensor, quantity), (value, stable, at) in latest.items()
        )
        if device.weight is not None:
            statements.append(store.upsert_scale_weight(device.weight, device.last_stable))
        statements.append(store.upsert_device(device.row))
        return Fact(
            events=tuple(events),
            occurred_at=reading_time(accepted[-1]) if accepted else self._clock(),
            device_id=row.device_id,
            statements=tuple(statements),
        )

    def _fold(
        self,
        device: _Device,
        reading: DeviceReading,
        rule: ColdChainRule | None,
        liveness: ProbeLiveness,
        watch: ExcursionWatch,
        events: list[Event],
        mkt: dict[datetime, list[int]],
    ) -> tuple[ProbeLiveness, ExcursionWatch]:
        row = device.row
        at = reading_time(reading)
        if reading.availability in ("offline", "removed"):
            liveness, offline = went_offline(
                liveness, reading.received_at, f"device reported {reading.availability}"
            )
            if offline is not None:
                events.append(offline)
                log.warning("coldchain.probe_offline", device_id=row.device_id, reason="reported")
            return liveness, watch
        liveness, back = heard_from(liveness, reading.received_at)
        if back is not None:
            events.append(back)
            log.info("coldchain.probe_back", store_id=self._store_id, device_id=row.device_id)
        if row.kind == "scale":
            weight = scale_weight(row.device_id, reading)
            if weight is not None:
                device.weight = weight
                if weight.sellable:
                    device.last_stable = weight
            return liveness, watch
        temps = [v.value for v in reading.values if v.quantity == "temperature"]
        if not temps:
            return liveness, watch
        if row.location_id:
            hour = at.replace(minute=0, second=0, microsecond=0)
            mkt.setdefault(hour, []).extend(temps)
        if rule is None:
            return liveness, watch
        warmest, coldest = max(temps), min(temps)
        worst = warmest if rule.max_centi_c is not None and warmest > rule.max_centi_c else coldest
        watch, excursion = observe_temperature(watch, rule, worst, at)
        if excursion is not None:
            events.append(excursion)
            log.warning(
                "coldchain.excursion_started"
                if isinstance(excursion, ColdChainExcursionStarted)
                else "coldchain.excursion_ended",
                store_id=self._store_id,
                location=row.location_id,
                device_id=row.device_id,
                temp_centi_c=worst,
            )
        return liveness, watch

    # --- silence --------------------------------------------------------------------------

    def check_silence(self, now: datetime) -> Fact | None:
        """Probes silent past the offline timeout go offline: one fact for all of them."""
        events: list[Event] = []
        statements: list[Statement] = []
        for device in self._devices.values():
            row = device.row
            if row.kind != "probe":
                continue
            liveness, offline = check_silence(
                row.liveness, now, offline_after_s=self._offline_after_s
            )
            if offline is None:
                continue
            device.row = msgspec.structs.replace(row, liveness=liveness)
            events.append(offline)
            statements.append(store.upsert_device(device.row))
            log.warning(
                "coldchain.probe_offline",
                store_id=self._store_id,
                device_id=row.device_id,
                reason=offline.reason,
            )
        if not events:
            return None
        return Fact(
            events=tuple(events),
            occurred_at=now,
            device_id=self._device_id,
            statements=tuple(statements),
        )
