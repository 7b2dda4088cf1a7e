"""Scan verdict rules, pure: no I/O, no clock.

A verdict is `allow`, `warn` or `block` with machine-readable reasons, each with a message in
zh-CN and en for the cashier's screen. A `block` is an answer, not an error.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from edge.catalog.domain import Item
from protocol.events import ItemScanned, Verdict

ReasonCode = Literal["unknown_item", "bad_check_digit", "unreadable_code"]

_MESSAGES: dict[ReasonCode, tuple[str, str]] = {
    "unknown_item": ("商品不在商品主档中，请联系店长", "Item is not in the item master"),
    "bad_check_digit": ("条码校验位错误，请重新扫描", "Barcode check digit is wrong; scan again"),
    "unreadable_code": ("无法识别的条码，请重新扫描", "Code cannot be read; scan again"),
}

_SEVERITY: dict[ReasonCode, Verdict] = {
    "unknown_item": "block",
    "bad_check_digit": "block",
    "unreadable_code": "block",
}

_RANK: dict[Verdict, int] = {"allow": 0, "warn": 1, "block": 2}


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    code: ReasonCode
    message_zh: str
    message_en: str
    detail: str = ""


class ScannedCode(msgspec.Struct, frozen=True, kw_only=True):
    """What the barcode layer understood of the scanned text."""

    raw: str
    gtin: str | None = None
    error_reason: str | None = None  # the barcode parser's reason code when unreadable
    error_message: str = ""


class ScanDecision(msgspec.Struct, frozen=True, kw_only=True):
    verdict: Verdict
    reasons: tuple[Reason, ...]
    gtin: str | None
    item: Item | None


def reason(code: ReasonCode, detail: str = "") -> Reason:
    zh, en = _MESSAGES[code]
    return Reason(code=code, message_zh=zh, message_en=en, detail=detail)


def decide_scan(code: ScannedCode, item: Item | None) -> ScanDecision:
    """The verdict for one scan, given what the code says and the item master entry."""
    reasons: list[Reason] = []
    if code.error_reason == "bad_check_digit":
        reasons.append(reason("bad_check_digit", code.error_message))
    elif code.error_reason is not None or code.gtin is None:
        reasons.append(reason("unreadable_code", code.error_reason or ""))
    elif item is None:
        reasons.append(reason("unknown_item", code.gtin))
    verdict: Verdict = "allow"
    for found in reasons:
        if _RANK[_SEVERITY[found.code]] > _RANK[verdict]:
            verdict = _SEVERITY[found.code]
    return ScanDecision(verdict=verdict, reasons=tuple(reasons), gtin=code.gtin, item=item)


def scan_event(code: ScannedCode, decision: ScanDecision, *, terminal_id: str) -> ItemScanned:
    return ItemScanned(
        terminal_id=terminal_id,
        raw_code=code.raw,
        verdict=decision.verdict,
        gtin=decision.gtin,
        reasons=tuple(r.code for r in decision.reasons),
    )
