"""Build stores' hash chains without an edge (benchmarks, tests, fixtures) and land them in
ClickHouse through the ingest's own Arrow rows (`event_table`), exactly as ingest would."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protocol.envelope import GENESIS_HASH, Envelope, seal
from protocol.event_base import Event
from protocol.evidence import checkpoint_message, key_fingerprint, merkle_root, sign_checkpoint
from protocol.ids import uuid7
from protocol.trace_events import ChainCheckpointSigned, CheckpointKeyAnnounced


class StoreChain:
    """One store's chain, link by link, with optional signed checkpoints.

    `envelopes` holds what was added since the last `drain()`, so a long history can be
    handed over day by day in bounded memory.
    """

    def __init__(self, store_id: str, *, device_id: str = "edge") -> None:
        self.store_id = store_id
        self.device_id = device_id
        self.envelopes: list[Envelope] = []
        self.seq = 0
        self._head = GENESIS_HASH
        self._key: Ed25519PrivateKey | None = None
        self._key_id = ""
        self._unsigned: list[bytes] = []  # hashes since the last checkpoint

    def add(
        self,
        event: Event,
        *,
        at: datetime,
        operator_id: str = "",
        device_id: str | None = None,
        event_id: uuid.UUID | None = None,
    ) -> Envelope:
        envelope = seal(
            event,
            event_id=event_id or uuid7(int(at.timestamp() * 1000), os.urandom(10)),
            store_id=self.store_id,
            seq=self.seq + 1,
            prev_hash=self._head,
            occurred_at=at,
            recorded_at=at,
            device_id=device_id or self.device_id,
            operator_id=operator_id,
        )
        self.seq, self._head = envelope.seq, envelope.hash
        self._unsigned.append(envelope.hash)
        self.envelopes.append(envelope)
        return envelope

    def drain(self) -> list[Envelope]:
        out, self.envelopes = self.envelopes, []
        return out

    def announce_key(self, key: Ed25519PrivateKey, *, at: datetime) -> str:
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key, self._key_id = key, key_fingerprint(public)
        self.add(CheckpointKeyAnnounced(key_id=self._key_id, public_key=public), at=at)
        return self._key_id

    def checkpoint(self, *, at: datetime) -> Envelope | None:
        """Sign everything since the last checkpoint (needs `announce_key` first)."""
        if self._key is None or not self._unsigned:
            return None
        hashes, self._unsigned = self._unsigned, []
        first, last = self.seq - len(hashes) + 1, self.seq
        root = merkle_root(hashes)
        message = checkpoint_message(
            store_id=self.store_id,
            key_id=self._key_id,
            first_seq=first,
            last_seq=last,
            head_hash=hashes[-1],
            merkle_root=root,
        )
        return self.add(
            ChainCheckpointSigned(
                key_id=self._key_id,
                first_seq=first,
                last_seq=last,
                head_hash=hashes[-1],
                merkle_root=root,
                signature=sign_checkpoint(self._key, message),
            ),
            at=at,
        )
        # The checkpoint event itself is covered by the next one (as on the edge).


async def land(gateway: object, database: str, envelopes: Sequence[Envelope]) -> None:
    """Insert envelopes into `<database>.events` as the ingest does (views fire on insert)."""
    from cloud.clickhouse import ClickHouseGateway
    from cloud.ingest.rows import event_table

    assert isinstance(gateway, ClickHouseGateway)
    await gateway.insert_arrow(f"{database}.events", event_table(envelopes))
