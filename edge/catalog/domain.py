"""Item master facts, pure."""

from __future__ import annotations

from datetime import datetime

import msgspec

from protocol.events import ItemMasterUpdated, SaleUnit


class Item(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    gtin: str  # GTIN-14
    name: str
    price_fen: int
    unit: SaleUnit = "each"


class ItemMasterChange(msgspec.Struct, frozen=True, kw_only=True):
    items: tuple[Item, ...]
    occurred_at: datetime


def item_events(change: ItemMasterChange) -> tuple[ItemMasterUpdated, ...]:
    return tuple(
        ItemMasterUpdated(gtin=item.gtin, name=item.name, price_fen=item.price_fen, unit=item.unit)
        for item in change.items
    )
