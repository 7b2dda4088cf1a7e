"""Lot genealogy over HTTP (back office): transformations, container packing, store-to-store
shipments. Thin, as edge/ledger/api.py: validate shapes, build the command, call the service.

Every document carries its client id; a retry with the same body gets the first answer, the
same id with a different body is a 409.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from edge.holds.api import gtin14
from edge.ledger.api import (
    CentiC,
    ClientId,
    Documents,
    LotText,
    Note,
    OperatorId,
    Positive,
    Quantity,
    Text64,
)
from edge.ledger.genealogy import (
    AggregationCommand,
    DispatchCommand,
    ShipmentReceiptCommand,
    TransformationCommand,
)
from edge.ledger.service import (
    AggregationAnswer,
    ContainerView,
    DispatchAnswer,
    DocumentAnswer,
    LedgerService,
    TransformationAnswer,
)
from protocol.trace_events import AggregationAction, LotQuantity, TransformationKind

StoreId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
NewLot = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
Sscc = Annotated[str, msgspec.Meta(pattern=r"^\d{18}$")]  # check digit: in the domain


class InputIn(msgspec.Struct, frozen=True, kw_only=True):
    gtin: Text64
    lot: LotText = ""
    quantity: Positive
    location: Text64


class OutputIn(msgspec.Struct, frozen=True, kw_only=True):
    gtin: Text64
    lot: NewLot
    quantity: Positive
    location: Text64
    expiry: date | None = None  # None: the earliest expiry among the inputs


class TransformationIn(msgspec.Struct, frozen=True, kw_only=True):
    transformation_id: ClientId
    kind: TransformationKind
    inputs: Annotated[tuple[InputIn, ...], msgspec.Meta(min_length=1, max_length=200)]
    outputs: Annotated[tuple[OutputIn, ...], msgspec.Meta(min_length=1, max_length=200)]
    note: Note = ""
    operator_id: OperatorId = ""


class ChildIn(msgspec.Struct, frozen=True, kw_only=True):
    gtin: Text64
    lot: LotText = ""
    quantity: Positive
    location: Text64 | None = None  # None: the aggregation's location


class AggregationIn(msgspec.Struct, frozen=True, kw_only=True):
    aggregation_id: ClientId
    container_id: Sscc
    action: AggregationAction
    children: Annotated[tuple[ChildIn, ...], msgspec.Meta(max_length=500)] = ()
    location: Text64 | None = None
    operator_id: OperatorId = ""


class ShipmentIn(msgspec.Struct, frozen=True, kw_only=True):
    shipment_id: ClientId
    to_store_id: StoreId
    gtin: Text64
    lot: LotText = ""
    from_location: Text64
    quantity: Positive
    operator_id: OperatorId = ""


class ShipmentReceiptIn(msgspec.Struct, frozen=True, kw_only=True):
    shipment_id: ClientId
    from_store_id: StoreId
    gtin: Text64
    lot: LotText = ""
    location: Text64
    accepted_quantity: Quantity
    rejected_quantity: Quantity = 0
    reject_reason: Note = ""
    expiry: date | None = None
    temperature_centi_c: CentiC | None = None
    supplier_id: Text64 | None = None  # from the dispatch note, for a lot new to this store
    documents: Documents = ()
    operator_id: OperatorId = ""


def _lot_quantity(gtin: str, lot: str, quantity: int, location: str) -> LotQuantity:
    return LotQuantity(gtin=gtin14(gtin), lot=lot, quantity=quantity, location=location)


class GenealogyController(Controller):
    tags = ["genealogy"]

    @post(
        "/v1/transformations",
        status_code=200,
        summary="Split, sort, repack, cook or produce: input lots become new lots",
    )
    async def record_transformation(
        self,
        data: JSONBody[TransformationIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> TransformationAnswer:
        command = TransformationCommand(
            transformation_id=data.transformation_id,
            kind=data.kind,
            inputs=tuple(_lot_quantity(x.gtin, x.lot, x.quantity, x.location) for x in data.inputs),
            outputs=tuple(
                msgspec.structs.replace(
                    _lot_quantity(x.gtin, x.lot, x.quantity, x.location), expiry=x.expiry
                )
                for x in data.outputs
            ),
            note=data.note,
        )
        return await ledger_service.transform(
            command, terminal_id=request.user, operator_id=data.operator_id
        )

    @post(
        "/v1/aggregations",
        status_code=200,
        summary="Pack lots into a container (SSCC) or unpack them",
    )
    async def record_aggregation(
        self,
        data: JSONBody[AggregationIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> AggregationAnswer:
        command = AggregationCommand(
            aggregation_id=data.aggregation_id,
            container_id=data.container_id,
            action=data.action,
            children=tuple(
                _lot_quantity(x.gtin, x.lot, x.quantity, x.location or "") for x in data.children
            ),
            location=data.location or "",
        )
        return await ledger_service.aggregate(
            command, terminal_id=request.user, operator_id=data.operator_id
        )

    @get("/v1/containers/{container_id:str}", summary="What a container (SSCC) holds")
    async def container_lookup(
        self, container_id: FromPath[str], ledger_service: NamedDependency[LedgerService]
    ) -> ContainerView:
        return await ledger_service.container_view(container_id)

    @post("/v1/shipments", status_code=200, summary="Ship stock of a lot to another store")
    async def dispatch_shipment(
        self,
        data: JSONBody[ShipmentIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> DispatchAnswer:
        fields = msgspec.structs.asdict(data)
        del fields["operator_id"]
        fields["gtin"] = gtin14(data.gtin)
        return await ledger_service.dispatch(
            DispatchCommand(**fields), terminal_id=request.user, operator_id=data.operator_id
        )

    @post(
        "/v1/shipment-receipts",
        status_code=200,
        summary="Receive a shipment from another store, with inspection results",
    )
    async def receive_shipment(
        self,
        data: JSONBody[ShipmentReceiptIn],
        request: Request[str, str, State],
        ledger_service: NamedDependency[LedgerService],
    ) -> DocumentAnswer:
        fields = msgspec.structs.asdict(data)
        del fields["operator_id"]
        fields["gtin"] = gtin14(data.gtin)
        fields["supplier_id"] = data.supplier_id or ""
        return await ledger_service.receive_shipment(
            ShipmentReceiptCommand(**fields),
            terminal_id=request.user,
            operator_id=data.operator_id,
        )
