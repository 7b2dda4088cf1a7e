"""Ingest planning, pure: duplicates skipped, gaps held, chain breaks flagged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from cloud.ingest.domain import StoreProgress, plan_batch
from protocol.batch import EventBatch
from protocol.envelope import GENESIS_HASH, Envelope, seal
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


def batch(envelopes: list[Envelope]) -> EventBatch:
    return EventBatch(
        store_id="s",
        first_seq=envelopes[0].seq,
        last_seq=envelopes[-1].seq,
        events=tuple(envelopes),
    )


EVENTS = chain(10)


def test_first_batch_is_accepted_and_advances_the_mark() -> None:
    plan = plan_batch(batch(EVENTS[:4]), StoreProgress())
    assert [e.seq for e in plan.accepted] == [1, 2, 3, 4]
    assert plan.gap is None
    assert plan.chain_break is None
    assert plan.duplicates == 0
    assert plan.progress_after(StoreProgress()) == StoreProgress(hwm=4, head_hash=EVENTS[3].hash)


def test_replay_below_the_mark_is_all_duplicates() -> None:
    progress = StoreProgress(hwm=4, head_hash=EVENTS[3].hash)
    plan = plan_batch(batch(EVENTS[:4]), progress)
    assert plan.accepted == ()
    assert plan.duplicates == 4
    assert plan.progress_after(progress) == progress


def test_straddling_batch_keeps_only_the_new_part() -> None:
    progress = StoreProgress(hwm=4, head_hash=EVENTS[3].hash)
    plan = plan_batch(batch(EVENTS[2:7]), progress)
    assert [e.seq for e in plan.accepted] == [5, 6, 7]
    assert plan.duplicates == 2


def test_batch_beyond_a_gap_is_held() -> None:
    progress = StoreProgress(hwm=4, head_hash=EVENTS[3].hash)
    plan = plan_batch(batch(EVENTS[6:9]), progress)
    assert plan.accepted == ()
    assert plan.gap == (5, 7)


def test_a_tampered_event_is_accepted_but_flagged() -> None:
    forged = msgspec.structs.replace(
        EVENTS[1], body=msgspec.Raw(msgspec.msgpack.encode({"type": "ItemScanned"}))
    )
    plan = plan_batch(batch([EVENTS[0], forged, EVENTS[2]]), StoreProgress())
    assert len(plan.accepted) == 3
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
            accepted.extend(e.seq for e in plan.accepted)
            progress = plan.progress_after(progress)
            assert plan.chain_break is None
            if plan.gap is not None:
                held.append(delivered)
        if len(held) == len(pending):
            break
        pending = held
    assert accepted == list(range(1, 11))
