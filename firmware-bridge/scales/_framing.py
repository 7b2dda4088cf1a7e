"""Cutting a serial byte stream into delimited frames, with a bounded buffer and resync.

The framer decides only from the bytes it holds, never from how they were chunked, so feeding a
stream whole or byte by byte gives the same frames and errors. Nothing here raises on input.
"""

from __future__ import annotations

from .events import FrameError


class Framer:
    """Frames end at `end`; with `start`, a frame is `start ... end` and bytes outside are junk.

    `max_frame` bounds a frame including its delimiters: a longer one is reported as a
    FrameError carrying its first `max_frame` bytes, and the rest is dropped up to the next
    delimiter. `mask7` clears bit 7 of every byte (a 7E1 line read as 8N1 keeps parity there).
    """

    def __init__(self, *, end: int, start: int | None = None, max_frame: int, mask7: bool = False):
        if max_frame < 2:
            raise ValueError("max_frame must be at least 2")
        self._end = end
        self._start = start
        self._max = max_frame
        self._mask7 = mask7
        self._buf = bytearray()
        self._discarding = False

    @property
    def buffered_bytes(self) -> int:
        """Bytes held while waiting for a delimiter (never more than `max_frame`)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | FrameError]:
        """Add received bytes; return the complete frames (delimiters included) and errors."""
        out: list[bytes | FrameError] = []
        for offset in range(0, len(data), self._max):
            chunk = data[offset : offset + self._max]
            if self._mask7:
                chunk = bytes(b & 0x7F for b in chunk)
            self._buf += chunk
            if self._start is None:
                self._drain_end_only(out)
            else:
                self._drain_start_end(self._start, out)
        return out

    def close(self) -> list[bytes | FrameError]:
        """End of input: report what is left as an incomplete frame and reset."""
        rest = bytes(self._buf)
        self._buf.clear()
        discarding, self._discarding = self._discarding, False
        if not rest or discarding:
            return []
        return [FrameError(reason="incomplete frame at end of input", raw=rest)]

    def _too_long(self, out: list[bytes | FrameError]) -> None:
        out.append(
            FrameError(
                reason=f"frame longer than {self._max} bytes", raw=bytes(self._buf[: self._max])
            )
        )
        del self._buf[: self._max]
        self._discarding = True

    def _drain_end_only(self, out: list[bytes | FrameError]) -> None:
        buf, end = self._buf, self._end
        while buf:
            idx = buf.find(end)
            if self._discarding:
                if idx < 0:
                    buf.clear()
                    return
                del buf[: idx + 1]
                self._discarding = False
                continue
            if 0 <= idx < self._max:
                out.append(bytes(buf[: idx + 1]))
                del buf[: idx + 1]
            elif idx >= self._max or len(buf) >= self._max:
                self._too_long(out)
            else:
                return

    def _drain_start_end(self, start: int, out: list[bytes | FrameError]) -> None:
        buf, end = self._buf, self._end
        while buf:
            if self._discarding:
                idx = _first_of(buf, start, end, 0)
                if idx < 0:
                    buf.clear()
                    return
                del buf[: idx + 1 if buf[idx] == end else idx]
                self._discarding = False
                continue
            if buf[0] != start:
                idx = _first_of(buf, start, end, 0)
                cut = -1 if idx < 0 else (idx + 1 if buf[idx] == end else idx)
                if cut < 0 or cut > self._max:
                    if cut < 0 and len(buf) < self._max:
                        return  # junk so far, no delimiter yet
                    out.append(
                        FrameError(reason="bytes outside a frame", raw=bytes(buf[: self._max]))
                    )
                    del buf[: self._max]
                    self._discarding = True
                    continue
                out.append(FrameError(reason="bytes outside a frame", raw=bytes(buf[:cut])))
                del buf[:cut]
                continue
            idx = _first_of(buf, start, end, 1)
            if idx < 0 or idx >= self._max:
                if idx < 0 and len(buf) < self._max:
                    return
                self._too_long(out)
            elif buf[idx] == start:
                out.append(
                    FrameError(reason="frame cut short by a new start byte", raw=bytes(buf[:idx]))
                )
                del buf[:idx]
            else:
                out.append(bytes(buf[: idx + 1]))
                del buf[: idx + 1]


def _first_of(buf: bytearray, a: int, b: int, begin: int) -> int:
    """Index of the first `a` or `b` at or after `begin`, or -1."""
    ia, ib = buf.find(a, begin), buf.find(b, begin)
    if ia < 0:
        return ib
    if ib < 0:
        return ia
    return min(ia, ib)
