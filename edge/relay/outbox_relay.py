"""The edge's transport: outbox → JetStream, and the cloud's acknowledgements back.

- Publishes the outbox in seq order as batches (size-bounded; a short linger fills them when
  events trickle in), several batches in flight with async publish, bounded by a window
  (backpressure: memory never grows with the backlog). Rows leave the outbox only once
  JetStream acked them, in order.
- A batch's `Nats-Msg-Id` is `store:first-last`, so a republish after a crash is a JetStream
  duplicate within the stream's window and, beyond it, a duplicate the ingest skips by seq.
- End-to-end acknowledgement: the cloud publishes its high-water mark for the store; events
  are pruned only below it and outside the retention window. If the cloud is alive but its
  mark stalls below what JetStream acked (JetStream can lose acked messages on an OS crash),
  or the cloud asks for a range, the relay resends from the event log.
- Reports its position to the cloud every few seconds and raises an alarm when the local log
  exceeds its disk budget (never deleting unsent events to make room).
The relay never blocks a POS call: it only reads the log and queues bookkeeping to the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from edge.eventlog.database import open_database
from edge.eventlog.writer import EventLogWriter
from protocol.batch import encode_batch
from protocol.errors import ProtocolError
from protocol.subjects import batch_msg_id, command_subject, edge_status_subject, events_subject
from protocol.transport import (
    HWM_KIND,
    RESEND_KIND,
    CloudHighWaterMark,
    EdgeStatusReport,
    ResendRequest,
    decode_control,
    encode_control,
)

log = structlog.get_logger(__name__)

_PUBLISH_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)
_RECOVERABLE = (*_PUBLISH_ERRORS, sqlite3.Error)


@dataclass(slots=True)
class RelayStatus:
    connected: bool = False
    last_published_seq: int = 0
    cloud_hwm: int = 0
    published_batches: int = 0
    resent_batches: int = 0
    publish_failures: int = 0
    pruned_events: int = 0
    log_bytes: int = 0
    over_budget: bool = False
    bad_commands: int = 0


@dataclass(frozen=True, slots=True)
class RelayTuning:
    batch_max: int = 1000
    window: int = 8  # batches in flight
    linger_s: float = 0.005
    publish_timeout_s: float = 5.0
    idle_poll_s: float = 1.0
    status_every_s: float = 5.0
    # The cloud is alive (marks arrive) but its mark stalls below what JetStream acked.
    resend_after_stall_s: float = 30.0
    retention: timedelta = timedelta(days=7)
    log_budget_bytes: int = 2 * 1024**3


@dataclass(slots=True)
class _InFlight:
    first_seq: int
    last_seq: int
    ack: asyncio.Future[Any]
    resend: bool


class OutboxRelay:
    def __init__(
        self,
        *,
        db_path: Path,
        store_id: str,
        nats_url: str,
        writer: EventLogWriter,
        tuning: RelayTuning | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._db_path = db_path
        self._store_id = store_id
        self._nats_url = nats_url
        self._writer = writer
        self._tuning = tuning or RelayTuning()
        self._clock = clock
        self._wake = asyncio.Event()
        self._resends: deque[tuple[int, int]] = deque()
        self._resend_ids = itertools.count(1)
        self._cloud_seen_at = 0.0  # monotonic time of the last cloud mark
        self._cloud_moved_at = 0.0  # monotonic time the cloud mark last advanced
        self.status = RelayStatus()
        self._log = log.bind(store_id=store_id)
        self._acked_pending = 0  # highest seq JetStream acked
        self._acked_flushed = 0  # highest seq dropped from the outbox
        self._ack_flush: asyncio.Task[None] | None = None

    def notify(self, committed_seq: int) -> None:
        """Called by the writer after a commit: there is something new to publish."""
        self._wake.set()

    async def run(self) -> None:
        """Relay forever: reconnects and retries with backoff, never gives up. A failure the
        inner loops do not absorb (the log unreadable for a moment, NATS gone between connect
        and subscribe) restarts the relay instead of leaving the outbox stranded."""
        backoff = _Backoff()
        while True:
            try:
                await self._run_once()
            except* _RECOVERABLE as failure:
                self._log.error("relay.restarting", error=repr(failure.exceptions[0]))
            await asyncio.sleep(backoff.next())

    async def _run_once(self) -> None:
        reader = await open_database(self._db_path, read_only=True)
        nc: NatsClient | None = None
        try:
            await self._load_marks(reader)
            nc = await self._connect()
            await self._subscribe_commands(nc)
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._pump(nc.jetstream(), reader))
                tasks.create_task(self._report(nc, reader))
        finally:
            if nc is not None:
                with contextlib.suppress(*_PUBLISH_ERRORS):
                    await nc.close()
            await reader.close()

    # -- publishing -------------------------------------------------------------------------

    async def _pump(self, js: JetStreamContext, reader: aiosqlite.Connection) -> None:
        tuning = self._tuning
        inflight: deque[_InFlight] = deque()
        next_seq: int | None = None  # next outbox seq to read; None: from the outbox head
        backoff = _Backoff()
        while True:
            try:
                while len(inflight) < tuning.window:
                    batch = await self._next_batch(reader, next_seq)
                    if batch is None:
                        break
                    first_seq, envelopes, resend = batch
                    last_seq = first_seq + len(envelopes) - 1
                    msg_id = batch_msg_id(self._store_id, first_seq, last_seq)
                    if resend:  # a new id, or JetStream would drop it as a duplicate
                        msg_id = f"{msg_id}:resend-{next(self._resend_ids)}"
                    ack = await js.publish_async(
                        events_subject(self._store_id),
                        encode_batch(self._store_id, first_seq, envelopes),
                        headers={"Nats-Msg-Id": msg_id},
                    )
                    inflight.append(_InFlight(first_seq, last_seq, ack, resend))
                    if not resend:
                        next_seq = last_seq + 1
                if not inflight:
                    await self._idle()
                    continue
                head = inflight[0]
                await asyncio.wait_for(head.ack, tuning.publish_timeout_s)
            except _PUBLISH_ERRORS as exc:
                # Everything in flight is in doubt: cancel it and start again from the outbox
                # head. Anything JetStream did store comes back as a duplicate ack.
                for pending in inflight:
                    pending.ack.cancel()
                inflight.clear()
                next_seq = self._acked_pending + 1 if self._acked_pending else None
                self.status.publish_failures += 1
                if backoff.attempt == 0:
                    self._log.warning("relay.publish_failing", error=repr(exc))
                await asyncio.sleep(backoff.next())
                continue
            if backoff.attempt:
                self._log.info("relay.publish_recovered", seq=head.first_seq)
                backoff.reset()
            # Settle every batch acked so far, in order, with one bookkeeping write.
            while inflight and inflight[0].ack.done() and not inflight[0].ack.cancelled():
                if inflight[0].ack.exception() is not None:
                    break  # refused: the next round's wait raises and starts over
                done = inflight.popleft()
                if done.resend:
                    self.status.resent_batches += 1
                else:
                    self.status.published_batches += 1
                    self._acked(done.last_seq)

    def _acked(self, last_seq: int) -> None:
        """JetStream stored everything up to `last_seq`: drop it from the outbox. Writes are
        coalesced and run beside the pump, so one fsync settles many batches."""
        self._acked_pending = max(self._acked_pending, last_seq)
        self.status.last_published_seq = self._acked_pending
        if self._ack_flush is None or self._ack_flush.done():
            self._ack_flush = asyncio.create_task(self._flush_acks())

    async def _flush_acks(self) -> None:
        while self._acked_flushed < self._acked_pending:
            up_to = self._acked_pending
            await self._writer.housekeeping(
                (
                    ("DELETE FROM outbox WHERE seq <= ?", (up_to,)),
                    (
                        "UPDATE transport_marks SET value = ? WHERE name = 'jetstream_acked'",
                        (up_to,),
                    ),
                )
            )
            self._acked_flushed = up_to

    async def _idle(self) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._tuning.idle_poll_s)
        self._maybe_resend_stalled()

    async def _next_batch(
        self, reader: aiosqlite.Connection, next_seq: int | None
    ) -> tuple[int, list[bytes], bool] | None:
        """The next batch to publish: requested resends first, then the outbox."""
        tuning = self._tuning
        while self._resends:
            from_seq, to_seq = self._resends[0]
            rows = await _fetch(
                reader,
                "SELECT seq, envelope FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq LIMIT ?",
                (from_seq, to_seq, tuning.batch_max),
            )
            if not rows:  # pruned or never written: nothing to resend here
                self._resends.popleft()
                continue
            first_seq, envelopes = _contiguous(rows)
            last_seq = first_seq + len(envelopes) - 1
            if last_seq >= to_seq:
                self._resends.popleft()
            else:
                self._resends[0] = (last_seq + 1, to_seq)
            return first_seq, envelopes, True
        query = (
            "SELECT o.seq, e.envelope FROM outbox AS o JOIN events AS e ON e.seq = o.seq"
            " WHERE o.seq >= ? ORDER BY o.seq LIMIT ?"
        )
        rows = await _fetch(reader, query, (next_seq or 0, tuning.batch_max))
        if 0 < len(rows) < tuning.batch_max and tuning.linger_s > 0:
            await asyncio.sleep(tuning.linger_s)  # let a trickle of scans fill the batch
            rows = await _fetch(reader, query, (next_seq or 0, tuning.batch_max))
        if not rows:
            return None
        first_seq, envelopes = _contiguous(rows)
        return first_seq, envelopes, False

    # -- cloud acknowledgements and commands ------------------------------------------------

    async def _load_marks(self, reader: aiosqlite.Connection) -> None:
        rows = await _fetch(reader, "SELECT name, value FROM transport_marks", ())
        marks = {str(name): int(value) for name, value in rows}
        self.status.cloud_hwm = marks.get("cloud_hwm", 0)
        self.status.last_published_seq = marks.get("jetstream_acked", 0)

    async def _subscribe_commands(self, nc: NatsClient) -> None:
        await nc.subscribe(command_subject(self._store_id, HWM_KIND), cb=self._on_hwm)
        await nc.subscribe(command_subject(self._store_id, RESEND_KIND), cb=self._on_resend)

    async def _on_hwm(self, msg: Msg) -> None:
        try:
            mark = decode_control(msg.data, CloudHighWaterMark)
        except ProtocolError as exc:
            self.status.bad_commands += 1
            self._log.warning("relay.bad_command", kind=HWM_KIND, reason=exc.reason)
            return
        if mark.store_id != self._store_id:
            self.status.bad_commands += 1
            return
        now = time.monotonic()
        self._cloud_seen_at = now
        if mark.hwm > self.status.cloud_hwm:
            self._cloud_moved_at = now
            self.status.cloud_hwm = mark.hwm
            await self._writer.housekeeping(
                (
                    (
                        "UPDATE transport_marks SET value = max(value, ?) WHERE name = 'cloud_hwm'",
                        (mark.hwm,),
                    ),
                )
            )
            await self._prune(mark.hwm)

    async def _on_resend(self, msg: Msg) -> None:
        try:
            request = decode_control(msg.data, ResendRequest)
        except ProtocolError as exc:
            self.status.bad_commands += 1
            self._log.warning("relay.bad_command", kind=RESEND_KIND, reason=exc.reason)
            return
        if request.store_id != self._store_id:
            self.status.bad_commands += 1
            return
        self.request_resend(request.from_seq, request.to_seq, reason=request.reason)

    def request_resend(self, from_seq: int, to_seq: int, *, reason: str) -> None:
        if (from_seq, to_seq) not in self._resends:
            self._log.info("relay.resend", from_seq=from_seq, to_seq=to_seq, reason=reason)
            self._resends.append((from_seq, to_seq))
            self._wake.set()

    def _maybe_resend_stalled(self) -> None:
        """The cloud is alive and JetStream acked more than the cloud has: resend the rest."""
        now = time.monotonic()
        status = self.status
        cloud_alive = now - self._cloud_seen_at < 3 * self._tuning.status_every_s
        stalled = now - self._cloud_moved_at > self._tuning.resend_after_stall_s
        if cloud_alive and stalled and status.cloud_hwm < status.last_published_seq:
            self._cloud_moved_at = now  # one resend per stall period
            self.request_resend(
                status.cloud_hwm + 1, status.last_published_seq, reason="cloud_mark_stalled"
            )

    async def _prune(self, cloud_hwm: int) -> None:
        """Drop events the cloud has, older than the retention window; keep the chain head."""
        if self._clock is None:
            return
        cutoff_us = int((self._clock() - self._tuning.retention).timestamp() * 1_000_000)
        await self._writer.housekeeping(
            (
                (
                    "DELETE FROM events WHERE seq <= ? AND recorded_at_us < ?"
                    " AND seq < (SELECT max(seq) FROM events)"
                    " AND seq NOT IN (SELECT seq FROM outbox)",
                    (cloud_hwm, cutoff_us),
                ),
            )
        )

    # -- status -----------------------------------------------------------------------------

    async def _report(self, nc: NatsClient, reader: aiosqlite.Connection) -> None:
        while True:
            report = await self.position(reader)
            self.status.log_bytes = report.log_bytes
            over = report.over_budget
            if over != self.status.over_budget:
                self.status.over_budget = over
                if over:
                    self._log.error(
                        "relay.log_over_budget",
                        log_bytes=report.log_bytes,
                        budget_bytes=report.log_budget_bytes,
                        hint="events are never deleted before the cloud has them: "
                        "restore the uplink or enlarge the disk",
                    )
                else:
                    self._log.info("relay.log_within_budget", log_bytes=report.log_bytes)
            with contextlib.suppress(*_PUBLISH_ERRORS):
                await nc.publish(edge_status_subject(self._store_id), encode_control(report))
            await asyncio.sleep(self._tuning.status_every_s)

    async def position(self, reader: aiosqlite.Connection) -> EdgeStatusReport:
        rows = await _fetch(
            reader,
            "SELECT (SELECT coalesce(max(seq), 0) FROM events), (SELECT count(*) FROM outbox)",
            (),
        )
        last_seq, pending = int(rows[0][0]), int(rows[0][1])
        return EdgeStatusReport(
            store_id=self._store_id,
            last_seq=last_seq,
            last_acked_seq=self.status.last_published_seq,
            outbox_pending=pending,
            cloud_hwm=self.status.cloud_hwm,
            log_bytes=_log_bytes(self._db_path),
            log_budget_bytes=self._tuning.log_budget_bytes,
            at=(self._clock or _utc_now)(),
        )

    async def _connect(self) -> NatsClient:
        backoff = _Backoff()

        async def disconnected() -> None:
            self.status.connected = False
            self._log.warning("relay.nats_disconnected")

        async def reconnected() -> None:
            self.status.connected = True
            self._log.info("relay.nats_reconnected")

        async def error(exc: Exception) -> None:
            self._log.debug("relay.nats_error", error=repr(exc))

        while True:
            try:
                nc = await nats.connect(
                    self._nats_url,
                    name=f"jxc-relay-{self._store_id}",
                    # nats-py stops after 60 reconnect attempts by default: a store may be
                    # offline for days, so never stop.
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    allow_reconnect=True,
                    pending_size=64 * 1024 * 1024,
                    disconnected_cb=disconnected,
                    reconnected_cb=reconnected,
                    error_cb=error,
                )
            except _PUBLISH_ERRORS as exc:
                if backoff.attempt == 0:
                    self._log.warning("relay.nats_unreachable", url=self._nats_url, error=repr(exc))
                await asyncio.sleep(backoff.next())
                continue
            self.status.connected = True
            self._log.info("relay.nats_connected", url=self._nats_url)
            return nc


async def _fetch(
    reader: aiosqlite.Connection, sql: str, params: tuple[object, ...]
) -> list[tuple[Any, ...]]:
    async with reader.execute(sql, params) as cur:
        return [tuple(row) for row in await cur.fetchall()]


def _contiguous(rows: list[tuple[Any, ...]]) -> tuple[int, list[bytes]]:
    """The leading run of consecutive seqs: a batch is always contiguous."""
    first_seq = int(rows[0][0])
    envelopes = []
    for offset, (seq, envelope) in enumerate(rows):
        if seq != first_seq + offset:
            break
        envelopes.append(bytes(envelope))
    return first_seq, envelopes


def _log_bytes(db_path: Path) -> int:
    total = 0
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            total += os.path.getsize(f"{db_path}{suffix}")
    return total


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Backoff:
    """Exponential backoff from 0.2 s to 10 s."""

    def __init__(self, first_s: float = 0.2, max_s: float = 10.0) -> None:
        self._first_s = first_s
        self._max_s = max_s
        self.attempt = 0

    def next(self) -> float:
        self.attempt += 1
        return float(min(self._max_s, self._first_s * 2 ** (self.attempt - 1)))

    def reset(self) -> None:
        self.attempt = 0
