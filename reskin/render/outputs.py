"""Deliverables from finished frames: MP4s and contact sheets, each written atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reskin.core.atomic import atomic_path


def write_mp4(frames: Sequence[Path], fps: int, path: Path) -> None:
    """Encode PNG ``frames`` to an H.264 MP4 (yuv420p, plays everywhere) at ``path``."""
    import imageio.v2 as iio
    import imageio_ffmpeg

    first = iio.imread(frames[0])
    h, w = first.shape[:2]
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv420p",
            macro_block_size=2, quality=None, ffmpeg_log_level="error",
            output_params=["-crf", "20", "-preset", "veryfast"],
        )
        writer.send(None)
        for f in frames:
            img = iio.imread(f)[..., :3]
            writer.send(np.ascontiguousarray(img))
        writer.close()


def contact_sheet(
    rows: Sequence[tuple[str, Sequence[Path]]], path: Path, *, title: str, thumb_h: int = 320
) -> None:
    """One row per shot (label, frames to show), under a title; written as PNG at ``path``."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    thumbs = []
    for label, frames in rows:
        imgs = []
        for f in frames:
            im = Image.open(f).convert("RGB")
            scale = thumb_h / im.height
            imgs.append(im.resize((max(1, round(im.width * scale)), thumb_h), Image.LANCZOS))
        thumbs.append((label, imgs))
    pad, label_h, title_h = 8, 18, 26
    width = max(sum(i.width + pad for i in imgs) + pad for _, imgs in thumbs)
    height = title_h + sum(label_h + thumb_h + pad for _ in thumbs) + pad
    sheet = Image.new("RGB", (max(width, 240), height), (32, 32, 36))
    draw = ImageDraw.Draw(sheet)
    draw.text((pad, 6), title, fill=(240, 240, 240), font=font)
    y = title_h
    for label, imgs in thumbs:
        draw.text((pad, y + 2), label, fill=(200, 200, 200), font=font)
        x = pad
        for im in imgs:
            sheet.paste(im, (x, y + label_h))
            x += im.width + pad
        y += label_h + thumb_h + pad
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")


def pick_frames(frames: Sequence[Path], n: int = 4) -> list[Path]:
    """Up to ``n`` frames spread evenly over a shot (first and last included)."""
    if len(frames) <= n:
        return list(frames)
    idx = np.linspace(0, len(frames) - 1, n).round().astype(int)
    return [frames[i] for i in idx]
