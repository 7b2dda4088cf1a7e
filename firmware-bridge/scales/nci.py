"""NCI General Serial Protocol (Weigh-Tronix/Avery "SCP-01", NCI/Brecknell bench scales), sans-I/O.

Sources: Avery Weigh-Tronix 7821 User Instructions §6.3 "NCI Communications Protocol"; NCI
7800 Family Weight Classifiers User's Manual, "NCI Serial Communications Protocol"; Salter
Brecknell 3700LP and 67xxU manuals (over/under capacity fields); status bit tables as printed
in the METTLER TOLEDO DIVA / Ohaus Aviator 7000 service manuals ("Scale Status Command: S").

The host sends a letter and CR; every reply ends in ETX:

- `W<CR>`: `<LF>xxxx.xxuu<CR><LF>hh<CR><ETX>`: weight with sign and unit, then the status
  bytes; some scales send only `<LF>hh<CR><ETX>` while in motion or out of range; the weight
  field is `^^^^^^^` over capacity, `_______` under capacity, `-------` zero-point error;
  pounds-ounces come as `xLB xx.xOZ`;
- `S<CR>` status, `Z<CR>` zero, `T<CR>` tare: `<LF>hh<CR><ETX>`; `H<CR>`: weight x10;
- an unknown command: `<LF>?<CR><ETX>`.

Status bytes (two or more, some scales prefix an `S`; bits 4 and 5 always 1, 7 parity):
byte 1: 0 motion, 1 at zero, 2 RAM error, 3 EEPROM error; byte 2: 0 under capacity, 1 over
capacity, 2 ROM error, 3 faulty calibration, 6 another byte follows; byte 3: 0-1 range,
2 net weight, 3 initial zero error. Bytes are masked to 7 bits (7E1 read as 8N1).
"""

from __future__ import annotations

import re
from typing import Final, Literal

from msgspec.structs import replace

from ._framing import Framer
from .events import (
    CommandRejected,
    FrameError,
    Malformed,
    ScaleEvent,
    ScaleStatus,
    WeightReading,
    scaled_decimal,
    to_mg,
    weight_reading,
)

NciCommand = Literal["W", "S", "Z", "T", "H"]

ETX: Final = 0x03
MAX_FRAME: Final = 64

_WEIGHT = re.compile(r"([+-]?) *([0-9.]+) *([A-Za-z]*)")
_LB_OZ = re.compile(r"([+-]?) *(\d+) *LB +([0-9.]+) *OZ", re.IGNORECASE)
# Over capacity, under capacity, zero-point error: the field filled with one mark, then the unit.
_OUT_OF_RANGE = re.compile(r"[+-]? *([\^_-])(?: *\1)* *[A-Za-z]*")


def encode_command(command: NciCommand) -> bytes:
    """The bytes to send for a command, CR included."""
    return command.encode("ascii") + b"\r"


def decode_status_bytes(status: bytes, raw: bytes = b"") -> ScaleStatus:
    """Two or more NCI status bytes (optionally after an `S`) as a ScaleStatus. Raises Malformed."""
    status = status.removeprefix(b"S")
    if len(status) < 2:
        raise Malformed("NCI status needs at least two status bytes")
    if any(b & 0x30 != 0x30 for b in status):
        raise Malformed("NCI status byte without bits 4 and 5 set")
    first, second = status[0], status[1]
    third = status[2] if len(status) > 2 else None
    fault_bits = (
        (first & 0x04, "ram"),
        (first & 0x08, "eeprom"),
        (second & 0x04, "rom"),
        (second & 0x08, "calibration"),
    )
    return ScaleStatus(
        motion=bool(first & 0x01),
        center_of_zero=bool(first & 0x02),
        underload=bool(second & 0x01),
        overload=bool(second & 0x02),
        net_mode=None if third is None else bool(third & 0x04),
        outside_zero_capture=third is not None and bool(third & 0x08),
        faults=tuple(name for bit, name in fault_bits if bit),
        raw=raw,
    )


class NciParser:
    """Feed bytes from the scale, get WeightReading, ScaleStatus, CommandRejected, FrameError.

    `unit` is used only when a weight field carries no unit.
    """

    def __init__(self, *, unit: str | None = None, max_frame: int = MAX_FRAME) -> None:
        self._unit = unit
        self._framer = Framer(end=ETX, max_frame=max_frame, mask7=True)

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
                out.extend(self._frame(frame))
            except Malformed as exc:
                out.append(FrameError(reason=str(exc), raw=frame))
        return out

    def _frame(self, frame: bytes) -> list[ScaleEvent]:
        *lines, tail = frame[:-1].split(b"\r")
        if tail or not 1 <= len(lines) <= 2:
            raise Malformed("NCI reply must be one or two <LF>...<CR> lines, then ETX")
        fields = [line.removeprefix(b"\n") for line in lines]
        if fields == [b"?"]:
            return [CommandRejected(command="", code="?", reason="unrecognized command", raw=frame)]
        status = decode_status_bytes(fields[-1], raw=frame)
        if len(fields) == 1:
            return [status]
        text = fields[0].decode("ascii", errors="replace").strip(" ")
        out_of_range = _OUT_OF_RANGE.fullmatch(text)
        if out_of_range is not None:
            # The weight field itself says why there is no weight: fold it into the status.
            mark = out_of_range.group(1)
            if mark == "^":
                return [replace(status, overload=True)]
            if mark == "_":
                return [replace(status, underload=True)]
            return [replace(status, faults=(*status.faults, "zero-point"))]
        return [self._weight(text, stable=not status.motion), status]

    def _weight(self, text: str, *, stable: bool) -> WeightReading:
        lb_oz = _LB_OZ.fullmatch(text)
        if lb_oz is not None:
            sign, pounds, ounces = lb_oz.groups()
            oz, decimals = scaled_decimal(ounces)
            total = int(pounds) * 16 * 10**decimals + oz
            total = -total if sign == "-" else total
            return WeightReading(
                stable=stable,
                net=total,
                decimals=decimals,
                unit="oz",
                net_mg=to_mg(total, decimals, "oz"),
                raw=text,
            )
        match = _WEIGHT.fullmatch(text)
        if match is None:
            raise Malformed(f"weight field {text!r} is not sign, number, unit")
        sign, number, unit = match.groups()
        unit = unit or self._unit or ""
        if not unit:
            raise Malformed("weight field without a unit and no unit configured")
        return weight_reading(raw=sign + number, unit=unit, stable=stable)
