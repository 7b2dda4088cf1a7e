"""The JetStream stream and durable consumer of store events, created idempotently."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError

from protocol.subjects import EVENTS_WILDCARD

EVENTS_STREAM = "JXC_EVENTS"


def events_stream_config() -> StreamConfig:
    return StreamConfig(
        name=EVENTS_STREAM,
        subjects=[EVENTS_WILDCARD],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        # Stores re-send after reconnects: a relay retry within this window is a dedup hit.
        duplicate_window=120.0,
        max_age=14 * 24 * 3600.0,
        discard=DiscardPolicy.OLD,
    )


async def ensure_events_stream(js: JetStreamContext) -> None:
    config = events_stream_config()
    try:
        await js.stream_info(EVENTS_STREAM)
    except NotFoundError:
        try:
            await js.add_stream(config)
        except BadRequestError:  # created concurrently by another worker
            await js.update_stream(config)
        return
    await js.update_stream(config)


async def ensure_ingest_consumer(
    js: JetStreamContext, durable: str, *, ack_wait_s: float = 30.0
) -> None:
    """The durable pull consumer all ingest workers share.

    `ack_wait_s` bounds how long batches fetched by a worker that crashed stay invisible to
    the others: the rest of that store's stream is held behind them until they return.
    """
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_ack_pending=20_000,
        filter_subject=EVENTS_WILDCARD,
    )
    await js.add_consumer(EVENTS_STREAM, config)
