"""Trace a lot (or a receipt, or a container): a few indexed reads, then pure assembly.

Reads per lot trace: one per genealogy level (both directions in one query), one for the
events of every lot found, one for the temperatures of every stay, one for excursions.
Evidence (audit paths to signed checkpoints) is built only for a report that asks for it.
"""

from __future__ import annotations

import base64
import bisect
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import msgspec
import structlog

from cloud.errors import CloudError
from cloud.trace.domain import (
    MAX_GENEALOGY_DEPTH,
    MAX_GENEALOGY_LOTS,
    Genealogy,
    LocationExcursion,
    LotEdge,
    LotRef,
    LotStay,
    LotTrace,
    StaySummary,
    TemperaturePoint,
    actors_of,
    child_of,
    dedupe_records,
    lot_facts,
    parent_of,
    stays_and_stock,
)
from cloud.trace.evidence import (
    Evidence,
    EvidenceCheckpoint,
    EvidenceEvent,
    TraceReport,
    verify_report,
)
from cloud.trace.records import (
    CONTAINER_GTIN,
    EventSource,
    LotLink,
    TraceRecord,
    links_of,
    records_of,
)
from cloud.trace.store import TraceStore, bucket_width
from protocol.envelope import decode_event
from protocol.errors import UndecodableEvent
from protocol.evidence import inclusion_proof

log = structlog.get_logger(__name__)

REPORT_VERSION = 1
CURVE_POINTS = 48
# Genealogy levels one read fetches ahead through the links view (measured on the bench
# history: 2 beats 1 and 3, whose nested link reads cost more than the read they save).
HOPS_PER_READ = 2
# A time-range export is for a regulator's or a partner's request, not a data dump: bounded.
MAX_RANGE_EVENTS = 50_000
_KELVIN = 273.15
_DELTA_H_OVER_R = 10_000.0


class LotNotFound(CloudError):
    status_code = 404
    title = "not found"


class TraceRequestInvalid(CloudError):
    status_code = 400
    title = "bad trace request"


class RangeRecords(msgspec.Struct, frozen=True, kw_only=True):
    """The lot records of the events that occurred in a time range (one store, or all)."""

    store_id: str | None
    since: datetime
    until: datetime
    records: tuple[TraceRecord, ...]
    stays: tuple[LotStay, ...]
    truncated: bool  # more than MAX_RANGE_EVENTS events: narrow the range
    integrity: tuple[str, ...] = ()


class TraceService:
    def __init__(self, store: TraceStore) -> None:
        self._store = store

    async def trace_lot(self, gtin: str, lot: str, now: datetime) -> LotTrace:
        root = LotRef(gtin, lot)
        genealogy, decoded, broken = await self._walk(root)
        if not decoded and not broken:
            raise LotNotFound(f"no event of lot {lot!r} of item {gtin} has reached the cloud")
        wanted = set(genealogy.lots(root))
        records = dedupe_records(
            r for _src, recs, _links in decoded for r in recs if LotRef(r.gtin, r.lot) in wanted
        )
        descendants = {root} | {child_of(e) for e in genealogy.descendants}
        stays, on_hand = stays_and_stock(records)
        stays = await self._with_temperatures(stays, now)
        return LotTrace(
            gtin=gtin,
            lot=lot,
            generated_at=now,
            facts=lot_facts(root, records, now),
            genealogy=genealogy,
            stores=tuple(sorted({r.store_id for r in records})),
            records=tuple(records),
            sales=tuple(
                r
                for r in records
                if r.role in ("sold", "returned") and LotRef(r.gtin, r.lot) in descendants
            ),
            stays=tuple(stays),
            on_hand=tuple(s for s in on_hand if s.quantity > 0),
            actors=tuple(actors_of(records)),
            integrity=tuple(f"{store}#{seq}: {why}" for store, seq, why in broken),
            unusable_events=tuple((store, seq) for store, seq, _why in broken),
        )

    async def _walk(
        self, root: LotRef
    ) -> tuple[Genealogy, list[_Decoded], list[tuple[str, int, str]]]:
        """Read the lot's events, and level by level those of its ancestors (going up) and its
        descendants (going down): the transformation and packing events among each level's
        events name the next level. Each read also fetches the events of the next
        HOPS_PER_READ levels through the links view, so one read usually serves the whole
        family; a lot the walk reaches that no read covered (the links view lagging the index)
        is simply read with the next level."""
        fetched: dict[LotRef, list[tuple[Any, ...]]] = {}  # every lot read, with its rows
        up_seen, down_seen = {root}, {root}
        up, down = {root}, {root}
        ancestors: dict[tuple[Any, ...], LotEdge] = {}
        descendants: dict[tuple[Any, ...], LotEdge] = {}
        decoded: dict[tuple[str, int], _Decoded] = {}
        broken: list[tuple[str, int, str]] = []
        truncated = False
        for _level in range(MAX_GENEALOGY_DEPTH):
            if not (up or down):
                break
            unread_up = sorted((r.gtin, r.lot) for r in up if r not in fetched)
            unread_down = sorted((r.gtin, r.lot) for r in down if r not in fetched)
            if unread_up or unread_down:
                for gtin, lot in (*unread_up, *unread_down):
                    fetched.setdefault(LotRef(gtin, lot), [])  # read, even with no events
                for row in await self._store.lot_events_ahead(
                    unread_up, unread_down, HOPS_PER_READ
                ):
                    fetched.setdefault(LotRef(str(row[0]), str(row[1])), []).append(row[2:])
            rows = [row for lot in up | down for row in fetched[lot]]
            unseen = {(str(r[0]), int(r[1])): r for r in rows}
            for done in decoded.keys() & unseen.keys():
                del unseen[done]
            fresh = _decoded(sorted(unseen.values(), key=lambda r: (r[3], r[0], r[1])), broken)
            decoded.update({(d[0].store_id, d[0].seq): d for d in fresh})
            next_up: set[LotRef] = set()
            next_down: set[LotRef] = set()
            for _src, _recs, links in fresh:
                for link in links:
                    parent, child = parent_of(link), child_of(link)
                    key = (parent, child, link.store_id, link.seq)
                    if child in up:
                        ancestors[key] = link
                        if parent not in up_seen:
                            next_up.add(parent)
                    if parent in down:
                        descendants[key] = link
                        if child not in down_seen:
                            next_down.add(child)
            up_seen |= next_up
            down_seen |= next_down
            up, down = next_up, next_down
            if len(up_seen) + len(down_seen) > MAX_GENEALOGY_LOTS:
                truncated = True
                break
        else:
            truncated = bool(up or down)

        def ordered(edges: dict[tuple[Any, ...], LotEdge]) -> tuple[LotEdge, ...]:
            return tuple(sorted(edges.values(), key=lambda e: (e.occurred_at, e.seq)))

        genealogy = Genealogy(
            ancestors=ordered(ancestors), descendants=ordered(descendants), truncated=truncated
        )
        return genealogy, list(decoded.values()), sorted(set(broken))

    async def records_between(
        self, store_id: str | None, since: datetime, until: datetime, now: datetime
    ) -> RangeRecords:
        """Every lot record of the events in [since, until), with the stays they open (ended
        at `until` when still open then) and their temperatures."""
        if until <= since:
            raise TraceRequestInvalid(f"the range ends ({until}) before it starts ({since})")
        rows = await self._store.store_lot_events(store_id, since, until, MAX_RANGE_EVENTS + 1)
        broken: list[tuple[str, int, str]] = []
        decoded = _decoded(rows[:MAX_RANGE_EVENTS], broken)
        records = dedupe_records(r for _src, recs, _links in decoded for r in recs)
        stays, _on_hand = stays_and_stock(records)
        end = min(until, now)
        clipped = [
            s if s.until is not None and s.until <= end else msgspec.structs.replace(s, until=end)
            for s in stays
        ]
        return RangeRecords(
            store_id=store_id,
            since=since,
            until=until,
            records=tuple(records),
            stays=tuple(await self._with_temperatures(clipped, now)),
            truncated=len(rows) > MAX_RANGE_EVENTS,
            integrity=tuple(f"{store}#{seq}: {why}" for store, seq, why in sorted(set(broken))),
        )

    async def lots_of_document(self, document_id: str) -> list[LotRef]:
        """The lots a customer receipt, e-receipt, sale, goods receipt or shipment names."""
        refs = await self._store.events_by_document(document_id)
        rows = await self._store.events_at([(str(s), int(q)) for s, q, _t in refs])
        lots = {LotRef(r.gtin, r.lot) for _src, recs, _links in _decoded(rows) for r in recs}
        if not lots:
            raise LotNotFound(f"no receipt, sale or shipment {document_id!r} names a lot")
        return sorted(lots)

    async def report(self, gtin: str, lot: str, now: datetime) -> TraceReport:
        """The trace with its evidence; the cloud verifies it before handing it out."""
        trace = await self.trace_lot(gtin, lot, now)
        refs = sorted({(r.store_id, r.seq) for r in trace.records} | set(trace.unusable_events))
        evidence = await self._evidence(refs)
        report = TraceReport(report_version=REPORT_VERSION, trace=trace, evidence=evidence)
        check = verify_report(report)
        if not check.ok:
            log.warning(
                "trace.evidence_does_not_verify", gtin=gtin, lot=lot, failures=check.failures[:5]
            )
        return report

    async def _with_temperatures(self, stays: Sequence[LotStay], now: datetime) -> list[LotStay]:
        # Containers have no temperature of their own: their contents' stays carry it.
        measured = [s for s in stays if s.gtin != CONTAINER_GTIN]
        if not measured:
            return list(stays)
        windows = sorted({(s.store_id, s.location, s.since, s.until or now) for s in measured})
        buckets, marks = await self._store.stay_readings(windows)
        points = _curves(windows, buckets, CURVE_POINTS)
        excursions = _excursions(marks)
        summaries = {
            window: _summary(
                points.get(i, []),
                [x for x in excursions.get(window[:2], []) if _overlaps(x, window[2], window[3])],
            )
            for i, window in enumerate(windows)
        }
        return [
            s
            if s.gtin == CONTAINER_GTIN
            else msgspec.structs.replace(
                s, temperatures=summaries[(s.store_id, s.location, s.since, s.until or now)]
            )
            for s in stays
        ]

    async def _evidence(self, refs: Sequence[tuple[str, int]]) -> Evidence:
        rows = await self._store.events_at(refs)
        checkpoint_rows = await self._store.checkpoints_covering(refs)
        checkpoints = [_checkpoint(row) for row in checkpoint_rows]
        by_store: dict[str, list[EvidenceCheckpoint]] = defaultdict(list)
        for c in checkpoints:
            by_store[c.store_id].append(c)
        proofs: dict[tuple[str, int], tuple[int, tuple[str, ...]]] = {}
        for c in checkpoints:
            hashes = await self._store.chain_hashes(c.store_id, c.first_seq, c.last_seq)
            leaves = [bytes.fromhex(h) for _seq, h in hashes]
            if [seq for seq, _h in hashes] != list(range(c.first_seq, c.last_seq + 1)):
                continue  # a hole in the cloud's copy: these events stay unanchored
            for store_id, seq in refs:
                if store_id == c.store_id and c.first_seq <= seq <= c.last_seq:
                    path = inclusion_proof(leaves, seq - c.first_seq)
                    proofs[(store_id, seq)] = (c.last_seq, tuple(p.hex() for p in path))
        events = [_evidence_event(row, proofs.get((str(row[0]), int(row[1])))) for row in rows]
        used = {(e.store_id, e.checkpoint_last_seq) for e in events}
        return Evidence(
            events=tuple(events),
            checkpoints=tuple(c for c in checkpoints if (c.store_id, c.last_seq) in used),
        )


# --- row → value helpers -------------------------------------------------------------------


_Decoded = tuple[EventSource, list[TraceRecord], list[LotLink]]


def _decoded(
    rows: Sequence[tuple[Any, ...]], broken: list[tuple[str, int, str]] | None = None
) -> list[_Decoded]:
    """Each row's records and links, from its bytes. A row whose bytes do not hash to its
    chained hash, or do not decode, yields nothing and is listed in `broken` with why."""
    out = []
    for row in rows:
        store_id, seq = str(row[0]), int(row[1])
        try:
            evidence = _evidence_event(row)
            if evidence.recomputed_hash().hex() != evidence.hash:
                raise _Broken("its bytes do not hash to the chained hash (altered)")
            event = decode_event(base64.b64decode(evidence.body))
        except (_Broken, UndecodableEvent, ValueError) as exc:
            log.warning("trace.event_unusable", store_id=store_id, seq=seq, reason=str(exc))
            if broken is not None:
                broken.append((store_id, seq, str(exc)))
            continue
        source = evidence.source()
        out.append((source, records_of(source, event), links_of(source, event)))
    return out


class _Broken(Exception):
    pass


def _evidence_event(
    row: tuple[Any, ...], anchor: tuple[int, tuple[str, ...]] | None = None
) -> EvidenceEvent:
    return EvidenceEvent(
        store_id=str(row[0]),
        seq=int(row[1]),
        event_id=str(row[2]),
        occurred_at_us=int(row[3]),
        recorded_at_us=int(row[4]),
        device_id=str(row[5]),
        operator_id=str(row[6]),
        prev_hash=str(row[7]),
        hash=str(row[8]),
        body=base64.b64encode(bytes.fromhex(str(row[9]))).decode(),
        checkpoint_last_seq=anchor[0] if anchor else None,
        proof=anchor[1] if anchor else (),
    )


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _checkpoint(row: tuple[Any, ...]) -> EvidenceCheckpoint:
    store_id, first_seq, last_seq, key_id, head, root, signature, seq, public_key = row
    return EvidenceCheckpoint(
        store_id=str(store_id),
        first_seq=int(first_seq),
        last_seq=int(last_seq),
        key_id=str(key_id),
        head_hash=base64.b64decode(head).hex(),
        merkle_root=base64.b64decode(root).hex(),
        signature=base64.b64decode(signature).hex(),
        public_key=base64.b64decode(public_key or "").hex(),
        seq=int(seq),
    )


def _excursions(marks: Sequence[tuple[Any, ...]]) -> dict[tuple[str, str], list[LocationExcursion]]:
    """Fold start/end marks into excursions per (store, location)."""
    found: dict[tuple[str, str, str, datetime], dict[str, Any]] = {}
    for store_id, location, device, since, mark, at, direction, limit, temp in marks:
        entry = found.setdefault(
            (store_id, location, device, _utc(since)),
            {"direction": direction, "limit": int(limit), "worst": int(temp), "ended": None},
        )
        if mark == "ended":
            entry["ended"] = _utc(at)
            entry["worst"] = int(temp)
        else:
            entry["direction"], entry["limit"] = direction, int(limit)
    out: dict[tuple[str, str], list[LocationExcursion]] = defaultdict(list)
    for (store_id, location, device, since), e in sorted(found.items()):
        out[(store_id, location)].append(
            LocationExcursion(
                started_at=since,
                ended_at=e["ended"],
                direction=e["direction"],
                limit_centi_c=e["limit"],
                worst_centi_c=e["worst"],
                device_id=device,
            )
        )
    return out


def _overlaps(x: LocationExcursion, since: datetime, until: datetime) -> bool:
    return x.started_at <= until and (x.ended_at is None or x.ended_at >= since)


class _Point(NamedTuple):
    start: datetime
    n: int
    lo: int
    hi: int
    total: int
    terms: float


def _curves(
    windows: Sequence[tuple[str, str, datetime, datetime]],
    buckets: Sequence[tuple[Any, ...]],
    points: int,
) -> dict[int, list[_Point]]:
    """Per window (store, location, since, until), its buckets folded into at most `points`
    curve points. Each window reads the buckets of its `bucket_width`; the bucket holding
    `since` counts whole."""
    by_place: dict[tuple[int, str, str], list[tuple[int, int, int, int, int, float]]] = defaultdict(
        list
    )
    for width, store_id, location, bucket, n, lo, hi, total, terms in buckets:
        by_place[(int(width), str(store_id), str(location))].append(
            (int(bucket), int(n), int(lo), int(hi), int(total), float(terms))
        )
    for rows in by_place.values():
        rows.sort()
    out: dict[int, list[_Point]] = {}
    for i, (store_id, location, since, until) in enumerate(windows):
        width = bucket_width(since, until)
        rows = by_place.get((width, store_id, location), [])
        start = int(since.timestamp())
        end = int(until.timestamp())
        span = max(1, end - start + 1)
        first = bisect.bisect_left(rows, (start // width * width,))
        last = bisect.bisect_right(rows, (end, math.inf))
        folded: dict[int, list[Any]] = {}
        for bucket, n, lo, hi, total, terms in rows[first:last]:
            point = max(0, (bucket - start) * points // span)
            acc = folded.get(point)
            if acc is None:
                folded[point] = [bucket, n, lo, hi, total, terms]
            else:
                acc[0] = min(acc[0], bucket)
                acc[1] += n
                acc[2] = min(acc[2], lo)
                acc[3] = max(acc[3], hi)
                acc[4] += total
                acc[5] += terms
        out[i] = [
            _Point(datetime.fromtimestamp(b, UTC), n, lo, hi, total, terms)
            for b, n, lo, hi, total, terms in (folded[k] for k in sorted(folded))
        ]
    return out


def _summary(points: Sequence[_Point], excursions: list[LocationExcursion]) -> StaySummary:
    """Min, max and MKT of a stay from its curve points (each a sum over its buckets)."""
    count = sum(p.n for p in points)
    if not count:
        return StaySummary(excursions=tuple(excursions))
    terms = sum(p.terms for p in points)
    mkt = round((_DELTA_H_OVER_R / -math.log(terms / count) - _KELVIN) * 100) if terms > 0 else None
    return StaySummary(
        readings=count,
        min_centi_c=min(p.lo for p in points),
        max_centi_c=max(p.hi for p in points),
        mkt_centi_c=mkt,
        curve=tuple(TemperaturePoint(p.start, round(p.total / p.n)) for p in points if p.n),
        excursions=tuple(excursions),
    )
