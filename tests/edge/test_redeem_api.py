"""POST /v1/redemptions over real HTTP handling and real SQLite (relay off: offline store)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient

from edge.app import create_app
from edge.eventlog.database import open_database
from edge.redeem.runtime import load_voucher_batches
from edge.settings import EdgeSettings
from edge.terminals.store import issue_terminal_token
from protocol.envelope import decode_envelope, verify_chain
from protocol.redeem_events import (
    CodeRedeemed,
    CouponTerms,
    RedeemLine,
    RedemptionRejected,
    RedemptionReversed,
    TrustedKey,
    Voucher,
    VoucherBatch,
)
from protocol.signed_codes import public_key_bytes, sign_voucher

STORE = "s1"
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
GOOD_KEY = Ed25519PrivateKey.generate()
OLD_KEY = Ed25519PrivateKey.generate()
REVOKED_KEY = Ed25519PrivateKey.generate()
ROGUE_KEY = Ed25519PrivateKey.generate()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def trusted(key_id: str, key: Ed25519PrivateKey, **kw: object) -> TrustedKey:
    fields: dict[str, object] = {"not_before": T0 - 30 * DAY, "not_after": T0 + 30 * DAY}
    fields.update(kw)
    return TrustedKey(key_id=key_id, public_key=public_key_bytes(key), **fields)  # type: ignore[arg-type]


def voucher(code: str, **kw: object) -> Voucher:
    fields: dict[str, object] = {
        "kind": "group_buy",
        "valid_from": T0 - DAY,
        "valid_until": T0 + DAY,
        "lines": (RedeemLine(gtin="06901234567892", quantity=2, name="鲈鱼套餐"),),
        "value_fen": 8800,
        "issuer": "meituan",
    }
    fields.update(kw)
    return Voucher(code=code, **fields)  # type: ignore[arg-type]


BATCH = VoucherBatch(
    batch_id="b-1",
    version=1,
    store_id=STORE,
    vouchers=(
        voucher("GB-0001"),
        voucher("GB-0002"),
        voucher("GB-RACE"),
        voucher("GB-RETRY"),
        voucher("GB-REV"),
        voucher("GB-OTHER", stores=("s9",)),
        voucher("GB-LATER", valid_from=T0 + DAY, valid_until=T0 + 2 * DAY),
        voucher("GB-OLD", valid_from=T0 - 3 * DAY, valid_until=T0 - DAY),
        voucher(
            "CP-20OFF",
            kind="coupon",
            lines=(),
            channel="dine-in",
            terms=CouponTerms(percent_off=20, min_spend_fen=5000, max_discount_fen=3000),
        ),
        voucher(
            "CP-FISH",
            kind="coupon",
            lines=(),
            terms=CouponTerms(amount_off_fen=500, item_gtins=("06901234567892",)),
        ),
        voucher("PK-42", kind="pickup", order_id="ORD-42", channel="takeout"),
    ),
    keys=(
        trusted("k1", GOOD_KEY),
        trusted("k0", OLD_KEY, not_before=T0 - 90 * DAY, not_after=T0 - 30 * DAY),
        trusted("kx", REVOKED_KEY, revoked=True),
    ),
)


def offline_settings(db: Path) -> EdgeSettings:
    """A store with no link to NATS (offline) and no other intakes running."""
    return EdgeSettings(
        store_id=STORE, db_path=db, relay_enabled=False, coldchain_intake_enabled=False
    )


@pytest.fixture
async def store_db(tmp_path: Path) -> Path:
    db = tmp_path / "store.db"
    conn = await open_database(db)
    await conn.close()
    settings = offline_settings(db)
    outcome = await load_voucher_batches(
        settings, [msgspec.msgpack.encode(BATCH)], clock=lambda: T0
    )
    assert outcome == ["applied"]
    return db


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def edge(store_db: Path, clock: Clock) -> AsyncIterator[tuple[AsyncTestClient, list[str]]]:  # type: ignore[type-arg]
    tokens = [issue_terminal_token(store_db, f"pos-{n}") for n in range(1, 9)]
    settings = offline_settings(store_db)
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {tokens[0]}"
        yield test_client, tokens


def counts(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM redeem_attempts)"
        ).fetchone()
    return int(row[0]), int(row[1])


def event_at(db: Path, seq: int) -> object:
    with sqlite3.connect(db) as conn:
        raw = conn.execute("SELECT envelope FROM events WHERE seq = ?", (seq,)).fetchone()[0]
    return decode_envelope(raw).event()


async def redeem(client: AsyncTestClient, code: str, client_id: str, **body: object) -> dict:  # type: ignore[type-arg]
    response = await client.post(
        "/v1/redemptions", json={"code": code, "client_id": client_id, **body}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_group_buy_voucher_is_redeemed_once_and_logged(edge, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    answer = await redeem(client, "GB-0001", "c-1", operator_id="op-7", channel="group-buy")
    assert answer["outcome"] == "redeemed"
    assert answer["lines"] == [
        {"gtin": "06901234567892", "quantity": 2, "name": "鲈鱼套餐", "amount_fen": 0}
    ]
    assert answer["value_fen"] == 8800
    assert answer["source"] == "batch"
    event = event_at(store_db, answer["seq"])
    assert isinstance(event, CodeRedeemed)
    assert (event.code, event.terminal_id, event.channel) == ("GB-0001", "pos-1", "group-buy")
    with sqlite3.connect(store_db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM outbox WHERE seq = ?", (answer["seq"],)
        ).fetchone() == (1,)
        envelopes = [
            decode_envelope(r[0]) for r in conn.execute("SELECT envelope FROM events ORDER BY seq")
        ]
    verify_chain(envelopes)

    again = await redeem(client, "GB-0001", "c-2")
    assert again["outcome"] == "rejected"
    assert again["reason"]["code"] == "already_redeemed"
    prior = again["already_redeemed"]
    assert (prior["store_id"], prior["terminal_id"], prior["seq"]) == (
        STORE,
        "pos-1",
        answer["seq"],
    )
    assert isinstance(event_at(store_db, again["seq"]), RedemptionRejected)


async def test_eight_terminals_race_for_one_code_exactly_one_wins(edge, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    client, tokens = edge

    async def attempt(n: int) -> dict:  # type: ignore[type-arg]
        response = await client.post(
            "/v1/redemptions",
            json={"code": "GB-RACE", "client_id": f"race-{n}"},
            headers={"Authorization": f"Bearer {tokens[n]}"},
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    answers = await asyncio.gather(*(attempt(n) for n in range(8)))
    winners = [a for a in answers if a["outcome"] == "redeemed"]
    assert len(winners) == 1
    winner_terminal = f"pos-{answers.index(winners[0]) + 1}"
    for loser in (a for a in answers if a["outcome"] == "rejected"):
        assert loser["reason"]["code"] == "already_redeemed"
        prior = loser["already_redeemed"]
        assert prior["store_id"] == STORE
        assert prior["terminal_id"] == winner_terminal
        assert prior["redemption_id"] == winners[0]["redemption_id"]
        assert prior["redeemed_at"].startswith("2025-06-01T12:00:00")
    with sqlite3.connect(store_db) as conn:
        live = conn.execute(
            "SELECT count(*) FROM redeem_attempts WHERE code = 'GB-RACE'"
            " AND redemption_id IS NOT NULL AND reversed_seq IS NULL"
        ).fetchone()
    assert live == (1,)


async def test_a_retry_with_the_same_client_id_gets_the_same_answer(edge, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    first = await redeem(client, "GB-RETRY", "retry-1")
    before = counts(store_db)
    retries = await asyncio.gather(*(redeem(client, "GB-RETRY", "retry-1") for _ in range(5)))
    assert all(r == first for r in retries)
    assert counts(store_db) == before  # nothing new written
    refused = await redeem(client, "NOPE-1", "retry-2")
    assert await redeem(client, "NOPE-1", "retry-2") == refused


def signed(code: str, key_id: str = "k1", key: Ed25519PrivateKey = GOOD_KEY, **kw: object) -> str:
    return sign_voucher(voucher(code, **kw), key_id=key_id, private_key=key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (signed("SG-OK-1"), "redeemed"),
        (signed("SG-BAD", key=ROGUE_KEY), "bad_signature"),  # right key id, wrong key
        (signed("SG-KID", key_id="k-unknown", key=ROGUE_KEY), "unknown_key"),
        (signed("SG-OLD", key_id="k0", key=OLD_KEY), "key_expired"),
        (signed("SG-REV", key_id="kx", key=REVOKED_KEY), "key_revoked"),
        (signed("SG-STORE", stores=("s9",)), "wrong_store"),
        ("JXC1AAAA", "malformed"),
    ],
)
async def test_signed_codes_verify_offline(edge, text: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    answer = await redeem(client, text, "sg-1")
    if expected == "redeemed":
        assert answer["outcome"] == "redeemed"
        assert answer["source"] == "signed"
        assert answer["code"] == "SG-OK-1"
        twice = await redeem(client, text, "sg-2")
        assert twice["reason"]["code"] == "already_redeemed"
    else:
        assert answer["outcome"] == "rejected"
        assert answer["reason"]["code"] == expected


async def test_a_tampered_signed_code_is_refused(edge) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    import base64

    text = signed("SG-TAMPER", value_fen=100)
    raw = bytearray(base64.b32decode(text[4:] + "=" * (-len(text[4:]) % 8)))
    raw[raw.index(b"SG-TAMPER") + 3] ^= 0x01  # one bit of the voucher code
    tampered = "JXC1" + base64.b32encode(bytes(raw)).decode().rstrip("=")
    answer = await redeem(client, tampered, "tamper-1")
    assert answer["reason"]["code"] == "bad_signature"


async def test_an_unsigned_unknown_code_is_refused_offline(edge, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    answer = await redeem(client, "MT-123456789", "u-1")
    assert answer["outcome"] == "rejected"
    assert answer["reason"]["code"] == "unknown"
    assert answer["reason"]["message_zh"]
    event = event_at(store_db, answer["seq"])
    assert isinstance(event, RedemptionRejected)
    assert event.reason == "unknown"


@pytest.mark.parametrize(
    ("code", "reason_code"),
    [("GB-OTHER", "wrong_store"), ("GB-LATER", "not_yet_valid"), ("GB-OLD", "expired")],
)
async def test_store_and_validity_rules(edge, code: str, reason_code: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    answer = await redeem(client, code, f"r-{code}")
    assert answer["reason"]["code"] == reason_code


async def test_coupons_apply_their_conditions(edge) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    small = await redeem(client, "CP-20OFF", "cp-1", basket={"total_fen": 4000})
    assert small["reason"]["code"] == "conditions_not_met"
    ok = await redeem(client, "CP-20OFF", "cp-2", basket={"total_fen": 25000})
    assert (ok["outcome"], ok["discount_fen"]) == ("redeemed", 3000)  # 20 % capped at 30 元
    no_fish = await redeem(
        client, "CP-FISH", "cp-3", basket={"lines": [{"gtin": "00000000000017", "amount_fen": 900}]}
    )
    assert no_fish["reason"]["code"] == "conditions_not_met"
    fish = await redeem(
        client,
        "CP-FISH",
        "cp-4",
        basket={"lines": [{"gtin": "06901234567892", "amount_fen": 300}]},
    )
    assert fish["discount_fen"] == 300  # never more than the eligible amount


async def test_pickup_code_hands_over_its_order(edge) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    answer = await redeem(client, "PK-42", "pk-1")
    assert (answer["kind"], answer["order_id"], answer["channel"]) == (
        "pickup",
        "ORD-42",
        "takeout",
    )


async def test_reversal_within_the_window_frees_the_code(
    edge, store_db: Path, clock: Clock
) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    first = await redeem(client, "GB-REV", "rev-1")
    url = f"/v1/redemptions/{first['redemption_id']}/reversal"
    response = await client.post(
        url, json={"reason": "wrong voucher scanned", "operator_id": "mgr-1"}
    )
    assert response.status_code == 200, response.text
    reversed_ = response.json()
    assert reversed_["outcome"] == "reversed"
    event = event_at(store_db, reversed_["seq"])
    assert isinstance(event, RedemptionReversed)
    assert (event.reason, event.redeemed_seq) == ("wrong voucher scanned", first["seq"])
    again = await client.post(url, json={"reason": "twice", "operator_id": "mgr-1"})
    assert again.json()["reason"] == "already_reversed"
    second = await redeem(client, "GB-REV", "rev-2")
    assert second["outcome"] == "redeemed"
    clock.now = T0 + timedelta(hours=2)
    late = await client.post(
        f"/v1/redemptions/{second['redemption_id']}/reversal",
        json={"reason": "too late", "operator_id": "mgr-1"},
    )
    assert late.json() == {
        "outcome": "rejected",
        "redemption_id": second["redemption_id"],
        "code": "GB-REV",
        "reason": "window_passed",
        "seq": 0,
    }
    missing = await client.post(
        "/v1/redemptions/nope/reversal", json={"reason": "x", "operator_id": "mgr-1"}
    )
    assert missing.status_code == 404
    no_operator = await client.post(url, json={"reason": "x", "operator_id": ""})
    assert no_operator.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"code": "GB 0002", "client_id": "bad-1"},  # space
        {"code": "GB-\x00\x01", "client_id": "bad-2"},  # control bytes
        {"code": "", "client_id": "bad-3"},
        {"code": "X" * 3000, "client_id": "bad-4"},
        {"code": "GB-0002"},  # no client id
        {"code": "GB-0002", "client_id": "bad-5", "channel": "teleport"},
        {"code": "GB-0002", "client_id": "bad-6", "basket": {"total_fen": -1}},
        {"code": 12345, "client_id": "bad-7"},
        [1, 2, 3],
    ],
)
async def test_bad_input_is_a_4xx_and_writes_nothing(edge, store_db: Path, body: object) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    before = counts(store_db)
    response = await client.post("/v1/redemptions", json=body)
    assert response.status_code == 400, response.text
    assert counts(store_db) == before


async def test_huge_payloads_and_wrong_tokens_are_refused(edge, store_db: Path) -> None:  # type: ignore[no-untyped-def]
    client, _ = edge
    before = counts(store_db)
    huge = await client.post(
        "/v1/redemptions",
        content=b'{"code": "GB-0002", "client_id": "h", "operator_id": "' + b"x" * 200_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    garbage = await client.post(
        "/v1/redemptions",
        content=b"\xff\xfe{not json",
        headers={"Content-Type": "application/json"},
    )
    assert garbage.status_code == 400
    wrong = await client.post(
        "/v1/redemptions",
        json={"code": "GB-0002", "client_id": "w"},
        headers={"Authorization": "Bearer jxct_wrong"},
    )
    assert wrong.status_code == 401
    assert counts(store_db) == before


async def test_batches_are_idempotent_by_version_and_can_revoke(store_db: Path) -> None:
    settings = offline_settings(store_db)
    same = msgspec.msgpack.encode(BATCH)
    newer = msgspec.msgpack.encode(
        msgspec.structs.replace(BATCH, version=2, vouchers=(), revoked_codes=("GB-0002", "SG-X"))
    )
    other_store = msgspec.msgpack.encode(msgspec.structs.replace(BATCH, store_id="s9", version=3))
    outcomes = await load_voucher_batches(
        settings, [same, newer, newer, other_store, b"\x93garbage"], clock=lambda: T0
    )
    assert outcomes == ["stale", "applied", "stale", "wrong_store", "invalid"]
    token = issue_terminal_token(store_db, "pos-1")
    async with AsyncTestClient(app=create_app(settings, clock=Clock(T0))) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        assert (await redeem(client, "GB-0002", "rv-1"))["reason"]["code"] == "revoked"
        revoked_signed = await redeem(client, signed("SG-X"), "rv-2")
        assert revoked_signed["reason"]["code"] == "revoked"
        status = (await client.get("/v1/redemptions/status")).json()
        assert status["keys"] == ["k0", "k1", "kx"]
