"""Eye colours that read on any face: WCAG-style contrast between sclera, iris, lid line and
skin, with the lightness of a colour moved (its hue kept) when the given ones are too close.

Contrast ratio is WCAG's (L1 + 0.05) / (L2 + 0.05) on relative luminance. Guarantees, for any
skin tone and eye colour: iris vs sclera >= 3, lid line vs sclera >= 3, and the eye vs the
skin >= 3 by its whites on darker skin (sclera vs skin) or by its lid line on lighter skin.
"""

from __future__ import annotations

import numpy as np

MIN_CONTRAST = 3.0
SCLERA = (0.93, 0.92, 0.89)
"""Default eye whites (sRGB 0..1), lightened further on dark skin when needed."""
LID = (0.07, 0.045, 0.04)
"""Default lid line: a near-black brown."""
Color = tuple[float, float, float]


def _linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def luminance(color: Color) -> float:
    """WCAG relative luminance of an sRGB colour (0..1 channels)."""
    r, g, b = _linear(np.asarray(color, np.float64))
    return float(0.2126 * r + 0.7152 * g + 0.0722 * b)


def contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio of two sRGB colours, 1 (same) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def with_contrast(color: Color, against: Color, ratio: float = MIN_CONTRAST,
                  darker: bool = True) -> Color:
    """``color`` moved darker (towards black) or lighter (towards white) in linear light just
    far enough to reach ``ratio`` against ``against``; unchanged when it already does. Hue is
    kept (darkening scales, lightening mixes with white); the end of the range is the limit."""
    if contrast(color, against) >= ratio:
        return tuple(float(x) for x in color)  # type: ignore[return-value]
    lin = _linear(np.asarray(color, np.float64))
    lum, other = luminance(color), luminance(against)
    if darker:
        goal = max((other + 0.05) / ratio - 0.05, 0.0) * 0.995
        lin = lin * (goal / lum if lum > 0 else 0.0)
    else:
        goal = min(ratio * (other + 0.05) - 0.05, 1.0)
        t = 1.0 if lum >= 1 else min(1.0, (goal - lum) / (1 - lum) * 1.005)
        lin = lin + t * (1 - lin)
    return tuple(float(x) for x in _srgb(lin))  # type: ignore[return-value]


def eye_colors(skin: Color, iris: Color, sclera: Color = SCLERA,
               lid: Color = LID) -> tuple[Color, Color, Color]:
    """(sclera, iris, lid line) to paint for ``skin`` and the character's ``iris`` colour."""
    if contrast(sclera, skin) < MIN_CONTRAST and luminance(skin) < luminance(sclera):
        sclera = with_contrast(sclera, skin, darker=False)
    iris = with_contrast(iris, sclera)
    lid = with_contrast(lid, sclera)
    if contrast(sclera, skin) < MIN_CONTRAST:
        lid = with_contrast(lid, skin)
    return sclera, iris, lid
