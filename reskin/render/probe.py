"""What a media file holds, as a player sees it, via the ffmpeg that imageio-ffmpeg ships.

There is no ffprobe here, so streams come from ``ffmpeg -i`` and each stream's duration from
decoding it (frames counted, samples counted): exact, and edit lists are honoured.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_STREAM = re.compile(r"Stream #0:(\d+)(?:\[\w+\])?(?:\((\w+)\))?: (Video|Audio|Subtitle|Data): "
                     r"(\w+)(.*)")


@dataclass(frozen=True)
class Stream:
    index: int
    kind: str
    """video, audio, subtitle or data."""
    codec: str
    language: str | None
    fps: float | None = None
    """video: frames per second."""
    sample_rate: int | None = None
    """audio: samples per second."""
    channels: str | None = None
    """audio: mono, stereo, ..."""


@dataclass(frozen=True)
class MediaInfo:
    streams: tuple[Stream, ...]
    duration: float | None
    """The container's duration in seconds."""

    def of(self, kind: str) -> list[Stream]:
        return [s for s in self.streams if s.kind == kind]


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def probe(path: str | Path) -> MediaInfo:
    """The streams and duration of ``path``; a file ffmpeg cannot open raises ValueError."""
    out = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True,
                         text=True, errors="replace").stderr
    if "Input #0" not in out:
        raise ValueError(f"{path}: not a media file ({out.strip().splitlines()[-1:]})")
    duration = None
    if m := re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", out):
        h, mi, s = m.groups()
        duration = int(h) * 3600 + int(mi) * 60 + float(s)
    streams = []
    for m in _STREAM.finditer(out):
        index, lang, kind, codec, rest = m.groups()
        fps = re.search(r"([\d.]+) fps", rest)
        rate = re.search(r"(\d+) Hz, (\w+)", rest)
        streams.append(Stream(
            index=int(index), kind=kind.lower(), codec=codec,
            language=lang if lang and lang != "und" else None,
            fps=float(fps.group(1)) if fps else None,
            sample_rate=int(rate.group(1)) if rate else None,
            channels=rate.group(2) if rate else None,
        ))
    return MediaInfo(streams=tuple(streams), duration=duration)


def video_frames(path: str | Path) -> int:
    """How many frames the first video stream of ``path`` decodes to."""
    out = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-f",
                          "null", "-progress", "pipe:1", "-"], capture_output=True, text=True,
                         check=True).stdout
    return int(re.findall(r"^frame=(\d+)", out, re.M)[-1])


def decode_audio(path: str | Path, sr: int = 48000) -> np.ndarray:
    """The first audio stream of ``path`` decoded to mono (n,) float32 at ``sr``."""
    raw = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
                          "-ar", str(sr), "-f", "f32le", "pipe:1"], capture_output=True,
                         check=True).stdout
    return np.frombuffer(raw, dtype="<f4").copy()


def decode_subtitles(path: str | Path) -> str:
    """The first subtitle stream of ``path`` as SubRip text."""
    return subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:s:0", "-f",
                           "srt", "pipe:1"], capture_output=True, text=True, check=True).stdout


def stream_durations(path: str | Path) -> dict[str, float]:
    """Seconds of the first video stream (frames / fps) and first audio stream (samples /
    rate) of ``path``, as decoded; a kind the file lacks is absent."""
    info = probe(path)
    out = {}
    if video := info.of("video"):
        out["video"] = video_frames(path) / (video[0].fps or 1.0)
    if audio := info.of("audio"):
        sr = audio[0].sample_rate or 48000
        out["audio"] = decode_audio(path, sr).size / sr
    return out
