"""Shelly Gen2/Gen3 RPC notifications and Shelly Gen1 per-value topics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pytest

from firmware_bridge.mqtt_devices import (
    DecodedMessage,
    DecodeOptions,
    Firmware,
    decode_message,
    subscriptions,
)
from firmware_bridge.readings import Availability, Ignored, ProbeFault, ProbeSample, Rejected

# A Plus H&T waking up (NotifyFullStatus as recorded over MQTT, trimmed of wifi/cloud detail).
PLUS_HT_FULL_STATUS = b"""{
 "src": "shellyplusht-b8d61a8b17cc", "dst": "shellyplusht-b8d61a8b17cc/events",
 "method": "NotifyFullStatus",
 "params": {
  "ts": 1680962879.62, "ble": {}, "cloud": {"connected": false},
  "devicepower:0": {"id": 0, "battery": {"V": 5.43, "percent": 97}, "external": {"present": false}},
  "ht_ui": {},
  "humidity:0": {"id": 0, "rh": 42.2},
  "mqtt": {"connected": true},
  "sys": {"mac": "B8D61A8B17CC", "restart_required": false, "time": "16:07",
          "unixtime": 1680962879, "uptime": 3, "wakeup_period": 600},
  "temperature:0": {"id": 0, "tC": 19.8, "tF": 67.6},
  "wifi": {"sta_ip": "192.168.3.183", "status": "got ip", "rssi": -58}
 }
}"""
# A Plus 1PM reporting a power change: its switch:0 temperature is the relay's chip.
PLUS_1PM_STATUS = (
    b'{"src":"shellyplus1pm-a8032ab12cd3","dst":"shellyplus1pm-a8032ab12cd3/events",'
    b'"method":"NotifyStatus","params":{"ts":1714550400.12,"switch:0":{"id":0,"apower":12.3,'
    b'"temperature":{"tC":48.2,"tF":118.8}}}}'
)
# The same relay with the Plus add-on and two DS18B20 probes (components 100 and 101).
PLUS_1PM_ADDON = (
    b'{"src":"shellyplus1pm-a8032ab12cd3","dst":"shellyplus1pm-a8032ab12cd3/events",'
    b'"method":"NotifyStatus","params":{"ts":1714550460.5,'
    b'"switch:0":{"id":0,"temperature":{"tC":48.4,"tF":119.1}},'
    b'"temperature:100":{"id":100,"tC":3.4,"tF":38.1},'
    b'"temperature:101":{"id":101,"tC":-18.6,"tF":-1.5}}}'
)


def shelly(
    firmware: Firmware,
    topic: str,
    payload: bytes,
    *,
    retained: bool = False,
    options: DecodeOptions | None = None,
) -> DecodedMessage:
    return decode_message(
        firmware, topic, payload, retained=retained, options=options or DecodeOptions()
    )


def samples(decoded: DecodedMessage) -> dict[tuple[str, str], int]:
    return {
        (o.sensor, o.quantity): o.value_centi
        for o in decoded.outcomes
        if isinstance(o, ProbeSample)
    }


def only(decoded: DecodedMessage) -> object:
    assert len(decoded.outcomes) == 1, decoded.outcomes
    return decoded.outcomes[0]


# --- Gen2 / Gen3 ---------------------------------------------------------------------------


def test_gen2_full_status_of_an_h_and_t() -> None:
    decoded = shelly("shelly-gen2", "shellyplusht-b8d61a8b17cc/events/rpc", PLUS_HT_FULL_STATUS)
    assert decoded.device == "shellyplusht-b8d61a8b17cc"
    assert samples(decoded) == {
        ("temperature:0", "temperature"): 1980,
        ("humidity:0", "humidity"): 4220,
    }
    when = datetime(2023, 4, 8, 14, 7, 59, 620000, tzinfo=UTC)
    assert all(isinstance(o, ProbeSample) and o.device_time == when for o in decoded.outcomes)


def test_gen2_relay_chip_temperature_is_ignored_with_reason() -> None:
    outcome = only(shelly("shelly-gen2", "shellyplus1pm-a8032ab12cd3/events/rpc", PLUS_1PM_STATUS))
    assert isinstance(outcome, Ignored)
    assert "switch:0" in outcome.reason
    assert "chip" in outcome.reason


def test_gen2_addon_probes_are_read_and_the_chip_is_not() -> None:
    decoded = shelly("shelly-gen2", "shellyplus1pm-a8032ab12cd3/events/rpc", PLUS_1PM_ADDON)
    assert samples(decoded) == {
        ("temperature:100", "temperature"): 340,
        ("temperature:101", "temperature"): -1860,
    }


def test_gen2_sensor_error_is_a_fault() -> None:
    payload = (
        b'{"method":"NotifyStatus","params":{"ts":1714550460.5,'
        b'"temperature:100":{"id":100,"tC":null,"tF":null,"errors":["read"]}}}'
    )
    outcome = only(shelly("shelly-gen2", "shelly1pm/events/rpc", payload))
    assert isinstance(outcome, ProbeFault)
    assert outcome.sensor == "temperature:100"
    assert "read" in outcome.reason


def test_gen2_null_without_errors_is_a_fault_too() -> None:
    payload = b'{"method":"NotifyStatus","params":{"humidity:0":{"id":0,"rh":null}}}'
    outcome = only(shelly("shelly-gen2", "ht/events/rpc", payload))
    assert isinstance(outcome, ProbeFault)


def test_gen2_addon_ds18b20_power_on_value_is_a_fault() -> None:
    payload = b'{"method":"NotifyStatus","params":{"temperature:100":{"id":100,"tC":85.0}}}'
    outcome = only(shelly("shelly-gen2", "shelly1pm/events/rpc", payload))
    assert isinstance(outcome, ProbeFault)
    assert "power-on" in outcome.reason


def test_gen2_fahrenheit_only_update_is_converted() -> None:
    payload = b'{"method":"NotifyStatus","params":{"temperature:0":{"id":0,"tF":39.2}}}'
    assert samples(shelly("shelly-gen2", "ht/events/rpc", payload)) == {
        ("temperature:0", "temperature"): 400
    }


def test_gen2_timestamp_of_an_unset_clock_is_not_a_device_time() -> None:
    payload = b'{"method":"NotifyStatus","params":{"ts":3.21,"temperature:0":{"id":0,"tC":4.5}}}'
    outcome = only(shelly("shelly-gen2", "ht/events/rpc", payload))
    assert outcome == ProbeSample(sensor="temperature:0", quantity="temperature", value_centi=450)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"src":"ht","dst":"ht/events","method":"NotifyEvent","params":{"ts":1714550460.5,'
        b'"events":[{"component":"sys","event":"sleep"}]}}',
        b'{"id":1,"src":"ht","dst":"jxc","result":{"was_on":false}}',
        b'{"method":"NotifyStatus","params":{"ts":1714550460.5,"wifi":{"rssi":-60}}}',
    ],
)
def test_gen2_events_replies_and_unrelated_status_are_ignored(payload: bytes) -> None:
    assert isinstance(only(shelly("shelly-gen2", "ht/events/rpc", payload)), Ignored)


def test_gen2_status_topics() -> None:
    temp = shelly(
        "shelly-gen2", "shellyplusht-x/status/temperature:0", b'{"id":0,"tC":4.5,"tF":40.1}'
    )
    assert samples(temp) == {("temperature:0", "temperature"): 450}
    assert temp.device == "shellyplusht-x"
    chip = only(
        shelly("shelly-gen2", "shellyplus1-x/status/switch:0", b'{"id":0,"temperature":{"tC":50}}')
    )
    assert isinstance(chip, Ignored)


@pytest.mark.parametrize(
    ("payload", "state"), [(b"true", "online"), (b"false", "offline"), (b"", "removed")]
)
def test_gen2_online_topic(payload: bytes, state: Literal["online", "offline", "removed"]) -> None:
    decoded = shelly("shelly-gen2", "cold/room/shellyplusht-x/online", payload, retained=True)
    assert decoded.device == "cold/room/shellyplusht-x"
    assert only(decoded) == Availability(state=state)
    assert decoded.retained_last_known is True


def test_gen2_malformed_notifications_are_rejected() -> None:
    for payload in (b"{not json", b'"NotifyStatus"', b'{"method":"NotifyStatus","params":[1]}'):
        outcome = only(shelly("shelly-gen2", "ht/events/rpc", payload))
        assert isinstance(outcome, Rejected), payload


def test_gen2_subscriptions() -> None:
    assert subscriptions("shelly-gen2") == ["+/events/rpc", "+/online", "+/status/+"]
    assert subscriptions("shelly-gen2", "shellyplusht-x") == [
        "shellyplusht-x/events/rpc",
        "shellyplusht-x/online",
        "shellyplusht-x/status/+",
    ]


# --- Gen1 ----------------------------------------------------------------------------------


def test_gen1_h_and_t_in_celsius() -> None:
    temp = shelly("shelly-gen1", "shellies/shellyht-6FD1A3/sensor/temperature", b"4.25")
    assert temp.device == "shellyht-6FD1A3"
    assert samples(temp) == {("sensor/temperature", "temperature"): 425}
    hum = shelly("shelly-gen1", "shellies/shellyht-6FD1A3/sensor/humidity", b"81.5")
    assert samples(hum) == {("sensor/humidity", "humidity"): 8150}


def test_gen1_h_and_t_set_to_fahrenheit() -> None:
    options = DecodeOptions(shelly_gen1_ht_unit="F")
    temp = shelly(
        "shelly-gen1", "shellies/shellyht-6FD1A3/sensor/temperature", b"39.65", options=options
    )
    assert samples(temp) == {("sensor/temperature", "temperature"): 425}


def test_gen1_addon_probe_and_its_fahrenheit_twin() -> None:
    celsius = shelly("shelly-gen1", "shellies/shelly1-98CDAC1F03B4/ext_temperature/0", b"3.56")
    assert samples(celsius) == {("ext_temperature/0", "temperature"): 356}
    twin = only(
        shelly("shelly-gen1", "shellies/shelly1-98CDAC1F03B4/ext_temperature_f/0", b"38.41")
    )
    assert isinstance(twin, Ignored)
    hum = shelly("shelly-gen1", "shellies/shelly1-98CDAC1F03B4/ext_humidity/0", b"77.0")
    assert samples(hum) == {("ext_humidity/0", "humidity"): 7700}


@pytest.mark.parametrize("payload", [b"-127", b"85.00", b"nan", b"", b"abc"])
def test_gen1_addon_bad_values_are_not_readings(payload: bytes) -> None:
    decoded = shelly("shelly-gen1", "shellies/shelly1-x/ext_temperature/1", payload)
    assert samples(decoded) == {}
    assert isinstance(only(decoded), ProbeFault | Ignored)


def test_gen1_relay_internal_temperature_is_not_the_room() -> None:
    for channel in ("temperature", "temperature_f", "overtemperature"):
        outcome = only(shelly("shelly-gen1", f"shellies/shelly1pm-x/{channel}", b"52.3"))
        assert isinstance(outcome, Ignored)
        assert "internal" in outcome.reason


def test_gen1_sensor_error_flag() -> None:
    assert isinstance(only(shelly("shelly-gen1", "shellies/ht/sensor/error", b"0")), Ignored)
    fault = only(shelly("shelly-gen1", "shellies/ht/sensor/error", b"1"))
    assert isinstance(fault, ProbeFault)


def test_gen1_online_and_custom_prefix() -> None:
    online = shelly("shelly-gen1", "shellies/shellyht-6FD1A3/online", b"true", retained=True)
    assert only(online) == Availability(state="online")
    removed = shelly("shelly-gen1", "shellies/shellyht-6FD1A3/online", b"")
    assert only(removed) == Availability(state="removed")
    custom = shelly("shelly-gen1", "store7/coldroom/sensor/temperature", b"2.5")
    assert custom.device == "store7/coldroom"
    assert samples(custom) == {("sensor/temperature", "temperature"): 250}


def test_gen1_non_utf8_value_is_rejected() -> None:
    outcome = only(shelly("shelly-gen1", "shellies/ht/sensor/temperature", b"\xff4.5"))
    assert isinstance(outcome, Rejected)
    assert outcome.raw == b"\xff4.5"


def test_gen1_unrelated_topics_are_ignored() -> None:
    for topic in ("shellies/announce", "shellies/shelly1-x/relay/0", "shellies/ht/sensor/battery"):
        assert isinstance(only(shelly("shelly-gen1", topic, b"on")), Ignored), topic


def test_gen1_subscriptions() -> None:
    assert "shellies/+/ext_temperature/+" in subscriptions("shelly-gen1")
    assert "shellies/+/online" in subscriptions("shelly-gen1")
    assert not any("ext_temperature_f" in t for t in subscriptions("shelly-gen1"))
