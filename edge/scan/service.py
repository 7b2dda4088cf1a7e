"""Scan use case: read the code, look the item up, decide, log the scan as an event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import msgspec

from edge.catalog.store import ItemCatalog
from edge.eventlog.writer import EventLogWriter, Fact
from edge.scan.domain import ScanDecision, ScannedCode, decide_scan, scan_event
from protocol.gs1 import BarcodeError, decode_scan


class RecordedScan(msgspec.Struct, frozen=True, kw_only=True):
    decision: ScanDecision
    seq: int
    event_id: str


def read_code(raw: str, *, today: date) -> ScannedCode:
    """Translate the barcode layer's answer into what the scan rules need."""
    result = decode_scan(raw, today=today)
    if isinstance(result, BarcodeError):
        return ScannedCode(raw=raw, error_reason=result.reason, error_message=result.message)
    return ScannedCode(raw=raw, gtin=result.gtin14)


class ScanService:
    def __init__(
        self,
        *,
        catalog: ItemCatalog,
        writer: EventLogWriter,
        clock: Callable[[], datetime],
    ) -> None:
        self._catalog = catalog
        self._writer = writer
        self._clock = clock

    async def verify(
        self,
        raw_code: str,
        *,
        terminal_id: str,
        operator_id: str,
        occurred_at: datetime | None,
    ) -> RecordedScan:
        now = self._clock()
        code = read_code(raw_code, today=now.date())
        item = await self._catalog.lookup(code.gtin) if code.gtin else None
        decision = decide_scan(code, item)
        (envelope,) = await self._writer.record(
            Fact(
                events=(scan_event(code, decision, terminal_id=terminal_id),),
                occurred_at=occurred_at or now,
                device_id=terminal_id,
                operator_id=operator_id,
            )
        )
        return RecordedScan(decision=decision, seq=envelope.seq, event_id=str(envelope.event_id))
