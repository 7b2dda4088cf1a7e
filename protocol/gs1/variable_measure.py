"""In-store variable-measure EAN-13: weighed or priced fresh goods labelled by the store.

A store's scales print EAN-13 codes starting with 2 (GS1 restricted circulation numbers)
that carry the store's own item code (PLU) and the weight or the price of one pack. The
layout is each store's choice, so it is configuration: a list of VariableMeasureLayout,
matched by prefix. Example "21 00123 01299 2": prefix 21, item 00123, price 12.99 yuan.

GS1 General Specifications 7.9.2-7.9.4 define an optional check digit over a 4- or 5-digit
price or weight, placed just before it, computed with weighting factors 2-, 3, 5+ and 5-.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from protocol.gs1.errors import BarcodeError, BarcodeFault
from protocol.gs1.gtin import gtin14_or_fault
from protocol.gs1.measures import to_minor_units

MeasureKind = Literal["weight_g", "price_fen"]

_EAN13_CHECK_INDEX = 12


class VariableMeasureLayout(msgspec.Struct, frozen=True, kw_only=True):
    """Where one store puts item code and weight or price in its prefix-2 EAN-13 codes.

    Digits are numbered 0-12 from the left; digit 12 is the EAN-13 check digit. The value
    ends at digit 11; with `value_check_digit` the GS1 price/weight check digit is the digit
    just before the value. Constructing an inconsistent layout raises ValueError (from
    configuration via msgspec: a ValidationError), so a bad layout fails at load time.
    """

    prefix: str  # the leading digits selecting this layout, e.g. "21" or "2" (UPC-A: "02")
    item_digits: int  # length of the store's item code (PLU)
    value_kind: MeasureKind
    value_digits: int
    item_start: int | None = None  # index of the item code's first digit; None: after prefix
    # Implied decimals of the printed value in kg (weight) or yuan (price). None: the value
    # is printed in the target unit itself (grams, fen).
    value_decimals: int | None = None
    value_check_digit: bool = False

    def __post_init__(self) -> None:
        if not (self.prefix.isascii() and self.prefix.isdigit()) or not 1 <= len(self.prefix) <= 3:
            raise ValueError(f"layout prefix must be 1-3 digits, got {self.prefix!r}")
        if not (self.prefix[0] == "2" or self.prefix[:2] in ("02", "04")):
            raise ValueError(f"prefix {self.prefix} is not a restricted circulation prefix")
        if self.value_check_digit and self.value_digits not in (4, 5):
            raise ValueError("GS1 price/weight check digits exist for 4 or 5 value digits only")
        if not 1 <= self.value_digits <= 9:
            raise ValueError(f"value_digits must be 1-9, got {self.value_digits}")
        if self.item_digits < 1 or self.item_start_index < len(self.prefix):
            raise ValueError("the item code must have digits and start after the prefix")
        if self.item_start_index + self.item_digits > self.check_index:
            raise ValueError("item code, check digit and value overlap; they must fit 12 digits")
        finest = 3 if self.value_kind == "weight_g" else 2  # grams of a kg, fen of a yuan
        if self.value_decimals is not None and not 0 <= self.value_decimals <= finest:
            raise ValueError(f"{self.value_kind} values allow 0-{finest} decimals")

    @property
    def item_start_index(self) -> int:
        return len(self.prefix) if self.item_start is None else self.item_start

    @property
    def value_start(self) -> int:
        return _EAN13_CHECK_INDEX - self.value_digits

    @property
    def check_index(self) -> int:
        """Where the price/weight check digit is, or where the value starts if there is none."""
        return self.value_start - 1 if self.value_check_digit else self.value_start


class VariableMeasure(msgspec.Struct, frozen=True, kw_only=True):
    """What an in-store EAN-13 says: which store item, and its weight or its price."""

    prefix: str  # the layout that matched
    item_code: str
    net_g: int | None = None
    price_fen: int | None = None


def _times_2_minus(digit: int) -> int:
    product = digit * 2
    return (product % 10 - product // 10) % 10


def _times_3(digit: int) -> int:
    return digit * 3 % 10


def _times_5_plus(digit: int) -> int:
    product = digit * 5
    return (product % 10 + product // 10) % 10


def _times_5_minus(digit: int) -> int:
    product = digit * 5
    return (product % 10 - product // 10) % 10


_FOUR_DIGIT_WEIGHTS = (_times_2_minus, _times_2_minus, _times_3, _times_5_minus)
_FIVE_DIGIT_WEIGHTS = (_times_5_plus, _times_2_minus, _times_5_minus, _times_5_plus, _times_2_minus)


def measure_check_digit(value: str) -> int:
    """GS1 check digit of a 4- or 5-digit price or weight ("2875" → 9, "14685" → 6).

    Raises ValueError for anything but 4 or 5 ASCII digits (a programming error).
    """
    if not (value.isascii() and value.isdigit()) or len(value) not in (4, 5):
        raise ValueError(f"a price/weight check digit covers 4 or 5 digits, got {value!r}")
    digits = [int(c) for c in value]
    if len(digits) == 4:
        total = sum(weight(d) for weight, d in zip(_FOUR_DIGIT_WEIGHTS, digits, strict=True))
        return total * 3 % 10
    total = sum(weight(d) for weight, d in zip(_FIVE_DIGIT_WEIGHTS, digits, strict=True))
    # The check digit is the one whose 5- product brings the sum to a multiple of ten.
    wanted = (10 - total % 10) % 10
    return next(c for c in range(10) if _times_5_minus(c) == wanted)


def find_layout(
    ean13: str, layouts: Sequence[VariableMeasureLayout]
) -> VariableMeasureLayout | None:
    """The first layout whose prefix the code starts with (list longer prefixes first)."""
    return next((layout for layout in layouts if ean13.startswith(layout.prefix)), None)


def read_with_layout(ean13: str, layout: VariableMeasureLayout) -> VariableMeasure:
    """Item code and value of a checked 13-digit code; raises BarcodeFault on a bad value."""
    start = layout.item_start_index
    item_code = ean13[start : start + layout.item_digits]
    printed = ean13[layout.value_start : _EAN13_CHECK_INDEX]
    if layout.value_check_digit:
        expected = measure_check_digit(printed)
        if int(ean13[layout.check_index]) != expected:
            raise BarcodeFault(
                "bad_measure_check_digit",
                f"in-store code {ean13}: the {layout.value_kind} {printed} has check digit "
                f"{ean13[layout.check_index]}, expected {expected}",
            )
    value = int(printed)
    if layout.value_kind == "weight_g":
        decimals = 3 if layout.value_decimals is None else layout.value_decimals
        return VariableMeasure(
            prefix=layout.prefix, item_code=item_code, net_g=value * 10 ** (3 - decimals)
        )
    decimals = 2 if layout.value_decimals is None else layout.value_decimals
    return VariableMeasure(
        prefix=layout.prefix, item_code=item_code, price_fen=to_minor_units(value, decimals)
    )


def read_variable_measure(
    code: str, layouts: Sequence[VariableMeasureLayout]
) -> VariableMeasure | BarcodeError | None:
    """Decode an EAN-13 (or UPC-A) with the store's layouts; None if no layout matches."""
    try:
        gtin14 = gtin14_or_fault(code)
        layout = find_layout(gtin14[1:], layouts) if gtin14[0] == "0" else None
        return None if layout is None else read_with_layout(gtin14[1:], layout)
    except BarcodeFault as fault:
        return fault.error
