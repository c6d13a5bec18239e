"""Phoneme timings for a studio's recording of a line: forced alignment of the text to the audio.

Two aligners, then a fallback:

- ``dtw`` (any language, Mandarin included; the method of aeneas): the synthesizer speaks the
  same text, both signals become MFCC frames (5 ms hop, per-utterance normalised), dynamic time
  warping finds the monotonic path between them, and each synthesized phoneme's start is
  carried through the path onto the recording.
- ``pocketsphinx`` (English): its en-us acoustic model and cmudict align the words, giving
  ARPAbet phone times (10 ms frames). It may drop the last word on synthetic speech, and
  refuses words outside its dictionary: then the line goes to ``dtw``.
- ``energy``: when neither gives a usable alignment (the audio is not the text, or not speech),
  the jaw follows the loudness (:func:`.visemes.energy_track`) and a warning names the line.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

import numpy as np

from reskin.scenes.speech.synth import PAUSE, resample, synthesize
from reskin.scenes.speech.visemes import energy_track, viseme_track
from reskin.scenes.speech.voice import Voice

FEATURE_SR = 16000
HOP_S = 0.005
METHODS = ("auto", "dtw", "pocketsphinx")

# A DTW path's mean step cost relative to the mean cost of all frame pairs, above which the
# recording is not speech of this text. Measured on synthesized renditions: the same text in
# another voice, rate, 20 dB noise 0.04-0.48; another text 0.57-0.70; white noise 0.92-0.96.
# The bar sits high because a human voice is further from espeak's than espeak's voices are
# from one another: it rejects noise and non-speech, not every wrong text.
MAX_DTW_SCORE = 0.8
# A recording more than this many times longer or shorter than the synthesized text is not it.
MAX_DURATION_RATIO = 3.0


@dataclass(frozen=True)
class Alignment:
    """Phoneme timings of a recording: ``phonemes`` ``(symbol, start_s, end_s)`` in
    ``alphabet`` (``espeak`` for ``dtw``, ``arpabet`` for ``pocketsphinx``; empty for
    ``energy``), the ``method`` that produced them, and a ``warning`` naming the line when the
    requested method could not be used (None when it was)."""

    phonemes: list[tuple[str, float, float]]
    method: str
    warning: str | None = None
    alphabet: str = "espeak"
    cost: float = 0.0
    """The ``dtw`` warp score (0 a perfect match, about 1 no match)."""

    def track(self, audio: np.ndarray, sample_rate: int, fps: float, frames: int,
              start_s: float = 0.0) -> np.ndarray:
        """The line's viseme track ``(frames, 16)`` (the energy jaw when ``method`` is energy)."""
        if self.method == "energy":
            return energy_track(audio, sample_rate, fps, frames, start_s)
        return viseme_track(self.phonemes, fps, frames, self.alphabet, start_s)


def align(audio: np.ndarray, sample_rate: int, text: str, voice: Voice | None = None, *,
          method: str = "auto", where: str = "") -> Alignment:
    """Align ``text`` to ``audio`` ``(n,)`` float32 mono at ``sample_rate``.

    ``voice`` says the language (and is the reference voice of ``dtw``); ``method`` ``auto``
    uses ``dtw`` for every language: on bench/lipsync.py it meets the targets where
    pocketsphinx's phone times (10 ms frames, cmudict's phone set) agree on 72% of frames only.
    ``pocketsphinx`` (English) falls back to ``dtw`` when it cannot align. ``where`` names the
    line in warnings (``episodes/ep01.yaml:14``). Never raises for a bad recording: the
    result's ``method`` is then ``energy`` and ``warning`` says why.
    """
    voice = voice or Voice()
    if method not in METHODS:
        raise ValueError(f"unknown alignment method {method!r}")
    label = where or repr(text[:40])
    x = np.asarray(audio, dtype=np.float32)
    if x.size < sample_rate * 0.05 or float(np.abs(x).max(initial=0.0)) < 1e-4:
        return _energy(label, "the recording is silent or too short")
    problems = []
    if method == "pocketsphinx" and voice.language.startswith("en"):
        result = align_pocketsphinx(x, sample_rate, text)
        if result.warning is None:
            return result
        problems.append(result.warning)
    result = align_dtw(x, sample_rate, text, voice)
    if result.warning is None:
        if problems:
            result = Alignment(result.phonemes, result.method, f"{label}: pocketsphinx "
                               f"unusable ({problems[0]}); aligned by dtw", result.alphabet,
                               result.cost)
        return result
    problems.append(result.warning)
    return _energy(label, "; ".join(problems))


def _energy(label: str, why: str) -> Alignment:
    return Alignment([], "energy", f"{label}: no usable alignment ({why}); the jaw follows "
                     "the loudness instead")


def _features(x: np.ndarray, sr: int) -> np.ndarray:
    """MFCC frames ``(12, T)`` (c1..c12 of a 40-band mel spectrum, 25 ms windows) every
    :data:`HOP_S`, made robust to the recording's noise: the noise floor (each band's 10th
    percentile) is subtracted, and a floor 30 dB under the loudest frame makes silence look
    alike whatever hiss it holds. c0 (loudness) is left out."""
    import librosa
    import scipy.fft

    y = resample(x, sr, FEATURE_SR)
    hop = int(HOP_S * FEATURE_SR)
    mel = librosa.feature.melspectrogram(y=y, sr=FEATURE_SR, n_fft=512, hop_length=hop,
                                         win_length=400, n_mels=40, fmin=60, fmax=7600)
    floor = np.percentile(mel, 10, axis=1, keepdims=True)
    mel = np.maximum(mel - 1.5 * floor, 0.02 * mel)
    mel = mel + 1e-3 * mel.max()
    return scipy.fft.dct(librosa.power_to_db(mel), axis=0, type=2, norm="ortho")[1:13]


def align_dtw(audio: np.ndarray, sample_rate: int, text: str, voice: Voice) -> Alignment:
    """``dtw`` alignment: the synthesizer's phoneme times warped onto ``audio`` ``(n,)``."""
    import librosa
    from scipy.spatial.distance import cdist

    ref = synthesize(text, voice)
    dur_a = len(audio) / sample_rate
    ratio = dur_a / max(ref.duration, 1e-3)
    if not 1 / MAX_DURATION_RATIO <= ratio <= MAX_DURATION_RATIO:
        return Alignment([], "dtw", f"the recording lasts {dur_a:.2f} s where the text takes "
                         f"about {ref.duration:.2f} s")
    fr = _features(ref.pcm, ref.sample_rate)
    fa = _features(audio, sample_rate)
    dist = cdist(fr.T, fa.T)
    acc, path = librosa.sequence.dtw(C=dist, backtrack=True)
    path = path[::-1]
    # The path's mean step against the mean of all frame pairs: near 1 when nothing in the
    # recording matches the text better than anything else does.
    score = float(acc[-1, -1]) / len(path) / max(float(dist.mean()), 1e-9)
    if not np.isfinite(score) or score > MAX_DTW_SCORE:
        return Alignment([], "dtw", f"the recording does not sound like the text "
                         f"(warp score {score:.2f} > {MAX_DTW_SCORE})", cost=score)
    warp = _warp_function(path, fr.shape[1], fa.shape[1])
    phonemes = [(sym, warp(a), warp(b)) for sym, a, b in ref.phonemes]
    return Alignment(_contiguous(phonemes, dur_a), "dtw", None, "espeak", score)


def _warp_function(path: np.ndarray, n_ref: int, n_aud: int):
    """Reference time (s) -> recording time (s) along the DTW ``path`` ``(L, 2)``.

    Each reference frame maps to the middle of the recording frames matched to it; the result
    is made monotonic and interpolated between frame centres."""
    sums = np.bincount(path[:, 0], weights=path[:, 1], minlength=n_ref)
    counts = np.bincount(path[:, 0], minlength=n_ref)
    mid = sums / np.maximum(counts, 1)
    mid = np.maximum.accumulate(mid)
    ref_t = np.arange(n_ref) * HOP_S
    aud_t = mid * HOP_S

    def warp(t: float) -> float:
        return float(np.interp(t, ref_t, aud_t, left=0.0, right=(n_aud - 1) * HOP_S))

    return warp


def _contiguous(phonemes: list[tuple[str, float, float]], duration: float
                ) -> list[tuple[str, float, float]]:
    """Starts as given, each phoneme ending where the next starts, from 0 to ``duration``."""
    out: list[tuple[str, float, float]] = []
    starts = [max(0.0, min(duration, p[1])) for p in phonemes]
    if starts:
        starts[0] = 0.0
    for i, (sym, _a, _b) in enumerate(phonemes):
        end = starts[i + 1] if i + 1 < len(phonemes) else duration
        if end > starts[i]:
            out.append((sym, starts[i], end))
    return out


_PS_LOCK = threading.Lock()


@functools.cache
def _decoder():
    from pocketsphinx import Decoder

    return Decoder(samprate=FEATURE_SR, bestpath=False, loglevel="FATAL")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def align_pocketsphinx(audio: np.ndarray, sample_rate: int, text: str) -> Alignment:
    """``pocketsphinx`` alignment of English ``text``: ARPAbet phone times on ``audio``."""
    words = _words(text)
    if not words:
        return Alignment([], "pocketsphinx", "no English words to align", "arpabet")
    y = resample(audio, sample_rate, FEATURE_SR)
    # Digital silence (exact zeros, as synthesized or edited audio has) breaks pocketsphinx's
    # first pass; a fixed -60 dB dither does not change what it hears.
    y = y + np.random.default_rng(0).standard_normal(len(y)).astype(np.float32) * 1e-3
    pcm = (np.clip(y, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    with _PS_LOCK:
        dec = _decoder()
        missing = [w for w in words if dec.lookup_word(w) is None]
        if missing:
            return Alignment([], "pocketsphinx", f"words not in the English dictionary: "
                             f"{', '.join(missing[:5])}", "arpabet")
        try:
            dec.set_align_text(" ".join(words))
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            # The word segmentation must be read out before the phone pass can be set up.
            first = [seg.word for seg in dec.seg() or []]
            if not first:
                return Alignment([], "pocketsphinx", "no words found in the recording",
                                 "arpabet")
            dec.set_alignment()
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            aligned = dec.get_alignment()
            phones = [] if aligned is None else [
                (w.name, [(p.name, p.start, p.duration) for p in w]) for w in aligned]
        except RuntimeError as exc:
            return Alignment([], "pocketsphinx", f"pocketsphinx failed ({exc})", "arpabet")
    spoken = [w for w, _ in phones if not w.startswith("<") and w != "sil"]
    if len(spoken) < len(words):
        return Alignment([], "pocketsphinx", f"aligned {len(spoken)} of {len(words)} words",
                         "arpabet")
    frame = 0.01
    out = []
    for _w, plist in phones:
        for name, start, dur in plist:
            sym = "SIL" if name in ("SIL", "sil") else name
            out.append((sym, start * frame, (start + dur) * frame))
    return Alignment(_contiguous(out, len(y) / FEATURE_SR), "pocketsphinx", None, "arpabet")


__all__ = ["Alignment", "align", "align_dtw", "align_pocketsphinx", "METHODS", "PAUSE"]
