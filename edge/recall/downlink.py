"""Cloud → store recall holds over NATS JetStream, in a task that never blocks POS calls.

Stream `JXC_RECALLS` on `jxc.v1.cmd.*.recalls` (defined in protocol/streams.py, since the
cloud creates it alike); each store has a durable pull consumer on its own subject, so a recall
published while the store was offline arrives when it is back. A command is acked after its
hold committed; a malformed or misaddressed one is logged with its reason, counted and
terminated (never retried forever); when the log cannot commit it is redelivered later. One
command is in flight at a time (`max_ack_pending=1`), so a release can never overtake the
place it lifts.

Connects forever with backoff (a store may be offline for days).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import nats
import nats.errors
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from edge.errors import EdgeError, Rejected, RetryableError
from edge.holds.service import HoldService
from edge.recall.domain import RecallRefused, read_recall
from edge.recall.service import RecallOutcome, RecallService
from edge.settings import EdgeSettings
from protocol.recall import RECALLS_KIND
from protocol.streams import (
    RECALLS_STREAM,
    ensure_recalls_stream,
    recall_msg_id,
    recalls_stream_config,
)
from protocol.subjects import command_subject

__all__ = [
    "RECALLS_STREAM",
    "RecallDownlink",
    "RecallDownlinkStatus",
    "ensure_recalls_stream",
    "recall_msg_id",
    "recalls_stream_config",
    "start_recall_downlink",
    "stop_recall_downlink",
]

log = structlog.get_logger(__name__)

_NATS_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)
Disposition = Literal["ack", "term", "nak"]


@dataclass(slots=True)
class RecallDownlinkStatus:
    connected: bool = False
    applied: dict[str, int] = field(default_factory=dict)  # by outcome
    refused: dict[str, int] = field(default_factory=dict)  # by reason, terminated
    retries: int = 0

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())


class RecallDownlink:
    def __init__(self, *, service: RecallService, store_id: str, nats_url: str) -> None:
        self._service = service
        self._store_id = store_id
        self._nats_url = nats_url
        self.status = RecallDownlinkStatus()
        self._closing = False
        self._log = log.bind(store_id=store_id)

    def close(self) -> None:
        """Stop after the command in hand (checked between fetches)."""
        self._closing = True

    async def run(self) -> None:
        nc = await self._connect()
        try:
            await self._consume(nc)
        finally:
            with contextlib.suppress(*_NATS_ERRORS):
                await nc.close()

    async def handle(self, payload: bytes) -> Disposition:
        """What to do with one delivered command, after applying it."""
        order = read_recall(payload, store_id=self._store_id)
        if isinstance(order, RecallRefused):
            return self._refuse(order.reason, order.detail, len(payload))
        try:
            outcome: RecallOutcome = await self._service.apply(order)
        except RetryableError as exc:
            self.status.retries += 1
            self._log.warning("recall.apply_retry", recall_id=order.recall_id, error=str(exc))
            return "nak"
        except Rejected as exc:
            return self._refuse("rejected", f"recall {order.recall_id!r}: {exc}", len(payload))
        except EdgeError as exc:  # not the command's fault: keep it until it can be applied
            self.status.retries += 1
            self._log.error("recall.apply_failed", recall_id=order.recall_id, error=repr(exc))
            return "nak"
        self.status.applied[outcome] = self.status.applied.get(outcome, 0) + 1
        return "ack"

    def _refuse(self, reason: str, detail: str, size: int) -> Disposition:
        self.status.refused[reason] = self.status.refused.get(reason, 0) + 1
        self._log.warning("recall.command_refused", reason=reason, detail=detail, bytes=size)
        return "term"

    async def _connect(self) -> NatsClient:
        delay = 0.2

        async def disconnected() -> None:
            self.status.connected = False
            self._log.warning("recall.downlink_disconnected")

        async def reconnected() -> None:
            self.status.connected = True
            self._log.info("recall.downlink_reconnected")

        async def error(exc: Exception) -> None:
            self._log.debug("recall.downlink_error", error=repr(exc))

        while True:
            try:
                nc = await nats.connect(
                    self._nats_url,
                    name=f"jxc-recall-{self._store_id}",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    disconnected_cb=disconnected,
                    reconnected_cb=reconnected,
                    error_cb=error,
                )
            except _NATS_ERRORS as exc:
                if delay == 0.2:
                    self._log.warning("recall.downlink_unreachable", error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self.status.connected = True
            self._log.info("recall.downlink_connected", url=self._nats_url)
            return nc

    async def _subscribe(self, js: JetStreamContext) -> JetStreamContext.PullSubscription:
        subject = command_subject(self._store_id, RECALLS_KIND)
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30.0,
            max_deliver=-1,
            max_ack_pending=1,
            filter_subject=subject,
        )
        while True:
            try:
                await ensure_recalls_stream(js)
                return await js.pull_subscribe(
                    subject,
                    durable=f"jxc-edge-{self._store_id}-recalls",
                    stream=RECALLS_STREAM,
                    config=config,
                )
            except _NATS_ERRORS as exc:
                self._log.warning("recall.subscribe_failed", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _consume(self, nc: NatsClient) -> None:
        sub = await self._subscribe(nc.jetstream())
        while not self._closing:
            try:
                msgs = await sub.fetch(1, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except _NATS_ERRORS as exc:
                self._log.debug("recall.fetch_failed", error=repr(exc))
                await asyncio.sleep(1.0)
                continue
            for msg in msgs:
                await self._settle(msg, await self.handle(msg.data))

    async def _settle(self, msg: Msg, disposition: Disposition) -> None:
        try:
            if disposition == "ack":
                await msg.ack()
            elif disposition == "term":
                await msg.term()
            else:
                await msg.nak(delay=2.0)
        except _NATS_ERRORS as exc:  # redelivered after ack_wait: applying again is harmless
            self._log.debug("recall.settle_failed", disposition=disposition, error=repr(exc))


def start_recall_downlink(
    settings: EdgeSettings, holds: HoldService, *, clock: Callable[[], datetime]
) -> tuple[RecallDownlink | None, asyncio.Task[None] | None]:
    """The cloud → store recall link (none when the store runs offline: relay disabled)."""
    if not settings.relay_enabled:
        return None, None
    downlink = RecallDownlink(
        service=RecallService(
            holds=holds, clock=clock, store_id=settings.store_id, device_id=settings.device_id
        ),
        store_id=settings.store_id,
        nats_url=settings.nats_url,
    )
    task = asyncio.create_task(downlink.run(), name="recall-downlink")
    task.add_done_callback(_log_crash)
    return downlink, task


async def stop_recall_downlink(
    downlink: RecallDownlink | None, task: asyncio.Task[None] | None
) -> None:
    if downlink is not None:
        downlink.close()
    if task is None:
        return
    # nats.py can swallow a cancellation (its flush path catches CancelledError): cancel
    # again until the task is really done rather than wait on it forever.
    for _ in range(10):
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if done:
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
    log.error("recall.downlink_did_not_stop")


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("recall.downlink_crashed", error=repr(task.exception()))
