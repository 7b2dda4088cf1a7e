"""CRC-16/MODBUS known values (shared vector, specification examples) and properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.modbus import crc16, crc_ok, with_crc

VECTORS = json.loads(
    (Path(__file__).resolve().parents[3] / "shared" / "vectors" / "modbus.json").read_text()
)


def test_check_value_from_the_shared_vector() -> None:
    check = VECTORS["crc_check"]
    assert crc16(check["ascii"].encode()) == int(check["crc"], 16) == 0x4B37


@pytest.mark.parametrize(
    "frame",
    [
        "01 04 00 01 00 01 60 0A",  # shared vectors
        "01 04 02 01 31 79 74",
        "01 04 02 FF 33 B8 D5",
        "01 04 00 01 00 02 20 0B",
        "01 84 02 C2 C1",
        "11 03 00 6B 00 03 76 87",  # Modbus application protocol spec: read 108..110 of unit 17
        "11 06 00 01 00 03 9A 9B",  # and: write 3 to register 2 of unit 17
        "01 03 00 00 00 02 C4 0B",
    ],
)
def test_known_frames_carry_a_valid_crc(frame: str) -> None:
    data = bytes.fromhex(frame)
    assert crc_ok(data)
    assert with_crc(data[:-2]) == data


def test_crc_goes_low_byte_first_and_a_flipped_bit_fails() -> None:
    assert with_crc(b"123456789")[-2:] == b"\x37\x4b"
    assert not crc_ok(bytes.fromhex("01 04 02 01 31 79 75"))  # shared vector: CRC mismatch
    assert not crc_ok(b"\x01\x02\x03")  # too short to hold a CRC


def test_crc_of_nothing_is_the_initial_value() -> None:
    assert crc16(b"") == 0xFFFF


@given(st.binary(min_size=2, max_size=300))
def test_every_framed_pdu_checks_and_any_single_bit_flip_is_caught(pdu: bytes) -> None:
    frame = with_crc(pdu)
    assert crc_ok(frame)
    for bit in range(0, len(frame) * 8, 7):
        flipped = bytearray(frame)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not crc_ok(bytes(flipped))
