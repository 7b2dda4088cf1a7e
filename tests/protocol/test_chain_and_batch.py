"""Hash chain, envelope and batch codec: golden hashes, tamper detection, framing checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.batch import decode_batch, encode_batch
from protocol.envelope import (
    GENESIS_HASH,
    Envelope,
    decode_envelope,
    encode_envelope,
    seal,
    verify_chain,
)
from protocol.errors import MalformedBatch
from protocol.events import ItemScanned
from protocol.ids import uuid7, uuid7_unix_ms
from protocol.subjects import (
    EVENT_PARTITIONS,
    batch_msg_id,
    events_subject,
    partition_of,
    store_of_events_subject,
)

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def chain(n: int, store_id: str = "s1") -> list[Envelope]:
    envelopes, head = [], GENESIS_HASH
    for seq in range(1, n + 1):
        moment = T0 + timedelta(seconds=seq)
        envelope = seal(
            ItemScanned(terminal_id="pos-1", raw_code=f"code-{seq}", verdict="allow"),
            event_id=uuid7(int(moment.timestamp() * 1000), bytes(range(seq, seq + 10))),
            store_id=store_id,
            seq=seq,
            prev_hash=head,
            occurred_at=moment,
            recorded_at=moment + timedelta(milliseconds=3),
            device_id="pos-1",
            operator_id="op-7",
        )
        envelopes.append(envelope)
        head = envelope.hash
    return envelopes


def test_chain_hash_is_pinned() -> None:
    # Pinned: changing the canonical header layout or body encoding changes every hash.
    assert chain(3)[-1].hash.hex() == GOLDEN_HEAD_HASH


GOLDEN_HEAD_HASH = "969b7ce8285d8259e318636476a317558ac9684f573e1cc2376a6ed50d1f20c6"


def test_intact_chain_verifies() -> None:
    assert verify_chain(chain(20)) is None


def test_changed_event_is_detected() -> None:
    envelopes = chain(5)
    forged_body = msgspec.msgpack.encode(
        ItemScanned(terminal_id="pos-1", raw_code="code-3", verdict="block")
    )
    envelopes[2] = msgspec.structs.replace(envelopes[2], body=msgspec.Raw(forged_body))
    broken = verify_chain(envelopes)
    assert broken is not None
    assert (broken.seq, broken.reason) == (3, "hash_mismatch")


def test_removed_event_is_detected() -> None:
    envelopes = chain(5)
    del envelopes[1]
    broken = verify_chain(envelopes)
    assert broken is not None
    assert (broken.seq, broken.reason) == (3, "seq_gap")


def test_rehashed_forgery_breaks_the_next_link() -> None:
    envelopes = chain(4)
    # A forger who recomputes event 2's own hash still breaks event 3's prev_hash.
    forged = seal(
        ItemScanned(terminal_id="pos-1", raw_code="forged", verdict="allow"),
        event_id=envelopes[1].event_id,
        store_id="s1",
        seq=2,
        prev_hash=envelopes[0].hash,
        occurred_at=envelopes[1].occurred_at,
        recorded_at=envelopes[1].recorded_at,
        device_id="pos-1",
        operator_id="op-7",
    )
    envelopes[1] = forged
    broken = verify_chain(envelopes)
    assert broken is not None
    assert (broken.seq, broken.reason) == (3, "prev_hash_mismatch")


def test_chain_continues_from_a_known_head() -> None:
    envelopes = chain(10)
    assert verify_chain(envelopes[5:], prev_hash=envelopes[4].hash, prev_seq=5) is None
    broken = verify_chain(envelopes[5:], prev_hash=GENESIS_HASH, prev_seq=5)
    assert broken is not None
    assert broken.reason == "prev_hash_mismatch"


def test_envelope_round_trip_keeps_recorded_body_bytes() -> None:
    envelope = chain(1)[0]
    decoded = decode_envelope(encode_envelope(envelope))
    assert bytes(decoded.body) == bytes(envelope.body)
    assert decoded.hash == envelope.hash
    assert decoded.event() == envelope.event()
    assert decoded.occurred_at == envelope.occurred_at


def test_seal_refuses_naive_times_and_bad_seq() -> None:
    event = ItemScanned(terminal_id="t", raw_code="c", verdict="allow")
    common = {"event_id": uuid.uuid4(), "store_id": "s", "device_id": "d"}
    with pytest.raises(ValueError, match="naive"):
        seal(
            event,
            seq=1,
            prev_hash=GENESIS_HASH,
            occurred_at=datetime(2026, 1, 1),
            recorded_at=T0,
            **common,
        )
    with pytest.raises(ValueError, match="seq"):
        seal(event, seq=0, prev_hash=GENESIS_HASH, occurred_at=T0, recorded_at=T0, **common)


def test_batch_round_trip_embeds_stored_bytes_verbatim() -> None:
    envelopes = chain(5)
    data = encode_batch("s1", 1, [encode_envelope(e) for e in envelopes])
    batch = decode_batch(data)
    assert (batch.store_id, batch.first_seq, batch.last_seq) == ("s1", 1, 5)
    assert [e.hash for e in batch.events] == [e.hash for e in envelopes]
    assert verify_chain(batch.events) is None


@pytest.mark.parametrize(
    ("first_seq", "store_id", "reason"),
    [
        (2, "s1", "batch_seq_not_contiguous"),
        (1, "other", "batch_store_mismatch"),
    ],
)
def test_batch_framing_contradictions_are_malformed(
    first_seq: int, store_id: str, reason: str
) -> None:
    data = encode_batch(store_id, first_seq, [encode_envelope(e) for e in chain(3)])
    with pytest.raises(MalformedBatch) as info:
        decode_batch(data)
    assert info.value.reason == reason


@given(st.binary(max_size=512))
def test_garbage_batches_raise_only_malformed_batch(data: bytes) -> None:
    try:
        decode_batch(data)
    except MalformedBatch as exc:
        reason = exc.reason
    else:
        reason = "decoded"
    assert reason


@given(st.integers(0, 2**48 - 1), st.binary(min_size=10, max_size=10))
def test_uuid7_layout(unix_ms: int, rand: bytes) -> None:
    value = uuid7(unix_ms, rand)
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert uuid7_unix_ms(value) == unix_ms


def test_subjects_and_msg_ids() -> None:
    subject = events_subject("store-9")
    assert subject == f"jxc.v1.events.{partition_of('store-9')}.store-9"
    assert store_of_events_subject(subject) == "store-9"
    assert store_of_events_subject("jxc.v1.events.store-9") is None
    wrong = (partition_of("store-9") + 1) % EVENT_PARTITIONS
    assert store_of_events_subject(f"jxc.v1.events.{wrong}.store-9") is None
    assert store_of_events_subject("jxc.v1.events.1.a.b") is None
    assert store_of_events_subject("jxc.v2.events.1.x") is None
    assert {partition_of(f"store-{n}") for n in range(200)} == set(range(EVENT_PARTITIONS))
    assert batch_msg_id("store-9", 1, 1000) == "store-9:1-1000"
