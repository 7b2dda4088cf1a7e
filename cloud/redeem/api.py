"""GET /v1/redeem/flags: double redemptions across stores, with both evidence trails."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from cloud.clickhouse import ClickHouseGateway
from cloud.redeem.domain import DoubleRedemptionFlag
from cloud.redeem.store import list_flags


class FlagList(msgspec.Struct, frozen=True, kw_only=True):
    flags: tuple[DoubleRedemptionFlag, ...]


class RedeemFlagsController(Controller):
    path = "/v1/redeem"
    tags = ["redeem"]

    @get("/flags", summary="Codes redeemed in more than one store, and who absorbs each")
    async def flags(
        self,
        gateway: NamedDependency[ClickHouseGateway],
        database: NamedDependency[str],
        code: Annotated[str | None, QueryParameter(max_length=512)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
    ) -> FlagList:
        return FlagList(flags=tuple(await list_flags(gateway, database, code=code, limit=limit)))
