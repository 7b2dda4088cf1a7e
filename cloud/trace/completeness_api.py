"""GET /v1/trace/completeness: the traceability completeness report of every store.

Thin: it checks the query (ISO datetimes with a timezone, a sane period and threshold), asks
`completeness_report`, and returns it. Bad values → 400 problem details (TraceRequestInvalid).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from cloud.clickhouse import ClickHouseGateway
from cloud.trace.completeness import CompletenessReport, completeness_report
from cloud.trace.service import TraceRequestInvalid

DEFAULT_PERIOD = timedelta(days=7)
MAX_PERIOD = timedelta(days=366)
DEFAULT_LATE_AFTER_H = 24.0
MAX_LATE_AFTER_H = 24.0 * 366
DEFAULT_EXAMPLES = 20
MAX_EXAMPLES = 500
# Within what DateTime64(6) holds, with room to spare.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# A '+' in an unencoded query string arrives as a space: "…T06:00:00 08:00" meant "+08:00".
_SPACED_OFFSET = re.compile(r"(T[0-9:.,]+) ([0-9]{2}(:?[0-9]{2})?)$")
_COUNT = re.compile(r"^[0-9]{1,6}$")


class ReportWindow(msgspec.Struct, frozen=True, kw_only=True):
    since: datetime
    until: datetime
    late_after_h: float
    examples: int


def _shown(text: str) -> str:
    return repr(text if len(text) <= 64 else text[:64] + "…")


def parse_instant(text: str, name: str) -> datetime:
    """An ISO 8601 date-time with a timezone, as UTC; TraceRequestInvalid otherwise."""
    cleaned = _SPACED_OFFSET.sub(r"\1+\2", text.strip())
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise TraceRequestInvalid(
            f"{name}={_shown(text)} is not an ISO 8601 date-time (e.g. 2026-11-20T06:00:00+08:00)"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise TraceRequestInvalid(
            f"{name}={_shown(text)} has no timezone: add one, e.g. +08:00 or Z"
        )
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        raise TraceRequestInvalid(f"{name}={_shown(text)} is out of range") from None
    if not _EARLIEST <= instant < _LATEST:
        raise TraceRequestInvalid(f"{name}={_shown(text)} is out of range (1970 to 2199)")
    return instant


def report_window(
    since: str | None,
    until: str | None,
    late_after_h: str | None,
    examples: str | None,
    *,
    now: datetime,
) -> ReportWindow:
    """The query's period and thresholds (defaults: the 7 days before `now`, 24 h, 20);
    raises TraceRequestInvalid with what is wrong."""
    end = parse_instant(until, "until") if until is not None else now.astimezone(UTC)
    start = parse_instant(since, "since") if since is not None else end - DEFAULT_PERIOD
    if start >= end:
        raise TraceRequestInvalid(f"since ({start.isoformat()}) must be before until")
    if end - start > MAX_PERIOD:
        raise TraceRequestInvalid(f"the period is longer than {MAX_PERIOD.days} days")
    late = DEFAULT_LATE_AFTER_H
    if late_after_h is not None:
        try:
            late = float(late_after_h)
        except ValueError:
            raise TraceRequestInvalid(
                f"late_after_h={_shown(late_after_h)} is not a number of hours"
            ) from None
        if not math.isfinite(late) or not 0 <= late <= MAX_LATE_AFTER_H:
            raise TraceRequestInvalid(
                f"late_after_h={_shown(late_after_h)}: give hours from 0 to {MAX_LATE_AFTER_H:g}"
            )
    count = DEFAULT_EXAMPLES
    if examples is not None:
        if not _COUNT.match(examples) or int(examples) > MAX_EXAMPLES:
            raise TraceRequestInvalid(f"examples={_shown(examples)}: give 0 to {MAX_EXAMPLES}")
        count = int(examples)
    return ReportWindow(since=start, until=end, late_after_h=late, examples=count)


class CompletenessController(Controller):
    path = "/v1/trace"
    tags = ["trace"]

    @get(
        "/completeness",
        summary="Trace gaps per store and supplier: uninspected sales, late receipts,"
        " missing documents, sensor gaps",
    )
    async def completeness(
        self,
        gateway: NamedDependency[ClickHouseGateway],
        database: NamedDependency[str],
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        late_after_h: FromQuery[str | None] = None,
        examples: FromQuery[str | None] = None,
    ) -> CompletenessReport:
        window = report_window(since, until, late_after_h, examples, now=datetime.now(UTC))
        return await completeness_report(
            gateway,
            database,
            since=window.since,
            until=window.until,
            late_after_h=window.late_after_h,
            examples=window.examples,
        )
