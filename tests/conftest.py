"""Shared fixtures: real NATS JetStream, Mosquitto and ClickHouse (embedded chdb) on loopback.

Servers start on free ports with data under pytest's tmp dirs and are killed afterwards.
chdb allows one data dir per process, so one engine serves the whole session and each test
gets its own database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
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
