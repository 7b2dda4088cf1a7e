"""Events of lot genealogy and of the evidence chain.

A lot is named by (gtin, lot) everywhere: the same lot shipped from one store to another keeps
its name, so its trace follows it. New lots are born by transformation (split, sort, repack,
cook, produce: EPCIS TransformationEvent) and containers (a case, a pallet: an SSCC) group
lots by aggregation (EPCIS AggregationEvent). Quantities are integers in the item's base unit
(pieces, or grams for items sold by weight), as in the ledger.

`ChainCheckpointSigned` is the edge's signed statement of its chain: the Merkle root of the
event hashes `first_seq..last_seq` and the head hash at `last_seq`, signed with the store's
Ed25519 key (protocol/evidence.py). `CheckpointKeyAnnounced` puts a new public key on the
chain itself, so every later checkpoint names a key the chain already carries.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

from protocol.event_base import Event

TransformationKind = Literal["split", "sort", "repack", "cook", "produce"]
TRANSFORMATION_KINDS: tuple[TransformationKind, ...] = (
    "split",
    "sort",
    "repack",
    "cook",
    "produce",
)
AggregationAction = Literal["pack", "unpack"]


class LotQuantity(msgspec.Struct, frozen=True, kw_only=True):
    """An amount of one lot at one location (an input or an output of a transformation)."""

    gtin: str
    lot: str
    quantity: int
    location: str = ""
    expiry: date | None = None  # for an output: the new lot's expiry


class LotTransformed(Event, frozen=True, kw_only=True):
    """Inputs were consumed and outputs made: new lots whose parents are every input lot."""

    transformation_id: str
    kind: TransformationKind
    inputs: tuple[LotQuantity, ...]
    outputs: tuple[LotQuantity, ...]
    note: str = ""


class LotsAggregated(Event, frozen=True, kw_only=True):
    """Lots packed into (or unpacked from) a container identified by `container_id` (an SSCC)."""

    aggregation_id: str
    container_id: str
    action: AggregationAction
    children: tuple[LotQuantity, ...]
    location: str = ""


class StockDispatched(Event, frozen=True, kw_only=True):
    """Stock of a lot left this store for another store (the receiving store records
    `ShipmentReceived` with the same `shipment_id`)."""

    shipment_id: str
    to_store_id: str
    gtin: str
    lot: str
    from_location: str
    quantity: int
    expiry: date | None = None


class ShipmentReceived(Event, frozen=True, kw_only=True):
    """Stock shipped by another store arrived here and was inspected."""

    shipment_id: str
    from_store_id: str
    gtin: str
    lot: str
    location: str
    accepted_quantity: int
    rejected_quantity: int = 0
    reject_reason: str = ""
    expiry: date | None = None
    temperature_centi_c: int | None = None


class CheckpointKeyAnnounced(Event, frozen=True, kw_only=True):
    """The store signs its checkpoints with this Ed25519 public key (32 raw bytes) from now on."""

    key_id: str
    public_key: bytes


class ChainCheckpointSigned(Event, frozen=True, kw_only=True):
    """The edge vouches for its events `first_seq..last_seq` (see protocol/evidence.py)."""

    key_id: str
    first_seq: int
    last_seq: int
    head_hash: bytes
    merkle_root: bytes
    signature: bytes
