"""Device sides of the byte protocols, pure: feed the host's bytes, get the device's reply.

`ScaleResponder` answers MT-SICS, Toledo 8217 and NCI commands from a weight scenario;
`ModbusProbeResponder` answers Modbus RTU reads (03/04) from temperature scenarios, as an
SHT20-class probe. Scenario time comes from the `elapsed` callable the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable

from firmware_bridge.modbus.crc import crc_ok, with_crc
from firmware_bridge.simulators.scenarios import ScaleState, TemperatureScenario, WeightScenario

Elapsed = Callable[[], float]


def _kg(grams: int) -> str:
    sign = "-" if grams < 0 else ""
    return f"{sign}{abs(grams) // 1000}.{abs(grams) % 1000:03d}"


class ScaleResponder:
    def __init__(
        self, protocol: str, scenario: WeightScenario, elapsed: Elapsed, serial: str = "SIM00001"
    ) -> None:
        if protocol not in ("mt-sics", "toledo-8217", "nci"):
            raise ValueError(f"unknown scale protocol {protocol!r}")
        self.protocol = protocol
        self._scenario = scenario
        self._elapsed = elapsed
        self._serial = serial
        self._buf = bytearray()

    def state(self) -> ScaleState:
        return self._scenario(self._elapsed())

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        if len(self._buf) > 256:  # a host talking nonsense: keep the tail
            del self._buf[:-64]
        out = bytearray()
        if self.protocol == "mt-sics":
            while b"\n" in self._buf:
                line, _, rest = bytes(self._buf).partition(b"\n")
                self._buf = bytearray(rest)
                out += self._mt_sics(line.strip().decode("ascii", errors="replace"))
        elif self.protocol == "toledo-8217":
            for byte in bytes(self._buf):
                if byte in (ord("W"), ord("H")):
                    out += self._toledo()
                elif byte == ord("Z"):
                    out += b"\x02?@\r"
            self._buf.clear()
        else:
            while b"\r" in self._buf:
                command, _, rest = bytes(self._buf).partition(b"\r")
                self._buf = bytearray(rest)
                out += self._nci(command.strip().decode("ascii", errors="replace"))
        return bytes(out)

    def _mt_sics(self, command: str) -> bytes:
        state = self.state()
        if command in ("SI", "S", "SIR"):
            if state.overload:
                return b"S +\r\n"
            if command == "S" and state.moving:
                return b"S I\r\n"  # no stable weight within the timeout
            status = "D" if state.moving else "S"
            return f"S {status} {_kg(state.grams):>10} kg\r\n".encode("ascii")
        if command in ("Z", "ZI"):
            return f"{command} A\r\n".encode("ascii")
        if command in ("I4", "@"):
            return f'I4 A "{self._serial}"\r\n'.encode("ascii")
        return b"ES\r\n"

    def _toledo(self) -> bytes:
        state = self.state()
        if state.overload:
            return b"\x02?B\r"  # bit 1: over capacity (bit 6 always set)
        if state.moving:
            return b"\x02?A\r"  # bit 0: motion
        return b"\x02" + f"{_kg(state.grams):>7}".replace(" ", "0").encode("ascii") + b"\r"

    def _nci(self, command: str) -> bytes:
        state = self.state()
        if command in ("W", "H"):
            if state.overload:
                return b"\n^^^^^^^kg\r\n02\r\x03"
            status = "10" if state.moving else "00"
            return f"\n{_kg(state.grams):>7}kg\r\n{status}\r\x03".encode("ascii")
        if command == "S":
            return b"\n" + (b"10" if state.moving else b"00") + b"\r\x03"
        if command in ("Z", "T"):
            return b"\n00\r\x03"
        return b"\n?\r\x03"


class ModbusProbeResponder:
    """SHT20-class probes on one bus: input registers 1 (temperature x10) and 2 (humidity x10).

    A unit whose scenario returns None is silent (no reply at all), like a dead probe.
    """

    def __init__(self, units: dict[int, TemperatureScenario], elapsed: Elapsed) -> None:
        self._units = units
        self._elapsed = elapsed
        self._buf = bytearray()

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        out = bytearray()
        while len(self._buf) >= 8:
            frame = bytes(self._buf[:8])
            if not crc_ok(frame):
                del self._buf[0]
                continue
            del self._buf[:8]
            out += self._answer(frame)
        return bytes(out)

    def _answer(self, frame: bytes) -> bytes:
        unit, function = frame[0], frame[1]
        address, count = int.from_bytes(frame[2:4], "big"), int.from_bytes(frame[4:6], "big")
        scenario = self._units.get(unit)
        if scenario is None:
            return b""
        if function not in (3, 4):
            return with_crc(bytes((unit, function | 0x80, 1)))
        centi = scenario(self._elapsed())
        if centi is None:
            return b""
        registers = {1: (centi // 10) & 0xFFFF, 2: 650}
        if address < 1 or address + count > 3:
            return with_crc(bytes((unit, function | 0x80, 2)))
        data = b"".join(registers[a].to_bytes(2, "big") for a in range(address, address + count))
        return with_crc(bytes((unit, function, len(data))) + data)
