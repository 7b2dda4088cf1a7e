"""The base of every event body and the vocabulary shared by several capabilities."""

from __future__ import annotations

from typing import Literal

import msgspec

Verdict = Literal["allow", "warn", "block"]
SaleUnit = Literal["each", "kg"]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type"):
    """Base of every event body. The envelope (store, seq, hash chain) wraps it.

    The wire tag is the class name: never rename an event class.
    """
