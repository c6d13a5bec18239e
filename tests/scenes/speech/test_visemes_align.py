from __future__ import annotations

import numpy as np
import pytest

from reskin.rigging.face_names import VISEMES
from reskin.scenes.speech.align import align
from reskin.scenes.speech.synth import synthesize
from reskin.scenes.speech.visemes import (
    CLOSED,
    JAW,
    TRACK_CHANNELS,
    closures_held,
    dominant,
    pinyin_visemes,
    to_visemes,
    viseme_track,
)
from reskin.scenes.speech.voice import Voice

FPS = 24.0
PP = TRACK_CHANNELS.index("PP")
SIL = TRACK_CHANNELS.index("sil")


def test_channels_are_the_canonical_visemes_and_jaw():
    assert TRACK_CHANNELS == VISEMES + ("jawOpen",) and len(TRACK_CHANNELS) == 16


def test_tables():
    assert [v for v, *_ in to_visemes([("m", 0, 1), ("'aI", 1, 2)])] == ["PP", "aa", "I"]
    assert [v for v, *_ in to_visemes([("B", 0, 1), ("IY1", 1, 2), ("SIL", 2, 3)],
                                      "arpabet")] == ["PP", "I", "sil"]
    assert [v for v, *_ in to_visemes([("ʃ", 0, 1), ("ˈoʊ", 1, 2)], "ipa")] == ["CH", "O", "U"]
    assert pinyin_visemes("zhuang1") == ("CH", "U", "aa", "kk")
    assert pinyin_visemes("bu4") == ("PP", "U") and pinyin_visemes("qu4") == ("CH", "U")
    assert pinyin_visemes("ma5") == ("PP", "aa")


def _bilabial_frames_ok(phonemes, track, alphabet="espeak", start_s=0.0):
    closed, total = closures_held(phonemes, track, FPS, alphabet, start_s)
    return closed, total


@pytest.mark.parametrize("text, language, rate", [
    ("Bob made my map, then we went home.", "en-us", 175),
    ("Maybe Pam bumped the mop by the tub.", "en-us", 320),  # fast: closures under a frame
    ("爸爸妈妈不明白。", "cmn", 200),
])
def test_every_bilabial_closes_the_lips_for_a_frame(text, language, rate):
    s = synthesize(text, Voice(language, rate=rate))
    frames = int(np.ceil(s.duration * FPS)) + 1
    track = viseme_track(s.phonemes, FPS, frames)
    assert track.shape == (frames, 16) and track.dtype == np.float32
    np.testing.assert_allclose(track[:, :JAW].sum(axis=1), 1.0, atol=1e-5)
    runs = [(a, b) for v, a, b, _s in to_visemes(s.phonemes) if v == "PP"]
    assert runs
    t = np.arange(frames) / FPS
    # Each bilabial run: a frame inside it (or, when it is shorter than a frame, the nearest
    # one) with PP >= CLOSED and the jaw shut.
    closed, total = closures_held(s.phonemes, track, FPS)
    assert closed == total >= 3
    shut = (track[:, PP] >= CLOSED - 1e-6) & (track[:, JAW] <= 1e-6)
    for a, b in runs:
        near = np.abs(t - (a + b) / 2) <= max(b - a, 1 / FPS)
        assert shut[near].any(), (a, b)


def test_rest_between_lines_and_jaw_follows_vowels():
    one = synthesize("Mama came home.")
    two = synthesize("We ate at noon.")
    gap = 1.0
    phonemes = list(one.phonemes) + [(p, a + one.duration + gap, b + one.duration + gap)
                                     for p, a, b in two.phonemes]
    end = one.duration + gap + two.duration
    frames = int(np.ceil((end + 0.5) * FPS))
    track = viseme_track(phonemes, FPS, frames, start_s=-0.5)
    t = -0.5 + np.arange(frames) / FPS
    between = (t > one.duration + 0.2) & (t < one.duration + gap - 0.2)
    assert between.sum() >= 10
    assert (track[between, SIL] > 0.95).all() and (track[between, JAW] < 0.03).all()
    assert (track[t < -0.3, SIL] > 0.99).all() and (track[t > end + 0.2, SIL] > 0.99).all()
    # The jaw is open on the open vowels of "came home" and wider than on the closures.
    vowels = [(a, b) for p, a, b in one.phonemes if p.lstrip("'") in ("eI", "oU", "a", "A:")]
    in_vowel = np.zeros(frames, bool)
    for a, b in vowels:
        in_vowel |= (t >= a) & (t < b)
    assert track[in_vowel, JAW].mean() > 0.25
    assert track[in_vowel, JAW].mean() > 3 * track[(track[:, PP] >= CLOSED), JAW].mean() + 0.1


def test_anticipation_rounds_the_lips_before_the_vowel():
    s = synthesize("two")
    (_, t0, _t1), (_, u0, _u1) = [p for p in s.phonemes if p[0] != "_"][:2]
    frames = int(np.ceil(s.duration * 100))
    track = viseme_track(s.phonemes, 100.0, frames)
    u = TRACK_CHANNELS.index("U")
    before = int((u0 - 0.02) * 100)
    assert track[before, u] > 0.2  # U already forming during the t


@pytest.mark.parametrize("text, language", [
    ("Please bring me the blue box.", "en-us"),
    ("我们明天去北京。", "cmn"),
])
def test_alignment_of_another_voice_meets_the_targets(text, language):
    # The "recording": another variant, pitch and rate, at 44.1 kHz; truth is its own events.
    rec = synthesize(text, Voice(language, variant="f3", pitch=70, rate=150), sample_rate=44100)
    al = align(rec.pcm, rec.sample_rate, text, Voice(language), where="ep01.yaml:12")
    assert al.method == "dtw" and al.warning is None
    assert [p for p, *_ in al.phonemes] == [p for p, *_ in rec.phonemes]
    err = np.array([abs(a[1] - b[1]) for a, b in zip(al.phonemes[1:], rec.phonemes[1:],
                                                     strict=True)]) * 1000
    assert np.median(err) <= 20 and np.percentile(err, 95) <= 60
    frames = int(np.ceil(rec.duration * FPS)) + 1
    truth = dominant(viseme_track(rec.phonemes, FPS, frames))
    got_track = al.track(rec.pcm, rec.sample_rate, FPS, frames)
    assert np.mean(dominant(got_track) == truth) >= 0.85
    closed, total = closures_held(rec.phonemes, got_track, FPS)
    assert closed == total


def test_pocketsphinx_aligns_english():
    text = "Bob made my map."
    rec = synthesize(text, Voice(rate=150), sample_rate=16000)
    al = align(rec.pcm, rec.sample_rate, text, Voice(), method="pocketsphinx")
    assert al.method == "pocketsphinx" and al.alphabet == "arpabet" and al.warning is None
    names = [p for p, *_ in al.phonemes]
    assert names[:4] == ["B", "AA", "B", "M"]
    m = next(a for p, a, _ in rec.phonemes if p == "m")
    assert abs(next(a for p, a, _ in al.phonemes if p == "M") - m) < 0.06


def test_noise_falls_back_to_an_energy_jaw_with_a_warning():
    rng = np.random.default_rng(3)
    sr = 22050
    noise = (0.2 * rng.standard_normal(int(2.5 * sr))).astype(np.float32)
    noise[: sr // 2] *= 0.01  # quiet, then loud: the jaw follows the loudness
    al = align(noise, sr, "Bob made my map, then we went home.", Voice(),
               where="episodes/ep01.yaml:14")
    assert al.method == "energy" and al.phonemes == []
    assert al.warning.startswith("episodes/ep01.yaml:14: no usable alignment")
    assert "\n" not in al.warning
    frames = int(2.5 * FPS)
    track = al.track(noise, sr, FPS, frames)
    assert track.shape == (frames, 16)
    assert track[:8, JAW].max() < 0.05 and track[16:, JAW].mean() > 0.3
    silent = align(np.zeros(sr, np.float32), sr, "Hello.", Voice(), where="x.yaml:3")
    assert silent.method == "energy" and "silent" in silent.warning
