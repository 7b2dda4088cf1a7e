"""A realistic, reproducible multi-store history for `jxc bench trace` (and tests).

Per store and day: supplier receipts with inspection (lots with expiry and documents), splits
and repacks into retail lots, shipments of some lots to another store (received there), sales
of one to four retail lots per receipt with e-receipt references, waste, moves between the
backroom and the sales floor, hourly cold-chain reading batches for each location, and a
signed chain checkpoint at the end of the day. Each store's chain is built independently (so
stores generate in parallel processes); a shipment's both ends are planned up front from the
seed, so the sender's dispatch and the receiver's receipt agree.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ops.bench.chains import StoreChain
from protocol.envelope import Envelope
from protocol.event_base import Event
from protocol.ledger_events import GoodsReceived, StockTransferred, WasteRecorded
from protocol.reading_events import DeviceReading, ReadingsRecorded, SensorValue
from protocol.scan_events import SaleLine, SaleRecorded
from protocol.trace_events import LotQuantity, LotTransformed, ShipmentReceived, StockDispatched

START = datetime(2026, 1, 1, 6, tzinfo=UTC)
LOCATIONS = ("backroom", "chiller", "sales_floor")
RECEIPTS_PER_DAY = 6
SALES_PER_DAY = 200  # at most; the day's packs sell out first
SHIP_EVERY_DAYS = 3
# Measured 141.7 (receipts, transformations, ~70 sales, 45 reading batches); rounded down so a
# plan for N events yields at least N.
EVENTS_PER_STORE_DAY = 140


@dataclass(frozen=True)
class HistoryPlan:
    stores: int
    days: int
    seed: int = 7
    suppliers: int = 40
    items: int = 500

    @classmethod
    def for_events(cls, events: int, *, seed: int = 7) -> HistoryPlan:
        """Enough store-days for at least about `events` events."""
        store_days = max(1, -(-events // EVENTS_PER_STORE_DAY))
        stores = max(2, min(200, round((store_days / 4) ** 0.5)))
        return cls(stores=stores, days=max(1, -(-store_days // stores)), seed=seed)

    def store_id(self, index: int) -> str:
        return f"bench-{index:03d}"

    def gtin(self, item: int, retail: bool) -> str:
        return f"{'2' if retail else '1'}{item:012d}"[:14].rjust(14, "0")

    def supplier_lot(self, store: int, day: int, n: int) -> str:
        return f"S{store:03d}D{day:03d}N{n}"

    def shipment(self, store: int, day: int) -> tuple[int, int, str, str] | None:
        """(to store, receipt number, gtin, lot) of the day's shipment from `store`, if any:
        part of one of the day's supplier lots goes to another store."""
        if self.stores < 2 or day % SHIP_EVERY_DAYS != store % SHIP_EVERY_DAYS:
            return None
        rng = random.Random(self.seed * 1_000_003 + store * 1009 + day)
        to = (store + 1 + rng.randrange(self.stores - 1)) % self.stores
        n = rng.randrange(RECEIPTS_PER_DAY)
        item = self._item(store, day, n)
        return to, n, self.gtin(item, retail=False), self.supplier_lot(store, day, n)

    def _item(self, store: int, day: int, n: int) -> int:
        return (store * 7919 + day * 104729 + n * 15485863) % self.items


def store_history(plan: HistoryPlan, store: int) -> Iterator[list[Envelope]]:
    """The store's chain, day by day (one list of envelopes per day)."""
    rng = random.Random(plan.seed * 7_919 + store)
    chain = StoreChain(plan.store_id(store))
    key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    chain.announce_key(key, at=START)
    incoming = {
        day: [(sender, s) for sender in range(plan.stores) if (s := plan.shipment(sender, day))]
        for day in range(plan.days + 1)
    }
    shelf: list[tuple[str, str, int, date]] = []  # retail (gtin, lot, units left, expiry)
    for day in range(plan.days):
        today = START + timedelta(days=day)
        add = _DayLog(chain, rng, today)

        _waste_expired(add, shelf, today.date(), f"{plan.store_id(store)}-{day}")
        expiry = (today + timedelta(days=5 + rng.randrange(10))).date()
        ship = plan.shipment(store, day)
        for n in range(RECEIPTS_PER_DAY):
            item = plan._item(store, day, n)
            gtin, lot = plan.gtin(item, retail=False), plan.supplier_lot(store, day, n)
            receipt = _receipt(rng, plan, store, day, n, gtin, lot, expiry)
            add(receipt)
            left = receipt.accepted_quantity
            if ship is not None and ship[1] == n:
                add(
                    StockDispatched(
                        shipment_id=f"SH-{plan.store_id(store)}-{day}",
                        to_store_id=plan.store_id(ship[0]),
                        gtin=gtin,
                        lot=lot,
                        from_location="backroom",
                        quantity=SHIPPED,
                        expiry=expiry,
                    )
                )
                left -= SHIPPED
            shelf.extend(
                _sort_and_repack(rng, add, plan.gtin(item, retail=True), gtin, lot, left, expiry)
            )
        for sender, (to, _n, gtin, lot) in incoming.get(day - 1, []):
            if to == store:
                shelf.append(
                    _receive_and_repack(add, plan, sender, store, day - 1, gtin, lot, expiry)
                )
        _sell(rng, add, shelf, plan, store, day)
        _readings(rng, chain, today)
        chain.checkpoint(at=today + timedelta(hours=15))
        yield chain.drain()


SHIPPED = 5_000


class _DayLog:
    """Adds a day's events to the chain at increasing random times of the business day."""

    def __init__(self, chain: StoreChain, rng: random.Random, today: datetime) -> None:
        self._chain, self._rng, self._end = chain, rng, today + timedelta(hours=14)
        self._clock = iter(
            sorted(today + timedelta(seconds=rng.randrange(14 * 3600)) for _ in range(400))
        )

    def __call__(self, event: Event, *, operator: str = "") -> None:
        at = next(self._clock, self._end)
        self._chain.add(event, at=at, operator_id=operator or f"op-{self._rng.randrange(12)}")


def _receipt(
    rng: random.Random,
    plan: HistoryPlan,
    store: int,
    day: int,
    n: int,
    gtin: str,
    lot: str,
    expiry: date,
) -> GoodsReceived:
    return GoodsReceived(
        receipt_id=f"GR-{plan.store_id(store)}-{day}-{n}",
        gtin=gtin,
        lot=lot,
        location="backroom",
        accepted_quantity=20_000,
        rejected_quantity=rng.choice((0, 0, 0, 500)),
        supplier_id=f"sup-{(store + n) % plan.suppliers:03d}",
        expiry=expiry,
        temperature_centi_c=200 + rng.randrange(400),
        documents=("inspection_report", "quarantine_certificate")[: 1 + rng.randrange(2)],
    )


def _sort_and_repack(
    rng: random.Random,
    add: Callable[..., None],
    retail: str,
    gtin: str,
    lot: str,
    quantity: int,
    expiry: date,
) -> list[tuple[str, str, int, date]]:
    """A supplier lot is sorted into two grades, each repacked into retail packs; sometimes a
    part waits in the chiller first (a move, then the sort takes from both places)."""
    chilled = 1_000 if rng.random() < 0.3 else 0
    if chilled:
        add(
            StockTransferred(
                transfer_id=f"MV-{lot}",
                gtin=gtin,
                lot=lot,
                from_location="backroom",
                to_location="chiller",
                quantity=chilled,
            )
        )
    inputs = [LotQuantity(gtin=gtin, lot=lot, quantity=quantity - chilled, location="backroom")]
    if chilled:
        inputs.append(LotQuantity(gtin=gtin, lot=lot, quantity=chilled, location="chiller"))
    half = quantity // 2
    graded = [
        LotQuantity(gtin=gtin, lot=f"{lot}-G{g}", quantity=q, location="backroom")
        for g, q in ((1, half), (2, quantity - half))
    ]
    add(
        LotTransformed(
            transformation_id=f"T-{lot}-sort",
            kind="sort",
            inputs=tuple(inputs),
            outputs=tuple(graded),
        )
    )
    packs = []
    for grade in graded:
        pack = LotQuantity(
            gtin=retail, lot=f"{grade.lot}-P", quantity=14, location="sales_floor", expiry=expiry
        )
        add(
            LotTransformed(
                transformation_id=f"T-{grade.lot}-pack",
                kind="repack",
                inputs=(grade,),
                outputs=(pack,),
            )
        )
        packs.append((retail, pack.lot, pack.quantity, expiry))
    return packs


def _receive_and_repack(
    add: Callable[..., None],
    plan: HistoryPlan,
    sender: int,
    store: int,
    day: int,
    gtin: str,
    lot: str,
    expiry: date,
) -> tuple[str, str, int, date]:
    """Another store's lot arrives in the chiller and is repacked here the same day."""
    add(
        ShipmentReceived(
            shipment_id=f"SH-{plan.store_id(sender)}-{day}",
            from_store_id=plan.store_id(sender),
            gtin=gtin,
            lot=lot,
            location="chiller",
            accepted_quantity=SHIPPED,
            temperature_centi_c=350,
            expiry=expiry,
        )
    )
    pack = LotQuantity(
        gtin="2" + gtin[1:],
        lot=f"{lot}-{plan.store_id(store)}-P",
        quantity=10,
        location="sales_floor",
        expiry=expiry,
    )
    add(
        LotTransformed(
            transformation_id=f"T-{pack.lot}",
            kind="repack",
            inputs=(LotQuantity(gtin=gtin, lot=lot, quantity=SHIPPED, location="chiller"),),
            outputs=(pack,),
        )
    )
    return pack.gtin, pack.lot, pack.quantity, expiry


def _waste_expired(
    add: Callable[..., None], shelf: list[tuple[str, str, int, date]], today: date, tag: str
) -> None:
    """Packs past their expiry leave the shelf as waste (spoilage), so every stay ends."""
    kept = []
    for gtin, lot, left, expiry in shelf:
        if expiry < today:
            add(
                WasteRecorded(
                    waste_id=f"W-{tag}-{lot}",
                    gtin=gtin,
                    lot=lot,
                    location="sales_floor",
                    quantity=left,
                    reason="spoilage",
                )
            )
        else:
            kept.append((gtin, lot, left, expiry))
    shelf[:] = kept


def _sell(
    rng: random.Random,
    add: Callable[..., None],
    shelf: list[tuple[str, str, int, date]],
    plan: HistoryPlan,
    store: int,
    day: int,
) -> None:
    for n in range(rng.randint(SALES_PER_DAY // 3, SALES_PER_DAY // 2)):
        if not shelf:
            return
        lines = []
        for _ in range(1 + rng.randrange(4)):
            if not shelf:
                break
            i = rng.randrange(len(shelf))
            gtin, lot, left, expiry = shelf[i]
            lines.append(SaleLine(gtin=gtin, amount_fen=1290, unit_price_fen=1290, lot=lot))
            if left <= 1:
                shelf[i] = shelf[-1]
                shelf.pop()
            else:
                shelf[i] = (gtin, lot, left - 1, expiry)
        sale = f"{plan.store_id(store)}-{day}-{n}"
        add(
            SaleRecorded(
                sale_id=f"SA-{sale}",
                terminal_id=f"pos-{n % 4}",
                receipt_id=f"RC-{sale}",
                lines=tuple(lines),
                total_fen=1290 * len(lines),
                e_receipt_ref=f"ER-{sale}",
            ),
            operator=f"cashier-{n % 4}",
        )


def _readings(rng: random.Random, chain: StoreChain, today: datetime) -> None:
    for hour in range(15):
        for location in LOCATIONS:
            base = {"backroom": 1200, "chiller": 300, "sales_floor": 500}[location]
            start = today + timedelta(hours=hour)
            readings = tuple(
                DeviceReading(
                    seq=hour * 12 + i + 1,
                    received_at=start + timedelta(minutes=5 * i),
                    values=(
                        SensorValue(
                            sensor="t", quantity="temperature", value=base + rng.randrange(-80, 81)
                        ),
                    ),
                )
                for i in range(12)
            )
            chain.add(
                ReadingsRecorded(
                    device_id=f"probe-{location}",
                    kind="probe",
                    epoch=1,
                    readings=readings,
                    location_id=location,
                ),
                at=start + timedelta(hours=1),
                device_id=f"probe-{location}",
            )
