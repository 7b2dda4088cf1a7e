"""Redemption rules, pure: coupons, validity, store set, reversal window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.redeem.domain import (
    Basket,
    BasketLine,
    Grant,
    PriorRedemption,
    Reason,
    Refusal,
    coupon_discount,
    decide_redemption,
    decide_reversal,
)
from protocol.redeem_events import CouponTerms, Voucher

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def coupon(**terms: int) -> Voucher:
    return Voucher(
        code="CP",
        kind="coupon",
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=1),
        terms=CouponTerms(**terms),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("terms", "total", "expected"),
    [
        ({"amount_off_fen": 1000}, 5000, 1000),
        ({"amount_off_fen": 1000}, 600, 600),  # never more than the basket
        ({"percent_off": 15}, 9999, 1499),  # floor, in fen
        ({"percent_off": 50, "max_discount_fen": 2000}, 10000, 2000),
        ({"amount_off_fen": 500, "min_spend_fen": 3000}, 2999, None),
        ({"percent_off": 0}, 5000, None),
    ],
)
def test_coupon_discounts(terms: dict[str, int], total: int, expected: int | None) -> None:
    found = coupon_discount(CouponTerms(**terms), Basket(total_fen=total))  # type: ignore[arg-type]
    if expected is None:
        assert isinstance(found, Reason)
        assert found.code == "conditions_not_met"
    else:
        assert found == expected


def test_item_set_coupons_count_only_eligible_lines() -> None:
    basket = Basket(
        lines=(BasketLine(gtin="A", amount_fen=3000), BasketLine(gtin="B", amount_fen=9000))
    )
    terms = CouponTerms(percent_off=10, min_spend_fen=2000, item_gtins=("A",))
    assert coupon_discount(terms, basket) == 300


def test_validity_window_is_half_open() -> None:
    voucher = coupon(amount_off_fen=100)
    at_end = decide_redemption(
        voucher,
        source="batch",
        store_id="s1",
        basket=Basket(total_fen=500),
        now=voucher.valid_until,
    )
    assert isinstance(at_end, Refusal)
    assert at_end.reason.code == "expired"
    at_start = decide_redemption(
        voucher, source="batch", store_id="s1", basket=Basket(total_fen=500), now=voucher.valid_from
    )
    assert isinstance(at_start, Grant)


def test_already_redeemed_wins_over_every_other_reason() -> None:
    prior = PriorRedemption(
        store_id="s1", terminal_id="pos-2", redeemed_at=NOW, seq=9, redemption_id="r"
    )
    refused = decide_redemption(
        coupon(amount_off_fen=1), source="batch", store_id="s9", basket=Basket(), now=NOW,
        revoked=True, prior=prior,
    )  # fmt: skip
    assert isinstance(refused, Refusal)
    assert refused.reason.code == "already_redeemed"
    assert refused.prior == prior


def test_reversal_window() -> None:
    window = timedelta(minutes=30)
    assert decide_reversal(redeemed_at=NOW, reversed_already=False, now=NOW, window=window) is None
    late = NOW + timedelta(minutes=31)
    assert decide_reversal(redeemed_at=NOW, reversed_already=False, now=late, window=window) == (
        "window_passed"
    )
    assert decide_reversal(redeemed_at=NOW, reversed_already=True, now=NOW, window=window) == (
        "already_reversed"
    )
