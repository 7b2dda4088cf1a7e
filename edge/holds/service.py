"""Placing and releasing lot holds, each as one fact on the store's chain (see __init__)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import aiosqlite
import msgspec
import structlog

from edge.errors import Rejected
from edge.eventlog.writer import EventLogWriter, Fact
from edge.holds.domain import HOLD_KINDS, Hold, placed_event, released_event
from edge.holds.store import ActiveHolds, find_active, find_hold, insert_hold, release_hold
from protocol.ledger_events import HoldKind

log = structlog.get_logger(__name__)

LotsAt = Callable[[str], Awaitable[Sequence[tuple[str, str]]]]


class HoldNotFound(Rejected):
    status_code = 404
    title = "no such hold"


class HoldAlreadyReleased(Rejected):
    status_code = 409
    title = "hold already released"


class _AlreadyHeld(Rejected):
    def __init__(self, hold: Hold) -> None:
        super().__init__(f"lot already under an active {hold.kind} hold {hold.hold_id}")
        self.hold = hold


class HoldService:
    def __init__(
        self,
        *,
        holds: ActiveHolds,
        writer: EventLogWriter,
        new_id: Callable[[datetime], uuid.UUID],
        lots_at: LotsAt,
        device_id: str = "edge",
    ) -> None:
        self._holds = holds
        self._writer = writer
        self._new_id = new_id
        self._lots_at = lots_at
        self._device_id = device_id

    def active_for(self, gtin: str, lot: str) -> tuple[Hold, ...]:
        """The lot's active holds (any location), from memory: safe on the scan hot path."""
        return self._holds.active_for(gtin, lot)

    def all_active(self) -> tuple[Hold, ...]:
        return self._holds.all_active()

    async def place(
        self,
        gtin: str,
        lot: str,
        kind: HoldKind,
        reason: str,
        *,
        location: str | None = None,
        operator_id: str,
        now: datetime,
        device_id: str | None = None,
        hold_id: str | None = None,
    ) -> Hold:
        """Hold a lot (everywhere, or at `location`). Idempotent: an active hold of the same
        kind at the same place is returned as is. With a `hold_id` (a command's own id, e.g. a
        recall's) the id is the idempotency key instead: a hold with that id, active or
        released, is returned as is, and two such holds on one lot stay two holds."""
        if kind not in HOLD_KINDS:
            raise Rejected(f"hold kind must be one of {', '.join(HOLD_KINDS)}, not {kind!r}")
        if not reason.strip():
            raise Rejected("a hold needs a reason")
        hold = Hold(
            hold_id=hold_id or str(self._new_id(now)),
            gtin=gtin,
            lot=lot,
            kind=kind,
            reason=reason,
            location=location,
            placed_by=operator_id,
            placed_at=now,
        )

        async def no_active_twin(conn: aiosqlite.Connection) -> Fact | None:
            twin = await (
                find_hold(conn, hold_id)
                if hold_id is not None
                else find_active(conn, gtin, lot, kind, location)
            )
            if twin is not None:
                raise _AlreadyHeld(twin)
            return None

        try:
            await self._writer.record(
                Fact(
                    events=(placed_event(hold),),
                    occurred_at=now,
                    device_id=device_id or self._device_id,
                    operator_id=operator_id,
                    statements=(insert_hold(hold),),
                    check=no_active_twin,
                )
            )
        except _AlreadyHeld as already:
            return already.hold
        self._holds.remember((hold,))
        log.info("hold.placed", hold_id=hold.hold_id, gtin=gtin, lot=lot, kind=kind, at=location)
        return hold

    async def place_at_location(
        self,
        location: str,
        kind: HoldKind,
        reason: str,
        *,
        operator_id: str,
        now: datetime,
        device_id: str | None = None,
    ) -> tuple[Hold, ...]:
        """Hold, at `location`, every lot with stock there (e.g. after a cold-chain excursion)."""
        held = []
        for gtin, lot in await self._lots_at(location):
            held.append(
                await self.place(
                    gtin,
                    lot,
                    kind,
                    reason,
                    location=location,
                    operator_id=operator_id,
                    now=now,
                    device_id=device_id,
                )
            )
        return tuple(held)

    async def release(
        self,
        hold_id: str,
        reason: str,
        *,
        operator_id: str,
        now: datetime,
        device_id: str | None = None,
    ) -> Hold:
        if not reason.strip():
            raise Rejected("releasing a hold needs a reason")
        found: list[Hold] = []

        async def still_active(conn: aiosqlite.Connection) -> Fact | None:
            hold = await find_hold(conn, hold_id)
            if hold is None:
                raise HoldNotFound(f"no hold {hold_id!r}")
            if not hold.active:
                raise HoldAlreadyReleased(f"hold {hold_id} was released by {hold.released_by}")
            released = msgspec.structs.replace(
                hold, released_by=operator_id, release_reason=reason, released_at=now
            )
            found.append(released)
            return Fact(
                events=(released_event(released),),
                occurred_at=now,
                device_id=device_id or self._device_id,
                operator_id=operator_id,
                statements=(release_hold(released),),
            )

        await self._writer.record(
            Fact(
                events=(),
                occurred_at=now,
                device_id=device_id or self._device_id,
                operator_id=operator_id,
                check=still_active,
            )
        )
        (released,) = found
        self._holds.remember((released,))
        log.info("hold.released", hold_id=hold_id, gtin=released.gtin, lot=released.lot)
        return released
