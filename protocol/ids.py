"""Event identifiers: UUIDv7 (RFC 9562), time-ordered, minted at the edge.

The caller supplies the clock reading and the random bits so this module stays pure and
deterministic under test.
"""

from __future__ import annotations

import uuid

_MAX_UNIX_MS = (1 << 48) - 1


def uuid7(unix_ms: int, rand: bytes) -> uuid.UUID:
    """Build a UUIDv7 from a millisecond timestamp and at least 10 random bytes."""
    if not 0 <= unix_ms <= _MAX_UNIX_MS:
        raise ValueError(f"timestamp out of UUIDv7 range: {unix_ms}")
    if len(rand) < 10:
        raise ValueError("UUIDv7 needs 10 random bytes (74 random bits)")
    rand_a = int.from_bytes(rand[0:2], "big") & 0x0FFF
    rand_b = int.from_bytes(rand[2:10], "big") & ((1 << 62) - 1)
    value = (unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


def uuid7_unix_ms(value: uuid.UUID) -> int:
    """The millisecond timestamp embedded in a UUIDv7."""
    return value.int >> 80
