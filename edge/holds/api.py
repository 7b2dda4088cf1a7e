"""Lot holds over HTTP: place, release, list (QA officers and store managers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from edge.errors import Rejected
from edge.holds.domain import Hold
from edge.holds.service import HoldService
from protocol.gs1 import BarcodeError, normalise_gtin
from protocol.ledger_events import HoldKind

Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Lot = Annotated[str, msgspec.Meta(max_length=20)]
OperatorId = Annotated[str, msgspec.Meta(max_length=64)]
Clock = Callable[[], datetime]


def gtin14(text: str) -> str:
    gtin = normalise_gtin(text)
    if isinstance(gtin, BarcodeError):
        raise Rejected(f"gtin {text!r}: {gtin.message}")
    return gtin


class PlaceHold(msgspec.Struct, frozen=True, kw_only=True):
    gtin: Text64
    lot: Lot
    kind: HoldKind
    reason: Reason
    location: Text64 | None = None
    operator_id: OperatorId = ""


class ReleaseHold(msgspec.Struct, frozen=True, kw_only=True):
    reason: Reason
    operator_id: OperatorId = ""


class HoldController(Controller):
    path = "/v1/holds"
    tags = ["holds"]

    @post(status_code=200, summary="Hold a lot (recall, quality, cold chain); idempotent")
    async def place_hold(
        self,
        data: JSONBody[PlaceHold],
        request: Request[str, str, State],
        hold_service: NamedDependency[HoldService],
        clock: NamedDependency[Clock],
    ) -> Hold:
        return await hold_service.place(
            gtin14(data.gtin),
            data.lot,
            data.kind,
            data.reason,
            location=data.location,
            operator_id=data.operator_id or request.user,
            now=clock(),
            device_id=request.user,
        )

    @post("/{hold_id:str}/release", status_code=200, summary="Release a hold, with a reason")
    async def release_hold(
        self,
        hold_id: FromPath[str],
        data: JSONBody[ReleaseHold],
        request: Request[str, str, State],
        hold_service: NamedDependency[HoldService],
        clock: NamedDependency[Clock],
    ) -> Hold:
        return await hold_service.release(
            hold_id,
            data.reason,
            operator_id=data.operator_id or request.user,
            now=clock(),
            device_id=request.user,
        )

    @get(summary="Active holds, optionally of one lot")
    async def list_holds(
        self,
        hold_service: NamedDependency[HoldService],
        gtin: FromQuery[str | None] = None,
        lot: FromQuery[str | None] = None,
    ) -> list[Hold]:
        if gtin is not None and lot is not None:
            return list(hold_service.active_for(gtin14(gtin), lot))
        wanted = None if gtin is None else gtin14(gtin)
        return [h for h in hold_service.all_active() if wanted is None or h.gtin == wanted]
