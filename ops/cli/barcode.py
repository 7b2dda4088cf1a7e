"""`jxc barcode decode DATA`: what a scanned code says, as a POS would understand it."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import click
import msgspec

from protocol.gs1 import (
    GS,
    SYMBOLOGY_NAMES,
    BarcodeError,
    ScanCode,
    VariableMeasureLayout,
    ai_definition,
    decode_scan,
)

# A shell cannot easily pass ASCII 29, so DATA may spell the FNC1 separator as text.
_GS_SPELLINGS = re.compile(r"<GS>|\\x1d", re.IGNORECASE)

_SYNTAX_NAMES = {
    "gtin": "plain GTIN",
    "variable_measure": "in-store variable-measure EAN-13",
    "element_string": "GS1 element string",
    "digital_link": "GS1 Digital Link URI",
}

BAD_CODE_EXIT = 2


def _parse_layout(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> list[VariableMeasureLayout]:
    layouts = []
    for value in values:
        try:
            layouts.append(msgspec.json.decode(value, type=VariableMeasureLayout))
        except msgspec.ValidationError as error:  # also reports layouts that do not fit
            raise click.BadParameter(str(error)) from None
        except msgspec.DecodeError as error:
            raise click.BadParameter(f"not JSON: {error}") from None
    return layouts


@click.group()
def barcode() -> None:
    """Understand barcodes: GTIN, GS1-128 / DataMatrix / QR data, Digital Link, in-store EAN-13."""


@barcode.command()
@click.argument("data")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Date that places two-digit years (default: this machine's date).",
)
@click.option(
    "--layout",
    "layouts",
    multiple=True,
    callback=_parse_layout,
    metavar="JSON",
    help='A store variable-measure layout, e.g. \'{"prefix": "21", "item_digits": 5, '
    '"value_kind": "price_fen", "value_digits": 5}\'. Repeatable; first match wins.',
)
def decode(
    data: str, as_json: bool, today: datetime | None, layouts: list[VariableMeasureLayout]
) -> None:
    """Decode DATA as scanned. Write the GS separator as <GS> or \\x1d.

    \b
    Examples:
      jxc barcode decode 6901234567892
      jxc barcode decode ']d201095060001343521720123110ABC<GS>21SER1'
      jxc barcode decode '(01)09506000134352(3103)001250(3922)1299' --json
      jxc barcode decode 'https://example.com/01/09506000134352/10/ABC?17=201231'

    Exits with status 2 when the code is not valid.
    """
    reference_day = today.date() if today is not None else date.today()
    result = decode_scan(_GS_SPELLINGS.sub(GS, data), today=reference_day, layouts=layouts)
    if isinstance(result, BarcodeError):
        _report_error(result, as_json)
        raise SystemExit(BAD_CODE_EXIT)
    if as_json:
        click.echo(msgspec.json.encode({"ok": True, **msgspec.to_builtins(result)}).decode())
    else:
        click.echo(_render(result))


def _report_error(error: BarcodeError, as_json: bool) -> None:
    if as_json:
        payload = {"ok": False, "reason": error.reason, "message": error.message}
        if error.ai is not None:
            payload["ai"] = error.ai
        click.echo(msgspec.json.encode(payload).decode())
    else:
        click.echo(f"invalid barcode ({error.reason}): {error.message}", err=True)


def _render(code: ScanCode) -> str:
    carrier = SYMBOLOGY_NAMES.get(code.symbology, "no symbology identifier")
    lines = [f"{_SYNTAX_NAMES[code.syntax]} ({carrier} {code.symbology})".replace(" )", ")"), ""]
    rows = [("AI", "title", "data")]
    for element in code.elements:
        definition = ai_definition(element.ai)
        rows.append((element.ai, definition.title if definition else "?", element.data))
    ai_width = max(len(r[0]) for r in rows)
    title_width = max(len(r[1]) for r in rows)
    lines += [f"  {a:<{ai_width}}  {t:<{title_width}}  {d!s}".rstrip() for a, t, d in rows]
    lines.append("")
    derived = {
        name: value
        for name, value in msgspec.structs.asdict(code).items()
        if name not in ("syntax", "symbology", "elements") and value not in (None, False)
    }
    name_width = max((len(name) for name in derived), default=0)
    lines += [f"  {name:<{name_width}}  {_show(value)}" for name, value in derived.items()]
    return "\n".join(lines)


def _show(value: object) -> str:
    if isinstance(value, time):
        return value.isoformat(timespec="minutes")
    return value.isoformat() if isinstance(value, date) else str(value)
