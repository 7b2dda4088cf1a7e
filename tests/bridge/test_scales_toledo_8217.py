"""Toledo 8217 parser: shared vectors, status bits, resync, 7E1 parity, property tests."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec.structs import replace

from firmware_bridge.scales import (
    CommandRejected,
    FrameError,
    ScaleEvent,
    ScaleStatus,
    Toledo8217Parser,
    WeightReading,
)
from firmware_bridge.scales.toledo_8217 import MAX_FRAME, encode_command

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "scales.json"
FRAMES: list[dict[str, Any]] = json.loads(VECTORS.read_text())["toledo_8217"]["frames"]


def feed_every_way(data: bytes, trailing: bytes = b"\x02001.") -> list[ScaleEvent]:
    """Whole, byte by byte, and with the start of a next frame: the same events."""
    whole = Toledo8217Parser().feed(data)
    parser = Toledo8217Parser()
    bytewise = [event for i in range(len(data)) for event in parser.feed(data[i : i + 1])]
    with_trailing = Toledo8217Parser().feed(data + trailing)
    assert whole == bytewise == with_trailing
    return whole


def with_even_parity(data: bytes) -> bytes:
    """What a 7E1 line looks like when the port is opened 8N1: parity lands in bit 7."""
    return bytes(b | (0x80 if bin(b).count("1") % 2 else 0) for b in data)


@pytest.mark.parametrize("vector", FRAMES, ids=lambda v: v["hex"])
def test_shared_vector(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["hex"])
    [event] = feed_every_way(frame)
    assert feed_every_way(with_even_parity(frame)) == [event]
    if "weight_kg" in vector:
        assert isinstance(event, WeightReading)
        assert Decimal(event.net).scaleb(-event.decimals) == Decimal(vector["weight_kg"])
        assert event.raw == "001.234"  # the digits as sent, leading zeros kept
        assert (event.unit, event.stable, event.net_mg) == ("kg", True, 1_234_000)
    else:
        assert isinstance(event, ScaleStatus)
        assert event.motion is vector.get("motion", False)
        assert event.overload is vector.get("over_capacity", False)
        assert event.underload is vector.get("under_zero", False)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (0x40, ScaleStatus()),
        (0x48, ScaleStatus(outside_zero_capture=True)),
        (0x50, ScaleStatus(center_of_zero=True)),
        (0x61, ScaleStatus(motion=True, net_mode=True)),
        (
            0x7F,
            ScaleStatus(
                motion=True,
                overload=True,
                underload=True,
                outside_zero_capture=True,
                center_of_zero=True,
                net_mode=True,
            ),
        ),
    ],
)
def test_status_byte_bits(status: int, expected: ScaleStatus) -> None:
    frame = bytes([0x02, 0x3F, status, 0x0D])
    assert feed_every_way(frame) == [replace(expected, net_mode=bool(status & 0x20), raw=frame)]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (
            b"\x02012.34lb\r",
            WeightReading(
                stable=True, net=1234, decimals=2, unit="lb", net_mg=5_597_330, raw="012.34"
            ),
        ),
        (
            b"\x0201234\r",
            WeightReading(
                stable=True, net=1234, decimals=0, unit="kg", net_mg=1_234_000_000, raw="01234"
            ),
        ),
        (
            b"\x02?\r",
            CommandRejected(
                command="", code="?", reason="'?' without a status byte", raw=b"\x02?\r"
            ),
        ),
        (
            b"\x02?\x01\r",
            FrameError(reason="status byte 0x01 lacks bit 6 (always 1)", raw=b"\x02?\x01\r"),
        ),
        (
            b"\x02?AB\r",
            FrameError(reason="status frame must hold exactly one status byte", raw=b"\x02?AB\r"),
        ),
        (
            b"\x021.2.3\r",
            FrameError(reason="weight frame is not a decimal number", raw=b"\x021.2.3\r"),
        ),
        (b"\x02.\r", FrameError(reason="weight '.' is not a decimal number", raw=b"\x02.\r")),
        (b"\x02\r", FrameError(reason="weight frame is not a decimal number", raw=b"\x02\r")),
    ],
)
def test_frames(frame: bytes, expected: ScaleEvent) -> None:
    assert feed_every_way(frame) == [expected]


def test_resync_on_junk_and_on_a_frame_cut_short() -> None:
    events = feed_every_way(b"noise\x02001\x02002.500\r\r\n\x02?A\r")
    assert events == [
        FrameError(reason="bytes outside a frame", raw=b"noise"),
        FrameError(reason="frame cut short by a new start byte", raw=b"\x02001"),
        WeightReading(
            stable=True, net=2500, decimals=3, unit="kg", net_mg=2_500_000, raw="002.500"
        ),
        FrameError(reason="bytes outside a frame", raw=b"\r"),
        FrameError(reason="bytes outside a frame", raw=b"\n"),
        ScaleStatus(motion=True, net_mode=False, raw=b"\x02?A\r"),
    ]


def test_overlong_frame_is_reported_and_resynced() -> None:
    events = feed_every_way(b"\x02" + b"9" * 100 + b"\r\x02?D\r")
    assert events == [
        FrameError(
            reason=f"frame longer than {MAX_FRAME} bytes", raw=b"\x02" + b"9" * (MAX_FRAME - 1)
        ),
        ScaleStatus(underload=True, net_mode=False, raw=b"\x02?D\r"),
    ]


def test_unit_is_configured_and_close_reports_a_partial_frame() -> None:
    parser = Toledo8217Parser(unit="lb")
    [reading] = parser.feed(b"\x0205.00\r\x0203")
    assert isinstance(reading, WeightReading)
    assert reading.unit == "lb"
    assert parser.close() == [FrameError(reason="incomplete frame at end of input", raw=b"\x0203")]


def test_encoders() -> None:
    assert encode_command("W") == b"W"
    assert encode_command("Z", cr=True) == b"Z\r"


@given(st.lists(st.binary(max_size=200), max_size=12))
def test_any_bytes_never_raise_and_buffer_stays_bounded(chunks: list[bytes]) -> None:
    parser = Toledo8217Parser()
    for chunk in chunks:
        parser.feed(chunk)
        assert parser.buffered_bytes < MAX_FRAME
    parser.close()


_ALPHABET = st.sampled_from([b"\x02", b"\x82", b"\r", b"?", b"A", b"1", b".", b"x", b"\n"])


@given(st.lists(_ALPHABET, max_size=200), st.lists(st.integers(0, 200), max_size=20))
def test_any_split_of_any_stream_gives_the_same_events(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    whole = Toledo8217Parser().feed(data)
    parser = Toledo8217Parser()
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    assert [e for a, b in itertools.pairwise(bounds) for e in parser.feed(data[a:b])] == whole


@given(st.lists(st.integers(0, 999_999), min_size=1, max_size=10), st.data())
def test_valid_weights_parse_back_under_any_split(grams: list[int], data: st.DataObject) -> None:
    stream = b"".join(b"\x02%03d.%03d\r" % divmod(g, 1000) for g in grams)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    bounds = sorted({0, len(stream), *cuts})
    parser = Toledo8217Parser()
    events = [e for a, b in itertools.pairwise(bounds) for e in parser.feed(stream[a:b])]
    assert [e.net_mg for e in events if isinstance(e, WeightReading)] == [g * 1000 for g in grams]


def test_long_junk_is_reported_in_bounded_pieces_then_resynced_at_stx() -> None:
    events = feed_every_way(b"x" * 100 + b"\x02?@\r")
    assert events == [
        FrameError(reason="bytes outside a frame", raw=b"x" * MAX_FRAME),
        ScaleStatus(net_mode=False, raw=b"\x02?@\r"),
    ]
