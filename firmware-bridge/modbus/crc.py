"""CRC-16/MODBUS: polynomial 0x8005 reflected (0xA001), initial value 0xFFFF, no final XOR.

On the wire the CRC follows the frame low byte first. Check value: `crc16(b"123456789") == 0x4B37`.
"""

from __future__ import annotations

from typing import Final


def _table() -> tuple[int, ...]:
    rows = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        rows.append(crc)
    return tuple(rows)


_TABLE: Final = _table()


def crc16(data: bytes) -> int:
    """The CRC-16/MODBUS of `data`."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def with_crc(pdu: bytes) -> bytes:
    """`pdu` (address + function + data) followed by its CRC, low byte first."""
    return pdu + crc16(pdu).to_bytes(2, "little")


def crc_ok(frame: bytes) -> bool:
    """True when the last two bytes of `frame` are the CRC of the bytes before them."""
    return len(frame) >= 4 and crc16(frame[:-2]) == int.from_bytes(frame[-2:], "little")


def crc_mismatch(frame: bytes) -> str:
    """A technician's reason for a frame whose CRC is wrong: what it carries, what it should."""
    received = int.from_bytes(frame[-2:], "little")
    return f"CRC mismatch: frame carries 0x{received:04X}, computed 0x{crc16(frame[:-2]):04X}"
