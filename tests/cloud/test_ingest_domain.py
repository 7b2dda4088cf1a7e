"""Ingest planning, pure: duplicates skipped, gaps held, chain breaks flagged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from cloud.ingest.domain import BatchFacts, IngestPlan, StoreProgress, plan_batch
from cloud.ingest.rows import prepare_batch
from protocol.batch import EventBatch
from protocol.envelope import GENESIS_HASH, Envelope, seal, verify_chain
from protocol.events import ItemScanned

T0 = datetime(2026, 11, 26, tzinfo=UTC)


def chain(n: int) -> list[Envelope]:
    out, head = [], GENESIS_HASH
    for seq in range(1, n + 1):
        e = seal(
            ItemScanned(terminal_id="t", raw_code=str(seq), verdict="allow"),
            event_id=uuid.UUID(int=seq),
            store_id="s",
            seq=seq,
            prev_hash=head,
            occurred_at=T0,
            recorded_at=T0,
            device_id="t",
        )
        out.append(e)
        head = e.hash
    return out


def batch(envelopes: list[Envelope]) -> BatchFacts:
    """The facts the ingest's prepare step finds in a batch of these envelopes."""
    decoded = EventBatch(
        store_id="s",
        first_seq=envelopes[0].seq,
        last_seq=envelopes[-1].seq,
        events=tuple(envelopes),
    )
    return prepare_batch(decoded).facts


def accepted_seqs(plan: IngestPlan) -> list[int]:
    return list(range(plan.last_seq - plan.accepted + 1, plan.last_seq + 1))


EVENTS = chain(10)


def test_first_batch_is_accepted_and_advances_the_mark() -> None:
    plan = plan_batch(batch(EVENTS[:4]), StoreProgress())
    assert accepted_seqs(plan) == [1, 2, 3, 4]
    assert plan.gap is None
    assert plan.chain_break is None
    assert plan.duplicates == 0
    assert plan.progress_after(StoreProgress()) == StoreProgress(hwm=4, head_hash=EVENTS[3].hash)


def test_replay_below_the_mark_is_all_duplicates() -> None:
    progress = StoreProgress(hwm=4, head_hash=EVENTS[3].hash)
    plan = plan_batch(batch(EVENTS[:4]), progress)
    assert plan.accepted == 0
    assert plan.duplicates == 4
    assert plan.progress_after(progress) == progress


def test_straddling_batch_keeps_only_the_new_part() -> None:
    progress = StoreProgress(hwm=4, head_hash=EVENTS[3].hash)
    plan = plan_batch(batch(EVENTS[2:7]), progress)
    assert accepted_seqs(plan) == [5, 6, 7]
    assert plan.duplicates == 2


def test_batch_beyond_a_gap_is_held() -> None:
    progress = StoreProgress(hwm=4, head_hash=EVENTS[3].hash)
    plan = plan_batch(batch(EVENTS[6:9]), progress)
    assert plan.accepted == 0
    assert plan.gap == (5, 7)


def test_a_tampered_event_is_accepted_but_flagged() -> None:
    forged = msgspec.structs.replace(
        EVENTS[1], body=msgspec.Raw(msgspec.msgpack.encode({"type": "ItemScanned"}))
    )
    plan = plan_batch(batch([EVENTS[0], forged, EVENTS[2]]), StoreProgress())
    assert plan.accepted == 3
    assert plan.chain_break is not None
    assert (plan.chain_break.seq, plan.chain_break.reason) == (2, "hash_mismatch")


@given(st.lists(st.tuples(st.integers(1, 10), st.integers(1, 10)), min_size=1, max_size=30))
def test_any_delivery_order_ends_with_each_seq_accepted_once(ranges: list[tuple[int, int]]) -> None:
    """Batches arrive in any order, repeated; held ones are retried until they fit."""
    deliveries = [batch(EVENTS[min(a, b) - 1 : max(a, b)]) for a, b in ranges]
    deliveries.append(batch(EVENTS))  # the relay eventually sends everything
    progress, accepted = StoreProgress(), []
    pending = list(deliveries)
    while pending:
        held = []
        for delivered in pending:
            plan = plan_batch(delivered, progress)
            accepted.extend(accepted_seqs(plan))
            progress = plan.progress_after(progress)
            assert plan.chain_break is None
            if plan.gap is not None:
                held.append(delivered)
        if len(held) == len(pending):
            break
        pending = held
    assert accepted == list(range(1, 11))


def forge(envelope: Envelope, *, body: bool = False, prev: bool = False) -> Envelope:
    changes: dict[str, object] = {}
    if body:
        changes["body"] = msgspec.Raw(msgspec.msgpack.encode({"type": "ItemScanned", "x": 1}))
    if prev:
        changes["prev_hash"] = bytes(32)
    return msgspec.structs.replace(envelope, **changes)


def test_a_batch_not_linked_to_the_stored_head_is_flagged_at_its_first_new_event() -> None:
    progress = StoreProgress(hwm=4, head_hash=bytes(range(32)))
    plan = plan_batch(batch(EVENTS[2:7]), progress)
    assert accepted_seqs(plan) == [5, 6, 7]
    assert plan.chain_break is not None
    assert (plan.chain_break.seq, plan.chain_break.reason) == (5, "prev_hash_mismatch")


def test_a_fault_among_the_duplicates_does_not_count() -> None:
    progress = StoreProgress(hwm=4, head_hash=EVENTS[3].hash)
    damaged = [*EVENTS[2:3], forge(EVENTS[3], body=True), *EVENTS[4:7]]
    plan = plan_batch(batch(damaged), progress)
    assert accepted_seqs(plan) == [5, 6, 7]
    assert plan.chain_break is None


@given(
    st.integers(0, 9),
    st.integers(0, 9),
    st.sets(st.tuples(st.integers(0, 9), st.booleans(), st.booleans()), max_size=3),
)
def test_planning_from_facts_finds_the_break_a_full_walk_finds(
    hwm: int, first: int, damage: set[tuple[int, bool, bool]]
) -> None:
    """Oracle: `verify_chain` over the new events from the stored head."""
    events = list(EVENTS)
    for index, body, prev in damage:
        events[index] = forge(events[index], body=body, prev=prev)
    delivered = events[min(first, hwm) :]
    progress = StoreProgress(hwm=hwm, head_hash=EVENTS[hwm - 1].hash if hwm else GENESIS_HASH)
    plan = plan_batch(batch(delivered), progress)
    fresh = [e for e in delivered if e.seq > hwm]
    assert accepted_seqs(plan) == [e.seq for e in fresh]
    if fresh:
        assert plan.chain_break == verify_chain(fresh, prev_hash=progress.head_hash, prev_seq=hwm)
