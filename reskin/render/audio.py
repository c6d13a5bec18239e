"""An episode's sound: dialogue stems per shot, music and ambience beds, ducking, loudness.

Everything is mono float32 PCM at :data:`SR` (48 kHz, what AAC in an MP4 carries). Pure
functions on arrays, except the two that read and write files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reskin.core.errors import ReskinError

SR = 48000
"""The sample rate of every stem and mix."""
PEAK_DBTP = -1.0
"""True-peak ceiling of the final mix (the streaming platforms' usual limit)."""
_CONTROL_HZ = 200
"""Rate at which the ducking gain is computed (5 ms steps), then interpolated per sample."""


MIN_RATE, MAX_RATE = 4000, 384000  # sample rates a real recording has


def to_rate(pcm: np.ndarray, sr: int, target: int = SR) -> np.ndarray:
    """``pcm`` (n,) or (n, channels) at ``sr`` -> mono (m,) float32 at ``target``."""
    from math import gcd

    x = np.asarray(pcm, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    x = np.nan_to_num(x.reshape(-1), nan=0.0, posinf=0.0, neginf=0.0)
    if sr == target or x.size == 0:
        return x.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = gcd(int(sr), int(target))
    return resample_poly(x, target // g, int(sr) // g).astype(np.float32)


def place(stems: Sequence[tuple[float, np.ndarray]], n: int) -> np.ndarray:
    """Sum ``stems`` (start s, (m,) PCM at :data:`SR`) into (n,) samples; what falls outside
    the timeline is cut off."""
    out = np.zeros(n, dtype=np.float32)
    for start, pcm in stems:
        a = int(round(start * SR))
        pcm = np.asarray(pcm, dtype=np.float32).reshape(-1)
        lo, hi = max(a, 0), min(a + pcm.size, n)
        if hi > lo:
            out[lo:hi] += pcm[lo - a:hi - a]
    return out


def n_samples(duration_s: float) -> int:
    return max(0, int(round(duration_s * SR)))


def mix_shot(lines: Sequence[tuple[float, np.ndarray, int]], duration_s: float,
             sr: int = SR) -> np.ndarray:
    """A shot's dialogue stem: each line (start s in the shot, (m,) PCM, its rate) resampled to
    ``sr`` and placed at its time; (round(duration_s * sr),) float32 within [-1, 1]."""
    if sr != SR:
        raise ValueError(f"stems are mixed at {SR} Hz")
    out = place([(start, to_rate(pcm, rate)) for start, pcm, rate in lines],
                n_samples(duration_s))
    # overlapping lines can sum past full scale; clip rather than wrap around in the WAV
    return np.clip(out, -1.0, 1.0)


def fit_bed(bed: np.ndarray, n: int, crossfade_s: float = 0.05, fade_out_s: float = 0.5
            ) -> np.ndarray:
    """A music/ambience bed (m,) looped (with a short crossfade at each seam) or trimmed to
    (n,) samples, faded in and out so that it neither clicks on nor stops dead."""
    bed = np.asarray(bed, dtype=np.float32)
    if n == 0 or bed.size == 0:
        return np.zeros(n, dtype=np.float32)
    xf = min(int(crossfade_s * SR), bed.size // 4)
    out = bed[:n].copy()
    while out.size < n:
        if xf:
            ramp = np.linspace(0.0, 1.0, xf, dtype=np.float32)
            # equal-power crossfade: the seam keeps its loudness
            out[-xf:] = out[-xf:] * np.cos(ramp * np.pi / 2) + bed[:xf] * np.sin(ramp * np.pi / 2)
        out = np.concatenate([out, bed[xf:]])[:n]
    fin = min(int(0.02 * SR), n)
    out[:fin] *= np.linspace(0.0, 1.0, fin, dtype=np.float32)
    fout = min(int(fade_out_s * SR), n // 2)
    if fout:
        out[-fout:] *= np.linspace(1.0, 0.0, fout, dtype=np.float32)
    return out


def presence(dialogue: np.ndarray, threshold_db: float = -45.0) -> np.ndarray:
    """(k,) bool at :data:`_CONTROL_HZ`: whether each 5 ms step of ``dialogue`` has speech."""
    hop = SR // _CONTROL_HZ
    k = -(-dialogue.size // hop)
    x = np.zeros(k * hop, dtype=np.float32)
    x[:dialogue.size] = dialogue
    rms = np.sqrt(np.mean(x.reshape(k, hop).astype(np.float64) ** 2, axis=1))
    on = rms > 10 ** (threshold_db / 20)
    # bridge the gaps between words (up to 300 ms) so the bed does not pump within a line
    from scipy.ndimage import binary_closing

    bridge = int(0.3 * _CONTROL_HZ)
    if on.any() and bridge:
        padded = np.pad(on, bridge)
        on = binary_closing(padded, np.ones(bridge, bool))[bridge:-bridge]
    return on


def duck_gain(dialogue: np.ndarray, duck_db: float = -12.0, attack_s: float = 0.08,
              release_s: float = 0.4) -> np.ndarray:
    """(n,) linear gain for the beds: ``duck_db`` while ``dialogue`` (n,) speaks, 1 elsewhere.

    The envelope falls over ``attack_s`` starting that long before a line (offline, so it can
    look ahead: the first syllable is never masked) and recovers over ``release_s`` after it.
    """
    n = dialogue.size
    if n == 0:
        return np.ones(0, dtype=np.float32)
    on = presence(dialogue)
    lead = int(attack_s * _CONTROL_HZ)
    if lead:
        ahead = np.zeros_like(on)
        ahead[:-lead or None] = on[lead:]
        on = on | ahead
    target = np.where(on, duck_db, 0.0)
    a_down = 1 - np.exp(-1 / max(attack_s * _CONTROL_HZ / 3, 1e-6))
    a_up = 1 - np.exp(-1 / max(release_s * _CONTROL_HZ / 3, 1e-6))
    env = np.empty_like(target)
    g = 0.0
    for i, t in enumerate(target):  # asymmetric one-pole in dB; a few thousand steps
        g += (t - g) * (a_down if t < g else a_up)
        env[i] = g
    hop = SR // _CONTROL_HZ
    t_ctrl = (np.arange(env.size) + 0.5) * hop
    db = np.interp(np.arange(n), t_ctrl, env)
    return (10 ** (db / 20)).astype(np.float32)


def loudness(pcm: np.ndarray) -> float:
    """BS.1770 integrated loudness in LUFS of (n,) PCM at :data:`SR`; -inf for silence."""
    import pyloudnorm

    x = np.asarray(pcm, dtype=np.float64)
    block = int(0.4 * SR)
    if x.size < block:  # the gated measure needs one 400 ms block
        x = np.pad(x, (0, block - x.size))
    if not np.any(np.abs(x) > 1e-7):
        return float("-inf")
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(SR).integrated_loudness(x))


def true_peak(pcm: np.ndarray) -> float:
    """Peak of (n,) PCM after 4x oversampling (BS.1770's true-peak estimate), linear."""
    from scipy.signal import resample_poly

    if pcm.size == 0:
        return 0.0
    return float(np.max(np.abs(resample_poly(np.asarray(pcm, np.float64), 4, 1))))


def limit(pcm: np.ndarray, ceiling_db: float = PEAK_DBTP, window_s: float = 0.005
          ) -> np.ndarray:
    """A look-ahead peak limiter: (n,) PCM whose true peak stays under ``ceiling_db`` dBTP.

    The gain wanted per sample is min-filtered over two windows then box-averaged over one,
    so the smooth gain is never above what any sample within reach needs (no overshoot, no
    clicks); quiet passages are untouched.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d
    from scipy.signal import resample_poly

    x = np.asarray(pcm, dtype=np.float64)
    ceiling = 10 ** (ceiling_db / 20) * 0.995  # margin for the peak between 4x samples
    if x.size == 0:
        return x.astype(np.float32)
    over = np.abs(resample_poly(x, 4, 1)).reshape(-1, 4).max(axis=1)[: x.size]
    need = np.minimum(1.0, ceiling / np.maximum(over, 1e-12))
    if need.min() >= 1.0:
        return x.astype(np.float32)
    w = max(int(window_s * SR), 1)
    gain = uniform_filter1d(minimum_filter1d(need, 2 * w + 1, mode="nearest"), w + 1,
                            mode="nearest")
    return (x * np.minimum(gain, need)).astype(np.float32)


def normalize(pcm: np.ndarray, target_lufs: float = -14.0, ceiling_db: float = PEAK_DBTP
              ) -> np.ndarray:
    """(n,) PCM at ``target_lufs`` integrated with its true peak under ``ceiling_db``.

    Limiting takes a little loudness away, so gain and limiter alternate until the measure is
    within 0.1 LU (or the limiter is doing all it reasonably can). Silence stays silence.
    """
    x = np.asarray(pcm, dtype=np.float32)
    now = loudness(x)
    if not np.isfinite(now):
        return x.copy()
    gain = 10 ** ((target_lufs - now) / 20)
    y = x
    for _ in range(4):
        y = limit(x * gain, ceiling_db)
        now = loudness(y)
        if abs(now - target_lufs) < 0.1:
            break
        gain *= 10 ** ((target_lufs - now) / 20)
    return y


def episode_mix(stems: Sequence[tuple[float, np.ndarray]], duration_s: float,
                music: np.ndarray | None = None, ambience: np.ndarray | None = None, *,
                duck_db: float = -12.0, target_lufs: float = -14.0,
                music_lu: float = -10.0, ambience_lu: float = -18.0) -> np.ndarray:
    """The episode's final mix, (round(duration_s * SR),) float32.

    stems    : (start s on the episode timeline, (m,) dialogue PCM at :data:`SR`) per shot
    music, ambience : (m,) beds at :data:`SR`, looped or trimmed to the episode and ducked by
               ``duck_db`` under the dialogue. Beds are levelled relative to the dialogue
               (``music_lu``/``ambience_lu`` below it; to the target when there is none) so
               that a mastered song does not bury the lines.
    The sum is normalised to ``target_lufs`` (BS.1770 integrated) under a -1 dBTP ceiling.
    """
    n = n_samples(duration_s)
    dialogue = place(stems, n)
    speech = loudness(dialogue)
    ref = speech if np.isfinite(speech) else target_lufs
    mix = dialogue.astype(np.float32)
    beds = [(b, lu) for b, lu in ((music, music_lu), (ambience, ambience_lu)) if b is not None]
    if beds:
        gain = duck_gain(dialogue, duck_db) if np.isfinite(speech) else np.ones(n, np.float32)
        for bed, lu in beds:
            fitted = fit_bed(bed, n)
            level = loudness(fitted)
            if np.isfinite(level):
                mix = mix + fitted * np.float32(10 ** ((ref + lu - level) / 20)) * gain
    return normalize(mix, target_lufs)


def read_audio(path: Path, *, field: str | None = None, where: str | None = None) -> np.ndarray:
    """A WAV/FLAC/OGG file as mono (n,) float32 at :data:`SR`. A missing or unreadable file is
    one ReskinError naming the file and ``field`` (``where``: the file:line that names it)."""
    import soundfile

    path = Path(path)
    named = f" (named by {where}: {field})" if where and field else ""
    if not path.is_file():
        raise ReskinError(f"audio file not found{named}", file=path, field=None if named
                          else field)
    try:
        data, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReskinError(f"cannot read audio ({reason}){named}", file=path,
                          field=None if named else field) from None
    if not MIN_RATE <= sr <= MAX_RATE:  # a lying header: resampling from it would explode
        raise ReskinError(f"audio sample rate {sr} Hz is not {MIN_RATE}..{MAX_RATE}{named}",
                          file=path, field=None if named else field)
    if not np.isfinite(data).all():
        raise ReskinError(f"audio holds non-finite samples{named}", file=path,
                          field=None if named else field)
    return to_rate(data, sr)


def write_wav(pcm: np.ndarray, path: Path) -> None:
    """(n,) float32 PCM at :data:`SR` as a 24-bit mono WAV, written atomically."""
    import soundfile

    from reskin.core.atomic import atomic_path

    with atomic_path(path) as tmp:
        soundfile.write(str(tmp), np.clip(np.asarray(pcm, np.float32), -1, 1), SR,
                        subtype="PCM_24", format="WAV")
