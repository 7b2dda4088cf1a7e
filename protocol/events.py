"""Every business event of jxc, as one tagged union.

Schema evolution rules (msgspec's, enforced by golden-bytes tests in tests/protocol/):
- the tag is the class name: never rename an event class;
- never rename or re-type a field; a new field always gets a default;
- never `forbid_unknown_fields`: an older reader must skip fields it does not know.

Units are in the names where the type does not carry them: money in fen (integer minor units),
weight in grams, temperatures in centi-degrees Celsius.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Verdict = Literal["allow", "warn", "block"]
SaleUnit = Literal["each", "kg"]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type"):
    """Base of every event body. The envelope (store, seq, hash chain) wraps it."""


class ItemScanned(Event, frozen=True, kw_only=True):
    """A POS terminal scanned a code and the edge answered a verdict."""

    terminal_id: str
    raw_code: str
    verdict: Verdict
    gtin: str | None = None
    reasons: tuple[str, ...] = ()


class SaleLine(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    amount_fen: int
    unit_price_fen: int
    quantity: int = 1
    net_g: int | None = None
    lot: str | None = None


class SaleRecorded(Event, frozen=True, kw_only=True):
    """A completed sale; `sale_id` is the POS's own id, so a retry never sells twice."""

    sale_id: str
    terminal_id: str
    receipt_id: str
    lines: tuple[SaleLine, ...]
    total_fen: int


class ItemMasterUpdated(Event, frozen=True, kw_only=True):
    """An item was added to or changed in the store's item master."""

    gtin: str
    name: str
    price_fen: int
    unit: SaleUnit = "each"


AnyEvent = ItemScanned | SaleRecorded | ItemMasterUpdated

EVENT_TYPES: tuple[type[Event], ...] = (ItemScanned, SaleRecorded, ItemMasterUpdated)


def event_type_name(event: Event) -> str:
    """The wire tag of an event (its class name)."""
    return type(event).__name__
