"""Batches: many envelopes in one NATS message, msgpack-encoded.

The edge stores each envelope's bytes once and a batch embeds them verbatim (`msgspec.Raw`),
so relaying never re-encodes an event. Decoding checks the framing: one store, contiguous
seqs from `first_seq` to `last_seq`.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from protocol.envelope import Envelope
from protocol.errors import MalformedBatch

BATCH_VERSION = 1


class EventBatch(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    store_id: str
    first_seq: int
    last_seq: int
    events: tuple[Envelope, ...]
    v: int = BATCH_VERSION


class _RawEventBatch(msgspec.Struct, frozen=True, kw_only=True):
    # Same field order and names as EventBatch: the bytes are identical.
    store_id: str
    first_seq: int
    last_seq: int
    events: tuple[msgspec.Raw, ...]
    v: int = BATCH_VERSION


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(EventBatch)


def encode_batch(store_id: str, first_seq: int, envelopes: Sequence[bytes]) -> bytes:
    """Encode stored envelope bytes (seq first_seq, first_seq+1, …) as one batch."""
    if not envelopes:
        raise ValueError("a batch holds at least one event")
    return _encoder.encode(
        _RawEventBatch(
            store_id=store_id,
            first_seq=first_seq,
            last_seq=first_seq + len(envelopes) - 1,
            events=tuple(msgspec.Raw(e) for e in envelopes),
        )
    )


def decode_batch(data: bytes) -> EventBatch:
    """Decode and check a batch; raises MalformedBatch with a reason, never anything else."""
    try:
        batch = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise MalformedBatch("undecodable_batch", str(exc)) from exc
    if not batch.events:
        raise MalformedBatch("empty_batch")
    if batch.last_seq - batch.first_seq + 1 != len(batch.events):
        raise MalformedBatch(
            "batch_count_mismatch",
            f"{batch.first_seq}-{batch.last_seq} but {len(batch.events)} events",
        )
    # Comprehensions, not a loop: this runs for every event the cloud ingests.
    if any(e.store_id != batch.store_id for e in batch.events):
        raise MalformedBatch("batch_store_mismatch", batch.store_id)
    if [e.seq for e in batch.events] != list(range(batch.first_seq, batch.last_seq + 1)):
        raise MalformedBatch("batch_seq_not_contiguous", f"{batch.first_seq}-{batch.last_seq}")
    return batch
