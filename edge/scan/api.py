"""POST /v1/scans: thin: parse, call the service, shape the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import msgspec
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody

from edge.catalog.domain import Item
from edge.scan.domain import Reason, ScaleReading
from edge.scan.service import ScanService
from edge.terminals.pos_routes import PosRoute
from protocol.envelope import UtcDatetime
from protocol.events import Verdict

ScanCodeText = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
OperatorId = Annotated[str, msgspec.Meta(max_length=64)]
Location = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Grams = Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000)]

# Litestar's default request body limit, which the scan route has always had.
MAX_BODY_BYTES = 10_000_000


class ScaleInput(msgspec.Struct, frozen=True, kw_only=True):
    """The scale reading shown with the scan (legal for trade: only a stable weight sells)."""

    net_g: Grams
    stable: bool
    gross_g: Grams | None = None
    tare_g: Grams | None = None
    overload: bool = False
    underload: bool = False


class ScanRequest(msgspec.Struct, frozen=True, kw_only=True):
    code: ScanCodeText
    operator_id: OperatorId = ""
    occurred_at: UtcDatetime | None = None
    scale: ScaleInput | None = None
    location: Location | None = None  # where the scan happens; holds placed elsewhere don't apply
    age_verified: bool = False  # the cashier checked the buyer's ID


class ScanResponse(msgspec.Struct, frozen=True, kw_only=True):
    verdict: Verdict
    reasons: tuple[Reason, ...]
    gtin: str | None
    item: Item | None
    seq: int
    event_id: str


class ScanController(Controller):
    path = "/v1/scans"
    tags = ["scan"]

    @post(status_code=200, summary="Verify a scanned code and log the scan")
    async def verify_scan(
        self,
        data: JSONBody[ScanRequest],
        request: Request[str, str, State],
        scan_service: NamedDependency[ScanService],
    ) -> ScanResponse:
        return await answer_scan(scan_service, data, terminal_id=request.user)


async def answer_scan(service: ScanService, data: ScanRequest, *, terminal_id: str) -> ScanResponse:
    recorded = await service.verify(
        data.code,
        terminal_id=terminal_id,
        operator_id=data.operator_id,
        occurred_at=data.occurred_at,
        scale=ScaleReading(**msgspec.structs.asdict(data.scale)) if data.scale else None,
        location=data.location,
        age_verified=data.age_verified,
    )
    decision = recorded.decision
    return ScanResponse(
        verdict=decision.verdict,
        reasons=decision.reasons,
        gtin=decision.gtin,
        item=decision.item,
        seq=recorded.seq,
        event_id=recorded.event_id,
    )


# The hot path (edge/terminals/pos_routes.py): the same request type, checked the way Litestar
# checks it (strict=False, as its signature model converts), the same use case.
_scan_request = msgspec.json.Decoder(ScanRequest, strict=False)
_scan_response = msgspec.json.Encoder()


def scan_route(service: Callable[[], ScanService]) -> PosRoute:
    async def handle(body: bytes, terminal_id: str) -> bytes | None:
        try:
            data = _scan_request.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None  # Litestar answers it (400)
        return _scan_response.encode(await answer_scan(service(), data, terminal_id=terminal_id))

    return PosRoute(handle=handle, max_body_bytes=MAX_BODY_BYTES)
