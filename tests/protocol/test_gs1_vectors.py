"""Every case of shared/vectors/gs1.json through `decode_scan`, as a POS would send it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from protocol.gs1 import GS, BarcodeError, ScanCode, VariableMeasureLayout, decode_scan

# shared/ lies beside the project checkout (as in CI and tools/fresh-clone-check).
VECTORS_FILE = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "gs1.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
TODAY = date(2025, 6, 1)

# The vectors describe reasons in prose; these are the machine reasons we give for them.
REASON_FOR_PROSE = {
    "check digit": "bad_check_digit",
    "month 13": "invalid_date",
    # Thirteen bare digits are what an EAN-13 scan looks like, so "0109506000134" is read
    # as one and fails its check digit (the message mentions the AI (01) reading). With a
    # GS1 symbology identifier the same digits are AI 01 too short: see test_gs1_scan.py.
    "AI 01 needs 14 digits": "bad_check_digit",
    # "99" is a real AI (company internal, X..90), so "9999" is well-formed GS1 data; what
    # it lacks is anything a store can sell or receive: no GTIN, SSCC or other key.
    "unknown or incomplete AI": "missing_key",
    "empty": "empty",
}


def _scan(data: str, layouts: tuple[VariableMeasureLayout, ...] = ()) -> ScanCode | BarcodeError:
    return decode_scan(data.replace("<GS>", GS), today=TODAY, layouts=layouts)


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda case: case["data"])
def test_valid_vector(case: dict[str, str]) -> None:
    code = _scan(case["data"])

    assert isinstance(code, ScanCode), code
    assert code.gtin14 == case["gtin"]
    assert code.expiry == (date.fromisoformat(case["expiry"]) if "expiry" in case else None)
    assert code.lot == case.get("lot")
    assert code.serial == case.get("serial")
    if "net_weight_kg" in case:
        assert code.net_g == int(Decimal(case["net_weight_kg"]) * 1000)
    if "price" in case:
        assert code.price_fen == int(Decimal(case["price"]) * 100)


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda case: case["reason"])
def test_invalid_vector(case: dict[str, str]) -> None:
    error = _scan(case["data"])

    assert isinstance(error, BarcodeError), error
    assert error.reason == REASON_FOR_PROSE[case["reason"]]
    assert error.message


def _vector_layout() -> VariableMeasureLayout:
    spec = VECTORS["in_store_variable_measure"]["layout"]
    return VariableMeasureLayout(
        prefix=spec["prefix"],
        item_digits=spec["item_digits"],
        value_digits=spec["value_digits"],
        value_kind=spec["value"],
    )


@pytest.mark.parametrize(
    "case",
    VECTORS["in_store_variable_measure"]["cases"],
    ids=lambda case: case["data"],
)
def test_in_store_variable_measure_vector(case: dict[str, Any]) -> None:
    result = _scan(case["data"], layouts=(_vector_layout(),))

    if "reason" in case:
        assert isinstance(result, BarcodeError)
        assert result.reason == REASON_FOR_PROSE[case["reason"]]
    else:
        assert isinstance(result, ScanCode), result
        assert result.syntax == "variable_measure"
        assert result.item_code == case["item"]
        assert result.price_fen == case["price_fen"]
        assert result.restricted_circulation
