"""Text to speech with exact phoneme timings: espeak-ng's PCM and its own phoneme events.

The engine says, for every phoneme it speaks, the sample it starts at; those times are the
truth the lip sync follows for built-in voices (and the reference the aligner warps onto a
studio's recording). Deterministic: the same text and voice give the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from reskin.core.errors import ReskinError
from reskin.scenes.speech.voice import Voice


def _engine_version() -> str:
    try:
        loader = version("espeakng-loader")
    except PackageNotFoundError:  # pragma: no cover - a dependency of the package
        loader = "missing"
    return f"espeak-ng/espeakng-loader-{loader}/synth-1"


ENGINE_VERSION: str = _engine_version()
"""Part of every cache key of synthesized audio: a new engine or timing rule re-synthesizes."""

PAUSE = "_"
"""The symbol of a pause between words or lines (espeak's ``_``, ``_:``, ``_|`` merged)."""


@dataclass(frozen=True)
class Speech:
    """Synthesized speech: float32 mono ``pcm`` ``(n,)`` at ``sample_rate``, and ``phonemes``
    as ``(symbol, start_s, end_s)`` in espeak-ng's mnemonics, contiguous from 0 to the end of
    the audio (pauses are :data:`PAUSE`). ``words`` holds each word's start in seconds."""

    pcm: np.ndarray
    sample_rate: int
    phonemes: list[tuple[str, float, float]]
    text: str = ""
    voice: Voice = field(default_factory=Voice)
    words: list[float] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.pcm) / float(self.sample_rate)


def synthesize(text: str, voice: Voice | None = None, sample_rate: int | None = None) -> Speech:
    """Speak ``text`` with ``voice``; ``sample_rate`` resamples espeak's native 22050 Hz.

    Mandarin text (``cmn``) is read as tone-numbered pinyin (:mod:`.mandarin`) by espeak-ng's
    pinyin voice, so the phonemes are espeak's Mandarin mnemonics (``ts.h``, ``'iA``, ``N``).
    An empty text raises :class:`ReskinError`.
    """
    from reskin.scenes.speech import engine as _engine
    from reskin.scenes.speech import mandarin

    voice = voice or Voice()
    if not text or not text.strip():
        raise ReskinError("the line's text is empty")
    spoken, name = text, voice.espeak_name
    if voice.language in mandarin.MANDARIN and mandarin.has_han(text):
        # espeak's own Hanzi dictionary has gaps; its pinyin voice reads every syllable.
        spoken = mandarin.pinyin_text(text)
        name = mandarin.PINYIN_VOICE + (f"+{voice.variant}" if voice.variant else "")
    raw = _engine.synthesize_raw(spoken, name, voice.rate, voice.pitch)
    native = raw.sample_rate
    pcm = np.frombuffer(raw.pcm, dtype="<i2").astype(np.float32) / 32768.0
    n = len(pcm)
    phonemes = _timeline([(s, t) for k, s, t in raw.events if k == "phoneme"], n, native)
    words = sorted({t / native for k, _s, t in raw.events if k == "word"})
    if sample_rate and sample_rate != native:
        pcm = resample(pcm, native, sample_rate)
        out_sr = int(sample_rate)
    else:
        out_sr = native
    return Speech(pcm=pcm, sample_rate=out_sr, phonemes=phonemes, text=text, voice=voice,
                  words=words)


def _timeline(events: list[tuple[str, int]], n: int, sr: int) -> list[tuple[str, float, float]]:
    """Phoneme onsets (symbol, sample) into contiguous ``(symbol, start_s, end_s)`` from 0 to
    ``n / sr``: a phoneme lasts until the next starts; zero-length ones and repeated pauses go."""
    marks: list[tuple[str, int]] = []
    for sym, sample in sorted(events, key=lambda e: e[1]):
        if sym.startswith("("):
            continue  # a language switch marker such as "(en)", not a sound
        sym = PAUSE if sym.startswith("_") or not sym.strip() else sym
        sample = min(max(int(sample), 0), n)
        if marks and marks[-1][1] == sample:
            # Two events at one sample: the later names what is heard (a pause marker
            # at a word's start is superseded by the word's first phoneme).
            if sym == PAUSE:
                continue
            marks[-1] = (sym, sample)
            continue
        if marks and marks[-1][0] == PAUSE and sym == PAUSE:
            continue
        marks.append((sym, sample))
    if not marks or marks[0][1] > 0:
        marks.insert(0, (PAUSE, 0))
    out = []
    for i, (sym, start) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else n
        if end > start:
            out.append((sym, start / sr, end / sr))
    return out


def resample(pcm: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """``pcm`` ``(n,)`` at ``sr_from`` resampled to ``sr_to`` (float32)."""
    if sr_from == sr_to:
        return np.asarray(pcm, dtype=np.float32)
    import librosa

    return librosa.resample(np.asarray(pcm, dtype=np.float32), orig_sr=sr_from,
                            target_sr=sr_to, res_type="soxr_hq").astype(np.float32)
