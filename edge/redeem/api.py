"""POST /v1/redemptions and its reversal: thin: parse, call the service, shape the answer.

A refusal (unknown code, already redeemed, …) is a 200 with `outcome: rejected`; malformed
requests (garbage code text, oversized bodies, bad fields) are a 400 and write nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody

from edge.redeem.domain import Basket
from edge.redeem.service import RedeemService, RedemptionAnswer, ReversalAnswer
from edge.terminals.pos_routes import PosRoute
from protocol.envelope import UtcDatetime
from protocol.redeem_events import Channel

# QR / barcode text: printable ASCII without spaces. Signed codes are longer than platform codes.
CodeText = Annotated[str, msgspec.Meta(min_length=1, max_length=2048, pattern=r"^[!-~]+$")]
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[!-~]+$")]
OperatorId = Annotated[str, msgspec.Meta(max_length=64)]
RequiredOperator = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
ReversalReason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RedemptionId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Fen = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
GtinText = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

MAX_BODY_BYTES = 64 * 1024


class BasketLineIn(msgspec.Struct, frozen=True, kw_only=True):
    gtin: GtinText
    amount_fen: Fen
    quantity: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1


class BasketIn(msgspec.Struct, frozen=True, kw_only=True):
    total_fen: Fen = 0
    lines: Annotated[tuple[BasketLineIn, ...], msgspec.Meta(max_length=500)] = ()


class RedemptionRequest(msgspec.Struct, frozen=True, kw_only=True):
    code: CodeText
    # The POS's own id for this request: a retry with the same id gets the same answer.
    client_id: ClientId
    channel: Channel | None = None
    basket: BasketIn | None = None
    operator_id: OperatorId = ""
    occurred_at: UtcDatetime | None = None


class ReversalRequest(msgspec.Struct, frozen=True, kw_only=True):
    reason: ReversalReason
    operator_id: RequiredOperator


class RedeemStatus(msgspec.Struct, frozen=True, kw_only=True):
    vouchers: int
    live_redemptions: int
    keys: tuple[str, ...]


def _basket(data: BasketIn | None) -> Basket | None:
    if data is None:
        return None
    return msgspec.convert(msgspec.to_builtins(data), Basket)


class RedeemController(Controller):
    path = "/v1/redemptions"
    tags = ["redeem"]

    @post(
        status_code=200,
        summary="Redeem a scanned voucher, coupon or pickup code (exactly once)",
        request_max_body_size=MAX_BODY_BYTES,
    )
    async def redeem(
        self,
        data: JSONBody[RedemptionRequest],
        request: Request[str, str, State],
        redeem_service: NamedDependency[RedeemService],
    ) -> RedemptionAnswer:
        return await answer_redemption(redeem_service, data, terminal_id=request.user)

    @post(
        "/{redemption_id:str}/reversal",
        status_code=200,
        summary="Reverse a redemption within the reversal window",
        request_max_body_size=MAX_BODY_BYTES,
    )
    async def reverse(
        self,
        redemption_id: RedemptionId,
        data: JSONBody[ReversalRequest],
        request: Request[str, str, State],
        redeem_service: NamedDependency[RedeemService],
    ) -> ReversalAnswer:
        return await redeem_service.reverse(
            redemption_id, terminal_id=request.user, operator_id=data.operator_id, why=data.reason
        )

    @get("/status", summary="Vouchers held, live redemptions, trusted keys")
    async def status(self, redeem_service: NamedDependency[RedeemService]) -> RedeemStatus:
        vouchers, live = await redeem_service.counts()
        return RedeemStatus(
            vouchers=vouchers,
            live_redemptions=live,
            keys=tuple(key.key_id for key in redeem_service.ring.trusted()),
        )


async def answer_redemption(
    service: RedeemService, data: RedemptionRequest, *, terminal_id: str
) -> RedemptionAnswer:
    return await service.redeem(
        data.code,
        client_id=data.client_id,
        terminal_id=terminal_id,
        operator_id=data.operator_id,
        channel=data.channel,
        basket=_basket(data.basket),
        occurred_at=data.occurred_at,
    )


# The hot path (edge/terminals/pos_routes.py): the same request type, checked the way Litestar
# checks it (strict=False, as its signature model converts), the same use case.
_redemption_request = msgspec.json.Decoder(RedemptionRequest, strict=False)
_redemption_answer = msgspec.json.Encoder()


def redeem_route(service: Callable[[], RedeemService]) -> PosRoute:
    async def handle(body: bytes, terminal_id: str) -> bytes | None:
        try:
            data = _redemption_request.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None  # Litestar answers it (400)
        answer = await answer_redemption(service(), data, terminal_id=terminal_id)
        return _redemption_answer.encode(answer)

    return PosRoute(handle=handle, max_body_bytes=MAX_BODY_BYTES)
