"""The evidence behind a trace report, and its offline verification (pure).

A report carries, for every event its records come from, the event's exact envelope (body
bytes included), and, when a signed checkpoint of the store covers it, the Merkle audit path
to that checkpoint and the checkpoint with the store's public key. `verify_report` checks,
without the cloud:
1. each event's chain hash recomputes from its bytes (a changed byte anywhere fails);
2. each record of the report is one its event yields (`records_of`): nothing invented;
3. each audit path leads to its checkpoint's Merkle root, and the checkpoint's signature holds
   under a key whose fingerprint is its key id (and, if given, one the verifier trusts).
Events recorded after the store's last checkpoint are reported as unanchored.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import msgspec

from cloud.trace.domain import LotTrace
from cloud.trace.records import EventSource, TraceRecord, records_of
from protocol.envelope import chain_hash, decode_event
from protocol.errors import UndecodableEvent
from protocol.evidence import (
    checkpoint_message,
    key_fingerprint,
    root_from_proof,
    signature_holds,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EvidenceEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event as the store chained it; `proof` is its audit path (hex) when anchored."""

    store_id: str
    seq: int
    event_id: str
    occurred_at_us: int
    recorded_at_us: int
    device_id: str
    operator_id: str
    prev_hash: str  # hex
    hash: str  # hex
    body: str  # base64 of the recorded msgpack bytes
    checkpoint_last_seq: int | None = None
    proof: tuple[str, ...] = ()

    def source(self) -> EventSource:
        return EventSource(
            store_id=self.store_id,
            seq=self.seq,
            event_id=uuid.UUID(self.event_id),
            occurred_at=from_epoch_us(self.occurred_at_us),
            device_id=self.device_id,
            operator_id=self.operator_id,
        )

    def recomputed_hash(self) -> bytes:
        return chain_hash(
            event_id=uuid.UUID(self.event_id),
            store_id=self.store_id,
            seq=self.seq,
            occurred_at=from_epoch_us(self.occurred_at_us),
            recorded_at=from_epoch_us(self.recorded_at_us),
            device_id=self.device_id,
            operator_id=self.operator_id,
            prev_hash=bytes.fromhex(self.prev_hash),
            body=base64.b64decode(self.body),
        )


class EvidenceCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    first_seq: int
    last_seq: int
    key_id: str
    head_hash: str  # hex
    merkle_root: str  # hex
    signature: str  # hex
    public_key: str  # hex; empty when the cloud never saw the key's announcement
    seq: int  # where the checkpoint itself sits on the chain


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    events: tuple[EvidenceEvent, ...]
    checkpoints: tuple[EvidenceCheckpoint, ...]


class TraceReport(msgspec.Struct, frozen=True, kw_only=True):
    """A lot's trace with the evidence that proves it (`jxc trace verify` checks it offline)."""

    report_version: int
    trace: LotTrace
    evidence: Evidence


class Verification(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    events: int
    records: int
    anchored: int
    unanchored: int
    keys: tuple[str, ...]
    failures: tuple[str, ...]


def from_epoch_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def report_records(trace: LotTrace) -> Iterable[TraceRecord]:
    yield from trace.records
    yield from trace.sales
    yield from trace.facts.inspections


def verify_report(
    report: TraceReport, *, trusted_keys: frozenset[str] = frozenset(), strict: bool = False
) -> Verification:
    """Check a report offline. `trusted_keys`: key fingerprints the verifier accepts (empty:
    any key that matches its id). `strict`: unanchored events are failures too."""
    failures: list[str] = []
    checkpoints = {(c.store_id, c.last_seq): c for c in report.evidence.checkpoints}
    derived: dict[tuple[str, int], list[TraceRecord]] = {}
    anchored = unanchored = 0
    for ev in report.evidence.events:
        where = f"{ev.store_id}#{ev.seq}"
        try:
            recomputed = ev.recomputed_hash()
            event = decode_event(base64.b64decode(ev.body))
        except (ValueError, UndecodableEvent) as exc:
            failures.append(f"{where}: unreadable event ({exc})")
            continue
        if recomputed.hex() != ev.hash:
            failures.append(f"{where}: bytes do not hash to the chained hash (altered)")
            continue
        derived[(ev.store_id, ev.seq)] = records_of(ev.source(), event)
        if ev.checkpoint_last_seq is None:
            unanchored += 1
            if strict:
                failures.append(f"{where}: not covered by a signed checkpoint yet")
            continue
        checkpoint = checkpoints.get((ev.store_id, ev.checkpoint_last_seq))
        if checkpoint is None:
            failures.append(f"{where}: its checkpoint is missing from the report")
            continue
        problem = _inclusion_problem(ev, checkpoint)
        if problem:
            failures.append(f"{where}: {problem}")
        else:
            anchored += 1
    failures.extend(_checkpoint_problems(report.evidence.checkpoints, trusted_keys))
    failures.extend(f"the cloud could not use {problem}" for problem in report.trace.integrity)
    records = 0
    for record in report_records(report.trace):
        records += 1
        yielded = derived.get((record.store_id, record.seq))
        if yielded is None:
            failures.append(
                f"{record.store_id}#{record.seq}: a {record.role} record of lot "
                f"{record.gtin}/{record.lot} has no verified event behind it"
            )
        elif record not in yielded:
            failures.append(
                f"{record.store_id}#{record.seq}: the {record.role} record of lot "
                f"{record.gtin}/{record.lot} differs from what its event says"
            )
    return Verification(
        ok=not failures,
        events=len(report.evidence.events),
        records=records,
        anchored=anchored,
        unanchored=unanchored,
        keys=tuple(sorted({c.key_id for c in report.evidence.checkpoints})),
        failures=tuple(failures),
    )


def _inclusion_problem(ev: EvidenceEvent, checkpoint: EvidenceCheckpoint) -> str:
    if not checkpoint.first_seq <= ev.seq <= checkpoint.last_seq:
        return "outside the range of its checkpoint"
    try:
        root = root_from_proof(
            bytes.fromhex(ev.hash),
            ev.seq - checkpoint.first_seq,
            checkpoint.last_seq - checkpoint.first_seq + 1,
            [bytes.fromhex(p) for p in ev.proof],
        )
    except ValueError as exc:
        return f"malformed audit path ({exc})"
    if root.hex() != checkpoint.merkle_root:
        return "audit path does not lead to the signed Merkle root"
    return ""


def _checkpoint_problems(
    checkpoints: Iterable[EvidenceCheckpoint], trusted_keys: frozenset[str]
) -> list[str]:
    problems = []
    for c in checkpoints:
        where = f"checkpoint {c.store_id}#{c.first_seq}..{c.last_seq}"
        try:
            public_key = bytes.fromhex(c.public_key)
            message = checkpoint_message(
                store_id=c.store_id,
                key_id=c.key_id,
                first_seq=c.first_seq,
                last_seq=c.last_seq,
                head_hash=bytes.fromhex(c.head_hash),
                merkle_root=bytes.fromhex(c.merkle_root),
            )
            signature = bytes.fromhex(c.signature)
        except ValueError:
            problems.append(f"{where}: malformed")
            continue
        if not public_key or key_fingerprint(public_key) != c.key_id:
            problems.append(f"{where}: its key {c.key_id} is not the key in the report")
        elif trusted_keys and c.key_id not in trusted_keys:
            problems.append(f"{where}: signed by key {c.key_id}, which you do not trust")
        elif not signature_holds(public_key, message, signature):
            problems.append(f"{where}: the signature does not hold")
    return problems
