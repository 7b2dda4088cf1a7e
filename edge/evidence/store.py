"""Reads of the event log for checkpoints (the writer owns every write)."""

from __future__ import annotations

import aiosqlite
import msgspec
import structlog

from edge.evidence.domain import CHECKPOINT_TYPE, KEY_ANNOUNCED_TYPE, ChainLink
from protocol.envelope import decode_envelope
from protocol.errors import UndecodableEvent
from protocol.trace_events import ChainCheckpointSigned, CheckpointKeyAnnounced

log = structlog.get_logger(__name__)

SignedAt = tuple[int, ChainCheckpointSigned]  # (the checkpoint event's own seq, the event)


def _decoded(seq: int, envelope: bytes) -> object | None:
    try:
        return decode_envelope(envelope).event()
    except (msgspec.DecodeError, UndecodableEvent) as exc:
        log.error("evidence.undecodable_event", seq=seq, error=str(exc)[:200])
        return None


async def last_checkpoint(conn: aiosqlite.Connection) -> SignedAt | None:
    """The newest checkpoint in the log, or None. Scans back from the head: a few thousand
    rows at most when the chain is signed regularly (once per start)."""
    async with conn.execute(
        "SELECT seq, envelope FROM events WHERE type = ? ORDER BY seq DESC", (CHECKPOINT_TYPE,)
    ) as cur:
        async for seq, envelope in cur:
            event = _decoded(int(seq), bytes(envelope))
            if isinstance(event, ChainCheckpointSigned):
                return int(seq), event
    return None


async def checkpoint_at(conn: aiosqlite.Connection, seq: int) -> ChainCheckpointSigned | None:
    async with conn.execute("SELECT envelope FROM events WHERE seq = ?", (seq,)) as cur:
        row = await cur.fetchone()
    event = None if row is None else _decoded(seq, bytes(row[0]))
    return event if isinstance(event, ChainCheckpointSigned) else None


async def chain_signing_key(conn: aiosqlite.Connection) -> str | None:
    """The key the chain currently names: that of its newest key announcement or checkpoint."""
    async with conn.execute(
        "SELECT seq, envelope FROM events WHERE type IN (?, ?) ORDER BY seq DESC",
        (CHECKPOINT_TYPE, KEY_ANNOUNCED_TYPE),
    ) as cur:
        async for seq, envelope in cur:
            event = _decoded(int(seq), bytes(envelope))
            if isinstance(event, ChainCheckpointSigned | CheckpointKeyAnnounced):
                return event.key_id
    return None


async def links_after(conn: aiosqlite.Connection, after_seq: int, limit: int) -> list[ChainLink]:
    """Up to `limit` stored events after `after_seq`, in seq order (gaps where pruned)."""
    async with conn.execute(
        "SELECT seq, type, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ) as cur:
        rows = await cur.fetchall()
    return [ChainLink(seq=int(r[0]), event_type=str(r[1]), hash=bytes(r[2])) for r in rows]


async def head_seq(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT coalesce(max(seq), 0) FROM events") as cur:
        row = await cur.fetchone()
    return 0 if row is None else int(row[0])
