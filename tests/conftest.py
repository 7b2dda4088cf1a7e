"""Shared fixtures: real NATS JetStream, Mosquitto and ClickHouse (embedded chdb) on loopback.

Servers start on free ports with data under pytest's tmp dirs and are killed afterwards.
chdb allows one data dir per process, so one engine serves the whole session and each test
gets its own database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import settings

from ops import services as local

# Property tests explore new inputs on every developer run; CI (CI=true, as .ci/run and
# fresh-clone-check set it) replays a fixed sequence so a merge is never decided by chance.
# No deadline anywhere: timing on a shared 2-core machine is not what these tests check.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def jxc() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `jxc ARGS` to its end as a real process (`python -m ops`, this interpreter), with
    `env` over this process's environment; its exit code and output are the caller's to check."""

    def run(
        *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ops", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            check=False,
        )

    return run


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[local.LocalServer]:
    server = local.start_nats(
        tmp_path / "nats", port=local.free_port(), monitor_port=local.free_port()
    )
    yield server
    server.kill()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[local.LocalServer]:
    broker = local.start_mosquitto(tmp_path / "mosquitto", port=local.free_port())
    yield broker
    broker.kill()


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from cloud.clickhouse import ClickHouseGateway

    gateway = ClickHouseGateway(f"chdb:///{tmp_path_factory.mktemp('chdb')}")
    yield gateway
    gateway.close()


@pytest.fixture
async def ch_database(clickhouse: object) -> AsyncIterator[str]:
    from cloud.clickhouse import ClickHouseGateway

    assert isinstance(clickhouse, ClickHouseGateway)
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    await clickhouse.command(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def eventually():  # type: ignore[no-untyped-def]
    """Wait on a condition with a deadline instead of sleeping then asserting."""
    import asyncio
    import time

    async def wait(condition, *, timeout_s: float = 20.0, what: str = "condition"):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            last = await condition()
            if last:
                return last
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last: {last!r}")

    return wait


# -- shared by the transport tests (edge → NATS → ClickHouse) -----------------------------


@pytest.fixture
def seed_store(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`await seed_store(store_id)` → (database path, terminal token) of a store whose item
    master holds one item (GTIN 06901234567892)."""
    from edge.catalog.domain import Item
    from edge.catalog.service import record_item_master
    from edge.clock import random_event_id, utc_now
    from edge.eventlog.database import open_database
    from edge.terminals.store import issue_terminal_token

    async def seed(store_id: str) -> tuple[Path, str]:
        db = tmp_path / f"{store_id}.db"
        await (await open_database(db)).close()
        await record_item_master(
            db,
            store_id=store_id,
            items=(Item(gtin="06901234567892", name="鲈鱼", price_fen=3990),),
            clock=utc_now,
            new_event_id=random_event_id,
        )
        return db, issue_terminal_token(db, "pos-1")

    return seed


@pytest.fixture
def ingest_worker(clickhouse: object, ch_database: str, nats_server: local.LocalServer):  # type: ignore[no-untyped-def]
    """`async with ingest_worker(**options) as worker`: an ingest on the test's NATS and
    database, stopped abruptly on exit (cancelled: no goodbye, no flush, like a crash)."""
    import asyncio
    import contextlib

    from cloud.ingest.worker import IngestWorker

    @contextlib.asynccontextmanager
    async def running(**options: object) -> AsyncIterator[IngestWorker]:
        settings: dict[str, object] = {
            "fetch_batch": 16,
            # Short, so batches a cancelled worker had fetched come back quickly.
            "ack_wait_s": 2.0,
            "lease_ttl_s": 5.0,
            "marks_every_s": 0.2,
            **options,
        }
        worker = IngestWorker(
            gateway=clickhouse,  # type: ignore[arg-type]
            database=ch_database,
            nats_url=nats_server.url,
            **settings,  # type: ignore[arg-type]
        )
        task = asyncio.create_task(worker.run())
        try:
            await asyncio.wait_for(worker.ready.wait(), 20)
            yield worker
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 15)  # a worker that cannot stop fails here

    return running


@pytest.fixture
def landed(clickhouse: object, ch_database: str):  # type: ignore[no-untyped-def]
    """`await landed(store_id)` → (rows, distinct seqs, max seq) of the store in ClickHouse."""
    from cloud.transport.store import store_landings

    async def landing(store_id: str) -> tuple[int, int, int]:
        for found in await store_landings(clickhouse, ch_database):  # type: ignore[arg-type]
            if found.store_id == store_id:
                return found.rows, found.distinct_seqs, found.max_seq
        return 0, 0, 0

    return landing
