"""Lot holds, pure: which holds stop a sale at a location."""

from __future__ import annotations

from datetime import datetime

import msgspec

from protocol.ledger_events import HoldKind, LotHoldPlaced, LotHoldReleased

HOLD_KINDS: tuple[HoldKind, ...] = ("recall", "quality", "cold_chain")


class Hold(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    hold_id: str
    gtin: str
    lot: str
    kind: HoldKind
    reason: str
    location: str | None = None  # None: everywhere in the store
    placed_by: str = ""
    placed_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None
    released_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None


def applies_at(hold: Hold, location: str | None) -> bool:
    """A store-wide hold applies everywhere; a located hold only where it was placed (or when
    the scan does not say where it happens)."""
    return hold.active and (hold.location is None or location is None or hold.location == location)


def placed_event(hold: Hold) -> LotHoldPlaced:
    return LotHoldPlaced(
        hold_id=hold.hold_id,
        gtin=hold.gtin,
        lot=hold.lot,
        kind=hold.kind,
        reason=hold.reason,
        location=hold.location,
    )


def released_event(hold: Hold) -> LotHoldReleased:
    return LotHoldReleased(
        hold_id=hold.hold_id,
        gtin=hold.gtin,
        lot=hold.lot,
        kind=hold.kind,
        reason=hold.release_reason or "",
    )
