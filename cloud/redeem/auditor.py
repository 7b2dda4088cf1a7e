"""The cloud's redemption jobs, in one background task per cloud process:

- audit: every `interval_s`, codes redeemed since the last pass (the materialized view fills
  `redeem_redemptions` as ingest inserts events) are checked for a second live redemption;
  each new one is flagged once, with both evidence trails and who absorbs it;
- responder: stores ask on `jxc.v1.cmd.<store>.redemptions` (request/reply, queue group) for
  redemptions other stores made of codes they also accept, to shrink the offline window.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import msgspec
import nats
import nats.errors
import structlog
from nats.aio.msg import Msg

from cloud.clickhouse import ClickHouseGateway
from cloud.errors import ClickHouseUnavailable
from cloud.redeem.domain import DoubleRedemptionFlag, plan_flags
from cloud.redeem.store import (
    flagged_keys,
    insert_flags,
    redemptions_of_codes_touched_since,
    remote_redemptions_for,
)
from protocol.redeem_events import RemoteRedemptionsReply, RemoteRedemptionsRequest
from protocol.subjects import COMMANDS_PREFIX, is_valid_store_id

log = structlog.get_logger(__name__)

REDEMPTIONS_WILDCARD = f"{COMMANDS_PREFIX}.*.redemptions"
# Rows inserted together can carry ingest times a little apart: look back this much each pass.
_OVERLAP_MS = 5_000
_MAX_REPLY = 5_000

_request_decoder = msgspec.msgpack.Decoder(RemoteRedemptionsRequest)
_reply_encoder = msgspec.msgpack.Encoder()


@dataclass(slots=True)
class AuditCounters:
    passes: int = 0
    flags_raised: int = 0
    requests_answered: int = 0
    requests_refused: int = 0
    last_error: str = ""


class RedeemAuditor:
    def __init__(
        self,
        *,
        gateway: ClickHouseGateway,
        database: str,
        nats_url: str | None,
        interval_s: float = 1.0,
    ) -> None:
        self._gateway = gateway
        self._db = database
        self._nats_url = nats_url
        self._interval_s = interval_s
        self._since_ms = 0
        self._lock = asyncio.Lock()
        self.counters = AuditCounters()

    async def audit_once(self) -> list[DoubleRedemptionFlag]:
        """One pass: flag new double redemptions; returns the flags raised."""
        async with self._lock:
            redemptions, newest = await redemptions_of_codes_touched_since(
                self._gateway, self._db, max(0, self._since_ms - _OVERLAP_MS)
            )
            codes = sorted({r.code for r in redemptions})
            known = await flagged_keys(self._gateway, self._db, codes)
            flags = plan_flags(redemptions, already_flagged=known)
            if flags:
                await insert_flags(self._gateway, self._db, flags)
            self._since_ms = newest
            self.counters.passes += 1
            self.counters.flags_raised += len(flags)
        for flag in flags:
            log.warning(
                "redeem.double_redemption",
                code=flag.code,
                first_store=flag.first.store_id,
                second_store=flag.second.store_id,
                absorbed_by=flag.absorbed_by,
            )
        return flags

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._audit_forever(), name="redeem-audit")]
        if self._nats_url:
            tasks.append(asyncio.create_task(self._respond_forever(), name="redeem-responder"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _audit_forever(self) -> None:
        failing = False
        while True:
            try:
                await self.audit_once()
                if failing:
                    log.info("redeem.audit_recovered")
                failing = False
            except ClickHouseUnavailable as exc:
                self.counters.last_error = str(exc)
                if not failing:
                    log.error("redeem.audit_failed", error=str(exc)[:300])
                failing = True
            await asyncio.sleep(self._interval_s)

    async def _respond_forever(self) -> None:
        assert self._nats_url is not None
        delay = 0.2
        while True:
            try:
                nc = await nats.connect(
                    self._nats_url,
                    name="jxc-redeem-responder",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                )
                break
            except (nats.errors.Error, OSError) as exc:
                if delay == 0.2:
                    log.warning("redeem.responder_nats_unreachable", error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        try:
            await nc.subscribe(REDEMPTIONS_WILDCARD, queue="jxc-redeem", cb=self._answer)
            log.info("redeem.responder_started", subject=REDEMPTIONS_WILDCARD)
            await asyncio.Event().wait()
        finally:
            with contextlib.suppress(nats.errors.Error, OSError):
                await nc.close()

    async def _answer(self, msg: Msg) -> None:
        store_of_subject = msg.subject.split(".")[-2] if msg.subject.count(".") == 4 else ""
        try:
            request = _request_decoder.decode(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.counters.requests_refused += 1
            return
        if request.store_id != store_of_subject or not is_valid_store_id(request.store_id):
            self.counters.requests_refused += 1
            return
        try:
            found, next_since = await remote_redemptions_for(
                self._gateway,
                self._db,
                store_id=request.store_id,
                since_ms=max(0, request.since_ms),
                limit=max(1, min(request.limit, _MAX_REPLY)),
            )
        except ClickHouseUnavailable as exc:
            self.counters.last_error = str(exc)
            return  # no reply: the store asks again later
        reply = RemoteRedemptionsReply(
            redemptions=tuple(found),
            next_since_ms=next_since,
            more=len(found) >= max(1, min(request.limit, _MAX_REPLY)),
        )
        with contextlib.suppress(nats.errors.Error, OSError):
            await msg.respond(_reply_encoder.encode(reply))
        self.counters.requests_answered += 1
