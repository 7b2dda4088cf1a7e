"""Double redemptions across stores, pure: who redeemed first, who absorbs the loss.

A code valid in several stores can be redeemed offline in two of them. The first redemption
(by the store's device time, then store and seq for a stable order) stands; each later one is
a flag, raised once (keyed by the later redemption's id) with both evidence trails. Who absorbs
the loss follows a rule per voucher kind, unless the voucher names its own absorber.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from protocol.redeem_events import Absorber

# The rule per voucher kind (a business decision, kept here as data):
# - group_buy: the platform settles one redemption, to the store that redeemed first; the later
#   store handed goods over without payment and absorbs it;
# - coupon: a marketing cost: the brand absorbs it;
# - prepaid_order / pickup: the order was paid once; the later hand-over is the later store's
#   loss (its staff can check the order at the counter).
ABSORBER_RULES: dict[str, Absorber] = {
    "group_buy": "later_store",
    "coupon": "brand",
    "prepaid_order": "later_store",
    "pickup": "later_store",
}
DEFAULT_ABSORBER: Absorber = "brand"


class RedemptionEvidence(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    seq: int
    terminal_id: str
    redeemed_at: datetime
    redemption_id: str


class CodeRedemption(msgspec.Struct, frozen=True, kw_only=True):
    """One CodeRedeemed event as the cloud stored it."""

    code: str
    kind: str
    absorber: str  # the voucher's own choice, "" for the rule's
    evidence: RedemptionEvidence


class DoubleRedemptionFlag(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    kind: str
    first: RedemptionEvidence
    second: RedemptionEvidence
    rule: Absorber
    absorbed_by: str  # a store id, or "brand" / "platform"


def _order(item: CodeRedemption) -> tuple[datetime, str, int]:
    e = item.evidence
    return (e.redeemed_at, e.store_id, e.seq)


def absorber_of(first: CodeRedemption, second: CodeRedemption) -> tuple[Absorber, str]:
    rule: Absorber = ABSORBER_RULES.get(second.kind, DEFAULT_ABSORBER)
    if second.absorber in ("later_store", "earlier_store", "brand", "platform"):
        rule = second.absorber  # type: ignore[assignment]
    if rule == "later_store":
        return rule, second.evidence.store_id
    if rule == "earlier_store":
        return rule, first.evidence.store_id
    return rule, rule


def plan_flags(
    redemptions: list[CodeRedemption], *, already_flagged: set[tuple[str, str]]
) -> list[DoubleRedemptionFlag]:
    """New flags for live (not reversed) redemptions; (code, later redemption id) once."""
    by_code: dict[str, list[CodeRedemption]] = {}
    for item in redemptions:
        by_code.setdefault(item.code, []).append(item)
    flags = []
    for code, items in sorted(by_code.items()):
        unique = {item.evidence.redemption_id: item for item in items}
        ordered = sorted(unique.values(), key=_order)
        first = ordered[0]
        for later in ordered[1:]:
            if (code, later.evidence.redemption_id) in already_flagged:
                continue
            rule, absorbed_by = absorber_of(first, later)
            flags.append(
                DoubleRedemptionFlag(
                    code=code,
                    kind=later.kind,
                    first=first.evidence,
                    second=later.evidence,
                    rule=rule,
                    absorbed_by=absorbed_by,
                )
            )
    return flags
