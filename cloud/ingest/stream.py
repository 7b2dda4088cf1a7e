"""The JetStream stream of store events and the ingest's consumers, created idempotently.

One stream, `JXC_EVENTS`, captures `jxc.v1.events.<partition>.<store>`. Each partition has its
own durable pull consumer (`<durable>-p<N>`), so ingest workers split the stores between them
by partition and a store's events are only ever in one worker's hands.
"""

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

from protocol.subjects import EVENTS_WILDCARD, partition_filter

EVENTS_STREAM = "JXC_EVENTS"


def events_stream_config() -> StreamConfig:
    return StreamConfig(
        name=EVENTS_STREAM,
        subjects=[EVENTS_WILDCARD],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        # Stores re-send after reconnects: a relay retry within this window is a dedup hit.
        # Beyond it, the ingest's per-store high-water mark skips the duplicate.
        duplicate_window=120.0,
        # The edge keeps every event until the cloud has it, so the stream is a buffer, not
        # the record: two weeks covers a long ingest outage.
        max_age=14 * 24 * 3600.0,
        max_bytes=10 * 1024**3,  # within the local servers' max_file_store (20 GB)
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


def partition_durable(durable: str, partition: int) -> str:
    return f"{durable}-p{partition}"


async def ensure_ingest_consumer(
    js: JetStreamContext, durable: str, partition: int, *, ack_wait_s: float = 30.0
) -> str:
    """The durable pull consumer of one partition; returns its name.

    `ack_wait_s` bounds how long batches fetched by a worker that crashed stay invisible: the
    rest of that store's stream is held behind them until they return.
    """
    name = partition_durable(durable, partition)
    config = ConsumerConfig(
        durable_name=name,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_ack_pending=20_000,
        filter_subject=partition_filter(partition),
    )
    await js.add_consumer(EVENTS_STREAM, config)
    return name
