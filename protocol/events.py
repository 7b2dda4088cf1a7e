"""Every business event of jxc, as one tagged union.

Each capability declares its events in its own module (`scan_events.py`, …); this module
assembles the union every decoder uses. To add an event: define it in its capability's module,
then add it to `AnyEvent` and `EVENT_TYPES` below, and pin its bytes in
tests/protocol/test_events_golden.py.

Schema evolution rules (msgspec's, enforced by golden-bytes tests in tests/protocol/):
- the tag is the class name: never rename an event class;
- never rename or re-type a field; a new field always gets a default;
- never `forbid_unknown_fields`: an older reader must skip fields it does not know.

Units are in the names where the type does not carry them: money in fen (integer minor units),
weight in grams, temperatures in centi-degrees Celsius.
"""

from __future__ import annotations

from protocol.event_base import Event, SaleUnit, Verdict
from protocol.scan_events import ItemMasterUpdated, ItemScanned, SaleLine, SaleRecorded

AnyEvent = ItemScanned | SaleRecorded | ItemMasterUpdated

EVENT_TYPES: tuple[type[Event], ...] = (ItemScanned, SaleRecorded, ItemMasterUpdated)

__all__ = [
    "EVENT_TYPES",
    "AnyEvent",
    "Event",
    "ItemMasterUpdated",
    "ItemScanned",
    "SaleLine",
    "SaleRecorded",
    "SaleUnit",
    "Verdict",
    "event_type_name",
]


def event_type_name(event: Event) -> str:
    """The wire tag of an event (its class name)."""
    return type(event).__name__
