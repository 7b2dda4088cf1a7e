"""Decoding a captured Modbus RTU byte sequence offline: requests, responses, or both in turn.

Unlike `RtuMaster`, which knows the request it sent, a capture (a technician's sniffer log, a
pasted hex line) may hold a request, its response, or a lone response. Frames are found by
their CRC; a response is checked against the request just before it.
"""

from __future__ import annotations

from .crc import crc_mismatch, crc_ok
from .events import FrameError, ModbusEvent, ReadFunction, ReadRequest, Request, WriteRequest
from .master import decode_response, frame_length


def decode_capture(data: bytes) -> list[ModbusEvent]:
    """Every frame in `data`, in order; bytes that are no CRC-valid frame become FrameError."""
    out: list[ModbusEvent] = []
    request: Request | None = None
    pos = junk_from = 0
    while pos < len(data):
        found = _frame_at(data, pos, request)
        if found is None:
            pos += 1
            continue
        if junk_from < pos:
            out.append(_junk_error(data[junk_from:pos]))
        frame, parsed_request = found
        if parsed_request is not None:
            out.append(parsed_request)
            request = parsed_request
        else:
            out.append(decode_response(frame, request))
            request = None
        pos = junk_from = pos + len(frame)
    if junk_from < len(data):
        out.append(_junk_error(data[junk_from:]))
    return out


def _frame_at(
    data: bytes, pos: int, request: Request | None
) -> tuple[bytes, Request | None] | None:
    """The CRC-valid frame at `pos` and, if it is a request, the request; else None."""
    unit, function = (data[pos], data[pos + 1]) if pos + 1 < len(data) else (0, 0)
    as_request: Request | None = None
    as_request_frame = data[pos : pos + 8]
    if len(as_request_frame) == 8 and crc_ok(as_request_frame) and unit <= 247:
        address = int.from_bytes(as_request_frame[2:4], "big")
        tail = int.from_bytes(as_request_frame[4:6], "big")
        if function in (3, 4) and 1 <= tail <= 125:
            read: ReadFunction = 3 if function == 3 else 4
            as_request = ReadRequest(unit=unit, function=read, address=address, count=tail)
        elif function == 6:
            as_request = WriteRequest(unit=unit, address=address, value=tail)
    length = frame_length(data[pos:]) if pos + 1 < len(data) else None
    response = data[pos : pos + length] if length else b""
    is_response = bool(response) and len(response) == length and crc_ok(response)
    if function == 6 and as_request is not None:
        # Function 6 request and response look alike: an echo of the request just sent is
        # the response, anything else a new request.
        return (as_request_frame, None) if as_request == request else (as_request_frame, as_request)
    if is_response and (request is not None or as_request is None):
        return response, None
    if as_request is not None:
        return as_request_frame, as_request
    return (response, None) if is_response else None


def _junk_error(junk: bytes) -> FrameError:
    if len(junk) >= 4 and frame_length(junk) == len(junk):
        return FrameError(reason=crc_mismatch(junk), raw=junk)
    return FrameError(reason="bytes that start no valid frame", raw=junk)
