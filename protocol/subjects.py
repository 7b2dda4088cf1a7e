"""NATS subjects and message ids: the one place their spelling lives."""

from __future__ import annotations

import re

EVENTS_PREFIX = "jxc.v1.events"
COMMANDS_PREFIX = "jxc.v1.cmd"
EVENTS_WILDCARD = f"{EVENTS_PREFIX}.>"

# Store ids become subject tokens, so they must not contain '.', '*', '>' or whitespace.
STORE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_valid_store_id(store_id: str) -> bool:
    return bool(STORE_ID_PATTERN.match(store_id))


def events_subject(store_id: str) -> str:
    return f"{EVENTS_PREFIX}.{store_id}"


def command_subject(store_id: str, kind: str) -> str:
    return f"{COMMANDS_PREFIX}.{store_id}.{kind}"


def store_of_events_subject(subject: str) -> str | None:
    """The store id of an events subject, or None when the subject is not one."""
    prefix = EVENTS_PREFIX + "."
    if not subject.startswith(prefix):
        return None
    store_id = subject[len(prefix) :]
    return store_id if is_valid_store_id(store_id) else None


def batch_msg_id(store_id: str, first_seq: int, last_seq: int) -> str:
    """JetStream `Nats-Msg-Id` of a batch: the same events always get the same id."""
    return f"{store_id}:{first_seq}-{last_seq}"
