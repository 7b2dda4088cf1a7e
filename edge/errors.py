"""The edge's one error hierarchy, mapped to HTTP problem details in `edge/app.py` only.

Business outcomes (a `block` verdict, an unknown item) are values, not errors.
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error the edge raises on purpose."""

    status_code = 500
    title = "edge error"


class RetryableError(EdgeError):
    """The caller may try again (storage busy, shutting down)."""

    status_code = 503
    title = "temporarily unavailable"


class FatalError(EdgeError):
    """Retrying will not help (corrupt database, misconfiguration)."""

    status_code = 500
    title = "internal error"


class StorageUnavailable(RetryableError):
    """The event log could not commit; nothing was recorded."""


class Rejected(EdgeError):
    """The request itself is wrong (conflicting ids, values out of range)."""

    status_code = 422
    title = "request rejected"
