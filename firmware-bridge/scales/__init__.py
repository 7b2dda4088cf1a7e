"""Sans-I/O scale drivers: MT-SICS, Toledo 8217 and NCI (SCP-01).

Each parser takes bytes with `feed(data)` and returns typed events; `close()` reports a partial
frame at end of input. No I/O, no clock; the buffer is bounded; bad bytes become `FrameError`
and the parser resyncs at the next delimiter. `encode_command` functions build the requests.
"""

from .events import (
    CommandAck,
    CommandRejected,
    FrameError,
    OtherReply,
    ScaleEvent,
    ScaleStatus,
    SerialNumber,
    TareReading,
    WeightReading,
)
from .mt_sics import MtSicsParser
from .nci import NciParser
from .toledo_8217 import Toledo8217Parser

__all__ = [
    "CommandAck",
    "CommandRejected",
    "FrameError",
    "MtSicsParser",
    "NciParser",
    "OtherReply",
    "ScaleEvent",
    "ScaleStatus",
    "SerialNumber",
    "TareReading",
    "Toledo8217Parser",
    "WeightReading",
]
