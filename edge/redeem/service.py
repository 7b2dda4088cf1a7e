"""Redeem use cases: redeem a scanned code exactly once, reverse a redemption, apply voucher
batches and the cloud's list of redemptions made in other stores.

Exactly once: the domain decides on what the reader saw, then the writer inserts the attempt
row; the partial unique index on live codes (and the primary key on (terminal, client id))
turns a lost race into `Rejected` inside the writer's transaction. The service then reads
again and answers with the winner's redemption (already_redeemed: where, when, which
terminal) or, for a retried client id, with the answer that request got.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import msgspec
import structlog

from edge.errors import EdgeError, FatalError, Rejected, RetryableError
from edge.eventlog.writer import EventLogWriter
from edge.redeem.domain import (
    Basket,
    Grant,
    PriorRedemption,
    Reason,
    Refusal,
    ReversalRefusalCode,
    decide_redemption,
    decide_reversal,
    reason,
    redeemed_event,
    refusal_from_code,
    rejected_event,
)
from edge.redeem.store import (
    Lookup,
    RedeemStore,
    attempt_fact,
    batch_fact,
    remote_fact,
    reversal_fact,
)
from protocol.redeem_events import (
    MAX_BATCH_VOUCHERS,
    Channel,
    RedeemLine,
    RedemptionReversed,
    RemoteRedemptionsReply,
    TrustedKey,
    VoucherBatch,
    VoucherKind,
    VoucherSource,
)
from protocol.signed_codes import (
    CodeRefusal,
    KeyRing,
    SignedCode,
    is_signed_code,
    parse_signed_code,
)

log = structlog.get_logger(__name__)

_CODE_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))
_MAX_RACE_RETRIES = 5


class RedemptionNotFound(EdgeError):
    status_code = 404
    title = "redemption not found"


class RedemptionAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to one POS redemption request (the same again for a retried client id)."""

    outcome: Literal["redeemed", "rejected"]
    code: str
    client_id: str
    reason: Reason | None = None
    already_redeemed: PriorRedemption | None = None
    redemption_id: str | None = None
    kind: VoucherKind | None = None
    source: VoucherSource | None = None
    channel: Channel | None = None
    lines: tuple[RedeemLine, ...] = ()  # hand these over
    discount_fen: int = 0  # take this off the basket
    value_fen: int = 0  # what the issuer settles
    order_id: str = ""
    seq: int = 0
    event_id: str = ""


class ReversalAnswer(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Literal["reversed", "rejected"]
    redemption_id: str
    code: str
    reason: ReversalRefusalCode | None = None
    seq: int = 0


BatchOutcome = Literal["applied", "stale", "wrong_store", "invalid"]

_answer_encoder = msgspec.msgpack.Encoder()
_answer_decoder = msgspec.msgpack.Decoder(RedemptionAnswer)
_batch_decoder = msgspec.msgpack.Decoder(VoucherBatch)


class RedeemService:
    def __init__(
        self,
        *,
        store: RedeemStore,
        writer: EventLogWriter,
        clock: Callable[[], datetime],
        new_id: Callable[[datetime], uuid.UUID],
        store_id: str,
        device_id: str,
        ring: KeyRing,
        reversal_window: timedelta,
    ) -> None:
        self._store = store
        self._writer = writer
        self._clock = clock
        self._new_id = new_id
        self._store_id = store_id
        self._device_id = device_id
        self.ring = ring
        self._reversal_window = reversal_window
        self._log = log.bind(store_id=store_id)

    async def load_keys(self, file_keys: Iterable[TrustedKey]) -> int:
        for key in [*file_keys, *await self._store.keys()]:
            self.ring.add(key)
        return len(self.ring)

    async def redeem(
        self,
        text: str,
        *,
        client_id: str,
        terminal_id: str,
        operator_id: str = "",
        channel: Channel | None = None,
        basket: Basket | None = None,
        occurred_at: datetime | None = None,
    ) -> RedemptionAnswer:
        basket = basket or Basket()
        now = self._clock()
        signed: SignedCode | CodeRefusal | None = None
        code = text
        if is_signed_code(text):
            signed = parse_signed_code(text)
            if isinstance(signed, SignedCode) and _is_code(signed.voucher.code):
                code = signed.voucher.code
            elif isinstance(signed, SignedCode):
                signed = CodeRefusal(reason="malformed", detail="bad voucher code")
        for _ in range(_MAX_RACE_RETRIES):
            found = await self._store.lookup(
                terminal_id=terminal_id, client_id=client_id, code=code
            )
            if found.answer is not None:
                return await self._replay(found)
            decision = self._decide(found, signed, basket=basket, now=now)
            try:
                return await self._record(
                    decision,
                    code=code,
                    client_id=client_id,
                    terminal_id=terminal_id,
                    operator_id=operator_id,
                    channel=channel,
                    basket=basket,
                    now=now,
                    occurred_at=occurred_at or now,
                )
            except Rejected:
                # Lost a race (another terminal claimed the code, or this client id's retry
                # was answered first): read again and answer from what won.
                continue
        raise RetryableError("the code is contended; try again")

    def _decide(
        self,
        found: Lookup,
        signed: SignedCode | CodeRefusal | None,
        *,
        basket: Basket,
        now: datetime,
    ) -> Grant | Refusal:
        if isinstance(signed, CodeRefusal):
            return refusal_from_code(signed)
        if found.voucher is not None:  # a batch's copy wins over a signed one (revocable)
            return decide_redemption(
                found.voucher,
                source="batch",
                store_id=self._store_id,
                basket=basket,
                now=now,
                revoked=found.voucher_revoked,
                prior=found.prior,
            )
        if found.voucher_unreadable:
            return Refusal(reason=reason("unknown", "stored voucher unreadable"))
        if isinstance(signed, SignedCode):
            verified = self.ring.verify(signed, now=now)
            if isinstance(verified, CodeRefusal):
                return refusal_from_code(verified)
            return decide_redemption(
                verified.voucher,
                source="signed",
                key_id=verified.key_id,
                store_id=self._store_id,
                basket=basket,
                now=now,
                revoked=found.voucher_revoked,
                prior=found.prior,
            )
        if found.voucher_revoked:
            return Refusal(reason=reason("revoked"))
        if found.prior is not None and found.prior.remote:
            return Refusal(reason=reason("already_redeemed"), prior=found.prior)
        return Refusal(reason=reason("unknown"))

    async def _record(
        self,
        decision: Grant | Refusal,
        *,
        code: str,
        client_id: str,
        terminal_id: str,
        operator_id: str,
        channel: Channel | None,
        basket: Basket,
        now: datetime,
        occurred_at: datetime,
    ) -> RedemptionAnswer:
        if isinstance(decision, Grant):
            redemption_id = str(self._new_id(now))
            voucher = decision.voucher
            event = redeemed_event(
                decision,
                redemption_id=redemption_id,
                terminal_id=terminal_id,
                client_id=client_id,
                channel=channel,
                basket=basket,
            )
            answer = RedemptionAnswer(
                outcome="redeemed",
                code=code,
                client_id=client_id,
                redemption_id=redemption_id,
                kind=voucher.kind,
                source=decision.source,
                channel=event.channel,
                lines=decision.lines,
                discount_fen=decision.discount_fen,
                value_fen=voucher.value_fen,
                order_id=voucher.order_id,
            )
            fact = attempt_fact(
                event,
                code=code,
                redemption_id=redemption_id,
                operator_id=operator_id,
                now=now,
                occurred_at=occurred_at,
                answer=_answer_encoder.encode(answer),
            )
        else:
            rejected = rejected_event(
                decision, code=code, terminal_id=terminal_id, client_id=client_id, channel=channel
            )
            answer = RedemptionAnswer(
                outcome="rejected",
                code=rejected.code,
                client_id=client_id,
                reason=decision.reason,
                already_redeemed=decision.prior,
                channel=rejected.channel,
            )
            fact = attempt_fact(
                rejected,
                code=rejected.code,
                redemption_id=None,
                operator_id=operator_id,
                now=now,
                occurred_at=occurred_at,
                answer=_answer_encoder.encode(answer),
            )
        (envelope,) = await self._writer.record(fact)
        return msgspec.structs.replace(answer, seq=envelope.seq, event_id=str(envelope.event_id))

    async def _replay(self, found: Lookup) -> RedemptionAnswer:
        assert found.answer is not None
        answer = _answer_decoder.decode(found.answer)
        return msgspec.structs.replace(
            answer, seq=found.answer_seq, event_id=await self._store.event_id(found.answer_seq)
        )

    async def reverse(
        self, redemption_id: str, *, terminal_id: str, operator_id: str, why: str
    ) -> ReversalAnswer:
        stored = await self._store.redemption(redemption_id)
        if stored is None:
            raise RedemptionNotFound(f"no redemption {redemption_id!r} in this store")
        now = self._clock()
        refused = decide_reversal(
            redeemed_at=stored.redeemed_at,
            reversed_already=stored.reversed,
            now=now,
            window=self._reversal_window,
        )
        if refused is not None:
            return ReversalAnswer(
                outcome="rejected", redemption_id=redemption_id, code=stored.code, reason=refused
            )
        event = RedemptionReversed(
            redemption_id=redemption_id,
            code=stored.code,
            terminal_id=terminal_id,
            reason=why,
            redeemed_seq=stored.seq,
        )
        try:
            (envelope,) = await self._writer.record(
                reversal_fact(event, operator_id=operator_id, occurred_at=now)
            )
        except Rejected:
            return ReversalAnswer(
                outcome="rejected",
                redemption_id=redemption_id,
                code=stored.code,
                reason="already_reversed",
            )
        self._log.info("redeem.reversed", redemption_id=redemption_id, operator_id=operator_id)
        return ReversalAnswer(
            outcome="reversed", redemption_id=redemption_id, code=stored.code, seq=envelope.seq
        )

    async def apply_batch(self, raw: bytes) -> BatchOutcome:
        """Apply one voucher batch (msgpack `VoucherBatch`) unless it is stale or invalid."""
        try:
            batch = _batch_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self._log.warning("redeem.batch_invalid", error=str(exc)[:200])
            return "invalid"
        if batch.store_id != self._store_id:
            self._log.warning("redeem.batch_wrong_store", batch_id=batch.batch_id)
            return "wrong_store"
        if (
            len(batch.vouchers) > MAX_BATCH_VOUCHERS
            or not all(_is_code(v.code) for v in batch.vouchers)
            or not all(_is_code(c) for c in batch.revoked_codes)
        ):
            self._log.warning("redeem.batch_invalid", batch_id=batch.batch_id, error="codes")
            return "invalid"
        staged = KeyRing(self.ring.trusted())
        try:
            for key in batch.keys:
                staged.add(key)
        except ValueError as exc:
            self._log.warning("redeem.batch_invalid", batch_id=batch.batch_id, error=str(exc))
            return "invalid"
        held = await self._store.batch_version(batch.batch_id)
        if held is not None and held >= batch.version:
            return "stale"
        await self._writer.record(
            batch_fact(batch, raw=raw, device_id=self._device_id, occurred_at=self._clock())
        )
        for key in batch.keys:
            self.ring.add(key)
        self._log.info(
            "redeem.batch_applied",
            batch_id=batch.batch_id,
            version=batch.version,
            codes=len(batch.vouchers),
            revoked=len(batch.revoked_codes),
        )
        return "applied"

    async def apply_remote(self, reply: RemoteRedemptionsReply) -> int:
        """Remember redemptions made in other stores (shrinks the double-redemption window)."""
        mine = tuple(r for r in reply.redemptions if r.store_id != self._store_id)
        if not mine:
            return 0
        await self._writer.record(
            remote_fact(
                mine,
                next_since_ms=reply.next_since_ms,
                device_id=self._device_id,
                occurred_at=self._clock(),
            )
        )
        return len(mine)

    def close(self) -> None:
        self._store.close()

    async def counts(self) -> tuple[int, int]:
        return await self._store.counts()

    async def remote_cursor(self) -> int:
        return await self._store.sync_cursor("remote_since_ms")


def _is_code(code: str) -> bool:
    return 0 < len(code) <= 512 and all(ch in _CODE_CHARS for ch in code)


def load_keyring_file(path: Path | None) -> list[TrustedKey]:
    """The public keys in a key ring file (JSON list of TrustedKey), or none if unset/absent."""
    if path is None or not path.exists():
        return []
    try:
        return msgspec.json.decode(path.read_bytes(), type=list[TrustedKey])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise FatalError(f"redeem key ring {path} is unreadable: {exc}") from exc
