"""The benches' account of where the time went (ops/bench/common.py): two real GET /v1/status
answers of an edge, taken around some POS calls, give the figures of those calls only."""

from __future__ import annotations

import os
from pathlib import Path

from litestar.testing import AsyncTestClient

from edge.app import create_app
from edge.settings import EdgeSettings
from edge.terminals.store import issue_terminal_token
from ops.bench.common import edge_figures, process_cpu_s


async def test_figures_cover_only_the_calls_between_two_readings(store_db: Path) -> None:
    token = issue_terminal_token(store_db, "pos-1")
    settings = EdgeSettings(
        store_id="s1", db_path=store_db, relay_enabled=False, coldchain_intake_enabled=False
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for n in range(4):  # before the measured "run": the first goes through Litestar
            await client.post("/v1/redemptions", json={"code": "NOPE1", "client_id": f"w{n}"})
        first = (await client.get("/v1/status")).json()
        for n in range(6):
            answer = await client.post(
                "/v1/redemptions", json={"code": "NOPE2", "client_id": f"m{n}"}
            )
            assert answer.status_code == 200
        last = (await client.get("/v1/status")).json()
    figures = edge_figures(first, last, route="/v1/redemptions", requests=6, cpu_s=0.003)
    assert 0 < figures["edge_p50_ms"] <= figures["edge_p99_ms"]
    # Never above the slowest answer (figures are rounded to 0.01 ms, the status to 0.001).
    assert figures["edge_p99_ms"] <= last["pos"]["/v1/redemptions"]["max_ms"] + 0.005
    assert 0 < figures["commit_p50_ms"] <= figures["commit_p99_ms"]
    commits = last["writer"]["commits"] - first["writer"]["commits"]
    assert figures["facts_per_commit"] == round(6 / commits, 2)
    assert figures["edge_cpu_us_per_request"] == 500.0
    assert (
        edge_figures(first, last, route="/v1/redemptions", requests=6, cpu_s=None)[
            "edge_cpu_us_per_request"
        ]
        is None
    )


def test_process_cpu_is_read_from_proc() -> None:
    used = process_cpu_s(os.getpid())
    assert used is not None
    assert used > 0
    assert process_cpu_s(2**22 + 12345) is None  # no such process
