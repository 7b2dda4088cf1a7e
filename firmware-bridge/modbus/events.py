"""What the Modbus RTU master yields: small frozen Structs, register values as unsigned 16-bit."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

import msgspec

ReadFunction = Literal[3, 4]
"""3 read holding registers, 4 read input registers."""

EXCEPTION_MEANINGS: Final[Mapping[int, str]] = MappingProxyType(
    {
        1: "illegal function",
        2: "illegal data address",
        3: "illegal data value",
        4: "server device failure",
        5: "acknowledge (long operation in progress)",
        6: "server device busy",
        8: "memory parity error",
        10: "gateway path unavailable",
        11: "gateway target device failed to respond",
    }
)


class ReadRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A read of `count` registers from `address` (0-based protocol address)."""

    unit: int
    function: ReadFunction
    address: int
    count: int


class WriteRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Function 6: write one holding register."""

    unit: int
    address: int
    value: int
    function: Literal[6] = 6


Request = ReadRequest | WriteRequest


class RegistersRead(msgspec.Struct, frozen=True, kw_only=True):
    """A read answered: `values[i]` is the register at `address + i`, unsigned 16-bit.

    `address` is None only when a lone response is decoded without its request.
    """

    unit: int
    function: int
    values: tuple[int, ...]
    address: int | None = None


class RegisterWritten(msgspec.Struct, frozen=True, kw_only=True):
    """Function 6 confirmed: the device echoed the address and value."""

    unit: int
    address: int
    value: int


class ModbusException(msgspec.Struct, frozen=True, kw_only=True):
    """An exception response (function | 0x80): the device refused the request."""

    unit: int
    function: int
    code: int
    meaning: str


class RequestTimedOut(msgspec.Struct, frozen=True, kw_only=True):
    """No complete response before the deadline; the request is abandoned."""

    request: Request


class FrameError(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes that are not a valid, expected frame, with the reason (bad CRC, wrong unit...)."""

    reason: str
    raw: bytes


ModbusEvent = (
    RegistersRead | RegisterWritten | ModbusException | RequestTimedOut | FrameError | Request
)
"""`Request` appears only in decoded captures (see `explain`), never from the master."""


def exception_meaning(code: int) -> str:
    return EXCEPTION_MEANINGS.get(code, f"unknown exception code {code}")


def signed16(value: int) -> int:
    """An unsigned 16-bit register value read as two's complement."""
    return value - 0x10000 if value & 0x8000 else value
