"""Building the redeem slice from settings (called by the composition root, edge/app.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

import aiosqlite
import msgspec
import structlog

from edge.clock import random_event_id
from edge.eventlog.database import open_database
from edge.eventlog.writer import EventLogWriter
from edge.redeem.downlink import RedeemDownlink
from edge.redeem.service import BatchOutcome, RedeemService, load_keyring_file
from edge.redeem.store import RedeemStore
from edge.settings import EdgeSettings
from protocol.signed_codes import KeyRing

log = structlog.get_logger(__name__)


async def build_redeem_service(
    settings: EdgeSettings,
    *,
    reader: aiosqlite.Connection,
    writer: EventLogWriter,
    clock: Callable[[], datetime],
) -> RedeemService:
    service = RedeemService(
        store=RedeemStore(reader, store_id=settings.store_id, db_path=settings.db_path),
        writer=writer,
        clock=clock,
        new_id=random_event_id,
        store_id=settings.store_id,
        device_id=settings.device_id,
        ring=KeyRing(),
        reversal_window=timedelta(seconds=settings.redeem_reversal_window_s),
    )
    keys = await service.load_keys(load_keyring_file(settings.redeem_keyring_path))
    log.info("redeem.ready", store_id=settings.store_id, keys=keys)
    return service


def start_redeem_downlink(
    settings: EdgeSettings, service: RedeemService
) -> tuple[RedeemDownlink | None, asyncio.Task[None] | None]:
    """The cloud → store link (voucher batches, other stores' redemptions); none offline."""
    if not settings.relay_enabled:
        return None, None
    downlink = RedeemDownlink(
        service=service,
        store_id=settings.store_id,
        nats_url=settings.nats_url,
        sync_interval_s=settings.redeem_sync_interval_s,
    )
    task = asyncio.create_task(downlink.run(), name="redeem-downlink")
    task.add_done_callback(_log_crash)
    return downlink, task


async def stop_redeem(service: RedeemService, task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    service.close()


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("redeem.downlink_crashed", error=repr(task.exception()))


async def load_voucher_batches(
    settings: EdgeSettings,
    raw_batches: list[bytes],
    *,
    clock: Callable[[], datetime],
    device_id: str = "admin-cli",
) -> list[BatchOutcome]:
    """Apply voucher batches straight to a store database (the edge may be running: SQLite
    serializes writers and the edge sees the new codes on its next read). For a store that
    cannot be reached over NATS, and for tests."""
    conn = await open_database(settings.db_path)
    reader = await open_database(settings.db_path, read_only=True)
    writer = EventLogWriter(
        conn, store_id=settings.store_id, clock=clock, new_event_id=random_event_id
    )
    await writer.start()
    try:
        service = await build_redeem_service(
            msgspec.structs.replace(settings, device_id=device_id),
            reader=reader,
            writer=writer,
            clock=clock,
        )
        try:
            return [await service.apply_batch(raw) for raw in raw_batches]
        finally:
            service.close()
    finally:
        await writer.stop()
        await reader.close()
        await conn.close()
