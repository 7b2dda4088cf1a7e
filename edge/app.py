"""The edge's composition root: `create_app(settings)` builds everything once.

The app's lifespan opens the store database, starts the single writer, loads caches and runs
the outbox relay; POS calls never wait on NATS or the cloud.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
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
from edge.coldchain.api import ColdChainController, ScaleController
from edge.coldchain.domain import excursion_hold_reason
from edge.coldchain.runtime import ColdChainRuntime
from edge.errors import EdgeError
from edge.eventlog.database import open_database
from edge.eventlog.writer import EventLogWriter, WriterStatus
from edge.evidence.checkpointer import Checkpointer, start_checkpointer
from edge.holds.api import HoldController
from edge.holds.service import HoldService
from edge.holds.store import ActiveHolds
from edge.ledger.api import LedgerController
from edge.ledger.genealogy_api import GenealogyController
from edge.ledger.service import LedgerService
from edge.ledger.store import LedgerMaster
from edge.recall.downlink import RecallDownlink, start_recall_downlink, stop_recall_downlink
from edge.redeem.api import RedeemController, redeem_route
from edge.redeem.runtime import (
    build_redeem_service,
    start_redeem_downlink,
    stop_redeem,
)
from edge.relay.outbox_relay import OutboxRelay, RelayStatus, RelayTuning
from edge.scan.api import ScanController, scan_route
from edge.scan.service import ScanService
from edge.settings import EdgeSettings
from edge.telemetry import LatencyHistogram, LatencySnapshot, LatencySummary
from edge.terminals.auth import TerminalTokenMiddleware
from edge.terminals.pos_routes import PosFastPath
from edge.terminals.store import TerminalAuthenticator
from protocol.reading_events import ColdChainExcursionStarted

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
        self._redeem_task: asyncio.Task[None] | None = None
        self.coldchain: ColdChainRuntime | None = None
        self.checkpointer: Checkpointer | None = None
        self.recall_downlink: RecallDownlink | None = None
        self._recall_task: asyncio.Task[None] | None = None
        # The POS hot routes' answer times (edge/terminals/pos_routes.py), by path.
        self.pos_answer_time: dict[str, LatencyHistogram] = {}

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
        # Ledger master data and lot holds: in memory for the scan hot path, refreshed from
        # SQLite every second so changes by other processes show up (ours show at once).
        self.ledger_master = LedgerMaster(reader)
        self.active_holds = ActiveHolds(reader)
        await self.ledger_master.refresh()
        await self.active_holds.refresh()
        self.ledger_service = LedgerService(
            master=self.ledger_master,
            catalog=self.catalog,
            holds=self.active_holds,
            writer=self.writer,
            reader=reader,
            clock=self.clock,
            device_id=settings.device_id,
            store_id=settings.store_id,
        )
        self.hold_service = HoldService(
            holds=self.active_holds,
            writer=self.writer,
            new_id=random_event_id,
            lots_at=self.ledger_service.lots_with_stock_at,
            device_id=settings.device_id,
        )
        self._master_task = asyncio.create_task(self._refresh_master(), name="master-refresh")
        # The master data just loaded (100 000s of objects) lives as long as the process: keep
        # it out of the cyclic GC's generations so collections stay short on the scan path.
        gc.collect()
        gc.freeze()
        self.scan_service = ScanService(
            catalog=self.catalog,
            writer=self.writer,
            clock=self.clock,
            master=self.ledger_master,
            holds=self.active_holds,
            layouts=settings.variable_measure_layouts,
        )
        self.redeem_service = await build_redeem_service(
            settings, reader=reader, writer=self.writer, clock=self.clock
        )
        await self.writer.start()
        # Signed chain checkpoints (edge/evidence/): the key is on the chain before serving.
        self.checkpointer = await start_checkpointer(settings, writer=self.writer, clock=self.clock)
        # Cold chain: bridge readings from the store's Mosquitto (edge/coldchain/).
        self.coldchain = ColdChainRuntime(
            settings,
            writer=self.writer,
            reader=reader,
            clock=self.clock,
            on_excursion=self._cold_chain_hold,
        )
        await self.coldchain.start()
        if settings.relay_enabled:
            self.relay = OutboxRelay(
                db_path=settings.db_path,
                store_id=settings.store_id,
                nats_url=settings.nats_url,
                writer=self.writer,
                tuning=RelayTuning(
                    batch_max=settings.relay_batch_max,
                    window=settings.relay_window,
                    retention=timedelta(days=settings.log_retention_days),
                    log_budget_bytes=settings.log_budget_mb * 1024 * 1024,
                ),
                clock=self.clock,
            )
            self._relay_task = asyncio.create_task(self.relay.run(), name="outbox-relay")
        self.redeem_downlink, self._redeem_task = start_redeem_downlink(
            settings, self.redeem_service
        )
        self.recall_downlink, self._recall_task = start_recall_downlink(
            settings, self.hold_service, clock=self.clock
        )
        log.info("edge.started", store_id=settings.store_id, db=str(settings.db_path), items=items)

    async def _cold_chain_hold(self, excursion: ColdChainExcursionStarted) -> None:
        """An excursion holds every lot stored at its location (edge/holds/)."""
        held = await self.hold_service.place_at_location(
            excursion.location_id,
            "cold_chain",
            excursion_hold_reason(excursion),
            operator_id="coldchain",
            now=self.clock(),
            device_id=excursion.device_id,
        )
        log.warning("coldchain.lots_held", location=excursion.location_id, lots=len(held))

    async def _refresh_master(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.ledger_master.refresh()
                await self.active_holds.refresh()
            except aiosqlite.Error as exc:
                log.warning("edge.master_refresh_failed", error=str(exc))

    def _committed(self, seq: int) -> None:
        if self.relay is not None:
            self.relay.notify(seq)
        if self.checkpointer is not None:
            self.checkpointer.notify(seq)

    async def stop(self) -> None:
        self._master_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._master_task
        if self.coldchain is not None:
            await self.coldchain.stop()
        if self._relay_task is not None:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
        await stop_redeem(self.redeem_service, self._redeem_task)
        await stop_recall_downlink(self.recall_downlink, self._recall_task)
        if self.checkpointer is not None:
            await self.checkpointer.stop()  # one final checkpoint, before the writer stops
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
    """The event log's position, the relay's, and how long the edge's own work takes:
    `pos` per hot route (the edge's share of a terminal's wait), `writer` per commit and per
    fact. `histograms` are the same timings as cumulative counts (edge/telemetry.py): two
    readings subtract into the distribution of the time between them."""

    store_id: str
    last_seq: int
    outbox_pending: int
    relay: RelayStatus | None
    items: int
    writer: WriterStatus
    pos: dict[str, LatencySummary]
    histograms: dict[str, LatencySnapshot]


@get("/v1/status", tags=["ops"], summary="Event log and relay position, edge timings")
async def edge_status(runtime: NamedDependency[EdgeRuntime]) -> EdgeStatus:
    last_seq, pending = await runtime.log_position()
    pos = {path: h.snapshot() for path, h in runtime.pos_answer_time.items()}
    writer = runtime.writer.histograms()
    return EdgeStatus(
        store_id=runtime.settings.store_id,
        last_seq=last_seq,
        outbox_pending=pending,
        relay=runtime.relay.status if runtime.relay else None,
        items=len(runtime.catalog),
        writer=runtime.writer.status(),
        pos={path: snapshot.summary() for path, snapshot in pos.items()},
        histograms={
            **{f"pos {path}": snapshot for path, snapshot in pos.items()},
            **{f"writer {name}": snapshot for name, snapshot in writer.items()},
        },
    )


@get("/healthz", tags=["ops"], summary="Liveness (no authentication)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def problem_details(request: Request[Any, Any, Any], exc: EdgeError) -> Response[Any]:
    """The one mapping of edge errors to HTTP (RFC 9457 problem details)."""
    if exc.status_code >= 500:
        log.error("edge.request_failed", path=request.url.path, error=repr(exc))
    return Response(
        content=exc.problem(),
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

    app = Litestar(
        route_handlers=[
            ScanController,
            LedgerController,
            GenealogyController,
            HoldController,
            RedeemController,
            ColdChainController,
            ScaleController,
            edge_status,
            healthz,
        ],
        dependencies={
            "runtime": Provide(lambda: runtime, sync_to_thread=False),
            "scan_service": Provide(lambda: runtime.scan_service, sync_to_thread=False),
            "ledger_service": Provide(lambda: runtime.ledger_service, sync_to_thread=False),
            "hold_service": Provide(lambda: runtime.hold_service, sync_to_thread=False),
            "clock": Provide(lambda: runtime.clock, sync_to_thread=False),
            "redeem_service": Provide(lambda: runtime.redeem_service, sync_to_thread=False),
            "coldchain": Provide(lambda: runtime.coldchain.view, sync_to_thread=False),  # type: ignore[union-attr]
        },
        middleware=[DefineMiddleware(TerminalTokenMiddleware, exclude=["^/schema", "^/healthz"])],
        exception_handlers={EdgeError: problem_details},
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="jxc store edge", version="1", path="/schema"),
    )
    # POS hot routes answered ahead of Litestar's router (edge/terminals/pos_routes.py).
    fast_path = app.asgi_handler = PosFastPath(
        app.asgi_handler,
        routes={
            "/v1/scans": scan_route(lambda: runtime.scan_service),
            "/v1/redemptions": redeem_route(lambda: runtime.redeem_service),
        },
        authenticator=lambda: getattr(runtime, "terminal_authenticator", None),
    )
    runtime.pos_answer_time = fast_path.answer_time
    return app
