"""Scan-to-redeem (扫码核销): what can be redeemed, the voucher batches sent down to stores,
and the events of redemptions on a store's chain.

Four kinds of codes can be redeemed at the counter:
- `group_buy`: a platform voucher (美团/抖音 团购券) bound to a package of items to hand over;
- `coupon`: a member coupon, amount or percent off, with conditions (minimum spend, item set,
  time window, store set);
- `prepaid_order`: an order paid in advance, bound to lines to hand over;
- `pickup`: a takeout / self-pickup code, an order id bound to lines to hand over.

Money is integer fen, times are UTC with a timezone. A voucher valid in several stores lists
them in `stores` (empty: every store of the brand); such a code can be redeemed offline in two
stores at once, which the cloud detects and flags.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from protocol.event_base import Event

VoucherKind = Literal["group_buy", "coupon", "prepaid_order", "pickup"]
VOUCHER_KINDS: tuple[VoucherKind, ...] = ("group_buy", "coupon", "prepaid_order", "pickup")
# The channel of each sale and redemption, used later by the loss and replenishment models.
Channel = Literal["dine-in", "takeout", "group-buy", "wholesale", "online"]
CHANNELS: tuple[Channel, ...] = ("dine-in", "takeout", "group-buy", "wholesale", "online")
# Where the edge learned the voucher: a batch from the cloud, or a signed code verified offline.
VoucherSource = Literal["batch", "signed"]
# Who absorbs the loss of a double redemption across stores (see cloud/redeem/domain.py).
Absorber = Literal["later_store", "earlier_store", "brand", "platform"]

UtcDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
# Codes are QR or barcode text: printable ASCII, no spaces.
VoucherCode = Annotated[str, msgspec.Meta(min_length=1, max_length=512, pattern=r"^[!-~]+$")]
MAX_BATCH_VOUCHERS = 5000


class RedeemLine(msgspec.Struct, frozen=True, kw_only=True):
    """An item handed over (package, order line) or an item a coupon applies to."""

    gtin: str
    quantity: int = 1
    name: str = ""
    amount_fen: int = 0  # the line's value (package share, order line amount)


class CouponTerms(msgspec.Struct, frozen=True, kw_only=True):
    """A member coupon's discount and conditions. Exactly one of amount or percent is set."""

    amount_off_fen: int = 0
    percent_off: int = 0  # 1..100
    min_spend_fen: int = 0  # on the eligible amount
    item_gtins: tuple[str, ...] = ()  # empty: the whole basket is eligible
    max_discount_fen: int = 0  # 0: no cap


class Voucher(msgspec.Struct, frozen=True, kw_only=True):
    """One redeemable code and what it is worth."""

    code: str
    kind: VoucherKind
    valid_from: UtcDatetime
    valid_until: UtcDatetime
    stores: tuple[str, ...] = ()  # empty: any store
    lines: tuple[RedeemLine, ...] = ()  # to hand over (group_buy, prepaid_order, pickup)
    value_fen: int = 0  # what the issuer settles for the voucher (group-buy price, prepaid sum)
    terms: CouponTerms | None = None  # coupons only
    order_id: str = ""
    issuer: str = ""  # platform or brand that issued it (meituan, douyin, brand, …)
    channel: Channel = "group-buy"
    absorber: Absorber | None = None  # overrides the rule per kind for a double redemption


class TrustedKey(msgspec.Struct, frozen=True, kw_only=True):
    """A public key that may sign compact codes, with its validity (rotation by key id)."""

    key_id: str
    public_key: bytes  # raw Ed25519, 32 bytes
    not_before: UtcDatetime
    not_after: UtcDatetime
    revoked: bool = False


class VoucherBatch(msgspec.Struct, frozen=True, kw_only=True):
    """Cloud → store on `jxc.v1.cmd.<store>.vouchers`. Idempotent by (batch_id, version): a
    store applies a version only if it is newer than the one it holds for that batch."""

    batch_id: str
    version: int
    store_id: str
    vouchers: tuple[Voucher, ...] = ()
    revoked_codes: tuple[str, ...] = ()
    keys: tuple[TrustedKey, ...] = ()  # public keys for signed codes, rotated by key id
    issued_at: UtcDatetime | None = None


class RemoteRedemption(msgspec.Struct, frozen=True, kw_only=True):
    """A redemption another store made of a code this store may also accept (cloud → store)."""

    code: str
    store_id: str
    seq: int
    terminal_id: str
    redeemed_at: UtcDatetime
    redemption_id: str


class RemoteRedemptionsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Store → cloud request on `jxc.v1.cmd.<store>.redemptions`: redemptions by other stores
    of multi-store codes, ingested after `since_ms` (Unix ms in the cloud's clock)."""

    store_id: str
    since_ms: int = 0
    limit: int = 5000


class RemoteRedemptionsReply(msgspec.Struct, frozen=True, kw_only=True):
    redemptions: tuple[RemoteRedemption, ...]
    next_since_ms: int
    more: bool = False


# ---- events on the store's chain -------------------------------------------------------


class VoucherBatchReceived(Event, frozen=True, kw_only=True):
    """A voucher batch was applied to the store's voucher table (the codes themselves are not
    on the chain: `digest` is the SHA-256 of the batch's bytes as received)."""

    batch_id: str
    version: int
    codes: int
    revoked: int = 0
    keys: tuple[str, ...] = ()
    digest: str = ""


class CodeRedeemed(Event, frozen=True, kw_only=True):
    """A code was redeemed at this store: it is now used, here, once."""

    redemption_id: str
    code: str
    kind: VoucherKind
    source: VoucherSource
    terminal_id: str
    client_id: str
    channel: Channel
    lines: tuple[RedeemLine, ...] = ()
    discount_fen: int = 0
    value_fen: int = 0
    basket_total_fen: int = 0
    order_id: str = ""
    issuer: str = ""
    stores: tuple[str, ...] = ()  # the voucher's store set: the cloud checks multi-store codes
    key_id: str = ""  # signed codes: the key that signed it
    absorber: Absorber | None = None


class RedemptionRejected(Event, frozen=True, kw_only=True):
    """A redemption attempt was refused (audit trail: duplicates, forgeries, wrong store)."""

    code: str
    terminal_id: str
    client_id: str
    reason: str
    detail: str = ""
    channel: Channel = "dine-in"


class RedemptionReversed(Event, frozen=True, kw_only=True):
    """A redemption was undone within the reversal window: the code can be used again."""

    redemption_id: str
    code: str
    terminal_id: str
    reason: str
    redeemed_seq: int


class RemoteRedemptionsLearned(Event, frozen=True, kw_only=True):
    """The cloud told this store about redemptions made elsewhere of codes it accepts."""

    count: int
    codes: tuple[str, ...] = ()
    next_since_ms: int = 0
