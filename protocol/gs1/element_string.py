"""GS1 element strings: AI + data pairs as GS1-128, DataBar, DataMatrix and QR carry them.

Two written forms are read:
- the transmitted form, `0109506000134352` `17201231` `10ABC<GS>21X1`, where FNC1 reaches
  us as ASCII GS (0x1D) after every variable-length field that is not last;
- the human-readable form, `(01)09506000134352(17)201231(10)ABC`, as printed under the bars
  (a literal parenthesis inside data is written `\\(`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

import msgspec

from protocol.gs1.ai import (
    AI_TABLE,
    CHARSET_NAMES,
    CHARSETS,
    AiDefinition,
    FieldPart,
    ai_definition,
    match_ai,
)
from protocol.gs1.dates import parse_hhmm, parse_yymmdd
from protocol.gs1.errors import BarcodeError, BarcodeFault
from protocol.gs1.gtin import check_numeric_key

GS = "\x1d"  # how scanners transmit FNC1 used as a field separator

# Beyond the largest GS1 symbol (a QR code holds 7,089 digits): refuse before doing work.
MAX_SCAN_LENGTH = 8_000

_AI_PREFIXES = frozenset(ai[:n] for ai in AI_TABLE for n in range(1, len(ai)))
_BRACKETED_AI = re.compile(r"(?<!\\)\(([0-9]*)\)")

# Pairs GS1 forbids in one item's data (General Specifications 4.14.1, invalid pairs) that a
# store can meet: a trade item is not also the content of a logistic unit, one serial
# scheme, one price currency convention. Measures and amounts compare by family (392n).
_EXCLUSIVE_FAMILIES = (
    ("01", "02"),
    ("01", "37"),
    ("01", "255"),
    ("21", "235"),
    ("390", "391"),
    ("392", "393"),
)


class ElementString(msgspec.Struct, frozen=True, kw_only=True):
    """One Application Identifier and its data field, e.g. ai="17", data="201231"."""

    ai: str
    data: str


def _describe(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _check_charset(part: FieldPart, text: str, ai: str) -> None:
    allowed = CHARSETS[part.charset]
    for offset, char in enumerate(text):
        if char not in allowed:
            raise BarcodeFault(
                "bad_character",
                f"AI ({ai}) allows only {CHARSET_NAMES[part.charset]}, "
                f"got {char!r} at position {offset + 1} of {_describe(text)}",
                ai,
            )


def _check_part(part: FieldPart, text: str, ai: str, today: date) -> None:
    _check_charset(part, text, ai)
    if part.check == "csum":
        check_numeric_key(text, what=f"AI ({ai})", ai=ai)
    elif part.check in ("date0", "date"):
        parse_yymmdd(text, today=today, day_zero_allowed=part.check == "date0", ai=ai)
    elif part.check == "time":
        parse_hhmm(text, ai=ai)


def validate_element(definition: AiDefinition, data: str, *, today: date) -> None:
    """Raise a BarcodeFault unless `data` fits the AI's length, character set and checks."""
    ai = definition.ai
    position = 0
    for part in definition.parts:
        remaining = len(data) - position
        if remaining == 0 and part.optional:
            break
        if remaining < part.min_length:
            raise BarcodeFault(
                "too_short",
                f"AI ({ai}) {definition.title} needs {_length_words(definition)}, "
                f"got {len(data)}: {_describe(data)}",
                ai,
            )
        take = min(remaining, part.max_length)
        _check_part(part, data[position : position + take], ai, today)
        position += take
    if position < len(data):
        raise BarcodeFault(
            "too_long",
            f"AI ({ai}) {definition.title} holds {_length_words(definition)}, got {len(data)}"
            + ("" if definition.fixed_length else " (a missing GS separator?)"),
            ai,
        )


def _length_words(definition: AiDefinition) -> str:
    if definition.fixed_length is not None:
        return f"{definition.fixed_length} characters"
    return f"{definition.min_length} to {definition.max_length} characters"


def _ai_at(data: str, position: int) -> AiDefinition:
    definition = match_ai(data, position)
    if definition is not None:
        return definition
    rest = data[position:]
    if rest in _AI_PREFIXES:
        raise BarcodeFault("too_short", f"the code ends inside an AI: {rest!r}")
    raise BarcodeFault(
        "unknown_ai", f"no GS1 Application Identifier starts with {_describe(rest[:4])}"
    )


def _check_combination(elements: list[ElementString]) -> tuple[ElementString, ...]:
    """Drop repeated identical AIs; refuse contradicting or mutually exclusive ones."""
    seen: dict[str, str] = {}
    unique: list[ElementString] = []
    for element in elements:
        earlier = seen.get(element.ai)
        if earlier is None:
            seen[element.ai] = element.data
            unique.append(element)
        elif earlier != element.data:
            raise BarcodeFault(
                "conflicting_ai",
                f"AI ({element.ai}) appears twice with different data: "
                f"{_describe(earlier)} and {_describe(element.data)}",
                element.ai,
            )
    by_family: dict[str, str] = {}
    for ai in seen:
        other = by_family.setdefault(_family(ai), ai)
        if other != ai:  # two variants of one measure or amount: 3103 and 3102
            raise BarcodeFault("conflicting_ai", f"AIs ({other}) and ({ai}) exclude each other", ai)
    for first, second in _EXCLUSIVE_FAMILIES:
        if first in by_family and second in by_family:
            a, b = by_family[first], by_family[second]
            raise BarcodeFault("conflicting_ai", f"AIs ({a}) and ({b}) exclude each other", b)
    return tuple(unique)


def _family(ai: str) -> str:
    """3103 → 310: the decimals digit of a measure or amount AI does not change its meaning."""
    return ai[:3] if len(ai) == 4 and ai[0] == "3" else ai


def split_element_strings(data: str, *, today: date) -> tuple[ElementString, ...]:
    """Transmitted form (GS separators) → validated elements; raises BarcodeFault."""
    elements: list[ElementString] = []
    position = 0
    while position < len(data):
        if data[position] == GS:  # leading FNC1, a separator, or a harmless extra one
            position += 1
            continue
        definition = _ai_at(data, position)
        position += len(definition.ai)
        fixed = definition.fixed_length
        if fixed is not None:
            # Fixed-length AIs that are not predefined (7003) should be followed by GS;
            # scanners and printers often skip it, and the length is known, so allow that.
            field = data[position : position + fixed]
            if len(field) < fixed or GS in field:
                raise BarcodeFault(
                    "too_short",
                    f"AI ({definition.ai}) {definition.title} needs {fixed} characters, "
                    f"got {_describe(field.split(GS)[0])}",
                    definition.ai,
                )
        else:
            end = data.find(GS, position)
            field = data[position : end if end >= 0 else len(data)]
        validate_element(definition, field, today=today)
        elements.append(ElementString(ai=definition.ai, data=field))
        position += len(field)
    if not elements:
        raise BarcodeFault("empty", "only separators were scanned")
    return _check_combination(elements)


def split_bracketed(text: str, *, today: date) -> tuple[ElementString, ...]:
    """Human-readable form `(01)...(10)...` → validated elements; raises BarcodeFault."""
    markers = list(_BRACKETED_AI.finditer(text))
    if not markers or markers[0].start() != 0:
        raise BarcodeFault("unknown_ai", f"expected '(AI)' at the start of {_describe(text)}")
    elements: list[ElementString] = []
    for index, marker in enumerate(markers):
        ai = marker.group(1)
        definition = ai_definition(ai)
        if definition is None:
            raise BarcodeFault("unknown_ai", f"({ai}) is not a GS1 Application Identifier", ai)
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        field = text[marker.end() : end].replace("\\(", "(")
        validate_element(definition, field, today=today)
        elements.append(ElementString(ai=ai, data=field))
    return _check_combination(elements)


def check_elements(elements: Iterable[ElementString], *, today: date) -> tuple[ElementString, ...]:
    """Validate pairs that arrived already split (a Digital Link); raises BarcodeFault."""
    checked: list[ElementString] = []
    for element in elements:
        definition = ai_definition(element.ai)
        if definition is None:
            raise BarcodeFault(
                "unknown_ai", f"({element.ai}) is not a GS1 Application Identifier", element.ai
            )
        validate_element(definition, element.data, today=today)
        checked.append(element)
    return _check_combination(checked)


def parse_element_strings(data: str, *, today: date) -> tuple[ElementString, ...] | BarcodeError:
    """Parse the transmitted or the human-readable form, without a symbology identifier.

    `today` places two-digit years (GS1 General Specifications 7.12) so that dates such as
    29 February can be checked.
    """
    if len(data) > MAX_SCAN_LENGTH:
        return BarcodeError(reason="too_long", message=f"{len(data)} characters is no barcode")
    try:
        if data.startswith("("):
            return split_bracketed(data, today=today)
        return split_element_strings(data, today=today)
    except BarcodeFault as fault:
        return fault.error


def encode_element_strings(elements: Iterable[ElementString]) -> str:
    """Elements → transmitted form, with GS only where GS1 requires a separator.

    Raises ValueError for an AI GS1 does not define (a programming error).
    """
    pieces: list[str] = []
    needs_separator = False
    for element in elements:
        definition = ai_definition(element.ai)
        if definition is None:
            raise ValueError(f"unknown AI {element.ai!r}")
        if needs_separator:
            pieces.append(GS)
        pieces.append(element.ai + element.data)
        needs_separator = not definition.predefined_length
    return "".join(pieces)


def format_bracketed(elements: Iterable[ElementString]) -> str:
    """Elements → human-readable form `(01)09506000134352(10)ABC`."""
    return "".join(f"({e.ai}){e.data.replace('(', chr(92) + '(')}" for e in elements)
