"""Ledger use cases: each POS or back-office document is one fact on the store's chain.

Documents that move stock run their stock arithmetic inside the writer's transaction (a
`Fact.check`), so concurrent documents see each other's balances; each client id is recorded
with the answer given, so a retry gets that same answer and never moves stock twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Literal, TypeVar

import aiosqlite
import msgspec
import structlog

from edge.catalog.domain import Item
from edge.catalog.store import ItemCatalog
from edge.errors import Rejected
from edge.eventlog.writer import FIRST_SEQ, EventLogWriter, Fact, Statement
from edge.holds.domain import Hold, applies_at
from edge.holds.store import ActiveHolds
from edge.ledger import store
from edge.ledger.domain import (
    NO_LOT,
    CategoryRule,
    FefoSuggestion,
    ItemProfile,
    Lot,
    Movement,
    NegativeFlag,
    allocate,
    fefo,
    settle,
    split_amount,
)
from edge.ledger.genealogy import (
    AggregationCommand,
    DispatchCommand,
    ShipmentReceiptCommand,
    TransformationCommand,
    aggregation_refusal,
    born_lots,
    contents_as_children,
    is_sscc,
    pack,
    received_lot,
    request_digest,
    transformation_movements,
    transformation_refusal,
    unpack,
    with_expiries,
)
from edge.ledger.store import LedgerMaster
from protocol.event_base import Event
from protocol.ledger_events import (
    CategoryRuleSet,
    DocumentKind,
    GoodsReceived,
    ItemProfileSet,
    LossReason,
    LotRegistered,
    PriceChanged,
    SaleReturned,
    StockCounted,
    StockTransferred,
    WasteRecorded,
)
from protocol.scan_events import SaleLine, SaleRecorded
from protocol.trace_events import (
    AggregationAction,
    LotQuantity,
    LotsAggregated,
    LotTransformed,
    ShipmentReceived,
    StockDispatched,
    TransformationKind,
)

log = structlog.get_logger(__name__)

DocumentType = Literal[
    "sale",
    "return",
    "receipt",
    "transfer",
    "waste",
    "count",
    "transformation",
    "aggregation",
    "dispatch",
    "shipment_receipt",
]
A = TypeVar("A", bound=msgspec.Struct)


class NotFound(Rejected):
    status_code = 404
    title = "not found"


class Conflict(Rejected):
    """The request contradicts what the store already recorded (a reused document id with a
    different body, a held lot, a container that does not hold what is unpacked)."""

    status_code = 409
    title = "conflict"


class _Replayed(Rejected):
    def __init__(self, seq: int, answer: bytes) -> None:
        super().__init__("already recorded")
        self.seq = seq
        self.answer = answer


# ---- commands (validated shapes come from the API; these are what the service needs) ----


class SaleLineRequest(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    amount_fen: int
    unit_price_fen: int
    quantity: int = 1  # pieces (`each` items)
    net_g: int | None = None  # grams (`kg` items)
    lot: str | None = None  # None: the edge takes it first-expired-first-out


class SaleCommand(msgspec.Struct, frozen=True, kw_only=True):
    sale_id: str
    receipt_id: str
    lines: tuple[SaleLineRequest, ...]
    e_receipt_ref: str = ""
    channel: str = ""
    location: str


class ReceiveCommand(msgspec.Struct, frozen=True, kw_only=True):
    receipt_id: str
    gtin: str
    lot: str
    location: str
    accepted_quantity: int
    rejected_quantity: int = 0
    reject_reason: str = ""
    supplier_id: str = ""
    expiry: date | None = None
    temperature_centi_c: int | None = None
    documents: tuple[DocumentKind, ...] = ()


class ReturnCommand(msgspec.Struct, frozen=True, kw_only=True):
    return_id: str
    sale_id: str
    gtin: str
    lot: str
    location: str
    quantity: int
    amount_fen: int
    restocked: bool = False
    reason: str = ""


class TransferCommand(msgspec.Struct, frozen=True, kw_only=True):
    transfer_id: str
    gtin: str
    lot: str
    from_location: str
    to_location: str
    quantity: int


class WasteCommand(msgspec.Struct, frozen=True, kw_only=True):
    waste_id: str
    gtin: str
    lot: str
    location: str
    quantity: int
    reason: LossReason
    note: str = ""


class CountCommand(msgspec.Struct, frozen=True, kw_only=True):
    count_id: str
    gtin: str
    lot: str
    location: str
    counted: int


# ---- answers ----


class SaleAnswer(msgspec.Struct, frozen=True, kw_only=True):
    sale_id: str
    receipt_id: str
    e_receipt_ref: str
    total_fen: int
    lines: tuple[SaleLine, ...]  # as recorded: a line without a lot is split over FEFO lots
    negative_stock: tuple[NegativeFlag, ...] = ()
    seq: int = 0
    event_id: str = ""


class DocumentAnswer(msgspec.Struct, frozen=True, kw_only=True):
    kind: DocumentType
    document_id: str
    balances: tuple[NegativeFlag, ...] = ()  # the touched balances after the document
    negative_stock: tuple[NegativeFlag, ...] = ()
    seq: int = 0
    event_id: str = ""


class PriceAnswer(msgspec.Struct, frozen=True, kw_only=True):
    gtin: str
    old_price_fen: int
    new_price_fen: int
    seq: int
    event_id: str


class TransformationAnswer(msgspec.Struct, frozen=True, kw_only=True):
    transformation_id: str
    kind: TransformationKind
    lots: tuple[Lot, ...]  # the output lots as registered (inherited supplier, documents, expiry)
    balances: tuple[NegativeFlag, ...] = ()
    negative_stock: tuple[NegativeFlag, ...] = ()
    seq: int = 0
    event_id: str = ""


class AggregationAnswer(msgspec.Struct, frozen=True, kw_only=True):
    aggregation_id: str
    container_id: str
    action: AggregationAction
    children: tuple[LotQuantity, ...]  # as recorded: an unpack without children lists them all
    contents: tuple[LotQuantity, ...]  # what the container holds afterwards
    seq: int = 0
    event_id: str = ""


class DispatchAnswer(msgspec.Struct, frozen=True, kw_only=True):
    shipment_id: str
    to_store_id: str
    lot: Lot | None  # for the dispatch note: the receiving store enters supplier and documents
    balances: tuple[NegativeFlag, ...] = ()
    negative_stock: tuple[NegativeFlag, ...] = ()
    seq: int = 0
    event_id: str = ""


class ContainerView(msgspec.Struct, frozen=True, kw_only=True):
    container_id: str
    contents: tuple[LotQuantity, ...]


class LotView(msgspec.Struct, frozen=True, kw_only=True):
    lot: Lot
    stock_by_location: dict[str, int]
    holds: tuple[Hold, ...]


Plan = Callable[
    [aiosqlite.Connection], Awaitable[tuple[tuple[Event, ...], list[Movement], list[Statement]]]
]


class LedgerService:
    def __init__(
        self,
        *,
        master: LedgerMaster,
        catalog: ItemCatalog,
        holds: ActiveHolds,
        writer: EventLogWriter,
        reader: aiosqlite.Connection,
        clock: Callable[[], datetime],
        device_id: str = "edge",
        store_id: str = "",
    ) -> None:
        self.master = master
        self._catalog = catalog
        self._holds = holds
        self._writer = writer
        self._reader = reader
        self._clock = clock
        self._device_id = device_id
        self._store_id = store_id

    # ---- master data ----

    async def set_profiles(
        self, profiles: tuple[ItemProfile, ...], *, operator_id: str, device_id: str = ""
    ) -> int:
        now = self._clock()
        await self._writer.record(
            Fact(
                events=tuple(ItemProfileSet(**msgspec.structs.asdict(p)) for p in profiles),
                occurred_at=now,
                device_id=device_id or self._device_id,
                operator_id=operator_id,
                statements=tuple(store.upsert_profile(p) for p in profiles),
            )
        )
        self.master.remember_profiles(profiles)
        return len(profiles)

    async def set_rule(self, rule: CategoryRule, *, operator_id: str, device_id: str = "") -> None:
        await self._writer.record(
            Fact(
                events=(
                    CategoryRuleSet(
                        category=rule.category, required_documents=rule.required_documents
                    ),
                ),
                occurred_at=self._clock(),
                device_id=device_id or self._device_id,
                operator_id=operator_id,
                statements=(store.upsert_rule(rule),),
            )
        )
        self.master.remember_rules((rule,))

    async def register_lots(
        self, lots: tuple[Lot, ...], *, operator_id: str, device_id: str = ""
    ) -> int:
        await self._writer.record(
            Fact(
                events=tuple(LotRegistered(**msgspec.structs.asdict(lot)) for lot in lots),
                occurred_at=self._clock(),
                device_id=device_id or self._device_id,
                operator_id=operator_id,
                statements=tuple(store.upsert_lot(lot) for lot in lots),
            )
        )
        self.master.remember_lots(lots)
        return len(lots)

    # ---- documents that move stock ----

    async def sell(
        self, sale: SaleCommand, *, terminal_id: str, operator_id: str, occurred_at: datetime | None
    ) -> SaleAnswer:
        if not sale.lines:
            raise Rejected("a sale needs at least one line")
        units = {line.gtin: await self._item(line.gtin) for line in sale.lines}
        today = self._clock().date()
        answers: list[SaleAnswer] = []

        async def plan(
            conn: aiosqlite.Connection,
        ) -> tuple[tuple[Event, ...], list[Movement], list[Statement]]:
            lines: list[SaleLine] = []
            movements: list[Movement] = []
            for line in sale.lines:
                quantity = _base_quantity(units[line.gtin], line.quantity, line.net_g)
                if line.lot is not None:
                    picks = [(line.lot, quantity)]
                else:
                    held = frozenset(h.lot for h in _holds_of(self._holds, line.gtin))
                    suggestion = fefo(
                        line.gtin,
                        sale.location,
                        await store.stock_by_lot(conn, line.gtin, sale.location),
                        self.master.lots_of(line.gtin),
                        quantity,
                        today=today,
                        held=held,
                    )
                    picks = [(p.lot, p.quantity) for p in allocate(suggestion, quantity)]
                amounts = split_amount(line.amount_fen, [q for _, q in picks])
                for (lot, qty), amount in zip(picks, amounts, strict=True):
                    weighed = units[line.gtin].unit == "kg"
                    lines.append(
                        SaleLine(
                            gtin=line.gtin,
                            amount_fen=amount,
                            unit_price_fen=line.unit_price_fen,
                            quantity=1 if weighed else qty,
                            net_g=qty if weighed else None,
                            lot=lot or None,
                        )
                    )
                    movements.append(
                        Movement(gtin=line.gtin, lot=lot, location=sale.location, delta=-qty)
                    )
            total = sum(line.amount_fen for line in sale.lines)
            event = SaleRecorded(
                sale_id=sale.sale_id,
                terminal_id=terminal_id,
                receipt_id=sale.receipt_id,
                lines=tuple(lines),
                total_fen=total,
                channel=sale.channel,
                e_receipt_ref=sale.e_receipt_ref,
                location=sale.location,
            )
            answers.append(
                SaleAnswer(
                    sale_id=sale.sale_id,
                    receipt_id=sale.receipt_id,
                    e_receipt_ref=sale.e_receipt_ref,
                    total_fen=total,
                    lines=tuple(lines),
                )
            )
            return (event,), movements, []

        def finish(flags: tuple[NegativeFlag, ...], _: tuple[NegativeFlag, ...]) -> SaleAnswer:
            return msgspec.structs.replace(answers[-1], negative_stock=flags)

        return await self._document(
            "sale",
            sale.sale_id,
            SaleAnswer,
            plan,
            finish,
            terminal_id=terminal_id,
            operator_id=operator_id,
            occurred_at=occurred_at,
        )

    async def receive(
        self, cmd: ReceiveCommand, *, terminal_id: str, operator_id: str
    ) -> DocumentAnswer:
        await self._item(cmd.gtin)
        known = self.master.lots.get((cmd.gtin, cmd.lot))
        lot = None
        if cmd.lot != NO_LOT:
            docs = tuple(dict.fromkeys((*(known.documents if known else ()), *cmd.documents)))
            lot = Lot(
                gtin=cmd.gtin,
                lot=cmd.lot,
                expiry=cmd.expiry or (known.expiry if known else None),
                supplier_id=cmd.supplier_id or (known.supplier_id if known else ""),
                documents=docs,
            )

        async def plan(
            conn: aiosqlite.Connection,
        ) -> tuple[tuple[Event, ...], list[Movement], list[Statement]]:
            event = GoodsReceived(**msgspec.structs.asdict(cmd))
            move = Movement(
                gtin=cmd.gtin, lot=cmd.lot, location=cmd.location, delta=cmd.accepted_quantity
            )
            return (event,), [move], [store.upsert_lot(lot)] if lot else []

        answer = await self._simple("receipt", cmd.receipt_id, plan, terminal_id, operator_id)
        if lot is not None:
            self.master.remember_lots((lot,))
        return answer

    async def return_goods(
        self, cmd: ReturnCommand, *, terminal_id: str, operator_id: str
    ) -> DocumentAnswer:
        await self._item(cmd.gtin)

        async def plan(
            conn: aiosqlite.Connection,
        ) -> tuple[tuple[Event, ...], list[Movement], list[Statement]]:
            moves = (
                [Movement(gtin=cmd.gtin, lot=cmd.lot, location=cmd.location, delta=cmd.quantity)]
                if cmd.restocked
                else []
            )
            return (SaleReturned(**msgspec.structs.asdict(cmd)),), moves, []

        return await self._simple("return", cmd.return_id, plan, terminal_id, operator_id)

    async def transfer(
        self, cmd: TransferCommand, *, terminal_id: str, operator_id: str
    ) -> DocumentAnswer:
        await self._item(cmd.gtin)
        if cmd.from_location == cmd.to_location:
            raise Rejected("a transfer needs two different locations")

        async def plan(
            conn: aiosqlite.Connection,
        ) -> tuple[tuple[Event, ...], list[Movement], list[Statement]]:
            moves = [
                Movement(
                    gtin=cmd.gtin, lot=cmd.lot, location=cmd.from_location, delta=-cmd.quantity
                ),
                Movement(gtin=cmd.gtin, lot=cmd.lot, location=cmd.to_location, delta=cmd.quantity),
            ]
            return (StockTransferred(**msgspec.structs.asdict(cmd)),), moves, []

        return await self._simple("transfer", cmd.transfer_id, plan, terminal_id, operator_id)

    async def waste(
        self, cmd: WasteCommand, *, terminal_id: str, operator_id: str
    ) -> DocumentAnswer:
        await self._item(cmd.gtin)

        async def plan(
            conn: aiosqlite.Connection,
        ) -> tuple[tuple[Event, ...], list[Movement], list[Statement]]:
            move = Movement(gtin=cmd.gtin, lot=cmd.lot, location=cmd.location, delta=-cmd.quantity)
            return (WasteRecorded(**msgspec.structs.asdict(cmd)),), [move], []

        return await self._simple("waste", cmd.waste_id, plan, terminal_id, operator_id)

    async def count(
        self, cmd: CountCommand, *, terminal_id: str, operator_id: str
    ) -> DocumentAnswer:
        await self._item(cmd.gtin)

        async def plan(
            conn: aiosqlite.Connection,
        ) -> tuple[tuple[Event, ...], list[Movement], list[Statement]]:
            key = (cmd.gtin, cmd.lot, cmd.location)
            before = (await store.balances(conn, [key]))[key]
            difference = cmd.counted - before
            event = StockCounted(
                count_id=cmd.count_id,
                gtin=cmd.gtin,
                lot=cmd.lot,
                location=cmd.location,
                counted=cmd.counted,
                difference=difference,
            )
            move = Movement(gtin=cmd.gtin, lot=cmd.lot, location=cmd.location, delta=difference)
            return (event,), [move], []

        return await self._simple("count", cmd.count_id, plan, terminal_id, operator_id)

    async def change_price(
        self, gtin: str, new_price_fen: int, reason: str, *, terminal_id: str, operator_id: str
    ) -> PriceAnswer:
        item = await self._item(gtin)
        if new_price_fen < 0:
            raise Rejected("a price is ≥ 0 fen")
        old: list[int] = []

        async def check(conn: aiosqlite.Connection) -> None:
            async with conn.execute("SELECT price_fen FROM items WHERE gtin = ?", (gtin,)) as cur:
                row = await cur.fetchone()
            if row is None:
                raise NotFound(f"item {gtin} is not in the item master")
            old.append(int(row[0]))

        now = self._clock()

        async def full(conn: aiosqlite.Connection) -> Fact | None:
            await check(conn)
            return Fact(
                events=(
                    PriceChanged(
                        gtin=gtin, old_price_fen=old[-1], new_price_fen=new_price_fen, reason=reason
                    ),
                ),
                occurred_at=now,
                device_id=terminal_id,
                operator_id=operator_id,
                statements=(
                    (
                        "UPDATE items SET price_fen = ?, updated_seq = ? WHERE gtin = ?",
                        (new_price_fen, FIRST_SEQ, gtin),
                    ),
                ),
            )

        (envelope,) = await self._writer.record(
            Fact(
                events=(),
                occurred_at=now,
                device_id=terminal_id,
                operator_id=operator_id,
                check=full,
            )
        )
        self._catalog.remember((msgspec.structs.replace(item, price_fen=new_price_fen),))
        return PriceAnswer(
            gtin=gtin,
            old_price_fen=old[-1],
            new_price_fen=new_price_fen,
            seq=envelope.seq,
            event_id=str(envelope.event_id),
        )

    # ---- lot genealogy: transformations, containers, store-to-store shipments ----

    async def transform(
        self, cmd: TransformationCommand, *, terminal_id: str, operator_id: str
    ) -> TransformationAnswer:
        """Inputs leave stock, outputs enter it and are registered as lots born of every input
        (edge/ledger/genealogy.py says what they inherit), in one fact."""
        refusal = transformation_refusal(cmd)
        if refusal is not None:
            raise Rejected(refusal)
        for gtin in dict.fromkeys(q.gtin for q in (*cmd.inputs, *cmd.outputs)):
            await self._item(gtin)
        born: list[tuple[Lot, ...]] = []

        async def plan(
            conn: aiosqlite.Connection,
        ) -> tuple[tuple[Event, ...], list[Movement], list[Statement]]:
            for q in cmd.inputs:
                self._refuse_held(q.gtin, q.lot, q.location, "transformed")
            known = await store.lots_by_key(
                conn, [(q.gtin, q.lot) for q in (*cmd.inputs, *cmd.outputs)]
            )
            lots = born_lots(cmd, known)
            born.append(lots)
            event = LotTransformed(
                transformation_id=cmd.transformation_id,
                kind=cmd.kind,
                inputs=cmd.inputs,
                outputs=with_expiries(cmd.outputs, lots),
                note=cmd.note,
            )
            registered = tuple(LotRegistered(**msgspec.structs.asdict(lot)) for lot in lots)
            return (
                (event, *registered),
                transformation_movements(cmd),
                [store.upsert_lot(lot) for lot in lots],
            )

        def finish(
            flags: tuple[NegativeFlag, ...], after: tuple[NegativeFlag, ...]
        ) -> TransformationAnswer:
            return TransformationAnswer(
                transformation_id=cmd.transformation_id,
                kind=cmd.kind,
                lots=born[-1],
                balances=after,
                negative_stock=flags,
            )

        answer = await self._document(
            "transformation",
            cmd.transformation_id,
            TransformationAnswer,
            plan,
            finish,
            terminal_id=terminal_id,
            operator_id=operator_id,
            occurred_at=None,
            digest=request_digest(cmd),
        )
        if born:  # recorded now (a replay plans nothing)
            self.master.remember_lots(born[-1])
        return answer

    async def aggregate(
        self, cmd: AggregationCommand, *, terminal_id: str, operator_id: str
    ) -> AggregationAnswer:
        """Pack lots into a container or unpack them; stock stays where it is."""
        refusal = aggregation_refusal(cmd)
        if refusal is not None:
            raise Rejected(refusal)
        for gtin in dict.fromkeys(child.gtin for child in cmd.children):
            await self._item(gtin)
        answered: list[AggregationAnswer] = []

        async def plan(
            conn: aiosqlite.Connection,
        ) -> tuple[tuple[Event, ...], list[Movement], list[Statement]]:
            contents = await store.container_contents(conn, cmd.container_id)
            if cmd.action == "pack":
                children = cmd.children
                after = pack(contents, children)
            else:
                children = cmd.children or contents_as_children(contents, cmd.location)
                left = unpack(cmd.container_id, contents, children)
                if isinstance(left, str):
                    raise Conflict(left)
                after = left
            children = tuple(
                c if c.location else msgspec.structs.replace(c, location=cmd.location)
                for c in children
            )
            changed = sorted(
                k for k in contents.keys() | after.keys() if contents.get(k) != after.get(k)
            )
            statements = [
                store.set_container_content(cmd.container_id, gtin, lot, after.get((gtin, lot), 0))
                for gtin, lot in changed
            ]
            answered.append(
                AggregationAnswer(
                    aggregation_id=cmd.aggregation_id,
                    container_id=cmd.container_id,
                    action=cmd.action,
                    children=children,
                    contents=contents_as_children(after, ""),
                )
            )
            event = LotsAggregated(
                aggregation_id=cmd.aggregation_id,
                container_id=cmd.container_id,
                action=cmd.action,
                children=children,
                location=cmd.location,
            )
            return (event,), [], statements

        return await self._document(
            "aggregation",
            cmd.aggregation_id,
            AggregationAnswer,
            plan,
            lambda _flags, _after: answered[-1],
            terminal_id=terminal_id,
            operator_id=operator_id,
            occurred_at=None,
            digest=request_digest(cmd),
        )

    async def dispatch(
        self, cmd: DispatchCommand, *, terminal_id: str, operator_id: str
    ) -> DispatchAnswer:
        """Stock of a lot leaves for another store; the event carries the lot's expiry."""
        await self._item(cmd.gtin)
        if cmd.to_store_id == self._store_id:
            raise Rejected("a shipment to this same store is a transfer: use /v1/transfers")
        sent: list[Lot | None] = []

        async def plan(
            conn: aiosqlite.Connection,
        ) -> tuple[tuple[Event, ...], list[Movement], list[Statement]]:
            self._refuse_held(cmd.gtin, cmd.lot, cmd.from_location, "shipped")
            key = (cmd.gtin, cmd.lot)
            lot = (await store.lots_by_key(conn, [key])).get(key) if cmd.lot != NO_LOT else None
            sent.append(lot)
            event = StockDispatched(
                **msgspec.structs.asdict(cmd), expiry=lot.expiry if lot is not None else None
            )
            move = Movement(
                gtin=cmd.gtin, lot=cmd.lot, location=cmd.from_location, delta=-cmd.quantity
            )
            return (event,), [move], []

        def finish(
            flags: tuple[NegativeFlag, ...], after: tuple[NegativeFlag, ...]
        ) -> DispatchAnswer:
            return DispatchAnswer(
                shipment_id=cmd.shipment_id,
                to_store_id=cmd.to_store_id,
                lot=sent[-1],
                balances=after,
                negative_stock=flags,
            )

        return await self._document(
            "dispatch",
            cmd.shipment_id,
            DispatchAnswer,
            plan,
            finish,
            terminal_id=terminal_id,
            operator_id=operator_id,
            occurred_at=None,
            digest=request_digest(cmd),
        )

    async def receive_shipment(
        self, cmd: ShipmentReceiptCommand, *, terminal_id: str, operator_id: str
    ) -> DocumentAnswer:
        """Stock from another store arrives; the lot keeps its name and is registered here if
        this store did not know it (or gains what the receipt adds to it)."""
        await self._item(cmd.gtin)
        if cmd.from_store_id == self._store_id:
            raise Rejected("a shipment from this same store is a transfer: use /v1/transfers")
        if cmd.accepted_quantity + cmd.rejected_quantity <= 0:
            raise Rejected("a shipment receipt needs an accepted or rejected quantity > 0")
        registered: list[Lot] = []

        async def plan(
            conn: aiosqlite.Connection,
        ) -> tuple[tuple[Event, ...], list[Movement], list[Statement]]:
            key = (cmd.gtin, cmd.lot)
            lot = received_lot(cmd, (await store.lots_by_key(conn, [key])).get(key))
            fields = msgspec.structs.asdict(cmd)
            del fields["supplier_id"], fields["documents"]
            events: tuple[Event, ...] = (ShipmentReceived(**fields),)
            statements: list[Statement] = []
            if lot is not None:
                registered.append(lot)
                events = (*events, LotRegistered(**msgspec.structs.asdict(lot)))
                statements.append(store.upsert_lot(lot))
            moves = (
                [
                    Movement(
                        gtin=cmd.gtin,
                        lot=cmd.lot,
                        location=cmd.location,
                        delta=cmd.accepted_quantity,
                    )
                ]
                if cmd.accepted_quantity
                else []
            )
            return events, moves, statements

        def finish(
            flags: tuple[NegativeFlag, ...], after: tuple[NegativeFlag, ...]
        ) -> DocumentAnswer:
            return DocumentAnswer(
                kind="shipment_receipt",
                document_id=cmd.shipment_id,
                balances=after,
                negative_stock=flags,
            )

        # Shipment ids are the sender's: two stores may use the same one.
        answer = await self._document(
            "shipment_receipt",
            f"{cmd.from_store_id}:{cmd.shipment_id}",
            DocumentAnswer,
            plan,
            finish,
            terminal_id=terminal_id,
            operator_id=operator_id,
            occurred_at=None,
            digest=request_digest(cmd),
        )
        self.master.remember_lots(registered)
        return answer

    async def container_view(self, container_id: str) -> ContainerView:
        if not is_sscc(container_id):
            raise Rejected(f"container_id {container_id!r} is not an SSCC")
        contents = await store.container_contents(self._reader, container_id)
        if not contents:
            raise NotFound(f"container {container_id} holds nothing on record")
        return ContainerView(container_id=container_id, contents=contents_as_children(contents, ""))

    def _refuse_held(self, gtin: str, lot: str, location: str, doing: str) -> None:
        """A held lot must not leave its hold by becoming another lot or another store's."""
        for hold in self._holds.active_for(gtin, lot):
            if applies_at(hold, location):
                raise Conflict(
                    f"lot {lot!r} of {gtin} is under a {hold.kind} hold ({hold.hold_id}):"
                    f" it cannot be {doing} until the hold is released"
                )

    # ---- reads ----

    async def lot_view(self, gtin: str, lot: str) -> LotView:
        found = self.master.lots.get((gtin, lot))
        if found is None:
            raise NotFound(f"lot {lot!r} of {gtin} is not known to this store")
        return LotView(
            lot=found,
            stock_by_location=await store.stock_of_lot(self._reader, gtin, lot),
            holds=self._holds.active_for(gtin, lot),
        )

    async def fefo(self, gtin: str, location: str, quantity: int) -> FefoSuggestion:
        await self._item(gtin)
        return fefo(
            gtin,
            location,
            await store.stock_by_lot(self._reader, gtin, location),
            self.master.lots_of(gtin),
            quantity,
            today=self._clock().date(),
            held=frozenset(h.lot for h in _holds_of(self._holds, gtin)),
        )

    async def lots_with_stock_at(self, location: str) -> list[tuple[str, str]]:
        return await store.lots_with_stock_at(self._reader, location)

    # ---- plumbing ----

    async def _item(self, gtin: str) -> Item:
        item = await self._catalog.lookup(gtin)
        if item is None:
            raise NotFound(f"item {gtin} is not in the item master")
        return item

    async def _simple(
        self, kind: DocumentType, doc_id: str, plan: Plan, terminal_id: str, operator_id: str
    ) -> DocumentAnswer:
        def finish(
            flags: tuple[NegativeFlag, ...], after: tuple[NegativeFlag, ...]
        ) -> DocumentAnswer:
            return DocumentAnswer(
                kind=kind, document_id=doc_id, balances=after, negative_stock=flags
            )

        return await self._document(
            kind,
            doc_id,
            DocumentAnswer,
            plan,
            finish,
            terminal_id=terminal_id,
            operator_id=operator_id,
            occurred_at=None,
        )

    async def _document(
        self,
        kind: DocumentType,
        doc_id: str,
        answer_type: type[A],
        plan: Plan,
        finish: Callable[[tuple[NegativeFlag, ...], tuple[NegativeFlag, ...]], A],
        *,
        terminal_id: str,
        operator_id: str,
        occurred_at: datetime | None,
        digest: bytes | None = None,
    ) -> A:
        """Record one document once. With a `digest` of its request, the same id sent again
        with a different body is a Conflict rather than a retry."""
        if not doc_id.strip():
            raise Rejected(f"a {kind} needs its client id")
        now = self._clock()
        answered: list[A] = []

        async def check(conn: aiosqlite.Connection) -> Fact | None:
            prior = await store.find_document(conn, kind, doc_id)
            if prior is not None:
                prior_seq, prior_answer, prior_digest = prior
                if digest is not None and prior_digest is not None and digest != prior_digest:
                    raise Conflict(
                        f"{kind} {doc_id!r} was already recorded (seq {prior_seq}) with a"
                        " different body: a new document needs a new id"
                    )
                raise _Replayed(prior_seq, prior_answer)
            events, movements, extra = await plan(conn)
            before = await store.balances(conn, [m.key for m in movements])
            after, negatives = settle(
                before, movements, cause=type(events[0]).__name__, cause_id=doc_id
            )
            flags = tuple(
                NegativeFlag(gtin=n.gtin, lot=n.lot, location=n.location, balance=n.balance)
                for n in negatives
            )
            balances = tuple(
                NegativeFlag(gtin=k[0], lot=k[1], location=k[2], balance=q)
                for k, q in after.items()
            )
            answer = finish(flags, balances)
            answered.append(answer)
            return Fact(
                events=(*events, *negatives),
                occurred_at=occurred_at or now,
                device_id=terminal_id,
                operator_id=operator_id,
                statements=(
                    *(store.set_balance(k, q) for k, q in after.items()),
                    *extra,
                    store.insert_document(
                        kind, doc_id, terminal_id, msgspec.json.encode(answer), digest
                    ),
                ),
            )

        try:
            envelopes = await self._writer.record(
                Fact(
                    events=(),
                    occurred_at=occurred_at or now,
                    device_id=terminal_id,
                    operator_id=operator_id,
                    check=check,
                )
            )
        except _Replayed as replay:
            answer = msgspec.json.decode(replay.answer, type=answer_type)
            event_id = await store.event_id_of(self._reader, replay.seq)
            log.info("ledger.replayed", kind=kind, document_id=doc_id, seq=replay.seq)
            return msgspec.structs.replace(answer, seq=replay.seq, event_id=event_id)
        first = envelopes[0]
        result = answered[-1]
        for flag in getattr(result, "negative_stock", ()):
            log.warning(
                "ledger.stock_negative",
                kind=kind,
                document_id=doc_id,
                **msgspec.structs.asdict(flag),
            )
        return msgspec.structs.replace(result, seq=first.seq, event_id=str(first.event_id))


def _base_quantity(item: Item, quantity: int, net_g: int | None) -> int:
    if item.unit == "kg":
        if net_g is None or net_g <= 0:
            raise Rejected(f"{item.gtin} is sold by weight: send net_g (grams) > 0")
        return net_g
    if quantity <= 0:
        raise Rejected(f"{item.gtin}: quantity must be > 0")
    return quantity


def _holds_of(holds: ActiveHolds, gtin: str) -> tuple[Hold, ...]:
    return tuple(h for h in holds.all_active() if h.gtin == gtin)
