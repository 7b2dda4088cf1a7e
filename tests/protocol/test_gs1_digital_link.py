"""GS1 Digital Link URIs, as scanned from QR codes on packs."""

from __future__ import annotations

from datetime import date

import pytest

from protocol.gs1 import (
    BarcodeError,
    ElementString,
    ScanCode,
    decode_scan,
    parse_digital_link,
)

TODAY = date(2025, 6, 1)


def scan(data: str) -> ScanCode:
    code = decode_scan(data, today=TODAY)
    assert isinstance(code, ScanCode), code
    return code


def test_brief_example() -> None:
    code = scan("https://example.com/01/09506000134352/10/ABC?17=201231&3103=000195")
    assert code.syntax == "digital_link"
    assert code.gtin14 == "09506000134352"
    assert code.lot == "ABC"
    assert code.expiry == date(2020, 12, 31)
    assert code.net_g == 195


def test_element_order_is_key_qualifiers_attributes() -> None:
    elements = parse_digital_link(
        "https://id.gs1.org/01/09521234543213/22/V1/10/ABC123/21/12345?17=261231",
        today=TODAY,
    )
    assert elements == (
        ElementString(ai="01", data="09521234543213"),
        ElementString(ai="22", data="V1"),
        ElementString(ai="10", data="ABC123"),
        ElementString(ai="21", data="12345"),
        ElementString(ai="17", data="261231"),
    )


def test_legacy_short_names() -> None:
    code = scan("https://id.gs1.org/gtin/9506000134352/lot/ABC1/ser/12345?exp=180426")
    assert (code.gtin14, code.lot, code.serial) == ("09506000134352", "ABC1", "12345")
    assert code.expiry == date(2018, 4, 26)


@pytest.mark.parametrize("gtin", ["9506000134352", "09506000134352"])
def test_gtin_may_be_unpadded_in_the_path(gtin: str) -> None:
    assert scan(f"https://id.gs1.org/01/{gtin}").gtin14 == "09506000134352"


def test_path_stem_query_noise_fragment_and_case_of_scheme() -> None:
    code = scan("HTTPS://brand.example/products/fresh/01/09506000134352/?linkType=gs1:pip#top")
    assert code.gtin14 == "09506000134352"
    assert [e.ai for e in code.elements] == ["01"]


def test_percent_decoding_and_plus_signs() -> None:
    code = scan("https://e.example/01/09506000134352/10/A%2FB%25C+D?21=S%2B1+2")
    assert code.lot == "A/B%C+D"
    assert code.serial == "S+1+2"  # `+` is a CSET 82 character, not a space


def test_sscc_primary_key_with_attributes() -> None:
    code = scan("https://id.gs1.org/00/106141412345678908?02=00614141123452&37=25&10=ABC123")
    assert code.sscc == "106141412345678908"
    assert code.gtin14 is None
    assert code.data_for("02") == "00614141123452"
    assert code.data_for("37") == "25"


def test_scanned_from_a_qr_code_with_symbology_identifier() -> None:
    code = scan("]Q1https://example.com/01/09506000134352")
    assert (code.symbology, code.syntax) == ("]Q1", "digital_link")


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("https://example.com/about/us", "bad_uri"),
        ("https://example.com/01/09506000134352/21/S1/10/L1", "bad_uri"),  # qualifier order
        ("https://example.com/01/09506000134352/235/T/10/L1", "bad_uri"),  # not with 235
        ("https://example.com/00/106141412345678908/10/L1", "bad_uri"),  # SSCC: no qualifiers
        ("ftp://example.com/01/09506000134352", "bad_uri"),
        ("https:///01/09506000134352", "bad_uri"),  # no host
        ("https://[example.com/01/09506000134352", "bad_uri"),
        ("https://example.com/01/09506000134353", "bad_check_digit"),
        ("https://example.com/01/09506000134", "too_short"),
        ("https://example.com/01/09506000134352?17=201331", "invalid_date"),
        ("https://example.com/01/09506000134352?9999=1", "unknown_ai"),
        ("https://example.com/01/09506000134352/10/A%20B", "bad_character"),
        ("https://example.com/01/09506000134352/10/%FF", "bad_character"),
        ("https://example.com/01/09506000134352?10=A&10=B", "conflicting_ai"),
        ("https://example.com/01/09506000134352?3103=1", "too_short"),
    ],
)
def test_rejections(uri: str, reason: str) -> None:
    error = parse_digital_link(uri, today=TODAY)
    assert isinstance(error, BarcodeError)
    assert error.reason == reason, error.message


def test_a_plain_web_address_in_a_qr_code_is_not_a_product() -> None:
    error = decode_scan("]Q1https://example.com/promo?id=7", today=TODAY)
    assert isinstance(error, BarcodeError)
    assert error.reason == "bad_uri"
