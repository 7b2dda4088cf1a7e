"""GTIN-8/12/13/14 and the GS1 mod-10 check digit (GS1 General Specifications 7.9.1).

The same check digit protects SSCC (18 digits), GLN (13), GSRN (18) and GDTI/GCN bodies.
"""

from __future__ import annotations

from protocol.gs1.errors import BarcodeError, BarcodeFault

GTIN_LENGTHS = (8, 12, 13, 14)


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts "²" and Arabic-Indic digits, which no barcode carries.
    return text.isascii() and text.isdigit()


def gs1_check_digit(body: str) -> int:
    """The check digit for `body` (all digits but the last): weights 3,1,3,... from the right.

    Raises ValueError for a body that is not ASCII digits (a programming error, not a scan).
    """
    if not _is_ascii_digits(body):
        raise ValueError(f"check digit body must be ASCII digits, got {body!r}")
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def has_valid_check_digit(number: str) -> bool:
    """True when `number` is at least two ASCII digits and its last digit checks the rest."""
    if len(number) < 2 or not _is_ascii_digits(number):
        return False
    return gs1_check_digit(number[:-1]) == int(number[-1])


def with_check_digit(body: str) -> str:
    """`body` followed by its check digit: how GTINs are minted from a company prefix."""
    return body + str(gs1_check_digit(body))


def is_valid_gtin(code: str) -> bool:
    """True for an 8, 12, 13 or 14 digit GTIN whose check digit is right."""
    return len(code) in GTIN_LENGTHS and has_valid_check_digit(code)


def check_numeric_key(value: str, *, what: str, ai: str | None = None) -> None:
    """Raise a BarcodeFault unless `value` is ASCII digits with a correct GS1 check digit."""
    if not _is_ascii_digits(value):
        raise BarcodeFault("bad_character", f"{what} must be digits, got {value!r}", ai)
    if not has_valid_check_digit(value):
        expected = gs1_check_digit(value[:-1]) if len(value) > 1 else 0
        raise BarcodeFault(
            "bad_check_digit",
            f"{what} {value} has check digit {value[-1]}, expected {expected}",
            ai,
        )


def gtin14_or_fault(code: str, *, ai: str | None = None) -> str:
    """Validate a GTIN of any length and pad it to the 14-digit form used everywhere in jxc."""
    if code and not _is_ascii_digits(code):
        raise BarcodeFault("bad_character", f"a GTIN is digits only, got {code!r}", ai)
    if len(code) not in GTIN_LENGTHS:
        message = f"a GTIN has 8, 12, 13 or 14 digits, got {len(code)}"
        raise BarcodeFault("too_long" if len(code) > 14 else "too_short", message, ai)
    check_numeric_key(code, what=f"GTIN-{len(code)}", ai=ai)
    return code.zfill(14)


def normalise_gtin(code: str) -> str | BarcodeError:
    """GTIN-8/12/13/14 → validated GTIN-14 (left-padded with zeros), or why not."""
    try:
        return gtin14_or_fault(code)
    except BarcodeFault as fault:
        return fault.error


def is_restricted_circulation(gtin14: str) -> bool:
    """True for numbers GS1 leaves to a region or company: in-store weighed goods, coupons.

    GTIN-13 prefixes 02, 04 and 20-29 (UPC-A number systems 2 and 4 land on 02/04 once
    padded), GTIN-8 prefixes 0 and 2 (GS1 General Specifications 1.4.4 prefix table).
    Such a number identifies nothing outside the store that printed it.
    """
    if gtin14.startswith("000000"):  # a GTIN-8 padded to 14
        return gtin14[6] in "02"
    if gtin14[0] != "0":
        return False
    gtin13 = gtin14[1:]
    return gtin13[0] == "2" or gtin13[:2] in ("02", "04")
