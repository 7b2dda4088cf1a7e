"""GET /v1/transport/…: what landed, per store, and the ingest's own counters."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from cloud.clickhouse import ClickHouseGateway
from cloud.ingest.worker import IngestCounters, IngestWorker
from cloud.transport.store import dead_letter_count, store_landings


class StoreTransport(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    rows: int
    distinct_seqs: int
    max_seq: int
    duplicated: int
    missing_below_max: int
    hwm: int | None  # this process's ingest mark, when it runs the ingest


class TransportReport(msgspec.Struct, frozen=True, kw_only=True):
    stores: tuple[StoreTransport, ...]
    dead_letters: int
    ingest: IngestCounters | None


class TransportController(Controller):
    path = "/v1/transport"
    tags = ["transport"]

    @get("/stores", summary="Events landed per store, duplicates and gaps")
    async def stores(
        self,
        gateway: NamedDependency[ClickHouseGateway],
        database: NamedDependency[str],
        ingest: NamedDependency[IngestWorker | None],
    ) -> TransportReport:
        landings = await store_landings(gateway, database)
        progress = ingest.state.progress if ingest else {}
        return TransportReport(
            stores=tuple(
                StoreTransport(
                    store_id=landing.store_id,
                    rows=landing.rows,
                    distinct_seqs=landing.distinct_seqs,
                    max_seq=landing.max_seq,
                    duplicated=landing.duplicated,
                    missing_below_max=landing.missing_below_max,
                    hwm=progress[landing.store_id].hwm if landing.store_id in progress else None,
                )
                for landing in landings
            ),
            dead_letters=await dead_letter_count(gateway, database),
            ingest=ingest.state.counters if ingest else None,
        )
