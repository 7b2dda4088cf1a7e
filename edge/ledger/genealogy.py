"""Lot genealogy rules, pure: how lots are born (transformation), grouped (aggregation) and
sent between stores. No I/O, no clock.

A lot is named by (gtin, lot). A transformation consumes input lots and makes output lots whose
parents are every input; an output lot inherits what is known of its sources: the supplier when
all inputs share one, the documents of every input (a repacked lot carries its source's
inspection) and, unless given, the earliest input expiry (a lot made from others keeps no
longer than the first of them). Refusals are values (a message); the service raises them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import msgspec

from edge.ledger.domain import NO_LOT, Lot, Movement
from protocol.gs1.gtin import has_valid_check_digit
from protocol.trace_events import (
    TRANSFORMATION_KINDS,
    AggregationAction,
    LotQuantity,
    TransformationKind,
)

LotKey = tuple[str, str]  # (gtin, lot)
Contents = Mapping[LotKey, int]  # what a container holds: lot → quantity


class TransformationCommand(msgspec.Struct, frozen=True, kw_only=True):
    transformation_id: str
    kind: TransformationKind
    inputs: tuple[LotQuantity, ...]
    outputs: tuple[LotQuantity, ...]
    note: str = ""


class AggregationCommand(msgspec.Struct, frozen=True, kw_only=True):
    aggregation_id: str
    container_id: str
    action: AggregationAction
    children: tuple[LotQuantity, ...] = ()  # an unpack without children empties the container
    location: str = ""


class DispatchCommand(msgspec.Struct, frozen=True, kw_only=True):
    shipment_id: str
    to_store_id: str
    gtin: str
    lot: str
    from_location: str
    quantity: int


class ShipmentReceiptCommand(msgspec.Struct, frozen=True, kw_only=True):
    shipment_id: str
    from_store_id: str
    gtin: str
    lot: str
    location: str
    accepted_quantity: int
    rejected_quantity: int = 0
    reject_reason: str = ""
    expiry: date | None = None
    temperature_centi_c: int | None = None
    # Not on StockDispatched: the receiving store enters them from the dispatch note.
    supplier_id: str = ""
    documents: tuple[str, ...] = ()


def request_digest(command: msgspec.Struct) -> bytes:
    """What a retry must repeat: the command's canonical JSON, hashed."""
    return hashlib.sha256(msgspec.json.encode(command)).digest()


def _key(quantity: LotQuantity) -> LotKey:
    return (quantity.gtin, quantity.lot)


def transformation_refusal(cmd: TransformationCommand) -> str | None:
    """Why the transformation cannot be recorded as sent, or None."""
    if cmd.kind not in TRANSFORMATION_KINDS:
        return f"kind {cmd.kind!r} is not one of {', '.join(TRANSFORMATION_KINDS)}"
    if not cmd.inputs or not cmd.outputs:
        return "a transformation needs at least one input and one output"
    for side, quantities in (("input", cmd.inputs), ("output", cmd.outputs)):
        seen: set[tuple[str, str, str]] = set()
        for q in quantities:
            if q.quantity <= 0:
                return f"{side} {q.gtin} lot {q.lot!r}: quantity must be > 0"
            if (q.gtin, q.lot, q.location) in seen:
                return f"{side} {q.gtin} lot {q.lot!r} at {q.location!r} is listed twice"
            seen.add((q.gtin, q.lot, q.location))
    expiries: dict[LotKey, date | None] = {}
    for q in cmd.outputs:
        if q.lot == NO_LOT:
            return f"output {q.gtin} needs a lot number: a transformation makes new lots"
        if expiries.setdefault(_key(q), q.expiry) != q.expiry:
            return f"output lot {q.lot!r} of {q.gtin} is given two expiry dates"
    consumed = {_key(q) for q in cmd.inputs}
    for q in cmd.outputs:
        if _key(q) in consumed:
            return f"lot {q.lot!r} of {q.gtin} is both an input and an output"
    return None


def born_lots(cmd: TransformationCommand, known: Mapping[LotKey, Lot]) -> tuple[Lot, ...]:
    """The output lots as registered after the transformation (see the module docstring).
    An output lot the store already knows keeps what it has and gains the inherited documents."""
    sources = [known.get(_key(q)) for q in cmd.inputs]
    suppliers = {lot.supplier_id if lot else "" for lot in sources}
    supplier = suppliers.pop() if len(suppliers) == 1 else ""
    documents = tuple(dict.fromkeys(d for lot in sources if lot for d in lot.documents))
    expiries = [lot.expiry for lot in sources if lot and lot.expiry]
    earliest = min(expiries) if expiries else None
    born: dict[LotKey, Lot] = {}
    for q in cmd.outputs:
        if _key(q) in born:
            continue
        before = known.get(_key(q))
        born[_key(q)] = Lot(
            gtin=q.gtin,
            lot=q.lot,
            expiry=q.expiry or (before.expiry if before else None) or earliest,
            supplier_id=(before.supplier_id if before else "") or supplier,
            documents=tuple(dict.fromkeys((*(before.documents if before else ()), *documents))),
        )
    return tuple(born.values())


def transformation_movements(cmd: TransformationCommand) -> list[Movement]:
    """Inputs leave stock where they were; outputs enter where they were put."""
    return [
        *(
            Movement(gtin=q.gtin, lot=q.lot, location=q.location, delta=-q.quantity)
            for q in cmd.inputs
        ),
        *(
            Movement(gtin=q.gtin, lot=q.lot, location=q.location, delta=q.quantity)
            for q in cmd.outputs
        ),
    ]


def with_expiries(outputs: Iterable[LotQuantity], lots: Sequence[Lot]) -> tuple[LotQuantity, ...]:
    """The outputs as the event records them: each with its lot's expiry as registered."""
    expiry = {(lot.gtin, lot.lot): lot.expiry for lot in lots}
    return tuple(msgspec.structs.replace(q, expiry=expiry.get(_key(q))) for q in outputs)


def aggregation_refusal(cmd: AggregationCommand) -> str | None:
    if not is_sscc(cmd.container_id):
        return f"container_id {cmd.container_id!r} is not an SSCC (18 digits, GS1 check digit)"
    if cmd.action == "pack" and not cmd.children:
        return "a pack needs at least one child"
    for child in cmd.children:
        if child.quantity <= 0:
            return f"child {child.gtin} lot {child.lot!r}: quantity must be > 0"
    return None


def is_sscc(code: str) -> bool:
    return len(code) == 18 and has_valid_check_digit(code)


def pack(contents: Contents, children: Iterable[LotQuantity]) -> dict[LotKey, int]:
    after = dict(contents)
    for child in children:
        after[_key(child)] = after.get(_key(child), 0) + child.quantity
    return after


def unpack(
    container_id: str, contents: Contents, children: Iterable[LotQuantity]
) -> dict[LotKey, int] | str:
    """What is left after taking the children out, or why they cannot be: a container gives up
    only what it holds."""
    if not contents:
        return f"container {container_id} holds nothing on record"
    after = dict(contents)
    for child in children:
        held = after.get(_key(child), 0)
        if held == 0:
            return f"container {container_id} does not hold lot {child.lot!r} of {child.gtin}"
        if child.quantity > held:
            return (
                f"container {container_id} holds {held} of lot {child.lot!r} of {child.gtin},"
                f" not {child.quantity}"
            )
        after[_key(child)] = held - child.quantity
    return {key: qty for key, qty in after.items() if qty > 0}


def contents_as_children(contents: Contents, location: str) -> tuple[LotQuantity, ...]:
    """Everything a container holds, as the children of an unpack that empties it."""
    return tuple(
        LotQuantity(gtin=gtin, lot=lot, quantity=qty, location=location)
        for (gtin, lot), qty in sorted(contents.items())
    )


def received_lot(cmd: ShipmentReceiptCommand, known: Lot | None) -> Lot | None:
    """The lot to register on receiving a shipment: a new lot, or what the receipt adds to a
    known one (an expiry or supplier it lacked, documents); None when it adds nothing."""
    if cmd.lot == NO_LOT:
        return None
    if known is None:
        return Lot(
            gtin=cmd.gtin,
            lot=cmd.lot,
            expiry=cmd.expiry,
            supplier_id=cmd.supplier_id,
            documents=tuple(dict.fromkeys(cmd.documents)),
        )
    merged = Lot(
        gtin=cmd.gtin,
        lot=cmd.lot,
        expiry=known.expiry or cmd.expiry,
        supplier_id=known.supplier_id or cmd.supplier_id,
        documents=tuple(dict.fromkeys((*known.documents, *cmd.documents))),
    )
    return None if merged == known else merged
