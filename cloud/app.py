"""The cloud's composition root: `create_app(settings)`.

In embedded mode (chdb) this one process runs ingest, API and jobs over one ClickHouse
gateway; with a server URL the same app can run as API only (JXC_INGEST_ENABLED=0) beside
separate ingest workers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig

from cloud.auth import ApiTokenMiddleware
from cloud.clickhouse import ClickHouseGateway
from cloud.errors import CloudError
from cloud.ingest.schema import create_schema
from cloud.ingest.worker import IngestWorker
from cloud.redeem.api import RedeemFlagsController
from cloud.redeem.auditor import RedeemAuditor
from cloud.redeem.store import create_redeem_schema
from cloud.settings import CloudSettings, SettingsError
from cloud.trace.api import RecallController, TraceController
from cloud.trace.completeness_api import CompletenessController
from cloud.trace.recall import RecallDesk, recall_table
from cloud.trace.service import TraceService
from cloud.trace.store import TraceStore, create_trace_schema
from cloud.transport.api import TransportController

log = structlog.get_logger(__name__)


class CloudRuntime:
    def __init__(self, settings: CloudSettings, gateway: ClickHouseGateway | None) -> None:
        self.settings = settings
        self._owns_gateway = gateway is None
        self.gateway = gateway or ClickHouseGateway(settings.clickhouse_url)
        self.ingest: IngestWorker | None = None
        self._ingest_task: asyncio.Task[None] | None = None
        self.redeem_auditor: RedeemAuditor | None = None
        self._redeem_task: asyncio.Task[None] | None = None
        self.trace = TraceService(TraceStore(self.gateway, settings.database))
        self.recalls = RecallDesk(self.gateway, settings.database, self.trace, settings.nats_url)

    async def start(self) -> None:
        await create_schema(self.gateway, self.settings.database)
        await create_redeem_schema(self.gateway, self.settings.database)
        await create_trace_schema(self.gateway, self.settings.database)
        await self.gateway.command(recall_table(self.settings.database))
        if self.settings.ingest_enabled:
            self.ingest = IngestWorker(
                gateway=self.gateway,
                database=self.settings.database,
                nats_url=self.settings.nats_url,
                durable=self.settings.ingest_durable,
                fetch_batch=self.settings.ingest_fetch_batch,
                ack_wait_s=self.settings.ingest_ack_wait_s,
                partitions=self.settings.ingest_partitions,
                prepare_workers=self.settings.ingest_prepare_workers,
                prepare_min_bytes=self.settings.ingest_prepare_min_bytes,
            )
            self._ingest_task = asyncio.create_task(self.ingest.run(), name="ingest")
            self._ingest_task.add_done_callback(_log_crash)
            # Double-redemption audit and the stores' redemption sync run beside ingest.
            self.redeem_auditor = RedeemAuditor(
                gateway=self.gateway,
                database=self.settings.database,
                nats_url=self.settings.nats_url,
            )
            self._redeem_task = asyncio.create_task(self.redeem_auditor.run(), name="redeem")
            self._redeem_task.add_done_callback(_log_crash)
        log.info(
            "cloud.started",
            clickhouse="embedded" if self.gateway.embedded else "server",
            database=self.settings.database,
            ingest=self.settings.ingest_enabled,
        )

    async def stop(self) -> None:
        if self._redeem_task is not None:
            self._redeem_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._redeem_task
        if self._ingest_task is not None:
            self._ingest_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ingest_task
        if self._owns_gateway:
            self.gateway.close()


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("cloud.ingest_crashed", error=repr(task.exception()))


@get("/healthz", tags=["ops"], summary="Liveness (no authentication)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def problem_details(request: Request[Any, Any, Any], exc: CloudError) -> Response[Any]:
    if exc.status_code >= 500:
        log.error("cloud.request_failed", path=request.url.path, error=repr(exc))
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


def create_app(settings: CloudSettings, *, gateway: ClickHouseGateway | None = None) -> Litestar:
    """Build the cloud app. Pass `gateway` to share one ClickHouse engine (tests, embedded)."""
    if not settings.api_token:
        raise SettingsError("the cloud API needs a token: set JXC_CLOUD_API_TOKEN")
    runtime = CloudRuntime(settings, gateway)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await runtime.start()
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.stop()

    return Litestar(
        route_handlers=[
            TransportController,
            RedeemFlagsController,
            TraceController,
            RecallController,
            CompletenessController,
            healthz,
        ],
        dependencies={
            "gateway": Provide(lambda: runtime.gateway, sync_to_thread=False),
            "database": Provide(lambda: settings.database, sync_to_thread=False),
            "ingest": Provide(lambda: runtime.ingest, sync_to_thread=False),
            "trace_service": Provide(lambda: runtime.trace, sync_to_thread=False),
            "recall_desk": Provide(lambda: runtime.recalls, sync_to_thread=False),
        },
        middleware=[DefineMiddleware(ApiTokenMiddleware, exclude=["^/schema", "^/healthz"])],
        exception_handlers={CloudError: problem_details},
        lifespan=[lifespan],
        state=State({"api_token": settings.api_token}),
        openapi_config=OpenAPIConfig(title="jxc cloud", version="1", path="/schema"),
    )
