"""POST /v1/scans over real HTTP handling and real SQLite (relay off: no NATS needed here)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from edge.app import create_app
from edge.catalog.domain import Item
from edge.settings import EdgeSettings
from edge.terminals.store import issue_terminal_token, revoke_terminal
from protocol.envelope import decode_envelope, verify_chain

# The item of the `store_db` fixture (tests/edge/conftest.py).
SEA_BASS = Item(gtin="06901234567892", name="鲈鱼 sea bass", price_fen=3990, unit="kg")


@pytest.fixture
async def client(store_db: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    token = issue_terminal_token(store_db, "pos-1")
    settings = EdgeSettings(store_id="s1", db_path=store_db, relay_enabled=False)
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


def event_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


async def test_known_item_is_allowed_and_logged(client, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    before = event_count(store_db)
    response = await client.post("/v1/scans", json={"code": "6901234567892", "operator_id": "op-1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verdict"] == "allow"
    assert body["gtin"] == SEA_BASS.gtin
    assert body["item"]["price_fen"] == 3990
    assert body["seq"] == before + 1
    assert event_count(store_db) == before + 1
    with sqlite3.connect(store_db) as conn:
        envelope = decode_envelope(
            conn.execute("SELECT envelope FROM events WHERE seq = ?", (body["seq"],)).fetchone()[0]
        )
        outbox = conn.execute(
            "SELECT count(*) FROM outbox WHERE seq = ?", (body["seq"],)
        ).fetchone()
    event = envelope.event()
    assert event.terminal_id == "pos-1"  # type: ignore[union-attr]
    assert envelope.operator_id == "op-1"
    assert outbox == (1,)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("6901234567885", "unknown_item"),  # valid GTIN-13, not in the item master
        ("6901234567893", "bad_check_digit"),
        ("hello", "unreadable_code"),
    ],
)
async def test_problem_scans_are_blocked_with_reasons(client, code: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    response = await client.post("/v1/scans", json={"code": code})
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "block"
    assert [r["code"] for r in body["reasons"]] == [reason]
    assert body["reasons"][0]["message_zh"]
    assert body["reasons"][0]["message_en"]


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[]",
        b'{"code": 6901234567892}',
        b'{"code": ""}',
        b'{"code": "' + b"9" * 600 + b'"}',
        b'{"operator_id": "x"}',
        b'{"code": "6901234567892", "occurred_at": "yesterday"}',
        b'{"code": "6901234567892", "occurred_at": "2026-11-26T08:00:00"}',
    ],
)
async def test_bad_input_is_a_400_and_writes_nothing(
    client, store_db: Path, payload: bytes
) -> None:  # type: ignore[no-untyped-def]
    before = event_count(store_db)
    response = await client.post(
        "/v1/scans", content=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    assert event_count(store_db) == before


async def test_calls_without_a_valid_token_are_refused(client, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    before = event_count(store_db)
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
    ):
        response = await client.post("/v1/scans", json={"code": "6901234567892"}, headers=headers)
        assert response.status_code == 401
    assert event_count(store_db) == before


async def test_revoked_terminal_is_refused(store_db: Path) -> None:
    token = issue_terminal_token(store_db, "pos-9")
    revoke_terminal(store_db, "pos-9")
    settings = EdgeSettings(store_id="s1", db_path=store_db, relay_enabled=False)
    async with AsyncTestClient(app=create_app(settings)) as c:
        response = await c.post(
            "/v1/scans", json={"code": "x"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 401


async def test_openapi_and_health_need_no_token(store_db: Path) -> None:
    settings = EdgeSettings(store_id="s1", db_path=store_db, relay_enabled=False)
    async with AsyncTestClient(app=create_app(settings)) as c:
        assert (await c.get("/healthz")).status_code == 200
        schema = await c.get("/schema/openapi.json")
        assert schema.status_code == 200
        assert "/v1/scans" in schema.json()["paths"]


async def test_every_scan_extends_one_verifiable_chain(client, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    for code in ("6901234567892", "bad", "6901234567885") * 10:
        assert (await client.post("/v1/scans", json={"code": code})).status_code == 200
    with sqlite3.connect(store_db) as conn:
        chain = [
            decode_envelope(r[0]) for r in conn.execute("SELECT envelope FROM events ORDER BY seq")
        ]
    assert verify_chain(chain) is None
    status = (await client.get("/v1/status")).json()
    assert status["last_seq"] == len(chain)
    assert status["outbox_pending"] == len(chain)
