"""Publishes the outbox to JetStream in seq order and drops rows only after the ack.

A batch is the stored envelope bytes of contiguous events; its `Nats-Msg-Id` is
`store:first-last`, so a republish after a crash is a JetStream duplicate (within the
stream's window) and, beyond it, a duplicate the ingest skips by (store_id, seq).
The relay never blocks a POS call: it only reads the log and queues outbox acknowledgements
to the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NatsClient

from edge.eventlog.database import open_database
from edge.eventlog.writer import EventLogWriter
from protocol.batch import encode_batch
from protocol.subjects import batch_msg_id, events_subject

log = structlog.get_logger(__name__)

_PUBLISH_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)


@dataclass(slots=True)
class RelayStatus:
    connected: bool = False
    last_published_seq: int = 0
    published_batches: int = 0
    publish_failures: int = 0


class OutboxRelay:
    def __init__(
        self,
        *,
        db_path: Path,
        store_id: str,
        nats_url: str,
        writer: EventLogWriter,
        batch_max: int = 1000,
        publish_timeout_s: float = 5.0,
        idle_poll_s: float = 1.0,
    ) -> None:
        self._db_path = db_path
        self._store_id = store_id
        self._nats_url = nats_url
        self._writer = writer
        self._batch_max = batch_max
        self._publish_timeout_s = publish_timeout_s
        self._idle_poll_s = idle_poll_s
        self._wake = asyncio.Event()
        self.status = RelayStatus()
        self._log = log.bind(store_id=store_id)

    def notify(self, committed_seq: int) -> None:
        """Called by the writer after a commit: there is something new to publish."""
        self._wake.set()

    async def run(self) -> None:
        """Relay forever: reconnects and retries with backoff, never gives up."""
        reader = await open_database(self._db_path, read_only=True)
        nc: NatsClient | None = None
        try:
            nc = await self._connect()
            js = nc.jetstream()
            backoff = _Backoff()
            while True:
                pending = await self._read_pending(reader)
                if not pending:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle_poll_s)
                    continue
                first_seq, envelopes = pending
                last_seq = first_seq + len(envelopes) - 1
                try:
                    await js.publish(
                        events_subject(self._store_id),
                        encode_batch(self._store_id, first_seq, envelopes),
                        timeout=self._publish_timeout_s,
                        headers={"Nats-Msg-Id": batch_msg_id(self._store_id, first_seq, last_seq)},
                    )
                except _PUBLISH_ERRORS as exc:
                    self.status.publish_failures += 1
                    delay = backoff.next()
                    if backoff.attempt == 1:
                        self._log.warning("relay.publish_failing", error=repr(exc), seq=first_seq)
                    await asyncio.sleep(delay)
                    continue
                if backoff.attempt:
                    self._log.info("relay.publish_recovered", seq=first_seq)
                backoff.reset()
                await self._writer.acknowledge_published(last_seq)
                self.status.last_published_seq = last_seq
                self.status.published_batches += 1
        finally:
            if nc is not None:
                with contextlib.suppress(*_PUBLISH_ERRORS):
                    await nc.close()
            await reader.close()

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
                    disconnected_cb=disconnected,
                    reconnected_cb=reconnected,
                    error_cb=error,
                )
            except _PUBLISH_ERRORS as exc:
                delay = backoff.next()
                if backoff.attempt == 1:
                    self._log.warning("relay.nats_unreachable", url=self._nats_url, error=repr(exc))
                await asyncio.sleep(delay)
                continue
            self.status.connected = True
            self._log.info("relay.nats_connected", url=self._nats_url)
            return nc

    async def _read_pending(self, reader: aiosqlite.Connection) -> tuple[int, list[bytes]] | None:
        async with reader.execute(
            "SELECT o.seq, e.envelope FROM outbox AS o JOIN events AS e ON e.seq = o.seq"
            " ORDER BY o.seq LIMIT ?",
            (self._batch_max,),
        ) as cur:
            rows = list(await cur.fetchall())
        if not rows:
            return None
        first_seq = int(rows[0][0])
        envelopes = []
        for offset, (seq, envelope) in enumerate(rows):
            if seq != first_seq + offset:  # a batch is always a contiguous run
                break
            envelopes.append(bytes(envelope))
        return first_seq, envelopes


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
