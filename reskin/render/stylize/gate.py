"""Comparing re-stylized reference frames with the ones stored when a style was locked.

A style is a promise: the same render and the same style give the same look. A model, LoRA or
code change that moves the look is caught by re-stylizing a few fixed reference frames and
comparing them with the locked ones: structural similarity (SSIM) over the whole frame, plus
each cast member's colour histogram (masked by the instance pass), so a character whose colours
drift fails even when the structure holds. :func:`side_by_side` draws the report image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class GateThresholds:
    ssim: float = 0.97
    """Lowest SSIM (0..1) of a frame that still passes."""
    histogram: float = 0.08
    """Largest histogram distance (0..1: half the L1 between normalised histograms)."""


@dataclass(frozen=True)
class FrameVerdict:
    ssim: float
    histogram: float
    """Worst cast member's histogram distance."""
    passed: bool


def colour_histogram(img: np.ndarray, mask: np.ndarray, bins: int = 8) -> np.ndarray:
    """(bins**3,) normalised RGB histogram of ``img`` (h, w, 3) uint8 over ``mask`` (h, w)."""
    q = (img[mask].astype(np.int64) * bins) // 256
    idx = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]
    hist = np.bincount(idx, minlength=bins ** 3).astype(np.float64)
    return hist / max(hist.sum(), 1.0)


def compare_frame(locked: np.ndarray, now: np.ndarray, instance: np.ndarray,
                  thresholds: GateThresholds = GateThresholds()) -> FrameVerdict:
    """Verdict for one frame: ``locked``, ``now`` (h, w, 3) uint8, ``instance`` (h, w)."""
    from skimage.metrics import structural_similarity

    s = float(structural_similarity(locked, now, channel_axis=-1, data_range=255))
    worst = 0.0
    for k in np.unique(instance):
        if k == 0:
            continue
        m = instance == k
        d = 0.5 * float(np.abs(colour_histogram(locked, m) - colour_histogram(now, m)).sum())
        worst = max(worst, d)
    return FrameVerdict(s, worst, s >= thresholds.ssim and worst <= thresholds.histogram)


def side_by_side(locked: np.ndarray, now: np.ndarray, out: Path, labels: list[str]) -> Path:
    """Write rows of [locked | now | 4x difference] (each (n, h, w, 3) uint8) to ``out``."""
    from PIL import Image, ImageDraw

    rows = []
    for a, b in zip(locked, now, strict=True):
        diff = np.clip(np.abs(a.astype(np.int32) - b) * 4, 0, 255).astype(np.uint8)
        rows.append(np.concatenate([a, b, diff], 1))
    img = Image.fromarray(np.concatenate(rows, 0))
    draw = ImageDraw.Draw(img)
    h = locked.shape[1]
    for r, label in enumerate(labels):
        draw.text((3, r * h + 3), label, fill=(200, 0, 0))
    w = locked.shape[2]
    draw.text((3, img.height - 12), "locked", fill=(200, 0, 0))
    draw.text((w + 3, img.height - 12), "now", fill=(200, 0, 0))
    draw.text((2 * w + 3, img.height - 12), "difference x4", fill=(200, 0, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out)
    return out
