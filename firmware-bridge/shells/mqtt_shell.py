"""The bridge's MQTT shell: one paho-mqtt client (v2 callback API, MQTT 5) to the store's
Mosquitto, for both directions.

- Subscribes (QoS 1) to the probe firmwares' topics and hands each message to a callback on
  the asyncio loop; paho's network thread never runs bridge code.
- Publishes reading batches at QoS 1 with a bounded in-flight window (`max_inflight`, default
  100) and a bounded local queue: `publish` returns False when the queue is full, so the
  coordinator keeps the readings and retries (measured: an unbounded flood overruns the
  broker's per-client queue and Mosquitto drops the overflow silently).
- Persistent session: clean_start False with a session expiry, so subscriptions and QoS 1
  messages survive a reconnect; paho reconnects with backoff (1 s doubling to 30 s).
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = structlog.get_logger(__name__)

OnMessage = Callable[[str, bytes, bool], None]
SESSION_EXPIRY_S = 24 * 3600


def parse_mqtt_url(url: str) -> tuple[str, int, str | None, str | None]:
    """`mqtt://[user:password@]host[:port]` → (host, port, user, password)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"MQTT url must look like mqtt://host:port, not {url!r}")
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    return parts.hostname, parts.port or 1883, user, password


class MqttShell:
    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        subscriptions: list[str] | None = None,
        on_message: OnMessage | None = None,
        max_inflight: int = 100,
        max_queued: int = 1000,
    ) -> None:
        self._host, self._port, user, password = parse_mqtt_url(url)
        self._subscriptions = subscriptions or []
        self._on_message_cb = on_message
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connected = False
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if user is not None:
            client.username_pw_set(user, password)
        client.max_inflight_messages_set(max_inflight)
        client.max_queued_messages_set(max_queued)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    def start(self) -> None:
        """Connect in the background (paho's thread); reconnects on its own."""
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        self._client.connect_async(
            self._host, self._port, keepalive=30, clean_start=False, properties=properties
        )
        self._client.loop_start()

    def stop(self) -> None:
        self.connected = False  # a disconnect we asked for is not news
        self._client.disconnect()
        self._client.loop_stop()
        self.connected = False

    def publish(self, topic: str, payload: bytes) -> bool:
        """Queue one QoS 1 message; False when the local queue is full or not connected."""
        if not self.connected:
            return False
        info = self._client.publish(topic, payload, qos=1)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def outstanding(self) -> int:
        """Messages handed to paho and not yet acknowledged by the broker."""
        return len(self._client._out_messages)  # no public accessor in paho 2.x

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("bridge.mqtt_refused", reason=str(reason_code))
            return
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        self.connected = True
        log.info("bridge.mqtt_connected", session_present=flags.session_present)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self.connected:
            log.warning("bridge.mqtt_disconnected", reason=str(reason_code))
        self.connected = False

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        callback = self._on_message_cb
        if callback is None:
            return
        args = (message.topic, bytes(message.payload), bool(message.retain))
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback, *args)
        else:
            callback(*args)
