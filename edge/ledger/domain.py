"""Ledger rules, pure: balances, movements, FEFO, sale allocation. No I/O, no clock.

Quantities are integers in the item's base unit: pieces (`each`) or grams (`kg`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import msgspec

from protocol.ledger_events import DocumentKind, StockWentNegative

SALES_FLOOR = "sales_floor"
NO_LOT = ""

StockKey = tuple[str, str, str]  # (gtin, lot, location)


class ItemProfile(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    gtin: str
    category: str = ""
    min_age_years: int = 0
    plu: str | None = None
    min_net_g: int | None = None
    max_net_g: int | None = None


class CategoryRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    category: str
    required_documents: tuple[DocumentKind, ...] = ()


class Lot(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    gtin: str
    lot: str
    expiry: date | None = None
    supplier_id: str = ""
    documents: tuple[DocumentKind, ...] = ()


class Movement(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    lot: str
    location: str
    delta: int

    @property
    def key(self) -> StockKey:
        return (self.gtin, self.lot, self.location)


class Pick(msgspec.Struct, frozen=True, kw_only=True):
    lot: str
    quantity: int
    expiry: date | None = None


class FefoSuggestion(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    location: str
    picks: tuple[Pick, ...]
    shortfall: int  # what no sellable lot covers


class NegativeFlag(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    lot: str
    location: str
    balance: int


def settle(
    balances: Mapping[StockKey, int],
    movements: Iterable[Movement],
    *,
    cause: str,
    cause_id: str,
) -> tuple[dict[StockKey, int], tuple[StockWentNegative, ...]]:
    """New balances of the touched keys, and a StockWentNegative for each decrement that
    leaves its balance below zero. Movements are never refused."""
    after: dict[StockKey, int] = {}
    flags: list[StockWentNegative] = []
    for move in movements:
        balance = after.get(move.key, balances.get(move.key, 0)) + move.delta
        after[move.key] = balance
        if move.delta < 0 and balance < 0:
            flags.append(
                StockWentNegative(
                    gtin=move.gtin,
                    lot=move.lot,
                    location=move.location,
                    balance=balance,
                    cause=cause,
                    cause_id=cause_id,
                )
            )
    return after, tuple(flags)


def sellable(lot: Lot | None, *, today: date, held: frozenset[str]) -> bool:
    if lot is None:
        return True
    if lot.lot in held:
        return False
    return lot.expiry is None or lot.expiry >= today


def fefo(
    gtin: str,
    location: str,
    stock: Mapping[str, int],
    lots: Mapping[str, Lot],
    quantity: int,
    *,
    today: date,
    held: frozenset[str] = frozenset(),
) -> FefoSuggestion:
    """First-expired-first-out: sellable lots with stock, earliest expiry first (lots without
    an expiry after those with one), until `quantity` is covered."""
    candidates = [
        (lot_id, qty)
        for lot_id, qty in stock.items()
        if qty > 0 and sellable(lots.get(lot_id), today=today, held=held)
    ]

    def order(entry: tuple[str, int]) -> tuple[bool, date, str]:
        found = lots.get(entry[0])
        expiry = found.expiry if found is not None else None
        return (expiry is None, expiry or date.max, entry[0])

    picks: list[Pick] = []
    left = quantity
    for lot_id, qty in sorted(candidates, key=order):
        if left <= 0:
            break
        take = min(qty, left)
        found = lots.get(lot_id)
        picks.append(Pick(lot=lot_id, quantity=take, expiry=found.expiry if found else None))
        left -= take
    return FefoSuggestion(gtin=gtin, location=location, picks=tuple(picks), shortfall=max(left, 0))


def split_amount(amount_fen: int, quantities: Sequence[int]) -> tuple[int, ...]:
    """Split a line amount across lots in proportion to quantity; the rounding goes to the
    last part, so the parts always sum to the amount."""
    total = sum(quantities)
    if total <= 0 or len(quantities) == 1:
        return (amount_fen, *([0] * (len(quantities) - 1)))
    parts = [amount_fen * q // total for q in quantities[:-1]]
    return (*parts, amount_fen - sum(parts))


def allocate(suggestion: FefoSuggestion, quantity: int) -> tuple[Pick, ...]:
    """The lots a sale of `quantity` without a lot takes: the FEFO picks, and any shortfall
    from the lot of the last pick (or the untracked lot): that balance goes negative, flagged."""
    picks = list(suggestion.picks)
    if suggestion.shortfall > 0:
        if picks:
            last = picks[-1]
            picks[-1] = Pick(
                lot=last.lot, quantity=last.quantity + suggestion.shortfall, expiry=last.expiry
            )
        else:
            picks.append(Pick(lot=NO_LOT, quantity=quantity))
    return tuple(picks)


def missing_documents(lot: Lot | None, rule: CategoryRule | None) -> tuple[DocumentKind, ...]:
    if rule is None or not rule.required_documents:
        return ()
    on_file = set(lot.documents) if lot is not None else set()
    return tuple(doc for doc in rule.required_documents if doc not in on_file)
