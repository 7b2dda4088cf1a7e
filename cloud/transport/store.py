"""Per-store landing figures, read from ClickHouse (counting rows, not merged rows, so a
duplicate would show)."""

from __future__ import annotations

import msgspec

from cloud.clickhouse import ClickHouseGateway


class StoreLanding(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    rows: int  # rows in `events`, before any merge
    distinct_seqs: int
    max_seq: int

    @property
    def duplicated(self) -> int:
        return self.rows - self.distinct_seqs

    @property
    def missing_below_max(self) -> int:
        return self.max_seq - self.distinct_seqs


async def store_landings(gateway: ClickHouseGateway, db: str) -> list[StoreLanding]:
    rows = await gateway.rows(
        f"SELECT store_id, count(), uniqExact(seq), max(seq) FROM {db}.events"
        " GROUP BY store_id ORDER BY store_id"
    )
    return [
        StoreLanding(store_id=str(s), rows=int(n), distinct_seqs=int(d), max_seq=int(m))
        for s, n, d, m in rows
    ]


async def dead_letter_count(gateway: ClickHouseGateway, db: str) -> int:
    rows = await gateway.rows(f"SELECT count() FROM {db}.dead_letters")
    return int(rows[0][0])


async def chain_breaks_by_store(gateway: ClickHouseGateway, db: str) -> dict[str, int]:
    rows = await gateway.rows(
        f"SELECT store_id, count() FROM (SELECT DISTINCT store_id, seq FROM {db}.chain_breaks)"
        " GROUP BY store_id"
    )
    return {str(store): int(n) for store, n in rows}
