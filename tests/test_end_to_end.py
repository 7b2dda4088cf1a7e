"""Scans at the edge → outbox relay → NATS JetStream → ingest → ClickHouse, exactly once,
with restarts and replays in the middle. Real NATS, real SQLite, real ClickHouse (chdb)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from litestar.testing import AsyncTestClient

from cloud.clickhouse import ClickHouseGateway
from cloud.errors import ClickHouseUnavailable
from cloud.ingest.worker import IngestWorker
from cloud.transport.store import dead_letter_count
from edge.app import create_app
from edge.catalog.domain import Item
from edge.settings import EdgeSettings
from ops.services import LocalServer
from protocol.batch import encode_batch
from protocol.subjects import events_subject

STORE = "s-e2e"
ITEM = Item(gtin="06901234567892", name="鲈鱼", price_fen=3990)

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def running_edge(db: Path, token: str, nats_url: str) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    settings = EdgeSettings(store_id=STORE, db_path=db, nats_url=nats_url, relay_batch_max=50)
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def edge_events(db: Path) -> list[tuple[int, bytes]]:
    with sqlite3.connect(db) as conn:
        return [
            (int(s), bytes(e))
            for s, e in conn.execute("SELECT seq, envelope FROM events ORDER BY seq")
        ]


async def scan(client: AsyncTestClient, n: int, code: str = "6901234567892") -> None:  # type: ignore[type-arg]
    for _ in range(n):
        response = await client.post("/v1/scans", json={"code": code})
        assert response.status_code == 200, response.text


async def test_exactly_once_through_restarts_and_replays(
    tmp_path: Path,
    nats_server: LocalServer,
    clickhouse: ClickHouseGateway,
    ch_database: str,
    eventually,  # type: ignore[no-untyped-def]
    seed_store,  # type: ignore[no-untyped-def]
    ingest_worker,  # type: ignore[no-untyped-def]
    landed,  # type: ignore[no-untyped-def]
) -> None:
    db, token = await seed_store(STORE)
    url = nats_server.url

    async def all_landed() -> bool:
        expected = len(edge_events(db))
        return await landed(STORE) == (expected, expected, expected)

    async with running_edge(db, token, url) as client:
        # 1. Normal flow, until the ingest dies mid-stream (cancelled: no flush, no goodbye).
        async with ingest_worker():
            await scan(client, 30)
            await eventually(all_landed, what="first scans in ClickHouse")
            await scan(client, 30)
        # 2. Scans go on without the cloud: the edge never waits for it.
        await scan(client, 40)
    # 3. The edge (and its relay) restarts with events still in its outbox, and the ingest
    # comes back while scans continue.
    async with running_edge(db, token, url) as client:
        await scan(client, 20, code="bad-code")
        async with ingest_worker():
            await scan(client, 20)
            await eventually(all_landed, what="backlog after restarts")

    # 4. Replays: every batch again under new message ids (as after the JetStream duplicate
    # window), re-chunked so batches straddle what was stored before.
    events = edge_events(db)
    nc = await nats.connect(url)
    js = nc.jetstream()
    for start in range(0, len(events), 7):
        chunk = events[start : start + 7]
        await js.publish(
            events_subject(STORE),
            encode_batch(STORE, chunk[0][0], [e for _, e in chunk]),
            headers={"Nats-Msg-Id": f"replay-{start}"},
        )
    await nc.close()
    # 5. A new ingest worker that never acked anything (a crash between insert and ack) sees
    # the whole stream again from the start, with its marks read back from ClickHouse.
    for durable in ("fresh-worker", "jxc-ingest"):
        async with ingest_worker(durable=durable) as worker:

            async def replays_consumed(worker: IngestWorker = worker) -> bool:
                return worker.state.counters.duplicates_skipped >= len(events)

            await eventually(replays_consumed, what=f"replayed batches consumed by {durable}")
    expected = len(events)
    assert expected == 60 + 40 + 40 + 1  # scans + the item master event
    assert await landed(STORE) == (expected, expected, expected)
    assert await dead_letter_count(clickhouse, ch_database) == 0


async def test_garbage_on_the_events_subject_is_dead_lettered_not_fatal(
    tmp_path: Path,
    nats_server: LocalServer,
    clickhouse: ClickHouseGateway,
    ch_database: str,
    eventually,  # type: ignore[no-untyped-def]
    seed_store,  # type: ignore[no-untyped-def]
    ingest_worker,  # type: ignore[no-untyped-def]
    landed,  # type: ignore[no-untyped-def]
) -> None:
    db, token = await seed_store(STORE)
    url = nats_server.url
    async with ingest_worker() as worker:
        nc = await nats.connect(url)
        js = nc.jetstream()
        real = edge_events(db)[0][1]
        poison = [
            (events_subject(STORE), b"not msgpack at all \xff"),
            (events_subject(STORE), b"\x93\x01\x02\x03"),  # msgpack, wrong shape
            (events_subject("other-store"), encode_batch(STORE, 1, [real])),  # wrong subject
        ]
        for subject, payload in poison:
            await js.publish(subject, payload)
        await nc.close()

        async def quarantined() -> int:
            return await dead_letter_count(clickhouse, ch_database) == len(poison)

        await eventually(quarantined, what="poison in dead_letters")
        assert worker.state.counters.dead_letters == len(poison)
        assert worker.state.counters.messages >= len(poison)

        # The worker is still alive and ingests real events afterwards.
        async with running_edge(db, token, url) as client:
            await scan(client, 5)

            async def arrived() -> bool:
                return (await landed(STORE))[1] == 6

            await eventually(arrived, what="good events after poison")
    rows = await clickhouse.rows(f"SELECT reason FROM {ch_database}.dead_letters ORDER BY reason")
    assert sorted(r[0] for r in rows) == sorted(
        ["undecodable_batch", "undecodable_batch", "subject_store_mismatch"]
    )


async def test_a_fetch_that_cannot_be_settled_comes_back_after_the_worker_restarts(
    nats_server: LocalServer,
    clickhouse: ClickHouseGateway,
    ch_database: str,
    eventually,  # type: ignore[no-untyped-def]
    ingest_worker,  # type: ignore[no-untyped-def]
) -> None:
    """The quarantine table is gone when poison arrives: applying the fetch fails (beside the
    next fetch, since fetches are prepared and applied overlapped), the worker restarts and
    recreates its schema, and the poison, never acked, is quarantined on redelivery."""
    async with ingest_worker(ack_wait_s=1.0) as worker:
        await clickhouse.command(f"DROP TABLE {ch_database}.dead_letters")
        nc = await nats.connect(nats_server.url)
        await nc.jetstream().publish(events_subject(STORE), b"not msgpack at all \xff")
        await nc.close()

        async def quarantined() -> bool:
            try:
                return await dead_letter_count(clickhouse, ch_database) == 1
            except ClickHouseUnavailable:  # the table is not back yet
                return False

        await eventually(quarantined, timeout_s=30, what="poison quarantined after the restart")
        assert worker.state.counters.dead_letters == 1
