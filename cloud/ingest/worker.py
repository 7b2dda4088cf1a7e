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
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nats
import nats.errors
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from cloud.clickhouse import ClickHouseGateway
from cloud.errors import ClickHouseUnavailable
from cloud.ingest.domain import IngestPlan, StoreProgress, plan_batch
from cloud.ingest.schema import EVENT_COLUMNS, create_schema
from cloud.ingest.stream import EVENTS_STREAM, ensure_events_stream, ensure_ingest_consumer
from protocol.batch import EventBatch, decode_batch
from protocol.envelope import Envelope
from protocol.errors import MalformedBatch
from protocol.subjects import store_of_events_subject

log = structlog.get_logger(__name__)

_generic_msgpack = msgspec.msgpack.Decoder()
_json = msgspec.json.Encoder()

# A held (gap) batch is redelivered after this delay, giving the missing batch time to arrive.
GAP_RETRY_DELAY_S = 1.0
INSERT_RETRY_DELAY_S = 2.0


@dataclass(slots=True)
class IngestCounters:
    messages: int = 0
    events_inserted: int = 0
    duplicates_skipped: int = 0
    gaps_held: int = 0
    dead_letters: int = 0
    chain_breaks: int = 0
    insert_failures: int = 0
    last_error: str = ""


@dataclass(slots=True)
class _Fetched:
    msg: Msg
    batch: EventBatch | None = None
    poison: MalformedBatch | None = None
    plan: IngestPlan | None = None


@dataclass(slots=True)
class IngestState:
    progress: dict[str, StoreProgress] = field(default_factory=dict)
    counters: IngestCounters = field(default_factory=IngestCounters)


def event_row(envelope: Envelope) -> list[Any]:
    """One `events` row. The body is stored as recorded; its JSON view is decoded generically
    so events of a newer edge version are stored too, before this ingest knows their type."""
    body = bytes(envelope.body)
    try:
        decoded = _generic_msgpack.decode(body)
        event_type = str(decoded.get("type", "")) if isinstance(decoded, dict) else ""
        body_json = _json.encode(decoded).decode()
    except (msgspec.DecodeError, msgspec.EncodeError, TypeError):
        event_type, body_json = "", ""
    return [
        envelope.store_id,
        envelope.seq,
        envelope.event_id,
        event_type,
        envelope.occurred_at,
        envelope.recorded_at,
        envelope.device_id,
        envelope.operator_id,
        envelope.prev_hash.hex(),
        envelope.hash.hex(),
        body,
        body_json,
    ]


class IngestWorker:
    def __init__(
        self,
        *,
        gateway: ClickHouseGateway,
        database: str,
        nats_url: str,
        durable: str = "jxc-ingest",
        fetch_batch: int = 256,
        ack_wait_s: float = 30.0,
    ) -> None:
        self._gateway = gateway
        self._db = database
        self._nats_url = nats_url
        self._durable = durable
        self._fetch_batch = fetch_batch
        self._ack_wait_s = ack_wait_s
        self.state = IngestState()
        self.ready = asyncio.Event()

    async def load_progress(self) -> None:
        rows = await self._gateway.rows(
            f"SELECT store_id, max(seq), argMax(hash, seq) FROM {self._db}.events GROUP BY store_id"
        )
        self.state.progress = {
            str(store): StoreProgress(hwm=int(hwm), head_hash=bytes.fromhex(head))
            for store, hwm, head in rows
        }

    async def run(self) -> None:
        await create_schema(self._gateway, self._db)
        await self.load_progress()
        nc = await self._connect()
        try:
            js = nc.jetstream()
            await ensure_events_stream(js)
            await ensure_ingest_consumer(js, self._durable, ack_wait_s=self._ack_wait_s)
            sub = await js.pull_subscribe_bind(self._durable, stream=EVENTS_STREAM)
            self.ready.set()
            log.info("ingest.started", durable=self._durable, stores=len(self.state.progress))
            while True:
                try:
                    msgs = await sub.fetch(self._fetch_batch, timeout=1.0)
                except nats.errors.TimeoutError:
                    continue
                await self.handle(msgs)
        finally:
            with contextlib.suppress(nats.errors.Error, OSError):
                await nc.close()

    async def _connect(self) -> NatsClient:
        delay = 0.2
        while True:
            try:
                return await nats.connect(
                    self._nats_url,
                    name="jxc-ingest",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                )
            except (nats.errors.Error, OSError) as exc:
                log.warning("ingest.nats_unreachable", url=self._nats_url, error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def handle(self, msgs: list[Msg]) -> None:
        """Process one fetch: see the module docstring for the order of effects."""
        counters = self.state.counters
        counters.messages += len(msgs)
        fetched = [self._decode(msg) for msg in msgs]
        poisoned = [f for f in fetched if f.poison is not None]
        if poisoned:
            await self._dead_letter(poisoned)

        provisional = dict(self.state.progress)
        rows: list[list[Any]] = []
        for item in fetched:
            if item.batch is None:
                continue
            store_id = item.batch.store_id
            before = provisional.get(store_id, StoreProgress())
            item.plan = plan_batch(item.batch, before)
            provisional[store_id] = item.plan.progress_after(before)
            rows.extend(event_row(e) for e in item.plan.accepted)

        if rows:
            try:
                await self._gateway.insert(f"{self._db}.events", rows, EVENT_COLUMNS)
            except ClickHouseUnavailable as exc:
                counters.insert_failures += 1
                counters.last_error = str(exc)
                log.error("ingest.insert_failed", rows=len(rows), error=str(exc))
                for item in fetched:
                    if item.batch is not None:
                        await item.msg.nak(delay=INSERT_RETRY_DELAY_S)
                return
        self.state.progress = provisional
        counters.events_inserted += len(rows)
        await self._settle(fetched)

    async def _settle(self, fetched: list[_Fetched]) -> None:
        counters = self.state.counters
        breaks: list[list[Any]] = []
        for item in fetched:
            plan = item.plan
            if plan is None:
                continue
            counters.duplicates_skipped += plan.duplicates
            if plan.chain_break is not None:
                counters.chain_breaks += 1
                assert item.batch is not None
                breaks.append([item.batch.store_id, plan.chain_break.seq, plan.chain_break.reason])
                log.error(
                    "ingest.chain_break",
                    store_id=item.batch.store_id,
                    seq=plan.chain_break.seq,
                    reason=plan.chain_break.reason,
                )
            if plan.gap is not None:
                counters.gaps_held += 1
                assert item.batch is not None
                log.warning("ingest.gap_held", store_id=item.batch.store_id, missing=plan.gap)
                await item.msg.nak(delay=GAP_RETRY_DELAY_S)
            else:
                await item.msg.ack()
        if breaks:
            await self._gateway.insert(
                f"{self._db}.chain_breaks", breaks, ("store_id", "seq", "reason")
            )

    def _decode(self, msg: Msg) -> _Fetched:
        subject_store = store_of_events_subject(msg.subject)
        try:
            if subject_store is None:
                raise MalformedBatch("bad_subject", msg.subject)
            batch = decode_batch(msg.data)
            if batch.store_id != subject_store:
                raise MalformedBatch("subject_store_mismatch", f"{batch.store_id} on {msg.subject}")
        except MalformedBatch as exc:
            return _Fetched(msg=msg, poison=exc)
        return _Fetched(msg=msg, batch=batch)

    async def _dead_letter(self, poisoned: list[_Fetched]) -> None:
        """Quarantine with the reason first, then term: a poison message is never lost."""
        rows = []
        for item in poisoned:
            assert item.poison is not None
            headers = item.msg.headers or {}
            rows.append(
                [
                    item.msg.subject,
                    headers.get("Nats-Msg-Id", ""),
                    item.poison.reason,
                    item.poison.detail[:2000],
                    item.msg.data,
                ]
            )
            log.warning("ingest.dead_letter", subject=item.msg.subject, reason=item.poison.reason)
        await self._gateway.insert(
            f"{self._db}.dead_letters", rows, ("subject", "msg_id", "reason", "detail", "payload")
        )
        self.state.counters.dead_letters += len(rows)
        for item in poisoned:
            await item.msg.term()
