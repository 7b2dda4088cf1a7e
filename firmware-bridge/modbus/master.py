"""Modbus RTU master, sans-I/O: build requests, feed response bytes, get typed events.

Sources: "MODBUS over Serial Line Specification and Implementation Guide V1.02" (RTU framing,
CRC) and "MODBUS Application Protocol Specification V1.1b3" (functions 03, 04, 06, exception
codes), modbus.org.

One request is outstanding at a time (a bus has one master and the slave answers in turn):

    master = RtuMaster(response_timeout_s=0.5)
    port.write(master.read_input_registers(unit=1, address=1, count=2, now=clock()))
    events = master.feed(port.read(64))          # RegistersRead, ModbusException, FrameError
    events += master.poll_timeout(clock())       # RequestTimedOut once the deadline passes

RTU frames are delimited by 3.5 character times of silence, which a sans-I/O parser cannot see;
the shell keeps that gap between requests. Here a frame's length follows from its function code
and byte count, and a frame counts only with a valid CRC: bytes that do not start a CRC-valid
frame are skipped one at a time and reported together as one FrameError before the next valid
frame, at the timeout, or when they reach `max_junk` bytes. A response with the expected unit,
function and length but a bad CRC is reported as "CRC mismatch" and ends the request.
"""

from __future__ import annotations

from typing import Final

from .crc import crc_mismatch, crc_ok, with_crc
from .events import (
    FrameError,
    ModbusEvent,
    ModbusException,
    ReadFunction,
    ReadRequest,
    RegistersRead,
    RegisterWritten,
    Request,
    RequestTimedOut,
    WriteRequest,
    exception_meaning,
)

MAX_ADU: Final = 256  # RTU limit: address + PDU (253) + CRC
MAX_READ_COUNT: Final = 125


class RequestPending(RuntimeError):
    """A request was built while another is outstanding: feed, or poll_timeout, first."""


def encode_request(request: Request) -> bytes:
    """The RTU frame for a request, CRC included. Raises ValueError for out-of-range fields."""
    if not 0 <= request.address <= 0xFFFF:
        raise ValueError(f"register address {request.address} outside 0..65535")
    if isinstance(request, ReadRequest):
        if not 1 <= request.unit <= 247:
            raise ValueError(f"unit {request.unit} outside 1..247 (reads cannot be broadcast)")
        if request.function not in (3, 4):
            raise ValueError(f"read function {request.function} is not 3 or 4")
        if not 1 <= request.count <= MAX_READ_COUNT or request.address + request.count > 0x10000:
            raise ValueError(f"register count {request.count} outside 1..{MAX_READ_COUNT}")
        tail = request.count
    else:
        if not 0 <= request.unit <= 247:
            raise ValueError(f"unit {request.unit} outside 0..247")
        if not 0 <= request.value <= 0xFFFF:
            raise ValueError(f"register value {request.value} outside 0..65535")
        tail = request.value
    pdu = bytes((request.unit, request.function)) + request.address.to_bytes(2, "big")
    return with_crc(pdu + tail.to_bytes(2, "big"))


def frame_length(buf: bytes | bytearray) -> int | None:
    """Length of the RTU frame `buf` starts with, judged from its first bytes.

    None when `buf[:2]` cannot start a frame (unit above 247, unsupported function); 0 when
    the byte count (third byte) has not arrived yet.
    """
    unit, function = buf[0], buf[1]
    if unit > 247:
        return None
    if function & 0x80:
        return 5
    if function in (1, 2, 3, 4):
        return 5 + buf[2] if len(buf) > 2 else 0
    if function in (5, 6, 15, 16):
        return 8
    return None


def answers(frame: bytes, request: Request) -> bool:
    """True when `frame` has the unit, function and length of `request`'s response."""
    if frame[0] != request.unit or frame[1] not in (request.function, request.function | 0x80):
        return False
    if frame[1] & 0x80:
        return len(frame) == 5
    if isinstance(request, ReadRequest):
        return len(frame) == 5 + 2 * request.count
    return len(frame) == 8


def decode_response(frame: bytes, request: Request | None) -> ModbusEvent:
    """A CRC-valid response `frame`, checked against the request it answers.

    With `request` None (a lone captured frame) the frame is decoded as it stands.
    """
    unit, function = frame[0], frame[1]
    if function & 0x80:
        if request is not None and (unit, function & 0x7F) != (request.unit, request.function):
            return FrameError(reason=_mismatch(unit, function & 0x7F, request), raw=frame)
        code = frame[2]
        return ModbusException(
            unit=unit, function=function & 0x7F, code=code, meaning=exception_meaning(code)
        )
    if request is not None and (unit, function) != (request.unit, request.function):
        return FrameError(reason=_mismatch(unit, function, request), raw=frame)
    if function in (3, 4):
        data = frame[3:-2]
        if isinstance(request, ReadRequest) and len(data) != 2 * request.count:
            return FrameError(
                reason=f"wrong length: {len(data)} data bytes for {request.count} registers",
                raw=frame,
            )
        if len(data) % 2:
            return FrameError(reason=f"odd byte count {len(data)} for registers", raw=frame)
        values = tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
        address = None if request is None else request.address
        return RegistersRead(unit=unit, function=function, values=values, address=address)
    if function == 6 and len(frame) == 8:
        address, value = int.from_bytes(frame[2:4], "big"), int.from_bytes(frame[4:6], "big")
        if isinstance(request, WriteRequest) and (address, value) != (
            request.address,
            request.value,
        ):
            return FrameError(reason="write echo does not match the request", raw=frame)
        return RegisterWritten(unit=unit, address=address, value=value)
    return FrameError(reason=f"function {function} is not supported by this master", raw=frame)


def _mismatch(unit: int, function: int, request: Request) -> str:
    if unit != request.unit:
        return f"response from unit {unit}, expected unit {request.unit}"
    return f"response for function {function}, expected function {request.function}"


class RtuMaster:
    """One RS-485 bus as seen by its master: at most one request outstanding.

    `now` is any monotonic clock in seconds, passed in by the caller; nothing here reads a clock.
    """

    def __init__(self, *, response_timeout_s: float = 1.0, max_junk: int = MAX_ADU) -> None:
        if response_timeout_s <= 0 or max_junk < 1:
            raise ValueError("response_timeout_s and max_junk must be positive")
        self._timeout_s = response_timeout_s
        self._max_junk = max_junk
        self._pending: Request | None = None
        self._deadline = 0.0
        self._buf = bytearray()
        self._junk = bytearray()
        self._deferred: list[ModbusEvent] = []

    @property
    def pending(self) -> Request | None:
        """The outstanding request, if any."""
        return self._pending

    @property
    def buffered_bytes(self) -> int:
        """Bytes held: a partial frame plus skipped bytes not yet reported (bounded)."""
        return len(self._buf) + len(self._junk)

    def read_holding_registers(self, unit: int, address: int, count: int, *, now: float) -> bytes:
        return self.send(ReadRequest(unit=unit, function=3, address=address, count=count), now=now)

    def read_input_registers(self, unit: int, address: int, count: int, *, now: float) -> bytes:
        return self.send(ReadRequest(unit=unit, function=4, address=address, count=count), now=now)

    def read_registers(
        self, unit: int, function: ReadFunction, address: int, count: int, *, now: float
    ) -> bytes:
        request = ReadRequest(unit=unit, function=function, address=address, count=count)
        return self.send(request, now=now)

    def write_register(self, unit: int, address: int, value: int, *, now: float) -> bytes:
        """Function 6. Unit 0 broadcasts: nothing answers, so nothing is outstanding."""
        return self.send(WriteRequest(unit=unit, address=address, value=value), now=now)

    def send(self, request: Request, *, now: float) -> bytes:
        """Start `request`: returns the bytes to write. Raises RequestPending if one is open."""
        if self._pending is not None:
            raise RequestPending(f"request {self._pending} is still outstanding")
        frame = encode_request(request)
        leftover = self._take_leftover()
        if leftover:
            self._deferred.append(
                FrameError(reason="bytes left unanswered when a new request started", raw=leftover)
            )
        if request.unit != 0:
            self._pending = request
            self._deadline = now + self._timeout_s
        return frame

    def feed(self, data: bytes) -> list[ModbusEvent]:
        """Bytes received from the bus; returns the events they complete."""
        out, self._deferred = self._deferred, []
        for offset in range(0, len(data), MAX_ADU):
            self._buf += data[offset : offset + MAX_ADU]
            self._drain(out)
        return out

    def poll_timeout(self, now: float) -> list[ModbusEvent]:
        """Call when a read from the port returns nothing: times out the request when due."""
        out, self._deferred = self._deferred, []
        request = self._pending
        if request is not None and now >= self._deadline:
            leftover = self._take_leftover()
            if leftover:
                out.append(FrameError(reason="incomplete response at the timeout", raw=leftover))
            out.append(RequestTimedOut(request=request))
            self._pending = None
        return out

    def close(self) -> list[ModbusEvent]:
        """End of input (a capture being decoded): report held bytes as incomplete."""
        out, self._deferred = self._deferred, []
        leftover = self._take_leftover()
        if leftover:
            out.append(FrameError(reason="incomplete frame at end of input", raw=leftover))
        return out

    def _take_leftover(self) -> bytes:
        leftover = bytes(self._junk + self._buf)
        self._junk.clear()
        self._buf.clear()
        return leftover

    def _drain(self, out: list[ModbusEvent]) -> None:
        buf = self._buf
        while len(buf) >= 2:
            length = frame_length(buf)
            if length is None:
                self._skip_byte(out)
                continue
            if length == 0 or len(buf) < length:
                return
            frame = bytes(buf[:length])
            if crc_ok(frame):
                self._flush_junk(out)
                del buf[:length]
                out.append(self._on_frame(frame))
            elif self._pending is not None and answers(frame, self._pending):
                self._flush_junk(out)
                del buf[:length]
                self._pending = None
                out.append(FrameError(reason=crc_mismatch(frame), raw=frame))
            else:
                self._skip_byte(out)

    def _on_frame(self, frame: bytes) -> ModbusEvent:
        request = self._pending
        if request is None:
            return FrameError(
                reason="response with no request outstanding (a late reply after a timeout?)",
                raw=frame,
            )
        # Whatever the addressed unit answers to the function ends the request, even if wrong.
        if (frame[0], frame[1] & 0x7F) == (request.unit, request.function):
            self._pending = None
        return decode_response(frame, request)

    def _skip_byte(self, out: list[ModbusEvent]) -> None:
        self._junk.append(self._buf[0])
        del self._buf[0]
        if len(self._junk) >= self._max_junk:
            self._flush_junk(out)

    def _flush_junk(self, out: list[ModbusEvent]) -> None:
        if self._junk:
            out.append(FrameError(reason="bytes that start no valid frame", raw=bytes(self._junk)))
            self._junk.clear()
