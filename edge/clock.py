"""The edge's real clock and event-id source, injected at the composition root."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from protocol.ids import uuid7


def utc_now() -> datetime:
    return datetime.now(UTC)


def random_event_id(now: datetime) -> uuid.UUID:
    return uuid7(int(now.timestamp() * 1000), os.urandom(10))
