"""Why a scanned code was rejected: one typed value, never an exception to the caller."""

from __future__ import annotations

from typing import Literal

import msgspec

BarcodeReason = Literal[
    "empty",  # nothing but whitespace was scanned
    "bad_character",  # a character outside the field's character set (digits, CSET 82, ...)
    "bad_check_digit",  # GS1 mod-10 check digit of a GTIN, SSCC, GLN, ... does not match
    "bad_measure_check_digit",  # the price/weight check digit inside an in-store EAN-13
    "unknown_ai",  # digits where an Application Identifier should be, but no AI has them
    "too_short",  # a field (or the whole code) ends before its predefined/minimum length
    "too_long",  # a variable-length field exceeds its maximum, or the input is oversized
    "invalid_date",  # YYMMDD / hhmm that is not a calendar date or time (month 13, 24:00)
    "conflicting_ai",  # the same AI twice with different data, or AIs that exclude each other
    "missing_key",  # valid AIs, but none identifies a thing (GTIN, SSCC, GLN, ...)
    "unsupported_symbology",  # an AIM symbology identifier this decoder does not read
    "bad_uri",  # a web address that is not a GS1 Digital Link URI
]


class BarcodeError(msgspec.Struct, frozen=True, kw_only=True):
    """A code that cannot be understood; `reason` is for machines, `message` for people."""

    reason: BarcodeReason
    message: str
    ai: str | None = None  # the Application Identifier whose data is at fault, when one is


class BarcodeFault(Exception):
    """Internal short-cut out of deep parsing; public functions turn it into a BarcodeError."""

    def __init__(self, reason: BarcodeReason, message: str, ai: str | None = None) -> None:
        super().__init__(message)
        self.error = BarcodeError(reason=reason, message=message, ai=ai)
