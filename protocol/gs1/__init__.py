"""GS1 barcodes as a store scans them: GTINs, element strings, Digital Links, in-store EAN-13.

Pure: no I/O and no clock. Pass `today` (it places two-digit years). Bad input never
raises from the decoding functions: it returns a BarcodeError with a machine `reason`.

    >>> from datetime import date
    >>> code = decode_scan("]d201095060001343521720123110L1", today=date(2025, 6, 1))
    >>> code.gtin14, code.expiry, code.lot
    ('09506000134352', datetime.date(2020, 12, 31), 'L1')
"""

from protocol.gs1.ai import AiDefinition, ai_definition
from protocol.gs1.dates import full_year
from protocol.gs1.digital_link import parse_digital_link
from protocol.gs1.element_string import (
    GS,
    ElementString,
    encode_element_strings,
    format_bracketed,
    parse_element_strings,
)
from protocol.gs1.errors import BarcodeError, BarcodeReason
from protocol.gs1.gtin import (
    gs1_check_digit,
    is_restricted_circulation,
    is_valid_gtin,
    normalise_gtin,
    with_check_digit,
)
from protocol.gs1.measures import kg_to_grams, lb_to_grams, to_minor_units
from protocol.gs1.scan import SYMBOLOGY_NAMES, ScanCode, ScanSyntax, decode_scan
from protocol.gs1.variable_measure import (
    MeasureKind,
    VariableMeasure,
    VariableMeasureLayout,
    measure_check_digit,
    read_variable_measure,
)

__all__ = [
    "GS",
    "SYMBOLOGY_NAMES",
    "AiDefinition",
    "BarcodeError",
    "BarcodeReason",
    "ElementString",
    "MeasureKind",
    "ScanCode",
    "ScanSyntax",
    "VariableMeasure",
    "VariableMeasureLayout",
    "ai_definition",
    "decode_scan",
    "encode_element_strings",
    "format_bracketed",
    "full_year",
    "gs1_check_digit",
    "is_restricted_circulation",
    "is_valid_gtin",
    "kg_to_grams",
    "lb_to_grams",
    "measure_check_digit",
    "normalise_gtin",
    "parse_digital_link",
    "parse_element_strings",
    "read_variable_measure",
    "to_minor_units",
    "with_check_digit",
]
