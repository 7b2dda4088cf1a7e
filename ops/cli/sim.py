"""`jxc sim …`: simulated scales and probes speaking the real protocols, for demos and tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import click

SCALE_PROTOCOLS = ("mt-sics", "toledo-8217", "nci")
WEIGHT_SCENARIOS = ("settle", "overload")
TEMPERATURE_SCENARIOS = ("steady", "door-open", "compressor-failure", "probe-silent", "tank-drift")
PROBE_FIRMWARES = ("tasmota", "shelly-gen2", "zigbee2mqtt", "modbus")


@click.group()
def sim() -> None:
    """Device simulators: scales and probes on a pty pair (real serial bytes) or over MQTT.

    \b
    A scale on a pty, opened by the bridge through a stable link:
      jxc sim scale --protocol mt-sics --link .jxc/dev/scale-1 --scenario settle
    A Tasmota probe publishing a failing compressor, 60x faster than real time:
      jxc sim probe --firmware tasmota --device coldroom1 --scenario compressor-failure --speed 60
    An RS-485 bus of SHT20 probes (Modbus RTU) on a pty:
      jxc sim probe --firmware modbus --link .jxc/dev/rs485 --units 1,2 --scenario door-open
    """


@sim.command()
@click.option("--protocol", type=click.Choice(SCALE_PROTOCOLS), required=True)
@click.option(
    "--scenario", type=click.Choice(WEIGHT_SCENARIOS), default="settle", show_default=True
)
@click.option(
    "--link",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".jxc/dev/scale-1"),
    show_default=True,
    help="Stable path the bridge opens (a symlink to the pty, like /dev/serial/by-id/...).",
)
@click.option("--seconds", type=float, default=None, help="Stop after this long (default: Ctrl-C).")
@click.option(
    "--unplug-every", type=float, default=None, help="Pull and replug the cable every N seconds."
)
def scale(
    protocol: str, scenario: str, link: Path, seconds: float | None, unplug_every: float | None
) -> None:
    """A scale answering PROTOCOL commands from a scripted load on a pty pair.

    Scenarios: settle (an item every 6 s: motion, then a stable weight), overload (35 kg on
    a 30 kg scale).
    """
    from firmware_bridge.simulators.pty_device import PtySerialDevice
    from firmware_bridge.simulators.responders import ScaleResponder
    from firmware_bridge.simulators.scenarios import WEIGHT_SCENARIOS as SCENARIOS

    started = time.monotonic()
    link.parent.mkdir(parents=True, exist_ok=True)
    responder = ScaleResponder(protocol, SCENARIOS[scenario], lambda: time.monotonic() - started)
    device = PtySerialDevice(responder, link)
    tty = device.plug()
    click.echo(f"{protocol} scale ({scenario}) on {tty}, linked at {link}; Ctrl-C stops")
    _serve(device, seconds, unplug_every)


def _serve(device: object, seconds: float | None, unplug_every: float | None) -> None:
    from firmware_bridge.simulators.pty_device import PtySerialDevice

    assert isinstance(device, PtySerialDevice)
    started = time.monotonic()
    next_pull = started + unplug_every if unplug_every else None
    try:
        while seconds is None or time.monotonic() - started < seconds:
            time.sleep(0.1)
            if next_pull is not None and time.monotonic() >= next_pull:
                device.unplug()
                click.echo("cable pulled", err=True)
                time.sleep(min(2.0, unplug_every or 2.0))
                device.plug()
                click.echo("cable plugged back in", err=True)
                next_pull = time.monotonic() + (unplug_every or 0)
    except KeyboardInterrupt:
        pass
    finally:
        device.unplug()


@sim.command()
@click.option("--firmware", type=click.Choice(PROBE_FIRMWARES), required=True)
@click.option(
    "--scenario", type=click.Choice(TEMPERATURE_SCENARIOS), default="steady", show_default=True
)
@click.option("--device", default="coldroom1", show_default=True, help="The firmware's topic key.")
@click.option(
    "--mqtt-url", envvar="JXC_MQTT_URL", default="mqtt://127.0.0.1:11883", show_default=True
)
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds per reading.")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Scenario time factor.")
@click.option("--count", type=int, default=None, help="Stop after this many readings.")
@click.option(
    "--link", type=click.Path(dir_okay=False, path_type=Path), default=Path(".jxc/dev/rs485")
)
@click.option("--units", default="1", show_default=True, help="Modbus unit addresses, e.g. 1,2,3.")
@click.option("--seconds", type=float, default=None, help="Modbus: stop after this long.")
def probe(
    firmware: str,
    scenario: str,
    device: str,
    mqtt_url: str,
    interval: float,
    speed: float,
    count: int | None,
    link: Path,
    units: str,
    seconds: float | None,
) -> None:
    """A temperature probe playing a scenario over MQTT (as FIRMWARE publishes) or Modbus RTU.

    Scenarios: steady, door-open (11.5 °C from minute 5 to 25), compressor-failure (+0.2 °C a
    minute), probe-silent (nothing after minute 10), tank-drift (a grouper tank cooling
    0.15 °C a minute). --speed 60 plays a minute a second.
    """
    from firmware_bridge.simulators.scenarios import TEMPERATURE_SCENARIOS as SCENARIOS

    chosen = SCENARIOS[scenario]
    if firmware == "modbus":
        from firmware_bridge.simulators.pty_device import PtySerialDevice
        from firmware_bridge.simulators.responders import ModbusProbeResponder

        started = time.monotonic()
        addresses = [int(u) for u in units.split(",") if u.strip()]
        responder = ModbusProbeResponder(
            dict.fromkeys(addresses, chosen), lambda: (time.monotonic() - started) * speed
        )
        link.parent.mkdir(parents=True, exist_ok=True)
        pty = PtySerialDevice(responder, link)
        tty = pty.plug()
        click.echo(f"SHT20 probes {addresses} ({scenario}) on {tty}, linked at {link}")
        _serve(pty, seconds, None)
        return
    from firmware_bridge.simulators.mqtt_probe import run_mqtt_probe

    click.echo(f"{firmware} probe {device!r} ({scenario}, x{speed:g}) publishing to {mqtt_url}")

    def show(centi: int | None) -> None:
        click.echo("silent" if centi is None else f"{centi / 100:.2f} °C", err=True)

    with contextlib.suppress(KeyboardInterrupt):
        sent = run_mqtt_probe(
            mqtt_url,
            firmware=firmware,
            device=device,
            scenario=chosen,
            interval_s=interval,
            speed=speed,
            count=count,
            on_publish=show,
        )
        click.echo(f"published {sent} readings")


@sim.command()
@click.option(
    "--registry",
    "registry_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The store's device registry (TOML, see firmware-bridge/registry.py).",
)
@click.option(
    "--mqtt-url", envvar="JXC_MQTT_URL", default="mqtt://127.0.0.1:11883", show_default=True
)
@click.option("--seconds", type=float, default=None, help="Stop after this long (default: Ctrl-C).")
def bridge(registry_path: Path, mqtt_url: str, seconds: float | None) -> None:
    """Run the firmware bridge for a registry: serial scales, Modbus buses and MQTT probes in,
    reading batches out on jxc/<store>/readings/<device>."""
    from datetime import UTC, datetime

    from firmware_bridge.registry import RegistryError, parse_registry
    from firmware_bridge.shells.bridge import Bridge
    from ops.logs import configure_logging

    configure_logging("info")
    try:
        registry = parse_registry(registry_path.read_text(encoding="utf-8"))
    except RegistryError as exc:
        raise click.UsageError(str(exc)) from exc
    for problem in registry.problems:
        click.echo(f"misconfigured: {problem.entry}: {problem.reason}", err=True)

    async def run() -> None:
        running = Bridge(
            registry,
            mqtt_url=mqtt_url,
            clock=lambda: datetime.now(UTC),
            epoch_ms=int(time.time() * 1000),
        )
        await running.start()
        try:
            if seconds is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(seconds)
        finally:
            await running.stop()
            click.echo(f"published {running.coordinator.published} readings", err=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
