"""The GS1 Application Identifier table: what data each AI carries and how it is checked.

Source: GS1 General Specifications section 3 (the AI table) and 7.8 (predefined lengths),
as machine-read in the GS1 Barcode Syntax Dictionary. Every AI is listed, not only the ones
a store uses: to find where one field ends in an element string without separators, the
decoder must know the length of every AI it meets, including ones it then ignores.

A format is a sequence of parts. `N6` is exactly six digits, `X..20` one to twenty CSET 82
characters, `[N4]` an optional last part. A `+check` suffix names a content check:
`csum` (GS1 mod-10 check digit), `date0` (YYMMDD, DD=00 allowed), `date` (YYMMDD), `time`
(hhmm). Finer checks of the syntax dictionary (ISO country codes, coupon grammars, GMN
check characters, latitude ranges) are not applied: they never decide a sale.
"""

from __future__ import annotations

import re
import string
from typing import Literal

import msgspec

Charset = Literal["N", "X", "Y", "Z"]
PartCheck = Literal["", "csum", "date0", "date", "time"]

# GS1 General Specifications 7.11: CSET 82 (most AIs), CSET 39 (AI 8010), CSET 64 (AI 8030).
CHARSETS: dict[Charset, frozenset[str]] = {
    "N": frozenset(string.digits),
    "X": frozenset(string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_"),
    "Y": frozenset(string.ascii_uppercase + string.digits + "#-/"),
    "Z": frozenset(string.ascii_letters + string.digits + "-_="),
}
CHARSET_NAMES: dict[Charset, str] = {
    "N": "digits",
    "X": "GS1 CSET 82 characters",
    "Y": "GS1 CSET 39 characters",
    "Z": "GS1 CSET 64 characters",
}

# GS1 General Specifications figure 7.8.5-2: AIs starting with these two digits have a
# predefined length and never need an FNC1 (GS) after them. Every other AI does, even
# fixed-length ones such as 7003, unless it ends the element string.
PREDEFINED_LENGTH_PREFIXES = frozenset(
    {"00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20"}
    | {"31", "32", "33", "34", "35", "36", "41"}
)


class FieldPart(msgspec.Struct, frozen=True, kw_only=True):
    """One component of an AI's data field, e.g. the N3 currency of AI 393n."""

    charset: Charset
    min_length: int
    max_length: int
    optional: bool = False
    check: PartCheck = ""


class AiDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """What one Application Identifier carries."""

    ai: str
    title: str
    parts: tuple[FieldPart, ...]
    is_key: bool = False  # a GS1 identification key: says *what* was scanned

    @property
    def predefined_length(self) -> bool:
        return self.ai[:2] in PREDEFINED_LENGTH_PREFIXES

    @property
    def fixed_length(self) -> int | None:
        """The data length when every part is mandatory and fixed, else None."""
        if any(p.optional or p.min_length != p.max_length for p in self.parts):
            return None
        return sum(p.max_length for p in self.parts)

    @property
    def min_length(self) -> int:
        return sum(p.min_length for p in self.parts if not p.optional)

    @property
    def max_length(self) -> int:
        return sum(p.max_length for p in self.parts)


# AI(s)     format                      key   title
_AI_TABLE = """
00          N18+csum                    key   SSCC
01          N14+csum                    key   GTIN
02          N14+csum                    key   CONTENT
10          X..20                             BATCH/LOT
11          N6+date0                          PROD DATE
12          N6+date0                          DUE DATE
13          N6+date0                          PACK DATE
15          N6+date0                          BEST BEFORE
16          N6+date0                          SELL BY
17          N6+date0                          USE BY
20          N2                                VARIANT
21          X..20                             SERIAL
22          X..20                             CPV
235         X..28                             TPX
240         X..30                             ADDITIONAL ID
241         X..30                             CUST. PART No.
242         N..6                              MTO VARIANT
243         X..20                             PCN
250         X..30                             SECONDARY SERIAL
251         X..30                             REF. TO SOURCE
253         N13+csum [X..17]            key   GDTI
254         X..20                             GLN EXTENSION
255         N13+csum [N..12]            key   GCN
30          N..8                              VAR. COUNT
37          N..8                              COUNT
3900-3909   N..15                             AMOUNT
3910-3919   N3 N..15                          AMOUNT (ISO)
3920-3929   N..15                             PRICE
3930-3939   N3 N..15                          PRICE (ISO)
3940-3943   N4                                PRCNT OFF
3950-3955   N6                                PRICE/UoM
400         X..30                             ORDER NUMBER
401         X..30                       key   GINC
402         N17+csum                    key   GSIN
403         X..30                             ROUTE
410-417     N13+csum                    key   GLN
420         X..20                             SHIP TO POST
421         N3 X..9                           SHIP TO POST (ISO)
422         N3                                ORIGIN
423         N..15                             COUNTRY - INITIAL PROCESS
424         N3                                COUNTRY - PROCESS
425         N..15                             COUNTRY - DISASSEMBLY
426         N3                                COUNTRY - FULL PROCESS
427         X..3                              ORIGIN SUBDIVISION
4300-4301   X..35                             SHIP TO NAME
4302-4306   X..70                             SHIP TO ADDRESS
4307        X2                                SHIP TO COUNTRY
4308        X..30                             SHIP TO PHONE
4309        N10 N10                           SHIP TO GEO
4310-4311   X..35                             RTN TO NAME
4312-4316   X..70                             RTN TO ADDRESS
4317        X2                                RTN TO COUNTRY
4318        X..20                             RTN TO POST
4319        X..30                             RTN TO PHONE
4320        X..35                             SRV DESCRIPTION
4321-4323   N1                                DELIVERY FLAG
4324-4325   N6+date0 N4+time                  DELIVERY DATE TIME
4326        N6+date                           REL DATE
4330-4333   N6 [X1]                           TEMPERATURE
7001        N13                               NSN
7002        X..30                             MEAT CUT
7003        N6+date N4+time                   EXPIRY TIME
7004        N..4                              ACTIVE POTENCY
7005        X..12                             CATCH AREA
7006        N6+date                           FIRST FREEZE DATE
7007        N6+date [N6+date]                 HARVEST DATE
7008        X..3                              AQUATIC SPECIES
7009        X..10                             FISHING GEAR TYPE
7010        X..2                              PROD METHOD
7011        N6+date [N4+time]                 TEST BY DATE
7020        X..20                             REFURB LOT
7021        X..20                             FUNC STAT
7022        X..20                             REV STAT
7023        X..30                       key   GIAI - ASSEMBLY
7030-7039   N3 X..27                          PROCESSOR
7040        N1 X1 X1 X1                       UIC+EXT
710-715     X..20                             NHRN
7230-7239   X2 X..28                          CERT
7240        X..20                             PROTOCOL
7241        N2                                AIDC MEDIA TYPE
7242        X..25                             VCN
8001        N4 N5 N3 N1 N1                    DIMENSIONS
8002        X..20                             CMT No.
8003        N1 N13+csum [X..16]         key   GRAI
8004        X..30                       key   GIAI
8005        N6                                PRICE PER UNIT
8006        N14+csum N4                 key   ITIP
8007        X..34                             IBAN
8008        N8 [N..4]                         PROD TIME
8009        X..50                             OPTSEN
8010        Y..30                       key   CPID
8011        N..12                             CPID SERIAL
8012        X..20                             VERSION
8013        X..25                       key   GMN
8017        N18+csum                    key   GSRN - PROVIDER
8018        N18+csum                    key   GSRN - RECIPIENT
8019        N..10                             SRIN
8020        X..25                             REF No.
8026        N14+csum N4                       ITIP CONTENT
8030        Z..90                             DIGSIG
8110        X..70                             COUPON
8111        N4                                POINTS
8112        X..70                             COUPON (PAPERLESS)
8200        X..70                             PRODUCT URL
90          X..30                             INTERNAL
91-99       X..90                             INTERNAL
"""

# Measures: AI 3xyn, six digits with n implied decimals, n = 0..5. One row per family.
_MEASURE_FAMILIES = """
310 NET WEIGHT (kg)    311 LENGTH (m)          312 WIDTH (m)          313 HEIGHT (m)
314 AREA (m2)          315 NET VOLUME (l)      316 NET VOLUME (m3)    320 NET WEIGHT (lb)
321 LENGTH (in)        322 LENGTH (ft)         323 LENGTH (yd)        324 WIDTH (in)
325 WIDTH (ft)         326 WIDTH (yd)          327 HEIGHT (in)        328 HEIGHT (ft)
329 HEIGHT (yd)        330 GROSS WEIGHT (kg)   331 LENGTH (m), log    332 WIDTH (m), log
333 HEIGHT (m), log    334 AREA (m2), log      335 VOLUME (l), log    336 VOLUME (m3), log
337 KG PER m2          340 GROSS WEIGHT (lb)   341 LENGTH (in), log   342 LENGTH (ft), log
343 LENGTH (yd), log   344 WIDTH (in), log     345 WIDTH (ft), log    346 WIDTH (yd), log
347 HEIGHT (in), log   348 HEIGHT (ft), log    349 HEIGHT (yd), log   350 AREA (in2)
351 AREA (ft2)         352 AREA (yd2)          353 AREA (in2), log    354 AREA (ft2), log
355 AREA (yd2), log    356 NET WEIGHT (t oz)   357 NET VOLUME (oz)    360 NET VOLUME (qt)
361 NET VOLUME (gal)   362 VOLUME (qt), log    363 VOLUME (gal), log  364 VOLUME (in3)
365 VOLUME (ft3)       366 VOLUME (yd3)        367 VOLUME (in3), log  368 VOLUME (ft3), log
369 VOLUME (yd3), log
"""

_PART = re.compile(r"^(\[)?([NXYZ])(\.\.)?(\d+)(?:\+(csum|date0|date|time))?(\])?$")


def _parse_part(token: str) -> FieldPart:
    match = _PART.match(token)
    if match is None or bool(match.group(1)) != bool(match.group(6)):
        raise ValueError(f"bad AI table part {token!r}")  # a typo in this file, not a scan
    opening, charset, dots, length, check, _ = match.groups()
    charset_name: Charset = charset  # type: ignore[assignment]  # the regex allows only NXYZ
    part_check: PartCheck = check or ""  # type: ignore[assignment]  # likewise
    return FieldPart(
        charset=charset_name,
        min_length=1 if dots else int(length),
        max_length=int(length),
        optional=bool(opening),
        check=part_check,
    )


def _expand(ai_range: str) -> list[str]:
    first, _, last = ai_range.partition("-")
    if not last:
        return [first]
    return [str(n).zfill(len(first)) for n in range(int(first), int(last) + 1)]


def _build_table() -> dict[str, AiDefinition]:
    table: dict[str, AiDefinition] = {}
    for line in _AI_TABLE.strip().splitlines():
        # Columns are separated by two or more spaces; parts of a format by one.
        ai_range, field_format, *flags, title = re.split(r"\s{2,}", line.strip())
        parts = tuple(_parse_part(token) for token in field_format.split())
        is_key = flags == ["key"]
        for ai in _expand(ai_range):
            table[ai] = AiDefinition(ai=ai, title=title, parts=parts, is_key=is_key)
    six_digits = (FieldPart(charset="N", min_length=6, max_length=6),)
    for family, title in re.findall(r"(\d{3}) (.+?)(?:\s{2,}|$)", _MEASURE_FAMILIES, re.M):
        for decimals in range(6):
            ai = f"{family}{decimals}"
            table[ai] = AiDefinition(ai=ai, title=title.strip(), parts=six_digits)
    return table


AI_TABLE: dict[str, AiDefinition] = _build_table()


def ai_definition(ai: str) -> AiDefinition | None:
    """The definition of an AI such as "01" or "3103", or None if GS1 defines no such AI."""
    return AI_TABLE.get(ai)


def match_ai(data: str, start: int = 0) -> AiDefinition | None:
    """The AI that `data` begins with at `start`. AIs are prefix-free: at most one fits."""
    for length in (2, 3, 4):
        definition = AI_TABLE.get(data[start : start + length])
        if definition is not None:
            return definition
    return None
