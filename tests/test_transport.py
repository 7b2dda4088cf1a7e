"""Store-and-forward details: the cloud's mark flows back, the edge prunes below it, lost
JetStream messages are resent on request, workers split partitions, chain breaks surface."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import nats
import pytest
from litestar.testing import AsyncTestClient

from cloud.clickhouse import ClickHouseGateway
from cloud.ingest.stream import EVENTS_STREAM
from cloud.transport.store import chain_breaks_by_store
from edge.app import create_app
from edge.clock import utc_now
from edge.settings import EdgeSettings
from ops.services import LocalServer
from protocol.batch import encode_batch
from protocol.envelope import decode_envelope, encode_envelope
from protocol.events import ItemScanned
from protocol.subjects import command_subject, edge_status_subject, events_subject
from protocol.transport import CloudHighWaterMark, ResendRequest, encode_control

pytestmark = pytest.mark.integration
STORE = "s-transport"


@contextlib.asynccontextmanager
async def edge(
    db: Path, token: str, url: str, **settings: object
) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    config = EdgeSettings(store_id=STORE, db_path=db, nats_url=url, relay_batch_max=20)
    config = msgspec.structs.replace(config, **settings)
    async with AsyncTestClient(app=create_app(config)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


async def scan(client: AsyncTestClient, n: int) -> None:  # type: ignore[type-arg]
    for _ in range(n):
        assert (await client.post("/v1/scans", json={"code": "6901234567892"})).status_code == 200


def log_rows(db: Path) -> tuple[list[int], int, dict[str, int]]:
    with sqlite3.connect(db) as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
        outbox = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        marks = dict(conn.execute("SELECT name, value FROM transport_marks").fetchall())
    return seqs, outbox, marks


async def test_cloud_mark_returns_to_the_edge_which_prunes_below_it(
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
    async with (
        ingest_worker() as worker,
        edge(db, token, nats_server.url, log_retention_days=0.0) as client,
    ):
        await scan(client, 50)
        last = 51

        async def acknowledged_end_to_end() -> bool:
            seqs, outbox, marks = log_rows(db)
            return marks["cloud_hwm"] == last and outbox == 0 and seqs == [last]

        await eventually(acknowledged_end_to_end, what="cloud mark at the edge and pruning")
        status = (await client.get("/v1/status")).json()
        assert status["relay"]["cloud_hwm"] == last

        async def edge_reported() -> bool:
            report = worker.state.edges.get(STORE)
            return report is not None and report.last_seq == last

        await eventually(edge_reported, what="edge status at the cloud")
        # Pruning never breaks the chain head: new scans continue it.
        await scan(client, 5)
        await eventually(lambda: _true(landed(STORE), (last + 5,) * 3), what="after pruning")


async def _true(awaitable, expected) -> bool:  # type: ignore[no-untyped-def]
    return await awaitable == expected


async def test_a_message_jetstream_lost_is_resent_on_the_clouds_request(
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
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    async with ingest_worker():
        pass  # creates the stream; no worker runs while the message goes missing
    async with edge(db, token, nats_server.url) as client:
        await scan(client, 60)

        async def all_published() -> bool:
            return log_rows(db)[1] == 0

        await eventually(all_published, what="outbox drained to JetStream")
        # JetStream acked it, then lost it (as after an OS crash before its flush).
        info = await js.stream_info(EVENTS_STREAM)
        assert info.state.messages >= 3
        await js.delete_msg(EVENTS_STREAM, info.state.first_seq + 1)
        async with ingest_worker() as worker:

            async def complete() -> bool:
                return await landed(STORE) == (61, 61, 61)

            await eventually(complete, timeout_s=30, what="gap filled by a resend")
            assert worker.state.counters.gaps_held >= 1
            relay = (await client.get("/v1/status")).json()["relay"]
            assert relay["resent_batches"] >= 1
    await nc.close()


async def test_two_workers_split_the_partitions_without_doubling(
    tmp_path: Path,
    nats_server: LocalServer,
    clickhouse: ClickHouseGateway,
    ch_database: str,
    eventually,  # type: ignore[no-untyped-def]
    seed_store,  # type: ignore[no-untyped-def]
    ingest_worker,  # type: ignore[no-untyped-def]
    landed,  # type: ignore[no-untyped-def]
) -> None:
    stores = [f"shop-{n}" for n in range(6)]
    dbs = {store: await seed_store(store) for store in stores}
    async with (
        ingest_worker(worker_id="a") as first,
        ingest_worker(worker_id="b") as second,
        contextlib.AsyncExitStack() as stack,
    ):
        for store, (db, token) in dbs.items():
            config = EdgeSettings(store_id=store, db_path=db, nats_url=nats_server.url)
            client = await stack.enter_async_context(AsyncTestClient(app=create_app(config)))
            client.headers["Authorization"] = f"Bearer {token}"
            await scan(client, 20)

        async def everything_once() -> bool:
            found = [await landed(store) for store in stores]
            return found == [(21, 21, 21)] * len(stores)

        await eventually(everything_once, timeout_s=30, what="all stores landed once")
        inserted = first.state.counters.events_inserted + second.state.counters.events_inserted
        assert inserted == 21 * len(stores)


async def test_a_broken_chain_is_reported_not_hidden(
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
    async with edge(db, token, nats_server.url, relay_enabled=False) as client:
        await scan(client, 4)
    with sqlite3.connect(db) as conn:
        envelopes = [
            decode_envelope(r[0]) for r in conn.execute("SELECT envelope FROM events ORDER BY seq")
        ]
    forged_body = msgspec.msgpack.encode(
        ItemScanned(terminal_id="pos-1", raw_code="forged", verdict="allow")
    )
    envelopes[2] = msgspec.structs.replace(envelopes[2], body=msgspec.Raw(forged_body))
    async with ingest_worker():
        nc = await nats.connect(nats_server.url)
        await nc.jetstream().publish(
            events_subject(STORE), encode_batch(STORE, 1, [encode_envelope(e) for e in envelopes])
        )
        await nc.close()

        async def flagged() -> bool:
            return (await chain_breaks_by_store(clickhouse, ch_database)).get(STORE) == 1

        await eventually(flagged, what="chain break recorded")
    assert await landed(STORE) == (5, 5, 5)


async def test_garbage_control_messages_are_counted_and_ignored(
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
    async with (
        ingest_worker() as worker,
        edge(db, token, nats_server.url) as client,
    ):
        garbage = [
            (command_subject(STORE, "hwm"), b"\xff not msgpack"),
            (command_subject(STORE, "hwm"), msgspec.msgpack.encode({"hwm": "lots"})),
            (command_subject(STORE, "resend"), msgspec.msgpack.encode([1, 2])),
            (
                command_subject(STORE, "resend"),  # a backwards range
                encode_control(ResendRequest(store_id=STORE, from_seq=9, to_seq=3)),
            ),
            (
                command_subject(STORE, "hwm"),  # another store's mark on our subject
                encode_control(CloudHighWaterMark(store_id="other", hwm=10**9, at=utc_now())),
            ),
            (edge_status_subject(STORE), b"garbage"),
        ]
        nc = await nats.connect(nats_server.url)

        async def counted() -> bool:
            # Sent until counted: the relay subscribes a moment after the edge starts.
            for subject, payload in garbage:
                await nc.publish(subject, payload)
            await nc.flush()
            relay = (await client.get("/v1/status")).json()["relay"]
            return relay["bad_commands"] >= 5 and worker.state.counters.bad_status_reports >= 1

        await eventually(counted, what="bad control messages counted")
        await nc.close()
        relay = (await client.get("/v1/status")).json()["relay"]
        assert relay["cloud_hwm"] < 10**9  # the forged mark was not taken
        await scan(client, 10)  # and the transport still works

        async def landed_all() -> bool:
            return await landed(STORE) == (11, 11, 11)

        await eventually(landed_all, what="scans after the garbage")
