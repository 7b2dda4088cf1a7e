"""POS and back-office ledger calls: thin: validate shapes, call the service, answer.

Every document carries the client's own id (sale_id, receipt_id, …): a retry with the same id
gets the first answer again and moves no stock twice.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from edge.errors import Rejected
from edge.holds.api import gtin14
from edge.ledger.domain import SALES_FLOOR, CategoryRule, FefoSuggestion, ItemProfile, Lot
from edge.ledger.service import (
    CountCommand,
    DocumentAnswer,
    LedgerService,
    LotView,
    PriceAnswer,
    ReceiveCommand,
    ReturnCommand,
    SaleAnswer,
    SaleCommand,
    SaleLineRequest,
    TransferCommand,
    WasteCommand,
)
from protocol.envelope import UtcDatetime
from protocol.ledger_events import LossReason

ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^\S+$")]
Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Note = Annotated[str, msgspec.Meta(max_length=500)]
LotText = Annotated[str, msgspec.Meta(max_length=20)]  # AI (10): up to 20 characters
Quantity = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
Positive = Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)]
Fen = Annotated[int, msgspec.Meta(ge=0, le=100_000_000_000)]
CentiC = Annotated[int, msgspec.Meta(ge=-10_000, le=10_000)]
Documents = Annotated[tuple[Text64, ...], msgspec.Meta(max_length=20)]
Channel = Annotated[str, msgspec.Meta(max_length=32)]
OperatorId = Annotated[str, msgspec.Meta(max_length=64)]


def _command_fields(data: msgspec.Struct) -> dict[str, Any]:
    """A POS document's fields as its command's: the operator travels beside the command and
    the GTIN is normalised to GTIN-14 (a bad one is a 4xx, via `gtin14`)."""
    fields = msgspec.structs.asdict(data)
    fields.pop("operator_id")
    fields["gtin"] = gtin14(fields["gtin"])
    return fields


class SaleLineIn(msgspec.Struct, frozen=True, kw_only=True):
    gtin: Text64
    amount_fen: Fen
    unit_price_fen: Fen
    quantity: Positive = 1
    net_g: Positive | None = None
    lot: LotText | None = None


class SaleIn(msgspec.Struct, frozen=True, kw_only=True):
    sale_id: ClientId
    receipt_id: Text64
    lines: Annotated[tuple[SaleLineIn, ...], msgspec.Meta(min_length=1, max_length=500)]
    total_fen: Fen | None = None  # if sent, must equal the sum of the lines
    e_receipt_ref: Annotated[str, msgspec.Meta(max_length=200)] = ""
    channel: Channel = ""
    location: Text64 = SALES_FLOOR
    operator_id: OperatorId = ""
    occurred_at: UtcDatetime | None = None


class ReceiptIn(msgspec.Struct, frozen=True, kw_only=True):
    receipt_id: ClientId
    gtin: Text64
    lot: LotText = ""
    location: Text64
    accepted_quantity: Quantity
    rejected_quantity: Quantity = 0
    reject_reason: Note = ""
    supplier_id: Text64 | None = None
    expiry: date | None = None
    temperature_centi_c: CentiC | None = None
    documents: Documents = ()
    operator_id: OperatorId = ""


class ReturnIn(msgspec.Struct, frozen=True, kw_only=True):
    return_id: ClientId
    sale_id: Text64
    gtin: Text64
    lot: LotText = ""
    location: Text64 = SALES_FLOOR
    quantity: Positive
    amount_fen: Fen
    restocked: bool = False
    reason: Note = ""
    operator_id: OperatorId = ""


class TransferIn(msgspec.Struct, frozen=True, kw_only=True):
    transfer_id: ClientId
    gtin: Text64
    lot: LotText = ""
    from_location: Text64
    to_location: Text64
    quantity: Positive
    operator_id: OperatorId = ""


class WasteIn(msgspec.Struct, frozen=True, kw_only=True):
    waste_id: ClientId
    gtin: Text64
    lot: LotText = ""
    location: Text64
    quantity: Positive
    reason: LossReason
    note: Note = ""
    operator_id: OperatorId = ""


class CountIn(msgspec.Struct, frozen=True, kw_only=True):
    count_id: ClientId
    gtin: Text64
    lot: LotText = ""
    location: Text64
    counted: Quantity
    operator_id: OperatorId = ""


class PriceIn(msgspec.Struct, frozen=True, kw_only=True):
    new_price_fen: Fen
    reason: Note = ""
    operator_id: OperatorId = ""


class ProfileIn(msgspec.Struct, frozen=True, kw_only=True):
    category: Text64 | None = None
    min_age_years: Annotated[int, msgspec.Meta(ge=0, le=99)] = 0
    plu: Annotated[str, msgspec.Meta(min_length=1, max_length=9, pattern=r"^\d+$")] | None = None
    min_net_g: Quantity | None = None
    max_net_g: Quantity | None = None
    operator_id: OperatorId = ""


class CategoryRuleIn(msgspec.Struct, frozen=True, kw_only=True):
    required_documents: Documents = ()
    operator_id: OperatorId = ""


class LotIn(msgspec.Struct, frozen=True, kw_only=True):
    gtin: Text64
    lot: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    expiry: date | None = None
    supplier_id: Text64 | None = None
    documents: Documents = ()
    operator_id: OperatorId = ""


class LedgerController(Controller):
    tags = ["ledger"]

    @post("/v1/sales", status_code=200, summary="Record a sale (idempotent on sale_id)")
    async def record_sale(
        self,
        data: JSONBody[SaleIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> SaleAnswer:
        if data.total_fen is not None and data.total_fen != sum(x.amount_fen for x in data.lines):
            raise Rejected("total_fen is not the sum of the lines' amount_fen")
        lines = tuple(
            SaleLineRequest(
                gtin=gtin14(x.gtin),
                amount_fen=x.amount_fen,
                unit_price_fen=x.unit_price_fen,
                quantity=x.quantity,
                net_g=x.net_g,
                lot=x.lot,
            )
            for x in data.lines
        )
        return await ledger_service.sell(
            SaleCommand(
                sale_id=data.sale_id,
                receipt_id=data.receipt_id,
                lines=lines,
                e_receipt_ref=data.e_receipt_ref,
                channel=data.channel,
                location=data.location,
            ),
            terminal_id=request.user,
            operator_id=data.operator_id,
            occurred_at=data.occurred_at,
        )

    @post("/v1/receipts", status_code=200, summary="Receive goods with inspection results")
    async def receive_goods(
        self,
        data: JSONBody[ReceiptIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> DocumentAnswer:
        fields = _command_fields(data)
        fields["supplier_id"] = data.supplier_id or ""
        return await ledger_service.receive(
            ReceiveCommand(**fields), terminal_id=request.user, operator_id=data.operator_id
        )

    @post("/v1/returns", status_code=200, summary="Record a customer return")
    async def record_return(
        self,
        data: JSONBody[ReturnIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> DocumentAnswer:
        fields = _command_fields(data)
        return await ledger_service.return_goods(
            ReturnCommand(**fields), terminal_id=request.user, operator_id=data.operator_id
        )

    @post("/v1/transfers", status_code=200, summary="Move stock between locations")
    async def transfer_stock(
        self,
        data: JSONBody[TransferIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> DocumentAnswer:
        fields = _command_fields(data)
        return await ledger_service.transfer(
            TransferCommand(**fields), terminal_id=request.user, operator_id=data.operator_id
        )

    @post("/v1/waste", status_code=200, summary="Record waste or loss with its reason")
    async def record_waste(
        self,
        data: JSONBody[WasteIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> DocumentAnswer:
        fields = _command_fields(data)
        return await ledger_service.waste(
            WasteCommand(**fields), terminal_id=request.user, operator_id=data.operator_id
        )

    @post("/v1/counts", status_code=200, summary="Record a stock count (sets the balance)")
    async def record_count(
        self,
        data: JSONBody[CountIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> DocumentAnswer:
        fields = _command_fields(data)
        return await ledger_service.count(
            CountCommand(**fields), terminal_id=request.user, operator_id=data.operator_id
        )

    @put("/v1/items/{gtin:str}/price", status_code=200, summary="Change an item's price")
    async def change_price(
        self,
        gtin: FromPath[str],
        data: JSONBody[PriceIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> PriceAnswer:
        return await ledger_service.change_price(
            gtin14(gtin),
            data.new_price_fen,
            data.reason,
            terminal_id=request.user,
            operator_id=data.operator_id,
        )

    @put("/v1/items/{gtin:str}/profile", status_code=200, summary="Set an item's profile")
    async def set_profile(
        self,
        gtin: FromPath[str],
        data: JSONBody[ProfileIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> ItemProfile:
        profile = ItemProfile(
            gtin=gtin14(gtin),
            category=data.category or "",
            min_age_years=data.min_age_years,
            plu=data.plu,
            min_net_g=data.min_net_g,
            max_net_g=data.max_net_g,
        )
        await ledger_service.set_profiles(
            (profile,), operator_id=data.operator_id, device_id=request.user
        )
        return profile

    @put(
        "/v1/categories/{category:str}",
        status_code=200,
        summary="Set the documents every lot of a category must carry",
    )
    async def set_category_rule(
        self,
        category: FromPath[str],
        data: JSONBody[CategoryRuleIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> CategoryRule:
        rule = CategoryRule(category=category, required_documents=data.required_documents)
        await ledger_service.set_rule(rule, operator_id=data.operator_id, device_id=request.user)
        return rule

    @post("/v1/lots", status_code=200, summary="Register a lot (expiry, supplier, documents)")
    async def register_lot(
        self,
        data: JSONBody[LotIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> Lot:
        lot = Lot(
            gtin=gtin14(data.gtin),
            lot=data.lot,
            expiry=data.expiry,
            supplier_id=data.supplier_id or "",
            documents=data.documents,
        )
        await ledger_service.register_lots(
            (lot,), operator_id=data.operator_id, device_id=request.user
        )
        return lot

    @get("/v1/lots/{gtin:str}/{lot:str}", summary="A lot: expiry, documents, stock, holds")
    async def lot_lookup(
        self,
        gtin: FromPath[str],
        lot: FromPath[str],
        ledger_service: NamedDependency[LedgerService],
    ) -> LotView:
        return await ledger_service.lot_view(gtin14(gtin), lot)

    @get("/v1/stock/{gtin:str}/fefo", summary="Which lots to pick first (FEFO)")
    async def fefo_suggestion(
        self,
        gtin: FromPath[str],
        ledger_service: NamedDependency[LedgerService],
        quantity: FromQuery[int] = 1,
        location: FromQuery[str] = SALES_FLOOR,
    ) -> FefoSuggestion:
        if not 1 <= quantity <= 1_000_000_000:
            raise Rejected("quantity must be 1-1,000,000,000")
        return await ledger_service.fefo(gtin14(gtin), location, quantity)
