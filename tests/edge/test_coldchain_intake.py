"""The edge's MQTT intake on a real Mosquitto and real SQLite: batches land as facts; bad
payloads, duplicates, gaps and out-of-order readings are counted with a reason, never crash."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from litestar.testing import AsyncTestClient
from paho.mqtt.enums import CallbackAPIVersion

from edge.app import create_app
from edge.eventlog.database import open_database
from edge.settings import EdgeSettings
from edge.terminals.store import issue_terminal_token
from ops import services as local
from protocol.envelope import decode_envelope, verify_chain
from protocol.reading_events import (
    DeviceReading,
    ReadingBatch,
    ReadingSeqGap,
    ReadingsRecorded,
    SensorValue,
    encode_reading_batch,
    readings_topic,
)

STORE = "s1"
T0 = datetime.now(UTC).replace(microsecond=0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def publisher(mosquitto: local.LocalServer) -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-bridge")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


@pytest.fixture
async def store_db(tmp_path: Path) -> Path:
    db = tmp_path / "store.db"
    conn = await open_database(db)
    await conn.close()
    return db


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def edge(
    store_db: Path,
    mosquitto: local.LocalServer,
    clock: Clock,
    eventually,  # type: ignore[no-untyped-def]
) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    token = issue_terminal_token(store_db, "pos-1")
    settings = EdgeSettings(
        store_id=STORE,
        db_path=store_db,
        relay_enabled=False,
        mqtt_url=mosquitto.url,
        probe_stale_after_s=60,
        probe_offline_after_s=300,
    )
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        await eventually(lambda: _subscribed(client), what="intake subscribed")
        yield client


async def _subscribed(client: AsyncTestClient) -> bool:  # type: ignore[type-arg]
    return bool((await intake(client))["mqtt"]["connected"])


def temp_reading(seq: int, centi_c: int, at: datetime) -> DeviceReading:
    return DeviceReading(
        seq=seq,
        received_at=at,
        device_time=at,
        values=(SensorValue(sensor="DS18B20-1", quantity="temperature", value=centi_c),),
    )


def batch(device: str, readings: list[DeviceReading], **kw: object) -> ReadingBatch:
    fields: dict[str, object] = {
        "store_id": STORE,
        "device_id": device,
        "kind": "probe",
        "epoch": 1,
        "readings": tuple(readings),
        "location_id": "cold-room-1",
        "location_kind": "cold-room",
        "product_class": "chilled",
        **kw,
    }
    return ReadingBatch(**fields)  # type: ignore[arg-type]


def publish(client: mqtt.Client, device: str, payload: bytes) -> None:
    info = client.publish(readings_topic(STORE, device), payload, qos=1)
    info.wait_for_publish(5)


def logged(db: Path) -> list[object]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT envelope FROM events ORDER BY seq").fetchall()
    envelopes = [decode_envelope(r[0]) for r in rows]
    verify_chain(envelopes)
    return [e.event() for e in envelopes]


async def intake(edge: AsyncTestClient) -> dict[str, object]:  # type: ignore[type-arg]
    response = await edge.get("/v1/coldchain/intake")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_readings_land_in_the_log_with_state(  # type: ignore[no-untyped-def]
    edge, publisher: mqtt.Client, store_db: Path, eventually
) -> None:
    async def connected() -> bool:
        return bool((await intake(edge))["mqtt"]["connected"])

    await eventually(connected, what="intake connected")
    readings = [temp_reading(n, 400 + n, T0 + timedelta(seconds=n)) for n in range(1, 6)]
    publish(publisher, "probe-1", encode_reading_batch(batch("probe-1", readings)))

    async def recorded() -> int:
        return int((await intake(edge))["counters"]["readings_recorded"])

    assert await eventually(lambda: _ge(recorded, 5), what="5 readings") is True
    events = logged(store_db)
    recorded_events = [e for e in events if isinstance(e, ReadingsRecorded)]
    assert [r.seq for e in recorded_events for r in e.readings] == [1, 2, 3, 4, 5]
    probes = (await edge.get("/v1/coldchain/probes")).json()
    assert probes[0]["device_id"] == "probe-1"
    assert probes[0]["status"] == "online"
    assert probes[0]["values"][0]["value"] == 405
    locations = (await edge.get("/v1/coldchain/locations")).json()
    assert locations[0]["location_id"] == "cold-room-1"
    assert locations[0]["warmest_centi_c"] == 405
    mkt = (await edge.get("/v1/coldchain/locations/cold-room-1/mkt?hours=2")).json()
    assert mkt["readings"] == 5


async def _ge(counter, n: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(await counter() >= n)


async def test_bad_payloads_are_counted_and_dropped_with_a_reason(  # type: ignore[no-untyped-def]
    edge, publisher: mqtt.Client, store_db: Path, eventually
) -> None:
    good = temp_reading(1, 410, T0)
    bad_payloads = [
        b"not json at all",
        b'{"store_id": "s1", "device_id": "probe-1", "kind": "probe", "epoch": 1, "readings": '
        b'[{"seq": 1, "received_at": "2024-05-01T08:00:00Z", "values": [{"sensor": "t", '
        b'"quantity": "temperature", "value": NaN}]}]}',
        # wrong units: a float in degrees Fahrenheit where centi-°C integers belong
        b'{"store_id": "s1", "device_id": "probe-1", "kind": "probe", "epoch": 1, "readings": '
        b'[{"seq": 1, "received_at": "2024-05-01T08:00:00Z", "values": [{"sensor": "t", '
        b'"quantity": "fahrenheit", "value": 39.2}]}]}',
        encode_reading_batch(batch("probe-1", [good], store_id="another-store")),
        encode_reading_batch(batch("probe-2", [good])),  # published on probe-1's topic
        encode_reading_batch(batch("probe-1", [])),
    ]
    for payload in bad_payloads:
        publish(publisher, "probe-1", payload)
    absurd = temp_reading(1, 32767 * 10, T0)
    publish(publisher, "probe-1", encode_reading_batch(batch("probe-1", [absurd])))
    publish(
        publisher, "probe-1", encode_reading_batch(batch("probe-1", [temp_reading(2, 420, T0)]))
    )
    # duplicates and out of order: 2 again, then 5 (gap 3..4), then 3 late, then 3 again
    for seq in (2, 5, 3, 3):
        reading = temp_reading(seq, 430, T0 + timedelta(seconds=seq))
        publish(publisher, "probe-1", encode_reading_batch(batch("probe-1", [reading])))

    async def settled() -> dict[str, object] | None:
        report = await intake(edge)
        return report if report["counters"]["messages"] >= 12 else None  # type: ignore[index]

    report = await eventually(settled, what="12 messages handled")
    counters = report["counters"]
    assert counters["dropped"] == {
        "malformed_payload": 3,
        "wrong_store": 1,
        "topic_mismatch": 1,
        "empty_batch": 1,
        "implausible_temperature": 1,
        "duplicate": 2,
    }
    assert counters["gaps"] == 1
    assert counters["readings_missing"] == 2
    assert counters["readings_late"] == 1
    assert counters["readings_recorded"] == 4  # seqs 1 (as a fault), 2, 5, 3
    events = logged(store_db)
    gaps = [e for e in events if isinstance(e, ReadingSeqGap)]
    assert [(g.first_missing_seq, g.last_missing_seq) for g in gaps] == [(3, 4)]
    seqs = [r.seq for e in events if isinstance(e, ReadingsRecorded) for r in e.readings]
    assert seqs == [1, 2, 5, 3]
    first = next(e for e in events if isinstance(e, ReadingsRecorded))
    assert first.readings[0].values == ()
    assert first.readings[0].faults[0].reason.startswith("implausible_temperature")
    # the edge is still up and answering
    assert (await edge.get("/v1/coldchain/probes")).status_code == 200


async def test_a_stable_scale_weight_is_sellable_and_motion_is_not(  # type: ignore[no-untyped-def]
    edge, publisher: mqtt.Client, clock: Clock, eventually
) -> None:
    def weight(seq: int, grams: int, stable: bool) -> DeviceReading:
        return DeviceReading(
            seq=seq,
            received_at=clock.now,
            values=(SensorValue(sensor="net", quantity="weight", value=grams, stable=stable),),
        )

    unknown = await edge.get("/v1/scales/scale-1/weight")
    assert unknown.status_code == 404
    scale_batch = batch(
        "scale-1",
        [weight(1, 1180, False), weight(2, 1234, True)],
        kind="scale",
        location_id="counter-1",
        product_class="",
    )
    publish(publisher, "scale-1", encode_reading_batch(scale_batch))

    async def answer() -> dict[str, object] | None:
        response = await edge.get("/v1/scales/scale-1/weight")
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]

    body = await eventually(answer, what="scale weight")
    assert body["sellable"] is True
    assert body["net_g"] == 1234
    moving = batch("scale-1", [weight(3, 1500, False)], kind="scale", location_id="counter-1")
    publish(publisher, "scale-1", encode_reading_batch(moving))

    async def unstable() -> dict[str, object] | None:
        body = await answer()
        return body if body and body["seq"] == 3 else None

    body = await eventually(unstable, what="motion reading")
    assert body["sellable"] is False
    assert "motion" in str(body["reason"])
    assert body["last_stable"]["net_g"] == 1234
