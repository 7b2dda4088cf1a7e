"""Serial shells: one asyncio task owns each port (a scale, or an RS-485 bus of probes).

The shell only moves bytes: it writes the driver's command, reads what comes back, feeds the
sans-I/O parser and hands the events on. pyserial is blocking, so each port call runs in a
worker thread, but only the owning task ever touches the port object.

When the port fails (cable pulled, USB adapter gone, pty closed) the shell closes it, tells the
coordinator the device is offline, and reopens with exponential backoff (min → max, reset on
success). Configure ports by stable names (`/dev/serial/by-id/...`), which survive a replug.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import serial
import structlog

from firmware_bridge.modbus import (
    FrameError as ModbusFrameError,
)
from firmware_bridge.modbus import (
    ModbusException,
    RegistersRead,
    RequestTimedOut,
    RtuMaster,
    decode_probe,
    probe_model,
)
from firmware_bridge.readings import ProbeFault, ProbeSample
from firmware_bridge.registry import DeviceConfig
from firmware_bridge.scales import (
    MtSicsParser,
    NciParser,
    Toledo8217Parser,
    mt_sics,
    nci,
    toledo_8217,
)
from firmware_bridge.scales.events import ScaleEvent, ScaleStatus, WeightReading

log = structlog.get_logger(__name__)


class _Parser(Protocol):
    def feed(self, data: bytes) -> list[ScaleEvent]: ...


OnScaleEvents = Callable[[DeviceConfig, list[ScaleEvent]], None]
OnProbeOutcomes = Callable[[DeviceConfig, list[ProbeSample | ProbeFault]], None]
OnPortLost = Callable[[DeviceConfig, str], None]


@dataclass(frozen=True, slots=True)
class Backoff:
    min_s: float = 0.2
    max_s: float = 10.0

    def delays(self) -> Any:
        delay = self.min_s
        while True:
            yield delay
            delay = min(delay * 2, self.max_s)


def open_serial(port: str, baudrate: int, *, bytesize: int, parity: str, timeout: float) -> Any:
    """Open a port with pyserial (real device, pty, or any pyserial URL)."""
    return serial.serial_for_url(
        port, baudrate=baudrate, bytesize=bytesize, parity=parity, timeout=timeout
    )


def scale_link(protocol: str, weight_unit: str) -> tuple[_Parser, bytes, int, str]:
    """(parser, poll command, bytesize, parity) of a scale protocol."""
    if protocol == "mt-sics":
        return MtSicsParser(), mt_sics.encode_command("SI"), serial.EIGHTBITS, serial.PARITY_NONE
    if protocol == "toledo-8217":
        return (
            Toledo8217Parser(unit=weight_unit),
            toledo_8217.encode_command("W"),
            serial.SEVENBITS,
            serial.PARITY_EVEN,
        )
    if protocol == "nci":
        return (
            NciParser(unit=weight_unit),
            nci.encode_command("W"),
            serial.SEVENBITS,
            serial.PARITY_EVEN,
        )
    raise ValueError(f"unknown scale protocol {protocol!r}")


class SerialScaleShell:
    """Polls one scale: write the weight command, read the reply, hand over the events."""

    def __init__(
        self,
        device: DeviceConfig,
        *,
        on_events: OnScaleEvents,
        on_port_lost: OnPortLost,
        backoff: Backoff = Backoff(),
        reply_timeout_s: float = 0.5,
        opener: Callable[..., Any] = open_serial,
    ) -> None:
        self.device = device
        self._on_events = on_events
        self._on_port_lost = on_port_lost
        self._backoff = backoff
        self._reply_timeout_s = reply_timeout_s
        self._opener = opener
        self.opened = 0  # times the port was opened (tests watch reconnects)
        self.connected = False

    async def run(self) -> None:
        device = self.device
        delays = self._backoff.delays()
        while True:
            parser, command, bytesize, parity = scale_link(device.protocol, device.weight_unit)
            try:
                port = await asyncio.to_thread(
                    self._opener,
                    device.port,
                    device.baudrate,
                    bytesize=bytesize,
                    parity=parity,
                    timeout=0.05,
                )
            except (serial.SerialException, OSError) as exc:
                await self._lost(f"cannot open {device.port}: {exc}", next(delays))
                continue
            self.opened += 1
            self.connected = True
            delays = self._backoff.delays()
            log.info("bridge.port_open", device_id=device.device_id, port=device.port)
            try:
                await self._poll(port, parser, command)
            except (serial.SerialException, OSError) as exc:
                self.connected = False
                with contextlib.suppress(serial.SerialException, OSError):
                    await asyncio.to_thread(port.close)
                await self._lost(f"port failed: {exc}", next(delays))

    async def _lost(self, reason: str, delay: float) -> None:
        self._on_port_lost(self.device, reason)
        await asyncio.sleep(delay)

    async def _poll(self, port: Any, parser: _Parser, command: bytes) -> None:
        interval = self.device.poll_interval_s
        while True:
            started = time.monotonic()
            await asyncio.to_thread(port.write, command)
            events = await self._read_reply(port, parser)
            if events:
                self._on_events(self.device, events)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def _read_reply(self, port: Any, parser: _Parser) -> list[ScaleEvent]:
        deadline = time.monotonic() + self._reply_timeout_s
        events: list[ScaleEvent] = []
        while time.monotonic() < deadline:
            data = await asyncio.to_thread(_read_available, port)
            if data:
                events.extend(parser.feed(data))
                if any(isinstance(e, WeightReading | ScaleStatus) for e in events):
                    return events
        return events


def _read_available(port: Any) -> bytes:
    waiting = port.in_waiting
    return bytes(port.read(waiting or 1))


class ModbusBusShell:
    """Polls every probe on one RS-485 bus: one request in flight, a silent gap between frames."""

    def __init__(
        self,
        port: str,
        devices: list[DeviceConfig],
        *,
        on_outcomes: OnProbeOutcomes,
        on_port_lost: OnPortLost,
        backoff: Backoff = Backoff(),
        response_timeout_s: float = 0.3,
        poll_interval_s: float = 1.0,
        opener: Callable[..., Any] = open_serial,
    ) -> None:
        self.port = port
        self.devices = devices
        self._on_outcomes = on_outcomes
        self._on_port_lost = on_port_lost
        self._backoff = backoff
        self._timeout_s = response_timeout_s
        self._interval_s = poll_interval_s
        self._opener = opener
        baud = devices[0].baudrate if devices else 9600
        # RTU: 3.5 character times of silence between frames (11 bits a character), >= 1.75 ms.
        self.gap_s = max(0.00175, 3.5 * 11 / baud)
        self.opened = 0

    async def run(self) -> None:
        delays = self._backoff.delays()
        baud = self.devices[0].baudrate if self.devices else 9600
        while True:
            try:
                port = await asyncio.to_thread(
                    self._opener,
                    self.port,
                    baud,
                    bytesize=serial.EIGHTBITS,
                    parity=serial.PARITY_NONE,
                    timeout=0.02,
                )
            except (serial.SerialException, OSError) as exc:
                for device in self.devices:
                    self._on_port_lost(device, f"cannot open {self.port}: {exc}")
                await asyncio.sleep(next(delays))
                continue
            self.opened += 1
            delays = self._backoff.delays()
            try:
                await self._poll(port)
            except (serial.SerialException, OSError) as exc:
                with contextlib.suppress(serial.SerialException, OSError):
                    await asyncio.to_thread(port.close)
                for device in self.devices:
                    self._on_port_lost(device, f"bus failed: {exc}")
                await asyncio.sleep(next(delays))

    async def _poll(self, port: Any) -> None:
        master = RtuMaster(response_timeout_s=self._timeout_s)
        while True:
            started = time.monotonic()
            for device in self.devices:
                outcomes = await self._ask(port, master, device)
                if outcomes:
                    self._on_outcomes(device, outcomes)
                await asyncio.sleep(self.gap_s)
            await asyncio.sleep(max(0.0, self._interval_s - (time.monotonic() - started)))

    async def _ask(
        self, port: Any, master: RtuMaster, device: DeviceConfig
    ) -> list[ProbeSample | ProbeFault]:
        model = probe_model(device.model)
        frame = master.send(model.request(device.unit), now=time.monotonic())
        await asyncio.to_thread(port.write, frame)
        while True:
            data = await asyncio.to_thread(_read_available, port)
            events = master.feed(data) if data else master.poll_timeout(time.monotonic())
            for event in events:
                if isinstance(event, RegistersRead):
                    return decode_probe(model, event)
                if isinstance(event, ModbusException):
                    return [ProbeFault(sensor="bus", reason=f"modbus exception: {event.meaning}")]
                if isinstance(event, RequestTimedOut):
                    # Silence is not a reading: the coordinator's staleness clock handles it.
                    log.info("bridge.modbus_timeout", device_id=device.device_id)
                    return []
                if isinstance(event, ModbusFrameError):
                    log.info(
                        "bridge.modbus_frame_error", device_id=device.device_id, reason=event.reason
                    )
            if master.pending is None:
                return []
