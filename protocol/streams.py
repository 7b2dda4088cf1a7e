"""JetStream streams that carry commands from the cloud to stores: part of the transport
contract, so the publisher (cloud) and the consumer (edge) create them alike, whoever is first.

Imports nats-py (both the edge and the cloud extras have it; a bare `jxc` install does not
need this module).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from protocol.recall import RECALLS_KIND, RecallHold
from protocol.subjects import COMMANDS_PREFIX

if TYPE_CHECKING:
    from nats.js import JetStreamContext
    from nats.js.api import StreamConfig

RECALLS_STREAM = "JXC_RECALLS"


def recalls_stream_config() -> StreamConfig:
    from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

    return StreamConfig(
        name=RECALLS_STREAM,
        subjects=[f"{COMMANDS_PREFIX}.*.{RECALLS_KIND}"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        duplicate_window=600.0,  # a re-published command (same Nats-Msg-Id) is stored once
        max_age=90 * 24 * 3600.0,
        discard=DiscardPolicy.OLD,
    )


async def ensure_recalls_stream(js: JetStreamContext) -> None:
    import nats.js.errors

    try:
        await js.stream_info(RECALLS_STREAM)
    except nats.js.errors.NotFoundError:
        with contextlib.suppress(nats.js.errors.BadRequestError):  # created concurrently
            await js.add_stream(recalls_stream_config())


def recall_msg_id(command: RecallHold) -> str:
    """The `Nats-Msg-Id` a publisher gives a command: one stored copy per (hold, action)."""
    return f"{command.store_id}:{command.hold_id()}:{command.action}"
