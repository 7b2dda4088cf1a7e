"""POS sales and documents over HTTP on real SQLite: idempotency, the last unit, bad input."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from edge.app import create_app
from edge.catalog.domain import Item
from edge.catalog.service import record_item_master
from edge.clock import random_event_id, utc_now
from edge.eventlog.database import open_database
from edge.settings import EdgeSettings
from edge.terminals.store import issue_terminal_token

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
BASS = Item(gtin="06901234567892", name="鲈鱼 sea bass", price_fen=3990, unit="kg")
CAN = Item(gtin="06901234567885", name="罐头 tin", price_fen=650)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
async def client(db: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    conn = await open_database(db)
    await conn.close()
    await record_item_master(
        db, store_id="s1", items=(BASS, CAN), clock=utc_now, new_event_id=random_event_id
    )
    token = issue_terminal_token(db, "pos-1")
    settings = EdgeSettings(
        store_id="s1", db_path=db, relay_enabled=False, coldchain_intake_enabled=False
    )
    async with AsyncTestClient(app=create_app(settings, clock=lambda: NOW)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, params))


def event_types(db: Path) -> list[str]:
    return [r[0] for r in rows(db, "SELECT type FROM events ORDER BY seq")]


async def receive(c: AsyncTestClient[Any], receipt_id: str, lot: str, qty: int, **more: Any) -> Any:
    body = {"receipt_id": receipt_id, "gtin": CAN.gtin, "lot": lot, "location": "sales_floor",
            "accepted_quantity": qty, **more}  # fmt: skip
    response = await c.post("/v1/receipts", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def sale(sale_id: str, lot: str | None = "L1", quantity: int = 1) -> dict[str, Any]:
    line: dict[str, Any] = {"gtin": CAN.gtin, "amount_fen": 650 * quantity,
                            "unit_price_fen": 650, "quantity": quantity}  # fmt: skip
    if lot is not None:
        line["lot"] = lot
    return {"sale_id": sale_id, "receipt_id": f"R-{sale_id}", "lines": [line],
            "e_receipt_ref": f"ER-{sale_id}", "channel": "takeout"}  # fmt: skip


async def test_a_sale_retried_three_times_is_recorded_once(client, db: Path) -> None:  # type: ignore[no-untyped-def]
    await receive(client, "GR-1", "L1", 10)
    answers = []
    for _ in range(3):
        response = await client.post("/v1/sales", json=sale("S-1", quantity=2))
        assert response.status_code == 200, response.text
        answers.append(response.json())
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["seq"] > 0
    assert answers[0]["e_receipt_ref"] == "ER-S-1"
    assert event_types(db).count("SaleRecorded") == 1
    assert rows(db, "SELECT quantity FROM stock WHERE lot = 'L1'") == [(8,)]


async def test_concurrent_retries_are_recorded_once(client, db: Path) -> None:  # type: ignore[no-untyped-def]
    await receive(client, "GR-1", "L1", 10)
    responses = await asyncio.gather(
        *(client.post("/v1/sales", json=sale("S-2")) for _ in range(5))
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["seq"] for r in responses}) == 1
    assert event_types(db).count("SaleRecorded") == 1
    assert rows(db, "SELECT quantity FROM stock WHERE lot = 'L1'") == [(9,)]


async def test_concurrent_sales_of_the_last_unit_do_not_both_silently_succeed(
    client, db: Path
) -> None:  # type: ignore[no-untyped-def]
    await receive(client, "GR-1", "L1", 1)
    first, second = await asyncio.gather(
        client.post("/v1/sales", json=sale("S-a")), client.post("/v1/sales", json=sale("S-b"))
    )
    assert (first.status_code, second.status_code) == (200, 200)  # the goods did leave
    flagged = [r.json()["negative_stock"] for r in (first, second)]
    assert sorted(len(f) for f in flagged) == [0, 1]  # exactly one is told stock went negative
    flag = next(f for f in flagged if f)[0]
    assert (flag["lot"], flag["balance"]) == ("L1", -1)
    assert rows(db, "SELECT quantity, negative FROM stock WHERE lot = 'L1'") == [(-1, 1)]
    assert event_types(db).count("StockWentNegative") == 1
    # A count brings it back and clears the flag.
    response = await client.post("/v1/counts", json={"count_id": "C-1", "gtin": CAN.gtin,
                                                      "lot": "L1", "location": "sales_floor",
                                                      "counted": 0})  # fmt: skip
    assert response.status_code == 200, response.text
    assert rows(db, "SELECT quantity, negative FROM stock WHERE lot = 'L1'") == [(0, 0)]


async def test_a_sale_without_a_lot_takes_first_expired_first_out(client, db: Path) -> None:  # type: ignore[no-untyped-def]
    await receive(client, "GR-late", "LLATE", 5, expiry="2026-12-20")
    await receive(client, "GR-soon", "LSOON", 2, expiry="2026-12-01")
    fefo = (await client.get(f"/v1/stock/{CAN.gtin}/fefo", params={"quantity": 3})).json()
    assert [(p["lot"], p["quantity"]) for p in fefo["picks"]] == [("LSOON", 2), ("LLATE", 1)]
    body = (await client.post("/v1/sales", json=sale("S-f", lot=None, quantity=3))).json()
    assert [(x["lot"], x["quantity"]) for x in body["lines"]] == [("LSOON", 2), ("LLATE", 1)]
    assert sum(x["amount_fen"] for x in body["lines"]) == 650 * 3
    lot = (await client.get(f"/v1/lots/{CAN.gtin}/LLATE")).json()
    assert lot["stock_by_location"] == {"sales_floor": 4}
    assert lot["lot"]["expiry"] == "2026-12-20"


async def test_documents_move_stock_as_the_ledger_says(client, db: Path) -> None:  # type: ignore[no-untyped-def]
    await receive(client, "GR-1", "L1", 20, rejected_quantity=3, reject_reason="dented",
                  temperature_centi_c=450, documents=["inspection_report"])  # fmt: skip
    calls = [
        ("/v1/transfers", {"transfer_id": "T-1", "gtin": CAN.gtin, "lot": "L1",
                           "from_location": "sales_floor", "to_location": "backroom",
                           "quantity": 5}),
        ("/v1/waste", {"waste_id": "W-1", "gtin": CAN.gtin, "lot": "L1",
                       "location": "sales_floor", "quantity": 2, "reason": "damage"}),
        ("/v1/returns", {"return_id": "RT-1", "sale_id": "S-x", "gtin": CAN.gtin, "lot": "L1",
                         "quantity": 1, "amount_fen": 650, "restocked": True}),
    ]  # fmt: skip
    for path, body in calls:
        response = await client.post(path, json=body)
        assert response.status_code == 200, (path, response.text)
    stock = dict(rows(db, "SELECT location, quantity FROM stock WHERE lot = 'L1'"))
    assert stock == {"sales_floor": 20 - 5 - 2 + 1, "backroom": 5}
    response = await client.put(f"/v1/items/{CAN.gtin}/price", json={"new_price_fen": 590})
    assert response.json()["old_price_fen"] == 650
    scan = (await client.post("/v1/scans", json={"code": CAN.gtin[1:]})).json()
    assert scan["item"]["price_fen"] == 590
    assert {"GoodsReceived", "StockTransferred", "WasteRecorded", "SaleReturned",
            "PriceChanged"} <= set(event_types(db))  # fmt: skip


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/v1/sales", b"{not json"),
        ("/v1/sales", b"[]"),
        ("/v1/sales", b'{"sale_id": "S-1", "receipt_id": "R", "lines": []}'),
        ("/v1/sales", b'{"sale_id": "S-1", "receipt_id": "R", "lines": [{"gtin": "6901234567885",'
                      b' "amount_fen": -5, "unit_price_fen": 650}]}'),
        ("/v1/sales", b'{"sale_id": "' + b"x" * 100 + b'", "receipt_id": "R", "lines": []}'),
        ("/v1/sales", b'{"sale_id": "S-1", "receipt_id": "R", "lines": ['
                      + b",".join([b'{"gtin": "6901234567885", "amount_fen": 1,'
                                   b' "unit_price_fen": 1}'] * 501) + b"]}"),
        ("/v1/waste", b'{"waste_id": "W", "gtin": "6901234567885", "location": "x",'
                      b' "quantity": 1, "reason": "aliens"}'),
        ("/v1/receipts", b'{"receipt_id": "G", "gtin": "6901234567885", "location": "x",'
                         b' "accepted_quantity": 1, "temperature_centi_c": 99999}'),
        ("/v1/holds", b'{"gtin": "6901234567885", "lot": "L", "kind": "whim", "reason": "r"}'),
        ("/v1/scans", b'{"code": "6901234567885", "scale": {"net_g": "heavy", "stable": true}}'),
    ],
)  # fmt: skip
async def test_malformed_bodies_are_400_and_write_nothing(  # type: ignore[no-untyped-def]
    client, db: Path, path: str, payload: bytes
) -> None:
    before = event_types(db)
    response = await client.post(
        path, content=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    assert event_types(db) == before


async def test_business_refusals_are_4xx_with_a_reason_and_write_nothing(client, db: Path) -> None:  # type: ignore[no-untyped-def]
    before = event_types(db)
    cases = [
        ("/v1/sales", {**sale("S-t"), "total_fen": 1}, 422),  # total ≠ lines
        ("/v1/sales", {**sale("S-u"), "lines": [{"gtin": "6901234567878", "amount_fen": 1,
                                                 "unit_price_fen": 1}]}, 404),  # unknown item
        ("/v1/sales", {**sale("S-v"), "lines": [{"gtin": BASS.gtin, "amount_fen": 1,
                                                 "unit_price_fen": 1}]}, 422),  # kg: no net_g
        ("/v1/sales", {**sale("S-w"), "lines": [{"gtin": "123", "amount_fen": 1,
                                                 "unit_price_fen": 1}]}, 422),  # bad GTIN
        ("/v1/holds/nope/release", {"reason": "r"}, 404),
    ]  # fmt: skip
    for path, body, status in cases:
        response = await client.post(path, json=body)
        assert response.status_code == status, (path, response.text)
        assert response.json()["detail"]
    assert event_types(db) == before


async def test_wrong_token_and_huge_payloads_are_refused_and_write_nothing(
    client, db: Path
) -> None:  # type: ignore[no-untyped-def]
    before = event_types(db)
    for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": ""}):
        response = await client.post("/v1/sales", json=sale("S-1"), headers=headers)
        assert response.status_code == 401
        assert response.json()["detail"]
    huge = b'{"code": "' + b"9" * (11 * 1024 * 1024) + b'"}'
    response = await client.post(
        "/v1/scans", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 413)
    assert event_types(db) == before
