"""NATS subjects and message ids: the one place their spelling lives."""

from __future__ import annotations

import re
import zlib

EVENTS_PREFIX = "jxc.v1.events"
COMMANDS_PREFIX = "jxc.v1.cmd"
STATUS_PREFIX = "jxc.v1.status"
# Store events travel on `jxc.v1.events.<partition>.<store_id>`: the partition token lets N
# ingest workers split the stores between them, one durable consumer per partition
# (NATS 2.9 consumers take one filter subject). The count is part of the contract: changing
# it moves stores between partitions and needs a planned migration.
EVENT_PARTITIONS = 8
EVENTS_WILDCARD = f"{EVENTS_PREFIX}.*.*"

# Store ids become subject tokens, so they must not contain '.', '*', '>' or whitespace.
STORE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_valid_store_id(store_id: str) -> bool:
    return bool(STORE_ID_PATTERN.match(store_id))


def partition_of(store_id: str) -> int:
    """The store's event partition: CRC-32 of its id, stable across processes and versions."""
    return zlib.crc32(store_id.encode("utf-8")) % EVENT_PARTITIONS


def events_subject(store_id: str) -> str:
    return f"{EVENTS_PREFIX}.{partition_of(store_id)}.{store_id}"


def partition_filter(partition: int) -> str:
    """The consumer filter subject of one partition."""
    return f"{EVENTS_PREFIX}.{partition}.*"


def edge_status_subject(store_id: str) -> str:
    """Where an edge reports its log position (core NATS, latest value wins)."""
    return f"{STATUS_PREFIX}.{store_id}"


def command_subject(store_id: str, kind: str) -> str:
    return f"{COMMANDS_PREFIX}.{store_id}.{kind}"


def store_of_events_subject(subject: str) -> str | None:
    """The store id of an events subject, or None when the subject is not a well-formed one
    (wrong prefix, bad store id, or a partition token that is not the store's)."""
    prefix = EVENTS_PREFIX + "."
    if not subject.startswith(prefix):
        return None
    partition, _, store_id = subject[len(prefix) :].partition(".")
    if not is_valid_store_id(store_id) or partition != str(partition_of(store_id)):
        return None
    return store_id


def batch_msg_id(store_id: str, first_seq: int, last_seq: int) -> str:
    """JetStream `Nats-Msg-Id` of a batch: the same events always get the same id."""
    return f"{store_id}:{first_seq}-{last_seq}"
