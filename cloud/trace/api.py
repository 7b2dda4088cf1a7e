"""Trace HTTP API: lots, containers (SSCC) and receipts; reports with evidence; exports.

Thin: it checks the ids, asks TraceService, and shapes the answer. Unknown lot → 404,
malformed id → 400 (problem details, like every cloud error).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from cloud.trace.domain import LotRef, LotTrace
from cloud.trace.evidence import TraceReport
from cloud.trace.recall import Recall, RecallDesk, RecallRequest
from cloud.trace.records import CONTAINER_GTIN, weighed_gtins_of
from cloud.trace.service import TraceRequestInvalid, TraceService
from protocol.subjects import is_valid_store_id

# GTIN-8/12/13/14 or an internal item code: digits only. Lot: GS1 AI 10 allows up to 20
# characters of a printable set; store-made lot names may be longer, never with '/' or spaces.
_GTIN = re.compile(r"^[0-9]{1,14}$")
_LOT = re.compile(r"^[!-.0-~]{1,64}$")  # printable ASCII without '/' and space
_SSCC = re.compile(r"^[0-9]{18}$")
_DOCUMENT = re.compile(r"^[!-.0-~]{1,128}$")
MAX_RECEIPT_LOTS = 50


def checked_lot(gtin: str, lot: str) -> LotRef:
    if not _GTIN.match(gtin):
        raise TraceRequestInvalid(f"item {gtin!r} is not a GTIN or item code (1-14 digits)")
    if not _LOT.match(lot):
        raise TraceRequestInvalid(
            f"lot {lot!r} is not a lot number (1-64 printable characters, no '/' or space)"
        )
    return LotRef(gtin, lot)


class ReceiptTrace(msgspec.Struct, frozen=True, kw_only=True):
    """A customer receipt, e-receipt, sale, goods receipt or shipment, and its lots' traces."""

    document_id: str
    lots: tuple[LotRef, ...]
    traces: tuple[LotTrace, ...]
    truncated: bool = False


class TraceController(Controller):
    path = "/v1/trace"
    tags = ["trace"]

    @get("/lots/{gtin:str}/{lot:str}", summary="Trace a lot: backward, forward, receipts, stays")
    async def lot(
        self, trace_service: NamedDependency[TraceService], gtin: FromPath[str], lot: FromPath[str]
    ) -> LotTrace:
        ref = checked_lot(gtin, lot)
        return await trace_service.trace_lot(ref.gtin, ref.lot, datetime.now(UTC))

    @get(
        "/lots/{gtin:str}/{lot:str}/report",
        summary="The trace with its evidence: verify it offline with `jxc trace verify`",
    )
    async def report(
        self, trace_service: NamedDependency[TraceService], gtin: FromPath[str], lot: FromPath[str]
    ) -> TraceReport:
        ref = checked_lot(gtin, lot)
        return await trace_service.report(ref.gtin, ref.lot, datetime.now(UTC))

    @get("/serials/{sscc:str}", summary="Trace a container (case, pallet) by its SSCC")
    async def serial(
        self, trace_service: NamedDependency[TraceService], sscc: FromPath[str]
    ) -> LotTrace:
        if not _SSCC.match(sscc):
            raise TraceRequestInvalid(f"serial {sscc!r} is not an SSCC (18 digits)")
        return await trace_service.trace_lot(CONTAINER_GTIN, sscc, datetime.now(UTC))

    @get(
        "/receipts/{document_id:str}",
        summary="Trace every lot on a receipt (customer, e-receipt, goods receipt, shipment)",
    )
    async def receipt(
        self, trace_service: NamedDependency[TraceService], document_id: str
    ) -> ReceiptTrace:
        if not _DOCUMENT.match(document_id):
            raise TraceRequestInvalid(f"{document_id!r} is not a receipt or document id")
        lots = await trace_service.lots_of_document(document_id)
        now = datetime.now(UTC)
        traces = [
            await trace_service.trace_lot(r.gtin, r.lot, now) for r in lots[:MAX_RECEIPT_LOTS]
        ]
        return ReceiptTrace(
            document_id=document_id,
            lots=tuple(lots),
            traces=tuple(traces),
            truncated=len(lots) > MAX_RECEIPT_LOTS,
        )

    @get("/lots/{gtin:str}/{lot:str}/epcis", summary="The lot's trace as an EPCIS 2.0 document")
    async def epcis(
        self, trace_service: NamedDependency[TraceService], gtin: FromPath[str], lot: FromPath[str]
    ) -> Response[Any]:
        from cloud.trace.epcis import epcis_document

        ref = checked_lot(gtin, lot)
        now = datetime.now(UTC)
        trace = await trace_service.trace_lot(ref.gtin, ref.lot, now)
        document = epcis_document(
            trace.records,
            trace.stays,
            created_at=now,
            weighed_gtins=weighed_gtins_of(trace.records),
        )
        return Response(content=document, media_type="application/ld+json")

    @get(
        "/epcis",
        summary="EPCIS 2.0 document of every lot event in a time range (one store or all);"
        " X-Jxc-Truncated: true when the range holds more than 50,000 events",
    )
    async def epcis_range(
        self,
        trace_service: NamedDependency[TraceService],
        since: Annotated[str, QueryParameter(query="from")],
        until: Annotated[str, QueryParameter(query="to")],
        store: str | None = None,
    ) -> Response[Any]:
        from cloud.trace.completeness_api import parse_instant
        from cloud.trace.epcis import epcis_document

        if store is not None and not is_valid_store_id(store):
            raise TraceRequestInvalid(f"store {store[:64]!r} is not a store id")
        now = datetime.now(UTC)
        found = await trace_service.records_between(
            store, parse_instant(since, "from"), parse_instant(until, "to"), now
        )
        document = epcis_document(
            found.records,
            found.stays,
            created_at=now,
            weighed_gtins=weighed_gtins_of(found.records),
        )
        return Response(
            content=document,
            media_type="application/ld+json",
            headers={"X-Jxc-Truncated": "true" if found.truncated else "false"},
        )

    @get(
        "/lots/{gtin:str}/{lot:str}/fsma204.csv",
        summary="FSMA 204 sortable spreadsheet (critical tracking events) for a lot",
    )
    async def fsma204(
        self,
        trace_service: NamedDependency[TraceService],
        gtin: FromPath[str],
        lot: FromPath[str],
        from_date: Annotated[date | None, QueryParameter(query="from")] = None,
        to_date: Annotated[date | None, QueryParameter(query="to")] = None,
    ) -> Response[str]:
        from cloud.trace.fsma import fsma204_csv

        ref = checked_lot(gtin, lot)
        trace = await trace_service.trace_lot(ref.gtin, ref.lot, datetime.now(UTC))
        sheet = fsma204_csv(
            trace.records,
            from_date=from_date or date.min,
            to_date=to_date or date.max,
            weighed_gtins=weighed_gtins_of(trace.records),
        )
        return Response(
            content=sheet,
            media_type="text/csv",
            headers={"content-disposition": f'attachment; filename="fsma204-{gtin}-{lot}.csv"'},
        )


class RecallList(msgspec.Struct, frozen=True, kw_only=True):
    recalls: tuple[Recall, ...]


class RecallController(Controller):
    path = "/v1/recalls"
    tags = ["trace"]

    @post(
        "/",
        summary="Open a recall: hold the lots (and everything made from them) in every store",
    )
    async def open_recall(
        self, recall_desk: NamedDependency[RecallDesk], data: RecallRequest
    ) -> Recall:
        for ref in data.lots:
            checked_lot(ref.gtin, ref.lot)
        return await recall_desk.open(data, datetime.now(UTC))

    @get("/", summary="Recalls, newest first")
    async def list_recalls(self, recall_desk: NamedDependency[RecallDesk]) -> RecallList:
        return RecallList(recalls=tuple(await recall_desk.recent()))

    @get("/{recall_id:str}", summary="One recall: lots, stores, holds sent, receipts reached")
    async def get_recall(
        self, recall_desk: NamedDependency[RecallDesk], recall_id: FromPath[str]
    ) -> Recall:
        return await recall_desk.get(recall_id)

    @post("/{recall_id:str}/close", summary="Close a recall: release its holds in every store")
    async def close_recall(
        self, recall_desk: NamedDependency[RecallDesk], recall_id: FromPath[str]
    ) -> Recall:
        return await recall_desk.close(recall_id, datetime.now(UTC))
