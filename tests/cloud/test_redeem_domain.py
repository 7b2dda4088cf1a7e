"""Double-redemption flags, pure: first stands, each later one flagged once, rule per kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud.redeem.domain import CodeRedemption, RedemptionEvidence, plan_flags

T = datetime(2025, 6, 1, 12, tzinfo=UTC)


def redemption(
    store: str, minutes: int, kind: str = "group_buy", absorber: str = ""
) -> CodeRedemption:
    return CodeRedemption(
        code="C1",
        kind=kind,
        absorber=absorber,
        evidence=RedemptionEvidence(
            store_id=store,
            seq=minutes + 1,
            terminal_id=f"{store}-pos",
            redeemed_at=T + timedelta(minutes=minutes),
            redemption_id=f"r-{store}-{minutes}",
        ),
    )


def test_the_later_redemption_is_flagged_with_both_trails() -> None:
    (flag,) = plan_flags([redemption("s-b", 5), redemption("s-a", 1)], already_flagged=set())
    assert (flag.first.store_id, flag.second.store_id) == ("s-a", "s-b")
    assert (flag.rule, flag.absorbed_by) == ("later_store", "s-b")


def test_flags_are_raised_once_and_single_redemptions_never() -> None:
    items = [redemption("s-a", 1), redemption("s-b", 5), redemption("s-b", 5)]  # a replayed row
    assert len(plan_flags(items, already_flagged=set())) == 1
    assert plan_flags(items, already_flagged={("C1", "r-s-b-5")}) == []
    assert plan_flags([redemption("s-a", 1)], already_flagged=set()) == []


def test_rules_per_kind_and_voucher_override() -> None:
    (coupon,) = plan_flags(
        [redemption("s-a", 1, "coupon"), redemption("s-b", 2, "coupon")], already_flagged=set()
    )
    assert (coupon.rule, coupon.absorbed_by) == ("brand", "brand")
    (platform,) = plan_flags(
        [redemption("s-a", 1), redemption("s-b", 2, absorber="platform")], already_flagged=set()
    )
    assert platform.absorbed_by == "platform"
    (earlier,) = plan_flags(
        [redemption("s-a", 1), redemption("s-b", 2, absorber="earlier_store")],
        already_flagged=set(),
    )
    assert earlier.absorbed_by == "s-a"
