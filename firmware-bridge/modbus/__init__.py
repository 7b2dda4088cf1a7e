"""Sans-I/O Modbus RTU master and probe register maps.

`RtuMaster` builds read (03/04) and write (06) requests, takes response bytes with `feed`, and
times out the one outstanding request with `poll_timeout(now)`. `probes` turns register
blocks of known probe models into `ProbeSample`/`ProbeFault`; `decode_capture` decodes a
captured request/response sequence offline.
"""

from .capture import decode_capture
from .crc import crc16, crc_ok, with_crc
from .events import (
    FrameError,
    ModbusEvent,
    ModbusException,
    ReadRequest,
    RegistersRead,
    RegisterWritten,
    Request,
    RequestTimedOut,
    WriteRequest,
)
from .master import RequestPending, RtuMaster, encode_request
from .probes import PROBE_MODELS, ProbeModel, decode_probe, decode_probe_values, probe_model

__all__ = [
    "PROBE_MODELS",
    "FrameError",
    "ModbusEvent",
    "ModbusException",
    "ProbeModel",
    "ReadRequest",
    "RegisterWritten",
    "RegistersRead",
    "Request",
    "RequestPending",
    "RequestTimedOut",
    "RtuMaster",
    "WriteRequest",
    "crc16",
    "crc_ok",
    "decode_capture",
    "decode_probe",
    "decode_probe_values",
    "encode_request",
    "probe_model",
    "with_crc",
]
