"""The checkpointer: signs the store's chain in the background, on demand, and at shutdown.

It keeps no state of its own on disk: where to go on is read from the log (the newest
`ChainCheckpointSigned` and the key the chain names), so a restart resumes without gap or
overlap. Hashes are read on its own read-only connection; the Merkle root and the signature
are computed off the event loop (10 000 leaves take tens of milliseconds); the checkpoint is
recorded through the writer like any other fact.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite
import structlog

from edge.clock import random_event_id
from edge.errors import EdgeError
from edge.eventlog.database import open_database
from edge.eventlog.writer import EventLogWriter, Fact
from edge.evidence.domain import (
    CHECKPOINT_TYPE,
    ChainLink,
    key_announcement,
    plan_checkpoint,
    signed_checkpoint,
)
from edge.evidence.keys import SigningKey, SigningKeyError, load_or_create_signing_key
from edge.evidence.store import (
    SignedAt,
    chain_signing_key,
    checkpoint_at,
    head_seq,
    last_checkpoint,
    links_after,
)
from edge.settings import EdgeSettings
from protocol.envelope import Envelope
from protocol.events import Event

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


@dataclass(slots=True)
class CheckpointerStatus:
    key_id: str
    signed_through: int = 0  # the last seq a checkpoint covers (or known gone before one did)
    checkpoint_seq: int = 0  # the seq of the newest checkpoint event
    checkpoints: int = 0  # signed by this process
    rounds: int = 0  # background rounds run (timer or trigger)
    events_gone: int = 0  # unsigned events found pruned
    failures: int = 0


class Checkpointer:
    def __init__(
        self,
        *,
        reader: aiosqlite.Connection,
        writer: EventLogWriter,
        key: SigningKey,
        store_id: str,
        clock: Clock,
        device_id: str = "edge",
        interval_s: float = 60.0,
        max_events: int = 1_000,
        owns_reader: bool = False,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._key = key
        self._store_id = store_id
        self._clock = clock
        self._device_id = device_id
        self._interval_s = interval_s
        self._max_events = max_events
        self._owns_reader = owns_reader
        self.status = CheckpointerStatus(key_id=key.key_id)
        self._announced: str | None = None
        self._head = 0
        self._due = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._failing = False
        self._log = log.bind(store_id=store_id, key_id=key.key_id)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Resume from the log, put the key on the chain if it is new, then sign periodically."""
        await self.resume()
        await self.announce_key()
        self._task = asyncio.create_task(self._run(), name=f"checkpointer:{self._store_id}")

    async def stop(self) -> None:
        """Finish the round in progress, sign one final checkpoint, let go of the reader."""
        self._stopping = True
        self._due.set()
        if self._task is not None:
            (outcome,) = await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
            if isinstance(outcome, BaseException):  # a bug: say so, still stop cleanly
                self._log.error("evidence.checkpointer_crashed", error=repr(outcome))
            await self._round()
        if self._owns_reader:
            await self._reader.close()

    def notify(self, seq: int) -> None:
        """The writer committed up to `seq`: sign at once when enough is unsigned."""
        self._head = max(self._head, seq)
        if self._head - self.status.signed_through >= self._max_events:
            self._due.set()

    # -- what the log says ----------------------------------------------------------------

    async def resume(self) -> None:
        status = self.status
        found = await last_checkpoint(self._reader)
        if found is not None:
            status.checkpoint_seq, checkpoint = found
            status.signed_through = checkpoint.last_seq
        self._announced = await chain_signing_key(self._reader)
        self._head = await head_seq(self._reader)
        self._log.info(
            "evidence.resumed",
            signed_through=status.signed_through,
            head=self._head,
            chain_key_id=self._announced,
        )

    async def announce_key(self) -> bool:
        """Record `CheckpointKeyAnnounced` unless the chain already names this key."""
        if self._announced == self._key.key_id:
            return False
        await self._record(key_announcement(self._key.key_id, self._key.public_key))
        self._log.info("evidence.key_announced", previous_key_id=self._announced)
        self._announced = self._key.key_id
        return True

    # -- signing --------------------------------------------------------------------------

    async def checkpoint_now(self) -> list[SignedAt]:
        """Sign everything unsigned now (one checkpoint per `max_events`); what was recorded."""
        signed = []
        more = True
        while more:
            async with self._lock:
                found, more = await self._sign_next()
            if found is not None:
                signed.append(found)
        return signed

    async def _run(self) -> None:
        while True:
            if not self._due.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._due.wait(), self._interval_s)
            if self._stopping:
                return
            self._due.clear()
            self.status.rounds += 1
            if await self._round():
                self._due.set()  # a backlog: the next window at once (after other tasks ran)
            await asyncio.sleep(0)

    async def _round(self) -> bool:
        """One checkpoint if one is due; failures are logged once and retried next round."""
        try:
            async with self._lock:
                _, more = await self._sign_next()
        except (EdgeError, sqlite3.Error) as exc:
            self.status.failures += 1
            if not self._failing:
                self._failing = True
                self._log.warning("evidence.checkpoint_failed", error=str(exc))
            return False
        if self._failing:
            self._failing = False
            self._log.info("evidence.checkpoint_recovered")
        return more

    async def _sign_next(self) -> tuple[SignedAt | None, bool]:
        status = self.status
        after = status.signed_through
        links = await links_after(self._reader, after, self._max_events)
        if await self._adopt_newer_checkpoint(links):
            return None, True
        plan = await asyncio.to_thread(
            plan_checkpoint, after, links, window_full=len(links) >= self._max_events
        )
        if plan.gone is not None:
            status.events_gone += plan.gone.count
            self._log.warning(
                "evidence.unsigned_events_gone",
                first_seq=plan.gone.first_seq,
                last_seq=plan.gone.last_seq,
                hint="pruned from the local log before a checkpoint covered them; "
                "signing goes on after them",
            )
        if plan.draft is None:
            status.signed_through = plan.accounted_through(after)
            return None, plan.more
        await self.announce_key()
        key = self._key
        checkpoint = await asyncio.to_thread(
            signed_checkpoint,
            plan.draft,
            store_id=self._store_id,
            key_id=key.key_id,
            private_key=key.private_key,
        )
        envelope = await self._record(checkpoint)
        status.signed_through = checkpoint.last_seq
        status.checkpoint_seq = envelope.seq
        status.checkpoints += 1
        self._log.debug(
            "evidence.checkpoint_signed",
            first_seq=checkpoint.first_seq,
            last_seq=checkpoint.last_seq,
            seq=envelope.seq,
        )
        return (envelope.seq, checkpoint), plan.more

    async def _adopt_newer_checkpoint(self, links: list[ChainLink]) -> bool:
        """Someone else signed meanwhile (`jxc edge checkpoint` on a running edge's database):
        go on after their checkpoint rather than overlap it."""
        newer = [
            link.seq
            for link in links
            if link.event_type == CHECKPOINT_TYPE and link.seq > self.status.checkpoint_seq
        ]
        if not newer:
            return False
        self.status.checkpoint_seq = newer[-1]
        checkpoint = await checkpoint_at(self._reader, newer[-1])
        if checkpoint is None or checkpoint.last_seq <= self.status.signed_through:
            return False
        self.status.signed_through = checkpoint.last_seq
        self._log.warning(
            "evidence.checkpoint_by_another_writer",
            seq=newer[-1],
            last_seq=checkpoint.last_seq,
            their_key_id=checkpoint.key_id,
        )
        return True

    async def _record(self, event: Event) -> Envelope:
        (envelope,) = await self._writer.record(
            Fact(events=(event,), occurred_at=self._clock(), device_id=self._device_id)
        )
        return envelope


# -- builders (the composition root, the CLI) ---------------------------------------------


def _key(settings: EdgeSettings) -> SigningKey:
    if settings.signing_key_path is None:
        raise SigningKeyError("no signing key configured (JXC_EDGE_SIGNING_KEY)")
    key, created = load_or_create_signing_key(settings.signing_key_path)
    if created:
        log.info(
            "evidence.signing_key_created",
            store_id=settings.store_id,
            path=str(key.path),
            key_id=key.key_id,
        )
    return key


async def start_checkpointer(
    settings: EdgeSettings, *, writer: EventLogWriter, clock: Clock
) -> Checkpointer | None:
    """The running edge's checkpointer, started (None when no signing key is configured).

    The writer must be running: the key announcement is recorded before this returns."""
    if settings.signing_key_path is None:
        log.info("evidence.checkpoints_off", store_id=settings.store_id)
        return None
    key = _key(settings)
    reader = await open_database(settings.db_path, read_only=True)
    checkpointer = Checkpointer(
        reader=reader,
        writer=writer,
        key=key,
        store_id=settings.store_id,
        clock=clock,
        device_id=settings.device_id,
        interval_s=settings.checkpoint_interval_s,
        max_events=settings.checkpoint_max_events,
        owns_reader=True,
    )
    started = False
    try:
        await checkpointer.start()
        started = True
    finally:
        if not started:
            await reader.close()
    return checkpointer


async def checkpoint_store(
    settings: EdgeSettings,
    *,
    clock: Clock,
    new_event_id: Callable[[datetime], uuid.UUID] = random_event_id,
) -> tuple[list[SignedAt], CheckpointerStatus]:
    """Sign what is unsigned in a store database directly (`jxc edge checkpoint`).

    Meant for a stopped edge: a running one signs on its own, and one that sees a checkpoint
    made this way goes on after it."""
    key = _key(settings)
    conn = await open_database(settings.db_path)
    reader = await open_database(settings.db_path, read_only=True)
    writer = EventLogWriter(
        conn, store_id=settings.store_id, clock=clock, new_event_id=new_event_id
    )
    await writer.start()
    try:
        checkpointer = Checkpointer(
            reader=reader,
            writer=writer,
            key=key,
            store_id=settings.store_id,
            clock=clock,
            device_id=settings.device_id,
            max_events=settings.checkpoint_max_events,
        )
        await checkpointer.resume()
        await checkpointer.announce_key()
        return await checkpointer.checkpoint_now(), checkpointer.status
    finally:
        await writer.stop()
        await reader.close()
        await conn.close()
