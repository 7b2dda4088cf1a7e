"""Transport control messages between the cloud and a store's edge (core NATS, msgpack).

- `CloudHighWaterMark` (cloud → edge, `jxc.v1.cmd.<store>.hwm`): every event up to `hwm` is in
  ClickHouse. The end-to-end acknowledgement: the edge prunes only below it.
- `ResendRequest` (cloud → edge, `jxc.v1.cmd.<store>.resend`): seqs the cloud is missing.
- `EdgeStatusReport` (edge → cloud, `jxc.v1.status.<store>`): where the edge's log stands.

All are idempotent "latest value" messages: losing one only delays, never corrupts.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from protocol.envelope import UtcDatetime
from protocol.errors import ProtocolError

HWM_KIND = "hwm"
RESEND_KIND = "resend"


class CloudHighWaterMark(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    hwm: int
    at: UtcDatetime


class ResendRequest(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    from_seq: int
    to_seq: int
    reason: str = "gap"


class EdgeStatusReport(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    last_seq: int
    last_acked_seq: int  # JetStream stored everything up to here
    outbox_pending: int
    cloud_hwm: int
    log_bytes: int
    log_budget_bytes: int
    at: UtcDatetime

    @property
    def over_budget(self) -> bool:
        return self.log_bytes > self.log_budget_bytes


T = TypeVar("T", CloudHighWaterMark, ResendRequest, EdgeStatusReport)

_encoder = msgspec.msgpack.Encoder()


def encode_control(message: CloudHighWaterMark | ResendRequest | EdgeStatusReport) -> bytes:
    return _encoder.encode(message)


def decode_control(data: bytes, kind: type[T]) -> T:
    """Decode a control message; raises ProtocolError (never anything else) on bad bytes."""
    try:
        message = msgspec.msgpack.decode(data, type=kind)
    except msgspec.DecodeError as exc:
        raise ProtocolError("undecodable_control_message", str(exc)) from exc
    if isinstance(message, ResendRequest) and not 1 <= message.from_seq <= message.to_seq:
        raise ProtocolError("bad_resend_range", f"{message.from_seq}-{message.to_seq}")
    return message
