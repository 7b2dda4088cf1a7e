"""The prepare pool: same rows as in place, survives a dead worker, dies with its parent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloud.ingest.pool import PreparePool
from cloud.ingest.rows import Poison, PreparedBatch, prepare_messages
from ops import services as local
from protocol.batch import encode_batch
from protocol.envelope import GENESIS_HASH, encode_envelope, seal
from protocol.events import ItemScanned
from protocol.subjects import events_subject

T0 = datetime(2026, 11, 27, 8, tzinfo=UTC)
STORE = "s-pool"


def messages(events: int, per_batch: int) -> list[tuple[str, bytes]]:
    stored, head = [], GENESIS_HASH
    for seq in range(1, events + 1):
        envelope = seal(
            ItemScanned(terminal_id="pos-1", raw_code=f"{seq:013d}", verdict="allow"),
            event_id=uuid.UUID(int=seq),
            store_id=STORE,
            seq=seq,
            prev_hash=head,
            occurred_at=T0 + timedelta(seconds=seq),
            recorded_at=T0 + timedelta(seconds=seq),
            device_id="pos-1",
        )
        head = envelope.hash
        stored.append(encode_envelope(envelope))
    subject = events_subject(STORE)
    return [
        (subject, encode_batch(STORE, first + 1, stored[first : first + per_batch]))
        for first in range(0, events, per_batch)
    ]


def same(a: list[PreparedBatch | Poison], b: list[PreparedBatch | Poison]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if isinstance(x, Poison) or isinstance(y, Poison):
            if x != y:
                return False
        elif x.facts != y.facts or not x.rows.equals(y.rows):
            return False
    return True


async def test_the_pool_prepares_what_preparing_in_place_would_in_message_order() -> None:
    fetched = messages(600, 50)
    fetched.insert(3, ("jxc.v1.events.0.nobody", b"\xc1 not msgpack"))
    fetched.insert(7, ("not.an.events.subject", fetched[0][1]))
    pool = PreparePool(2, min_bytes=0)
    try:
        await pool.warm()
        pooled = await pool.prepare(fetched)
    finally:
        pool.close()
    assert same(pooled, prepare_messages(fetched))
    assert [type(p).__name__ for p in pooled].count("Poison") == 2


async def test_a_small_fetch_is_prepared_in_place() -> None:
    pool = PreparePool(2)  # default threshold: far above these few kilobytes
    try:
        prepared = await pool.prepare(messages(20, 10))
        assert pool._executor is None  # no worker was ever started
    finally:
        pool.close()
    assert [p.facts.first_seq for p in prepared if isinstance(p, PreparedBatch)] == [1, 11]


async def test_a_killed_worker_costs_one_fetch_in_place_then_the_pool_comes_back() -> None:
    fetched = messages(200, 50)
    pool = PreparePool(2, min_bytes=0)
    try:
        await pool.warm()
        assert pool._executor is not None
        for process in list(pool._executor._processes.values()):
            os.kill(process.pid, signal.SIGKILL)
        await asyncio.sleep(0.5)
        assert same(await pool.prepare(fetched), prepare_messages(fetched))
        assert same(await pool.prepare(fetched), prepare_messages(fetched))
        assert pool._executor is not None
    finally:
        pool.close()


_PARENT = """
import asyncio, sys, time
from cloud.ingest.pool import PreparePool
async def main():
    pool = PreparePool(2)
    await pool.warm()
    print(" ".join(str(p) for p in pool._executor._processes), flush=True)
    time.sleep(120)
asyncio.run(main())
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_leave_when_the_ingest_process_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2
        assert all(local.pid_alive(pid) for pid in workers)
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while any(local.pid_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(local.pid_alive(pid) for pid in workers)
    finally:
        parent.kill()
