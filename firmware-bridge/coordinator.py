"""The bridge coordinator: what the shells observed becomes numbered, timestamped readings,
batched per device and handed to a publish callable (Home Assistant's coordinator idea: the
shells poll, the coordinator fans out; availability is a fact, logged on change only).

No I/O and no clock here: `now` is passed in, publishing is a callable the MQTT shell provides
(it returns False when its queue is full: the batch stays pending and is retried).

Each device's readings get a seq from 1 within this bridge run (`epoch`, ms since 1970 at
start), its receive time and its own clock when it has one. Pending readings per device are
bounded; the oldest are dropped first and counted, and the edge sees the hole as a seq gap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import msgspec
import structlog

from firmware_bridge.mqtt_devices.messages import DecodedMessage
from firmware_bridge.readings import Availability, ProbeFault, ProbeSample, Rejected
from firmware_bridge.registry import DeviceConfig, Registry
from firmware_bridge.scales.events import (
    CommandRejected,
    FrameError,
    ScaleEvent,
    ScaleStatus,
    WeightReading,
)
from protocol.reading_events import (
    DeviceAvailability,
    DeviceReading,
    ReadingBatch,
    SensorFault,
    SensorValue,
    encode_reading_batch,
    readings_topic,
)

log = structlog.get_logger(__name__)

Publish = Callable[[str, bytes], bool]

MAX_PENDING_PER_DEVICE: Final = 10_000


def _round_half_even_div(value: int, divisor: int) -> int:
    quotient, remainder = divmod(value, divisor)
    if remainder * 2 > divisor or (remainder * 2 == divisor and quotient % 2 == 1):
        quotient += 1
    return quotient


def scale_observation(
    events: Iterable[ScaleEvent],
) -> tuple[tuple[SensorValue, ...], tuple[SensorFault, ...]] | None:
    """The weight (grams) and faults a scale's reply states; None if it states neither."""
    values: list[SensorValue] = []
    faults: list[SensorFault] = []
    for event in events:
        if isinstance(event, WeightReading):
            if event.net_mg is None:
                faults.append(SensorFault(sensor="net", reason=f"unit {event.unit} is not a mass"))
                continue
            grams = _round_half_even_div(event.net_mg, 1000)
            values.append(
                SensorValue(sensor="net", quantity="weight", value=grams, stable=event.stable)
            )
        elif isinstance(event, ScaleStatus):
            reasons = [
                name
                for name, flag in (
                    ("overload", event.overload),
                    ("underload", event.underload),
                    ("busy: no weight now", event.busy),
                )
                if flag
            ] + list(event.faults)
            if event.motion and not values:
                reasons.append("motion")
            faults.extend(SensorFault(sensor="net", reason=r) for r in reasons)
        elif isinstance(event, CommandRejected):
            faults.append(SensorFault(sensor="net", reason=f"scale refused: {event.reason}"))
    if not values and not faults:
        return None
    return tuple(values), tuple(faults)


def probe_observation(
    outcomes: Iterable[ProbeSample | ProbeFault], only_sensor: str = ""
) -> tuple[tuple[SensorValue, ...], tuple[SensorFault, ...], datetime | None]:
    values: list[SensorValue] = []
    faults: list[SensorFault] = []
    device_time: datetime | None = None
    for outcome in outcomes:
        if only_sensor and outcome.sensor != only_sensor:
            continue
        if isinstance(outcome, ProbeSample):
            values.append(
                SensorValue(
                    sensor=outcome.sensor, quantity=outcome.quantity, value=outcome.value_centi
                )
            )
            device_time = device_time or outcome.device_time
        else:
            faults.append(SensorFault(sensor=outcome.sensor, reason=outcome.reason))
    return tuple(values), tuple(faults), device_time


@dataclass(slots=True)
class _DeviceTrack:
    config: DeviceConfig
    next_seq: int = 1
    pending: list[DeviceReading] = field(default_factory=list)
    last_heard: datetime | None = None
    availability: DeviceAvailability | None = None


class BridgeHealth(msgspec.Struct, frozen=True, kw_only=True):
    devices: dict[str, str]
    problems: dict[str, str]
    published: int
    pending: int
    dropped: dict[str, int]


class BridgeCoordinator:
    def __init__(
        self,
        registry: Registry,
        *,
        publish: Publish,
        epoch_ms: int,
        stale_after_s: float = 30.0,
        offline_after_s: float = 120.0,
        batch_max: int = 500,
        max_pending: int = MAX_PENDING_PER_DEVICE,
    ) -> None:
        self.registry = registry
        self._publish = publish
        self.epoch_ms = epoch_ms
        self._stale_after_s = stale_after_s
        self._offline_after_s = offline_after_s
        self._batch_max = batch_max
        self._max_pending = max_pending
        self._tracks = {d.device_id: _DeviceTrack(config=d) for d in registry.devices}
        self.published = 0
        self.dropped: Counter[str] = Counter()
        for problem in registry.problems:
            log.warning("bridge.device_misconfigured", entry=problem.entry, reason=problem.reason)

    # --- observations ------------------------------------------------------------------

    def observe(
        self,
        device: DeviceConfig,
        now: datetime,
        *,
        values: Sequence[SensorValue] = (),
        faults: Sequence[SensorFault] = (),
        device_time: datetime | None = None,
        availability: DeviceAvailability | None = None,
    ) -> DeviceReading:
        """Record one reading of `device` received at `now`; returns it with its seq."""
        track = self._tracks[device.device_id]
        reading = DeviceReading(
            seq=track.next_seq,
            received_at=now,
            device_time=device_time,
            values=tuple(values),
            faults=tuple(faults),
            availability=availability,
        )
        track.next_seq += 1
        track.pending.append(reading)
        if len(track.pending) > self._max_pending:
            overflow = len(track.pending) - self._max_pending
            del track.pending[:overflow]
            self.dropped["pending_overflow"] += overflow
            log.error("bridge.pending_overflow", device_id=device.device_id, dropped=overflow)
        if values or faults:
            track.last_heard = now
            self._set_availability(track, "online", now)
        elif availability is not None:
            self._note_availability(track, availability)
        return reading

    def observe_scale(
        self, device: DeviceConfig, events: Sequence[ScaleEvent], now: datetime
    ) -> None:
        for event in events:
            if isinstance(event, FrameError):
                self.dropped["scale_frame_error"] += 1
                log.info("bridge.frame_error", device_id=device.device_id, reason=event.reason)
        observed = scale_observation(events)
        if observed is not None:
            self.observe(device, now, values=observed[0], faults=observed[1])

    def observe_probe(
        self, device: DeviceConfig, outcomes: Sequence[ProbeSample | ProbeFault], now: datetime
    ) -> None:
        values, faults, device_time = probe_observation(outcomes, device.sensor)
        if values or faults:
            self.observe(device, now, values=values, faults=faults, device_time=device_time)

    def observe_mqtt(self, message: DecodedMessage, now: datetime) -> None:
        """A decoded firmware message: readings, availability, or a counted rejection."""
        device = self.registry.by_mqtt_key(message.firmware, message.device)
        if device is None:
            self.dropped["unregistered_device"] += 1
            return
        for outcome in message.outcomes:
            if isinstance(outcome, Rejected):
                self.dropped["rejected_payload"] += 1
                log.info(
                    "bridge.payload_rejected", device_id=device.device_id, reason=outcome.reason
                )
            elif isinstance(outcome, Availability):
                if message.retained_last_known and outcome.state == "online":
                    continue  # the broker's old copy says nothing about now
                self.observe(device, now, availability=outcome.state)
        readings = message.readings
        if not readings:
            return
        if message.retained_last_known:
            self.dropped["retained_last_known"] += 1  # an old value replayed by the broker
            return
        self.observe_probe(device, readings, now)

    def port_lost(self, device: DeviceConfig, now: datetime, reason: str) -> None:
        """The shell lost the device's port (cable pulled): it is offline until it answers."""
        track = self._tracks[device.device_id]
        if track.availability != "offline":
            log.warning("bridge.device_offline", device_id=device.device_id, reason=reason)
            self.observe(device, now, availability="offline")

    # --- availability ------------------------------------------------------------------

    def _note_availability(self, track: _DeviceTrack, state: DeviceAvailability) -> None:
        if track.availability != state:
            log.info("bridge.availability", device_id=track.config.device_id, state=state)
            track.availability = state

    def _set_availability(
        self, track: _DeviceTrack, state: DeviceAvailability, now: datetime
    ) -> None:
        if track.availability == state:
            return
        previous, track.availability = track.availability, state
        if previous is not None:
            log.info(
                "bridge.availability", device_id=track.config.device_id, state=state, was=previous
            )

    def check_availability(self, now: datetime) -> None:
        """Devices silent past `stale_after_s` are stale, past `offline_after_s` offline; each
        change is published once as an availability reading."""
        for track in self._tracks.values():
            if track.last_heard is None or track.availability in ("offline", "removed"):
                continue
            silent_s = (now - track.last_heard).total_seconds()
            state: DeviceAvailability = "online"
            if silent_s > self._offline_after_s:
                state = "offline"
            elif silent_s > self._stale_after_s:
                state = "stale"
            if state != track.availability:
                self._set_availability(track, state, now)
                self.observe(track.config, now, availability=state)

    # --- publishing ----------------------------------------------------------------------

    def flush(self) -> int:
        """Publish every device's pending readings, `batch_max` per message. Returns the
        number of readings handed over; what the publisher refuses stays pending."""
        handed = 0
        for track in self._tracks.values():
            while track.pending:
                chunk = track.pending[: self._batch_max]
                device = track.config
                batch = ReadingBatch(
                    store_id=self.registry.store_id,
                    device_id=device.device_id,
                    kind=device.kind,
                    epoch=self.epoch_ms,
                    readings=tuple(chunk),
                    location_id=device.location_id,
                    location_kind=device.location_kind,
                    product_class=device.product_class,
                )
                topic = readings_topic(self.registry.store_id, device.device_id)
                if not self._publish(topic, encode_reading_batch(batch)):
                    return handed
                del track.pending[: len(chunk)]
                handed += len(chunk)
                self.published += len(chunk)
        return handed

    def pending(self) -> int:
        return sum(len(t.pending) for t in self._tracks.values())

    def health(self) -> BridgeHealth:
        return BridgeHealth(
            devices={
                device_id: track.availability or "unknown"
                for device_id, track in self._tracks.items()
            },
            problems={p.entry: p.reason for p in self.registry.problems},
            published=self.published,
            pending=self.pending(),
            dropped=dict(self.dropped),
        )
