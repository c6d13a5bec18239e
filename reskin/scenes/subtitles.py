"""Dialogue lines -> SubRip (.srt) subtitles on the episode's timeline."""

from __future__ import annotations

from collections.abc import Iterable


def timestamp(seconds: float, sep: str = ",") -> str:
    """``HH:MM:SS<sep>mmm``, to the millisecond: SubRip's (``sep=","``) and WebVTT's (".")."""
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(lines: Iterable[tuple[float, float, str, str]]) -> str:
    """``lines``: (start s, duration s, speaker, text) on the episode timeline, any order."""
    out = []
    for n, (start, duration, speaker, text) in enumerate(sorted(lines), start=1):
        out.append(f"{n}\n{timestamp(start)} --> {timestamp(start + duration)}\n"
                   f"{speaker.upper()}: {text}\n")
    return "\n".join(out)
