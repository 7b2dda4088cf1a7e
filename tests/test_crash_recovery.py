"""Kill -9 the edge and NATS in the middle of a busy stream: nothing lost, nothing doubled.

The edge runs as its real process (`python -m ops edge serve`) so SIGKILL hits it exactly as a
power cut hits the store box; NATS is SIGKILLed and restarted on the same data dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cloud.clickhouse import ClickHouseGateway
from cloud.ingest.worker import IngestWorker
from cloud.transport.store import store_landings
from edge.catalog.domain import Item
from edge.catalog.service import record_item_master
from edge.clock import random_event_id, utc_now
from edge.eventlog.database import open_database
from edge.terminals.store import issue_terminal_token
from ops import services as local
from protocol.envelope import decode_envelope, verify_chain

STORE = "s-crash"
pytestmark = pytest.mark.integration


def spawn_edge(db: Path, port: int, nats_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "JXC_STORE_ID": STORE, "JXC_NATS_URL": nats_url}
    with log.open("ab") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "ops", "edge", "serve", "--db", str(db), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    local.wait_for_http_ok(f"http://127.0.0.1:{port}/healthz", timeout_s=30, process=child)
    return child


async def cashier(url: str, token: str, acknowledged: list[int], stop: asyncio.Event) -> None:
    """Scan until told to stop; remember every seq the edge confirmed."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while not stop.is_set():
            try:
                response = await client.post(
                    "/v1/scans", json={"code": "6901234567892"}, headers=headers
                )
            except httpx.TransportError:
                await asyncio.sleep(0.02)  # the edge is down: the POS retries
                continue
            if response.status_code == 200:
                acknowledged.append(response.json()["seq"])


async def test_kill_edge_and_nats_mid_stream(
    tmp_path: Path,
    nats_server: local.LocalServer,
    clickhouse: ClickHouseGateway,
    ch_database: str,
    eventually,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "store.db"
    await (await open_database(db)).close()
    await record_item_master(
        db,
        store_id=STORE,
        items=(Item(gtin="06901234567892", name="鲈鱼", price_fen=3990),),
        clock=utc_now,
        new_event_id=random_event_id,
    )
    token = issue_terminal_token(db, "pos-1")
    port = local.free_port()
    url = f"http://127.0.0.1:{port}"
    worker = IngestWorker(
        gateway=clickhouse, database=ch_database, nats_url=nats_server.url, ack_wait_s=2.0
    )
    ingest = asyncio.create_task(worker.run())
    acknowledged: list[int] = []
    stop = asyncio.Event()
    edge = spawn_edge(db, port, nats_server.url, tmp_path / "edge.log")
    cashiers = [asyncio.create_task(cashier(url, token, acknowledged, stop)) for _ in range(4)]
    try:
        await eventually(lambda: _async(len(acknowledged) > 150), what="scans before the crash")
        edge.send_signal(signal.SIGKILL)  # power cut at the store, mid-stream
        edge.wait()
        await asyncio.sleep(0.3)
        edge = spawn_edge(db, port, nats_server.url, tmp_path / "edge.log")
        await eventually(lambda: _async(len(acknowledged) > 300), what="scans after restart")

        nats_server.kill()  # the NATS server dies too; scans go on
        await eventually(lambda: _async(len(acknowledged) > 400), what="scans with NATS down")
        restarted = local.start_nats(
            nats_server.log_path.parent,
            port=nats_server.port,
            monitor_port=_monitor_port(nats_server),
        )
        nats_server.process = restarted.process
        nats_server.pid = restarted.pid
        await eventually(lambda: _async(len(acknowledged) > 500), what="scans after NATS")
    finally:
        stop.set()
        await asyncio.gather(*cashiers)
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT envelope FROM events ORDER BY seq").fetchall()
        chain = [decode_envelope(r[0]) for r in rows]
        assert verify_chain(chain) is None  # contiguous, untampered, across the kill
        last_seq = chain[-1].seq
        assert len(set(acknowledged)) == len(acknowledged)  # no seq handed out twice
        assert set(acknowledged) <= {e.seq for e in chain}  # every confirmed scan is durable

        async def all_landed() -> bool:
            found = {s.store_id: s for s in await store_landings(clickhouse, ch_database)}
            landing = found.get(STORE)
            return landing is not None and (
                landing.rows,
                landing.distinct_seqs,
                landing.max_seq,
            ) == (last_seq, last_seq, last_seq)

        try:
            await eventually(all_landed, timeout_s=60, what="every edge event in ClickHouse once")
        except AssertionError:
            found = await store_landings(clickhouse, ch_database)
            raise AssertionError(
                f"edge last seq {last_seq}; ClickHouse {found}; {worker.state}"
            ) from None
    finally:
        edge.terminate()
        edge.wait(timeout=15)
        ingest.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ingest


async def _async(value: bool) -> bool:
    return value


def _monitor_port(server: local.LocalServer) -> int:
    for line in (server.log_path.parent / "nats.conf").read_text().splitlines():
        if line.startswith("http:"):
            return int(line.rsplit(":", 1)[-1])
    raise AssertionError("no monitor port in nats.conf")
