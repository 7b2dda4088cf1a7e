"""Merkle audit paths (RFC 6962) and checkpoint signatures: every leaf of every tree proves,
nothing else does."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from protocol.evidence import (
    checkpoint_message,
    inclusion_proof,
    key_fingerprint,
    leaf_hash,
    merkle_root,
    node_hash,
    root_from_proof,
    sign_checkpoint,
    signature_holds,
)


def _hashes(n: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1, recursively: split at the largest power of two below n."""
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))


def test_known_small_trees() -> None:
    a, b, c = _hashes(3)
    assert merkle_root([a]) == leaf_hash(a)
    assert merkle_root([a, b]) == node_hash(leaf_hash(a), leaf_hash(b))
    assert merkle_root([a, b, c]) == node_hash(node_hash(leaf_hash(a), leaf_hash(b)), leaf_hash(c))
    assert merkle_root([]) == hashlib.sha256(b"").digest()


@given(st.integers(min_value=1, max_value=300), st.data())
def test_every_leaf_proves_against_the_root(n: int, data: st.DataObject) -> None:
    hashes = _hashes(n)
    root = merkle_root(hashes)
    assert root == _reference_root(hashes)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = inclusion_proof(hashes, index)
    assert len(proof) <= max(1, n.bit_length())
    assert root_from_proof(hashes[index], index, n, proof) == root


@given(st.integers(min_value=2, max_value=200), st.data())
def test_a_wrong_leaf_index_or_path_does_not_prove(n: int, data: st.DataObject) -> None:
    hashes = _hashes(n)
    root = merkle_root(hashes)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = inclusion_proof(hashes, index)
    other = data.draw(st.integers(min_value=0, max_value=n - 1).filter(lambda i: i != index))
    assert root_from_proof(hashes[other], index, n, proof) != root
    flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    assert root_from_proof(hashes[index], index, n, flipped) != root
    try:
        shortened = root_from_proof(hashes[index], index, n, proof[:-1])
    except ValueError:
        pass  # a path of the wrong length is refused outright
    else:
        assert shortened != root


def test_checkpoint_signature_holds_only_for_its_message_and_key() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    fields = {
        "store_id": "s1",
        "key_id": key_fingerprint(public),
        "first_seq": 1,
        "last_seq": 9,
        "head_hash": bytes(32),
        "merkle_root": bytes([7]) * 32,
    }
    signature = sign_checkpoint(key, checkpoint_message(**fields))  # type: ignore[arg-type]
    assert signature_holds(public, checkpoint_message(**fields), signature)  # type: ignore[arg-type]
    moved = checkpoint_message(**{**fields, "last_seq": 10})  # type: ignore[arg-type]
    assert not signature_holds(public, moved, signature)
    stranger = (
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    assert not signature_holds(stranger, checkpoint_message(**fields), signature)  # type: ignore[arg-type]
    assert not signature_holds(b"short", checkpoint_message(**fields), signature)  # type: ignore[arg-type]
