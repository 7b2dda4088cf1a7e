"""Events of the POS scan and sale capability."""

from __future__ import annotations

import msgspec

from protocol.event_base import Event, SaleUnit, Verdict


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


class SaleRecorded(Event, frozen=True, kw_only=True, omit_defaults=True):
    """A completed sale; `sale_id` is the POS's own id, so a retry never sells twice.

    Fields added later have defaults and are omitted from the bytes while at their default
    (`omit_defaults`), so sales recorded before they existed encode exactly as they did.
    """

    sale_id: str
    terminal_id: str
    receipt_id: str
    lines: tuple[SaleLine, ...]
    total_fen: int
    channel: str = ""  # "dine-in" | "takeout" | "group-buy" | "wholesale" | "online"; "": counter
    e_receipt_ref: str = ""  # reference of the electronic receipt (电子小票) given to the buyer
    location: str = ""  # where the stock left from; "": the store's sales floor


class ItemMasterUpdated(Event, frozen=True, kw_only=True):
    """An item was added to or changed in the store's item master."""

    gtin: str
    name: str
    price_fen: int
    unit: SaleUnit = "each"
