"""Events of the store stock ledger, lots and lot holds.

Quantities are integers in the item's base unit: pieces for items sold `each`, grams for items
sold by `kg`. Money in fen, temperatures in centi-degrees Celsius. `lot` is "" for stock that is
not lot-tracked. A sale is `SaleRecorded` (protocol/scan_events.py), one event per sale.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from protocol.event_base import Event

LossReason = Literal[
    "sorting", "evaporation", "death", "spoilage", "damage", "theft", "count_adjustment"
]
HoldKind = Literal["recall", "quality", "cold_chain"]
DocumentKind = str  # e.g. "inspection_report", "quarantine_certificate"


class ItemProfileSet(Event, frozen=True, kw_only=True):
    """What the scan rules know of an item beyond its name and price."""

    gtin: str
    category: str = ""
    min_age_years: int = 0
    plu: str | None = None  # the store's item code in its variable-measure labels
    min_net_g: int | None = None
    max_net_g: int | None = None


class CategoryRuleSet(Event, frozen=True, kw_only=True):
    """The qualification documents every lot of a category must carry to be sold."""

    category: str
    required_documents: tuple[DocumentKind, ...] = ()


class LotRegistered(Event, frozen=True, kw_only=True):
    """A lot is known to the store (or its expiry, supplier or documents changed)."""

    gtin: str
    lot: str
    expiry: date | None = None
    supplier_id: str = ""
    documents: tuple[DocumentKind, ...] = ()


class GoodsReceived(Event, frozen=True, kw_only=True):
    """Goods arrived and were inspected: accepted quantity goes into stock at `location`."""

    receipt_id: str
    gtin: str
    lot: str
    location: str
    accepted_quantity: int
    rejected_quantity: int = 0
    reject_reason: str = ""
    supplier_id: str = ""
    expiry: date | None = None
    temperature_centi_c: int | None = None  # measured at receipt
    documents: tuple[DocumentKind, ...] = ()


class SaleReturned(Event, frozen=True, kw_only=True):
    """A customer brought goods back; `restocked` ones go back into sellable stock."""

    return_id: str
    sale_id: str
    gtin: str
    lot: str
    location: str
    quantity: int
    amount_fen: int
    restocked: bool = False
    reason: str = ""


class StockTransferred(Event, frozen=True, kw_only=True):
    transfer_id: str
    gtin: str
    lot: str
    from_location: str
    to_location: str
    quantity: int


class WasteRecorded(Event, frozen=True, kw_only=True):
    """Stock lost other than by a sale, with its reason."""

    waste_id: str
    gtin: str
    lot: str
    location: str
    quantity: int
    reason: LossReason
    note: str = ""


class StockCounted(Event, frozen=True, kw_only=True):
    """A physical count; the ledger's balance becomes `counted` (difference = counted - before)."""

    count_id: str
    gtin: str
    lot: str
    location: str
    counted: int
    difference: int


class PriceChanged(Event, frozen=True, kw_only=True):
    gtin: str
    old_price_fen: int
    new_price_fen: int
    reason: str = ""


class StockWentNegative(Event, frozen=True, kw_only=True):
    """A movement took a balance below zero. The movement stands (the goods left the store);
    the balance is flagged until a receipt or count brings it back."""

    gtin: str
    lot: str
    location: str
    balance: int
    cause: str  # the event type that moved it, e.g. "SaleRecorded"
    cause_id: str  # the document id (sale id, waste id, …)


class LotHoldPlaced(Event, frozen=True, kw_only=True):
    hold_id: str
    gtin: str
    lot: str
    kind: HoldKind
    reason: str
    location: str | None = None  # None: the lot is held everywhere in the store


class LotHoldReleased(Event, frozen=True, kw_only=True):
    hold_id: str
    gtin: str
    lot: str
    kind: HoldKind
    reason: str
