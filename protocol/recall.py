"""Recall holds sent from the cloud to the stores that hold a recalled lot.

The cloud publishes one `RecallHold` per (store, lot) on `jxc.v1.cmd.<store>.recalls` (a
JetStream stream, so a store that is offline gets it when it is back). The edge places a hold
of kind "recall" on the lot, idempotently by `hold_id()`, and from then on every scan of the
lot blocks with `recalled_lot`; `action="release"` lifts it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

UtcDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
RECALLS_KIND: Final = "recalls"
RecallAction = Literal["place", "release"]


class RecallHold(msgspec.Struct, frozen=True, kw_only=True):
    recall_id: str
    store_id: str
    gtin: str
    lot: str
    reason: str
    issued_at: UtcDatetime
    action: RecallAction = "place"

    def hold_id(self) -> str:
        """The hold's id in the store: the same command applied twice is one hold."""
        return f"recall:{self.recall_id}:{self.gtin}:{self.lot}"


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(RecallHold)


def encode_recall_hold(command: RecallHold) -> bytes:
    return _encoder.encode(command)


def decode_recall_hold(payload: bytes) -> RecallHold:
    """Raises msgspec.DecodeError (with the reason) for a malformed command."""
    return _decoder.decode(payload)
