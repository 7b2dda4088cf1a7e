"""GS1 Digital Link URIs: element strings written as a web address, as QR codes carry them.

`https://example.com/shop/01/09506000134352/10/ABC?17=201231&3103=000195`
- any host and any path stem before the primary key (`/shop` here);
- the primary key as `/AI/value` (GTIN, SSCC, GLN, ...), then its key qualifiers as
  `/AI/value` in the order GS1 gives for that key (GTIN: 22, 10, 21; or 235);
- data attributes as `AI=value` query parameters; other parameters (linkType, ...) are
  for resolvers and ignored here.

Digital Link 1.0/1.1 also let a key or qualifier be named by a short name (`/gtin/`, `/lot/`,
`/ser/`); 1.2 deprecated them but old labels stay in circulation, so they are read. No
short name exists for data attributes in the standard; `exp` (AI 17) appears in GS1's own
early examples and is read too. Compressed Digital Link URIs are not supported.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import unquote, urlsplit

from protocol.gs1.element_string import MAX_SCAN_LENGTH, ElementString, check_elements
from protocol.gs1.errors import BarcodeError, BarcodeFault
from protocol.gs1.gtin import gtin14_or_fault

# Primary keys and, for each, the allowed sequences of key qualifiers (each optional,
# order fixed), after the GS1 Barcode Syntax Dictionary's `dlpkey` entries.
_QUALIFIER_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "00": (),
    "01": (("22", "10", "21"), ("235",)),
    "253": (),
    "255": (),
    "401": (),
    "402": (),
    "414": (("254",), ("7040",)),
    "415": (("8020",),),
    "417": (("7040",),),
    "8003": (),
    "8004": (("7040",),),
    "8006": (("22", "10", "21"),),
    "8010": (("8011",),),
    "8013": (),
    "8017": (("8019",),),
    "8018": (("8019",),),
}

# Digital Link 1.1 short names of primary keys and key qualifiers (case-sensitive).
_PATH_SHORT_NAMES = {
    "sscc": "00",
    "gtin": "01",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
    "gdti": "253",
    "glnx": "254",
    "gcn": "255",
    "ginc": "401",
    "gsin": "402",
    "gln": "414",
    "payTo": "415",
    "grai": "8003",
    "giai": "8004",
    "itip": "8006",
    "cpid": "8010",
    "cpsn": "8011",
    "gmn": "8013",
    "gsrnp": "8017",
    "gsrn": "8018",
    "srin": "8019",
    "refno": "8020",
}
_QUERY_SHORT_NAMES = {"exp": "17"}


def _path_ai(segment: str) -> str:
    return _PATH_SHORT_NAMES.get(segment, segment)


def _is_numeric_ai(name: str) -> bool:
    return name.isascii() and name.isdigit()


def _qualifiers_in_order(primary: str, qualifiers: list[str]) -> bool:
    for sequence in _QUALIFIER_PATHS[primary]:
        remaining = iter(sequence)
        # Each qualifier must appear in `sequence`, after the one before it.
        if all(any(q == allowed for allowed in remaining) for q in qualifiers):
            return True
    return not qualifiers


def _path_elements(segments: list[str]) -> list[ElementString]:
    for start, segment in enumerate(segments):
        primary = _path_ai(segment)
        if primary not in _QUALIFIER_PATHS or (len(segments) - start) % 2:
            continue
        pairs = [
            (_path_ai(segments[i]), unquote(segments[i + 1]))
            for i in range(start, len(segments), 2)
        ]
        qualifiers = [ai for ai, _ in pairs[1:]]
        if not _qualifiers_in_order(primary, qualifiers):
            allowed = " or ".join("/".join(s) for s in _QUALIFIER_PATHS[primary]) or "none"
            raise BarcodeFault(
                "bad_uri",
                f"after primary key ({primary}) the path has {qualifiers}; allowed in "
                f"order: {allowed}",
                primary,
            )
        if primary == "01":  # GTIN-8/12/13 may appear unpadded in a Digital Link path
            pairs[0] = ("01", gtin14_or_fault(pairs[0][1], ai="01"))
        return [ElementString(ai=ai, data=value) for ai, value in pairs]
    raise BarcodeFault("bad_uri", "no GS1 primary key (/01/, /00/, /414/, ...) in the URI path")


def _query_elements(query: str) -> list[ElementString]:
    elements: list[ElementString] = []
    # Split by hand: `+` is a legal GS1 character, not a space as form decoding would make it.
    for parameter in query.split("&"):
        name, separator, value = parameter.partition("=")
        name = _QUERY_SHORT_NAMES.get(unquote(name), unquote(name))
        if separator and _is_numeric_ai(name):
            elements.append(ElementString(ai=name, data=unquote(value)))
    return elements


def split_digital_link(uri: str, *, today: date) -> tuple[ElementString, ...]:
    """A GS1 Digital Link URI → validated elements (key, qualifiers, attributes).

    Raises BarcodeFault.
    """
    try:
        parts = urlsplit(uri.strip())
    except ValueError as error:  # e.g. an unbalanced "[" in the host
        raise BarcodeFault("bad_uri", f"not a URI: {error}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise BarcodeFault("bad_uri", "a GS1 Digital Link is an http(s) URI with a host")
    segments = parts.path.split("/")[1:]
    if segments and segments[-1] == "":
        segments.pop()  # a trailing slash
    elements = _path_elements(segments) + _query_elements(parts.query)
    return check_elements(elements, today=today)


def parse_digital_link(uri: str, *, today: date) -> tuple[ElementString, ...] | BarcodeError:
    """A GS1 Digital Link URI → its element strings, or why it is not one."""
    if len(uri) > MAX_SCAN_LENGTH:
        return BarcodeError(reason="too_long", message=f"{len(uri)} characters is no barcode")
    try:
        return split_digital_link(uri, today=today)
    except BarcodeFault as fault:
        return fault.error
