"""From one NATS message to checked `events` rows: the per-event work of the ingest.

Everything here is a pure function of the message (subject and bytes), which is what lets the
worker run it in a process pool: decoding, re-computing every event's hash, linking each event
to the one before it in the batch, and building the Arrow columns. What depends on how far a
store has been ingested (duplicates, gaps, the link to the stored head) is decided afterwards,
in order, by `domain.plan_batch` from the `BatchFacts` returned here.

Each event's fields are read once into plain lists that serve both the hash check and the
columns: this runs for every event the cloud ingests, so the loops are comprehensions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import pyarrow as pa

from cloud.ingest.domain import HASH_MISMATCH, PREV_HASH_MISMATCH, BatchFacts
from cloud.ingest.schema import EVENT_COLUMNS
from protocol.batch import EventBatch, decode_batch
from protocol.envelope import Envelope, chain_digest, epoch_us
from protocol.errors import MalformedBatch
from protocol.subjects import store_of_events_subject

_generic_msgpack = msgspec.msgpack.Decoder()
_msgpack = msgspec.msgpack.Encoder()
_json = msgspec.json.Encoder()

_TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A decoded batch: its facts for planning and its rows, in seq order."""

    facts: BatchFacts
    rows: pa.Table


@dataclass(frozen=True, slots=True)
class Poison:
    """Why a message cannot be ingested (it is dead-lettered with this reason)."""

    reason: str
    detail: str = ""


# What preparing a message gives: its rows and facts, or why it is poison.
Prepared = PreparedBatch | Poison


def prepare_message(subject: str, data: bytes) -> Prepared:
    """Decode and check one message; never raises for bad input."""
    subject_store = store_of_events_subject(subject)
    try:
        if subject_store is None:
            raise MalformedBatch("bad_subject", subject)
        batch = decode_batch(data)
        if batch.store_id != subject_store:
            raise MalformedBatch("subject_store_mismatch", f"{batch.store_id} on {subject}")
    except MalformedBatch as exc:
        return Poison(exc.reason, exc.detail)
    return prepare_batch(batch)


def prepare_messages(messages: Sequence[tuple[str, bytes]]) -> list[Prepared]:
    """`prepare_message` over a slice of a fetch: one call per pool worker, not per message."""
    return [prepare_message(subject, data) for subject, data in messages]


def prepare_batch(batch: EventBatch) -> PreparedBatch:
    columns = _Columns(batch.events)
    return PreparedBatch(facts=columns.facts(batch), rows=columns.table())


def event_table(envelopes: Sequence[Envelope]) -> pa.Table:
    """The `events` rows of envelopes (any stores, no checks): for loaders and benches."""
    return _Columns(envelopes).table()


def body_views(bodies: Sequence[msgspec.Raw]) -> tuple[list[str], list[bytes]]:
    """`body_view` of many bodies: (type tags, JSON texts), in a handful of calls into
    msgspec for the lot instead of two per body (the bodies are put in one msgpack array,
    decoded at once, and written back as JSON lines, which never hold a raw newline)."""
    try:
        decoded = _generic_msgpack.decode(_msgpack.encode(bodies))
        texts = _json.encode_lines(decoded).split(b"\n")[:-1]
    except (msgspec.DecodeError, msgspec.EncodeError, TypeError):
        # Some body will not go to JSON: find which, one by one.
        views = [body_view(bytes(body)) for body in bodies]
        return [view[0] for view in views], [view[1].encode() for view in views]
    types = [str(d.get("type", "")) if isinstance(d, dict) else "" for d in decoded]
    return types, texts


def body_view(body: bytes) -> tuple[str, str]:
    """(type tag, JSON) of a recorded body, decoded generically so events of a newer edge
    version are stored before this ingest knows their type."""
    try:
        decoded = _generic_msgpack.decode(body)
        event_type = str(decoded.get("type", "")) if isinstance(decoded, dict) else ""
        return event_type, _json.encode(decoded).decode()
    except (msgspec.DecodeError, msgspec.EncodeError, TypeError):
        return "", ""


class _Columns:
    """The envelopes' fields, each read once, flattened the way the hash and the rows need."""

    def __init__(self, envelopes: Sequence[Envelope]) -> None:
        self.store_ids = [e.store_id for e in envelopes]
        self.seqs = [e.seq for e in envelopes]
        self.event_ids = [e.event_id.bytes for e in envelopes]
        self.occurred_us = [epoch_us(e.occurred_at) for e in envelopes]
        self.recorded_us = [epoch_us(e.recorded_at) for e in envelopes]
        self.devices = [e.device_id for e in envelopes]
        self.operators = [e.operator_id for e in envelopes]
        self.prev_hashes = [e.prev_hash for e in envelopes]
        self.hashes = [e.hash for e in envelopes]
        self.raw_bodies = [e.body for e in envelopes]
        self.bodies = [bytes(body) for body in self.raw_bodies]

    def facts(self, batch: EventBatch) -> BatchFacts:
        """Each event's own hash and its link to the event before it in this batch; the link
        of the first event is to the store's head, which only the planner knows."""
        digests = map(
            chain_digest,
            self.event_ids,
            self.store_ids,
            self.seqs,
            self.occurred_us,
            self.recorded_us,
            self.devices,
            self.operators,
            self.prev_hashes,
            self.bodies,
        )
        tampered = {i for i, (d, h) in enumerate(zip(digests, self.hashes, strict=True)) if d != h}
        unlinked = {
            i
            for i, (prev, before) in enumerate(
                zip(self.prev_hashes[1:], self.hashes[:-1], strict=True), start=1
            )
            if prev != before
        }
        faults = [(i, PREV_HASH_MISMATCH) for i in unlinked] + [
            (i, HASH_MISMATCH) for i in tampered
        ]
        return BatchFacts(
            store_id=batch.store_id,
            first_seq=batch.first_seq,
            last_seq=batch.last_seq,
            prev_hashes=tuple(self.prev_hashes),
            last_hash=self.hashes[-1],
            # In seq order, and at one event its link before its own hash, as a walk would.
            faults=tuple(sorted(faults, key=lambda f: (f[0], f[1] == HASH_MISMATCH))),
        )

    def table(self) -> pa.Table:
        types, texts = body_views(self.raw_bodies)
        columns: list[Any] = [
            pa.array(self.store_ids, pa.string()),
            pa.array(self.seqs, pa.uint64()),
            pa.array(self.event_ids, pa.binary(16)),
            pa.array(types, pa.string()),
            # Integers cast to timestamps in C: no datetime objects are converted one by one.
            pa.array(self.occurred_us, pa.int64()).cast(_TIMESTAMP),
            pa.array(self.recorded_us, pa.int64()).cast(_TIMESTAMP),
            pa.array(self.devices, pa.string()),
            pa.array(self.operators, pa.string()),
            pa.array([h.hex() for h in self.prev_hashes], pa.string()),
            pa.array([h.hex() for h in self.hashes], pa.string()),
            pa.array(self.bodies, pa.binary()),
            pa.array(texts, pa.string()),
        ]
        return pa.table(columns, names=list(EVENT_COLUMNS))
