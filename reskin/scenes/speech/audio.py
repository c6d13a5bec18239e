"""Reading a line's recording and writing WAVs: one-line errors naming the file, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reskin.core.atomic import atomic_path
from reskin.core.errors import ReskinError


def read_wav(path: str | Path, *, display: str | None = None) -> tuple[np.ndarray, int]:
    """The recording at ``path`` as float32 mono ``(n,)`` in -1..1 and its sample rate.

    A missing, unreadable or empty file raises :class:`ReskinError` naming ``display`` (the
    path as the user wrote it) or ``path``. Multi-channel audio is mixed down.
    """
    import soundfile

    shown = display or str(path)
    path = Path(path)
    if not path.is_file():
        raise ReskinError("audio file not found", file=shown)
    try:
        data, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        reason = str(exc).split(":")[-1].strip() or "unknown format"
        raise ReskinError(f"unreadable audio ({reason})", file=shown) from None
    if data.shape[0] == 0:
        raise ReskinError("audio file has no samples", file=shown)
    if not 4000 <= sr <= 384000:  # a lying header; resampling from it would explode
        raise ReskinError(f"audio sample rate {sr} Hz is not 4000..384000", file=shown)
    mono = data.mean(axis=1).astype(np.float32)
    if not np.all(np.isfinite(mono)):
        raise ReskinError("audio file holds non-finite samples", file=shown)
    return mono, int(sr)


def write_wav(path: str | Path, pcm: np.ndarray, sample_rate: int) -> Path:
    """Write float32 mono ``pcm`` ``(n,)`` as 16-bit PCM WAV, atomically (temp name + rename)."""
    import soundfile

    path = Path(path)
    clipped = np.clip(np.asarray(pcm, dtype=np.float32), -1.0, 1.0)
    with atomic_path(path) as tmp:
        soundfile.write(str(tmp), clipped, int(sample_rate), subtype="PCM_16", format="WAV")
    return path
