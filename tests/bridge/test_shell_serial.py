"""The real serial shell (pyserial) against simulated devices on pty pairs, cable pulls included."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware_bridge.coordinator import BridgeCoordinator
from firmware_bridge.readings import ProbeFault, ProbeSample
from firmware_bridge.registry import DeviceConfig, Registry
from firmware_bridge.scales.events import ScaleEvent, ScaleStatus, WeightReading
from firmware_bridge.shells.serial_shell import Backoff, ModbusBusShell, SerialScaleShell
from firmware_bridge.simulators.pty_device import PtySerialDevice
from firmware_bridge.simulators.responders import ModbusProbeResponder, ScaleResponder
from firmware_bridge.simulators.scenarios import WeightScenario, overload, settle
from protocol.reading_events import decode_reading_batch

FAST = Backoff(min_s=0.05, max_s=0.2)
NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def scale(link: Path, protocol: str) -> DeviceConfig:
    return DeviceConfig(
        device_id="scale-1",
        kind="scale",
        transport="serial",
        location_id="counter-1",
        location_kind="counter",
        port=str(link),
        protocol=protocol,
        poll_interval_s=0.05,
    )


async def wait_for(condition, timeout_s: float = 10.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(shell: SerialScaleShell | ModbusBusShell) -> AsyncIterator[None]:
    task = asyncio.create_task(shell.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("protocol", ["mt-sics", "toledo-8217", "nci"])
async def test_the_shell_reads_a_stable_weight_from_each_protocol(
    tmp_path: Path, protocol: str
) -> None:
    device = PtySerialDevice(ScaleResponder(protocol, settle, lambda: 4.0), tmp_path / "ttyS")
    device.plug()
    events: list[ScaleEvent] = []
    shell = SerialScaleShell(
        scale(tmp_path / "ttyS", protocol),
        on_events=lambda _d, new: events.extend(new),
        on_port_lost=lambda _d, reason: None,
        backoff=FAST,
    )
    try:
        async with running(shell):
            await wait_for(lambda: any(isinstance(e, WeightReading) for e in events))
    finally:
        device.unplug()
    weight = next(e for e in events if isinstance(e, WeightReading))
    assert weight.stable
    assert weight.net_mg == 1_234_000


async def read_once(
    link: Path, protocol: str, scenario: WeightScenario, at: float
) -> list[ScaleEvent]:
    """Plug a scale showing `scenario` at time `at`, read until it answers, unplug it."""
    device = PtySerialDevice(ScaleResponder(protocol, scenario, lambda: at), link)
    device.plug()
    events: list[ScaleEvent] = []
    shell = SerialScaleShell(
        scale(link, protocol),
        on_events=lambda _d, new: events.extend(new),
        on_port_lost=lambda _d, reason: None,
        backoff=FAST,
    )
    try:
        async with running(shell):
            await wait_for(lambda: any(isinstance(e, WeightReading | ScaleStatus) for e in events))
    finally:
        device.unplug()
    return events


@pytest.mark.parametrize("protocol", ["mt-sics", "toledo-8217", "nci"])
async def test_motion_and_overload_are_not_sellable_weights(tmp_path: Path, protocol: str) -> None:
    registry = Registry(store_id="s1", devices=(scale(tmp_path / "ttyS", protocol),))
    published: list[bytes] = []
    coordinator = BridgeCoordinator(
        registry, publish=lambda _t, p: published.append(p) is None, epoch_ms=1
    )
    for scenario_time, scenario in ((1.3, settle), (2.0, overload)):
        events = await read_once(tmp_path / "ttyS", protocol, scenario, scenario_time)
        coordinator.observe_scale(registry.devices[0], events, NOW)
    coordinator.flush()
    readings = [r for p in published for r in decode_reading_batch(p).readings]
    moving, over = readings[0], readings[1]
    assert not any(v.stable for v in moving.values)
    assert moving.values or [f.reason for f in moving.faults] == ["motion"]
    assert [f.reason for f in over.faults] == ["overload"]
    assert over.values == ()


async def test_unplug_and_replug_reconnects_with_backoff(tmp_path: Path) -> None:
    link = tmp_path / "ttyUSB-scale"
    device = PtySerialDevice(ScaleResponder("mt-sics", settle, lambda: 4.0), link)
    device.plug()
    events: list[ScaleEvent] = []
    lost: list[str] = []
    shell = SerialScaleShell(
        scale(link, "mt-sics"),
        on_events=lambda _d, new: events.extend(new),
        on_port_lost=lambda _d, reason: lost.append(reason),
        backoff=FAST,
    )
    async with running(shell):
        await wait_for(lambda: len(events) >= 3, what="first readings")
        assert shell.opened == 1
        device.unplug()  # pull the cable
        await wait_for(lambda: len(lost) >= 2, what="port lost, reopen failing")
        assert not shell.connected
        seen = len(events)
        device.plug()  # plug it back in: a new tty behind the same link
        await wait_for(lambda: shell.opened == 2 and len(events) > seen + 2, what="replug")
        device.unplug()
    assert any("port failed" in r for r in lost)
    assert any("cannot open" in r for r in lost)


async def test_a_modbus_bus_polls_each_probe_and_survives_a_silent_one(tmp_path: Path) -> None:
    link = tmp_path / "ttyRS485"
    responder = ModbusProbeResponder({1: lambda t: 412, 2: lambda t: None}, lambda: 0.0)
    device = PtySerialDevice(responder, link)
    device.plug()

    def probe(device_id: str, unit: int) -> DeviceConfig:
        return DeviceConfig(
            device_id=device_id,
            kind="probe",
            transport="modbus",
            location_id="cold-room-1",
            location_kind="cold-room",
            product_class="chilled",
            port=str(link),
            unit=unit,
            model="sht20",
        )

    seen: dict[str, list[ProbeSample | ProbeFault]] = {}
    bus = ModbusBusShell(
        str(link),
        [probe("p1", 1), probe("p2", 2)],
        on_outcomes=lambda d, out: seen.setdefault(d.device_id, []).extend(out),
        on_port_lost=lambda _d, reason: None,
        backoff=FAST,
        response_timeout_s=0.1,
        poll_interval_s=0.05,
    )
    try:
        async with running(bus):
            await wait_for(lambda: len(seen.get("p1", [])) >= 6, what="three polls of p1")
    finally:
        device.unplug()
    samples = [s for s in seen["p1"] if isinstance(s, ProbeSample)]
    assert {s.quantity for s in samples} == {"temperature", "humidity"}
    assert next(s for s in samples if s.quantity == "temperature").value_centi == 410
    assert "p2" not in seen  # silence is not a reading
