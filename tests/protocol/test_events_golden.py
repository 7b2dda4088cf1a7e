"""Golden bytes: each event's canonical encoding is pinned, both ways.

If one of these fails, the wire changed: events already in stores' logs would no longer hash
or decode the same. Add fields with defaults instead (see protocol/events.py).
"""

from __future__ import annotations

import msgspec
import pytest

from protocol.envelope import decode_event, encode_event
from protocol.errors import UndecodableEvent
from protocol.events import (
    EVENT_TYPES,
    ItemMasterUpdated,
    ItemScanned,
    SaleLine,
    SaleRecorded,
)

GOLDEN = [
    (
        ItemScanned(
            terminal_id="pos-1",
            raw_code="6901234567892",
            verdict="allow",
            gtin="06901234567892",
            reasons=(),
        ),
        (
            "86a474797065ab4974656d5363616e6e6564ab7465726d696e616c5f6964a5706f732d31a87261775f636f64"
            "65ad36393031323334353637383932a776657264696374a5616c6c6f77a46774696eae303639303132333435"
            "3637383932a7726561736f6e7390"
        ),
    ),
    (
        ItemScanned(
            terminal_id="pos-2", raw_code="123", verdict="block", reasons=("unreadable_code",)
        ),
        (
            "86a474797065ab4974656d5363616e6e6564ab7465726d696e616c5f6964a5706f732d32a87261775f636f64"
            "65a3313233a776657264696374a5626c6f636ba46774696ec0a7726561736f6e7391af756e7265616461626c"
            "655f636f6465"
        ),
    ),
    (
        SaleRecorded(
            sale_id="S-1",
            terminal_id="pos-1",
            receipt_id="R-1",
            lines=(
                SaleLine(gtin="06901234567892", amount_fen=1250, unit_price_fen=2500, net_g=500),
            ),
            total_fen=1250,
        ),
        (
            "86a474797065ac53616c655265636f72646564a773616c655f6964a3532d31ab7465726d696e616c5f6964a5"
            "706f732d31aa726563656970745f6964a3522d31a56c696e65739186a46774696eae30363930313233343536"
            "37383932aa616d6f756e745f66656ecd04e2ae756e69745f70726963655f66656ecd09c4a87175616e746974"
            "7901a56e65745f67cd01f4a36c6f74c0a9746f74616c5f66656ecd04e2"
        ),
    ),
    (
        ItemMasterUpdated(gtin="06901234567892", name="鲈鱼", price_fen=3990, unit="kg"),
        (
            "85a474797065b14974656d4d617374657255706461746564a46774696eae3036393031323334353637383932"
            "a46e616d65a6e9b288e9b1bca970726963655f66656ecd0f96a4756e6974a26b67"
        ),
    ),
]


@pytest.mark.parametrize(("event", "golden_hex"), GOLDEN, ids=lambda v: type(v).__name__)
def test_golden_bytes_both_ways(event: msgspec.Struct, golden_hex: str) -> None:
    assert encode_event(event).hex() == golden_hex
    assert decode_event(bytes.fromhex(golden_hex)) == event


def test_every_event_type_has_a_golden_vector() -> None:
    assert {type(event) for event, _ in GOLDEN} == set(EVENT_TYPES)


def test_unknown_fields_from_a_newer_writer_are_skipped() -> None:
    newer = msgspec.msgpack.encode(
        {
            "type": "ItemScanned",
            "terminal_id": "pos-1",
            "raw_code": "x",
            "verdict": "warn",
            "field_from_the_future": [1, 2, 3],
        }
    )
    event = decode_event(newer)
    assert isinstance(event, ItemScanned)
    assert event.verdict == "warn"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xc1",
        msgspec.msgpack.encode({"type": "NoSuchEvent"}),
        msgspec.msgpack.encode({"type": "ItemScanned", "terminal_id": 5}),
        msgspec.msgpack.encode([1, 2, 3]),
    ],
)
def test_undecodable_bodies_raise_a_typed_error(payload: bytes) -> None:
    with pytest.raises(UndecodableEvent):
        decode_event(payload)
