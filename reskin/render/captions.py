"""Burned-in subtitles: lines drawn onto the frames with a CJK-capable font, in the safe area.

Vertical micro-dramas carry their subtitles in the picture. The text sits in the bottom third
above the band the players' own buttons cover, inside 5% side margins, white with a dark
outline so it reads over any shot; long lines wrap by measured width (CJK per character).
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reskin.core.errors import ReskinError

# Debian's CJK fonts (fonts-wqy-microhei, fonts-noto-cjk, fonts-wqy-zenhei), smallest first
KNOWN_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
MARGIN = 0.05
"""Side margins as a fraction of the frame's width."""
BOTTOM = 0.16
"""The band at the bottom kept clear (the players' captions bar and buttons), of the height."""
# characters that may not begin a line (Chinese/Japanese line-breaking rules)
_NO_START = set("，。！？、；：）》」』】〕…—,.!?;:)%")


@functools.cache
def _listed_cjk_fonts() -> tuple[str, ...]:
    """The Chinese-capable fonts fontconfig lists, asked once per process (a build asks for
    every episode's label)."""
    try:
        listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                                timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(sorted(p.strip().rstrip(":") for p in listed.splitlines() if p.strip()))


def find_cjk_font(font: str | Path = "auto", *, where: str | None = None) -> Path:
    """The font file for burned-in subtitles: ``font`` itself, or with ``"auto"`` the first
    Chinese-capable font fontconfig knows (else a known Debian path). None found is one line
    (``where``: the series.yaml file:line of ``subtitles.font``)."""
    if str(font) != "auto":
        path = Path(font)
        if not path.is_file():
            raise ReskinError("font file not found", file=where or path, field="subtitles.font")
        return path
    for path in [*KNOWN_CJK_FONTS, *_listed_cjk_fonts()]:
        if Path(path).is_file():
            return Path(path)
    raise ReskinError("burned-in subtitles need a CJK-capable font and none is installed "
                      "(apt-get install fonts-wqy-microhei, or set subtitles.font to a font "
                      "file)", file=where, field="subtitles.font")


def _tokens(text: str) -> list[str]:
    """Units a line may break between: words with their trailing space, single CJK chars."""
    out = []
    for m in re.finditer(r"\s+|[^\s\u2e80-\u9fff\uac00-\ud7af\uf900-\uffef]+|.", text):
        tok = m.group(0)
        if tok.isspace() and out:
            out[-1] += " "
        elif not tok.isspace():
            out.append(tok)
    return out


def wrap(text: str, measure, max_width: float) -> list[str]:
    """``text`` broken into lines no wider than ``max_width`` by ``measure(str) -> px``: at
    spaces for Latin text, between any two characters for CJK (never before closing
    punctuation); a word too long for a line is split by character."""
    lines: list[str] = []
    cur = ""
    for tok in _tokens(text):
        trial = cur + tok
        if not cur or measure(trial.rstrip()) <= max_width or tok[0] in _NO_START:
            cur = trial
        else:
            lines.append(cur.rstrip())
            cur = tok
        while measure(cur.rstrip()) > max_width and len(cur.rstrip()) > 1:
            # a single token wider than the line: cut it where it stops fitting
            k = len(cur)
            while k > 1 and measure(cur[:k].rstrip()) > max_width:
                k -= 1
            if k < len(cur) and cur[k] in _NO_START and k > 1:
                k -= 1
            lines.append(cur[:k].rstrip())
            cur = cur[k:]
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


@dataclass(frozen=True)
class Cue:
    start: float
    """Seconds on the video's timeline."""
    end: float
    text: str


class CaptionRenderer:
    """Draws cues onto (h, w, 3) uint8 frames of one size; each cue is typeset once."""

    def __init__(self, width: int, height: int, font_path: Path, size: float = 0.045):
        from PIL import ImageFont

        self.width, self.height = width, height
        self.px = max(8, round(size * min(width, height)))
        self.font = ImageFont.truetype(str(font_path), self.px)
        self._cache: dict[str, tuple[np.ndarray, np.ndarray, int, int]] = {}

    def lines(self, text: str) -> list[str]:
        return wrap(text, self.font.getlength, self.width * (1 - 2 * MARGIN))

    def layer(self, text: str) -> tuple[np.ndarray, np.ndarray, int, int]:
        """The typeset ``text``: RGB (h, w, 3) float, alpha (h, w, 1) float, and its top-left
        (x, y) in the frame: centred, its bottom on the safe band's edge."""
        if text in self._cache:
            return self._cache[text]
        from PIL import Image, ImageDraw

        lines = self.lines(text)
        stroke = max(1, round(self.px * 0.08))
        step = round(self.px * 1.25)
        w = round(self.width * (1 - 2 * MARGIN)) + 2 * stroke
        h = step * len(lines) + 2 * stroke + round(self.px * 0.3)
        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(img)
        for i, line in enumerate(lines):
            lw = self.font.getlength(line)
            draw.text(((w - lw) / 2, stroke + i * step), line, font=self.font,
                      fill=(255, 255, 255, 255), stroke_width=stroke,
                      stroke_fill=(16, 16, 16, 255))
        arr = np.asarray(img, dtype=np.float32) / 255
        x = (self.width - w) // 2
        # bottom on the safe band; a tall block grows upwards but stays in the bottom third
        y = max(round(self.height * (1 - BOTTOM)) - h, round(self.height * 2 / 3))
        y = min(y, self.height - h) if h <= self.height else 0
        out = (arr[..., :3], arr[..., 3:], x, y)
        self._cache[text] = out
        return out

    def draw(self, frame: np.ndarray, text: str) -> np.ndarray:
        """``frame`` (h, w, 3) uint8 with ``text`` burned in (a new array)."""
        rgb, alpha, x, y = self.layer(text)
        out = frame.copy()
        x0, y0 = max(x, 0), max(y, 0)
        h = min(rgb.shape[0], self.height - y0)
        w = min(rgb.shape[1], self.width - x0)
        a = alpha[:h, :w]
        region = out[y0:y0 + h, x0:x0 + w].astype(np.float32)  # only the text's box is blended
        blended = region * (1 - a) + rgb[:h, :w] * 255 * a
        out[y0:y0 + h, x0:x0 + w] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return out


def burner(cues: Sequence[Cue], fps: float, renderer: CaptionRenderer):
    """An ``overlay(frame index, frame) -> frame`` for :func:`reskin.render.outputs.write_mp4`
    that burns in the cue showing at each frame's time (the last to start wins)."""
    ordered = sorted(cues, key=lambda c: c.start)

    def overlay(i: int, frame: np.ndarray) -> np.ndarray:
        t = i / fps
        showing = [c for c in ordered if c.start <= t + 1e-9 and t < c.end - 1e-9]
        return renderer.draw(frame, showing[-1].text) if showing else frame

    return overlay
