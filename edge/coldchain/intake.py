"""The edge's MQTT intake: the bridge's reading batches into the event log.

One paho-mqtt client (v2 callback API, MQTT 5, QoS 1) subscribes to `jxc/<store>/readings/+`
with a persistent session (clean_start False, session expiry), so the store's Mosquitto keeps
what arrives while the edge is down. Messages are acknowledged manually, only once their fact
is committed: a crash between receipt and commit gets the message redelivered, and the
per-device seq check drops the redelivered duplicates.

paho's network thread only hands messages to the asyncio loop; one task decodes, applies the
cold-chain rules and records facts through the single writer (group-committed), then acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.coldchain.service import ColdChainService, Dropped
from edge.errors import EdgeError, FatalError
from edge.eventlog.writer import EventLogWriter, Fact
from protocol.reading_events import ColdChainExcursionStarted, readings_filter

log = structlog.get_logger(__name__)

OnExcursion = Callable[[ColdChainExcursionStarted], Awaitable[None]]
SESSION_EXPIRY_S = 7 * 24 * 3600  # a store offline for a week still gets its readings


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    host: str
    port: int
    username: str | None
    password: str | None


def parse_mqtt_url(url: str) -> MqttEndpoint:
    """`mqtt://[user:password@]host[:port]`; raises FatalError for anything else."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise FatalError(f"MQTT url must look like mqtt://host:port, not {url!r}")
    return MqttEndpoint(
        host=parts.hostname,
        port=parts.port or 1883,
        username=urllib.parse.unquote(parts.username) if parts.username else None,
        password=urllib.parse.unquote(parts.password) if parts.password else None,
    )


class IntakeStatus(msgspec.Struct, frozen=True, kw_only=True):
    connected: bool
    subscribed: str
    pending: int


@dataclass(slots=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int


class ColdChainIntake:
    def __init__(
        self,
        *,
        service: ColdChainService,
        writer: EventLogWriter,
        mqtt_url: str,
        store_id: str,
        clock: Callable[[], datetime],
        on_excursion: OnExcursion | None = None,
        client_id: str | None = None,
        reload_state: Callable[[], Awaitable[None]] | None = None,
        batch_max: int = 512,
        silence_check_s: float = 5.0,
    ) -> None:
        self._service = service
        self._writer = writer
        self._endpoint = parse_mqtt_url(mqtt_url)
        self._store_id = store_id
        self._filter = readings_filter(store_id)
        self._clock = clock
        self._on_excursion = on_excursion
        self._client_id = client_id or f"jxc-edge-{store_id}"
        self._reload_state = reload_state
        self._batch_max = batch_max
        self._silence_check_s = silence_check_s
        self._queue: asyncio.Queue[_Message] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: mqtt.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connected = False

    @property
    def status(self) -> IntakeStatus:
        return IntakeStatus(
            connected=self.connected, subscribed=self._filter, pending=self._queue.qsize()
        )

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if self._endpoint.username is not None:
            client.username_pw_set(self._endpoint.username, self._endpoint.password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        client.connect_async(
            self._endpoint.host,
            self._endpoint.port,
            keepalive=30,
            clean_start=False,
            properties=properties,
        )
        client.loop_start()
        self._client = client
        self._tasks = [
            asyncio.create_task(self._drain(), name="coldchain-intake"),
            asyncio.create_task(self._watch_silence(), name="coldchain-silence"),
        ]
        log.info("coldchain.intake_started", store_id=self._store_id, topic=self._filter)

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            self.connected = False  # a disconnect we asked for is not news
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self.connected = False

    # --- paho thread ----------------------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("coldchain.mqtt_refused", store_id=self._store_id, reason=str(reason_code))
            return
        client.subscribe(self._filter, qos=1)
        log.info(
            "coldchain.mqtt_connected",
            store_id=self._store_id,
            session_present=flags.session_present,
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("coldchain.subscribe_refused", store_id=self._store_id, topic=self._filter)
            return
        self.connected = True  # connected and subscribed: readings flow from here on

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self.connected:
            log.warning(
                "coldchain.mqtt_disconnected", store_id=self._store_id, reason=str(reason_code)
            )
        self.connected = False

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        item = _Message(message.topic, bytes(message.payload), message.mid, message.qos)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._queue.put_nowait, item)

    # --- asyncio side -----------------------------------------------------------------------

    async def _drain(self) -> None:
        while True:
            items = [await self._queue.get()]
            while len(items) < self._batch_max and not self._queue.empty():
                items.append(self._queue.get_nowait())
            facts: list[Fact] = []
            for item in items:
                outcome = self._service.ingest(item.topic, item.payload)
                if isinstance(outcome, Fact):
                    facts.append(outcome)
                elif isinstance(outcome, Dropped):
                    pass  # counted and logged by the service, acknowledged below
            results = await asyncio.gather(
                *(self._writer.record(fact) for fact in facts), return_exceptions=True
            )
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                # Not acknowledged: reload the committed state and reconnect, so the broker
                # redelivers the whole window and nothing is lost.
                log.error("coldchain.record_failed", store_id=self._store_id, error=repr(failed[0]))
                await self._resync()
                continue
            self._service.committed(facts)
            client = self._client
            if client is not None:
                for item in items:
                    if item.qos > 0:
                        client.ack(item.mid, item.qos)
            await self._after_commit(facts)

    async def _after_commit(self, facts: list[Fact]) -> None:
        if self._on_excursion is None:
            return
        for fact in facts:
            for event in fact.events:
                if isinstance(event, ColdChainExcursionStarted):
                    try:
                        await self._on_excursion(event)
                    except EdgeError as exc:
                        log.error(
                            "coldchain.auto_hold_failed",
                            store_id=self._store_id,
                            location=event.location_id,
                            error=str(exc),
                        )

    async def _resync(self) -> None:
        if self._reload_state is not None:
            await self._reload_state()
        while not self._queue.empty():
            self._queue.get_nowait()
        client = self._client
        if client is not None:
            await asyncio.sleep(1.0)
            with contextlib.suppress(OSError):
                client.reconnect()

    async def _watch_silence(self) -> None:
        while True:
            await asyncio.sleep(self._silence_check_s)
            fact = self._service.check_silence(self._clock())
            if fact is None:
                continue
            try:
                await self._writer.record(fact)
            except EdgeError as exc:
                log.error(
                    "coldchain.offline_record_failed", store_id=self._store_id, error=str(exc)
                )
