r"""Field-technician decoding: a captured line in, a JSON-able explanation out.

For `jxc device decode --protocol PROTO DATA --json`:

    data = parse_capture(text, protocol)     # the technician's text -> bytes (ValueError if bad)
    print(json.dumps(explain_line(protocol, data)))

`parse_capture` accepts what a terminal program or a manual shows:

- text with escapes: `\r`, `\n`, `\t`, `\\`, `\xHH`, and control names in angle brackets,
  case-insensitive: `<STX>`, `<ETX>`, `<CR>`, `<LF>`, `<SP>`, `<ACK>`, `<NAK>`, ... e.g.
  `S S     100.00 g\r\n`, `<STX>001.234<CR>`, `<LF>  1.25lb<CR><LF>00<CR><ETX>`;
- hex bytes, separated by spaces, commas, colons or nothing, optionally `0x`-prefixed:
  `01 04 02 01 31 79 74`, `0x02,0x3F,0x41,0x0D`, `0104020131797 4`.

With `encoding="auto"` Modbus input is hex; scale input is hex when it is nothing but two or
more hex byte pairs separated by spaces, otherwise text.

`explain_line` adds a frame's missing terminator (a pasted line often lacks its CR LF, CR or
ETX) and says so in `notes`, then decodes with the protocol's parser and reports leftovers.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

import msgspec

from firmware_bridge.modbus.capture import decode_capture
from firmware_bridge.modbus.events import FrameError as ModbusFrameError
from firmware_bridge.modbus.events import ModbusEvent, RegistersRead
from firmware_bridge.modbus.probes import decode_probe, probe_model
from firmware_bridge.scales.events import FrameError, ScaleEvent
from firmware_bridge.scales.mt_sics import MtSicsParser
from firmware_bridge.scales.nci import NciParser
from firmware_bridge.scales.toledo_8217 import Toledo8217Parser

Protocol = Literal["mt-sics", "toledo-8217", "nci", "modbus"]
PROTOCOLS: Final[tuple[Protocol, ...]] = ("mt-sics", "toledo-8217", "nci", "modbus")

# ASCII control characters 0x00..0x1F by their standard names.
_CONTROL_NAMES = "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK"
CONTROL_NAMES: Final = tuple(f"{_CONTROL_NAMES} SYN ETB CAN EM SUB ESC FS GS RS US".split())
_BY_NAME: Final = {name: index for index, name in enumerate(CONTROL_NAMES)} | {
    "SP": 0x20,
    "DEL": 0x7F,
}
_NAMED = re.compile(r"<([A-Za-z][A-Za-z0-9]{1,2})>")
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|[rnt0\\])")
_SIMPLE_ESCAPES: Final = {"r": "\r", "n": "\n", "t": "\t", "0": "\0", "\\": "\\"}
_HEX_PAIRS = re.compile(r"\s*(?:0x)?[0-9A-Fa-f]{2}(?:\s+(?:0x)?[0-9A-Fa-f]{2})+\s*")


def parse_hex(text: str) -> bytes:
    """`"01 04 02"`, `"0x01,0x04"`, `"010402"` -> bytes. Raises ValueError with the reason."""
    cleaned = re.sub(r"0[xX]", "", text)
    cleaned = re.sub(r"[\s,:;\-]", "", cleaned)
    if not re.fullmatch(r"[0-9A-Fa-f]*", cleaned):
        raise ValueError("hex input may hold only hex digits, spaces, commas, colons, 0x")
    if len(cleaned) % 2:
        raise ValueError(f"hex input has an odd number of digits ({len(cleaned)})")
    return bytes.fromhex(cleaned)


def parse_text(text: str) -> bytes:
    r"""A line with `\r`-style escapes and `<STX>`-style names -> bytes (Latin-1 for the rest)."""

    def named(match: re.Match[str]) -> str:
        code = _BY_NAME.get(match.group(1).upper())
        return match.group(0) if code is None else chr(code)

    def escaped(match: re.Match[str]) -> str:
        token = match.group(1)
        return chr(int(token[1:], 16)) if token[0] == "x" else _SIMPLE_ESCAPES[token]

    decoded = _ESCAPE.sub(escaped, _NAMED.sub(named, text))
    try:
        return decoded.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError(f"character {decoded[exc.start]!r} is not a single byte") from exc


def parse_capture(
    text: str, protocol: Protocol, encoding: Literal["auto", "text", "hex"] = "auto"
) -> bytes:
    """The technician's DATA argument as bytes (see the module docstring). Raises ValueError."""
    if encoding == "hex" or (
        encoding == "auto" and (protocol == "modbus" or _HEX_PAIRS.fullmatch(text))
    ):
        return parse_hex(text)
    return parse_text(text)


def render_bytes(data: bytes) -> str:
    """Bytes as a technician reads them: ASCII as is, controls as `<STX>`, the rest `\\xHH`."""
    parts = []
    for byte in data:
        if byte < 0x20:
            parts.append(f"<{CONTROL_NAMES[byte]}>")
        elif byte < 0x7F:
            parts.append(chr(byte))
        else:
            parts.append(f"\\x{byte:02X}")
    return "".join(parts)


def explain_line(
    protocol: Protocol,
    data: bytes,
    *,
    unit: str | None = None,
    probe: str | None = None,
    complete: bool = True,
) -> dict[str, Any]:
    """Decode `data` as `protocol` into a JSON-able dict: the input, each event, and notes.

    `unit` is the configured weight unit for Toledo 8217 (default kg) and NCI fields without
    one; `probe` names a Modbus probe model (see `firmware_bridge.modbus.probes`) whose samples
    are decoded from the registers read. With `complete`, a missing terminator is added.
    """
    notes: list[str] = []
    if complete:
        data = _complete(protocol, data, notes)
    events: list[ScaleEvent | ModbusEvent] = []
    extra: list[dict[str, Any]] = []
    if protocol == "modbus":
        events.extend(decode_capture(data))
        if probe is not None:
            model = probe_model(probe)
            for event in events:
                if isinstance(event, RegistersRead):
                    extra.extend(_jsonable(item) for item in decode_probe(model, event))
    else:
        parser: MtSicsParser | Toledo8217Parser | NciParser
        if protocol == "mt-sics":
            parser = MtSicsParser()
        elif protocol == "toledo-8217":
            parser = Toledo8217Parser(unit=unit or "kg")
        else:
            parser = NciParser(unit=unit)
        events.extend(parser.feed(data))
        events.extend(parser.close())
    result: dict[str, Any] = {
        "protocol": protocol,
        "input": {"hex": data.hex(" "), "text": render_bytes(data), "length": len(data)},
        "events": [_jsonable(event) for event in events],
        "ok": not any(isinstance(event, FrameError | ModbusFrameError) for event in events),
        "notes": notes,
    }
    if probe is not None:
        result["probe"] = {"model": probe, "samples": extra}
    return result


def _complete(protocol: Protocol, data: bytes, notes: list[str]) -> bytes:
    if not data or protocol == "modbus":
        return data
    if protocol == "mt-sics" and not data.endswith(b"\n"):
        suffix = b"\n" if data.endswith(b"\r") else b"\r\n"
    elif protocol == "toledo-8217":
        if 0x02 not in data:
            data = b"\x02" + data
            notes.append("added the missing <STX> at the start")
        suffix = b"" if data.endswith(b"\r") else b"\r"
    elif protocol == "nci" and not data.endswith(b"\x03"):
        suffix = b"\x03" if data.endswith(b"\r") else b"\r\x03"
    else:
        suffix = b""
    if suffix:
        data += suffix
        notes.append(f"added the missing {render_bytes(suffix)} at the end")
    return data


def _jsonable(event: msgspec.Struct) -> dict[str, Any]:
    out: dict[str, Any] = {"event": type(event).__name__}
    for name, value in msgspec.structs.asdict(event).items():
        if isinstance(value, bytes):
            out[name] = render_bytes(value)
            out[f"{name}_hex"] = value.hex(" ")
        elif isinstance(value, msgspec.Struct):
            out[name] = _jsonable(value)
        else:  # through JSON: tuples become lists, datetimes ISO 8601 strings
            out[name] = msgspec.json.decode(msgspec.json.encode(value))
    return out
