"""Scan use case: read the code, gather what the store knows (all from memory), decide, log
the scan as an event (group-committed by the writer)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date, datetime

import msgspec

from edge.catalog.store import ItemCatalog
from edge.eventlog.writer import EventLogWriter, Fact
from edge.holds.domain import applies_at
from edge.holds.store import ActiveHolds
from edge.ledger.store import LedgerMaster
from edge.scan.domain import (
    ScaleReading,
    ScanContext,
    ScanDecision,
    ScannedCode,
    decide_scan,
    scan_event,
)
from protocol.gs1 import BarcodeError, VariableMeasureLayout, decode_scan


class RecordedScan(msgspec.Struct, frozen=True, kw_only=True):
    decision: ScanDecision
    seq: int
    event_id: str


def read_code(
    raw: str, *, today: date, layouts: Sequence[VariableMeasureLayout] = ()
) -> ScannedCode:
    """Translate the barcode layer's answer into what the scan rules need."""
    return _read_code_cached(raw, today, tuple(layouts))


# A store scans the same codes over and over (a shelf of one EAN-13, a batch of labels), and a
# decode depends only on the text, the day and the layouts: remember the recent ones.
@functools.lru_cache(maxsize=16_384)
def _read_code_cached(
    raw: str, today: date, layouts: tuple[VariableMeasureLayout, ...]
) -> ScannedCode:
    result = decode_scan(raw, today=today, layouts=layouts)
    if isinstance(result, BarcodeError):
        return ScannedCode(raw=raw, error_reason=result.reason, error_message=result.message)
    return ScannedCode(
        raw=raw,
        gtin=result.gtin14,
        item_code=result.item_code,
        lot=result.lot,
        expiry=result.expiry,
        expiry_time=result.expiry_time,
        sell_by=result.sell_by,
        best_before=result.best_before,
        net_g=result.net_g,
        price_fen=result.price_fen,
    )


class ScanService:
    def __init__(
        self,
        *,
        catalog: ItemCatalog,
        writer: EventLogWriter,
        clock: Callable[[], datetime],
        master: LedgerMaster | None = None,
        holds: ActiveHolds | None = None,
        layouts: Sequence[VariableMeasureLayout] = (),
    ) -> None:
        self._catalog = catalog
        self._writer = writer
        self._clock = clock
        self._master = master
        self._holds = holds
        self._layouts = tuple(layouts)

    async def verify(
        self,
        raw_code: str,
        *,
        terminal_id: str,
        operator_id: str,
        occurred_at: datetime | None,
        scale: ScaleReading | None = None,
        location: str | None = None,
        age_verified: bool = False,
    ) -> RecordedScan:
        now = self._clock()
        code = read_code(raw_code, today=now.date(), layouts=self._layouts)
        context = await self._context(code, scale, location, age_verified)
        decision = decide_scan(code, context, now=now)
        (envelope,) = await self._writer.record(
            Fact(
                events=(scan_event(code, decision, terminal_id=terminal_id),),
                occurred_at=occurred_at or now,
                device_id=terminal_id,
                operator_id=operator_id,
            )
        )
        return RecordedScan(decision=decision, seq=envelope.seq, event_id=str(envelope.event_id))

    async def _context(
        self,
        code: ScannedCode,
        scale: ScaleReading | None,
        location: str | None,
        age_verified: bool,
    ) -> ScanContext:
        master = self._master
        gtin = code.gtin
        if code.item_code is not None:  # a store label: the PLU names the item
            gtin = master.by_plu.get(code.item_code) if master is not None else None
        if gtin is None:
            return ScanContext(scale=scale, age_verified=age_verified)
        item = await self._catalog.lookup(gtin)
        if item is None or master is None:
            return ScanContext(item=item, scale=scale, age_verified=age_verified)
        lot_id = code.lot
        holds = (
            tuple(h for h in self._holds.active_for(gtin, lot_id) if applies_at(h, location))
            if lot_id is not None and self._holds is not None
            else ()
        )
        return ScanContext(
            item=item,
            profile=master.profiles.get(gtin),
            lot=master.lots.get((gtin, lot_id)) if lot_id is not None else None,
            holds=holds,
            rule=master.rule_for(gtin),
            scale=scale,
            age_verified=age_verified,
        )
