"""NCI (SCP-01) parser: manual examples, status bytes, out-of-range fields, property tests."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec.structs import replace

from firmware_bridge.scales import (
    CommandRejected,
    FrameError,
    NciParser,
    ScaleEvent,
    ScaleStatus,
    WeightReading,
)
from firmware_bridge.scales.nci import MAX_FRAME, encode_command


def feed_every_way(data: bytes, trailing: bytes = b"\n  1.2") -> list[ScaleEvent]:
    """Whole, byte by byte, and with the start of a next reply: the same events."""
    whole = NciParser().feed(data)
    parser = NciParser()
    bytewise = [event for i in range(len(data)) for event in parser.feed(data[i : i + 1])]
    with_trailing = NciParser().feed(data + trailing)
    assert whole == bytewise == with_trailing
    return whole


def test_weight_reply_from_the_manual() -> None:
    frame = b"\n  12.34lb\r\n00\r\x03"
    assert feed_every_way(frame) == [
        WeightReading(stable=True, net=1234, decimals=2, unit="lb", net_mg=5_597_330, raw="12.34"),
        ScaleStatus(raw=frame),
    ]


def test_weight_in_motion_is_not_stable() -> None:
    frame = b"\n  0.250kg\r\n10\r\x03"
    [reading, status] = feed_every_way(frame)
    assert reading == WeightReading(
        stable=False, net=250, decimals=3, unit="kg", net_mg=250_000, raw="0.250"
    )
    assert status == ScaleStatus(motion=True, raw=frame)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b"\n00\r\x03", ScaleStatus()),
        (b"\n12\r\x03", ScaleStatus(motion=True, overload=True)),
        (b"\n21\r\x03", ScaleStatus(center_of_zero=True, underload=True)),
        (b"\n<<\r\x03", ScaleStatus(faults=("ram", "eeprom", "rom", "calibration"))),
        (b"\n00p\r\x03", ScaleStatus(net_mode=False)),  # 3rd byte: gross
        (b"\n0p4\r\x03", ScaleStatus(net_mode=True)),  # byte 2 says another follows; 3rd: net
        (b"\n0p8\r\x03", ScaleStatus(net_mode=False, outside_zero_capture=True)),
        (b"\nS10\r\x03", ScaleStatus(motion=True)),  # variant with an "S" before the bytes
        (b"\n\xb1\xb0\r\x83", ScaleStatus(motion=True)),  # 7E1 read as 8N1: parity in bit 7
    ],
)
def test_status_only_replies(frame: bytes, expected: ScaleStatus) -> None:
    assert feed_every_way(frame) == [replace(expected, raw=bytes(b & 0x7F for b in frame))]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (b"^^^^^^^lb", ScaleStatus(overload=True)),
        (b"_______kg", ScaleStatus(underload=True)),
        (b"_ _ _ _ kg", ScaleStatus(underload=True)),
        (b"--------", ScaleStatus(faults=("zero-point",))),
    ],
)
def test_out_of_range_weight_fields_fold_into_the_status(
    field: bytes, expected: ScaleStatus
) -> None:
    frame = b"\n" + field + b"\r\n00\r\x03"
    assert feed_every_way(frame) == [replace(expected, raw=frame)]


def test_pounds_and_ounces_become_ounces() -> None:
    frame = b"\n2LB 3.5OZ\r\n00\r\x03"
    assert feed_every_way(frame)[0] == WeightReading(
        stable=True, net=355, decimals=1, unit="oz", net_mg=1_006_408, raw="2LB 3.5OZ"
    )


def test_grams_without_decimal_point_and_negative_weight() -> None:
    events = feed_every_way(b"\n 1234g \r\n00\r\x03\n-  0.15kg\r\n00\r\x03")
    readings = [e for e in events if isinstance(e, WeightReading)]
    assert [(r.net, r.decimals, r.unit, r.net_mg) for r in readings] == [
        (1234, 0, "g", 1_234_000),
        (-15, 2, "kg", -150_000),
    ]


def test_unknown_command_reply() -> None:
    frame = b"\n?\r\x03"
    assert feed_every_way(frame) == [
        CommandRejected(command="", code="?", reason="unrecognized command", raw=frame)
    ]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\n1.00kg\r\n0\r\x03", "NCI status needs at least two status bytes"),
        (b"\n1.00kg\r\nAB\r\x03", "NCI status byte without bits 4 and 5 set"),
        (b"\n1.00kg\r\n00\x03", "NCI reply must be one or two <LF>...<CR> lines, then ETX"),
        (b"\na\r\nb\r\nc\r\x03", "NCI reply must be one or two <LF>...<CR> lines, then ETX"),
        (b"\x03", "NCI reply must be one or two <LF>...<CR> lines, then ETX"),
        (b"\nkg 1.00\r\n00\r\x03", "weight field 'kg 1.00' is not sign, number, unit"),
        (b"\n1.00\r\n00\r\x03", "weight field without a unit and no unit configured"),
        (b"\n1..0kg\r\n00\r\x03", "weight '1..0' is not a decimal number"),
    ],
)
def test_bad_replies_become_frame_errors(frame: bytes, reason: str) -> None:
    assert feed_every_way(frame) == [FrameError(reason=reason, raw=frame)]


def test_configured_unit_fills_a_missing_one() -> None:
    [reading, _] = NciParser(unit="kg").feed(b"\n1.00\r\n00\r\x03")
    assert isinstance(reading, WeightReading)
    assert (reading.unit, reading.net_mg) == ("kg", 1_000_000)


def test_resync_after_garbage_and_overlong_frame() -> None:
    events = feed_every_way(b"#" * 200 + b"\x03\n00\r\x03")
    assert events == [
        FrameError(reason=f"frame longer than {MAX_FRAME} bytes", raw=b"#" * MAX_FRAME),
        ScaleStatus(raw=b"\n00\r\x03"),
    ]


def test_close_reports_partial_reply() -> None:
    parser = NciParser()
    assert parser.feed(b"\n  1.00kg\r\n0") == []
    assert parser.close() == [
        FrameError(reason="incomplete frame at end of input", raw=b"\n  1.00kg\r\n0")
    ]


def test_encoders() -> None:
    assert encode_command("W") == b"W\r"
    assert encode_command("Z") == b"Z\r"


@given(st.lists(st.binary(max_size=200), max_size=12))
def test_any_bytes_never_raise_and_buffer_stays_bounded(chunks: list[bytes]) -> None:
    parser = NciParser()
    for chunk in chunks:
        parser.feed(chunk)
        assert parser.buffered_bytes < MAX_FRAME
    parser.close()


_ALPHABET = st.sampled_from([b"\n", b"\r", b"\x03", b"0", b"1", b".", b"kg", b"^", b"?", b" "])


@given(st.lists(_ALPHABET, max_size=200), st.lists(st.integers(0, 300), max_size=20))
def test_any_split_of_any_stream_gives_the_same_events(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    whole = NciParser().feed(data)
    parser = NciParser()
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    assert [e for a, b in itertools.pairwise(bounds) for e in parser.feed(data[a:b])] == whole


@given(
    st.lists(st.tuples(st.integers(-99_999, 999_999), st.booleans()), min_size=1, max_size=8),
    st.data(),
)
def test_valid_replies_parse_back_under_any_split(
    weights: list[tuple[int, bool]], data: st.DataObject
) -> None:
    stream = b"".join(
        b"\n%s%d.%02dlb\r\n%s0\r\x03"
        % (
            b"-" if cents < 0 else b" ",
            abs(cents) // 100,
            abs(cents) % 100,
            b"1" if moving else b"0",
        )
        for cents, moving in weights
    )
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    bounds = sorted({0, len(stream), *cuts})
    parser = NciParser()
    events = [e for a, b in itertools.pairwise(bounds) for e in parser.feed(stream[a:b])]
    readings = [e for e in events if isinstance(e, WeightReading)]
    assert [(r.net, r.stable) for r in readings] == [(c, not m) for c, m in weights]
