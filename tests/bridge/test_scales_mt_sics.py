"""MT-SICS parser: shared vectors, reference-manual replies, framing and property tests."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.scales import (
    CommandAck,
    CommandRejected,
    FrameError,
    MtSicsParser,
    OtherReply,
    ScaleEvent,
    ScaleStatus,
    SerialNumber,
    TareReading,
    WeightReading,
)
from firmware_bridge.scales.mt_sics import MAX_LINE, encode_command, encode_preset_tare

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "scales.json"
MT_SICS_VECTORS: list[dict[str, Any]] = json.loads(VECTORS.read_text())["mt_sics"]["responses"]


def feed_every_way(data: bytes, trailing: bytes = b"S S     1") -> list[ScaleEvent]:
    """h11's test_io idea: whole, byte by byte, and with trailing data give the same events."""
    whole = MtSicsParser().feed(data)
    parser = MtSicsParser()
    bytewise = [event for i in range(len(data)) for event in parser.feed(data[i : i + 1])]
    with_trailing = MtSicsParser().feed(data + trailing)
    assert whole == bytewise == with_trailing
    return whole


def scaled(raw: str) -> tuple[int, int]:
    whole, _, fraction = raw.lstrip("+-").partition(".")
    value = int(whole + fraction)
    return (-value if raw.startswith("-") else value), len(fraction)


@pytest.mark.parametrize("vector", MT_SICS_VECTORS, ids=lambda v: v["line"])
def test_shared_vector(vector: dict[str, Any]) -> None:
    [event] = feed_every_way(vector["line"].encode("ascii") + b"\r\n")
    if "value" in vector:
        assert isinstance(event, WeightReading)
        net, decimals = scaled(vector["value"])
        assert (event.net, event.decimals, event.unit, event.raw) == (
            net,
            decimals,
            vector["unit"],
            vector["value"],
        )
        assert event.stable is vector["stable"]
    elif "tare" in vector:
        assert isinstance(event, TareReading)
        assert (event.raw, event.unit, event.stable) == (vector["tare"], vector["unit"], True)
    elif "ok" in vector:
        assert event == CommandAck(command="Z", detail=vector["ok"])
    else:
        expected = {
            "command understood but not executable now": ScaleStatus(busy=True, raw=b"S I"),
            "overload": ScaleStatus(overload=True, raw=b"S +"),
            "underload": ScaleStatus(underload=True, raw=b"S -"),
        }.get(vector["error"])
        if expected is None:
            assert isinstance(event, CommandRejected)
            assert event.code == vector["line"]
            assert event.reason.startswith(vector["error"])
        else:
            assert event == expected


def test_weights_in_integer_milligrams() -> None:
    events = feed_every_way(b"S S     100.00 g\r\nS S      -0.35 kg\r\nS D       1.25 lb\r\n")
    assert [e.net_mg for e in events if isinstance(e, WeightReading)] == [
        100_000,
        -350_000,
        566_990,
    ]
    assert events[0] == WeightReading(
        stable=True, net=10000, decimals=2, unit="g", net_mg=100_000, raw="100.00"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'I4 A "B021002593"', SerialNumber(serial="B021002593")),
        (b"Z A", CommandAck(command="Z", detail="zeroed")),
        (b"ZI D", CommandAck(command="ZI", detail="zeroed at a dynamic (non-stable) weight")),
        (b"TAC A", CommandAck(command="TAC", detail="tare cleared")),
        (
            b"TA A      12.5 g",
            TareReading(
                command="TA", stable=True, tare=125, decimals=1, unit="g", tare_mg=12500, raw="12.5"
            ),
        ),
        (
            b"TI D       0.020 kg",
            TareReading(
                command="TI",
                stable=False,
                tare=20,
                decimals=3,
                unit="kg",
                tare_mg=20000,
                raw="0.020",
            ),
        ),
        (
            b"Z I",
            CommandRejected(
                command="Z",
                code="I",
                reason=(
                    "command understood but not executable now (busy, or no stable weight in time)"
                ),
                raw=b"Z I",
            ),
        ),
        (
            b"Z +",
            CommandRejected(
                command="Z",
                code="+",
                reason="upper limit of the zero setting range exceeded",
                raw=b"Z +",
            ),
        ),
        (
            b"T -",
            CommandRejected(
                command="T", code="-", reason="lower limit of the taring range exceeded", raw=b"T -"
            ),
        ),
        (
            b"TA L",
            CommandRejected(
                command="TA",
                code="L",
                reason="logical error: parameter wrong or not allowed",
                raw=b"TA L",
            ),
        ),
        (
            b'I2 A "PB3002-S DeltaRange" "3100.0 g"',
            OtherReply(
                command="I2",
                status="A",
                params=('"PB3002-S DeltaRange"', '"3100.0 g"'),
                raw=b'I2 A "PB3002-S DeltaRange" "3100.0 g"',
            ),
        ),
        (
            b"S S    1.5 PCS",
            WeightReading(stable=True, net=15, decimals=1, unit="PCS", net_mg=None, raw="1.5"),
        ),
        (
            b"S S  0.10000 KG",
            WeightReading(
                stable=True, net=10000, decimals=5, unit="kg", net_mg=100000, raw="0.10000"
            ),
        ),
    ],
    ids=lambda v: v.decode() if isinstance(v, bytes) else "",
)
def test_reference_manual_replies(line: bytes, expected: ScaleEvent) -> None:
    assert feed_every_way(line + b"\r\n") == [expected]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"S S  abc g", "weight 'abc' is not a decimal number"),
        (b"S S  1.2.3 g", "weight '1.2.3' is not a decimal number"),
        (b"S S  100.00", "weight reply needs exactly a value and a unit"),
        (b"S X", "unknown MT-SICS status 'X'"),
        (b"hello world", "not an MT-SICS reply (expected: ID status [parameters])"),
        (b"S", "not an MT-SICS reply (expected: ID status [parameters])"),
        (b"S S\x01 1 g", "control character inside an MT-SICS line"),
        (b"I4 A", "I4 reply without exactly one serial number"),
        (b"S + 12", "unexpected parameters after weight status '+'"),
    ],
)
def test_bad_lines_become_frame_errors(line: bytes, reason: str) -> None:
    assert feed_every_way(line + b"\r\n") == [FrameError(reason=reason, raw=line + b"\r\n")]


def test_resyncs_after_a_bad_line_and_skips_blank_lines() -> None:
    events = feed_every_way(b"\xff\xfe garbage\r\n\r\nS S     2.00 g\r\n")
    assert isinstance(events[0], FrameError)
    assert events[1:] == [
        WeightReading(stable=True, net=200, decimals=2, unit="g", net_mg=2000, raw="2.00")
    ]


def test_overlong_line_is_cut_reported_once_and_resynced() -> None:
    junk = b"X" * (MAX_LINE * 3)
    events = feed_every_way(junk + b"\r\nS S     1 g\r\n")
    assert events == [
        FrameError(reason=f"frame longer than {MAX_LINE} bytes", raw=b"X" * MAX_LINE),
        WeightReading(stable=True, net=1, decimals=0, unit="g", net_mg=1000, raw="1"),
    ]


def test_line_feed_only_is_accepted_and_partial_line_reported_at_close() -> None:
    parser = MtSicsParser()
    assert parser.feed(b"S S 5 g\nS S 6") == [
        WeightReading(stable=True, net=5, decimals=0, unit="g", net_mg=5000, raw="5")
    ]
    assert parser.buffered_bytes == 5
    assert parser.close() == [FrameError(reason="incomplete frame at end of input", raw=b"S S 6")]
    assert parser.close() == []


def test_encoders() -> None:
    assert encode_command("S") == b"S\r\n"
    assert encode_command("SIR") == b"SIR\r\n"
    assert encode_command("I4") == b"I4\r\n"
    assert encode_preset_tare(5000, 2, "g") == b"TA 50.00 g\r\n"
    assert encode_preset_tare(-5, 3, "kg") == b"TA -0.005 kg\r\n"
    assert encode_preset_tare(7, 0, "lb") == b"TA 7 lb\r\n"
    with pytest.raises(ValueError, match="unit"):
        encode_preset_tare(1, 0, "g\r\nZ")


@given(st.lists(st.binary(max_size=400), max_size=12))
def test_any_bytes_never_raise_and_buffer_stays_bounded(chunks: list[bytes]) -> None:
    parser = MtSicsParser()
    for chunk in chunks:
        parser.feed(chunk)
        assert parser.buffered_bytes < MAX_LINE
    parser.close()


_ALPHABET = st.sampled_from([b"\r", b"\n", b"S", b" ", b"D", b"1", b".", b"g", b"\x00", b'"'])


@given(st.lists(_ALPHABET, max_size=300), st.lists(st.integers(0, 300), max_size=20))
def test_any_split_of_any_stream_gives_the_same_events(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    whole = MtSicsParser().feed(data)
    parser = MtSicsParser()
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    split = [e for a, b in itertools.pairwise(bounds) for e in parser.feed(data[a:b])]
    assert split == whole


@given(
    st.lists(
        st.tuples(
            st.integers(-(10**8), 10**8), st.integers(0, 5), st.sampled_from(["g", "kg", "lb"])
        ),
        min_size=1,
        max_size=8,
    ),
    st.data(),
)
def test_formatted_weights_parse_back_under_any_split(
    weights: list[tuple[int, int, str]], data: st.DataObject
) -> None:
    lines = []
    for value, decimals, unit in weights:
        digits = str(abs(value)).rjust(decimals + 1, "0")
        text = digits if decimals == 0 else f"{digits[:-decimals]}.{digits[-decimals:]}"
        lines.append(f"S S {('-' if value < 0 else '') + text:>10} {unit}\r\n".encode())
    stream = b"".join(lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    parser = MtSicsParser()
    events = [
        e
        for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)
        for e in parser.feed(stream[a:b])
    ]
    assert [(e.net, e.decimals, e.unit) for e in events if isinstance(e, WeightReading)] == weights
    assert len(events) == len(weights)


def test_a_line_of_non_ascii_blanks_is_a_frame_error() -> None:
    # Found by hypothesis: 0xA0 decodes to a no-break space, which the tokenizer skips.
    events = MtSicsParser().feed(b"\xa0\r\n")
    assert len(events) == 1
    assert isinstance(events[0], FrameError)
