"""Modbus RTU master: shared vectors, one request in flight, timeouts, resync, properties."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.modbus import (
    FrameError,
    ModbusEvent,
    ModbusException,
    ReadRequest,
    RegistersRead,
    RegisterWritten,
    RequestPending,
    RequestTimedOut,
    RtuMaster,
    WriteRequest,
    decode_probe,
    encode_request,
    probe_model,
    with_crc,
)
from firmware_bridge.readings import ProbeSample

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "modbus.json"
FRAMES: list[dict[str, Any]] = json.loads(VECTORS.read_text())["frames"]
READ_TEMP = ReadRequest(unit=1, function=4, address=1, count=1)


def feed_every_way(request: ReadRequest | WriteRequest, data: bytes) -> list[ModbusEvent]:
    """Whole, byte by byte, and with the start of a next frame: the same events."""

    def master() -> RtuMaster:
        m = RtuMaster(response_timeout_s=1.0)
        m.send(request, now=0.0)
        return m

    whole = master().feed(data)
    bytewise_master = master()
    bytewise = [e for i in range(len(data)) for e in bytewise_master.feed(data[i : i + 1])]
    with_trailing = master().feed(data + b"\x01\x04")
    assert whole == bytewise == with_trailing
    return whole


def test_shared_request_vectors_encode_exactly() -> None:
    requests = [bytes.fromhex(v["request"]) for v in FRAMES if "request" in v]
    assert requests == [
        encode_request(READ_TEMP),
        encode_request(READ_TEMP),
        encode_request(ReadRequest(unit=1, function=4, address=1, count=2)),
    ]
    assert RtuMaster().read_input_registers(1, 1, 2, now=0.0) == requests[2]


@pytest.mark.parametrize(
    "vector", [v for v in FRAMES if "response" in v], ids=lambda v: v["response"]
)
def test_shared_response_vectors(vector: dict[str, Any]) -> None:
    response = bytes.fromhex(vector["response"])
    [event] = feed_every_way(READ_TEMP, response)
    if "temperature_c" in vector:
        assert isinstance(event, RegistersRead)
        [sample] = decode_probe(probe_model("sht20"), event)[:1]
        assert isinstance(sample, ProbeSample)
        assert sample.value_centi == round(float(vector["temperature_c"]) * 100)
    elif "exception 02" in vector["error"]:
        assert event == ModbusException(unit=1, function=4, code=2, meaning="illegal data address")
    else:
        assert event == FrameError(
            reason="CRC mismatch: frame carries 0x7579, computed 0x7479", raw=response
        )


def test_read_answered_clears_the_request() -> None:
    master = RtuMaster()
    master.read_input_registers(1, 1, 2, now=0.0)
    outstanding = master.pending
    assert outstanding == ReadRequest(unit=1, function=4, address=1, count=2)
    response = with_crc(bytes.fromhex("01 04 04 01 31 02 22"))
    assert master.feed(response) == [
        RegistersRead(unit=1, function=4, values=(0x0131, 0x0222), address=1)
    ]
    assert master.pending is None
    assert master.poll_timeout(10.0) == []


def test_spec_example_holding_registers() -> None:
    request = ReadRequest(unit=17, function=3, address=0x6B, count=3)
    assert encode_request(request) == bytes.fromhex("11 03 00 6B 00 03 76 87")
    response = with_crc(bytes.fromhex("11 03 06 02 2B 00 00 00 64"))
    assert feed_every_way(request, response) == [
        RegistersRead(unit=17, function=3, values=(0x022B, 0, 0x64), address=0x6B)
    ]


def test_write_single_register_echo() -> None:
    request = WriteRequest(unit=17, address=1, value=3)
    frame = bytes.fromhex("11 06 00 01 00 03 9A 9B")
    assert encode_request(request) == frame
    assert feed_every_way(request, frame) == [RegisterWritten(unit=17, address=1, value=3)]
    wrong_echo = with_crc(bytes.fromhex("11 06 00 01 00 04"))
    assert feed_every_way(request, wrong_echo) == [
        FrameError(reason="write echo does not match the request", raw=wrong_echo)
    ]


def test_broadcast_write_expects_no_answer() -> None:
    master = RtuMaster()
    assert master.write_register(0, 5, 1, now=0.0) == with_crc(bytes.fromhex("00 06 00 05 00 01"))
    assert master.pending is None
    master.read_holding_registers(1, 0, 1, now=0.0)  # no RequestPending


def test_exception_response_ends_the_request() -> None:
    master = RtuMaster()
    master.read_holding_registers(2, 0x100, 1, now=0.0)
    assert master.feed(with_crc(bytes.fromhex("02 83 06"))) == [
        ModbusException(unit=2, function=3, code=6, meaning="server device busy")
    ]
    assert master.pending is None


def test_timeout_fires_only_after_the_deadline_and_reports_partial_bytes() -> None:
    master = RtuMaster(response_timeout_s=0.5)
    master.read_input_registers(1, 1, 1, now=100.0)
    assert master.feed(b"\x01\x04\x02\x01") == []
    assert master.buffered_bytes == 4
    assert master.poll_timeout(100.49) == []
    assert master.poll_timeout(100.5) == [
        FrameError(reason="incomplete response at the timeout", raw=b"\x01\x04\x02\x01"),
        RequestTimedOut(request=READ_TEMP),
    ]
    assert master.pending is None
    assert master.buffered_bytes == 0
    assert master.poll_timeout(200.0) == []


def test_late_reply_after_timeout_is_reported_not_taken_as_data() -> None:
    master = RtuMaster(response_timeout_s=0.2)
    master.read_input_registers(1, 1, 1, now=0.0)
    assert master.poll_timeout(1.0) == [RequestTimedOut(request=READ_TEMP)]
    late = bytes.fromhex("01 04 02 01 31 79 74")
    assert master.feed(late) == [
        FrameError(
            reason="response with no request outstanding (a late reply after a timeout?)",
            raw=late,
        )
    ]


def test_one_request_in_flight() -> None:
    master = RtuMaster()
    master.read_input_registers(1, 1, 1, now=0.0)
    with pytest.raises(RequestPending):
        master.read_input_registers(1, 1, 1, now=0.1)


def test_response_from_another_unit_keeps_waiting_for_ours() -> None:
    other = with_crc(bytes.fromhex("02 04 02 00 10"))
    ours = bytes.fromhex("01 04 02 01 31 79 74")
    assert feed_every_way(READ_TEMP, other + ours) == [
        FrameError(reason="response from unit 2, expected unit 1", raw=other),
        RegistersRead(unit=1, function=4, values=(0x0131,), address=1),
    ]


def test_wrong_function_and_wrong_length() -> None:
    holding = with_crc(bytes.fromhex("01 03 02 00 10"))
    assert feed_every_way(READ_TEMP, holding) == [
        FrameError(reason="response for function 3, expected function 4", raw=holding)
    ]
    too_long = with_crc(bytes.fromhex("01 04 04 00 10 00 20"))
    assert feed_every_way(READ_TEMP, too_long) == [
        FrameError(reason="wrong length: 4 data bytes for 1 registers", raw=too_long)
    ]


def test_noise_before_a_response_is_reported_then_the_response_parsed() -> None:
    noise = b"\xff\x00\xfe"
    response = bytes.fromhex("01 04 02 FF 33 B8 D5")
    assert feed_every_way(READ_TEMP, noise + response) == [
        FrameError(reason="bytes that start no valid frame", raw=noise),
        RegistersRead(unit=1, function=4, values=(0xFF33,), address=1),
    ]


def test_leftover_bytes_are_reported_when_the_next_request_starts() -> None:
    master = RtuMaster()
    master.write_register(0, 1, 1, now=0.0)  # broadcast: nothing outstanding
    assert master.feed(b"\x01\x04") == []
    master.read_input_registers(1, 1, 1, now=0.0)
    assert master.feed(bytes.fromhex("01 04 02 01 31 79 74")) == [
        FrameError(reason="bytes left unanswered when a new request started", raw=b"\x01\x04"),
        RegistersRead(unit=1, function=4, values=(0x0131,), address=1),
    ]


def test_close_reports_held_bytes() -> None:
    master = RtuMaster()
    master.read_input_registers(1, 1, 1, now=0.0)
    master.feed(b"\x01\x04\x02")
    assert master.close() == [
        FrameError(reason="incomplete frame at end of input", raw=b"\x01\x04\x02")
    ]


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (ReadRequest(unit=0, function=3, address=0, count=1), "reads cannot be broadcast"),
        (ReadRequest(unit=248, function=3, address=0, count=1), "unit 248 outside 1..247"),
        (ReadRequest(unit=1, function=3, address=0, count=0), "register count 0 outside"),
        (ReadRequest(unit=1, function=3, address=0, count=126), "register count 126 outside"),
        (ReadRequest(unit=1, function=3, address=0xFFFF, count=2), "register count 2 outside"),
        (ReadRequest(unit=1, function=3, address=-1, count=1), "address -1 outside"),
        (WriteRequest(unit=1, address=0, value=0x10000), "value 65536 outside"),
        (WriteRequest(unit=248, address=0, value=1), "unit 248 outside 0..247"),
    ],
)
def test_out_of_range_requests_are_refused(
    request_: ReadRequest | WriteRequest, reason: str
) -> None:
    master = RtuMaster()
    with pytest.raises(ValueError, match=reason):
        master.send(request_, now=0.0)
    assert master.pending is None


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        RtuMaster(response_timeout_s=0)


@given(st.lists(st.binary(max_size=600), max_size=10), st.booleans())
def test_any_bytes_never_raise_and_buffer_stays_bounded(chunks: list[bytes], pending: bool) -> None:
    master = RtuMaster(max_junk=64)
    if pending:
        master.read_holding_registers(1, 0, 10, now=0.0)
    for chunk in chunks:
        master.feed(chunk)
        assert master.buffered_bytes < 260 + 64
    master.poll_timeout(5.0)
    master.close()


_ALPHABET = st.sampled_from(
    [b"\x01", b"\x04", b"\x02", b"\x84", b"\x00", b"\xff", bytes.fromhex("01 04 02 01 31 79 74")]
)


@given(st.lists(_ALPHABET, max_size=80), st.lists(st.integers(0, 300), max_size=20))
def test_any_split_of_any_stream_gives_the_same_events(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    whole_master = RtuMaster(max_junk=16)
    whole_master.send(READ_TEMP, now=0.0)
    whole = whole_master.feed(data)
    master = RtuMaster(max_junk=16)
    master.send(READ_TEMP, now=0.0)
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    assert [e for a, b in itertools.pairwise(bounds) for e in master.feed(data[a:b])] == whole


@given(
    st.integers(1, 247),
    st.sampled_from([3, 4]),
    st.integers(0, 1000),
    st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=125),
    st.data(),
)
def test_valid_responses_parse_back_under_any_split(
    unit: int, function: int, address: int, values: list[int], data: st.DataObject
) -> None:
    request = ReadRequest(
        unit=unit, function=3 if function == 3 else 4, address=address, count=len(values)
    )
    payload = b"".join(v.to_bytes(2, "big") for v in values)
    response = with_crc(bytes([unit, function, len(payload)]) + payload)
    cuts = data.draw(st.lists(st.integers(0, len(response)), max_size=6))
    master = RtuMaster()
    master.send(request, now=0.0)
    bounds = sorted({0, len(response), *cuts})
    events = [e for a, b in itertools.pairwise(bounds) for e in master.feed(response[a:b])]
    assert events == [
        RegistersRead(unit=unit, function=function, values=tuple(values), address=address)
    ]
