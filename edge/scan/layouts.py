"""The store's variable-measure EAN-13 layouts (prefix 2 labels printed by its scales).

Configured per store with `JXC_VM_LAYOUTS`: a JSON list of protocol.gs1.VariableMeasureLayout
objects, longest prefixes first, e.g.

    [{"prefix": "21", "item_digits": 5, "value_kind": "price_fen", "value_digits": 5,
      "value_decimals": 2}]

The default is the common Chinese scale layout: 2 + 1 flag digit + 5-digit PLU + 5-digit value:
flag 1 = price in fen-of-yuan (2 decimals), flag 2 = weight in grams (kg, 3 decimals).
"""

from __future__ import annotations

import msgspec

from protocol.gs1 import VariableMeasureLayout

DEFAULT_LAYOUTS: tuple[VariableMeasureLayout, ...] = (
    VariableMeasureLayout(
        prefix="21", item_digits=5, value_kind="price_fen", value_digits=5, value_decimals=2
    ),
    VariableMeasureLayout(
        prefix="22", item_digits=5, value_kind="weight_g", value_digits=5, value_decimals=3
    ),
)


def parse_layouts(text: str | None) -> tuple[VariableMeasureLayout, ...]:
    """Layouts from JSON; raises ValueError with a readable reason."""
    if text is None or not text.strip():
        return DEFAULT_LAYOUTS
    try:
        return msgspec.json.decode(text, type=tuple[VariableMeasureLayout, ...])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"JXC_VM_LAYOUTS: {exc}") from exc
