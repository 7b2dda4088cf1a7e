"""Ledger invariants, by hypothesis: on the pure rules and on real SQLite through the service.

stock(location) = receipts - sales - waste ± transfers ± count differences + restocked returns,
and a decrement that leaves a balance below zero is flagged (an event + the row's flag), never
refused and never silent.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.app import EdgeRuntime
from edge.catalog.domain import Item
from edge.catalog.service import record_item_master
from edge.clock import random_event_id, utc_now
from edge.eventlog.database import open_database
from edge.ledger.domain import Lot, Movement, allocate, fefo, settle, split_amount
from edge.ledger.service import (
    CountCommand,
    ReceiveCommand,
    ReturnCommand,
    SaleCommand,
    SaleLineRequest,
    TransferCommand,
    WasteCommand,
)
from edge.settings import EdgeSettings

GTIN = "06901234567885"
LOCATIONS = ("floor", "back")
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), st.sampled_from(LOCATIONS), st.integers(0, 20)),
        st.tuples(st.just("sale"), st.sampled_from(LOCATIONS), st.integers(1, 8)),
        st.tuples(st.just("waste"), st.sampled_from(LOCATIONS), st.integers(1, 8)),
        st.tuples(st.just("transfer"), st.sampled_from(LOCATIONS), st.integers(1, 8)),
        st.tuples(st.just("count"), st.sampled_from(LOCATIONS), st.integers(0, 30)),
        st.tuples(st.just("return"), st.sampled_from(LOCATIONS), st.integers(1, 3)),
    ),
    max_size=25,
)


def model(operations: list[tuple[str, str, int]]) -> tuple[dict[str, int], int]:
    """The ledger by hand: balances per location and how many decrements went below zero."""
    stock = dict.fromkeys(LOCATIONS, 0)
    negatives = 0

    def take(location: str, qty: int) -> None:
        nonlocal negatives
        stock[location] -= qty
        negatives += stock[location] < 0

    for kind, location, qty in operations:
        other = LOCATIONS[1 - LOCATIONS.index(location)]
        if kind in ("receive", "return"):
            stock[location] += qty
        elif kind in ("sale", "waste"):
            take(location, qty)
        elif kind == "transfer":
            take(location, qty)
            stock[other] += qty
        else:
            stock[location] = qty
    return stock, negatives


@given(ops)
def test_settle_matches_the_hand_ledger(operations: list[tuple[str, str, int]]) -> None:
    balances: dict[tuple[str, str, str], int] = {}
    flags = 0
    for kind, location, qty in operations:
        other = LOCATIONS[1 - LOCATIONS.index(location)]
        key = (GTIN, "L", location)
        moves = {
            "receive": [(location, qty)],
            "return": [(location, qty)],
            "sale": [(location, -qty)],
            "waste": [(location, -qty)],
            "transfer": [(location, -qty), (other, qty)],
            "count": [(location, qty - balances.get(key, 0))],
        }[kind]
        after, negative = settle(
            balances,
            [Movement(gtin=GTIN, lot="L", location=loc, delta=d) for loc, d in moves],
            cause=kind,
            cause_id="x",
        )
        if kind == "count":
            negative = ()  # a count sets the balance; it is never a flagged decrement
        balances.update(after)
        flags += len(negative)
    expected, negatives = model(operations)
    assert {k[2]: v for k, v in balances.items() if v or k[2] in expected} == {
        loc: expected[loc] for loc in expected if expected[loc] or (GTIN, "L", loc) in balances
    }
    assert flags == negatives


@given(
    st.dictionaries(st.sampled_from(["A", "B", "C", "D"]), st.integers(-5, 10)),
    st.integers(1, 40),
)
def test_fefo_allocation_covers_the_quantity_and_prefers_early_expiry(
    stock: dict[str, int], quantity: int
) -> None:
    lots = {
        "A": Lot(gtin=GTIN, lot="A", expiry=date(2026, 12, 1)),
        "B": Lot(gtin=GTIN, lot="B", expiry=date(2026, 11, 28)),
        "C": Lot(gtin=GTIN, lot="C", expiry=date(2026, 11, 1)),  # expired: never picked
        "D": Lot(gtin=GTIN, lot="D"),  # no expiry: last
    }
    suggestion = fefo(GTIN, "floor", stock, lots, quantity, today=date(2026, 11, 26))
    assert "C" not in [p.lot for p in suggestion.picks]
    assert all(stock[p.lot] >= p.quantity > 0 for p in suggestion.picks)
    order = {"B": 0, "A": 1, "D": 2}
    assert [order[p.lot] for p in suggestion.picks] == sorted(
        order[p.lot] for p in suggestion.picks
    )
    picks = allocate(suggestion, quantity)
    assert sum(p.quantity for p in picks) == quantity
    parts = split_amount(999, [p.quantity for p in picks])
    assert sum(parts) == 999
    assert all(part >= 0 for part in parts)


async def _run_through_the_service(db: Path, operations: list[tuple[str, str, int]]) -> None:
    conn = await open_database(db)
    await conn.close()
    tin = Item(gtin=GTIN, name="tin", price_fen=100)
    await record_item_master(
        db, store_id="s1", items=(tin,), clock=utc_now, new_event_id=random_event_id
    )
    rt = EdgeRuntime(
        EdgeSettings(
            store_id="s1", db_path=db, relay_enabled=False, coldchain_intake_enabled=False
        ),
        clock=lambda: NOW,
    )
    await rt.start()
    ledger = rt.ledger_service
    who = {"terminal_id": "pos", "operator_id": ""}
    try:
        for n, (kind, location, qty) in enumerate(operations):
            other = LOCATIONS[1 - LOCATIONS.index(location)]
            doc = f"D{n}"
            if kind == "receive":
                await ledger.receive(
                    ReceiveCommand(
                        receipt_id=doc, gtin=GTIN, lot="L", location=location, accepted_quantity=qty
                    ),
                    **who,
                )
            elif kind == "sale":
                line = SaleLineRequest(
                    gtin=GTIN, amount_fen=qty, unit_price_fen=1, quantity=qty, lot="L"
                )
                await ledger.sell(
                    SaleCommand(sale_id=doc, receipt_id=doc, lines=(line,), location=location),
                    occurred_at=None,
                    **who,
                )
            elif kind == "waste":
                await ledger.waste(
                    WasteCommand(
                        waste_id=doc,
                        gtin=GTIN,
                        lot="L",
                        location=location,
                        quantity=qty,
                        reason="spoilage",
                    ),
                    **who,
                )
            elif kind == "transfer":
                await ledger.transfer(
                    TransferCommand(
                        transfer_id=doc,
                        gtin=GTIN,
                        lot="L",
                        from_location=location,
                        to_location=other,
                        quantity=qty,
                    ),
                    **who,
                )
            elif kind == "count":
                await ledger.count(
                    CountCommand(count_id=doc, gtin=GTIN, lot="L", location=location, counted=qty),
                    **who,
                )
            else:
                await ledger.return_goods(
                    ReturnCommand(
                        return_id=doc,
                        sale_id="S",
                        gtin=GTIN,
                        lot="L",
                        location=location,
                        quantity=qty,
                        amount_fen=qty,
                        restocked=True,
                    ),
                    **who,
                )
            # A replay of the same document changes nothing.
            if kind == "waste":
                await ledger.waste(
                    WasteCommand(
                        waste_id=doc,
                        gtin=GTIN,
                        lot="L",
                        location=location,
                        quantity=qty,
                        reason="spoilage",
                    ),
                    **who,
                )
    finally:
        await rt.stop()  # fmt: skip


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_the_stored_ledger_matches_the_hand_ledger(operations: list[tuple[str, str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.db"
        asyncio.run(_run_through_the_service(db, operations))
        with sqlite3.connect(db) as conn:
            stored = {
                r[0]: (r[1], r[2])
                for r in conn.execute(
                    "SELECT location, quantity, negative FROM stock WHERE lot = 'L'"
                )
            }
            flagged = conn.execute(
                "SELECT count(*) FROM events WHERE type = 'StockWentNegative'"
            ).fetchone()[0]
    expected, negatives = model(operations)
    for location in LOCATIONS:
        quantity, negative = stored.get(location, (0, 0))
        assert quantity == expected[location]
        assert negative == int(quantity < 0)
    assert flagged == negatives  # fmt: skip
