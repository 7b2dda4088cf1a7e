"""GS1 element strings: AI lengths, separators, checks, dates, measures and prices."""

from __future__ import annotations

from datetime import date, time

import pytest

from protocol.gs1 import (
    GS,
    BarcodeError,
    ElementString,
    ScanCode,
    ai_definition,
    decode_scan,
    encode_element_strings,
    format_bracketed,
    full_year,
    kg_to_grams,
    lb_to_grams,
    parse_element_strings,
    to_minor_units,
)

TODAY = date(2025, 6, 1)
GTIN = "0109506000134352"  # AI 01 with a valid GTIN, to make item-level AIs sellable


def scan(data: str, today: date = TODAY) -> ScanCode:
    code = decode_scan(data, today=today)
    assert isinstance(code, ScanCode), code
    return code


def reject(data: str, today: date = TODAY) -> BarcodeError:
    error = decode_scan(data, today=today)
    assert isinstance(error, BarcodeError), error
    return error


# --- the AI table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ai", "length", "predefined"),
    [
        ("00", 18, True),
        ("01", 14, True),
        ("02", 14, True),
        ("11", 6, True),
        ("17", 6, True),
        ("3103", 6, True),
        ("3202", 6, True),
        ("410", 13, True),
        ("7003", 10, False),  # fixed length but NOT predefined: needs a separator after it
        ("422", 3, False),
    ],
)
def test_fixed_length_ais(ai: str, length: int, predefined: bool) -> None:
    definition = ai_definition(ai)
    assert definition is not None
    assert definition.fixed_length == length
    assert definition.predefined_length is predefined


@pytest.mark.parametrize(
    ("ai", "max_length"),
    [("10", 20), ("21", 20), ("3922", 15), ("3932", 18), ("90", 30), ("99", 90), ("8200", 70)],
)
def test_variable_length_ais(ai: str, max_length: int) -> None:
    definition = ai_definition(ai)
    assert definition is not None
    assert definition.fixed_length is None
    assert definition.max_length == max_length


@pytest.mark.parametrize("ai", ["03", "14", "3106", "23", "999", "05"])
def test_undefined_ais(ai: str) -> None:
    assert ai_definition(ai) is None


# --- separators and lengths -------------------------------------------------------------


def test_predefined_length_ais_need_no_separator() -> None:
    code = scan(f"]C1{GTIN}1125010117250630")
    assert code.production_date == date(2025, 1, 1)
    assert code.expiry == date(2025, 6, 30)


def test_variable_length_ai_ends_at_gs() -> None:
    code = scan(f"]C1{GTIN}10LOT-7{GS}21SN/42{GS}17250630")
    assert (code.lot, code.serial, code.expiry) == ("LOT-7", "SN/42", date(2025, 6, 30))


def test_leading_trailing_and_doubled_separators_are_harmless() -> None:
    code = scan(f"]C1{GS}{GTIN}{GS}{GS}10A{GS}")
    assert code.lot == "A"


def test_fixed_length_non_predefined_ai_tolerates_a_missing_separator() -> None:
    with_separator = scan(f"]C1{GTIN}70032506011430{GS}10L1")
    without = scan(f"]C1{GTIN}7003250601143010L1")
    assert with_separator == without
    assert without.expiry == date(2025, 6, 1)
    assert without.expiry_time == time(14, 30)
    assert without.lot == "L1"


def test_sscc_with_check_digit() -> None:
    code = scan("]C100376104250021234569")  # General Specifications SSCC example
    assert code.sscc == "376104250021234569"
    assert code.gtin14 is None
    assert reject("]C100376104250021234568").reason == "bad_check_digit"


@pytest.mark.parametrize(
    ("data", "reason", "ai"),
    [
        (f"{GTIN}10" + "L" * 21, "too_long", "10"),
        (f"{GTIN}10{GS}21S", "too_short", "10"),  # an empty lot
        ("]C1010950600013435", "too_short", "01"),
        (f"]C1{GTIN}17{GS}", "too_short", "17"),
        (f"]C1{GTIN}3922", "too_short", "3922"),
        (f"]C1{GTIN}9", "too_short", None),  # the data ends inside an AI
        (f"]C1{GTIN}23X", "unknown_ai", None),
        (f"]C1{GTIN}3106000100", "unknown_ai", None),  # 310n has n = 0..5 only
        (f"]C1{GTIN}10AB CD", "bad_character", "10"),  # space is not in CSET 82
        (f"]C1{GTIN}10ÄPFEL", "bad_character", "10"),
        (f"]C1{GTIN}10A{GS}10B", "conflicting_ai", "10"),
        (f"]C1{GTIN}31030012503102000125", "conflicting_ai", "3102"),
        (f"]C1{GTIN}3922100{GS}3932156100", "conflicting_ai", "3932"),
        (f"]C1{GTIN}0209506000134352", "conflicting_ai", "02"),
        ("]C10109506000134A52", "bad_character", "01"),
        ("]C110ABC", "missing_key", None),
        ("]C117201231", "missing_key", None),
    ],
)
def test_rejections(data: str, reason: str, ai: str | None) -> None:
    error = reject(data)
    assert (error.reason, error.ai) == (reason, ai), error.message


def test_a_repeated_identical_ai_is_one_element() -> None:
    code = scan(f"]C1{GTIN}10A{GS}{GTIN}")
    assert [e.ai for e in code.elements] == ["01", "10"]


# --- dates (General Specifications 7.12 and the date AIs) ------------------------------


@pytest.mark.parametrize(
    ("today", "yy", "year"),
    [
        (date(2025, 6, 1), 75, 2075),  # 50 years ahead: still this century
        (date(2025, 6, 1), 76, 1976),  # 51 ahead: last century
        (date(2025, 6, 1), 0, 2000),
        (date(2060, 1, 1), 11, 2011),  # 49 back: this century
        (date(2060, 1, 1), 10, 2110),  # 50 back: next century
        (date(2000, 1, 1), 99, 1999),
        (date(2000, 1, 1), 50, 2050),
        (date(2000, 1, 1), 51, 1951),
        (date(2099, 12, 31), 0, 2100),
    ],
)
def test_sliding_century_window(today: date, yy: int, year: int) -> None:
    assert full_year(yy, today=today) == year


@pytest.mark.parametrize(
    ("field", "expiry"),
    [
        ("250200", date(2025, 2, 28)),  # DD=00: last day of the month
        ("240200", date(2024, 2, 29)),  # leap year
        ("251200", date(2025, 12, 31)),
        ("240229", date(2024, 2, 29)),
    ],
)
def test_expiry_dates(field: str, expiry: date) -> None:
    assert scan(f"{GTIN}17{field}").expiry == expiry


def test_day_zero_in_a_century_year_that_is_not_leap() -> None:
    assert scan(f"{GTIN}17000200", today=date(2060, 1, 1)).expiry == date(2100, 2, 28)
    assert reject(f"{GTIN}17000229", today=date(2060, 1, 1)).reason == "invalid_date"


@pytest.mark.parametrize(
    "data",
    [
        f"{GTIN}17251331",  # month 13
        f"{GTIN}17250001",  # month 00
        f"{GTIN}17250230",
        f"{GTIN}17250229",  # 2025 is not a leap year
        f"{GTIN}17250632",
        f"{GTIN}70032506002430",  # 7003 does not allow DD=00
        f"{GTIN}70032506012400",  # 24:00 is not a time of day
        f"{GTIN}70032506011360",
    ],
)
def test_invalid_dates(data: str) -> None:
    assert reject(data).reason == "invalid_date"


def test_each_date_ai_fills_its_field() -> None:
    code = scan(f"]C1{GTIN}11250101132501021525060116250531")
    assert code.production_date == date(2025, 1, 1)
    assert code.packaging_date == date(2025, 1, 2)
    assert code.best_before == date(2025, 6, 1)
    assert code.sell_by == date(2025, 5, 31)


def test_expiry_from_17_and_7003_must_agree() -> None:
    code = scan(f"]C1{GTIN}1725060170032506010800")
    assert (code.expiry, code.expiry_time) == (date(2025, 6, 1), time(8, 0))
    assert reject(f"]C1{GTIN}1725060270032506010800").reason == "conflicting_ai"


# --- measures and prices ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ai_and_data", "net_g"),
    [
        ("3103001250", 1250),
        ("3102000125", 1250),
        ("3100000002", 2000),
        ("3105001235", 12),  # 12.35 g
        ("3104000125", 12),  # 12.5 g: half to even
        ("3104000135", 14),  # 13.5 g: half to even
        ("3202000100", 454),  # 1.00 lb = 453.592 37 g
        ("3200000001", 454),
    ],
)
def test_net_weight_in_grams(ai_and_data: str, net_g: int) -> None:
    assert scan(f"{GTIN}{ai_and_data}").net_g == net_g


@pytest.mark.parametrize(
    ("ai_and_data", "price_fen", "currency"),
    [
        ("39221299", 1299, None),  # 12.99 in the local currency (yuan)
        ("392012", 1200, None),
        ("392312990", 1299, None),
        ("392312995", None, None),  # 12.995 yuan has no exact fen value
        ("39321561299", 1299, "156"),  # ISO 4217 156 = CNY
        ("39329781299", None, "978"),  # euros are not fen; the raw AI keeps the amount
    ],
)
def test_price_in_fen(ai_and_data: str, price_fen: int | None, currency: str | None) -> None:
    code = scan(f"{GTIN}{ai_and_data}")
    assert (code.price_fen, code.price_currency) == (price_fen, currency)


def test_unit_conversions_never_use_floats() -> None:
    assert kg_to_grams(999_999, 5) == 10_000  # 9.99999 kg
    assert lb_to_grams(999_999, 0) == 453_591_916  # 453 591 916.407 63 g
    assert to_minor_units(10**15 - 1, 0) == (10**15 - 1) * 100
    assert to_minor_units(123_456, 4) is None


# --- the human-readable form ------------------------------------------------------------


def test_human_readable_form_equals_transmitted_form() -> None:
    bracketed = scan("(01)09506000134352(17)201231(10)ABC123(21)SER001")
    transmitted = scan(f"{GTIN}17201231" + f"10ABC123{GS}21SER001")
    assert bracketed.elements == transmitted.elements
    assert scan("]d2(01)09506000134352(10)L1").symbology == "]d2"


def test_human_readable_form_escapes_parentheses_in_data() -> None:
    code = scan(r"(01)09506000134352(10)A\(10)B")
    assert code.lot == "A(10)B"
    assert format_bracketed(code.elements) == r"(01)09506000134352(10)A\(10)B"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("(01)0950600013435(10)A", "too_short"),
        ("(01)095060001343521(10)A", "too_long"),
        ("(01)09506000134352(05)A", "unknown_ai"),
        ("(01)09506000134352()A", "unknown_ai"),
        ("(01)09506000134352(10)", "too_short"),
    ],
)
def test_human_readable_rejections(data: str, reason: str) -> None:
    assert reject(data).reason == reason


# --- encoding ---------------------------------------------------------------------------


def test_encoding_puts_gs_only_where_gs1_requires_it() -> None:
    elements = [
        ElementString(ai="01", data="09506000134352"),
        ElementString(ai="10", data="L1"),
        ElementString(ai="3103", data="001250"),
        ElementString(ai="7003", data="2506011430"),
        ElementString(ai="17", data="250601"),
        ElementString(ai="21", data="S1"),
    ]
    encoded = encode_element_strings(elements)
    assert encoded == f"010950600013435210L1{GS}310300125070032506011430{GS}1725060121S1"
    assert parse_element_strings(encoded, today=TODAY) == tuple(elements)


def test_encoding_an_unknown_ai_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown AI"):
        encode_element_strings([ElementString(ai="05", data="1")])
