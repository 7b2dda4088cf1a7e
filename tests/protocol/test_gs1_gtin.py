"""GTIN check digits and normalisation (GS1 General Specifications 7.9.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.gs1 import (
    BarcodeError,
    gs1_check_digit,
    is_restricted_circulation,
    is_valid_gtin,
    normalise_gtin,
    with_check_digit,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@pytest.mark.parametrize(
    ("body", "check_digit"),
    [
        ("37610425002123456", 9),  # SSCC example of the General Specifications, 7.9.1
        ("9501234", 6),  # GTIN-8 95012346
        ("61414100003", 6),  # GTIN-12 (UPC-A) 614141000036
        ("950110153100", 0),  # GTIN-13 9501101531000
        ("690123456789", 2),  # GTIN-13 6901234567892 (GS1 China prefix 690)
        ("0950600013435", 2),  # GTIN-14 09506000134352
    ],
)
def test_check_digit_examples(body: str, check_digit: int) -> None:
    assert gs1_check_digit(body) == check_digit


@pytest.mark.parametrize(
    ("code", "gtin14"),
    [
        ("95012346", "00000095012346"),
        ("614141000036", "00614141000036"),
        ("6901234567892", "06901234567892"),
        ("09506000134352", "09506000134352"),
    ],
)
def test_normalise_pads_every_gtin_length_to_14(code: str, gtin14: str) -> None:
    assert normalise_gtin(code) == gtin14


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("6901234567893", "bad_check_digit"),
        ("69012345678", "too_short"),
        ("690123456789212", "too_long"),
        ("69012345678a2", "bad_character"),
        ("６９０１２３４５６７８９２", "bad_character"),  # full-width digits are not digits here
        ("", "too_short"),
    ],
)
def test_normalise_rejects_with_a_reason(code: str, reason: str) -> None:
    result = normalise_gtin(code)

    assert isinstance(result, BarcodeError)
    assert result.reason == reason


def test_check_digit_body_must_be_digits() -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        gs1_check_digit("12a")


@pytest.mark.parametrize(
    ("gtin14", "restricted"),
    [
        ("02100123012992", True),  # EAN-13 prefix 21: weighed goods in a store
        ("00212345012994", True),  # UPC-A number system 2
        ("00412345678903", True),  # prefix 04: within a company
        ("00000020123457", True),  # GTIN-8 prefix 2
        ("06901234567892", False),
        ("09506000134352", False),
        ("00000095012346", False),
    ],
)
def test_restricted_circulation_prefixes(gtin14: str, restricted: bool) -> None:
    assert is_restricted_circulation(gtin14) is restricted


gtin_bodies = st.sampled_from([7, 11, 12, 13]).flatmap(
    lambda n: st.text("0123456789", min_size=n, max_size=n)
)


@given(body=gtin_bodies)
def test_a_gtin_with_its_computed_check_digit_validates(body: str) -> None:
    gtin = with_check_digit(body)

    assert is_valid_gtin(gtin)
    assert normalise_gtin(gtin) == gtin.zfill(14)


@given(body=gtin_bodies, data=st.data())
def test_changing_any_one_digit_fails_the_check(body: str, data: st.DataObject) -> None:
    gtin = with_check_digit(body)
    position = data.draw(st.integers(0, len(gtin) - 1))
    replacement = data.draw(digits.filter(lambda d: d != gtin[position]))
    altered = gtin[:position] + replacement + gtin[position + 1 :]

    assert not is_valid_gtin(altered)
    result = normalise_gtin(altered)
    assert isinstance(result, BarcodeError)
    assert result.reason == "bad_check_digit"
