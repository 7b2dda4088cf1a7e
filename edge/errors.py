"""The edge's one error hierarchy, and its one HTTP shape (problem details).

Business outcomes (a `block` verdict, an unknown item) are values, not errors.
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error the edge raises on purpose."""

    status_code = 500
    title = "edge error"

    def problem(self) -> dict[str, str | int]:
        """RFC 9457 problem details: the body of every error answer, whichever path served
        the request (Litestar's handler or the POS fast path)."""
        return {
            "type": "about:blank",
            "title": self.title,
            "status": self.status_code,
            "detail": str(self),
        }


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
