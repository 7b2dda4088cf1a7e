"""Typed errors of the wire contract. Callers turn them into dead letters, never crashes."""

from __future__ import annotations


class ProtocolError(Exception):
    """Bytes on the wire that do not form a valid jxc message."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class MalformedBatch(ProtocolError):
    """A batch that cannot be decoded or whose framing contradicts itself."""


class UndecodableEvent(ProtocolError):
    """An event body whose tag or fields this version does not understand."""
