"""METTLER TOLEDO Standard Interface Command Set (MT-SICS), levels 0 and 1, sans-I/O.

Source: METTLER TOLEDO, "MT-SICS Interface Commands" reference manuals (New Classic balances
11780711, weigh modules, XPR/XSR), sections "Response formats" and "Error messages".

Commands and replies are ASCII lines ending in CR LF. A reply is `ID SP Status [SP params]`:

- with a weight value: `S S     100.00 g` — status `S` stable, `D` dynamic (in motion); the
  value is right-aligned in 10 characters with its sign and decimal point, then the unit;
- without a weight value: `Z A`, `I4 A "B021002593"` — status `A` executed, `B` more lines
  follow, `I` understood but not executable now (busy, or stability timeout), `L` logical
  error (parameter), `+` / `-` upper / lower limit exceeded (for `S`: overload / underload);
- general errors, alone on their line: `ES` syntax error (command not recognized), `ET`
  transmission error (parity, line too long), `EL` logical error (cannot execute).

    parser = MtSicsParser()
    port.write(encode_command("SIR"))
    for event in parser.feed(port.read(64)): ...
"""

from __future__ import annotations

import re
from typing import Final, Literal

from ._framing import Framer
from .events import (
    CommandAck,
    CommandRejected,
    FrameError,
    Malformed,
    OtherReply,
    ScaleEvent,
    ScaleStatus,
    SerialNumber,
    TareReading,
    canonical_unit,
    scaled_decimal,
    to_mg,
    weight_reading,
)

MtSicsCommand = Literal["S", "SI", "SIR", "Z", "ZI", "T", "TI", "TA", "TAC", "I4", "@"]
"""S stable weight; SI weight now; SIR weight now and repeat (stop with `@`); Z zero when
stable; ZI zero now; T tare when stable; TI tare now; TA query tare; TAC clear tare; I4 serial
number; @ cancel/reset (answers with the I4 reply)."""

MAX_LINE: Final = 256

_WEIGHT_IDS: Final = frozenset({"S", "SI", "SIR", "SU", "SIU", "SIRU", "SR", "SNR", "SNRU", "SRU"})
_TARE_IDS: Final = frozenset({"T", "TI", "TA"})
_ZERO_IDS: Final = frozenset({"Z", "ZI"})
_ZERO_DETAILS: Final = {
    "A": "zeroed",
    "S": "zeroed at a stable weight",
    "D": "zeroed at a dynamic (non-stable) weight",
}
_GENERAL_ERRORS: Final = {
    "ES": "syntax error: the scale did not recognize the command",
    "ET": "transmission error: parity error or command line too long",
    "EL": "logical error: the command cannot be executed",
}
_ID = re.compile(r"[A-Z@][A-Z0-9]{0,7}")
_TOKEN = re.compile(r'"[^"]*"|\S+')
_LIMITS: Final = {
    ("+", "Z"): "upper limit of the zero setting range exceeded",
    ("-", "Z"): "lower limit of the zero setting range exceeded",
    ("+", "T"): "upper limit of the taring range exceeded",
    ("-", "T"): "lower limit of the taring range exceeded",
}


def encode_command(command: MtSicsCommand) -> bytes:
    """The bytes to send for a command, CR LF included."""
    return command.encode("ascii") + b"\r\n"


def encode_preset_tare(tare: int, decimals: int, unit: str) -> bytes:
    """`TA <value> <unit>`: set a preset tare (e.g. a known container), value scaled by decimals."""
    if decimals < 0 or not re.fullmatch(r"[A-Za-z%]{1,5}", unit):
        raise ValueError("decimals must be >= 0 and unit 1-5 letters")
    sign = "-" if tare < 0 else ""
    digits = str(abs(tare)).rjust(decimals + 1, "0")
    value = digits if decimals == 0 else f"{digits[:-decimals]}.{digits[-decimals:]}"
    return f"TA {sign}{value} {unit}\r\n".encode("ascii")


class MtSicsParser:
    """Feed bytes from the scale, get typed events; bad lines become FrameError, never raise."""

    def __init__(self, *, max_line: int = MAX_LINE) -> None:
        self._framer = Framer(end=0x0A, max_frame=max_line)

    @property
    def buffered_bytes(self) -> int:
        return self._framer.buffered_bytes

    def feed(self, data: bytes) -> list[ScaleEvent]:
        return self._parse(self._framer.feed(data))

    def close(self) -> list[ScaleEvent]:
        """End of input (port closed, or a technician's capture): report a partial line."""
        return self._parse(self._framer.close())

    def _parse(self, frames: list[bytes | FrameError]) -> list[ScaleEvent]:
        out: list[ScaleEvent] = []
        for frame in frames:
            if isinstance(frame, FrameError):
                out.append(frame)
                continue
            try:
                event = parse_line(frame)
            except Malformed as exc:
                out.append(FrameError(reason=str(exc), raw=frame))
                continue
            if event is not None:
                out.append(event)
        return out


def parse_line(frame: bytes) -> ScaleEvent | None:
    """One reply line (LF included, CR optional); None for a blank line. Raises Malformed."""
    line = frame.removesuffix(b"\n").removesuffix(b"\r")
    if not line.strip(b" "):
        return None
    if any(b < 0x20 or b == 0x7F for b in line):
        raise Malformed("control character inside an MT-SICS line")
    text = line.decode("latin-1")
    tokens = _TOKEN.findall(text)
    if not tokens:  # e.g. only non-ASCII blanks (0xA0 is a space to the tokenizer)
        raise Malformed("no MT-SICS tokens in the line")
    ident = tokens[0]
    if ident in _GENERAL_ERRORS and len(tokens) == 1:
        return CommandRejected(command="", code=ident, reason=_GENERAL_ERRORS[ident], raw=line)
    if not _ID.fullmatch(ident) or len(tokens) < 2 or len(tokens[1]) != 1:
        raise Malformed("not an MT-SICS reply (expected: ID status [parameters])")
    status, params = tokens[1], tuple(tokens[2:])
    if status not in "SDAIBL+-":
        raise Malformed(f"unknown MT-SICS status {status!r}")
    if ident in _WEIGHT_IDS:
        return _weight_reply(ident, status, params, line)
    if ident in _TARE_IDS and status in "SDA" and params:
        return _tare_reply(ident, status, params)
    if ident in _ZERO_IDS and status in "ASD" and not params:
        detail = _ZERO_DETAILS[status]
        return CommandAck(command=ident, detail=detail)
    if ident == "TAC" and status == "A":
        return CommandAck(command=ident, detail="tare cleared")
    if ident == "I4" and status == "A":
        if len(params) != 1:
            raise Malformed("I4 reply without exactly one serial number")
        return SerialNumber(serial=params[0].strip('"'))
    if status in "IL+-":
        return CommandRejected(command=ident, code=status, reason=_reason(ident, status), raw=line)
    return OtherReply(command=ident, status=status, params=params, raw=line)


def _weight_reply(ident: str, status: str, params: tuple[str, ...], line: bytes) -> ScaleEvent:
    if status in "SD":
        if len(params) != 2:
            raise Malformed("weight reply needs exactly a value and a unit")
        return weight_reading(raw=params[0], unit=params[1], stable=status == "S")
    if status in "AB":
        return OtherReply(command=ident, status=status, params=params, raw=line)
    if params:
        raise Malformed(f"unexpected parameters after weight status {status!r}")
    if status == "I":
        return ScaleStatus(busy=True, raw=line)
    if status == "+":
        return ScaleStatus(overload=True, raw=line)
    if status == "-":
        return ScaleStatus(underload=True, raw=line)
    return CommandRejected(command=ident, code=status, reason=_reason(ident, status), raw=line)


def _tare_reply(ident: str, status: str, params: tuple[str, ...]) -> TareReading:
    if len(params) != 2:
        raise Malformed("tare reply needs exactly a value and a unit")
    tare, decimals = scaled_decimal(params[0])
    unit = canonical_unit(params[1])
    return TareReading(
        command=ident,
        stable=status != "D",
        tare=tare,
        decimals=decimals,
        unit=unit,
        tare_mg=to_mg(tare, decimals, unit),
        raw=params[0],
    )


def _reason(ident: str, status: str) -> str:
    if status == "I":
        return "command understood but not executable now (busy, or no stable weight in time)"
    if status == "L":
        return "logical error: parameter wrong or not allowed"
    limit = _LIMITS.get((status, ident[:1]))
    return limit or ("upper limit exceeded" if status == "+" else "lower limit exceeded")
