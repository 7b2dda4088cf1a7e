"""In-store variable-measure EAN-13 with per-store layouts and GS1 price check digits."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from protocol.gs1 import (
    BarcodeError,
    ScanCode,
    VariableMeasure,
    VariableMeasureLayout,
    decode_scan,
    measure_check_digit,
    read_variable_measure,
)

TODAY = date(2025, 6, 1)
PRICE_21 = VariableMeasureLayout(prefix="21", item_digits=5, value_kind="price_fen", value_digits=5)
WEIGHT_28 = VariableMeasureLayout(
    prefix="28", item_digits=5, value_kind="weight_g", value_digits=5, value_decimals=3
)
# GS1 layouts with a price check digit just before the price.
PRICE_4_CHECKED = VariableMeasureLayout(
    prefix="20", item_digits=5, value_kind="price_fen", value_digits=4, value_check_digit=True
)
PRICE_5_CHECKED = VariableMeasureLayout(
    prefix="22", item_digits=4, value_kind="price_fen", value_digits=5, value_check_digit=True
)
LAYOUTS = (PRICE_21, WEIGHT_28, PRICE_4_CHECKED, PRICE_5_CHECKED)


@pytest.mark.parametrize(
    ("value", "check_digit"),
    [
        ("2875", 9),  # General Specifications 7.9.3 example, four-digit price
        ("14685", 6),  # General Specifications 7.9.4 example, five-digit price
        ("0000", 0),
        ("00000", 0),
    ],
)
def test_price_check_digit_examples(value: str, check_digit: int) -> None:
    assert measure_check_digit(value) == check_digit


@pytest.mark.parametrize("value", ["123", "123456", "12a4", ""])
def test_price_check_digit_needs_four_or_five_digits(value: str) -> None:
    with pytest.raises(ValueError, match="4 or 5"):
        measure_check_digit(value)


def test_every_single_digit_change_of_a_four_digit_price_changes_its_check_digit() -> None:
    # The 2-, 3, 5- weights each permute 0-9, so any one wrong digit is caught.
    for price in ("2875", "0199", "9999"):
        for position in range(4):
            for digit in "0123456789":
                if digit != price[position]:
                    altered = price[:position] + digit + price[position + 1 :]
                    assert measure_check_digit(altered) != measure_check_digit(price)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("2100123012992", VariableMeasure(prefix="21", item_code="00123", price_fen=1299)),
        ("2812345012505", VariableMeasure(prefix="28", item_code="12345", net_g=1250)),
        ("2012345928756", VariableMeasure(prefix="20", item_code="12345", price_fen=2875)),
        ("2223456146858", VariableMeasure(prefix="22", item_code="2345", price_fen=14685)),
    ],
)
def test_layouts(code: str, expected: VariableMeasure) -> None:
    assert read_variable_measure(code, LAYOUTS) == expected
    scanned = decode_scan(code, today=TODAY, layouts=LAYOUTS)
    assert isinstance(scanned, ScanCode)
    assert (scanned.item_code, scanned.net_g, scanned.price_fen) == (
        expected.item_code,
        expected.net_g,
        expected.price_fen,
    )


@pytest.mark.parametrize("code", ["2012345828759", "2223450146854"])
def test_wrong_price_check_digit(code: str) -> None:
    error = decode_scan(code, today=TODAY, layouts=LAYOUTS)
    assert isinstance(error, BarcodeError)
    assert error.reason == "bad_measure_check_digit"


def test_upc_a_with_number_system_2() -> None:
    layout = VariableMeasureLayout(
        prefix="02", item_digits=5, value_kind="price_fen", value_digits=5
    )
    scanned = decode_scan("212345012994", today=TODAY, layouts=(layout,))
    assert isinstance(scanned, ScanCode)
    assert (scanned.item_code, scanned.price_fen) == ("12345", 1299)


def test_item_code_position_and_value_decimals() -> None:
    # 2 | 9 (department, ignored) | 4-digit PLU | 6-digit price in jiao (1 decimal of yuan)
    layout = VariableMeasureLayout(
        prefix="2",
        item_start=2,
        item_digits=4,
        value_kind="price_fen",
        value_digits=6,
        value_decimals=1,
    )
    measure = read_variable_measure("2912340012347", (layout,))
    assert measure == VariableMeasure(prefix="2", item_code="1234", price_fen=12340)


def test_an_unmatched_prefix_2_code_is_a_restricted_gtin() -> None:
    scanned = decode_scan("2912340012347", today=TODAY, layouts=LAYOUTS)
    assert isinstance(scanned, ScanCode)
    assert scanned.syntax == "gtin"
    assert scanned.restricted_circulation
    assert scanned.item_code is None
    assert read_variable_measure("2912340012347", LAYOUTS) is None


def test_layouts_do_not_touch_ordinary_gtins() -> None:
    scanned = decode_scan(
        "6901234567892",
        today=TODAY,
        layouts=(
            VariableMeasureLayout(
                prefix="2", item_digits=6, value_kind="price_fen", value_digits=5
            ),
        ),
    )
    assert isinstance(scanned, ScanCode)
    assert scanned.syntax == "gtin"


def test_first_matching_layout_wins() -> None:
    broad = VariableMeasureLayout(prefix="2", item_digits=6, value_kind="weight_g", value_digits=5)
    assert read_variable_measure("2100123012992", (PRICE_21, broad)) == VariableMeasure(
        prefix="21", item_code="00123", price_fen=1299
    )
    assert read_variable_measure("2100123012992", (broad, PRICE_21)) == VariableMeasure(
        prefix="2", item_code="100123", net_g=1299
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"prefix": "69", "item_digits": 5, "value_kind": "price_fen", "value_digits": 5},
        {"prefix": "0", "item_digits": 5, "value_kind": "price_fen", "value_digits": 5},
        {"prefix": "2x", "item_digits": 5, "value_kind": "price_fen", "value_digits": 5},
        {"prefix": "21", "item_digits": 6, "value_kind": "price_fen", "value_digits": 5},
        {"prefix": "21", "item_digits": 0, "value_kind": "price_fen", "value_digits": 5},
        {
            "prefix": "21",
            "item_digits": 4,
            "value_kind": "price_fen",
            "value_digits": 3,
            "value_check_digit": True,
        },
        {
            "prefix": "21",
            "item_digits": 4,
            "value_kind": "weight_g",
            "value_digits": 5,
            "value_decimals": 4,
        },
        {
            "prefix": "21",
            "item_digits": 4,
            "value_kind": "price_fen",
            "value_digits": 5,
            "value_decimals": 3,
        },
        {
            "prefix": "21",
            "item_start": 1,
            "item_digits": 4,
            "value_kind": "price_fen",
            "value_digits": 5,
        },
        {"prefix": "21", "item_digits": 4, "value_kind": "volume_ml", "value_digits": 5},
    ],
)
def test_inconsistent_layouts_fail_when_configured(fields: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(fields, VariableMeasureLayout)


def test_a_layout_loads_from_store_configuration_json() -> None:
    raw = b'{"prefix": "21", "item_digits": 5, "value_kind": "price_fen", "value_digits": 5}'
    assert msgspec.json.decode(raw, type=VariableMeasureLayout) == PRICE_21
