"""Probe register maps: values to centi-units, vendor sentinels and bad values to faults."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.modbus import (
    PROBE_MODELS,
    ProbeModel,
    RegistersRead,
    RtuMaster,
    decode_probe,
    decode_probe_values,
    probe_model,
    with_crc,
)
from firmware_bridge.readings import ProbeFault, ProbeSample


def test_sht20_from_the_xy_md02_manual() -> None:
    """Manual: 0x0131 = 30.5 °C, 0xFF33 = -20.5 °C, 0x0222 = 54.6 %RH."""
    model = probe_model("sht20")
    assert decode_probe_values(model, [0x0131, 0x0222]) == [
        ProbeSample(sensor="temperature", quantity="temperature", value_centi=3050),
        ProbeSample(sensor="humidity", quantity="humidity", value_centi=5460),
    ]
    [cold, _] = decode_probe_values(model, [0xFF33, 0x0222])
    assert isinstance(cold, ProbeSample)
    assert cold.value_centi == -2050


def test_srth100_from_its_manual() -> None:
    """Manual: 0xFF9B = -10.1 °C, 0x0149 = 32.9 %RH, holding registers 0 and 1."""
    model = probe_model("srth100")
    assert model.request(unit=3).function == 3
    assert [
        s.value_centi
        for s in decode_probe_values(model, [0xFF9B, 0x0149])
        if isinstance(s, ProbeSample)
    ] == [-1010, 3290]


def test_whole_poll_through_the_master() -> None:
    model = probe_model("sht20")
    master = RtuMaster()
    assert master.send(model.request(unit=1), now=0.0) == bytes.fromhex("01 04 00 01 00 02 20 0B")
    [read] = master.feed(with_crc(bytes.fromhex("01 04 04 FF 33 02 22")))
    assert isinstance(read, RegistersRead)
    when = datetime(2025, 1, 1, tzinfo=UTC)
    assert decode_probe(model, read, device_time=when) == [
        ProbeSample(
            sensor="temperature", quantity="temperature", value_centi=-2050, device_time=when
        ),
        ProbeSample(sensor="humidity", quantity="humidity", value_centi=5460, device_time=when),
    ]


@pytest.mark.parametrize(
    ("register", "reason"),
    [
        (850, "85.0 °C is the DS18B20 power-on value: no conversion finished (power or wiring)"),
        (0x10000 - 1270, "-127.0 °C: DS18B20 disconnected (no answer on the 1-Wire bus)"),
        (0x7FFF, "register holds 0x7FFF (int16 maximum): no probe or value not ready"),
        (0x8000, "register holds 0x8000 (int16 minimum): sensor error"),
        (1300, "130.00 outside the sensor range -55.00..125.00"),
    ],
)
def test_ds18b20_sentinels_are_faults_not_readings(register: int, reason: str) -> None:
    model = probe_model("ds18b20-12ch")
    values = [0x00AC] * 12
    values[2] = register
    results = decode_probe_values(model, values)
    assert results[2] == ProbeFault(sensor="DS18B20-3", reason=reason, raw=f"0x{register:04X}")
    assert results[0] == ProbeSample(sensor="DS18B20-1", quantity="temperature", value_centi=1720)
    assert len(results) == 12


def test_ds18b20_negative_from_the_module_manual() -> None:
    """Manual: FF_82 = -12.6 °C, FF_B1 = -7.9 °C."""
    values = [0xFF82] + [0xFFB1] * 11
    samples = decode_probe_values(probe_model("ds18b20-12ch"), values)
    assert [s.value_centi for s in samples if isinstance(s, ProbeSample)][:2] == [-1260, -790]


def test_qfa3150_reliability_register_and_327_67_sentinel() -> None:
    model = probe_model("qfa3150")
    assert decode_probe_values(model, [2150, 0, 4512, 0]) == [
        ProbeSample(sensor="temperature", quantity="temperature", value_centi=2150),
        ProbeSample(sensor="humidity", quantity="humidity", value_centi=4512),
    ]
    assert decode_probe_values(model, [2150, 1, 0x7FFF, 0]) == [
        ProbeFault(
            sensor="temperature",
            reason="device marks the value unreliable (status 1)",
            raw="0x0866",
        ),
        ProbeFault(
            sensor="humidity",
            reason="register holds 0x7FFF (int16 maximum): no probe or value not ready",
            raw="0x7FFF",
        ),
    ]


def test_humidity_out_of_range_and_unsigned_sentinel() -> None:
    model = probe_model("sht20")
    _, high = decode_probe_values(model, [0x0131, 1001])
    _, absent = decode_probe_values(model, [0x0131, 0xFFFF])
    assert high == ProbeFault(
        sensor="humidity", reason="100.10 outside the sensor range 0.00..100.00", raw="0x03E9"
    )
    assert absent == ProbeFault(
        sensor="humidity", reason="register holds 0xFFFF: no sensor", raw="0xFFFF"
    )


def test_a_read_that_misses_registers_faults_those_channels() -> None:
    model = probe_model("sht20")
    read = RegistersRead(unit=1, function=4, values=(0x0131,), address=1)
    assert decode_probe(model, read) == [
        ProbeSample(sensor="temperature", quantity="temperature", value_centi=3050),
        ProbeFault(sensor="humidity", reason="register 2 was not read"),
    ]
    shifted = RegistersRead(unit=1, function=4, values=(0x0131, 0x0222), address=2)
    assert decode_probe(model, shifted)[0] == ProbeFault(
        sensor="temperature", reason="register 1 was not read"
    )
    qfa = probe_model("qfa3150")
    only_temperature = RegistersRead(unit=1, function=3, values=(2150,), address=0)
    assert decode_probe(qfa, only_temperature)[0] == ProbeFault(
        sensor="temperature", reason="status register 1 was not read", raw="0x0866"
    )


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="sht20"):
        probe_model("nope")


@pytest.mark.parametrize("model", PROBE_MODELS, ids=lambda m: m.name)
def test_every_model_covers_its_channels_with_one_read(model: ProbeModel) -> None:
    assert probe_model(model.name) is model
    assert 1 <= model.count <= 125
    block = range(model.address, model.address + model.count)
    for channel in model.channels:
        assert channel.address in block
        assert channel.status_address is None or channel.status_address in block


@given(
    st.sampled_from([m.name for m in PROBE_MODELS]),
    st.lists(st.integers(0, 0xFFFF), min_size=12, max_size=12),
)
def test_any_register_values_give_one_result_per_channel(name: str, values: list[int]) -> None:
    model = probe_model(name)
    results = decode_probe_values(model, values[: model.count])
    assert len(results) == len(model.channels)
    for channel, result in zip(model.channels, results, strict=True):
        assert result.sensor == channel.sensor
        if isinstance(result, ProbeSample):
            assert channel.min_centi <= result.value_centi <= channel.max_centi
