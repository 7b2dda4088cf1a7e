"""Offline decoding of captured Modbus RTU bytes: request, response, pairs, bad frames."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.modbus import (
    FrameError,
    ModbusException,
    ReadRequest,
    RegistersRead,
    RegisterWritten,
    WriteRequest,
    decode_capture,
    with_crc,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[3] / "shared" / "vectors" / "modbus.json").read_text()
)


def test_every_shared_frame_decodes() -> None:
    for vector in VECTORS["frames"]:
        if "request" in vector:
            [request] = decode_capture(bytes.fromhex(vector["request"]))
            assert isinstance(request, ReadRequest)
        if "response" in vector:
            [event] = decode_capture(bytes.fromhex(vector["response"]))
            expected = {
                "exception 02, illegal data address": ModbusException,
                "CRC mismatch": FrameError,
            }.get(vector.get("error", ""), RegistersRead)
            assert isinstance(event, expected)


def test_request_then_response() -> None:
    data = bytes.fromhex("01 04 00 01 00 02 20 0B") + with_crc(
        bytes.fromhex("01 04 04 01 31 02 22")
    )
    assert decode_capture(data) == [
        ReadRequest(unit=1, function=4, address=1, count=2),
        RegistersRead(unit=1, function=4, values=(0x0131, 0x0222), address=1),
    ]


def test_lone_response_has_no_address() -> None:
    assert decode_capture(bytes.fromhex("01 04 02 01 31 79 74")) == [
        RegistersRead(unit=1, function=4, values=(0x0131,), address=None)
    ]


def test_response_not_matching_the_request_before_it() -> None:
    request = bytes.fromhex("01 04 00 01 00 01 60 0A")
    response = with_crc(bytes.fromhex("01 04 04 01 31 02 22"))
    assert decode_capture(request + response)[1] == FrameError(
        reason="wrong length: 4 data bytes for 1 registers", raw=response
    )


def test_write_request_and_its_echo() -> None:
    frame = bytes.fromhex("11 06 00 01 00 03 9A 9B")
    assert decode_capture(frame + frame) == [
        WriteRequest(unit=17, address=1, value=3),
        RegisterWritten(unit=17, address=1, value=3),
    ]


def test_crc_mismatch_names_both_values_and_noise_is_kept() -> None:
    assert decode_capture(bytes.fromhex("01 04 02 01 31 79 75")) == [
        FrameError(
            reason="CRC mismatch: frame carries 0x7579, computed 0x7479",
            raw=bytes.fromhex("01 04 02 01 31 79 75"),
        )
    ]
    noise = b"\xff\xfe"
    assert decode_capture(noise + bytes.fromhex("01 84 02 C2 C1")) == [
        FrameError(reason="bytes that start no valid frame", raw=noise),
        ModbusException(unit=1, function=4, code=2, meaning="illegal data address"),
    ]


@given(st.binary(max_size=300))
def test_any_capture_decodes_without_raising_and_accounts_for_its_bytes(data: bytes) -> None:
    events = decode_capture(data)
    assert bool(events) == bool(data)
    assert sum(len(e.raw) for e in events if isinstance(e, FrameError)) <= len(data)
