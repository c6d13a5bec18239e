"""Dialogue lines -> SubRip (.srt) subtitles on the episode's timeline."""

from __future__ import annotations

from collections.abc import Iterable


def _stamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def to_srt(lines: Iterable[tuple[float, float, str, str]]) -> str:
    """``lines``: (start s, duration s, speaker, text) on the episode timeline, any order."""
    out = []
    for n, (start, duration, speaker, text) in enumerate(sorted(lines), start=1):
        out.append(f"{n}\n{_stamp(start)} --> {_stamp(start + duration)}\n"
                   f"{speaker.upper()}: {text}\n")
    return "\n".join(out)
