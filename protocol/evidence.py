"""Proofs that an event belongs to a store's signed chain, checkable offline by anyone.

The edge periodically signs a checkpoint: the Merkle root over the chain hashes of its events
`first_seq..last_seq` plus the head hash at `last_seq`, under its Ed25519 key. Given one event's
envelope, an inclusion proof (the audit path) and the signed checkpoint, a third party
recomputes the event's chain hash from its bytes, the root from the path, and checks the
signature: no access to the cloud or the store is needed.

The Merkle tree is RFC 6962's (Certificate Transparency): leaf = SHA-256(0x00 || hash),
node = SHA-256(0x01 || left || right), a tree of n leaves splits at the largest power of two
below n. Audit paths are therefore at most ~log2(n) hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CHECKPOINT_DOMAIN = "jxc-checkpoint-v1"
_message_encoder = msgspec.msgpack.Encoder()


def leaf_hash(event_hash: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + event_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(event_hashes: Sequence[bytes]) -> bytes:
    """The root over the given chain hashes, in seq order (an empty tree hashes b"")."""
    if not event_hashes:
        return hashlib.sha256(b"").digest()
    level = [leaf_hash(h) for h in event_hashes]
    return _root_of_leaves(level)


def _root_of_leaves(leaves: Sequence[bytes]) -> bytes:
    # Iterative RFC 6962 root: pair from the left, carry an odd last node up unchanged. This
    # equals the recursive largest-power-of-two split for every n.
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(event_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index` (0-based) in the tree over `event_hashes`."""
    if not 0 <= index < len(event_hashes):
        raise IndexError(f"leaf {index} outside a tree of {len(event_hashes)}")
    return _path(event_hashes, index)


def _path(hashes: Sequence[bytes], index: int) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*_path(hashes[:k], index), merkle_root(hashes[k:])]
    return [*_path(hashes[k:], index - k), merkle_root(hashes[:k])]


def root_from_proof(event_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root an audit path leads to (RFC 9162 §2.1.3.2); ValueError if the path is malformed."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} outside a tree of {size}")
    fn, sn = index, size - 1
    node = leaf_hash(event_hash)
    for sibling in proof:
        if sn == 0:
            raise ValueError("audit path longer than the tree")
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("audit path shorter than the tree")
    return node


def checkpoint_message(
    *,
    store_id: str,
    key_id: str,
    first_seq: int,
    last_seq: int,
    head_hash: bytes,
    merkle_root: bytes,
) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return _message_encoder.encode(
        (CHECKPOINT_DOMAIN, store_id, key_id, first_seq, last_seq, head_hash, merkle_root)
    )


def sign_checkpoint(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    return private_key.sign(message)


def signature_holds(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def key_fingerprint(public_key: bytes) -> str:
    """A short, comparable name of a public key (first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(public_key).hexdigest()[:16]
