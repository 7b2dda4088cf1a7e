"""Every business event of jxc, as one tagged union.

Each capability declares its events in its own module (`scan_events.py`, …); this module
assembles the union every decoder uses. To add an event: define it in its capability's module,
then add it to `AnyEvent` and `EVENT_TYPES` below, and pin its bytes in
tests/protocol/test_events_golden.py.

Schema evolution rules (msgspec's, enforced by golden-bytes tests in tests/protocol/):
- the tag is the class name: never rename an event class;
- never rename or re-type a field; a new field always gets a default;
- never `forbid_unknown_fields`: an older reader must skip fields it does not know.

Units are in the names where the type does not carry them: money in fen (integer minor units),
weight in grams, temperatures in centi-degrees Celsius.
"""

from __future__ import annotations

from protocol.event_base import Event, SaleUnit, Verdict
from protocol.ledger_events import (
    CategoryRuleSet,
    GoodsReceived,
    ItemProfileSet,
    LotHoldPlaced,
    LotHoldReleased,
    LotRegistered,
    PriceChanged,
    SaleReturned,
    StockCounted,
    StockTransferred,
    StockWentNegative,
    WasteRecorded,
)
from protocol.reading_events import (
    ColdChainExcursionEnded,
    ColdChainExcursionStarted,
    ProbeCameBack,
    ProbeWentOffline,
    ReadingSeqGap,
    ReadingsRecorded,
)
from protocol.redeem_events import (
    CodeRedeemed,
    RedemptionRejected,
    RedemptionReversed,
    RemoteRedemptionsLearned,
    VoucherBatchReceived,
)
from protocol.scan_events import ItemMasterUpdated, ItemScanned, SaleLine, SaleRecorded
from protocol.trace_events import (
    ChainCheckpointSigned,
    CheckpointKeyAnnounced,
    LotQuantity,
    LotsAggregated,
    LotTransformed,
    ShipmentReceived,
    StockDispatched,
)

AnyEvent = (
    ItemScanned
    | SaleRecorded
    | ItemMasterUpdated
    | CategoryRuleSet
    | GoodsReceived
    | ItemProfileSet
    | LotHoldPlaced
    | LotHoldReleased
    | LotRegistered
    | PriceChanged
    | SaleReturned
    | StockCounted
    | StockTransferred
    | StockWentNegative
    | WasteRecorded
    | ReadingsRecorded
    | ReadingSeqGap
    | ColdChainExcursionStarted
    | ColdChainExcursionEnded
    | ProbeWentOffline
    | ProbeCameBack
    | CodeRedeemed
    | RedemptionRejected
    | RedemptionReversed
    | RemoteRedemptionsLearned
    | VoucherBatchReceived
    | LotTransformed
    | LotsAggregated
    | StockDispatched
    | ShipmentReceived
    | CheckpointKeyAnnounced
    | ChainCheckpointSigned
)

EVENT_TYPES: tuple[type[Event], ...] = (
    ItemScanned,
    SaleRecorded,
    ItemMasterUpdated,
    CategoryRuleSet,
    GoodsReceived,
    ItemProfileSet,
    LotHoldPlaced,
    LotHoldReleased,
    LotRegistered,
    PriceChanged,
    SaleReturned,
    StockCounted,
    StockTransferred,
    StockWentNegative,
    WasteRecorded,
    ReadingsRecorded,
    ReadingSeqGap,
    ColdChainExcursionStarted,
    ColdChainExcursionEnded,
    ProbeWentOffline,
    ProbeCameBack,
    CodeRedeemed,
    RedemptionRejected,
    RedemptionReversed,
    RemoteRedemptionsLearned,
    VoucherBatchReceived,
    LotTransformed,
    LotsAggregated,
    StockDispatched,
    ShipmentReceived,
    CheckpointKeyAnnounced,
    ChainCheckpointSigned,
)

__all__ = [
    "EVENT_TYPES",
    "AnyEvent",
    "CategoryRuleSet",
    "ChainCheckpointSigned",
    "CheckpointKeyAnnounced",
    "CodeRedeemed",
    "ColdChainExcursionEnded",
    "ColdChainExcursionStarted",
    "Event",
    "GoodsReceived",
    "ItemMasterUpdated",
    "ItemProfileSet",
    "ItemScanned",
    "LotHoldPlaced",
    "LotHoldReleased",
    "LotQuantity",
    "LotRegistered",
    "LotTransformed",
    "LotsAggregated",
    "PriceChanged",
    "ProbeCameBack",
    "ProbeWentOffline",
    "ReadingSeqGap",
    "ReadingsRecorded",
    "RedemptionRejected",
    "RedemptionReversed",
    "RemoteRedemptionsLearned",
    "SaleLine",
    "SaleRecorded",
    "SaleReturned",
    "SaleUnit",
    "ShipmentReceived",
    "StockCounted",
    "StockDispatched",
    "StockTransferred",
    "StockWentNegative",
    "Verdict",
    "VoucherBatchReceived",
    "WasteRecorded",
    "event_type_name",
]


def event_type_name(event: Event) -> str:
    """The wire tag of an event (its class name)."""
    return type(event).__name__
