"""Deliverables from finished frames: MP4s and contact sheets, each written atomically."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from reskin.core.atomic import atomic_path


def write_mp4(frames: Sequence[Path], fps: int, path: Path, *, audio: np.ndarray | None = None,
              subtitles: str | None = None,
              overlay: Callable[[int, np.ndarray], np.ndarray] | None = None,
              metadata: Mapping[str, str] | None = None) -> None:
    """Encode PNG ``frames`` to an H.264 MP4 (yuv420p, plays everywhere) at ``path``.

    audio     : (n,) float32 mono PCM at 48 kHz, muxed as AAC; padded with silence or trimmed
                to exactly len(frames) / fps seconds so both streams end on the last frame.
                Pass zeros for a silent track; None writes video only.
    subtitles : SubRip text embedded as a mov_text track (players can switch it on).
    overlay   : (frame index, (h, w, 3) uint8) -> (h, w, 3) uint8, e.g. burned-in captions.
    metadata  : container tags (name -> text), written as QuickTime metadata items (any name,
                e.g. the AIGC label of :mod:`reskin.render.aigc_meta`).
    """
    import shutil
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent))
    try:
        video = work / "video.mp4"
        _encode_video(frames, fps, video, overlay)
        if audio is None and not subtitles and not metadata:
            with atomic_path(path) as tmp:
                video.replace(tmp)
            return
        cmd = [_ffmpeg(), "-v", "error", "-y", "-i", str(video)]
        maps = ["-map", "0:v:0"]
        codecs = ["-c:v", "copy"]
        if audio is not None:
            from reskin.render.audio import SR

            n = round(len(frames) * SR / fps)
            pcm = np.zeros(n, dtype="<f4")
            a = np.asarray(audio, dtype=np.float32).reshape(-1)[:n]
            pcm[:a.size] = np.clip(a, -1.0, 1.0)
            (work / "audio.f32").write_bytes(pcm.tobytes())
            cmd += ["-f", "f32le", "-ar", str(SR), "-ac", "1", "-i", str(work / "audio.f32")]
            maps += ["-map", f"{len(maps) // 2}:a:0"]
            codecs += ["-c:a", "aac", "-b:a", "160k", "-ar", str(SR)]
        if subtitles:
            (work / "subs.srt").write_text(subtitles, encoding="utf-8")
            cmd += ["-f", "srt", "-i", str(work / "subs.srt")]
            maps += ["-map", f"{len(maps) // 2}:s:0"]
            codecs += ["-c:s", "mov_text"]
        tags = [a for k, v in (metadata or {}).items() for a in ("-metadata", f"{k}={v}")]
        flags = "+faststart+use_metadata_tags" if metadata else "+faststart"
        with atomic_path(path) as tmp:
            # -t: a cue running past the last frame must not lengthen the file
            end = ["-t", f"{len(frames) / fps:.6f}", "-movflags", flags, "-f", "mp4"]
            done = subprocess.run(cmd + maps + codecs + tags + end + [str(tmp)],
                                  capture_output=True,
                                  text=True)
            if done.returncode:
                raise RuntimeError(f"ffmpeg could not mux {path.name}: "
                                   f"{done.stderr.strip()[-400:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _encode_video(frames: Sequence[Path], fps: int, path: Path,
                  overlay: Callable[[int, np.ndarray], np.ndarray] | None) -> None:
    import imageio.v2 as iio
    import imageio_ffmpeg

    first = iio.imread(frames[0])
    h, w = first.shape[:2]
    writer = imageio_ffmpeg.write_frames(
        str(path), (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv420p",
        macro_block_size=2, quality=None, ffmpeg_log_level="error",
        output_params=["-crf", "20", "-preset", "veryfast"],
    )
    writer.send(None)
    for i, f in enumerate(frames):
        img = np.ascontiguousarray(iio.imread(f)[..., :3])
        if overlay is not None:
            img = np.ascontiguousarray(overlay(i, img))
        writer.send(img)
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
