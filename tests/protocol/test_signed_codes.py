"""Signed compact voucher codes: sign, verify offline, refuse tampering; the decoder never
raises on garbage (hypothesis)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from protocol.redeem_events import CouponTerms, RedeemLine, TrustedKey, Voucher
from protocol.signed_codes import (
    PREFIX,
    CodeRefusal,
    KeyRing,
    SignedCode,
    VerifiedCode,
    parse_signed_code,
    public_key_bytes,
    sign_voucher,
    verify_signed_code,
)

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
RING = KeyRing(
    [
        TrustedKey(
            key_id="k1",
            public_key=public_key_bytes(KEY),
            not_before=NOW - timedelta(days=1),
            not_after=NOW + timedelta(days=1),
        )
    ]
)
VOUCHER = Voucher(
    code="CP-0001",
    kind="coupon",
    valid_from=NOW - timedelta(hours=1),
    valid_until=NOW + timedelta(days=7),
    stores=("s1", "s2"),
    lines=(RedeemLine(gtin="06901234567892", quantity=1, amount_fen=1200),),
    terms=CouponTerms(percent_off=15, min_spend_fen=3000, item_gtins=("06901234567892",)),
    issuer="brand",
    channel="dine-in",
)


def test_a_signed_code_round_trips_and_fits_a_qr_alphanumeric_code() -> None:
    text = sign_voucher(VOUCHER, key_id="k1", private_key=KEY)
    assert text.startswith(PREFIX)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567JXC1")
    assert len(text) < 400
    verified = verify_signed_code(text, RING, now=NOW)
    assert isinstance(verified, VerifiedCode)
    assert verified.voucher == VOUCHER
    assert verified.key_id == "k1"


def test_every_flipped_bit_of_the_body_breaks_the_signature() -> None:
    text = sign_voucher(VOUCHER, key_id="k1", private_key=KEY)
    parsed = parse_signed_code(text)
    assert isinstance(parsed, SignedCode)
    for index in range(len(parsed.body)):
        body = bytearray(parsed.body)
        body[index] ^= 0x01
        forged = msgspec.structs.replace(parsed, body=bytes(body))
        assert isinstance(RING.verify(forged, now=NOW), CodeRefusal)


def test_key_ids_are_bound_into_the_signature() -> None:
    ring = KeyRing([*RING.trusted(), msgspec.structs.replace(RING.trusted()[0], key_id="k2")])
    text = sign_voucher(VOUCHER, key_id="k1", private_key=KEY)
    parsed = parse_signed_code(text)
    assert isinstance(parsed, SignedCode)
    relabelled = msgspec.structs.replace(parsed, key_id="k2")  # same public key, other id
    refused = ring.verify(relabelled, now=NOW)
    assert isinstance(refused, CodeRefusal)
    assert refused.reason == "bad_signature"


def test_key_validity_window() -> None:
    text = sign_voucher(VOUCHER, key_id="k1", private_key=KEY)
    late = verify_signed_code(text, RING, now=NOW + timedelta(days=2))
    early = verify_signed_code(text, RING, now=NOW - timedelta(days=2))
    assert isinstance(late, CodeRefusal)
    assert late.reason == "key_expired"
    assert isinstance(early, CodeRefusal)
    assert early.reason == "key_not_yet_valid"


def test_lower_case_text_from_a_scanner_still_verifies() -> None:
    text = sign_voucher(VOUCHER, key_id="k1", private_key=KEY)
    lowered = PREFIX + text[len(PREFIX) :].lower()
    assert isinstance(verify_signed_code(lowered, RING, now=NOW), VerifiedCode)


@given(st.text(max_size=300))
def test_garbage_text_never_raises(text: str) -> None:
    result = verify_signed_code(text, RING, now=NOW)
    assert isinstance(result, CodeRefusal)


@given(st.binary(max_size=400))
def test_garbage_after_the_prefix_never_raises(raw: bytes) -> None:
    text = PREFIX + base64.b32encode(raw).decode().rstrip("=")
    result = verify_signed_code(text, RING, now=NOW)
    assert isinstance(result, CodeRefusal)


@given(
    st.lists(
        st.one_of(st.integers(-(2**63), 2**64 - 1), st.text(max_size=8), st.binary(max_size=70)),
        max_size=4,
    ),
    st.lists(st.one_of(st.integers(-(2**70), 2**70), st.none(), st.text(max_size=5)), max_size=12),
)
def test_structured_garbage_never_raises(wire: list[object], body: list[object]) -> None:
    try:
        body_bytes = msgspec.msgpack.encode(body)
    except OverflowError:
        return
    for candidate in (wire, ["k1", body_bytes, bytes(64)]):
        try:
            raw = msgspec.msgpack.encode(candidate)
        except OverflowError:
            continue
        text = PREFIX + base64.b32encode(raw).decode().rstrip("=")
        assert isinstance(verify_signed_code(text, RING, now=NOW), CodeRefusal)


def test_invalid_utf8_in_the_key_id_is_a_refusal_not_an_exception() -> None:
    # Found by hypothesis: msgspec reports this one as UnicodeDecodeError.
    wire = b"\x93\xa2\x80\x80" + msgspec.msgpack.encode(["k", b"x", b"y"])[3:]
    text = PREFIX + base64.b32encode(wire).decode().rstrip("=")
    refusal = verify_signed_code(text, RING, now=NOW)
    assert isinstance(refusal, CodeRefusal)
    assert refusal.reason == "malformed"
