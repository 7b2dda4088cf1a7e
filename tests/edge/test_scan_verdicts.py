"""Every scan verdict reason, through POST /v1/scans on real SQLite (relay off)."""

from __future__ import annotations

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
from protocol.gs1 import with_check_digit

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
BASS = Item(gtin="06901234567892", name="鲈鱼 sea bass", price_fen=3990, unit="kg")
BEER = Item(gtin="0" + with_check_digit("690123400001"), name="啤酒 beer", price_fen=800)
BOTH_DOCS = ["inspection_report", "quarantine_certificate"]


def gs1(*, lot: str | None = None, expiry: str | None = None, best_before: str | None = None,
        gtin: str = BASS.gtin) -> str:  # fmt: skip
    text = "]d201" + gtin
    if expiry:
        text += "17" + expiry
    if best_before:
        text += "15" + best_before
    if lot:
        text += "10" + lot
    return text


def label(prefix: str, plu: str, value: str) -> str:
    return with_check_digit(prefix + plu + value)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    db = tmp_path / "store.db"
    conn = await open_database(db)
    await conn.close()
    await record_item_master(
        db, store_id="s1", items=(BASS, BEER), clock=utc_now, new_event_id=random_event_id
    )
    token = issue_terminal_token(db, "pos-1")
    settings = EdgeSettings(
        store_id="s1", db_path=db, relay_enabled=False, coldchain_intake_enabled=False
    )
    async with AsyncTestClient(app=create_app(settings, clock=lambda: NOW)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        ok = 200

        async def put(path: str, body: dict[str, Any]) -> None:
            response = await c.put(path, json=body)
            assert response.status_code == ok, response.text

        async def post(path: str, body: dict[str, Any]) -> None:
            response = await c.post(path, json=body)
            assert response.status_code == ok, response.text

        await put(
            f"/v1/items/{BASS.gtin}/profile",
            {"category": "seafood", "plu": "00123", "min_net_g": 100, "max_net_g": 5000},
        )
        await put(f"/v1/items/{BEER.gtin}/profile", {"category": "drinks", "min_age_years": 18})
        await put("/v1/categories/seafood", {"required_documents": BOTH_DOCS})
        for lot, expiry, docs in (
            ("LOK", "2026-12-10", BOTH_DOCS),
            ("LEXP", "2026-11-20", BOTH_DOCS),
            ("LNODOC", "2026-12-10", ["inspection_report"]),
            ("LRECALL", "2026-12-10", BOTH_DOCS),
            ("LHOLD", "2026-12-10", BOTH_DOCS),
            ("LCOLD", "2026-12-10", BOTH_DOCS),
        ):
            await post(
                "/v1/lots", {"gtin": BASS.gtin, "lot": lot, "expiry": expiry, "documents": docs}
            )
        for lot, kind, location in (
            ("LRECALL", "recall", None),
            ("LHOLD", "quality", None),
            ("LCOLD", "cold_chain", "cold-room-1"),
        ):
            await post(
                "/v1/holds",
                {
                    "gtin": BASS.gtin,
                    "lot": lot,
                    "kind": kind,
                    "reason": "test",
                    "location": location,
                },
            )
        yield c


async def scan(c: AsyncTestClient[Any], code: str, **extra: Any) -> dict[str, Any]:
    response = await c.post("/v1/scans", json={"code": code, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    for found in body["reasons"]:
        assert found["message_zh"]
        assert found["message_en"]
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reasons"]]


STABLE_500 = {"net_g": 500, "stable": True, "gross_g": 520, "tare_g": 20}


async def test_a_good_lot_with_a_matching_label_and_stable_weight_is_allowed(client) -> None:  # type: ignore[no-untyped-def]
    body = await scan(client, gs1(lot="LOK", expiry="261210"), scale=STABLE_500)
    assert (body["verdict"], codes(body)) == ("allow", [])
    body = await scan(client, label("22", "00123", "00500"), scale=STABLE_500)
    assert (body["verdict"], codes(body), body["gtin"]) == ("allow", [], BASS.gtin)


@pytest.mark.parametrize(
    ("code", "extra", "verdict", "reason"),
    [
        ("6901234567885", {}, "block", "unknown_item"),
        ("6901234567893", {}, "block", "bad_check_digit"),
        (label("22", "99999", "00500"), {}, "block", "unknown_item"),  # unknown PLU
        (gs1(lot="LOK", expiry="261120"), {}, "block", "expired"),  # the code's AI 17
        (gs1(lot="LEXP"), {}, "block", "expired"),  # the lot's expiry
        (gs1(lot="LOK", best_before="261125"), {}, "warn", "past_sell_by"),
        (gs1(lot="LRECALL"), {}, "block", "recalled_lot"),
        (gs1(lot="LHOLD"), {}, "block", "held_lot"),
        (gs1(lot="LCOLD"), {"location": "cold-room-1"}, "block", "cold_chain_hold"),
        (gs1(lot="LNEW"), {}, "block", "unknown_lot"),
        (gs1(lot="LNODOC"), {}, "block", "missing_document"),
        (BASS.gtin[1:], {"scale": {"net_g": 500, "stable": False}}, "block", "weight_unstable"),
        (BASS.gtin[1:], {"scale": {"net_g": 0, "stable": True, "overload": True}}, "block",
         "weight_out_of_range"),
        (BASS.gtin[1:], {"scale": {"net_g": 9000, "stable": True}}, "block",
         "weight_out_of_range"),  # above the item's max
        (BASS.gtin[1:], {"scale": {"net_g": 500, "stable": True, "gross_g": 600, "tare_g": 20}},
         "block", "weight_out_of_range"),  # gross - tare != net
        (label("22", "00123", "00500"), {"scale": {"net_g": 620, "stable": True}}, "block",
         "weight_mismatch"),
        (label("21", "00123", "01299"), {"scale": STABLE_500}, "block", "price_mismatch"),
        (BEER.gtin[1:], {}, "warn", "age_restricted"),
    ],
)  # fmt: skip
async def test_each_reason_through_the_api(  # type: ignore[no-untyped-def]
    client, code: str, extra: dict[str, Any], verdict: str, reason: str
) -> None:
    body = await scan(client, code, **extra)
    assert reason in codes(body), body
    assert body["verdict"] == verdict, body
    found = next(r for r in body["reasons"] if r["code"] == reason)
    assert found["severity"] in ("warn", "block")


async def test_a_matching_price_label_is_allowed(client) -> None:  # type: ignore[no-untyped-def]
    body = await scan(client, label("21", "00123", "01995"), scale=STABLE_500)  # 0.5 kg × 39.90
    assert (body["verdict"], codes(body)) == ("allow", [])


async def test_a_located_hold_does_not_stop_sales_elsewhere(client) -> None:  # type: ignore[no-untyped-def]
    body = await scan(client, gs1(lot="LCOLD"), location="sales_floor")
    assert body["verdict"] == "allow"


async def test_age_checked_buyer_is_allowed(client) -> None:  # type: ignore[no-untyped-def]
    body = await scan(client, BEER.gtin[1:], age_verified=True)
    assert (body["verdict"], codes(body)) == ("allow", [])


async def test_release_lifts_the_block_and_every_scan_is_logged(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    held = (await client.get("/v1/holds", params={"gtin": BASS.gtin, "lot": "LHOLD"})).json()
    assert [h["kind"] for h in held] == ["quality"]
    response = await client.post(
        f"/v1/holds/{held[0]['hold_id']}/release", json={"reason": "QA passed", "operator_id": "qa"}
    )
    assert response.status_code == 200, response.text
    body = await scan(client, gs1(lot="LHOLD"))
    assert body["verdict"] == "allow"
    with sqlite3.connect(tmp_path / "store.db") as conn:
        types = [r[0] for r in conn.execute("SELECT type FROM events ORDER BY seq")]
    assert types.count("LotHoldReleased") == 1
    assert types[-1] == "ItemScanned"


async def test_a_lot_registered_by_another_process_is_seen_after_refresh(
    client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # Written straight into SQLite as `jxc`'s admin commands would; the edge's refresh picks it up.
    with sqlite3.connect(tmp_path / "store.db") as conn:
        conn.execute(
            "INSERT INTO lots(gtin, lot, expiry, supplier_id, documents, updated_seq)"
            " VALUES (?, 'LEXT', '2026-11-01', '', '[]', 1000000)",
            (BASS.gtin,),
        )
    app = client.app
    runtime = app.dependencies["runtime"].dependency()
    await runtime.ledger_master.refresh()
    body = await scan(client, gs1(lot="LEXT"))
    assert "expired" in codes(body)
