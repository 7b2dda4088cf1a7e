"""An ingest worker whose ClickHouse is unreachable keeps retrying instead of dying."""

from __future__ import annotations

import asyncio
import contextlib

from cloud.clickhouse import ClickHouseGateway
from cloud.ingest.worker import IngestWorker
from ops import services as local


async def test_unreachable_clickhouse_is_retried_not_fatal() -> None:
    gateway = ClickHouseGateway(f"http://127.0.0.1:{local.free_port()}")  # nothing listens
    worker = IngestWorker(gateway=gateway, database="jxc", nats_url="nats://127.0.0.1:1")
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(2.0)
    assert not task.done(), task.exception() if task.done() else None
    assert not worker.ready.is_set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    gateway.close()
