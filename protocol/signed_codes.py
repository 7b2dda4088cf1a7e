"""Signed compact voucher codes, verifiable offline with a key ring (Ed25519).

A code a store has never seen in a batch can still be redeemed when its issuer signed it. The
text is built for a QR code's alphanumeric mode (upper-case letters and digits only):

    "JXC1" + base32( msgpack([key_id, body, signature]) )      (RFC 4648, no padding)

`body` is the msgpack of the voucher's fields as an array (compact, no field names);
`signature` is Ed25519 over `DOMAIN + key_id + 0x00 + body`, so a signature made for another
purpose or another key id never verifies. Keys rotate by key id: a store trusts the public
keys in its key ring, each with a validity window and a revoked flag.

Pure: no I/O, no clock (the caller passes `now`). `parse_signed_code` and `verify_signed_code`
never raise on bad input: they return a `CodeRefusal` with a reason.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.redeem_events import (
    CHANNELS,
    VOUCHER_KINDS,
    CouponTerms,
    RedeemLine,
    TrustedKey,
    Voucher,
)

PREFIX = "JXC1"
DOMAIN = b"jxc-voucher-v1\x00"
MAX_CODE_CHARS = 2048
SIGNATURE_LEN = 64
PUBLIC_KEY_LEN = 32

RefusalReason = Literal[
    "malformed", "unknown_key", "key_revoked", "key_expired", "key_not_yet_valid", "bad_signature"
]

_Line = tuple[str, int, int]  # gtin, quantity, amount_fen
_Terms = tuple[int, int, int, tuple[str, ...], int]  # amount, percent, min spend, items, cap


class _Body(msgspec.Struct, frozen=True, array_like=True):
    """The signed fields, positionally (append-only: never reorder)."""

    code: str
    kind: int
    valid_from_s: int
    valid_until_s: int
    stores: tuple[str, ...]
    lines: tuple[_Line, ...]
    value_fen: int
    terms: _Terms | None
    order_id: str
    issuer: str
    channel: int


class _Wire(msgspec.Struct, frozen=True, array_like=True):
    key_id: str
    body: bytes
    signature: bytes


class SignedCode(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed (not yet verified) signed code."""

    key_id: str
    body: bytes
    signature: bytes
    voucher: Voucher


class VerifiedCode(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    voucher: Voucher


class CodeRefusal(msgspec.Struct, frozen=True, kw_only=True):
    reason: RefusalReason
    detail: str = ""


_wire_encoder = msgspec.msgpack.Encoder()
_wire_decoder = msgspec.msgpack.Decoder(_Wire)
_body_decoder = msgspec.msgpack.Decoder(_Body)


def is_signed_code(text: str) -> bool:
    return text.startswith(PREFIX)


def _epoch_s(moment: datetime) -> int:
    return int(moment.timestamp())


def _from_epoch_s(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _to_body(voucher: Voucher) -> _Body:
    terms = voucher.terms
    return _Body(
        code=voucher.code,
        kind=VOUCHER_KINDS.index(voucher.kind),
        valid_from_s=_epoch_s(voucher.valid_from),
        valid_until_s=_epoch_s(voucher.valid_until),
        stores=voucher.stores,
        lines=tuple((line.gtin, line.quantity, line.amount_fen) for line in voucher.lines),
        value_fen=voucher.value_fen,
        terms=(
            None
            if terms is None
            else (
                terms.amount_off_fen,
                terms.percent_off,
                terms.min_spend_fen,
                terms.item_gtins,
                terms.max_discount_fen,
            )
        ),
        order_id=voucher.order_id,
        issuer=voucher.issuer,
        channel=CHANNELS.index(voucher.channel),
    )


def _from_body(body: _Body) -> Voucher | CodeRefusal:
    if not 0 <= body.kind < len(VOUCHER_KINDS) or not 0 <= body.channel < len(CHANNELS):
        return CodeRefusal(reason="malformed", detail="unknown voucher kind or channel")
    try:
        valid_from = _from_epoch_s(body.valid_from_s)
        valid_until = _from_epoch_s(body.valid_until_s)
    except (ValueError, OverflowError, OSError) as exc:
        return CodeRefusal(reason="malformed", detail=f"bad validity: {exc}")
    terms = None
    if body.terms is not None:
        amount, percent, min_spend, items, cap = body.terms
        terms = CouponTerms(
            amount_off_fen=amount,
            percent_off=percent,
            min_spend_fen=min_spend,
            item_gtins=items,
            max_discount_fen=cap,
        )
    return Voucher(
        code=body.code,
        kind=VOUCHER_KINDS[body.kind],
        valid_from=valid_from,
        valid_until=valid_until,
        stores=body.stores,
        lines=tuple(RedeemLine(gtin=g, quantity=q, amount_fen=a) for g, q, a in body.lines),
        value_fen=body.value_fen,
        terms=terms,
        order_id=body.order_id,
        issuer=body.issuer,
        channel=CHANNELS[body.channel],
    )


def _signed_message(key_id: str, body: bytes) -> bytes:
    return DOMAIN + key_id.encode("utf-8") + b"\x00" + body


def sign_voucher(voucher: Voucher, *, key_id: str, private_key: Ed25519PrivateKey) -> str:
    """The compact signed text of a voucher (validity kept to the second)."""
    if not key_id or "\x00" in key_id:
        raise ValueError("a key id is a non-empty string without NUL")
    body = msgspec.msgpack.encode(_to_body(voucher))
    signature = private_key.sign(_signed_message(key_id, body))
    wire = _wire_encoder.encode(_Wire(key_id=key_id, body=body, signature=signature))
    return PREFIX + base64.b32encode(wire).decode("ascii").rstrip("=")


def parse_signed_code(text: str) -> SignedCode | CodeRefusal:
    """Decode the text's structure (no signature check). Never raises."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        return CodeRefusal(reason="malformed", detail="not a signed code")
    if len(text) > MAX_CODE_CHARS:
        return CodeRefusal(reason="malformed", detail="too long")
    encoded = text[len(PREFIX) :].upper()
    try:
        wire_bytes = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    except (binascii.Error, ValueError) as exc:
        return CodeRefusal(reason="malformed", detail=f"not base32: {exc}")
    try:
        wire = _wire_decoder.decode(wire_bytes)
        body = _body_decoder.decode(wire.body)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        # msgspec reports some invalid UTF-8 in str fields as UnicodeDecodeError
        # (found by hypothesis): still a malformed code, never an exception.
        return CodeRefusal(reason="malformed", detail=str(exc)[:200])
    if len(wire.signature) != SIGNATURE_LEN:
        return CodeRefusal(reason="malformed", detail="signature is not 64 bytes")
    voucher = _from_body(body)
    if isinstance(voucher, CodeRefusal):
        return voucher
    return SignedCode(key_id=wire.key_id, body=wire.body, signature=wire.signature, voucher=voucher)


class KeyRing:
    """The public keys a store trusts, by key id (their parsed form cached)."""

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        self._keys: dict[str, TrustedKey] = {}
        self._parsed: dict[str, Ed25519PublicKey] = {}
        for key in keys:
            self.add(key)

    def add(self, key: TrustedKey) -> None:
        """Add or replace a key (a newer copy may revoke it). Raises ValueError if unusable."""
        if len(key.public_key) != PUBLIC_KEY_LEN:
            raise ValueError(f"key {key.key_id!r}: an Ed25519 public key is 32 bytes")
        self._parsed[key.key_id] = Ed25519PublicKey.from_public_bytes(key.public_key)
        self._keys[key.key_id] = key

    def get(self, key_id: str) -> TrustedKey | None:
        return self._keys.get(key_id)

    def trusted(self) -> tuple[TrustedKey, ...]:
        return tuple(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def verify(self, code: SignedCode, *, now: datetime) -> VerifiedCode | CodeRefusal:
        key = self._keys.get(code.key_id)
        if key is None:
            return CodeRefusal(reason="unknown_key", detail=code.key_id[:64])
        if key.revoked:
            return CodeRefusal(reason="key_revoked", detail=key.key_id)
        if now > key.not_after:
            return CodeRefusal(reason="key_expired", detail=key.key_id)
        if now < key.not_before:
            return CodeRefusal(reason="key_not_yet_valid", detail=key.key_id)
        try:
            self._parsed[key.key_id].verify(code.signature, _signed_message(code.key_id, code.body))
        except InvalidSignature:
            return CodeRefusal(reason="bad_signature", detail=key.key_id)
        return VerifiedCode(key_id=key.key_id, voucher=code.voucher)


def verify_signed_code(text: str, ring: KeyRing, *, now: datetime) -> VerifiedCode | CodeRefusal:
    """Parse and verify a signed code offline. Never raises on bad input."""
    parsed = parse_signed_code(text)
    if isinstance(parsed, CodeRefusal):
        return parsed
    return ring.verify(parsed, now=now)


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
