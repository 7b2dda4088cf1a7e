"""Cold-chain and scale routes: thin reads over the service's state and the slice's tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import aiosqlite
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from edge.coldchain import store
from edge.coldchain.domain import ProbeStatus, ScaleWeight, mkt_from_terms, rule_for
from edge.coldchain.intake import ColdChainIntake, IntakeStatus
from edge.coldchain.service import ColdChainService, IntakeCounters
from edge.errors import EdgeError


class UnknownScale(EdgeError):
    status_code = 404
    title = "unknown scale"


@dataclass(frozen=True, slots=True)
class ColdChainView:
    """What the routes read: the service's memory, the read-only connection, the intake."""

    service: ColdChainService
    reader: aiosqlite.Connection
    intake: ColdChainIntake | None
    clock: Callable[[], datetime]


class ChannelValue(msgspec.Struct, frozen=True, kw_only=True):
    sensor: str
    quantity: str
    value: int
    at: datetime


class ProbeState(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    kind: str
    location_id: str
    product_class: str
    status: ProbeStatus
    last_seen_at: datetime | None
    offline_since: datetime | None
    outside_since: datetime | None
    in_excursion: bool
    values: tuple[ChannelValue, ...]


class LocationState(msgspec.Struct, frozen=True, kw_only=True):
    location_id: str
    location_kind: str
    product_class: str
    limit_min_centi_c: int | None
    limit_max_centi_c: int | None
    warmest_centi_c: int | None
    in_excursion: bool
    probes: tuple[ProbeState, ...]


class MktHour(msgspec.Struct, frozen=True, kw_only=True):
    hour_start: datetime
    readings: int
    mkt_centi_c: int | None
    min_centi_c: int
    max_centi_c: int


class MktReport(msgspec.Struct, frozen=True, kw_only=True):
    location_id: str
    since: datetime
    readings: int
    mkt_centi_c: int | None
    hours: tuple[MktHour, ...]


class IntakeReport(msgspec.Struct, frozen=True, kw_only=True):
    counters: IntakeCounters
    mqtt: IntakeStatus | None


class WeightAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A scale's weight for the POS: `sellable` only for a stable, fault-free, fresh reading."""

    device_id: str
    sellable: bool
    net_g: int | None
    stable: bool
    reason: str
    seq: int | None
    at: datetime | None
    last_stable: ScaleWeight | None


async def _probe_states(view: ColdChainView) -> list[ProbeState]:
    now = view.clock()
    values: dict[str, list[ChannelValue]] = {}
    for latest in await store.latest_values(view.reader):
        values.setdefault(latest.device_id, []).append(
            ChannelValue(
                sensor=latest.sensor, quantity=latest.quantity, value=latest.value, at=latest.at
            )
        )
    return [
        ProbeState(
            device_id=row.device_id,
            kind=row.kind,
            location_id=row.location_id,
            product_class=row.product_class,
            status=view.service.status_of(row, now),
            last_seen_at=row.liveness.last_seen_at,
            offline_since=row.liveness.offline_since,
            outside_since=row.watch.outside_since,
            in_excursion=row.watch.in_excursion,
            values=tuple(values.get(row.device_id, ())),
        )
        for row in sorted(view.service.device_rows(), key=lambda r: r.device_id)
    ]


class ColdChainController(Controller):
    path = "/v1/coldchain"
    tags = ["coldchain"]

    @get("/probes", summary="Every device the bridge reports: online, stale or offline")
    async def probes(self, coldchain: NamedDependency[ColdChainView]) -> list[ProbeState]:
        return await _probe_states(coldchain)

    @get("/locations", summary="Current state per location: probes, warmest value, excursion")
    async def locations(self, coldchain: NamedDependency[ColdChainView]) -> list[LocationState]:
        by_location: dict[str, list[ProbeState]] = {}
        kinds: dict[str, str] = {}
        for row in coldchain.service.device_rows():
            kinds[row.location_id] = row.location_kind
        for probe in await _probe_states(coldchain):
            if probe.kind == "probe" and probe.location_id:
                by_location.setdefault(probe.location_id, []).append(probe)
        out = []
        for location_id, probes in sorted(by_location.items()):
            product_class = probes[0].product_class
            rule = rule_for(product_class)
            temps = [
                v.value
                for p in probes
                if p.status != "offline"
                for v in p.values
                if v.quantity == "temperature"
            ]
            out.append(
                LocationState(
                    location_id=location_id,
                    location_kind=kinds.get(location_id, ""),
                    product_class=product_class,
                    limit_min_centi_c=None if rule is None else rule.min_centi_c,
                    limit_max_centi_c=None if rule is None else rule.max_centi_c,
                    warmest_centi_c=max(temps) if temps else None,
                    in_excursion=any(p.in_excursion for p in probes),
                    probes=tuple(probes),
                )
            )
        return out

    @get("/excursions", summary="Excursions, newest first")
    async def excursions(
        self,
        coldchain: NamedDependency[ColdChainView],
        location: Annotated[str | None, QueryParameter(name="location")] = None,
        open_only: Annotated[bool, QueryParameter(name="open")] = False,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=1000)] = 100,
    ) -> list[store.ExcursionRecord]:
        return await store.excursions(
            coldchain.reader, location_id=location, open_only=open_only, limit=limit
        )

    @get("/locations/{location_id:str}/mkt", summary="Mean kinetic temperature per hour")
    async def mkt(
        self,
        coldchain: NamedDependency[ColdChainView],
        location_id: FromPath[str],
        hours: Annotated[int, QueryParameter(name="hours", ge=1, le=24 * 366)] = 24,
    ) -> MktReport:
        since = coldchain.clock().replace(minute=0, second=0, microsecond=0) - timedelta(
            hours=hours - 1
        )
        rows = await store.mkt_hours(coldchain.reader, location_id, since)
        total_n = sum(r[1] for r in rows)
        total_terms = sum(r[2] for r in rows)
        return MktReport(
            location_id=location_id,
            since=since,
            readings=total_n,
            mkt_centi_c=mkt_from_terms(total_n, total_terms),
            hours=tuple(
                MktHour(
                    hour_start=hour,
                    readings=n,
                    mkt_centi_c=mkt_from_terms(n, terms),
                    min_centi_c=low,
                    max_centi_c=high,
                )
                for hour, n, terms, low, high in rows
            ),
        )

    @get("/intake", summary="Intake counters: received, recorded, dropped by reason, gaps")
    async def intake(self, coldchain: NamedDependency[ColdChainView]) -> IntakeReport:
        return IntakeReport(
            counters=coldchain.service.counters,
            mqtt=None if coldchain.intake is None else coldchain.intake.status,
        )


class ScaleController(Controller):
    path = "/v1/scales"
    tags = ["scales"]

    @get(
        "/{device_id:str}/weight",
        summary="The scale's weight for a sale: only a stable weight is sellable",
    )
    async def weight(
        self,
        coldchain: NamedDependency[ColdChainView],
        device_id: FromPath[str],
        max_age_s: Annotated[float, QueryParameter(name="max_age_s", gt=0, le=3600)] = 10.0,
    ) -> WeightAnswer:
        found = coldchain.service.scale_weight(device_id)
        if found is None:
            raise UnknownScale(f"no scale {device_id!r} has reported to this edge")
        current, last_stable = found
        if current is None:
            return WeightAnswer(
                device_id=device_id,
                sellable=False,
                net_g=None,
                stable=False,
                reason="no weight reported yet",
                seq=None,
                at=None,
                last_stable=last_stable,
            )
        age_s = (coldchain.clock() - current.at).total_seconds()
        fresh = age_s <= max_age_s
        reason = current.reason if fresh else f"weight is {age_s:.0f} s old: weigh again"
        return WeightAnswer(
            device_id=device_id,
            sellable=current.sellable and fresh,
            net_g=current.net_g,
            stable=current.stable,
            reason=reason,
            seq=current.seq,
            at=current.at,
            last_stable=last_stable,
        )
