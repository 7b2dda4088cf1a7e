"""What to do with an incoming batch, given how far a store has been ingested. Pure.

The per-store high-water mark (hwm) is the last seq stored contiguously from 1 (the tracking
record of the follower). Only the run hwm+1, hwm+2, … is accepted; seqs at or below the mark
are duplicates; a batch starting above hwm+1 is held until the gap is filled.
"""

from __future__ import annotations

import msgspec

from protocol.batch import EventBatch
from protocol.envelope import GENESIS_HASH, ChainBreak, Envelope, verify_chain


class StoreProgress(msgspec.Struct, frozen=True, kw_only=True):
    hwm: int = 0
    head_hash: bytes = GENESIS_HASH


class IngestPlan(msgspec.Struct, frozen=True, kw_only=True):
    accepted: tuple[Envelope, ...] = ()
    duplicates: int = 0
    # (first missing seq, first seq of this batch) when the batch cannot be applied yet.
    gap: tuple[int, int] | None = None
    chain_break: ChainBreak | None = None

    def progress_after(self, before: StoreProgress) -> StoreProgress:
        if not self.accepted:
            return before
        last = self.accepted[-1]
        return StoreProgress(hwm=last.seq, head_hash=last.hash)


def plan_batch(batch: EventBatch, progress: StoreProgress) -> IngestPlan:
    fresh = tuple(e for e in batch.events if e.seq > progress.hwm)
    duplicates = len(batch.events) - len(fresh)
    if not fresh:
        return IngestPlan(duplicates=duplicates)
    if fresh[0].seq != progress.hwm + 1:
        return IngestPlan(duplicates=duplicates, gap=(progress.hwm + 1, fresh[0].seq))
    chain_break = verify_chain(fresh, prev_hash=progress.head_hash, prev_seq=progress.hwm)
    return IngestPlan(accepted=fresh, duplicates=duplicates, chain_break=chain_break)
