"""Where transport stands.

GET /v1/transport/stores: per store, where the edge's log, JetStream and ClickHouse stand
(counts rows in ClickHouse: exact, and a scan of `events`).
GET /v1/transport/ingest: this process's ingest marks and counters, from memory (cheap
enough to poll every fraction of a second while a backlog drains).
"""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from cloud.clickhouse import ClickHouseGateway
from cloud.ingest.worker import IngestCounters, IngestWorker
from cloud.transport.store import chain_breaks_by_store, dead_letter_count, store_landings
from protocol.transport import EdgeStatusReport


class StoreTransport(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    rows: int  # rows in ClickHouse, before merges: rows > distinct_seqs means a duplicate
    distinct_seqs: int
    max_seq: int
    duplicated: int
    missing_below_max: int
    cloud_hwm: int | None  # this process's ingest mark, when it ingests the store
    edge_seq: int | None  # from the edge's last status report
    edge_acked_seq: int | None  # what JetStream acknowledged to the edge
    edge_outbox_pending: int | None
    edge_over_budget: bool | None
    edge_reported_at: str | None
    lag: int | None  # events the edge has that ClickHouse has not
    chain_breaks: int


class IngestMarks(msgspec.Struct, frozen=True, kw_only=True):
    marks: dict[str, int]  # store → the last seq ingested contiguously from 1
    counters: IngestCounters | None  # None when this process does not ingest


class TransportReport(msgspec.Struct, frozen=True, kw_only=True):
    stores: tuple[StoreTransport, ...]
    dead_letters: int
    ingest: IngestCounters | None


def _store_row(
    store_id: str,
    landing: tuple[int, int, int] | None,
    hwm: int | None,
    edge: EdgeStatusReport | None,
    breaks: int,
) -> StoreTransport:
    rows, distinct, max_seq = landing or (0, 0, 0)
    return StoreTransport(
        store_id=store_id,
        rows=rows,
        distinct_seqs=distinct,
        max_seq=max_seq,
        duplicated=rows - distinct,
        missing_below_max=max_seq - distinct,
        cloud_hwm=hwm,
        edge_seq=edge.last_seq if edge else None,
        edge_acked_seq=edge.last_acked_seq if edge else None,
        edge_outbox_pending=edge.outbox_pending if edge else None,
        edge_over_budget=edge.over_budget if edge else None,
        edge_reported_at=edge.at.isoformat() if edge else None,
        lag=max(0, edge.last_seq - distinct) if edge else None,
        chain_breaks=breaks,
    )


class TransportController(Controller):
    path = "/v1/transport"
    tags = ["transport"]

    @get("/stores", summary="Per store: edge seq, JetStream ack, cloud mark, lag, gaps, chain")
    async def stores(
        self,
        gateway: NamedDependency[ClickHouseGateway],
        database: NamedDependency[str],
        ingest: NamedDependency[IngestWorker | None],
    ) -> TransportReport:
        landings = {
            landing.store_id: (landing.rows, landing.distinct_seqs, landing.max_seq)
            for landing in await store_landings(gateway, database)
        }
        breaks = await chain_breaks_by_store(gateway, database)
        progress = ingest.state.progress if ingest else {}
        edges = ingest.state.edges if ingest else {}
        store_ids = sorted(set(landings) | set(edges))
        return TransportReport(
            stores=tuple(
                _store_row(
                    store_id,
                    landings.get(store_id),
                    progress[store_id].hwm if store_id in progress else None,
                    edges.get(store_id),
                    breaks.get(store_id, 0),
                )
                for store_id in store_ids
            ),
            dead_letters=await dead_letter_count(gateway, database),
            ingest=ingest.state.counters if ingest else None,
        )

    @get("/ingest", summary="This process's ingest marks per store and counters (no query)")
    async def ingest_marks(self, ingest: NamedDependency[IngestWorker | None]) -> IngestMarks:
        if ingest is None:
            return IngestMarks(marks={}, counters=None)
        progress = ingest.state.progress
        return IngestMarks(
            marks={store_id: progress[store_id].hwm for store_id in sorted(progress)},
            counters=ingest.state.counters,
        )
