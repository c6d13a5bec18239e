"""The explicit AI-content label: a visible notice drawn onto a video's opening frames.

GB 45438-2025 asks video to carry a prompt on its opening picture for at least 2 s, its text
at least 5% of the frame's shorter side tall. The notice is typeset once (white on a dark,
slightly translucent plate, so it reads over any shot) and placed inside the vertical frame's
safe area: clear of the top band the players' title bar covers, of the bottom band their
captions and buttons cover, and of the right column their like/share buttons use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Overlay = Callable[[int, np.ndarray], np.ndarray]
"""(frame index, (h, w, 3) uint8) -> (h, w, 3) uint8, as :func:`write_mp4` takes."""

SAFE_TOP = 0.10
"""Band at the top kept clear (platform title bar, search), as a fraction of the height."""
SAFE_BOTTOM = 0.16
"""Band at the bottom kept clear (captions bar, buttons), as in burned-in subtitles."""
SAFE_SIDE = 0.05
"""Side margins, of the width."""
SAFE_RIGHT_PORTRAIT = 0.15
"""Right margin of a portrait frame, of the width: the players' button column."""


@dataclass(frozen=True)
class LabelBox:
    """Where a typeset label sits: its top-left (x, y) and size in pixels."""

    x: int
    y: int
    w: int
    h: int


def safe_area(width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) pixel bounds of the safe area of a ``width`` x ``height``
    frame."""
    right = SAFE_RIGHT_PORTRAIT if height > width else SAFE_SIDE
    return (round(width * SAFE_SIDE), round(height * SAFE_TOP),
            width - round(width * right), height - round(height * SAFE_BOTTOM))


def min_text_px(width: int, height: int, size: float) -> int:
    """The least ink height in pixels a label of ``size`` (fraction of the shorter side) may
    have."""
    return math.ceil(size * min(width, height))


class LabelRenderer:
    """Typesets ``text`` so its ink is at least ``size`` of the frame's shorter side tall and
    draws it at ``position`` (see :data:`reskin.scenes.series.LABEL_POSITIONS`)."""

    def __init__(self, width: int, height: int, text: str, font_path: Path, size: float = 0.05):
        from PIL import ImageFont

        self.width, self.height, self.text = width, height, text
        target = min_text_px(width, height, size)
        px = max(6, target)
        while True:  # grow the font until the glyphs as seen (not the em box) are tall enough
            font = ImageFont.truetype(str(font_path), px)
            self._rgb, self._alpha = _typeset(font, text)
            seen = (self._rgb * self._alpha).min(axis=2)  # over black: the plate's worst case
            rows = np.nonzero(seen.max(axis=1) >= 128)[0]
            self.ink_height = int(rows[-1] - rows[0] + 1) if rows.size else 0
            if self.ink_height >= target or px > 4 * target + 8:
                break
            px += 1

    def box(self, position: str) -> LabelBox:
        """The label's box at ``position``, inside the safe area (clamped to the frame when
        the frame is too small for the margins)."""
        h, w = self._alpha.shape[:2]
        left, top, right, bottom = safe_area(self.width, self.height)
        vert, _, horiz = position.partition("-")
        x = {"left": left, "right": right - w}.get(horiz, (left + right - w) // 2)
        y = top if vert == "top" else bottom - h
        x = min(max(x, 0), max(self.width - w, 0))
        y = min(max(y, 0), max(self.height - h, 0))
        return LabelBox(x, y, min(w, self.width), min(h, self.height))

    def draw(self, frame: np.ndarray, position: str) -> np.ndarray:
        """``frame`` (h, w, 3) uint8 with the label blended in at ``position`` (a new array)."""
        b = self.box(position)
        out = frame.copy()
        a = self._alpha[:b.h, :b.w]
        region = out[b.y:b.y + b.h, b.x:b.x + b.w].astype(np.float32)
        blended = region * (1 - a) + self._rgb[:b.h, :b.w] * a
        out[b.y:b.y + b.h, b.x:b.x + b.w] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return out


def _typeset(font, text: str) -> tuple[np.ndarray, np.ndarray]:
    """``text`` in white on the dark translucent plate: RGB (h, w, 3) float 0..255 and alpha
    (h, w, 1) float 0..1."""
    from PIL import Image, ImageDraw

    left, top, right, bottom = font.getbbox(text)
    pad = max(2, round((bottom - top) * 0.3))
    img = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (16, 16, 20, 170))
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font,
                             fill=(255, 255, 255, 255))
    arr = np.asarray(img, dtype=np.float32) / 255
    return arr[..., :3] * 255, arr[..., 3:]


def label_overlay(renderer: LabelRenderer, fps: float, *, seconds: float = 2.0,
                  position: str = "top-left", corner_mark: bool = False,
                  mark_position: str = "top-left") -> Overlay:
    """An overlay drawing the notice on frames shown in the first ``seconds`` (every frame
    that starts before then), and, with ``corner_mark``, the mark on every later frame."""
    opening = math.ceil(seconds * fps - 1e-9)

    def overlay(i: int, frame: np.ndarray) -> np.ndarray:
        if i < opening:
            return renderer.draw(frame, position)
        return renderer.draw(frame, mark_position) if corner_mark else frame

    return overlay


def chain(*overlays: Overlay | None) -> Overlay | None:
    """One overlay applying ``overlays`` in order (None entries skipped); None if all are."""
    todo = [o for o in overlays if o is not None]
    if not todo:
        return None
    if len(todo) == 1:
        return todo[0]

    def overlay(i: int, frame: np.ndarray) -> np.ndarray:
        for o in todo:
            frame = o(i, frame)
        return frame

    return overlay
