"""Which events the next checkpoint covers, and the signed checkpoint itself. Pure: no I/O.

A checkpoint covers `first_seq..last_seq` where `first_seq` is one past what is already
accounted for (signed by the previous checkpoint, or known to be gone) and `last_seq` the last
event read. A checkpoint event is itself covered by the next checkpoint; but when nothing new
happened except checkpoints, nothing is signed, so an idle store does not sign forever.

Events can be missing below the cloud's mark (the relay prunes what the cloud has): a plan
starts after them and reports them as gone. A checkpoint only ever covers a contiguous run.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.evidence import checkpoint_message, merkle_root, sign_checkpoint
from protocol.trace_events import ChainCheckpointSigned, CheckpointKeyAnnounced

# The events table's `type` column holds the wire tag, which is the class name.
CHECKPOINT_TYPE = ChainCheckpointSigned.__name__
KEY_ANNOUNCED_TYPE = CheckpointKeyAnnounced.__name__


class ChainLink(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One stored event, as far as a checkpoint cares: its place, kind and chain hash."""

    seq: int
    event_type: str
    hash: bytes


class EventsGone(msgspec.Struct, frozen=True, kw_only=True):
    """Unsigned events no longer in the log (pruned after the cloud had them)."""

    first_seq: int
    last_seq: int

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1


class CheckpointDraft(msgspec.Struct, frozen=True, kw_only=True):
    first_seq: int
    last_seq: int
    head_hash: bytes
    merkle_root: bytes


class CheckpointPlan(msgspec.Struct, frozen=True, kw_only=True):
    draft: CheckpointDraft | None  # None: nothing to sign
    gone: EventsGone | None = None  # report it; what is accounted for moves past it
    more: bool = False  # more events may follow what this plan read: plan again at once

    def accounted_through(self, after_seq: int) -> int:
        """What is signed or known gone once this plan is carried out."""
        through = after_seq
        if self.gone is not None:
            through = max(through, self.gone.last_seq)
        if self.draft is not None:
            through = max(through, self.draft.last_seq)
        return through


def plan_checkpoint(
    after_seq: int, links: Sequence[ChainLink], *, window_full: bool = False
) -> CheckpointPlan:
    """The next checkpoint over `links`: the stored events after `after_seq`, in seq order.

    `window_full` says the reader stopped at its limit (more events follow the last link).
    """
    if not links:
        return CheckpointPlan(draft=None)
    gone = None
    if links[0].seq > after_seq + 1:
        gone = EventsGone(first_seq=after_seq + 1, last_seq=links[0].seq - 1)
    end = 1
    while end < len(links):
        if links[end].seq <= links[end - 1].seq:
            raise ValueError(f"links out of seq order at {links[end].seq}")
        if links[end].seq != links[end - 1].seq + 1:
            break  # a hole inside the window: sign up to it; the next plan reports it gone
        end += 1
    run = links[:end]
    more = window_full or end < len(links)
    if not more and all(link.event_type == CHECKPOINT_TYPE for link in run):
        return CheckpointPlan(draft=None, gone=gone)
    draft = CheckpointDraft(
        first_seq=run[0].seq,
        last_seq=run[-1].seq,
        head_hash=run[-1].hash,
        merkle_root=merkle_root([link.hash for link in run]),
    )
    return CheckpointPlan(draft=draft, gone=gone, more=more)


def signed_checkpoint(
    draft: CheckpointDraft, *, store_id: str, key_id: str, private_key: Ed25519PrivateKey
) -> ChainCheckpointSigned:
    message = checkpoint_message(
        store_id=store_id,
        key_id=key_id,
        first_seq=draft.first_seq,
        last_seq=draft.last_seq,
        head_hash=draft.head_hash,
        merkle_root=draft.merkle_root,
    )
    return ChainCheckpointSigned(
        key_id=key_id,
        first_seq=draft.first_seq,
        last_seq=draft.last_seq,
        head_hash=draft.head_hash,
        merkle_root=draft.merkle_root,
        signature=sign_checkpoint(private_key, message),
    )


def key_announcement(key_id: str, public_key: bytes) -> CheckpointKeyAnnounced:
    return CheckpointKeyAnnounced(key_id=key_id, public_key=public_key)
