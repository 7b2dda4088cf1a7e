"""`jxc device decode`: explain a captured serial line, hex frame or MQTT message."""

from __future__ import annotations

import json
import sys
from typing import Any, get_args

import click

SERIAL_PROTOCOLS = ("mt-sics", "toledo-8217", "nci", "modbus")
MQTT_FIRMWARES = ("tasmota", "shelly-gen2", "shelly-gen1", "zigbee2mqtt", "esphome", "ttn-v3")


@click.group()
def device() -> None:
    """Field-technician tools for scales and probes."""


@device.command()
@click.option(
    "--protocol",
    "protocol",
    required=True,
    type=click.Choice(SERIAL_PROTOCOLS + MQTT_FIRMWARES),
    help="Serial protocol of the capture, or the firmware that published the MQTT message.",
)
@click.option("--topic", help="MQTT topic the payload arrived on (MQTT firmwares only).")
@click.option("--retained", is_flag=True, help="The MQTT message was a retained one.")
@click.option("--hex", "as_hex", is_flag=True, help="DATA is hex bytes (default for modbus).")
@click.option("--unit", help="Configured weight unit (Toledo 8217, NCI), e.g. kg or lb.")
@click.option("--probe", help="Modbus probe model whose registers to decode, e.g. sht20.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.argument("data")
def decode(
    protocol: str,
    topic: str | None,
    retained: bool,
    as_hex: bool,
    unit: str | None,
    probe: str | None,
    as_json: bool,
    data: str,
) -> None:
    """Explain DATA: a captured scale line, a Modbus RTU frame, or an MQTT payload.

    \b
    Serial captures accept escapes and control names, or hex:
      jxc device decode --protocol mt-sics 'S S     100.00 g\\r\\n'
      jxc device decode --protocol toledo-8217 '<STX>?A<CR>'
      jxc device decode --protocol modbus --probe sht20 '01 04 04 00 E1 02 2B EA CD'
    MQTT messages need the topic:
      jxc device decode --protocol tasmota --topic tele/cold1/SENSOR '{"DS18B20":{...}}'

    Exits 0 when the data decodes cleanly, 1 when it holds frame errors or is rejected,
    2 when the arguments themselves are wrong.
    """
    if protocol in MQTT_FIRMWARES:
        report, ok = _explain_mqtt(protocol, topic, data, retained)
    else:
        if topic is not None:
            raise click.BadParameter("only MQTT firmwares take a topic", param_hint="--topic")
        report, ok = _explain_serial(protocol, data, as_hex=as_hex, unit=unit, probe=probe)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, default=str))
    else:
        click.echo(json.dumps(report, ensure_ascii=False, default=str, indent=2))
    sys.exit(0 if ok else 1)


def _explain_serial(
    protocol: str, data: str, *, as_hex: bool, unit: str | None, probe: str | None
) -> tuple[dict[str, Any], bool]:
    from firmware_bridge.explain import Protocol, explain_line, parse_capture
    from firmware_bridge.modbus.probes import probe_model

    assert protocol in get_args(Protocol)
    if probe is not None:
        try:
            probe_model(probe)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--probe") from None
    try:
        raw = parse_capture(data, protocol, "hex" if as_hex else "auto")  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="DATA") from exc
    report = explain_line(protocol, raw, unit=unit, probe=probe)  # type: ignore[arg-type]
    return report, bool(report["ok"])


def _explain_mqtt(
    firmware: str, topic: str | None, payload: str, retained: bool
) -> tuple[dict[str, Any], bool]:
    from firmware_bridge.mqtt_devices import explain_message

    if not topic:
        raise click.BadParameter(
            "MQTT messages need the topic they arrived on", param_hint="--topic"
        )
    report = explain_message(firmware, topic, payload.encode("utf-8"), retained)  # type: ignore[arg-type]
    return report, not report.get("rejected")
