"""`decode_scan`: symbology identifiers, shapes, and properties over any input."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.gs1 import (
    GS,
    BarcodeError,
    ElementString,
    ScanCode,
    VariableMeasureLayout,
    decode_scan,
    encode_element_strings,
    format_bracketed,
    parse_digital_link,
    parse_element_strings,
    with_check_digit,
)
from protocol.gs1.ai import CHARSETS

TODAY = date(2025, 6, 1)
LAYOUTS = (
    VariableMeasureLayout(prefix="21", item_digits=5, value_kind="price_fen", value_digits=5),
    VariableMeasureLayout(
        prefix="20", item_digits=5, value_kind="price_fen", value_digits=4, value_check_digit=True
    ),
)
LOT_SERIAL_ELEMENTS = "0109506000134352" + "10ABC" + GS + "21S1"


def scan(data: str, today: date = TODAY) -> ScanCode:
    code = decode_scan(data, today=today, layouts=LAYOUTS)
    assert isinstance(code, ScanCode), code
    return code


def reason(data: str) -> str:
    error = decode_scan(data, today=TODAY, layouts=LAYOUTS)
    assert isinstance(error, BarcodeError), error
    return error.reason


# --- symbology identifiers and shapes -------------------------------------------------------


@pytest.mark.parametrize("symbology", ["]C1", "]e0", "]d2", "]Q3", "]J1", ""])
def test_every_gs1_carrier_reads_the_same_element_string(symbology: str) -> None:
    code = scan(symbology + LOT_SERIAL_ELEMENTS)
    assert (code.symbology, code.syntax) == (symbology, "element_string")
    assert (code.gtin14, code.lot, code.serial) == ("09506000134352", "ABC", "S1")


@pytest.mark.parametrize(
    ("data", "gtin14"),
    [
        ("]E06901234567892", "06901234567892"),
        ("]E00614141000036", "00614141000036"),  # UPC-A is sent as 13 digits under ]E0
        ("]E495012346", "00000095012346"),
        ("]I109506000134352", "09506000134352"),
        ("6901234567892\r\n", "06901234567892"),  # keyboard-wedge suffix
        ("95012346", "00000095012346"),
        ("614141000036", "00614141000036"),
        ("09506000134352", "09506000134352"),
    ],
)
def test_plain_gtins(data: str, gtin14: str) -> None:
    code = scan(data)
    assert (code.syntax, code.gtin14) == ("gtin", gtin14)
    assert code.elements == (ElementString(ai="01", data=gtin14),)


def test_bare_digits_of_gtin_length_are_a_gtin_but_under_gs1_128_they_are_ais() -> None:
    assert reason("0109506000134") == "bad_check_digit"  # an EAN-13 that does not check
    assert reason("]C10109506000134") == "too_short"  # AI 01 with 11 digits


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("", "empty"),
        (" \r\n", "empty"),
        ("]d2", "empty"),
        (GS, "empty"),
        ("]X0123", "unsupported_symbology"),
        ("]C0123456", "unsupported_symbology"),  # Code 128 without FNC1: not GS1 data
        ("]Q1hello", "unsupported_symbology"),
        ("]E0123", "too_short"),
        ("]E069012345678a2", "bad_character"),
        ("9" * 9000, "too_long"),
        ("hello", "unknown_ai"),
    ],
)
def test_rejections(data: str, expected: str) -> None:
    assert reason(data) == expected


def test_a_store_code_goes_through_the_layouts() -> None:
    code = scan("]E02100123012992")
    assert (code.syntax, code.item_code, code.price_fen) == ("variable_measure", "00123", 1299)
    assert reason("2012345828759") == "bad_measure_check_digit"


def test_a_variable_measure_gtin_14_with_weight_and_price() -> None:
    # Indicator digit 9: a variable-measure trade item, weight and price in AIs (DataBar).
    code = scan("]e0" + "0198712345678909" + "3103000750" + "3922" + "1349")
    assert (code.gtin14, code.net_g, code.price_fen) == ("98712345678909", 750, 1349)


def test_dates_stay_valid_for_any_reference_day() -> None:
    for today in (date(1, 1, 1), date(9999, 12, 31)):
        result = decode_scan("010950600013435217991231", today=today)
        assert isinstance(result, (ScanCode, BarcodeError))


# --- properties -----------------------------------------------------------------------------

SCANNER_ALPHABET = "0123456789()]CdQeEIJ1\x1d\\ABCxyz%/?&=+-.:hpst "
PREFIXES = ["", "]C1", "]d2", "]Q3", "]e0", "]E0", "]E4", "]I1", "]Q1", "(01)", "(10)"]
PREFIXES += ["0109506000134352", "https://x.example/01/", "https://x.example/gtin/"]


@given(text=st.text())
def test_any_text_never_raises(text: str) -> None:
    result = decode_scan(text, today=TODAY, layouts=LAYOUTS)
    assert isinstance(result, (ScanCode, BarcodeError))


@given(raw=st.binary(max_size=200))
def test_any_bytes_as_text_never_raise(raw: bytes) -> None:
    result = decode_scan(raw.decode("latin-1"), today=TODAY, layouts=LAYOUTS)
    assert isinstance(result, (ScanCode, BarcodeError))


@given(
    prefix=st.sampled_from(PREFIXES),
    body=st.text(alphabet=SCANNER_ALPHABET, max_size=60),
    today=st.dates(),
)
def test_scanner_shaped_text_never_raises(prefix: str, body: str, today: date) -> None:
    result = decode_scan(prefix + body, today=today, layouts=LAYOUTS)
    assert isinstance(result, (ScanCode, BarcodeError))
    if isinstance(result, BarcodeError):
        assert result.message


cset82 = st.text(alphabet=sorted(CHARSETS["X"]), min_size=1, max_size=20)
digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=15)
gtin14s = st.text(alphabet="0123456789", min_size=13, max_size=13).map(with_check_digit)
# Dates GS1's sliding window puts back in the same century around TODAY (1976-2075).
window_dates = st.dates(min_value=date(1976, 1, 1), max_value=date(2075, 12, 31))
window_times = st.datetimes(min_value=datetime(1976, 1, 1), max_value=datetime(2075, 12, 31))

optional_elements = {
    "10": cset82,
    "21": cset82,
    "11": window_dates.map(lambda d: d.strftime("%y%m%d")),
    "15": window_dates.map(lambda d: d.strftime("%y%m%d")),
    "17": window_dates.map(lambda d: d.strftime("%y%m%d")),
    "3103": st.text(alphabet="0123456789", min_size=6, max_size=6),
    "3922": digit_strings,
    "7003": window_times.map(lambda t: t.strftime("%y%m%d%H%M")),
    "91": st.text(alphabet=sorted(CHARSETS["X"]), min_size=1, max_size=90),
}


@st.composite
def element_lists(draw: st.DrawFn) -> list[ElementString]:
    chosen = draw(st.lists(st.sampled_from(sorted(optional_elements)), unique=True))
    pairs = [("01", draw(gtin14s))] + [(ai, draw(optional_elements[ai])) for ai in chosen]
    ordered = draw(st.permutations(pairs))
    return [ElementString(ai=ai, data=data) for ai, data in ordered]


@given(elements=element_lists())
def test_encoded_element_strings_decode_to_the_same_elements(
    elements: list[ElementString],
) -> None:
    encoded = encode_element_strings(elements)

    assert parse_element_strings(encoded, today=TODAY) == tuple(elements)
    assert parse_element_strings(format_bracketed(elements), today=TODAY) == tuple(elements)


@given(elements=element_lists(), symbology=st.sampled_from(["]C1", "]d2", "]Q3", ""]))
def test_scanned_element_strings_keep_every_ai(
    elements: list[ElementString], symbology: str
) -> None:
    result = decode_scan(symbology + encode_element_strings(elements), today=TODAY)
    data = {e.ai: e.data for e in elements}
    expiry_disagrees = "17" in data and "7003" in data and data["17"] != data["7003"][:6]

    if expiry_disagrees:
        assert isinstance(result, BarcodeError)
        assert result.reason == "conflicting_ai"
    else:
        assert isinstance(result, ScanCode), result
        assert result.elements == tuple(elements)
        assert (result.gtin14, result.lot, result.serial) == (
            data["01"],
            data.get("10"),
            data.get("21"),
        )


@given(
    gtin14=gtin14s,
    lot=st.none() | cset82,
    serial=st.none() | cset82,
    expiry=st.none() | window_dates,
)
def test_digital_link_round_trip(
    gtin14: str, lot: str | None, serial: str | None, expiry: date | None
) -> None:
    uri = f"https://brand.example/p/01/{gtin14}"
    expected = [ElementString(ai="01", data=gtin14)]
    for ai, value in (("10", lot), ("21", serial)):
        if value is not None:
            uri += f"/{ai}/{quote(value, safe='')}"
            expected.append(ElementString(ai=ai, data=value))
    if expiry is not None:
        uri += "?17=" + expiry.strftime("%y%m%d")
        expected.append(ElementString(ai="17", data=expiry.strftime("%y%m%d")))

    assert parse_digital_link(uri, today=TODAY) == tuple(expected)
