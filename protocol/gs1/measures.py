"""Decimal barcode values → jxc's integer units: grams for weight, fen for money.

GS1 measures and prices carry an implied decimal point (AI 3103 "001250" = 1.250 kg). We
never go through floats. Weights that are finer than a gram (3104, 3105, and every pound
value) are rounded half-to-even to the gram: unbiased over many labels, and a gram is below
any legal-for-trade scale interval a fresh counter uses. Prices are never rounded: a value
with more decimals than the currency has minor units and a non-zero remainder is left
unconverted (None), and the raw AI keeps it.
"""

from __future__ import annotations

CNY_ISO_NUMERIC = "156"  # ISO 4217 numeric code of the renminbi; 1 yuan = 100 fen
_GRAMS_PER_LB_E5 = 45_359_237  # 1 lb = 453.592 37 g exactly, times 10^5


def _divide_half_even(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def kg_to_grams(value: int, decimals: int) -> int:
    """`value` × 10^-decimals kg → grams, rounded half-to-even."""
    return _divide_half_even(value * 1000, 10**decimals)


def lb_to_grams(value: int, decimals: int) -> int:
    """`value` × 10^-decimals lb → grams, rounded half-to-even."""
    return _divide_half_even(value * _GRAMS_PER_LB_E5, 10 ** (decimals + 5))


def to_minor_units(value: int, decimals: int, minor_digits: int = 2) -> int | None:
    """`value` × 10^-decimals currency units → minor units (fen), or None if not exact."""
    if decimals <= minor_digits:
        scale: int = 10 ** (minor_digits - decimals)
        return value * scale
    whole, remainder = divmod(value, 10 ** (decimals - minor_digits))
    return whole if remainder == 0 else None
