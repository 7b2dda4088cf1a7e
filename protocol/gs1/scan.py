"""One entry point for whatever a POS scanner sends: `decode_scan(data, today=...)`.

It tells apart, by the AIM symbology identifier when the scanner sends one and by shape
when it does not: a plain GTIN (EAN-13, EAN-8, UPC-A, ITF-14), a store's own weighed or
priced EAN-13, a GS1 element string (GS1-128, DataBar, DataMatrix, QR; transmitted or
human-readable form) and a GS1 Digital Link URI. Any input gives a ScanCode or a
BarcodeError; nothing raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from typing import Literal

import msgspec

from protocol.gs1.ai import ai_definition
from protocol.gs1.dates import parse_hhmm, parse_yymmdd
from protocol.gs1.digital_link import split_digital_link
from protocol.gs1.element_string import (
    MAX_SCAN_LENGTH,
    ElementString,
    split_bracketed,
    split_element_strings,
)
from protocol.gs1.errors import BarcodeError, BarcodeFault
from protocol.gs1.gtin import GTIN_LENGTHS, gtin14_or_fault, is_restricted_circulation
from protocol.gs1.measures import CNY_ISO_NUMERIC, kg_to_grams, lb_to_grams, to_minor_units
from protocol.gs1.variable_measure import VariableMeasureLayout, find_layout, read_with_layout

ScanSyntax = Literal["gtin", "variable_measure", "element_string", "digital_link"]

# AIM symbology identifiers (ISO/IEC 15424) by what their data is.
_ELEMENT_STRING_CARRIERS = {
    "]C1": "GS1-128",
    "]e0": "GS1 DataBar",
    "]d2": "GS1 DataMatrix",
    "]Q3": "GS1 QR Code",
    "]J1": "GS1 DotCode",
}
_GTIN_CARRIERS = {"]E0": "EAN-13 / UPC-A", "]E4": "EAN-8", "]I1": "ITF-14"}
# Non-GS1 modes: their data is a GS1 Digital Link URI or nothing we can read.
_URI_CARRIERS = {"]Q1": "QR Code", "]d1": "Data Matrix", "]C0": "Code 128"}
SYMBOLOGY_NAMES = _ELEMENT_STRING_CARRIERS | _GTIN_CARRIERS | _URI_CARRIERS

_SCANNER_SUFFIXES = " \t\r\n"  # keyboard-wedge scanners end a scan with CR/LF or TAB


class ScanCode(msgspec.Struct, frozen=True, kw_only=True):
    """What a scanned code says, in jxc units. Fields the code does not carry are None."""

    syntax: ScanSyntax
    symbology: str = ""  # the AIM identifier the scanner sent, e.g. "]d2"; "" if none
    gtin14: str | None = None
    restricted_circulation: bool = False  # prefix 02/04/2x: means something in-store only
    sscc: str | None = None
    lot: str | None = None
    serial: str | None = None
    production_date: date | None = None
    packaging_date: date | None = None
    best_before: date | None = None
    sell_by: date | None = None
    expiry: date | None = None  # use-by / expiration: AI 17, or the date of AI 7003
    expiry_time: time | None = None  # AI 7003, local wall-clock time of the labeller
    net_g: int | None = None
    price_fen: int | None = None
    price_currency: str | None = None  # ISO 4217 numeric from 393n; None: local currency
    item_code: str | None = None  # the store's item code (PLU) of a variable-measure EAN-13
    elements: tuple[ElementString, ...] = ()  # every AI as scanned (a plain GTIN: AI 01)

    def data_for(self, ai: str) -> str | None:
        """The raw data field of `ai`, e.g. data_for("3103") == "001250"."""
        return next((e.data for e in self.elements if e.ai == ai), None)


def decode_scan(
    data: str, *, today: date, layouts: Sequence[VariableMeasureLayout] = ()
) -> ScanCode | BarcodeError:
    """Understand one scan. `today` anchors two-digit years; `layouts` are the store's
    variable-measure EAN-13 layouts, tried in order."""
    try:
        return _decode(data, today=today, layouts=layouts)
    except BarcodeFault as fault:
        return fault.error


def _decode(data: str, *, today: date, layouts: Sequence[VariableMeasureLayout]) -> ScanCode:
    text = data.strip(_SCANNER_SUFFIXES)
    if not text:
        raise BarcodeFault("empty", "nothing was scanned")
    if len(text) > MAX_SCAN_LENGTH:
        raise BarcodeFault("too_long", f"{len(text)} characters is more than any barcode holds")
    symbology, body = "", text
    if text.startswith("]") and len(text) >= 3:
        symbology, body = text[:3], text[3:]
        if not body:
            raise BarcodeFault("empty", f"symbology identifier {symbology} without data")
    if symbology in _ELEMENT_STRING_CARRIERS:
        return _from_element_text(body, symbology, today)
    if symbology in _GTIN_CARRIERS:
        return _from_gtin(body, symbology, layouts)
    if body[:8].lower().startswith(("http://", "https://")) and symbology in ("", *_URI_CARRIERS):
        return _from_elements(
            split_digital_link(body, today=today), "digital_link", symbology, today
        )
    if symbology in _URI_CARRIERS:
        raise BarcodeFault(
            "unsupported_symbology",
            f"{_URI_CARRIERS[symbology]} ({symbology}) carries no GS1 data or Digital Link",
        )
    if symbology:
        raise BarcodeFault("unsupported_symbology", f"{symbology!r} is not a GS1 symbology")
    # No symbology identifier: judge by shape. Digits of a GTIN's length are a GTIN.
    if len(body) in GTIN_LENGTHS and body.isascii() and body.isdigit():
        return _from_gtin(body, "", layouts)
    return _from_element_text(body, "", today)


def _from_element_text(body: str, symbology: str, today: date) -> ScanCode:
    if body.startswith("("):
        elements = split_bracketed(body, today=today)
    else:
        elements = split_element_strings(body, today=today)
    return _from_elements(elements, "element_string", symbology, today)


def _from_gtin(code: str, symbology: str, layouts: Sequence[VariableMeasureLayout]) -> ScanCode:
    try:
        gtin14 = gtin14_or_fault(code)
    except BarcodeFault as fault:
        # Bare digits could also be a truncated element string: say so to the person.
        if not symbology and fault.error.reason == "bad_check_digit" and code[:2] in ("00", "01"):
            hint = f"{fault.error.message} (if this is GS1-128 data, AI ({code[:2]}) is too short)"
            raise BarcodeFault("bad_check_digit", hint) from None
        raise
    elements = (ElementString(ai="01", data=gtin14),)
    restricted = is_restricted_circulation(gtin14)
    layout = find_layout(gtin14[1:], layouts) if restricted and gtin14[0] == "0" else None
    if layout is None:
        return ScanCode(
            syntax="gtin",
            symbology=symbology,
            gtin14=gtin14,
            restricted_circulation=restricted,
            elements=elements,
        )
    measure = read_with_layout(gtin14[1:], layout)
    return ScanCode(
        syntax="variable_measure",
        symbology=symbology,
        gtin14=gtin14,
        restricted_circulation=True,
        item_code=measure.item_code,
        net_g=measure.net_g,
        price_fen=measure.price_fen,
        elements=elements,
    )


def _from_elements(
    elements: tuple[ElementString, ...], syntax: ScanSyntax, symbology: str, today: date
) -> ScanCode:
    if not any(_is_key(e.ai) for e in elements):
        listed = ", ".join(f"({e.ai})" for e in elements)
        raise BarcodeFault(
            "missing_key",
            f"{listed} name no GTIN, SSCC or other GS1 key: nothing to sell or receive",
        )
    data = {e.ai: e.data for e in elements}

    def day(ai: str) -> date | None:
        text = data.get(ai)
        return (
            None if text is None else parse_yymmdd(text, today=today, day_zero_allowed=True, ai=ai)
        )

    expiry, expiry_time = day("17"), None
    expiry_with_time = data.get("7003")
    if expiry_with_time is not None:
        expiry_day = parse_yymmdd(
            expiry_with_time[:6], today=today, day_zero_allowed=False, ai="7003"
        )
        if expiry is not None and expiry != expiry_day:
            raise BarcodeFault(
                "conflicting_ai", f"AI (17) says {expiry}, AI (7003) says {expiry_day}", "7003"
            )
        expiry, expiry_time = expiry_day, parse_hhmm(expiry_with_time[6:], ai="7003")
    price_fen, price_currency = _price(data)
    gtin14 = data.get("01")
    return ScanCode(
        syntax=syntax,
        symbology=symbology,
        gtin14=gtin14,
        restricted_circulation=gtin14 is not None and is_restricted_circulation(gtin14),
        sscc=data.get("00"),
        lot=data.get("10"),
        serial=data.get("21"),
        production_date=day("11"),
        packaging_date=day("13"),
        best_before=day("15"),
        sell_by=day("16"),
        expiry=expiry,
        expiry_time=expiry_time,
        net_g=_net_grams(data),
        price_fen=price_fen,
        price_currency=price_currency,
        elements=elements,
    )


def _is_key(ai: str) -> bool:
    definition = ai_definition(ai)
    return definition is not None and definition.is_key


def _with_prefix(data: dict[str, str], family: str) -> tuple[int, str] | None:
    """(decimals, data) of the one AI `family`n present, e.g. 3103 → (3, "001250")."""
    return next(
        ((int(ai[3]), v) for ai, v in data.items() if ai[:3] == family and len(ai) == 4), None
    )


def _net_grams(data: dict[str, str]) -> int | None:
    kilograms = _with_prefix(data, "310")
    if kilograms is not None:
        return kg_to_grams(int(kilograms[1]), kilograms[0])
    pounds = _with_prefix(data, "320")
    if pounds is not None:
        return lb_to_grams(int(pounds[1]), pounds[0])
    return None


def _price(data: dict[str, str]) -> tuple[int | None, str | None]:
    """(price_fen, ISO currency) from 392n (local currency: yuan) or 393n (explicit)."""
    local = _with_prefix(data, "392")
    if local is not None:
        return to_minor_units(int(local[1]), local[0]), None
    foreign = _with_prefix(data, "393")
    if foreign is not None:
        decimals, field = foreign
        currency, amount = field[:3], int(field[3:])
        return (to_minor_units(amount, decimals) if currency == CNY_ISO_NUMERIC else None), currency
    return None, None
