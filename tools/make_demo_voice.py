"""Remake the sample series' recorded line: reskin/data/demo/voice/ep01/s02_01.wav.

The sample series has one line spoken from a recording (``audio:`` in
reskin/data/demo/episodes/ep01.yaml) so that ``reskin demo`` exercises the aligner. The
"recording" is the built-in synthesizer at another voice, pitch and rate than the character's
own (audio the aligner has not seen), resampled to 24 kHz like a delivered file, with a faint
room tone, as 16-bit mono WAV. Deterministic: the same engine writes the same bytes.

    python tools/make_demo_voice.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reskin.scenes.speech.audio import write_wav
from reskin.scenes.speech.synth import resample, synthesize
from reskin.scenes.speech.voice import Voice

TEXT = "The last train never came."
"""Must match the line's ``text:`` in the episode (the aligner aligns this text to it)."""
VOICE = Voice(language="en-us", variant="f5", pitch=70, rate=200)
"""Not mira's voice (en-us+f3, pitch 60, rate 175): another speaker, faster."""
RATE = 24000
OUT = Path(__file__).resolve().parents[1] / "reskin" / "data" / "demo" / "voice" / "ep01" / \
    "s02_01.wav"


def main() -> None:
    speech = synthesize(TEXT, VOICE)
    pcm = resample(speech.pcm, speech.sample_rate, RATE)
    rng = np.random.default_rng(16)
    room = rng.standard_normal(len(pcm)).astype(np.float32) * 10 ** (-50 / 20)  # -50 dBFS hiss
    pcm = (0.8 * pcm / max(float(np.abs(pcm).max()), 1e-6) + room).astype(np.float32)
    write_wav(OUT, pcm, RATE)
    print(f"{OUT}: {len(pcm) / RATE:.2f} s at {RATE} Hz")


if __name__ == "__main__":
    main()
