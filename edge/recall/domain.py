"""Reading a recall command: what to hold, or why the command is refused. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from protocol.gs1 import BarcodeError, normalise_gtin
from protocol.recall import RecallAction, RecallHold, decode_recall_hold

RefusalReason = Literal["malformed", "wrong_store", "bad_gtin", "missing_field", "too_long"]
REFUSAL_REASONS: tuple[RefusalReason, ...] = (
    "malformed",
    "wrong_store",
    "bad_gtin",
    "missing_field",
    "too_long",
)
MAX_ID_LEN = 128
MAX_REASON_LEN = 1000


class RecallOrder(msgspec.Struct, frozen=True, kw_only=True):
    """A recall command for this store, checked: hold (or release) `lot` of `gtin`."""

    hold_id: str
    recall_id: str
    gtin: str  # GTIN-14, as the scan path names items
    lot: str
    reason: str
    action: RecallAction
    issued_at: datetime


class RecallRefused(msgspec.Struct, frozen=True, kw_only=True):
    reason: RefusalReason
    detail: str


def read_recall(payload: bytes, *, store_id: str) -> RecallOrder | RecallRefused:
    """Decode and check one command; never raises on bad bytes."""
    try:
        command = decode_recall_hold(payload)
    except msgspec.DecodeError as exc:  # ValidationError included
        return RecallRefused(reason="malformed", detail=str(exc)[:200])
    return admit_recall(command, store_id=store_id)


def admit_recall(command: RecallHold, *, store_id: str) -> RecallOrder | RecallRefused:
    if command.store_id != store_id:
        return RecallRefused(
            reason="wrong_store",
            detail=f"recall {command.recall_id!r} is for store {command.store_id!r}",
        )
    for name, value, limit in (
        ("recall_id", command.recall_id, MAX_ID_LEN),
        ("lot", command.lot, MAX_ID_LEN),
        ("reason", command.reason, MAX_REASON_LEN),
    ):
        if not value.strip():
            return RecallRefused(reason="missing_field", detail=f"{name} is empty")
        if len(value) > limit:
            return RecallRefused(
                reason="too_long", detail=f"{name} has {len(value)} characters (at most {limit})"
            )
    gtin = normalise_gtin(command.gtin)
    if isinstance(gtin, BarcodeError):
        return RecallRefused(reason="bad_gtin", detail=f"gtin {command.gtin!r}: {gtin.message}")
    return RecallOrder(
        hold_id=command.hold_id(),
        recall_id=command.recall_id,
        gtin=gtin,
        lot=command.lot,
        reason=command.reason,
        action=command.action,
        issued_at=command.issued_at,
    )
