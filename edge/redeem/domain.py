"""Redemption rules, pure: no I/O, no clock (`now` is a parameter).

`decide_redemption` says whether a voucher may be redeemed here and now, and what to hand over
or take off; a refusal is an answer with a reason, not an error. Exactly-once is not decided
here: the store's unique claim on the code, checked inside the writer's transaction, is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import msgspec

from protocol.redeem_events import (
    Channel,
    CodeRedeemed,
    CouponTerms,
    RedeemLine,
    RedemptionRejected,
    Voucher,
    VoucherSource,
)
from protocol.signed_codes import CodeRefusal

ReasonCode = Literal[
    "unknown",
    "malformed",
    "bad_signature",
    "unknown_key",
    "key_revoked",
    "key_expired",
    "key_not_yet_valid",
    "revoked",
    "expired",
    "not_yet_valid",
    "wrong_store",
    "conditions_not_met",
    "already_redeemed",
]

_MESSAGES: dict[ReasonCode, tuple[str, str]] = {
    "unknown": ("券码不存在，请核对后重试", "Unknown code"),
    "malformed": ("券码无法识别，请重新扫描", "The code cannot be read; scan again"),
    "bad_signature": ("券码签名无效，疑似伪造", "The code's signature is invalid"),
    "unknown_key": ("券码签名密钥未知", "The code is signed with an unknown key"),
    "key_revoked": ("券码签名密钥已吊销", "The code's signing key was revoked"),
    "key_expired": ("券码签名密钥已过期", "The code's signing key has expired"),
    "key_not_yet_valid": ("券码签名密钥尚未生效", "The code's signing key is not valid yet"),
    "revoked": ("该券已作废", "The voucher was revoked"),
    "expired": ("该券已过期", "The voucher has expired"),
    "not_yet_valid": ("该券尚未到使用时间", "The voucher is not valid yet"),
    "wrong_store": ("该券不适用于本门店", "The voucher is not valid in this store"),
    "conditions_not_met": ("未满足使用条件", "The voucher's conditions are not met"),
    "already_redeemed": ("该券已核销", "The code was already redeemed"),
}


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    code: ReasonCode
    message_zh: str
    message_en: str
    detail: str = ""


def reason(code: ReasonCode, detail: str = "") -> Reason:
    zh, en = _MESSAGES[code]
    return Reason(code=code, message_zh=zh, message_en=en, detail=detail)


class BasketLine(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    amount_fen: int
    quantity: int = 1


class Basket(msgspec.Struct, frozen=True, kw_only=True):
    """What the customer is buying, for coupon conditions (empty for hand-over codes)."""

    total_fen: int = 0
    lines: tuple[BasketLine, ...] = ()


class PriorRedemption(msgspec.Struct, frozen=True, kw_only=True):
    """Where, when and by which terminal a code was already redeemed."""

    store_id: str
    terminal_id: str
    redeemed_at: datetime
    seq: int
    redemption_id: str
    remote: bool = False  # learned from the cloud: redeemed in another store


class Grant(msgspec.Struct, frozen=True, kw_only=True):
    """The code may be redeemed: hand over `lines`, take `discount_fen` off the basket."""

    voucher: Voucher
    source: VoucherSource
    key_id: str
    lines: tuple[RedeemLine, ...]
    discount_fen: int


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    reason: Reason
    prior: PriorRedemption | None = None


def refusal_from_code(refusal: CodeRefusal) -> Refusal:
    """A signed code that does not verify."""
    return Refusal(reason=reason(refusal.reason, refusal.detail))


def coupon_discount(terms: CouponTerms, basket: Basket) -> int | Reason:
    """The discount a coupon gives on a basket, or why it does not apply."""
    if terms.item_gtins:
        wanted = set(terms.item_gtins)
        eligible = sum(line.amount_fen for line in basket.lines if line.gtin in wanted)
        if eligible == 0:
            return reason("conditions_not_met", "no eligible item in the basket")
    else:
        eligible = basket.total_fen or sum(line.amount_fen for line in basket.lines)
    if eligible < terms.min_spend_fen:
        return reason(
            "conditions_not_met",
            f"minimum spend {terms.min_spend_fen} fen, eligible amount {eligible} fen",
        )
    if terms.amount_off_fen > 0:
        discount = terms.amount_off_fen
    elif 0 < terms.percent_off <= 100:
        discount = eligible * terms.percent_off // 100
    else:
        return reason("conditions_not_met", "the coupon gives no discount")
    if terms.max_discount_fen > 0:
        discount = min(discount, terms.max_discount_fen)
    return min(discount, eligible)


def decide_redemption(
    voucher: Voucher,
    *,
    source: VoucherSource,
    key_id: str = "",
    store_id: str,
    basket: Basket,
    now: datetime,
    revoked: bool = False,
    prior: PriorRedemption | None = None,
) -> Grant | Refusal:
    """May this voucher be redeemed in this store now, and what does it give?"""
    if prior is not None:
        detail = f"{prior.store_id} {prior.terminal_id} {prior.redeemed_at.isoformat()}"
        return Refusal(reason=reason("already_redeemed", detail), prior=prior)
    if revoked:
        return Refusal(reason=reason("revoked"))
    if voucher.stores and store_id not in voucher.stores:
        return Refusal(reason=reason("wrong_store", ",".join(voucher.stores)[:200]))
    if now < voucher.valid_from:
        return Refusal(reason=reason("not_yet_valid", voucher.valid_from.isoformat()))
    if now >= voucher.valid_until:
        return Refusal(reason=reason("expired", voucher.valid_until.isoformat()))
    discount = 0
    if voucher.kind == "coupon":
        if voucher.terms is None:
            return Refusal(reason=reason("conditions_not_met", "a coupon without terms"))
        found = coupon_discount(voucher.terms, basket)
        if isinstance(found, Reason):
            return Refusal(reason=found)
        discount = found
    return Grant(
        voucher=voucher, source=source, key_id=key_id, lines=voucher.lines, discount_fen=discount
    )


def redeemed_event(
    grant: Grant,
    *,
    redemption_id: str,
    terminal_id: str,
    client_id: str,
    channel: Channel | None,
    basket: Basket,
) -> CodeRedeemed:
    voucher = grant.voucher
    return CodeRedeemed(
        redemption_id=redemption_id,
        code=voucher.code,
        kind=voucher.kind,
        source=grant.source,
        terminal_id=terminal_id,
        client_id=client_id,
        channel=channel or voucher.channel,
        lines=grant.lines,
        discount_fen=grant.discount_fen,
        value_fen=voucher.value_fen,
        basket_total_fen=basket.total_fen,
        order_id=voucher.order_id,
        issuer=voucher.issuer,
        stores=voucher.stores,
        key_id=grant.key_id,
        absorber=voucher.absorber,
    )


def rejected_event(
    refusal: Refusal, *, code: str, terminal_id: str, client_id: str, channel: Channel | None
) -> RedemptionRejected:
    return RedemptionRejected(
        code=code[:128],
        terminal_id=terminal_id,
        client_id=client_id,
        reason=refusal.reason.code,
        detail=refusal.reason.detail[:200],
        channel=channel or "dine-in",
    )


ReversalRefusalCode = Literal["already_reversed", "window_passed"]


def decide_reversal(
    *, redeemed_at: datetime, reversed_already: bool, now: datetime, window: timedelta
) -> ReversalRefusalCode | None:
    """None: the redemption may be reversed now."""
    if reversed_already:
        return "already_reversed"
    if now - redeemed_at > window:
        return "window_passed"
    return None
