"""Colours as the YAML files give them."""

from __future__ import annotations

from reskin.core.fields import Fields


def parse_color(value: str, fields: Fields, key: str) -> tuple[float, float, float]:
    """'#rrggbb' -> (r, g, b) in 0..1 (sRGB)."""
    text = value.strip()
    if len(text) != 7 or text[0] != "#":
        fields.error(f"expected a colour like '#c0392b', got {value!r}", key)
    try:
        return tuple(int(text[i:i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]
    except ValueError:
        fields.error(f"expected a colour like '#c0392b', got {value!r}", key)
        raise
