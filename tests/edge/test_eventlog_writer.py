"""The edge unit of work on real SQLite: state, event and outbox commit together or not at all."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.errors import Rejected, RetryableError
from edge.eventlog.database import open_database
from edge.eventlog.migrations import bundled_migrations
from edge.eventlog.writer import FIRST_SEQ, EventLogWriter, Fact
from protocol.envelope import decode_envelope, encode_envelope, verify_chain
from protocol.events import ItemMasterUpdated, ItemScanned

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def clock_from(start: datetime):  # type: ignore[no-untyped-def]
    ticks = itertools.count()
    return lambda: start + timedelta(milliseconds=next(ticks))


async def make_writer(db: Path, store_id: str = "s1") -> tuple[EventLogWriter, object]:
    conn = await open_database(db)
    writer = EventLogWriter(
        conn, store_id=store_id, clock=clock_from(T0), new_event_id=lambda now: uuid.uuid4()
    )
    await writer.start()
    return writer, conn


def scan_fact(code: str) -> Fact:
    return Fact(
        events=(ItemScanned(terminal_id="pos-1", raw_code=code, verdict="allow"),),
        occurred_at=T0,
        device_id="pos-1",
    )


def stored(db: Path) -> tuple[list[int], list[int], list[str]]:
    with sqlite3.connect(db) as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
        outbox = [r[0] for r in conn.execute("SELECT seq FROM outbox ORDER BY seq")]
        items = [r[0] for r in conn.execute("SELECT gtin FROM items ORDER BY gtin")]
    return seqs, outbox, items


def chain_of(db: Path) -> list:  # type: ignore[type-arg]
    with sqlite3.connect(db) as conn:
        return [
            decode_envelope(r[0]) for r in conn.execute("SELECT envelope FROM events ORDER BY seq")
        ]


async def test_fact_commits_state_event_and_outbox_together(tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    writer, conn = await make_writer(db)
    fact = Fact(
        events=(ItemMasterUpdated(gtin="06901234567892", name="鲈鱼", price_fen=3990),),
        occurred_at=T0,
        device_id="cli",
        statements=(
            (
                "INSERT INTO items(gtin, name, price_fen, unit, updated_seq) VALUES (?,?,?,?,?)",
                ("06901234567892", "鲈鱼", 3990, "each", FIRST_SEQ),
            ),
        ),
    )
    (envelope,) = await writer.record(fact)
    await writer.stop()
    await conn.close()  # type: ignore[attr-defined]
    assert envelope.seq == 1
    assert stored(db) == ([1], [1], ["06901234567892"])
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT updated_seq FROM items").fetchone() == (1,)


async def test_rejected_fact_leaves_no_trace_and_spares_its_neighbours(tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    writer, conn = await make_writer(db)
    bad = Fact(
        events=(ItemMasterUpdated(gtin="x", name="bad", price_fen=-1),),
        occurred_at=T0,
        device_id="cli",
        statements=(
            (
                "INSERT INTO items(gtin, name, price_fen, unit, updated_seq) VALUES (?,?,?,?,?)",
                ("x", "bad", -1, "each", FIRST_SEQ),  # violates CHECK (price_fen >= 0)
            ),
        ),
    )
    # Submitted together, so they share one group-commit transaction.
    results = await asyncio.gather(
        writer.record(scan_fact("a")),
        writer.record(bad),
        writer.record(scan_fact("b")),
        return_exceptions=True,
    )
    await writer.stop()
    await conn.close()  # type: ignore[attr-defined]
    assert isinstance(results[1], Rejected)
    assert [r[0].seq for r in (results[0], results[2])] == [1, 2]  # type: ignore[index]
    assert stored(db) == ([1, 2], [1, 2], [])
    assert verify_chain(chain_of(db)) is None


async def test_concurrent_facts_get_contiguous_seqs_on_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    writer, conn = await make_writer(db)
    envelopes = await asyncio.gather(*(writer.record(scan_fact(str(n))) for n in range(500)))
    await writer.stop()
    await conn.close()  # type: ignore[attr-defined]
    assert sorted(e[0].seq for e in envelopes) == list(range(1, 501))
    assert verify_chain(chain_of(db)) is None


async def test_restart_continues_the_chain(tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    for round_ in range(3):
        writer, conn = await make_writer(db)
        for n in range(10):
            await writer.record(scan_fact(f"{round_}-{n}"))
        await writer.stop()
        await conn.close()  # type: ignore[attr-defined]
    chain = chain_of(db)
    assert [e.seq for e in chain] == list(range(1, 31))
    assert verify_chain(chain) is None


async def test_outbox_acknowledgement_drops_only_published_rows(tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    writer, conn = await make_writer(db)
    for n in range(5):
        await writer.record(scan_fact(str(n)))
    await writer.acknowledge_published(3)
    await writer.stop()
    await conn.close()  # type: ignore[attr-defined]
    assert stored(db)[:2] == ([1, 2, 3, 4, 5], [4, 5])


async def test_a_stopped_writer_refuses_with_a_retryable_error(tmp_path: Path) -> None:
    writer, conn = await make_writer(tmp_path / "edge.db")
    await writer.stop()
    with pytest.raises(RetryableError):
        await writer.record(scan_fact("late"))
    await conn.close()  # type: ignore[attr-defined]


async def test_migrations_are_applied_once(tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    for _ in range(2):
        conn = await open_database(db)
        await conn.close()
    with sqlite3.connect(db) as raw:
        numbers = [r[0] for r in raw.execute("SELECT number FROM schema_migrations")]
        mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
    assert numbers == [number for number, _, _ in bundled_migrations()]
    assert mode == "wal"


def stored_envelopes(db: Path) -> dict[int, bytes]:
    with sqlite3.connect(db) as conn:
        return {int(r[0]): bytes(r[1]) for r in conn.execute("SELECT seq, envelope FROM events")}


async def test_a_rejection_after_the_loop_sealed_the_batch_reseals_its_neighbours(
    tmp_path: Path,
) -> None:
    """The loop seals a batch ahead (the head is known after the first commit); a fact
    rejected inside the transaction shifts every later seq, so those are sealed again."""
    db = tmp_path / "edge.db"
    writer, conn = await make_writer(db)
    await writer.record(scan_fact("first"))
    bad = Fact(
        events=(ItemMasterUpdated(gtin="x", name="bad", price_fen=-1),),
        occurred_at=T0,
        device_id="cli",
        statements=(
            (
                "INSERT INTO items(gtin, name, price_fen, unit, updated_seq) VALUES (?,?,?,?,?)",
                ("x", "bad", -1, "each", FIRST_SEQ),
            ),
        ),
    )
    results = await asyncio.gather(
        writer.record(scan_fact("a")),
        writer.record(bad),
        writer.record(scan_fact("b")),
        writer.record(scan_fact("c")),
        return_exceptions=True,
    )
    await writer.stop()
    await conn.close()  # type: ignore[attr-defined]
    assert isinstance(results[1], Rejected)
    answered = [r[0] for r in results if not isinstance(r, BaseException)]
    assert [e.seq for e in answered] == [2, 3, 4]
    rows = stored_envelopes(db)
    assert all(rows[e.seq] == encode_envelope(e) for e in answered)  # answered = stored
    assert stored(db) == ([1, 2, 3, 4], [1, 2, 3, 4], [])
    assert verify_chain(chain_of(db)) is None


async def test_another_writer_between_batches_never_forks_the_chain(tmp_path: Path) -> None:
    """A second writer on the file (an admin command) moves the head under the first one's
    ahead-of-time seals: the transaction sees it and seals after the real head."""
    db = tmp_path / "edge.db"
    edge, edge_conn = await make_writer(db)
    admin, admin_conn = await make_writer(db)
    answered = []
    for n in range(6):
        answered += await asyncio.gather(*(edge.record(scan_fact(f"e{n}-{k}")) for k in range(3)))
        answered.append(await admin.record(scan_fact(f"admin{n}")))
    for writer, conn in ((edge, edge_conn), (admin, admin_conn)):
        await writer.stop()
        await conn.close()  # type: ignore[attr-defined]
    envelopes = [e for (e,) in answered]
    assert sorted(e.seq for e in envelopes) == list(range(1, 25))
    rows = stored_envelopes(db)
    assert all(rows[e.seq] == encode_envelope(e) for e in envelopes)
    assert verify_chain(chain_of(db)) is None


async def test_a_fact_with_more_events_than_one_insert_takes_commits_whole(
    tmp_path: Path,
) -> None:
    db = tmp_path / "edge.db"
    writer, conn = await make_writer(db)
    await writer.record(scan_fact("first"))
    many = Fact(
        events=tuple(
            ItemScanned(terminal_id="pos-1", raw_code=str(n), verdict="allow") for n in range(600)
        ),
        occurred_at=T0,
        device_id="pos-1",
    )
    envelopes = await writer.record(many)
    await writer.stop()
    await conn.close()  # type: ignore[attr-defined]
    assert [e.seq for e in envelopes] == list(range(2, 602))
    assert stored(db)[:2] == (list(range(1, 602)), list(range(1, 602)))
    assert verify_chain(chain_of(db)) is None
