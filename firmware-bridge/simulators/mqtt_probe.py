"""MQTT probes as the real firmwares publish them: Tasmota, Shelly Gen2 and Zigbee2MQTT.

`probe_messages` is pure: the (topic, payload, retain) a device would publish for one reading;
`online_message` / `offline_message` are its availability (last will). `run_mqtt_probe`
publishes a scenario with paho-mqtt at an interval, with the scenario clock sped up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware_bridge.shells.mqtt_shell import parse_mqtt_url
from firmware_bridge.simulators.scenarios import TemperatureScenario

PROBE_FIRMWARES = ("tasmota", "shelly-gen2", "zigbee2mqtt")
Message = tuple[str, bytes, bool]


def probe_messages(firmware: str, device: str, centi_c: int, at: datetime) -> list[Message]:
    celsius = round(centi_c / 100, 2)
    if firmware == "tasmota":
        body = {
            "Time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "DS18B20": {"Id": "01144A0CB2AA", "Temperature": celsius},
            "TempUnit": "C",
        }
        return [(f"tele/{device}/SENSOR", json.dumps(body).encode(), False)]
    if firmware == "shelly-gen2":
        body = {
            "src": device,
            "dst": f"{device}/events",
            "method": "NotifyStatus",
            "params": {
                "ts": round(at.timestamp(), 2),
                "temperature:0": {"id": 0, "tC": celsius, "tF": round(celsius * 9 / 5 + 32, 1)},
            },
        }
        return [(f"{device}/events/rpc", json.dumps(body).encode(), False)]
    if firmware == "zigbee2mqtt":
        body2 = {"temperature": celsius, "humidity": 82.5, "battery": 97, "linkquality": 120}
        return [(f"zigbee2mqtt/{device}", json.dumps(body2).encode(), False)]
    raise ValueError(f"unknown probe firmware {firmware!r}; choose from {PROBE_FIRMWARES}")


def online_message(firmware: str, device: str, online: bool) -> Message:
    if firmware == "tasmota":
        return (f"tele/{device}/LWT", b"Online" if online else b"Offline", True)
    if firmware == "shelly-gen2":
        return (f"{device}/online", b"true" if online else b"false", True)
    state = json.dumps({"state": "online" if online else "offline"}).encode()
    return (f"zigbee2mqtt/{device}/availability", state, True)


def run_mqtt_probe(
    mqtt_url: str,
    *,
    firmware: str,
    device: str,
    scenario: TemperatureScenario,
    interval_s: float = 1.0,
    speed: float = 1.0,
    count: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_publish: Callable[[int | None], None] | None = None,
) -> int:
    """Publish the scenario until `count` readings (or `should_stop`); returns readings sent.

    A silent stretch of the scenario publishes nothing (the probe is gone) and counts nothing.
    """
    host, port, user, password = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{firmware}-{device}")
    if user is not None:
        client.username_pw_set(user, password)
    will_topic, will_payload, _ = online_message(firmware, device, online=False)
    client.will_set(will_topic, will_payload, qos=1, retain=True)
    client.connect(host, port)
    client.loop_start()
    sent = 0
    try:
        topic, payload, retain = online_message(firmware, device, online=True)
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
        started = time.monotonic()
        while not should_stop() and (count is None or sent < count):
            elapsed = (time.monotonic() - started) * speed
            centi = scenario(elapsed)
            if centi is not None:
                for topic, payload, retain in probe_messages(
                    firmware, device, centi, datetime.now(UTC)
                ):
                    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
                sent += 1
            if on_publish is not None:
                on_publish(centi)
            time.sleep(interval_s)
    finally:
        client.disconnect()
        client.loop_stop()
    return sent
