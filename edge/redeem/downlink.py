"""Cloud → store for redemptions, over NATS, in a background task that never blocks POS calls.

- Voucher batches: JetStream stream `JXC_VOUCHERS` on `jxc.v1.cmd.*.vouchers`; each store has
  a durable pull consumer on its own subject, so batches published while the store was offline
  arrive when it is back. A batch is acked after its fact committed (or when it is stale or
  invalid: a poison batch is logged with its reason and terminated, never retried forever).
- Redemptions made in other stores: a request/reply on `jxc.v1.cmd.<store>.redemptions`
  every `sync_interval_s` while online, from a cursor kept in SQLite.

Connects forever with backoff (a store may be offline for days).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import msgspec
import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NatsClient
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

from edge.errors import RetryableError
from edge.redeem.service import RedeemService
from protocol.redeem_events import RemoteRedemptionsReply, RemoteRedemptionsRequest
from protocol.subjects import COMMANDS_PREFIX, command_subject

log = structlog.get_logger(__name__)

VOUCHERS_STREAM = "JXC_VOUCHERS"
VOUCHERS_KIND = "vouchers"
REDEMPTIONS_KIND = "redemptions"
_NATS_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)

_request_encoder = msgspec.msgpack.Encoder()
_reply_decoder = msgspec.msgpack.Decoder(RemoteRedemptionsReply)


def vouchers_stream_config() -> StreamConfig:
    return StreamConfig(
        name=VOUCHERS_STREAM,
        subjects=[f"{COMMANDS_PREFIX}.*.{VOUCHERS_KIND}"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        duplicate_window=600.0,  # a re-published batch (same Nats-Msg-Id) is stored once
        max_age=90 * 24 * 3600.0,
        discard=DiscardPolicy.OLD,
    )


async def ensure_vouchers_stream(js: JetStreamContext) -> None:
    try:
        await js.stream_info(VOUCHERS_STREAM)
    except nats.js.errors.NotFoundError:
        with contextlib.suppress(nats.js.errors.BadRequestError):  # created concurrently
            await js.add_stream(vouchers_stream_config())


def batch_msg_id(store_id: str, batch_id: str, version: int) -> str:
    return f"{store_id}:{batch_id}:{version}"


@dataclass(slots=True)
class DownlinkStatus:
    connected: bool = False
    batches_applied: int = 0
    batches_stale: int = 0
    batches_rejected: int = 0
    remote_learned: int = 0
    remote_syncs: int = 0


class RedeemDownlink:
    def __init__(
        self,
        *,
        service: RedeemService,
        store_id: str,
        nats_url: str,
        sync_interval_s: float = 5.0,
    ) -> None:
        self._service = service
        self._store_id = store_id
        self._nats_url = nats_url
        self._sync_interval_s = sync_interval_s
        self.status = DownlinkStatus()
        self._log = log.bind(store_id=store_id)

    async def run(self) -> None:
        nc = await self._connect()
        try:
            await asyncio.gather(self._vouchers(nc), self._remote(nc))
        finally:
            with contextlib.suppress(*_NATS_ERRORS):
                await nc.close()

    async def _connect(self) -> NatsClient:
        delay = 0.2

        async def disconnected() -> None:
            self.status.connected = False
            self._log.warning("redeem.downlink_disconnected")

        async def reconnected() -> None:
            self.status.connected = True
            self._log.info("redeem.downlink_reconnected")

        async def error(exc: Exception) -> None:
            self._log.debug("redeem.downlink_error", error=repr(exc))

        while True:
            try:
                nc = await nats.connect(
                    self._nats_url,
                    name=f"jxc-redeem-{self._store_id}",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    disconnected_cb=disconnected,
                    reconnected_cb=reconnected,
                    error_cb=error,
                )
            except _NATS_ERRORS as exc:
                if delay == 0.2:
                    self._log.warning("redeem.downlink_unreachable", error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self.status.connected = True
            self._log.info("redeem.downlink_connected", url=self._nats_url)
            return nc

    async def _subscribe(self, js: JetStreamContext) -> JetStreamContext.PullSubscription:
        subject = command_subject(self._store_id, VOUCHERS_KIND)
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30.0,
            max_deliver=-1,
            filter_subject=subject,
        )
        while True:
            try:
                await ensure_vouchers_stream(js)
                return await js.pull_subscribe(
                    subject,
                    durable=f"jxc-edge-{self._store_id}-vouchers",
                    stream=VOUCHERS_STREAM,
                    config=config,
                )
            except _NATS_ERRORS as exc:
                self._log.warning("redeem.vouchers_subscribe_failed", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _vouchers(self, nc: NatsClient) -> None:
        sub = await self._subscribe(nc.jetstream())
        while True:
            try:
                msgs = await sub.fetch(8, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except _NATS_ERRORS as exc:
                self._log.debug("redeem.vouchers_fetch_failed", error=repr(exc))
                await asyncio.sleep(1.0)
                continue
            for msg in msgs:
                try:
                    outcome = await self._service.apply_batch(msg.data)
                except RetryableError as exc:
                    self._log.warning("redeem.batch_retry", error=str(exc))
                    await msg.nak(delay=2.0)
                    continue
                if outcome == "applied":
                    self.status.batches_applied += 1
                    await msg.ack()
                elif outcome == "stale":
                    self.status.batches_stale += 1
                    await msg.ack()
                else:
                    self.status.batches_rejected += 1
                    await msg.term()

    async def _remote(self, nc: NatsClient) -> None:
        since = await self._service.remote_cursor()
        subject = command_subject(self._store_id, REDEMPTIONS_KIND)
        while True:
            more = False
            try:
                response = await nc.request(
                    subject,
                    _request_encoder.encode(
                        RemoteRedemptionsRequest(store_id=self._store_id, since_ms=since)
                    ),
                    timeout=5.0,
                )
                reply = _reply_decoder.decode(response.data)
                self.status.remote_learned += await self._service.apply_remote(reply)
                self.status.remote_syncs += 1
                since = max(since, reply.next_since_ms)
                more = reply.more
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                self._log.warning("redeem.remote_reply_invalid", error=str(exc)[:200])
            except RetryableError as exc:
                self._log.warning("redeem.remote_apply_failed", error=str(exc))
            except _NATS_ERRORS as exc:  # no responder (cloud away), timeout, disconnected
                self._log.debug("redeem.remote_sync_unavailable", error=repr(exc))
            if not more:
                await asyncio.sleep(self._sync_interval_s)
