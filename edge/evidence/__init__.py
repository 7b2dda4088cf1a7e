"""Evidence: the store signs its own hash chain, so anyone can check a report offline.

Every `JXC_CHECKPOINT_INTERVAL_S` (and as soon as `JXC_CHECKPOINT_MAX_EVENTS` events are
unsigned, and once more on a clean shutdown) the edge records a `ChainCheckpointSigned`: the
RFC 6962 Merkle root over the chain hashes of the events since the previous checkpoint, the
head hash, and an Ed25519 signature (protocol/evidence.py). The key's public half is put on the
chain first (`CheckpointKeyAnnounced`), so every checkpoint names a key the chain already
carries; after `jxc edge keygen` the new key is announced before it signs anything.

- `keys.py`: the private key file (PEM or raw, mode 0600, created on first start, rotated).
- `domain.py`: pure: which events the next checkpoint covers, and the signed event itself.
- `store.py`: reads of the event log (hashes in seq order, the last checkpoint and key).
- `checkpointer.py`: the background task, the final checkpoint, and `jxc edge checkpoint`.
"""
