"""Recalls: from a lot (or a supplier's lots over a period) to holds in every store that had
it or anything made from it, and the list of customer receipts it reached.

Opening a recall traces each recalled lot forward (repacks of a recalled lot are recalled
too), sends one `RecallHold` per (store, lot) on the store's JetStream command subject — a
store that is offline gets it when it is back, and the edge's scan verdict then blocks the lot
— and keeps the recall in ClickHouse. Publishing is idempotent (`Nats-Msg-Id`), so a retried
or re-opened recall sends nothing twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

import msgspec
import nats
import nats.errors
import structlog

from cloud.clickhouse import ClickHouseGateway
from cloud.errors import RetryableError
from cloud.trace.domain import LotRef, child_of
from cloud.trace.records import TraceRecord
from cloud.trace.service import LotNotFound, TraceRequestInvalid, TraceService
from protocol.recall import RECALLS_KIND, RecallHold, encode_recall_hold
from protocol.streams import ensure_recalls_stream, recall_msg_id
from protocol.subjects import command_subject

log = structlog.get_logger(__name__)

MAX_RECALL_LOTS = 500


class RecallRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Recall these lots, and/or every lot received from `supplier_id` between the dates."""

    reason: str
    lots: tuple[LotRef, ...] = ()
    supplier_id: str = ""
    received_from: date | None = None
    received_to: date | None = None
    recall_id: str = ""  # the caller's own id makes a retried request idempotent


class RecalledLot(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    lot: str
    recalled_because_of: str  # the recalled lot it comes from ("" for a lot named directly)
    stores: tuple[str, ...]


class Recall(msgspec.Struct, frozen=True, kw_only=True):
    recall_id: str
    opened_at: datetime
    reason: str
    status: str  # "open" | "closed"
    lots: tuple[RecalledLot, ...]
    holds_sent: int
    stores: tuple[str, ...]
    receipts: tuple[TraceRecord, ...]  # the sales it reached: customers to contact


async def _quiet(exc: Exception) -> None:
    log.info("trace.recall_nats_error", error=str(exc))


class RecallNotFound(LotNotFound):
    pass


class StoresUnreachable(RetryableError):
    title = "stores unreachable"


def recall_table(db: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {db}.trace_recalls (
        recall_id String, opened_at DateTime64(6, 'UTC'), status LowCardinality(String),
        document String, version DateTime64(6, 'UTC') DEFAULT now64(6)
    ) ENGINE = ReplacingMergeTree(version) ORDER BY recall_id"""


class RecallDesk:
    """Opens and closes recalls: traces, publishes holds, keeps the record."""

    def __init__(
        self, gateway: ClickHouseGateway, db: str, trace: TraceService, nats_url: str
    ) -> None:
        self._gateway, self._db, self._trace, self._nats_url = gateway, db, trace, nats_url

    async def open(self, request: RecallRequest, now: datetime) -> Recall:
        if not request.reason.strip():
            raise TraceRequestInvalid("a recall needs a reason")
        roots = list(request.lots)
        if request.supplier_id:
            roots += await self._supplier_lots(request)
        if not roots:
            raise TraceRequestInvalid("name lots, or a supplier whose receipts to recall")
        recalled: dict[LotRef, str] = {}
        stores: dict[LotRef, set[str]] = defaultdict(set)
        receipts: dict[tuple[str, int, str, str], TraceRecord] = {}
        for root in dict.fromkeys(roots):
            try:
                trace = await self._trace.trace_lot(root.gtin, root.lot, now)
            except LotNotFound:
                continue  # named but never seen by the cloud: no store to hold it in
            recalled.setdefault(root, "")
            for edge in trace.genealogy.descendants:
                recalled.setdefault(child_of(edge), f"{root.gtin}/{root.lot}")
            for record in trace.records:
                stores[LotRef(record.gtin, record.lot)].add(record.store_id)
            for sale in trace.sales:
                receipts[(sale.store_id, sale.seq, sale.gtin, sale.lot)] = sale
            if len(recalled) > MAX_RECALL_LOTS:
                raise TraceRequestInvalid(f"more than {MAX_RECALL_LOTS} lots: narrow the recall")
        if not recalled:
            raise LotNotFound("none of these lots has reached the cloud")
        recall_id = request.recall_id or f"RC-{uuid.uuid4().hex[:12]}"
        commands = [
            RecallHold(
                recall_id=recall_id,
                store_id=store,
                gtin=lot.gtin,
                lot=lot.lot,
                reason=request.reason,
                issued_at=now,
            )
            for lot in recalled
            for store in sorted(stores[lot])
        ]
        await self._publish(commands)
        recall = Recall(
            recall_id=recall_id,
            opened_at=now,
            reason=request.reason,
            status="open",
            lots=tuple(
                RecalledLot(
                    gtin=lot.gtin,
                    lot=lot.lot,
                    recalled_because_of=because,
                    stores=tuple(sorted(stores[lot])),
                )
                for lot, because in recalled.items()
            ),
            holds_sent=len(commands),
            stores=tuple(sorted({c.store_id for c in commands})),
            receipts=tuple(sorted(receipts.values(), key=lambda r: (r.occurred_at, r.seq))),
        )
        await self._keep(recall)
        log.info(
            "trace.recall_opened", recall_id=recall_id, lots=len(recalled), holds=len(commands)
        )
        return recall

    async def close(self, recall_id: str, now: datetime) -> Recall:
        recall = await self.get(recall_id)
        commands = [
            RecallHold(
                recall_id=recall_id,
                store_id=store,
                gtin=lot.gtin,
                lot=lot.lot,
                reason=f"recall closed: {recall.reason}",
                issued_at=now,
                action="release",
            )
            for lot in recall.lots
            for store in lot.stores
        ]
        await self._publish(commands)
        closed = msgspec.structs.replace(recall, status="closed")
        await self._keep(closed)
        return closed

    async def get(self, recall_id: str) -> Recall:
        rows = await self._gateway.rows(
            f"SELECT argMax(document, version) FROM {self._db}.trace_recalls"
            " WHERE recall_id = {r:String} GROUP BY recall_id",
            {"r": recall_id},
        )
        if not rows:
            raise RecallNotFound(f"no recall {recall_id!r}")
        return msgspec.json.decode(rows[0][0], type=Recall)

    async def recent(self) -> list[Recall]:
        rows = await self._gateway.rows(
            f"SELECT argMax(document, version) FROM {self._db}.trace_recalls"
            " GROUP BY recall_id ORDER BY min(opened_at) DESC LIMIT 200"
        )
        return [msgspec.json.decode(row[0], type=Recall) for row in rows]

    async def _supplier_lots(self, request: RecallRequest) -> list[LotRef]:
        since = datetime.combine(request.received_from or date(1970, 1, 2), time.min, UTC)
        until = datetime.combine(request.received_to or date(2200, 1, 1), time.max, UTC)
        rows = await self._gateway.rows(
            "SELECT DISTINCT JSONExtractString(body_json, 'gtin'),"
            f" JSONExtractString(body_json, 'lot') FROM {self._db}.events"
            " WHERE type = 'GoodsReceived'"
            " AND JSONExtractString(body_json, 'supplier_id') = {s:String}"
            " AND occurred_at >= {a:DateTime64(6)} AND occurred_at <= {b:DateTime64(6)}"
            " ORDER BY 1, 2 LIMIT {n:UInt32}",
            {"s": request.supplier_id, "a": since, "b": until, "n": MAX_RECALL_LOTS + 1},
        )
        return [LotRef(str(g), str(lot)) for g, lot in rows if lot]

    async def _publish(self, commands: Sequence[RecallHold]) -> None:
        """Every command into JetStream, each acked; any failure → retryable, nothing lost
        (a retry re-sends, and JetStream drops what it already has by Nats-Msg-Id)."""
        try:
            # nats-py reads max_reconnect_attempts=0 as "no limit": 1 and a deadline instead.
            nc = await asyncio.wait_for(
                nats.connect(
                    self._nats_url,
                    connect_timeout=2,
                    max_reconnect_attempts=1,
                    allow_reconnect=False,
                    error_cb=_quiet,
                ),
                timeout=5,
            )
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            raise StoresUnreachable(f"NATS at {self._nats_url} is unreachable: {exc}") from exc
        try:
            js = nc.jetstream(timeout=5)
            await ensure_recalls_stream(js)
            for command in commands:
                await js.publish(
                    command_subject(command.store_id, RECALLS_KIND),
                    encode_recall_hold(command),
                    headers={"Nats-Msg-Id": recall_msg_id(command)},
                )
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            raise StoresUnreachable(f"sending holds failed, retry the recall: {exc}") from exc
        finally:
            await nc.close()

    async def _keep(self, recall: Recall) -> None:
        await self._gateway.command(
            f"INSERT INTO {self._db}.trace_recalls (recall_id, opened_at, status, document)"
            " VALUES ({r:String}, {t:DateTime64(6)}, {s:String}, {d:String})",
            {
                "r": recall.recall_id,
                "t": recall.opened_at,
                "s": recall.status,
                "d": msgspec.json.encode(recall).decode(),
            },
        )
