"""The cold-chain slice as the composition root starts it: state loaded, intake running."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import aiosqlite
import structlog

from edge.coldchain.api import ColdChainView
from edge.coldchain.intake import ColdChainIntake, OnExcursion
from edge.coldchain.service import ColdChainService
from edge.coldchain.store import load_devices, load_scale_weights
from edge.eventlog.writer import EventLogWriter
from edge.settings import EdgeSettings

log = structlog.get_logger(__name__)


class ColdChainRuntime:
    def __init__(
        self,
        settings: EdgeSettings,
        *,
        writer: EventLogWriter,
        reader: aiosqlite.Connection,
        clock: Callable[[], datetime],
        on_excursion: OnExcursion | None = None,
    ) -> None:
        self.service = ColdChainService(
            store_id=settings.store_id,
            clock=clock,
            stale_after_s=settings.probe_stale_after_s,
            offline_after_s=settings.probe_offline_after_s,
            device_id=settings.device_id,
        )
        self._reader = reader
        self.intake: ColdChainIntake | None = None
        if settings.coldchain_intake_enabled:
            self.intake = ColdChainIntake(
                service=self.service,
                writer=writer,
                mqtt_url=settings.mqtt_url,
                store_id=settings.store_id,
                clock=clock,
                on_excursion=on_excursion,
                reload_state=self.reload,
                silence_check_s=min(5.0, settings.probe_offline_after_s / 4),
            )
        self.view = ColdChainView(
            service=self.service, reader=reader, intake=self.intake, clock=clock
        )

    async def reload(self) -> None:
        self.service.load(await load_devices(self._reader), await load_scale_weights(self._reader))

    async def start(self) -> None:
        await self.reload()
        if self.intake is not None:
            await self.intake.start()

    async def stop(self) -> None:
        if self.intake is not None:
            await self.intake.stop()
