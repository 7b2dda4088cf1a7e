"""What to do with an incoming batch, given how far a store has been ingested. Pure.

The per-store high-water mark (hwm) is the last seq stored contiguously from 1 (the tracking
record of the follower). Only the run hwm+1, hwm+2, … is accepted; seqs at or below the mark
are duplicates; a batch starting above hwm+1 is held until the gap is filled.

A batch arrives here as `BatchFacts`: what was checked inside the batch on its own (each
event's hash, each event's link to the one before it), so that only the link to the store's
head, which depends on the order of ingest, is decided here.
"""

from __future__ import annotations

import msgspec

from protocol.envelope import GENESIS_HASH, ChainBreak

PREV_HASH_MISMATCH = "prev_hash_mismatch"
HASH_MISMATCH = "hash_mismatch"


class StoreProgress(msgspec.Struct, frozen=True, kw_only=True):
    hwm: int = 0
    head_hash: bytes = GENESIS_HASH


class BatchFacts(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A decoded batch of one store, seqs first_seq..last_seq contiguous."""

    store_id: str
    first_seq: int
    last_seq: int
    prev_hashes: tuple[bytes, ...]  # each event's prev_hash, in seq order
    last_hash: bytes
    # (index in the batch, PREV_HASH_MISMATCH | HASH_MISMATCH), in the order a walk meets them:
    # an event whose prev_hash is not the hash of the event before it in the batch, an event
    # whose hash does not match its contents.
    faults: tuple[tuple[int, str], ...] = ()

    @property
    def size(self) -> int:
        return self.last_seq - self.first_seq + 1


class IngestPlan(msgspec.Struct, frozen=True, kw_only=True):
    accepted: int = 0  # how many events, counted from the end of the batch, are new
    duplicates: int = 0  # how many from the start of the batch were already ingested
    # (first missing seq, first seq of this batch) when the batch cannot be applied yet.
    gap: tuple[int, int] | None = None
    chain_break: ChainBreak | None = None
    last_seq: int = 0
    last_hash: bytes = GENESIS_HASH

    def progress_after(self, before: StoreProgress) -> StoreProgress:
        if not self.accepted:
            return before
        return StoreProgress(hwm=self.last_seq, head_hash=self.last_hash)


def plan_batch(batch: BatchFacts, progress: StoreProgress) -> IngestPlan:
    duplicates = min(batch.size, max(0, progress.hwm + 1 - batch.first_seq))
    if duplicates == batch.size:
        return IngestPlan(duplicates=duplicates)
    if batch.first_seq > progress.hwm + 1:
        return IngestPlan(gap=(progress.hwm + 1, batch.first_seq))
    return IngestPlan(
        accepted=batch.size - duplicates,
        duplicates=duplicates,
        chain_break=_first_break(batch, duplicates, progress.head_hash),
        last_seq=batch.last_seq,
        last_hash=batch.last_hash,
    )


def _first_break(batch: BatchFacts, start: int, head_hash: bytes) -> ChainBreak | None:
    """The first break from index `start` on, its first event linked to the stored head."""
    if batch.prev_hashes[start] != head_hash:
        return ChainBreak(seq=batch.first_seq + start, reason=PREV_HASH_MISMATCH)
    for index, reason in batch.faults:
        # Before `start`: duplicates. At `start`, the link that counts is to the head.
        if index > start or (index == start and reason == HASH_MISMATCH):
            return ChainBreak(seq=batch.first_seq + index, reason=reason)
    return None
