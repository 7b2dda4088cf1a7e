"""Scan verdict rules, pure: no I/O, no clock.

A verdict is `allow`, `warn` or `block` with machine-readable reasons, each with a message in
zh-CN and en for the cashier's screen. A `block` is an answer, not an error.
The rules see what the code says (ScannedCode), the item master entry and its profile, the
lot (expiry, documents), the lot's holds that apply here, the category's document rule and the
scale reading the POS sent with the scan, and `now` (store-local wall clock for AI 7003).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

import msgspec

from edge.catalog.domain import Item
from edge.holds.domain import Hold
from edge.ledger.domain import CategoryRule, ItemProfile, Lot, missing_documents
from protocol.events import ItemScanned, Verdict

ReasonCode = Literal[
    "unknown_item",
    "bad_check_digit",
    "unreadable_code",
    "expired",
    "past_sell_by",
    "recalled_lot",
    "held_lot",
    "cold_chain_hold",
    "unknown_lot",
    "weight_unstable",
    "weight_out_of_range",
    "weight_mismatch",
    "price_mismatch",
    "missing_document",
    "age_restricted",
]

_MESSAGES: dict[ReasonCode, tuple[str, str]] = {
    "unknown_item": ("商品不在商品主档中，请联系店长", "Item is not in the item master"),
    "bad_check_digit": ("条码校验位错误，请重新扫描", "Barcode check digit is wrong; scan again"),
    "unreadable_code": ("无法识别的条码，请重新扫描", "Code cannot be read; scan again"),
    "expired": ("商品已过期，禁止销售", "Item is past its expiry date; do not sell"),
    "past_sell_by": ("商品已过销售期限，请核实", "Item is past its sell-by date; check it"),
    "recalled_lot": ("该批次已召回，禁止销售", "This lot is recalled; do not sell"),
    "held_lot": ("该批次被质量冻结，禁止销售", "This lot is on quality hold; do not sell"),
    "cold_chain_hold": (
        "该批次冷链温度异常，已冻结，禁止销售",
        "This lot is held after a cold-chain excursion; do not sell",
    ),
    "unknown_lot": ("批次未入库登记，请核实", "Lot was never received by this store; check it"),
    "weight_unstable": ("秤未稳定，请稳定后再称重", "Scale is not stable; wait and weigh again"),
    "weight_out_of_range": (
        "重量超出范围，请重新称重",
        "Weight is out of range (overload, underload or outside the item's limits)",
    ),
    "weight_mismatch": ("标签重量与秤重不符", "Label weight does not match the scale"),
    "price_mismatch": ("标签价格与商品价格不符", "Label price does not match the item price"),
    "missing_document": (
        "该批次缺少资质文件（检验报告/检疫证明）",
        "Lot lacks a required document (inspection report / quarantine certificate)",
    ),
    "age_restricted": ("限制年龄商品，请核验顾客身份", "Age-restricted item: check the buyer's ID"),
}

_SEVERITY: dict[ReasonCode, Verdict] = {
    "unknown_item": "block",
    "bad_check_digit": "block",
    "unreadable_code": "block",
    "expired": "block",
    "past_sell_by": "warn",
    "recalled_lot": "block",
    "held_lot": "block",
    "cold_chain_hold": "block",
    "unknown_lot": "warn",
    "weight_unstable": "block",
    "weight_out_of_range": "block",
    "weight_mismatch": "block",
    "price_mismatch": "block",
    "missing_document": "block",
    "age_restricted": "warn",
}

_HOLD_REASON: dict[str, ReasonCode] = {
    "recall": "recalled_lot",
    "quality": "held_lot",
    "cold_chain": "cold_chain_hold",
}

_RANK: dict[Verdict, int] = {"allow": 0, "warn": 1, "block": 2}

# A label's weight may differ from the scale by this much (grams) or this share, whichever is
# larger; a label's price from price × weight by one fen of rounding.
WEIGHT_TOLERANCE_G = 5
WEIGHT_TOLERANCE_PERMILLE = 10
PRICE_TOLERANCE_FEN = 1


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    code: ReasonCode
    severity: Verdict
    message_zh: str
    message_en: str
    detail: str = ""


class ScaleReading(msgspec.Struct, frozen=True, kw_only=True):
    """The weight the POS's scale showed with the scan (legal for trade: only stable sells)."""

    net_g: int
    stable: bool
    gross_g: int | None = None
    tare_g: int | None = None
    overload: bool = False
    underload: bool = False


class ScannedCode(msgspec.Struct, frozen=True, kw_only=True):
    """What the barcode layer understood of the scanned text."""

    raw: str
    gtin: str | None = None
    error_reason: str | None = None  # the barcode parser's reason code when unreadable
    error_message: str = ""
    item_code: str | None = None  # PLU of a store variable-measure label
    lot: str | None = None
    expiry: date | None = None
    expiry_time: time | None = None
    sell_by: date | None = None
    best_before: date | None = None
    net_g: int | None = None
    price_fen: int | None = None


class ScanContext(msgspec.Struct, frozen=True, kw_only=True):
    """Master data and readings the rules need, gathered by the service (from memory)."""

    item: Item | None = None
    profile: ItemProfile | None = None
    lot: Lot | None = None
    holds: tuple[Hold, ...] = ()  # the lot's active holds that apply at the scan's location
    rule: CategoryRule | None = None
    scale: ScaleReading | None = None
    age_verified: bool = False


class ScanDecision(msgspec.Struct, frozen=True, kw_only=True):
    verdict: Verdict
    reasons: tuple[Reason, ...]
    gtin: str | None
    item: Item | None


def reason(code: ReasonCode, detail: str = "") -> Reason:
    zh, en = _MESSAGES[code]
    return Reason(code=code, severity=_SEVERITY[code], message_zh=zh, message_en=en, detail=detail)


def decide_scan(code: ScannedCode, context: ScanContext, *, now: datetime) -> ScanDecision:
    """The verdict for one scan, given what the code says and what the store knows."""
    item = context.item
    reasons: list[Reason] = []
    if code.error_reason in ("bad_check_digit", "bad_measure_check_digit"):
        reasons.append(reason("bad_check_digit", code.error_message))
    elif code.error_reason is not None or code.gtin is None:
        reasons.append(reason("unreadable_code", code.error_message or code.error_reason or ""))
    elif item is None:
        reasons.append(reason("unknown_item", code.item_code or code.gtin))
    else:
        reasons.extend(_item_rules(code, item, context, now=now))
    verdict: Verdict = "allow"
    for found in reasons:
        if _RANK[found.severity] > _RANK[verdict]:
            verdict = found.severity
    gtin = item.gtin if item is not None else code.gtin
    return ScanDecision(verdict=verdict, reasons=tuple(reasons), gtin=gtin, item=item)


def _item_rules(
    code: ScannedCode, item: Item, context: ScanContext, *, now: datetime
) -> list[Reason]:
    found: list[Reason] = []
    today = now.date()
    lot = context.lot
    # Dates: the code's own, then the lot's.
    if code.expiry is not None and (
        code.expiry < today
        or (code.expiry == today and code.expiry_time is not None and now.time() > code.expiry_time)
    ):
        found.append(reason("expired", f"code expiry {code.expiry}"))
    elif lot is not None and lot.expiry is not None and lot.expiry < today:
        found.append(reason("expired", f"lot {lot.lot} expired {lot.expiry}"))
    for label, day in (("sell-by", code.sell_by), ("best-before", code.best_before)):
        if day is not None and day < today:
            found.append(reason("past_sell_by", f"{label} {day}"))
            break
    # Lot: holds, registration, documents.
    for hold in context.holds:
        where = f" at {hold.location}" if hold.location else ""
        found.append(reason(_HOLD_REASON[hold.kind], f"hold {hold.hold_id}{where}: {hold.reason}"))
    if code.lot is not None and lot is None:
        found.append(reason("unknown_lot", code.lot))
    if code.lot is not None:
        missing = missing_documents(lot, context.rule)
        if missing:
            found.append(reason("missing_document", ", ".join(missing)))
    found.extend(_weight_rules(code, item, context))
    min_age = context.profile.min_age_years if context.profile is not None else 0
    if min_age > 0 and not context.age_verified:
        found.append(reason("age_restricted", f"{min_age}+"))
    return found


def _weight_rules(code: ScannedCode, item: Item, context: ScanContext) -> list[Reason]:
    found: list[Reason] = []
    scale = context.scale
    profile = context.profile
    if scale is not None:
        if scale.overload or scale.underload or scale.net_g <= 0:
            found.append(reason("weight_out_of_range", f"scale net {scale.net_g} g"))
        elif (
            scale.gross_g is not None
            and scale.tare_g is not None
            and scale.gross_g - scale.tare_g != scale.net_g
        ):
            found.append(
                reason(
                    "weight_out_of_range",
                    f"gross {scale.gross_g} g - tare {scale.tare_g} g != net {scale.net_g} g",
                )
            )
        if not scale.stable:
            found.append(reason("weight_unstable"))
    net_g = code.net_g if code.net_g is not None else (scale.net_g if scale else None)
    if net_g is not None and profile is not None and net_g > 0:
        low, high = profile.min_net_g, profile.max_net_g
        if (low is not None and net_g < low) or (high is not None and net_g > high):
            found.append(reason("weight_out_of_range", f"{net_g} g outside {low}-{high} g"))
    if code.net_g is not None and scale is not None and scale.stable and scale.net_g > 0:
        tolerance = max(WEIGHT_TOLERANCE_G, code.net_g * WEIGHT_TOLERANCE_PERMILLE // 1000)
        if abs(code.net_g - scale.net_g) > tolerance:
            found.append(reason("weight_mismatch", f"label {code.net_g} g, scale {scale.net_g} g"))
    if code.price_fen is not None:
        expected = _expected_price(item, net_g)
        if expected is not None and abs(code.price_fen - expected) > PRICE_TOLERANCE_FEN:
            found.append(
                reason("price_mismatch", f"label {code.price_fen} fen, expected {expected} fen")
            )
    return found


def _expected_price(item: Item, net_g: int | None) -> int | None:
    if item.unit == "each":
        return item.price_fen
    if net_g is None or net_g <= 0:
        return None
    return (item.price_fen * net_g + 500) // 1000  # price per kg × kg, rounded half up


def scan_event(code: ScannedCode, decision: ScanDecision, *, terminal_id: str) -> ItemScanned:
    return ItemScanned(
        terminal_id=terminal_id,
        raw_code=code.raw,
        verdict=decision.verdict,
        gtin=decision.gtin,
        reasons=tuple(r.code for r in decision.reasons),
    )
