"""The edge's composition root: `create_app(settings)` builds everything once.

The app's lifespan opens the store database, starts the single writer, loads caches and runs
the outbox relay; POS calls never wait on NATS or the cloud.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import aiosqlite
import msgspec
import structlog
from litestar import Litestar, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig

from edge.catalog.store import ItemCatalog
from edge.clock import random_event_id, utc_now
from edge.errors import EdgeError
from edge.eventlog.database import open_database
from edge.eventlog.writer import EventLogWriter
from edge.relay.outbox_relay import OutboxRelay, RelayStatus
from edge.scan.api import ScanController
from edge.scan.service import ScanService
from edge.settings import EdgeSettings
from edge.terminals.auth import TerminalTokenMiddleware
from edge.terminals.store import TerminalAuthenticator

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


class EdgeRuntime:
    """Everything the edge runs, built from settings; started and stopped by the app."""

    def __init__(self, settings: EdgeSettings, *, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self._conns: list[aiosqlite.Connection] = []
        self._relay_task: asyncio.Task[None] | None = None
        self.relay: OutboxRelay | None = None

    async def start(self) -> None:
        settings = self.settings
        writer_conn = await open_database(settings.db_path)
        reader = await open_database(settings.db_path, read_only=True)
        self._conns = [writer_conn, reader]
        self.reader = reader
        self.writer = EventLogWriter(
            writer_conn,
            store_id=settings.store_id,
            clock=self.clock,
            new_event_id=random_event_id,
            batch_max=settings.writer_batch_max,
            on_commit=self._committed,
        )
        self.catalog = ItemCatalog(reader)
        items = await self.catalog.load()
        self.terminal_authenticator = TerminalAuthenticator(reader)
        self.scan_service = ScanService(catalog=self.catalog, writer=self.writer, clock=self.clock)
        await self.writer.start()
        if settings.relay_enabled:
            self.relay = OutboxRelay(
                db_path=settings.db_path,
                store_id=settings.store_id,
                nats_url=settings.nats_url,
                writer=self.writer,
                batch_max=settings.relay_batch_max,
            )
            self._relay_task = asyncio.create_task(self.relay.run(), name="outbox-relay")
        log.info("edge.started", store_id=settings.store_id, db=str(settings.db_path), items=items)

    def _committed(self, seq: int) -> None:
        if self.relay is not None:
            self.relay.notify(seq)

    async def stop(self) -> None:
        if self._relay_task is not None:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
        await self.writer.stop()
        for conn in self._conns:
            await conn.close()
        log.info("edge.stopped", store_id=self.settings.store_id)

    async def log_position(self) -> tuple[int, int]:
        """(last seq written, events still in the outbox)."""
        async with self.reader.execute(
            "SELECT (SELECT coalesce(max(seq), 0) FROM events), (SELECT count(*) FROM outbox)"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


class EdgeStatus(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    last_seq: int
    outbox_pending: int
    relay: RelayStatus | None
    items: int


@get("/v1/status", tags=["ops"], summary="Event log and relay position")
async def edge_status(runtime: NamedDependency[EdgeRuntime]) -> EdgeStatus:
    last_seq, pending = await runtime.log_position()
    return EdgeStatus(
        store_id=runtime.settings.store_id,
        last_seq=last_seq,
        outbox_pending=pending,
        relay=runtime.relay.status if runtime.relay else None,
        items=len(runtime.catalog),
    )


@get("/healthz", tags=["ops"], summary="Liveness (no authentication)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def problem_details(request: Request[Any, Any, Any], exc: EdgeError) -> Response[Any]:
    """The one mapping of edge errors to HTTP (RFC 9457 problem details)."""
    if exc.status_code >= 500:
        log.error("edge.request_failed", path=request.url.path, error=repr(exc))
    return Response(
        content={
            "type": "about:blank",
            "title": exc.title,
            "status": exc.status_code,
            "detail": str(exc),
        },
        status_code=exc.status_code,
        media_type="application/problem+json",
    )


def create_app(settings: EdgeSettings, *, clock: Clock = utc_now) -> Litestar:
    runtime = EdgeRuntime(settings, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await runtime.start()
        app.state.terminal_authenticator = runtime.terminal_authenticator
        try:
            yield
        finally:
            await runtime.stop()

    return Litestar(
        route_handlers=[ScanController, edge_status, healthz],
        dependencies={
            "runtime": Provide(lambda: runtime, sync_to_thread=False),
            "scan_service": Provide(lambda: runtime.scan_service, sync_to_thread=False),
        },
        middleware=[DefineMiddleware(TerminalTokenMiddleware, exclude=["^/schema", "^/healthz"])],
        exception_handlers={EdgeError: problem_details},
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="jxc store edge", version="1", path="/schema"),
    )
