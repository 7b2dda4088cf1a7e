"""Redemptions across stores, with real NATS JetStream, SQLite and ClickHouse (chdb):
voucher batches cloud → NATS → edge; a multi-store code redeemed offline in two stores is
flagged once by the cloud after both sync; an online store learns other stores' redemptions."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import nats
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient

from cloud.app import create_app as create_cloud_app
from cloud.clickhouse import ClickHouseGateway
from cloud.settings import CloudSettings
from edge.app import create_app as create_edge_app
from edge.eventlog.database import open_database
from edge.redeem.downlink import batch_msg_id, ensure_vouchers_stream
from edge.settings import EdgeSettings
from edge.terminals.store import issue_terminal_token
from ops.services import LocalServer
from protocol.redeem_events import RedeemLine, TrustedKey, Voucher, VoucherBatch
from protocol.signed_codes import public_key_bytes, sign_voucher
from protocol.subjects import command_subject

pytestmark = pytest.mark.integration

KEY = Ed25519PrivateKey.generate()
NOW = datetime.now(UTC)


def multi_store_voucher(code: str, stores: tuple[str, ...] = ("s-a", "s-b")) -> Voucher:
    return Voucher(
        code=code,
        kind="group_buy",
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=1),
        stores=stores,
        lines=(RedeemLine(gtin="06901234567892", quantity=1),),
        value_fen=6600,
        issuer="douyin",
    )


async def new_store(tmp_path: Path, store_id: str, nats_url: str, online: bool) -> EdgeSettings:
    db = tmp_path / f"{store_id}.db"
    conn = await open_database(db)
    await conn.close()
    keyring = tmp_path / "keyring.json"
    keyring.write_bytes(
        msgspec.json.encode(
            [
                TrustedKey(
                    key_id="k1",
                    public_key=public_key_bytes(KEY),
                    not_before=NOW - timedelta(days=30),
                    not_after=NOW + timedelta(days=30),
                )
            ]
        )
    )
    return EdgeSettings(
        store_id=store_id,
        db_path=db,
        nats_url=nats_url,
        relay_enabled=online,
        relay_batch_max=50,
        coldchain_intake_enabled=False,
        redeem_keyring_path=keyring,
        redeem_sync_interval_s=0.2,
    )


@contextlib.asynccontextmanager
async def running_edge(settings: EdgeSettings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    token = issue_terminal_token(settings.db_path, "pos-1")
    async with AsyncTestClient(app=create_edge_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


@contextlib.asynccontextmanager
async def running_cloud(
    gateway: ClickHouseGateway, database: str, nats_url: str
) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    settings = CloudSettings(
        database=database, nats_url=nats_url, api_token="t0k", ingest_ack_wait_s=2.0
    )
    async with AsyncTestClient(app=create_cloud_app(settings, gateway=gateway)) as client:
        client.headers["Authorization"] = "Bearer t0k"
        yield client


async def redeem(client: AsyncTestClient, code: str, client_id: str) -> dict:  # type: ignore[type-arg]
    response = await client.post("/v1/redemptions", json={"code": code, "client_id": client_id})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_double_redemption_offline_in_two_stores_is_flagged_once(  # type: ignore[no-untyped-def]
    tmp_path: Path, nats_server: LocalServer, clickhouse, ch_database: str, eventually
) -> None:
    code = sign_voucher(multi_store_voucher("DY-MULTI-1"), key_id="k1", private_key=KEY)
    stores = {}
    for store_id in ("s-a", "s-b"):  # both offline: neither knows of the other's redemption
        stores[store_id] = await new_store(tmp_path, store_id, nats_server.url, online=False)
        async with running_edge(stores[store_id]) as edge:
            answer = await redeem(edge, code, f"{store_id}-1")
            assert answer["outcome"] == "redeemed", answer

    async with running_cloud(clickhouse, ch_database, nats_server.url) as cloud:
        online = [msgspec.structs.replace(s, relay_enabled=True) for s in stores.values()]
        async with running_edge(online[0]), running_edge(online[1]):

            async def flagged() -> list[dict]:  # type: ignore[type-arg]
                response = await cloud.get("/v1/redeem/flags")
                assert response.status_code == 200, response.text
                return response.json()["flags"]  # type: ignore[no-any-return]

            flags = await eventually(flagged, what="the double redemption flagged")
            auditor = cloud.app.state.runtime.redeem_auditor
            assert await auditor.audit_once() == []  # a later pass raises nothing new
            assert await auditor.audit_once() == []
            flags = await flagged()
        assert len(flags) == 1
        flag = flags[0]
        assert flag["code"] == "DY-MULTI-1"
        assert {flag["first"]["store_id"], flag["second"]["store_id"]} == {"s-a", "s-b"}
        for trail in (flag["first"], flag["second"]):
            assert trail["terminal_id"] == "pos-1"
            assert trail["seq"] >= 1
            assert trail["redeemed_at"]
        assert flag["rule"] == "later_store"
        assert flag["absorbed_by"] == flag["second"]["store_id"]
        unauthorized = await cloud.get("/v1/redeem/flags", headers={"Authorization": "Bearer x"})
        assert unauthorized.status_code == 401


async def test_batches_arrive_over_nats_and_online_stores_learn_remote_redemptions(  # type: ignore[no-untyped-def]
    tmp_path: Path, nats_server: LocalServer, clickhouse, ch_database: str, eventually
) -> None:
    store_a = await new_store(tmp_path, "s-a", nats_server.url, online=True)
    store_b = await new_store(tmp_path, "s-b", nats_server.url, online=True)
    batch = VoucherBatch(
        batch_id="dy-2025-06",
        version=1,
        store_id="s-a",
        vouchers=(multi_store_voucher("DY-BATCH-1"),),
    )
    nc = await nats.connect(nats_server.url)
    try:  # published while the store is not running: JetStream keeps it for the store
        js = nc.jetstream()
        await ensure_vouchers_stream(js)
        for _ in range(2):  # a re-publish is a duplicate, stored once
            await js.publish(
                command_subject("s-a", "vouchers"),
                msgspec.msgpack.encode(batch),
                headers={"Nats-Msg-Id": batch_msg_id("s-a", batch.batch_id, batch.version)},
            )
    finally:
        await nc.close()

    code = sign_voucher(multi_store_voucher("DY-MULTI-2"), key_id="k1", private_key=KEY)
    async with (
        running_cloud(clickhouse, ch_database, nats_server.url),
        running_edge(store_a) as edge_a,
        running_edge(store_b) as edge_b,
    ):

        async def batch_applied() -> bool:
            answer = await redeem(edge_a, "DY-BATCH-1", "a-batch")
            return answer["outcome"] == "redeemed"

        await eventually(batch_applied, what="the voucher batch applied at s-a")
        assert (await redeem(edge_b, code, "b-1"))["outcome"] == "redeemed"

        async def learned() -> bool:
            with sqlite3.connect(store_a.db_path) as conn:
                row = conn.execute(
                    "SELECT store_id FROM redeem_remote WHERE code = 'DY-MULTI-2'"
                ).fetchone()
            return row == ("s-b",)

        await eventually(learned, timeout_s=30, what="s-a learning s-b's redemption")
        answer = await redeem(edge_a, code, "a-1")
        assert answer["outcome"] == "rejected"
        assert answer["reason"]["code"] == "already_redeemed"
        prior = answer["already_redeemed"]
        assert (prior["store_id"], prior["terminal_id"], prior["remote"]) == ("s-b", "pos-1", True)
