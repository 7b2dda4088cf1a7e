"""Applying a recall order to the lot's holds (edge/holds/), idempotently by the hold id."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

import structlog

from edge.holds.service import HoldAlreadyReleased, HoldNotFound, HoldService
from edge.recall.domain import RecallOrder

log = structlog.get_logger(__name__)

RecallOutcome = Literal["placed", "released", "already_released", "not_held"]
RECALL_OPERATOR = "cloud-recall"


class RecallService:
    def __init__(
        self,
        *,
        holds: HoldService,
        clock: Callable[[], datetime],
        store_id: str,
        device_id: str = "edge",
    ) -> None:
        self._holds = holds
        self._clock = clock
        self._device_id = device_id
        self._log = log.bind(store_id=store_id)

    async def apply(self, order: RecallOrder) -> RecallOutcome:
        """Place or release the order's hold. Raises RetryableError when the log cannot commit
        (try again later) and Rejected when the holds refuse the order."""
        now = self._clock()
        if order.action == "place":
            hold = await self._holds.place(
                order.gtin,
                order.lot,
                "recall",
                order.reason,
                operator_id=RECALL_OPERATOR,
                now=now,
                device_id=self._device_id,
                hold_id=order.hold_id,
            )
            self._log.warning(
                "recall.lot_held",
                recall_id=order.recall_id,
                gtin=order.gtin,
                lot=order.lot,
                hold_id=hold.hold_id,
                active=hold.active,
            )
            return "placed"
        try:
            await self._holds.release(
                order.hold_id,
                order.reason,
                operator_id=RECALL_OPERATOR,
                now=now,
                device_id=self._device_id,
            )
        except HoldAlreadyReleased:
            return "already_released"
        except HoldNotFound:
            # Released before it was ever placed here (the place never reached this store, or
            # was refused): nothing to lift.
            self._log.warning("recall.release_without_hold", hold_id=order.hold_id)
            return "not_held"
        self._log.info("recall.lot_released", recall_id=order.recall_id, hold_id=order.hold_id)
        return "released"
