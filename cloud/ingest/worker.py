"""The ingest worker: durable pull consumer → one ClickHouse insert per fetch → ack.

Order of effects, chosen so a crash anywhere loses and doubles nothing:
1. decode every message of a fetch; poison goes to `dead_letters` (with its reason), then term;
2. plan each batch against the store's high-water mark (duplicates skipped, gaps held);
3. insert all accepted rows in one insert;
4. only then advance the marks in memory and ack.
A crash between 3 and 4 redelivers the messages; on restart the marks are read back from
`events` itself, so the redelivered events are duplicates and are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nats
import nats.errors
import nats.js.errors
import pyarrow as pa
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from cloud.clickhouse import ClickHouseGateway
from cloud.errors import ClickHouseUnavailable
from cloud.ingest.domain import IngestPlan, StoreProgress, plan_batch
from cloud.ingest.pool import PreparePool
from cloud.ingest.rows import Poison, Prepared, PreparedBatch
from cloud.ingest.schema import create_schema
from cloud.ingest.stream import EVENTS_STREAM, ensure_events_stream, ensure_ingest_consumer
from protocol.errors import ProtocolError
from protocol.subjects import (
    EVENT_PARTITIONS,
    STATUS_PREFIX,
    command_subject,
    edge_status_subject,
    partition_of,
)
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

# A held (gap) batch is redelivered after this delay, giving the missing batch time to arrive.
GAP_RETRY_DELAY_S = 1.0
INSERT_RETRY_DELAY_S = 2.0
RESEND_EVERY_S = 5.0
LEASE_BUCKET = "JXC_INGEST_LEASES"
_RECOVERABLE = (ClickHouseUnavailable, nats.errors.Error, OSError, TimeoutError)


def _stop_if_cancelled() -> None:
    """Re-raise a cancellation that was swallowed on its way.

    Python 3.11's asyncio.wait_for (inside nats-py's requests and fetches) returns the result
    instead of raising when a cancellation arrives just as its result does; the request stays
    recorded on the task. A loop that would otherwise run on (renewing a lease nobody holds,
    fetching for a worker being stopped) checks it at each turn."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


@dataclass(slots=True)
class IngestCounters:
    messages: int = 0
    events_inserted: int = 0
    duplicates_skipped: int = 0
    gaps_held: int = 0
    dead_letters: int = 0
    chain_breaks: int = 0
    insert_failures: int = 0
    bad_status_reports: int = 0
    last_error: str = ""


@dataclass(slots=True)
class _Planned:
    msg: Msg
    batch: PreparedBatch
    plan: IngestPlan


@dataclass(slots=True)
class IngestState:
    progress: dict[str, StoreProgress] = field(default_factory=dict)
    counters: IngestCounters = field(default_factory=IngestCounters)
    edges: dict[str, EdgeStatusReport] = field(default_factory=dict)


class _Lease:
    """One partition's lease in the KV bucket: create if free, renew by revision."""

    def __init__(self, kv: KeyValue, key: str, owner: str, ttl_s: float) -> None:
        self._kv = kv
        self._key = key
        self._owner = owner.encode()
        self._ttl_s = ttl_s
        self._revision: int | None = None
        self._renewed_at = -1e9

    def fresh(self) -> bool:
        """Renewed within half the TTL: no other worker can have taken it over."""
        return time.monotonic() - self._renewed_at < self._ttl_s / 2

    @property
    def held(self) -> bool:
        return self._revision is not None

    async def acquire(self) -> bool:
        """Take the lease if no other worker holds it."""
        try:
            self._revision = await self._kv.create(self._key, self._owner)
        except (nats.js.errors.KeyWrongLastSequenceError, nats.errors.Error, OSError):
            self._revision = None
            return False
        self._renewed_at = time.monotonic()
        return True

    async def keep(self) -> None:
        """Renew every quarter TTL, beside the ingest loop (a long fetch or insert must not
        let it lapse). A failed renewal means it is lost: the loop sees `held` turn false."""
        while True:
            await asyncio.sleep(self._ttl_s / 4)
            _stop_if_cancelled()
            revision = self._revision
            if revision is None:
                continue
            try:
                renewed = await self._kv.update(self._key, self._owner, last=revision)
            except (nats.js.errors.KeyWrongLastSequenceError, nats.errors.Error, OSError):
                self._revision = None
                continue
            _stop_if_cancelled()
            if self._revision is None:
                continue  # released while renewing: the renewal must not revive it
            self._revision = renewed
            self._renewed_at = time.monotonic()

    async def release(self) -> None:
        """Give the partition back at once on a clean stop (a crash waits for the TTL)."""
        revision, self._revision = self._revision, None
        if revision is not None:
            # Bounded: on a dying connection the lease simply expires after its TTL.
            with contextlib.suppress(nats.errors.Error, OSError, TimeoutError):
                await asyncio.wait_for(
                    asyncio.shield(self._kv.delete(self._key, last=revision)), 3.0
                )


class IngestWorker:
    """Ingests the partitions it holds a lease on; several workers split the partitions.

    A partition's lease is a key in the JetStream KV bucket `JXC_INGEST_LEASES` (created with
    a TTL). A worker only processes a partition while its lease is fresh (renewed within half
    the TTL), so a worker that stalls stops before another can take over; a standby worker
    picks up the partitions of one that died once their keys expire.
    """

    def __init__(
        self,
        *,
        gateway: ClickHouseGateway,
        database: str,
        nats_url: str,
        durable: str = "jxc-ingest",
        fetch_batch: int = 256,
        ack_wait_s: float = 30.0,
        partitions: Sequence[int] = tuple(range(EVENT_PARTITIONS)),
        lease_ttl_s: float = 15.0,
        marks_every_s: float = 1.0,
        worker_id: str | None = None,
        prepare_workers: int = 0,
        prepare_min_bytes: int = 256 * 1024,
    ) -> None:
        self._gateway = gateway
        self._db = database
        self._nats_url = nats_url
        self._durable = durable
        self._fetch_batch = fetch_batch
        self._ack_wait_s = ack_wait_s
        self._partitions = tuple(partitions)
        self._lease_ttl_s = lease_ttl_s
        self._marks_every_s = marks_every_s
        self.worker_id = worker_id or f"ingest-{os.getpid()}-{secrets.token_hex(3)}"
        self.state = IngestState()
        self.ready = asyncio.Event()
        self._nc: NatsClient | None = None
        self._marks_changed: set[str] = set()
        self._resend_asked_at: dict[str, float] = {}
        self._pool = PreparePool(prepare_workers, min_bytes=prepare_min_bytes)

    async def load_progress(self, partition: int | None = None) -> None:
        """Read the stores' marks back from `events` itself (all stores, or one partition's)."""
        rows = await self._gateway.rows(
            f"SELECT store_id, max(seq), argMax(hash, seq) FROM {self._db}.events GROUP BY store_id"
        )
        for store, hwm, head in rows:
            if partition is None or partition_of(str(store)) == partition:
                self.state.progress[str(store)] = StoreProgress(
                    hwm=int(hwm), head_hash=bytes.fromhex(head)
                )

    async def run(self) -> None:
        """Ingest forever. ClickHouse or NATS unavailable (at start, or in a way the loops do
        not absorb) restarts the worker after a pause; messages not acked come back."""
        delay = 0.5
        try:
            while True:
                # (no _stop_if_cancelled here: the TaskGroup in _run_once cancels this task
                # when a partition fails, and Python 3.11 does not always take that back)
                try:
                    await self._run_once()
                except* _RECOVERABLE as failure:
                    log.error(
                        "ingest.restarting",
                        worker=self.worker_id,
                        error=repr(failure.exceptions[0]),
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        finally:
            self._pool.close()

    async def _run_once(self) -> None:
        await create_schema(self._gateway, self._db)
        await self.load_progress()
        nc = self._nc = await self._connect()
        try:
            js = nc.jetstream()
            await ensure_events_stream(js)
            leases = await js.create_key_value(
                config=KeyValueConfig(bucket=LEASE_BUCKET, ttl=self._lease_ttl_s)
            )
            await nc.subscribe(f"{STATUS_PREFIX}.*", cb=self._on_edge_status)
            async with asyncio.TaskGroup() as tasks:
                for partition in self._partitions:
                    tasks.create_task(self._run_partition(js, leases, partition))
                tasks.create_task(self._publish_marks(nc))
                tasks.create_task(self._pool.warm())
                log.info(
                    "ingest.started",
                    worker=self.worker_id,
                    partitions=list(self._partitions),
                    stores=len(self.state.progress),
                )
                self.ready.set()
        finally:
            self._nc = None
            with contextlib.suppress(nats.errors.Error, OSError):
                await nc.close()

    async def _run_partition(self, js: JetStreamContext, leases: KeyValue, partition: int) -> None:
        lease = _Lease(leases, f"p{partition}", self.worker_id, self._lease_ttl_s)
        keeper = asyncio.create_task(lease.keep(), name=f"lease-p{partition}")
        try:
            await self._ingest_partition(js, lease, partition)
        finally:
            keeper.cancel()
            await lease.release()

    async def _ingest_partition(self, js: JetStreamContext, lease: _Lease, partition: int) -> None:
        """Fetch, prepare, apply; a fetch is prepared while the one before it is applied (its
        insert and acks), and applied only after it, so marks still move in fetch order."""
        applying: asyncio.Task[None] | None = None
        try:
            async for msgs in self._fetches(js, lease, partition):
                if not msgs:
                    if applying is not None and applying.done():
                        # A failed apply surfaces now, not at the next message: the worker
                        # restarts, and the fetch it could not settle comes back.
                        await applying
                        applying = None
                    continue
                prepared = await self._prepare(msgs)
                if applying is not None:
                    await applying
                if not lease.fresh():
                    applying = None
                    continue  # not ours for sure any more: leave them to redelivery
                applying = asyncio.create_task(self._apply(msgs, prepared))
        finally:
            if applying is not None and not applying.done():
                # Cut short (lost lease, stop): what was not acked is redelivered, and what
                # was inserted is then skipped as duplicates.
                applying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await applying

    async def _fetches(
        self, js: JetStreamContext, lease: _Lease, partition: int
    ) -> AsyncIterator[list[Msg]]:
        """The partition's fetches, while this worker holds its lease; an empty one each time a
        fetch times out with nothing."""
        held = False
        while True:
            _stop_if_cancelled()
            if not lease.held:
                if held:
                    log.error("ingest.partition_lost", partition=partition, worker=self.worker_id)
                    held = False
                if not await lease.acquire():
                    await asyncio.sleep(self._lease_ttl_s / 3)
                    continue
            if not held:
                held = True
                # Marks may have moved while another worker held the partition.
                await self.load_progress(partition)
                name = await ensure_ingest_consumer(
                    js, self._durable, partition, ack_wait_s=self._ack_wait_s
                )
                sub = await js.pull_subscribe_bind(name, stream=EVENTS_STREAM)
                log.info("ingest.partition_held", partition=partition, worker=self.worker_id)
            try:
                msgs = await sub.fetch(self._fetch_batch, timeout=min(1.0, self._lease_ttl_s / 4))
            except (nats.errors.TimeoutError, TimeoutError):
                yield []  # nothing came: the caller looks at the fetch it is applying
                continue
            except (nats.errors.Error, OSError) as exc:  # connection trouble: nats reconnects
                log.warning("ingest.fetch_failed", partition=partition, error=repr(exc))
                await asyncio.sleep(1.0)
                continue
            if lease.fresh():
                yield msgs

    async def _publish_marks(self, nc: NatsClient) -> None:
        """The end-to-end acknowledgement: each store's mark, when it moves and every 5 s."""
        rounds = 0
        while True:
            await asyncio.sleep(self._marks_every_s)
            _stop_if_cancelled()
            rounds += 1
            heartbeat = rounds % max(1, round(5 / self._marks_every_s)) == 0
            stores = set(self.state.progress) if heartbeat else set(self._marks_changed)
            self._marks_changed.clear()
            now = datetime.now(UTC)
            for store_id in stores:
                progress = self.state.progress[store_id]
                mark = CloudHighWaterMark(store_id=store_id, hwm=progress.hwm, at=now)
                with contextlib.suppress(nats.errors.Error, OSError):
                    await nc.publish(command_subject(store_id, HWM_KIND), encode_control(mark))

    async def _request_resend(self, store_id: str, gap: tuple[int, int]) -> None:
        """Ask the edge for the missing seqs, at most every few seconds per store."""
        now = time.monotonic()
        if now - self._resend_asked_at.get(store_id, -1e9) < RESEND_EVERY_S or self._nc is None:
            return
        self._resend_asked_at[store_id] = now
        first_missing, next_present = gap
        request = ResendRequest(store_id=store_id, from_seq=first_missing, to_seq=next_present - 1)
        log.warning("ingest.gap_resend_requested", store_id=store_id, missing=gap)
        with contextlib.suppress(nats.errors.Error, OSError):
            await self._nc.publish(command_subject(store_id, RESEND_KIND), encode_control(request))

    async def _on_edge_status(self, msg: Msg) -> None:
        try:
            report = decode_control(msg.data, EdgeStatusReport)
        except ProtocolError as exc:
            self.state.counters.bad_status_reports += 1
            log.debug("ingest.bad_edge_status", reason=exc.reason)
            return
        if msg.subject != edge_status_subject(report.store_id):
            self.state.counters.bad_status_reports += 1
            return
        self.state.edges[report.store_id] = report

    async def _connect(self) -> NatsClient:
        delay = 0.2
        while True:
            try:
                return await nats.connect(
                    self._nats_url,
                    name=f"jxc-{self.worker_id}",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                )
            except (nats.errors.Error, OSError) as exc:
                log.warning("ingest.nats_unreachable", url=self._nats_url, error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _prepare(self, msgs: list[Msg]) -> list[Prepared]:
        return await self._pool.prepare([(msg.subject, msg.data) for msg in msgs])

    async def _apply(self, msgs: list[Msg], prepared: list[Prepared]) -> None:
        """Plan a prepared fetch against the marks, insert, then move the marks and ack: see
        the module docstring for the order of effects."""
        counters = self.state.counters
        counters.messages += len(msgs)
        poisoned = [(m, p) for m, p in zip(msgs, prepared, strict=True) if isinstance(p, Poison)]
        if poisoned:
            await self._dead_letter(poisoned)

        # Only the stores of this fetch change; partitions run concurrently on other stores.
        provisional: dict[str, StoreProgress] = {}
        planned: list[_Planned] = []
        for msg, batch in zip(msgs, prepared, strict=True):
            if isinstance(batch, Poison):
                continue
            store_id = batch.facts.store_id
            before = provisional.get(store_id) or self.state.progress.get(store_id, StoreProgress())
            plan = plan_batch(batch.facts, before)
            provisional[store_id] = plan.progress_after(before)
            planned.append(_Planned(msg=msg, batch=batch, plan=plan))

        accepted = [p.batch.rows.slice(p.plan.duplicates) for p in planned if p.plan.accepted]
        if accepted:
            rows = pa.concat_tables(accepted)
            try:
                await self._gateway.insert_arrow(f"{self._db}.events", rows)
            except ClickHouseUnavailable as exc:
                counters.insert_failures += 1
                counters.last_error = str(exc)
                log.error("ingest.insert_failed", rows=rows.num_rows, error=str(exc))
                for item in planned:
                    await item.msg.nak(delay=INSERT_RETRY_DELAY_S)
                return
            counters.events_inserted += rows.num_rows
        self.state.progress.update(provisional)
        self._marks_changed.update(provisional)
        await self._settle(planned)

    async def _settle(self, planned: list[_Planned]) -> None:
        counters = self.state.counters
        breaks: list[list[Any]] = []
        for item in planned:
            plan, store_id = item.plan, item.batch.facts.store_id
            counters.duplicates_skipped += plan.duplicates
            if plan.chain_break is not None:
                counters.chain_breaks += 1
                breaks.append([store_id, plan.chain_break.seq, plan.chain_break.reason])
                log.error(
                    "ingest.chain_break",
                    store_id=store_id,
                    seq=plan.chain_break.seq,
                    reason=plan.chain_break.reason,
                )
            if plan.gap is not None:
                counters.gaps_held += 1
                await self._request_resend(store_id, plan.gap)
                await item.msg.nak(delay=GAP_RETRY_DELAY_S)
            else:
                await item.msg.ack()
        if breaks:
            await self._gateway.insert(
                f"{self._db}.chain_breaks", breaks, ("store_id", "seq", "reason")
            )

    async def _dead_letter(self, poisoned: list[tuple[Msg, Poison]]) -> None:
        """Quarantine with the reason first, then term: a poison message is never lost."""
        rows = []
        for msg, poison in poisoned:
            headers = msg.headers or {}
            rows.append(
                [
                    msg.subject,
                    headers.get("Nats-Msg-Id", ""),
                    poison.reason,
                    poison.detail[:2000],
                    msg.data,
                ]
            )
            log.warning("ingest.dead_letter", subject=msg.subject, reason=poison.reason)
        await self._gateway.insert(
            f"{self._db}.dead_letters", rows, ("subject", "msg_id", "reason", "detail", "payload")
        )
        self.state.counters.dead_letters += len(rows)
        for msg, _ in poisoned:
            await msg.term()
