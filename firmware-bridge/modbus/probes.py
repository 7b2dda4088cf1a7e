"""Register maps of common RS-485 temperature/humidity probes, turning registers into samples.

Each `ProbeModel` says which registers to read (one block, one request) and how each channel's
register becomes a `ProbeSample` in centi-units, or a `ProbeFault` when the value is a vendor
sentinel ("no probe", "disconnected", power-on value), a status register says the value is bad,
or the value lies outside what the sensor can measure.

Sources:
- `sht20`: XY-MD02 SHT20 RS-485 transmitter manual (vendor listing, and accautomation.ca "XY-MD02
  Temp Humidity Sensor - Modbus RTU"): function 04, input register 1 temperature x10 signed
  (0x0131 = 30.5 °C, 0xFF33 = -20.5 °C), register 2 humidity x10 (0x0222 = 54.6 %RH).
- `srth100`: L-com SRTH100 series RS-485 temperature and humidity sensor manual: function 03,
  holding register 0x0000 temperature x10 two's complement (0xFF9B = -10.1 °C), 0x0001 humidity
  x10. Many unbranded "RS485 T/H sensor" boxes share this map.
- `ds18b20-12ch`: 12-channel DS18B20 Modbus module (i-io.com "12AI 18B20"): function 03, 12
  registers from 0x0004, each x10 signed. The DS18B20 range is -55..125 °C; its power-on
  register value is 85.0 °C (read before a conversion finished), and firmware commonly reports
  a missing sensor as -127.0 °C (the DallasTemperature DEVICE_DISCONNECTED_C convention).
- `qfa3150`: Siemens QFA3150-MO room sensor (basic documentation A6V12297475, "Modbus registers"):
  holding registers 1..4 (addresses 0..3): temperature x100, its reliability (0 ok, 1 bad),
  humidity x100, its reliability. Assumes the default system unit (Celsius).

Every signed register also treats 0x7FFF (e.g. 3276.7 or 327.67) and 0x8000 as "no value":
vendors use the int16 limits for a missing or not-ready sensor, and no probe here measures them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal

import msgspec

from firmware_bridge.readings import ProbeFault, ProbeQuantity, ProbeSample

from .events import ReadFunction, ReadRequest, RegistersRead, signed16

Encoding = Literal["s16", "u16"]

INT16_SENTINELS: Final = (
    (0x7FFF, "register holds 0x7FFF (int16 maximum): no probe or value not ready"),
    (0x8000, "register holds 0x8000 (int16 minimum): sensor error"),
)


class Sentinel(msgspec.Struct, frozen=True, kw_only=True):
    """A register value (as signed or unsigned per the channel's encoding) that is not a reading."""

    value: int
    reason: str


class Channel(msgspec.Struct, frozen=True, kw_only=True):
    """One measured quantity: register `address` (absolute) scaled to centi-units."""

    sensor: str
    quantity: ProbeQuantity
    address: int
    encoding: Encoding = "s16"
    centi_per_count: int = 10  # x10 registers: 1 count = 0.1 = 10 centi
    min_centi: int
    max_centi: int
    sentinels: tuple[Sentinel, ...] = ()
    status_address: int | None = None  # a register that is 0 when the value is reliable


class ProbeModel(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str
    function: ReadFunction
    address: int
    count: int
    channels: tuple[Channel, ...]

    def request(self, unit: int) -> ReadRequest:
        """The one read that covers every channel (send it with `RtuMaster.send`)."""
        return ReadRequest(
            unit=unit, function=self.function, address=self.address, count=self.count
        )


def _s16_sentinels(*extra: tuple[int, str]) -> tuple[Sentinel, ...]:
    pairs = (*((signed16(raw), reason) for raw, reason in INT16_SENTINELS), *extra)
    return tuple(Sentinel(value=value, reason=reason) for value, reason in pairs)


_DS18B20_SENTINELS: Final = _s16_sentinels(
    (850, "85.0 °C is the DS18B20 power-on value: no conversion finished (power or wiring)"),
    (-1270, "-127.0 °C: DS18B20 disconnected (no answer on the 1-Wire bus)"),
)

PROBE_MODELS: Final = (
    ProbeModel(
        name="sht20",
        description="SHT20-class RS-485 temperature/humidity transmitter (XY-MD02 and clones)",
        function=4,
        address=1,
        count=2,
        channels=(
            Channel(
                sensor="temperature",
                quantity="temperature",
                address=1,
                min_centi=-4000,
                max_centi=12500,
                sentinels=_s16_sentinels(),
            ),
            Channel(
                sensor="humidity",
                quantity="humidity",
                address=2,
                encoding="u16",
                min_centi=0,
                max_centi=10000,
                sentinels=(Sentinel(value=0xFFFF, reason="register holds 0xFFFF: no sensor"),),
            ),
        ),
    ),
    ProbeModel(
        name="srth100",
        description="SRTH100-style RS-485 temperature/humidity sensor (holding registers 0, 1)",
        function=3,
        address=0,
        count=2,
        channels=(
            Channel(
                sensor="temperature",
                quantity="temperature",
                address=0,
                min_centi=-4000,
                max_centi=8000,
                sentinels=_s16_sentinels(),
            ),
            Channel(
                sensor="humidity",
                quantity="humidity",
                address=1,
                encoding="u16",
                min_centi=0,
                max_centi=10000,
                sentinels=(Sentinel(value=0xFFFF, reason="register holds 0xFFFF: no sensor"),),
            ),
        ),
    ),
    ProbeModel(
        name="ds18b20-12ch",
        description="12-channel DS18B20 Modbus module (12AI 18B20), registers 4..15",
        function=3,
        address=4,
        count=12,
        channels=tuple(
            Channel(
                sensor=f"DS18B20-{n}",
                quantity="temperature",
                address=4 + n - 1,
                min_centi=-5500,
                max_centi=12500,
                sentinels=_DS18B20_SENTINELS,
            )
            for n in range(1, 13)
        ),
    ),
    ProbeModel(
        name="qfa3150",
        description="Siemens QFA3150-MO room sensor: values x100 with reliability registers",
        function=3,
        address=0,
        count=4,
        channels=(
            Channel(
                sensor="temperature",
                quantity="temperature",
                address=0,
                centi_per_count=1,
                min_centi=-4000,
                max_centi=7000,
                sentinels=_s16_sentinels(),
                status_address=1,
            ),
            Channel(
                sensor="humidity",
                quantity="humidity",
                address=2,
                centi_per_count=1,
                min_centi=0,
                max_centi=10000,
                sentinels=_s16_sentinels(),
                status_address=3,
            ),
        ),
    ),
)


def probe_model(name: str) -> ProbeModel:
    """The model called `name`. Raises KeyError naming the known models."""
    for model in PROBE_MODELS:
        if model.name == name:
            return model
    known = ", ".join(model.name for model in PROBE_MODELS)
    raise KeyError(f"unknown probe model {name!r}; known: {known}")


def decode_probe(
    model: ProbeModel, read: RegistersRead, *, device_time: datetime | None = None
) -> list[ProbeSample | ProbeFault]:
    """One sample or fault per channel of `model` from a read of its register block.

    A read decoded without its request (`address` None) is taken to start at `model.address`.
    """
    start = model.address if read.address is None else read.address
    registers = dict(enumerate(read.values, start=start))
    return [_channel(channel, registers, device_time) for channel in model.channels]


def decode_probe_values(
    model: ProbeModel, values: Sequence[int], *, device_time: datetime | None = None
) -> list[ProbeSample | ProbeFault]:
    """Like `decode_probe`, for register values read from `model.address` on."""
    read = RegistersRead(unit=0, function=model.function, values=tuple(values), address=None)
    return decode_probe(model, read, device_time=device_time)


def _channel(
    channel: Channel, registers: dict[int, int], device_time: datetime | None
) -> ProbeSample | ProbeFault:
    sensor = channel.sensor
    raw_register = registers.get(channel.address)
    if raw_register is None:
        return ProbeFault(sensor=sensor, reason=f"register {channel.address} was not read")
    raw = f"0x{raw_register:04X}"
    if channel.status_address is not None:
        status = registers.get(channel.status_address)
        if status is None:
            return ProbeFault(
                sensor=sensor,
                reason=f"status register {channel.status_address} was not read",
                raw=raw,
            )
        if status != 0:
            return ProbeFault(
                sensor=sensor,
                reason=f"device marks the value unreliable (status {status})",
                raw=raw,
            )
    value = signed16(raw_register) if channel.encoding == "s16" else raw_register
    for sentinel in channel.sentinels:
        if value == sentinel.value:
            return ProbeFault(sensor=sensor, reason=sentinel.reason, raw=raw)
    centi = value * channel.centi_per_count
    if not channel.min_centi <= centi <= channel.max_centi:
        return ProbeFault(
            sensor=sensor,
            reason=(
                f"{centi / 100:.2f} outside the sensor range "
                f"{channel.min_centi / 100:.2f}..{channel.max_centi / 100:.2f}"
            ),
            raw=raw,
        )
    return ProbeSample(
        sensor=sensor, quantity=channel.quantity, value_centi=centi, device_time=device_time
    )
