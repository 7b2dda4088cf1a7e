"""Redemption state in SQLite: reads on the reader connection, writes as writer `Fact`s.

The hot path reads everything a redemption needs in ONE query (the answer already given to
this client id, the voucher, the code's live redemption here or in another store) and writes
ONE row per request; the partial unique index `redeem_live_code` makes the second live
redemption of a code fail inside the writer's transaction.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import msgspec

from edge.eventlog.writer import FIRST_SEQ, Fact, Statement
from edge.redeem.domain import PriorRedemption
from protocol.redeem_events import (
    CodeRedeemed,
    RedemptionRejected,
    RedemptionReversed,
    RemoteRedemption,
    RemoteRedemptionsLearned,
    TrustedKey,
    Voucher,
    VoucherBatch,
    VoucherBatchReceived,
)

_voucher_json = msgspec.json.Decoder(Voucher)
_key_json = msgspec.json.Decoder(TrustedKey)
_json = msgspec.json.Encoder()

_LOOKUP = """
SELECT a.answer, a.seq,
       v.body, v.revoked,
       l.redemption_id, l.seq, l.terminal_id, l.at_us,
       rm.store_id, rm.seq, rm.terminal_id, rm.redeemed_at_us, rm.redemption_id
FROM (SELECT ? AS terminal_id, ? AS client_id, ? AS code) AS k
LEFT JOIN redeem_attempts AS a ON a.terminal_id = k.terminal_id AND a.client_id = k.client_id
LEFT JOIN redeem_vouchers AS v ON v.code = k.code
LEFT JOIN redeem_attempts AS l
       ON l.code = k.code AND l.redemption_id IS NOT NULL AND l.reversed_seq IS NULL
LEFT JOIN redeem_remote AS rm ON rm.code = k.code
"""

_INSERT_ATTEMPT = (
    "INSERT INTO redeem_attempts(terminal_id, client_id, seq, code, redemption_id, operator_id,"
    " at_us, answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def epoch_us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def from_epoch_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


class Lookup(msgspec.Struct, frozen=True, kw_only=True):
    """What the store knows about one (terminal, client id, code)."""

    answer: bytes | None = None
    answer_seq: int = 0
    voucher: Voucher | None = None
    voucher_revoked: bool = False
    voucher_unreadable: bool = False
    prior: PriorRedemption | None = None


class StoredRedemption(msgspec.Struct, frozen=True, kw_only=True):
    redemption_id: str
    code: str
    seq: int
    terminal_id: str
    redeemed_at: datetime
    reversed: bool


class RedeemStore:
    """Reads for the redeem slice.

    The hot-path lookup runs on its own read-only sqlite3 connection, on the event loop: it is
    four primary-key/index probes (tens of microseconds), cheaper than the three thread hops an
    aiosqlite query costs; in WAL mode a reader never waits for the writer. Everything else
    reads through the shared aiosqlite reader.
    """

    def __init__(self, reader: aiosqlite.Connection, *, store_id: str, db_path: Path) -> None:
        self._reader = reader
        self._store_id = store_id
        self._point = sqlite3.connect(
            f"file:{db_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        self._point.execute("PRAGMA busy_timeout = 200")

    def close(self) -> None:
        self._point.close()

    async def lookup(self, *, terminal_id: str, client_id: str, code: str) -> Lookup:
        row = self._point.execute(_LOOKUP, (terminal_id, client_id, code)).fetchone()
        assert row is not None
        voucher = None
        unreadable = False
        if row[2] is not None:
            try:
                voucher = _voucher_json.decode(row[2])
            except (msgspec.DecodeError, msgspec.ValidationError):
                unreadable = True
        prior = None
        if row[4] is not None:
            prior = PriorRedemption(
                store_id=self._store_id,
                terminal_id=str(row[6]),
                redeemed_at=from_epoch_us(int(row[7])),
                seq=int(row[5]),
                redemption_id=str(row[4]),
            )
        elif row[8] is not None:
            prior = PriorRedemption(
                store_id=str(row[8]),
                terminal_id=str(row[10]),
                redeemed_at=from_epoch_us(int(row[11])),
                seq=int(row[9]),
                redemption_id=str(row[12]),
                remote=True,
            )
        return Lookup(
            answer=bytes(row[0]) if row[0] is not None else None,
            answer_seq=int(row[1] or 0),
            voucher=voucher,
            voucher_revoked=bool(row[3]),
            voucher_unreadable=unreadable,
            prior=prior,
        )

    async def event_id(self, seq: int) -> str:
        async with self._reader.execute("SELECT event_id FROM events WHERE seq = ?", (seq,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return ""
        return str(uuid.UUID(bytes=bytes(row[0])))

    async def redemption(self, redemption_id: str) -> StoredRedemption | None:
        async with self._reader.execute(
            "SELECT code, seq, terminal_id, at_us, reversed_seq FROM redeem_attempts"
            " WHERE redemption_id = ?",
            (redemption_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return StoredRedemption(
            redemption_id=redemption_id,
            code=str(row[0]),
            seq=int(row[1]),
            terminal_id=str(row[2]),
            redeemed_at=from_epoch_us(int(row[3])),
            reversed=row[4] is not None,
        )

    async def batch_version(self, batch_id: str) -> int | None:
        async with self._reader.execute(
            "SELECT version FROM redeem_batches WHERE batch_id = ?", (batch_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else int(row[0])

    async def keys(self) -> list[TrustedKey]:
        async with self._reader.execute("SELECT body FROM redeem_keys ORDER BY key_id") as cur:
            rows = await cur.fetchall()
        return [_key_json.decode(row[0]) for row in rows]

    async def sync_cursor(self, name: str) -> int:
        async with self._reader.execute(
            "SELECT value FROM redeem_sync WHERE name = ?", (name,)
        ) as cur:
            row = await cur.fetchone()
        return 0 if row is None else int(row[0])

    async def counts(self) -> tuple[int, int]:
        """(vouchers held, live redemptions)."""
        async with self._reader.execute(
            "SELECT (SELECT count(*) FROM redeem_vouchers),"
            " (SELECT count(*) FROM redeem_attempts"
            "  WHERE redemption_id IS NOT NULL AND reversed_seq IS NULL)"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


def attempt_fact(
    event: CodeRedeemed | RedemptionRejected,
    *,
    code: str,
    redemption_id: str | None,
    operator_id: str,
    now: datetime,
    occurred_at: datetime,
    answer: bytes,
) -> Fact:
    """One POS request answered: its row (and for a grant, the code's live claim) + event."""
    return Fact(
        events=(event,),
        occurred_at=occurred_at,
        device_id=event.terminal_id,
        operator_id=operator_id,
        statements=(
            (
                _INSERT_ATTEMPT,
                (
                    event.terminal_id,
                    event.client_id,
                    FIRST_SEQ,
                    code,
                    redemption_id,
                    operator_id,
                    epoch_us(now),
                    answer,
                ),
            ),
        ),
    )


def reversal_fact(event: RedemptionReversed, *, operator_id: str, occurred_at: datetime) -> Fact:
    return Fact(
        events=(event,),
        occurred_at=occurred_at,
        device_id=event.terminal_id,
        operator_id=operator_id,
        statements=(
            (
                "INSERT INTO redeem_reversals(redemption_id, seq, reason, operator_id)"
                " VALUES (?, ?, ?, ?)",
                (event.redemption_id, FIRST_SEQ, event.reason, operator_id),
            ),
            (
                "UPDATE redeem_attempts SET reversed_seq = ? WHERE redemption_id = ?",
                (FIRST_SEQ, event.redemption_id),
            ),
        ),
    )


def batch_fact(batch: VoucherBatch, *, raw: bytes, device_id: str, occurred_at: datetime) -> Fact:
    """Apply a voucher batch: vouchers upserted, revocations, keys, the batch's version."""
    statements: list[Statement] = []
    if batch.vouchers:
        statements.append(
            (
                "INSERT INTO redeem_vouchers(code, batch_id, body, revoked)"
                " SELECT json_extract(value, '$.code'), ?, value, 0 FROM json_each(?) WHERE true"
                " ON CONFLICT(code) DO UPDATE SET batch_id = excluded.batch_id,"
                " body = excluded.body, revoked = 0",
                (batch.batch_id, _json.encode(batch.vouchers).decode()),
            )
        )
    if batch.revoked_codes:
        statements.append(
            (
                "INSERT INTO redeem_vouchers(code, batch_id, body, revoked)"
                " SELECT value, ?, NULL, 1 FROM json_each(?) WHERE true"
                " ON CONFLICT(code) DO UPDATE SET revoked = 1",
                (batch.batch_id, _json.encode(batch.revoked_codes).decode()),
            )
        )
    statements.extend(
        (
            "INSERT INTO redeem_keys(key_id, body) VALUES (?, ?)"
            " ON CONFLICT(key_id) DO UPDATE SET body = excluded.body",
            (key.key_id, _json.encode(key).decode()),
        )
        for key in batch.keys
    )
    statements.append(
        (
            "INSERT INTO redeem_batches(batch_id, version, seq, codes) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(batch_id) DO UPDATE SET version = excluded.version,"
            " seq = excluded.seq, codes = excluded.codes",
            (batch.batch_id, batch.version, FIRST_SEQ, len(batch.vouchers)),
        )
    )
    event = VoucherBatchReceived(
        batch_id=batch.batch_id,
        version=batch.version,
        codes=len(batch.vouchers),
        revoked=len(batch.revoked_codes),
        keys=tuple(key.key_id for key in batch.keys),
        digest=hashlib.sha256(raw).hexdigest(),
    )
    return Fact(
        events=(event,),
        occurred_at=occurred_at,
        device_id=device_id,
        statements=tuple(statements),
    )


def remote_fact(
    redemptions: tuple[RemoteRedemption, ...],
    *,
    next_since_ms: int,
    device_id: str,
    occurred_at: datetime,
) -> Fact:
    rows = [
        [r.code, r.store_id, r.seq, r.terminal_id, epoch_us(r.redeemed_at), r.redemption_id]
        for r in redemptions
    ]
    return Fact(
        events=(
            RemoteRedemptionsLearned(
                count=len(redemptions),
                codes=tuple(r.code for r in redemptions[:100]),
                next_since_ms=next_since_ms,
            ),
        ),
        occurred_at=occurred_at,
        device_id=device_id,
        statements=(
            (
                "INSERT OR IGNORE INTO redeem_remote(code, store_id, seq, terminal_id,"
                " redeemed_at_us, redemption_id) SELECT json_extract(value, '$[0]'),"
                " json_extract(value, '$[1]'), json_extract(value, '$[2]'),"
                " json_extract(value, '$[3]'), json_extract(value, '$[4]'),"
                " json_extract(value, '$[5]') FROM json_each(?)",
                (_json.encode(rows).decode(),),
            ),
            (
                "INSERT INTO redeem_sync(name, value) VALUES ('remote_since_ms', ?)"
                " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (next_since_ms,),
            ),
        ),
    )
