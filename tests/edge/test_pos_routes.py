"""The POS hot routes' short path (edge/terminals/pos_routes.py) answers exactly as Litestar does.

A terminal's first call goes through Litestar (its token is not in the authenticator's cache
yet); once checked, its scans and redemptions take the short path. So each test first makes
one good call, then checks what the short path does, on the real app and real SQLite.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.app import create_app
from edge.catalog.domain import Item
from edge.settings import EdgeSettings
from edge.terminals.store import issue_terminal_token

# The item of the `store_db` fixture (tests/edge/conftest.py).
SEA_BASS = Item(gtin="06901234567892", name="鲈鱼 sea bass", price_fen=3990, unit="kg")


@pytest.fixture
async def edge(store_db: Path) -> AsyncIterator[tuple[AsyncTestClient, Litestar, str]]:  # type: ignore[type-arg]
    token = issue_terminal_token(store_db, "pos-1")
    settings = EdgeSettings(
        store_id="s1", db_path=store_db, relay_enabled=False, coldchain_intake_enabled=False
    )
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, app, token


def counts(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM redeem_attempts)"
        ).fetchone()
    return int(row[0]), int(row[1])


async def test_both_paths_give_the_same_answers(edge, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = edge
    scans = [await client.post("/v1/scans", json={"code": "6901234567892"}) for _ in range(2)]
    redemptions = [
        await client.post("/v1/redemptions", json={"code": "NOPE1", "client_id": f"c{n}"})
        for n in range(2)
    ]
    for litestar, short in (scans, redemptions):
        assert litestar.status_code == short.status_code == 200
        assert litestar.headers["content-type"] == short.headers["content-type"]
        first, second = litestar.json(), short.json()
        assert first.keys() == second.keys()
        assert second["seq"] == first["seq"] + 1
    assert scans[1].json()["verdict"] == "allow"
    assert scans[1].json()["item"]["name"] == SEA_BASS.name
    assert redemptions[1].json()["outcome"] == "rejected"
    assert redemptions[1].json()["reason"] == redemptions[0].json()["reason"]


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b'{"code": 6901234567892}',
        b'{"code": ""}',
        b'{"code": "6901234567892", "occurred_at": "2026-11-26T08:00:00"}',
    ],
)
async def test_bad_bodies_get_litestars_400_and_write_nothing(  # type: ignore[no-untyped-def]
    edge, store_db: Path, payload: bytes
) -> None:
    client, _, _ = edge
    assert (await client.post("/v1/scans", json={"code": "6901234567892"})).status_code == 200
    before = counts(store_db)
    for path in ("/v1/scans", "/v1/redemptions"):
        response = await client.post(
            path, content=payload, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["detail"]
    assert counts(store_db) == before


async def test_refusals_stay_litestars(edge, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = edge
    assert (await client.post("/v1/scans", json={"code": "6901234567892"})).status_code == 200
    before = counts(store_db)
    for headers in ({"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await client.post("/v1/scans", json={"code": "x"}, headers=headers)
        assert response.status_code == 401
    oversized = {"code": "NOPE2", "client_id": "big", "operator_id": "x" * 70_000}
    response = await client.post("/v1/redemptions", json=oversized)
    assert response.status_code == 413
    assert counts(store_db) == before


async def test_a_body_in_several_chunks_is_read_whole(edge, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    client, app, token = edge
    assert (await client.post("/v1/scans", json={"code": "6901234567892"})).status_code == 200
    chunks = [b'{"code": "69012', b'34567892", "operator_id"', b': "op-7"}']
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/scans",
        "raw_path": b"/v1/scans",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }
    # On the app's own event loop (the test client runs it in a portal thread).
    await asyncio.to_thread(client.blocking_portal.call, app, scope, receive, send)
    assert sent[0]["status"] == 200
    assert b'"verdict":"allow"' in sent[1]["body"]
    assert counts(store_db)[0] == 3  # item master, the first scan, this one


async def test_the_edge_reports_its_own_timings(edge, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    """/v1/status: the short path's answers are timed per route (Litestar's are not: the first
    call and the 400 below), and the writer counts every fact and commit it made."""
    client, _, _ = edge
    for _ in range(5):
        assert (await client.post("/v1/scans", json={"code": "6901234567892"})).status_code == 200
    for n in range(3):
        answer = await client.post("/v1/redemptions", json={"code": "NOPE9", "client_id": f"t{n}"})
        assert answer.status_code == 200
    assert (await client.post("/v1/scans", content=b"not json")).status_code == 400
    status = (await client.get("/v1/status")).json()
    scans, redemptions = status["pos"]["/v1/scans"], status["pos"]["/v1/redemptions"]
    assert (scans["count"], redemptions["count"]) == (4, 3)
    assert 0 < scans["p50_ms"] <= scans["p99_ms"] <= scans["max_ms"]
    writer = status["writer"]
    events, _ = counts(store_db)
    assert writer["events"] == events - 1  # all but the item master, loaded before the edge ran
    assert (writer["facts"], writer["rejected"]) == (8, 0)
    assert writer["commit"]["count"] == writer["commits"] >= 1
    assert writer["fact_wait"]["count"] == 8
    histogram = status["histograms"]["pos /v1/redemptions"]
    assert sum(count for _, count in histogram["buckets"]) == histogram["count"] == 3
