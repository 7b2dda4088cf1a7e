"""The event envelope, its canonical bytes and the per-store hash chain.

An envelope carries its event body as the exact msgpack bytes recorded at the edge
(`msgspec.Raw`), so a newer reader that re-encodes with new defaults still verifies the
hash of what was written. The hash is SHA-256 over the canonical header followed by those
body bytes; the header includes `prev_hash`, which links each event to the one before it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec

from protocol.errors import UndecodableEvent
from protocol.events import AnyEvent, Event

HASH_LEN = 32
GENESIS_HASH = bytes(HASH_LEN)
# Bumped only if the canonical header layout ever changes; it is part of every hash.
CHAIN_VERSION = 1

UtcDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


# gc=False: an envelope holds only scalars, so it can never be part of a reference cycle, and
# the ingest decodes a million of them a minute; untracked, they cost the collector nothing.
class Envelope(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    event_id: uuid.UUID
    store_id: str
    seq: int
    occurred_at: UtcDatetime
    recorded_at: UtcDatetime
    device_id: str
    operator_id: str
    prev_hash: bytes
    hash: bytes
    body: msgspec.Raw

    def event(self) -> AnyEvent:
        """Decode the body; raises UndecodableEvent for a tag this version does not know."""
        return decode_event(bytes(self.body))


# Built once, reused (encoders and decoders are not free to construct).
_body_encoder = msgspec.msgpack.Encoder(order="deterministic")
_body_decoder: msgspec.msgpack.Decoder[AnyEvent] = msgspec.msgpack.Decoder(AnyEvent)
_header_encoder = msgspec.msgpack.Encoder()
_envelope_encoder = msgspec.msgpack.Encoder()
_envelope_decoder = msgspec.msgpack.Decoder(Envelope)


def encode_event(event: Event) -> bytes:
    """Canonical msgpack bytes of an event body (deterministic key order)."""
    return _body_encoder.encode(event)


def decode_event(body: bytes) -> AnyEvent:
    try:
        return _body_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise UndecodableEvent("undecodable_event", str(exc)) from exc


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch: how the canonical header states a moment."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime in an envelope: timestamps must carry a timezone")
    return (moment - _EPOCH) // _MICROSECOND


def chain_hash(
    *,
    event_id: uuid.UUID,
    store_id: str,
    seq: int,
    occurred_at: datetime,
    recorded_at: datetime,
    device_id: str,
    operator_id: str,
    prev_hash: bytes,
    body: bytes,
) -> bytes:
    """SHA-256 over the canonical header and the recorded body bytes."""
    return chain_digest(
        event_id.bytes,
        store_id,
        seq,
        epoch_us(occurred_at),
        epoch_us(recorded_at),
        device_id,
        operator_id,
        prev_hash,
        body,
    )


def chain_digest(
    event_id: bytes,
    store_id: str,
    seq: int,
    occurred_us: int,
    recorded_us: int,
    device_id: str,
    operator_id: str,
    prev_hash: bytes,
    body: bytes,
) -> bytes:
    """The chain hash from fields already flattened (id bytes, epoch microseconds).

    The one definition of the canonical header; positional because the ingest calls it for
    every event it verifies, with these values already at hand for its columns."""
    header = _header_encoder.encode(
        (
            CHAIN_VERSION,
            event_id,
            store_id,
            seq,
            occurred_us,
            recorded_us,
            device_id,
            operator_id,
            prev_hash,
        )
    )
    return hashlib.sha256(header + body).digest()


def seal(
    event: Event,
    *,
    event_id: uuid.UUID,
    store_id: str,
    seq: int,
    prev_hash: bytes,
    occurred_at: datetime,
    recorded_at: datetime,
    device_id: str,
    operator_id: str = "",
) -> Envelope:
    """Wrap an event into the next link of a store's chain."""
    if seq < 1:
        raise ValueError(f"seq starts at 1, got {seq}")
    if len(prev_hash) != HASH_LEN:
        raise ValueError("prev_hash must be a SHA-256 digest")
    body = encode_event(event)
    digest = chain_hash(
        event_id=event_id,
        store_id=store_id,
        seq=seq,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        device_id=device_id,
        operator_id=operator_id,
        prev_hash=prev_hash,
        body=body,
    )
    return Envelope(
        event_id=event_id,
        store_id=store_id,
        seq=seq,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        device_id=device_id,
        operator_id=operator_id,
        prev_hash=prev_hash,
        hash=digest,
        body=msgspec.Raw(body),
    )


def encode_envelope(envelope: Envelope) -> bytes:
    return _envelope_encoder.encode(envelope)


def decode_envelope(data: bytes) -> Envelope:
    return _envelope_decoder.decode(data)


def recompute_hash(envelope: Envelope) -> bytes:
    return chain_hash(
        event_id=envelope.event_id,
        store_id=envelope.store_id,
        seq=envelope.seq,
        occurred_at=envelope.occurred_at,
        recorded_at=envelope.recorded_at,
        device_id=envelope.device_id,
        operator_id=envelope.operator_id,
        prev_hash=envelope.prev_hash,
        body=bytes(envelope.body),
    )


class ChainBreak(msgspec.Struct, frozen=True, kw_only=True):
    """Where and why a hash chain stops verifying."""

    seq: int
    reason: str  # "hash_mismatch" | "prev_hash_mismatch" | "seq_gap" | "store_mismatch"


def verify_chain(
    envelopes: Iterable[Envelope], *, prev_hash: bytes = GENESIS_HASH, prev_seq: int = 0
) -> ChainBreak | None:
    """Check a run of envelopes continues the chain at (prev_seq, prev_hash).

    Returns the first break, or None when every link holds: a changed event fails its own
    hash, a removed one breaks the seq run and the next event's prev_hash.
    """
    store_id: str | None = None
    for envelope in envelopes:
        if store_id is None:
            store_id = envelope.store_id
        elif envelope.store_id != store_id:
            return ChainBreak(seq=envelope.seq, reason="store_mismatch")
        if envelope.seq != prev_seq + 1:
            return ChainBreak(seq=envelope.seq, reason="seq_gap")
        if envelope.prev_hash != prev_hash:
            return ChainBreak(seq=envelope.seq, reason="prev_hash_mismatch")
        if recompute_hash(envelope) != envelope.hash:
            return ChainBreak(seq=envelope.seq, reason="hash_mismatch")
        prev_hash, prev_seq = envelope.hash, envelope.seq
    return None
