"""Recall holds cloud → NATS JetStream → edge, with a real nats-server and a real SQLite edge:
a recall blocks the lot's scans with its reason, reaches a store that was down when it was
published, applies once however often it arrives, garbage is counted and terminated while the
edge carries on, and a release lifts exactly its own hold."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import nats
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.app import EdgeRuntime
from edge.catalog.domain import Item
from edge.catalog.service import record_item_master
from edge.clock import random_event_id, utc_now
from edge.eventlog.database import open_database
from edge.recall.domain import RecallOrder, RecallRefused, read_recall
from edge.recall.downlink import (
    RECALLS_STREAM,
    ensure_recalls_stream,
    recall_msg_id,
    recalls_stream_config,
)
from edge.scan.domain import ScanDecision
from edge.settings import EdgeSettings
from ops.services import LocalServer
from protocol.envelope import decode_envelope
from protocol.ledger_events import LotHoldPlaced, LotHoldReleased
from protocol.recall import RECALLS_KIND, RecallHold, encode_recall_hold
from protocol.subjects import command_subject

pytestmark = pytest.mark.integration

STORE = "s-recall"
BASS = Item(gtin="06901234567892", name="鲈鱼 sea bass", price_fen=3990, unit="kg")
ISSUED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def recall(
    lot: str = "L42",
    *,
    recall_id: str = "RC-2026-001",
    action: str = "place",
    store_id: str = STORE,
    gtin: str = BASS.gtin,
    reason: str = "Listeria monocytogenes found by the supplier",
) -> RecallHold:
    return RecallHold(
        recall_id=recall_id,
        store_id=store_id,
        gtin=gtin,
        lot=lot,
        reason=reason,
        issued_at=ISSUED,
        action=action,  # type: ignore[arg-type]
    )


@pytest.fixture
async def settings(tmp_path: Path, nats_server: LocalServer) -> EdgeSettings:
    db = tmp_path / "store.db"
    await (await open_database(db)).close()
    await record_item_master(
        db, store_id=STORE, items=(BASS,), clock=utc_now, new_event_id=random_event_id
    )
    return EdgeSettings(
        store_id=STORE, db_path=db, nats_url=nats_server.url, coldchain_intake_enabled=False
    )


@contextlib.asynccontextmanager
async def running(settings: EdgeSettings) -> AsyncIterator[EdgeRuntime]:
    runtime = EdgeRuntime(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def publish(url: str, *messages: tuple[bytes, str | None]) -> list[bool]:
    """Publish (payload, Nats-Msg-Id) on the store's recall subject; whether each was a
    duplicate in JetStream's eyes."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_recalls_stream(js)
        duplicates = []
        for payload, msg_id in messages:
            ack = await js.publish(
                command_subject(STORE, RECALLS_KIND),
                payload,
                headers={"Nats-Msg-Id": msg_id} if msg_id else None,
            )
            duplicates.append(bool(ack.duplicate))
        return duplicates
    finally:
        await nc.close()


def sent(command: RecallHold, msg_id: str | None = None) -> tuple[bytes, str | None]:
    return encode_recall_hold(command), msg_id or recall_msg_id(command)


async def scan_lot(runtime: EdgeRuntime, lot: str) -> ScanDecision:
    recorded = await runtime.scan_service.verify(
        f"]d201{BASS.gtin}10{lot}", terminal_id="pos-1", operator_id="", occurred_at=None
    )
    return recorded.decision


def recall_reasons(decision: ScanDecision) -> list[str]:
    return [r.detail for r in decision.reasons if r.code == "recalled_lot"]


def hold_events(db: Path) -> list[LotHoldPlaced | LotHoldReleased]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT envelope FROM events WHERE type IN ('LotHoldPlaced', 'LotHoldReleased')"
            " ORDER BY seq"
        ).fetchall()
    events = [decode_envelope(r[0]).event() for r in rows]
    return [e for e in events if isinstance(e, LotHoldPlaced | LotHoldReleased)]


async def test_a_recall_blocks_the_lot_until_released(settings: EdgeSettings, eventually) -> None:  # type: ignore[no-untyped-def]
    async with running(settings) as runtime:
        assert recall_reasons(await scan_lot(runtime, "L42")) == []
        await publish(settings.nats_url, sent(recall("L42")))

        async def blocked() -> ScanDecision | None:
            decision = await scan_lot(runtime, "L42")
            return decision if recall_reasons(decision) else None

        decision = await eventually(blocked, what="the recalled lot blocked at the scan")
        assert decision.verdict == "block"
        (detail,) = recall_reasons(decision)
        assert "RC-2026-001" in detail
        assert "Listeria" in detail
        assert recall_reasons(await scan_lot(runtime, "L43")) == []  # other lots sell on

        await publish(settings.nats_url, sent(recall("L42", action="release", reason="all clear")))

        async def lifted() -> bool:
            return recall_reasons(await scan_lot(runtime, "L42")) == []

        await eventually(lifted, what="the release lifting the hold")
        assert runtime.recall_downlink is not None
        assert runtime.recall_downlink.status.applied == {"placed": 1, "released": 1}
    placed, released = hold_events(settings.db_path)
    assert isinstance(placed, LotHoldPlaced)
    assert isinstance(released, LotHoldReleased)
    assert placed.hold_id == released.hold_id == recall("L42").hold_id()
    assert (placed.kind, placed.location) == ("recall", None)


async def test_a_recall_sent_while_the_edge_was_down_applies_when_it_starts(  # type: ignore[no-untyped-def]
    settings: EdgeSettings, eventually
) -> None:
    async with running(settings):
        pass  # the store has run before (its consumer exists), and is now down
    await publish(settings.nats_url, sent(recall("L7")))
    await publish(settings.nats_url, sent(recall("L8", recall_id="RC-2026-002")))
    async with running(settings) as runtime:

        async def both_held() -> bool:
            held = [bool(recall_reasons(await scan_lot(runtime, lot))) for lot in ("L7", "L8")]
            return held == [True, True]

        await eventually(both_held, what="recalls published while the edge was down")


async def test_a_store_that_never_ran_gets_the_recalls_sent_before(  # type: ignore[no-untyped-def]
    settings: EdgeSettings, eventually
) -> None:
    await publish(settings.nats_url, sent(recall("L9")))
    async with running(settings) as runtime:

        async def held() -> bool:
            return bool(recall_reasons(await scan_lot(runtime, "L9")))

        await eventually(held, what="a recall published before the store's first start")


async def test_a_duplicate_recall_is_one_hold_and_two_recalls_are_two(  # type: ignore[no-untyped-def]
    settings: EdgeSettings, eventually
) -> None:
    first, second = recall("L42"), recall("L42", recall_id="RC-2026-009", reason="mislabelled")
    async with running(settings) as runtime:
        downlink = runtime.recall_downlink
        assert downlink is not None
        duplicates = await publish(
            settings.nats_url,
            sent(first),
            sent(first),  # the same Nats-Msg-Id: JetStream stores it once
            sent(first, "re-sent-after-the-dedup-window"),  # stored again: the edge dedups
            sent(second),
        )
        assert duplicates == [False, True, False, False]

        async def all_applied() -> bool:
            return downlink.status.applied.get("placed", 0) == 3

        await eventually(all_applied, what="three deliveries applied")
        held = runtime.hold_service.active_for(BASS.gtin, "L42")
        assert sorted(h.hold_id for h in held) == sorted([first.hold_id(), second.hold_id()])
        # Lifting one recall leaves the other in force.
        await publish(settings.nats_url, sent(recall("L42", action="release", reason="ok")))

        async def one_left() -> bool:
            return [h.hold_id for h in runtime.hold_service.active_for(BASS.gtin, "L42")] == [
                second.hold_id()
            ]

        await eventually(one_left, what="the first recall released")
        assert recall_reasons(await scan_lot(runtime, "L42"))
    placed = [e for e in hold_events(settings.db_path) if isinstance(e, LotHoldPlaced)]
    assert sorted(e.hold_id for e in placed) == sorted([first.hold_id(), second.hold_id()])


async def test_garbage_is_counted_and_terminated_and_the_edge_carries_on(  # type: ignore[no-untyped-def]
    settings: EdgeSettings, eventually
) -> None:
    async with running(settings) as runtime:
        downlink = runtime.recall_downlink
        assert downlink is not None
        await publish(
            settings.nats_url,
            (b"\x00not msgpack at all", None),
            (msgspec.msgpack.encode({"recall_id": "x"}), None),  # fields missing
            sent(recall("L1", store_id="another-store")),
            sent(recall("L2", gtin="6901234567893")),  # bad check digit
            sent(recall("L3", reason="  ")),
            sent(recall("L42")),
        )

        async def carried_on() -> bool:
            return bool(recall_reasons(await scan_lot(runtime, "L42")))

        await eventually(carried_on, what="the good recall after the garbage")
        assert downlink.status.refused == {
            "malformed": 2,
            "wrong_store": 1,
            "bad_gtin": 1,
            "missing_field": 1,
        }
        nc = await nats.connect(settings.nats_url)
        try:
            info = await nc.jetstream().consumer_info(RECALLS_STREAM, f"jxc-edge-{STORE}-recalls")
        finally:
            await nc.close()
        assert (info.num_pending, info.num_ack_pending, info.num_redelivered) == (0, 0, 0)
        for lot in ("L1", "L2", "L3"):
            assert recall_reasons(await scan_lot(runtime, lot)) == []


def test_the_recalls_stream_keeps_commands_for_offline_stores() -> None:
    config = recalls_stream_config()
    assert config.subjects == ["jxc.v1.cmd.*.recalls"]
    assert config.max_age is not None
    assert config.max_age >= 30 * 24 * 3600
    assert config.duplicate_window


@given(st.binary(max_size=300))
def test_reading_any_bytes_never_raises(payload: bytes) -> None:
    assert isinstance(read_recall(payload, store_id=STORE), RecallOrder | RecallRefused)


@given(
    lot=st.text(min_size=1, max_size=20).filter(str.strip),
    recall_id=st.text(min_size=1, max_size=30).filter(str.strip),
    action=st.sampled_from(["place", "release"]),
)
def test_a_well_formed_command_reads_back(lot: str, recall_id: str, action: str) -> None:
    command = recall(lot, recall_id=recall_id, action=action, gtin="6901234567892")
    order = read_recall(encode_recall_hold(command), store_id=STORE)
    assert isinstance(order, RecallOrder)
    assert (order.hold_id, order.gtin, order.lot, order.action) == (
        command.hold_id(),
        BASS.gtin,  # normalised to GTIN-14, as scans name items
        lot,
        action,
    )
    refused = read_recall(encode_recall_hold(command), store_id="elsewhere")
    assert isinstance(refused, RecallRefused)
    assert refused.reason == "wrong_store"
