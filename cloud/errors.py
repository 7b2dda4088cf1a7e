"""The cloud's one error hierarchy: retryable (try again later) vs fatal (needs a person)."""

from __future__ import annotations


class CloudError(Exception):
    status_code = 500
    title = "cloud error"


class RetryableError(CloudError):
    status_code = 503
    title = "temporarily unavailable"


class FatalError(CloudError):
    status_code = 500
    title = "internal error"


class ClickHouseUnavailable(RetryableError):
    """A query or insert failed in a way that may pass on retry (server down, timeout)."""
