"""Toledo 8217 scale protocol (NCR/Datalogic scanner-scales, many retail bench scales), sans-I/O.

Sources: METTLER TOLEDO DIVA Service Manual ("Status Byte Format", as printed in the PSC
Magellan 8500 service manual), Brecknell 67xxU and AWT35 service manuals (8217/EH-SCP tables).

Line settings 9600 baud 7E1. The host sends one ASCII command byte:

- `W` weight: the scale answers `<STX>` weight `<CR>` when the weight is valid (no motion, in
  range), e.g. `<STX>001.234<CR>`; otherwise `<STX>?<status><CR>`;
- `Z` zero: answers with the status frame; `H` high resolution (x10) weight, like `W`.

The weight carries no unit (the scale's configured unit; some models append it): pass the unit
to the parser. The status byte bits: 0 motion, 1 over capacity, 2 under zero, 3 outside zero
capture range, 4 center of zero, 5 net weight (some models: always 1), 6 always 1, 7 parity.
Every byte is masked to 7 bits, so a 7E1 line read as 8N1 parses the same.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from ._framing import Framer
from .events import (
    CommandRejected,
    FrameError,
    Malformed,
    ScaleEvent,
    ScaleStatus,
    weight_reading,
)

Toledo8217Command = Literal["W", "Z", "H"]

STX: Final = 0x02
CR: Final = 0x0D
MAX_FRAME: Final = 32

_WEIGHT = re.compile(r" *([+-]? *[0-9.]+) *([A-Za-z]{0,3}) *")


def encode_command(command: Toledo8217Command, *, cr: bool = False) -> bytes:
    """The byte to send; some scales want a CR after it (`cr=True`)."""
    return command.encode("ascii") + (b"\r" if cr else b"")


def decode_status_byte(status: int, raw: bytes = b"") -> ScaleStatus:
    """The 8217 status byte (parity ignored) as a ScaleStatus; Malformed if bit 6 is clear."""
    if not status & 0x40:
        raise Malformed(f"status byte 0x{status:02X} lacks bit 6 (always 1)")
    return ScaleStatus(
        motion=bool(status & 0x01),
        overload=bool(status & 0x02),
        underload=bool(status & 0x04),
        outside_zero_capture=bool(status & 0x08),
        center_of_zero=bool(status & 0x10),
        net_mode=bool(status & 0x20),
        raw=raw,
    )


class Toledo8217Parser:
    """Feed bytes from the scale, get WeightReading / ScaleStatus / FrameError events."""

    def __init__(self, *, unit: str = "kg", max_frame: int = MAX_FRAME) -> None:
        self._unit = unit
        self._framer = Framer(start=STX, end=CR, max_frame=max_frame, mask7=True)

    @property
    def buffered_bytes(self) -> int:
        return self._framer.buffered_bytes

    def feed(self, data: bytes) -> list[ScaleEvent]:
        return self._parse(self._framer.feed(data))

    def close(self) -> list[ScaleEvent]:
        return self._parse(self._framer.close())

    def _parse(self, frames: list[bytes | FrameError]) -> list[ScaleEvent]:
        out: list[ScaleEvent] = []
        for frame in frames:
            if isinstance(frame, FrameError):
                out.append(frame)
                continue
            try:
                out.append(self._frame(frame))
            except Malformed as exc:
                out.append(FrameError(reason=str(exc), raw=frame))
        return out

    def _frame(self, frame: bytes) -> ScaleEvent:
        body = frame[1:-1]  # between STX and CR
        if body.startswith(b"?"):
            if len(body) == 1:
                return CommandRejected(
                    command="", code="?", reason="'?' without a status byte", raw=frame
                )
            if len(body) != 2:
                raise Malformed("status frame must hold exactly one status byte")
            return decode_status_byte(body[1], raw=frame)
        match = _WEIGHT.fullmatch(body.decode("ascii", errors="replace"))
        if match is None or match.group(1).count(".") > 1:
            raise Malformed("weight frame is not a decimal number")
        # The 8217 sends a weight only when it is valid: stable and in range.
        raw = match.group(1).replace(" ", "")
        return weight_reading(raw=raw, unit=match.group(2) or self._unit, stable=True)
