"""The episode's sound: shot stems, beds, ducking, loudness, true peak, files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from reskin.core.errors import ReskinError
from reskin.render import audio
from reskin.render.audio import SR


def tone(freq: float, seconds: float, sr: int = SR, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def band_rms(x: np.ndarray, freq: float) -> float:
    """RMS of ``x`` within ±50 Hz of ``freq`` (FFT mask)."""
    spec = np.fft.rfft(x * np.hanning(x.size))
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return float(np.sqrt(np.sum(np.abs(spec[np.abs(f - freq) < 50]) ** 2)) / x.size)


def test_mix_shot_resamples_and_places_lines_at_their_times():
    line = tone(440, 0.5, sr=22050)
    stem = audio.mix_shot([(1.0, line, 22050)], 2.0)
    assert stem.shape == (2 * SR,) and stem.dtype == np.float32
    loud = np.flatnonzero(np.abs(stem) > 0.05)
    assert abs(loud[0] / SR - 1.0) < 0.002 and abs(loud[-1] / SR - 1.5) < 0.002
    # still 440 Hz after resampling: the tone's band holds the energy
    seg = stem[int(1.1 * SR):int(1.4 * SR)]
    assert band_rms(seg, 440) > 10 * band_rms(seg, 880)


def test_mix_shot_clips_overlaps_and_cuts_what_falls_outside():
    loud = np.full(SR, 0.8, dtype=np.float32)
    stem = audio.mix_shot([(0.0, loud, SR), (0.2, loud, SR), (-0.5, loud, SR),
                           (1.8, loud, SR), (5.0, loud, SR)], 2.0)
    assert stem.shape == (2 * SR,) and np.abs(stem).max() <= 1.0
    assert stem[int(0.3 * SR)] == 1.0  # two lines at once: clipped, not wrapped around
    assert stem[int(1.9 * SR)] == pytest.approx(0.8)  # the late line is cut at the shot's end
    stereo = np.stack([tone(300, 0.5), tone(300, 0.5)], axis=1)
    assert audio.mix_shot([(0.0, stereo, SR)], 0.5).shape == (SR // 2,)


def test_episode_mix_hits_the_target_loudness_under_the_peak_ceiling():
    rng = np.random.default_rng(1)
    speech = tone(220, 1.5, amp=0.6) * (1 + 0.8 * np.sin(np.arange(int(1.5 * SR)) / 900))
    music = tone(660, 3.0, amp=0.9)
    ambience = (0.2 * rng.standard_normal(SR)).astype(np.float32)
    for target in (-14.0, -23.0):
        mix = audio.episode_mix([(0.5, speech), (4.0, speech)], 7.0, music, ambience,
                                target_lufs=target)
        assert mix.shape == (7 * SR,)
        assert abs(audio.loudness(mix) - target) < 0.5
        assert 20 * np.log10(audio.true_peak(mix)) <= audio.PEAK_DBTP + 0.1


def test_limiter_holds_a_hot_mix_at_the_ceiling_and_keeps_quiet_parts():
    x = np.concatenate([tone(1000, 0.5, amp=0.05), tone(1000, 0.5, amp=2.0)])
    y = audio.limit(x)
    assert 20 * np.log10(audio.true_peak(y)) <= audio.PEAK_DBTP + 0.05
    assert np.allclose(y[: int(0.4 * SR)], x[: int(0.4 * SR)])


def test_music_ducks_under_a_line_and_comes_back():
    speech = tone(300, 1.0, amp=0.4)
    music = tone(2000, 2.0, amp=0.4)
    mix = audio.episode_mix([(2.0, speech)], 5.0, music, duck_db=-12.0)

    def music_db(a: float, b: float) -> float:
        return 20 * np.log10(band_rms(mix[int(a * SR):int(b * SR)], 2000))

    before, under, after = music_db(0.8, 1.6), music_db(2.3, 2.8), music_db(4.0, 4.4)
    assert -14 < under - before < -10  # about duck_db below, while the line plays
    assert abs(after - before) < 1.5  # and back once it is over
    gain = audio.duck_gain(audio.place([(2.0, speech)], 5 * SR), -12.0)
    # it starts falling before the first syllable, and moves smoothly (no steps)
    assert gain[int(1.99 * SR)] < 0.9 and gain[int(1.5 * SR)] > 0.99
    assert np.abs(np.diff(gain)).max() < 0.01


def test_beds_loop_or_trim_to_the_episode():
    bed = tone(500, 0.7)
    long = audio.fit_bed(bed, 3 * SR)
    assert long.shape == (3 * SR,)
    mid = long[int(0.2 * SR):int(2.4 * SR)]  # the seams keep a steady level
    frames = mid[: mid.size // 480 * 480].reshape(-1, 480)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    assert rms.min() > 0.5 * rms.max()
    assert audio.fit_bed(tone(500, 5.0), SR).shape == (SR,)
    silent = audio.episode_mix([], 2.0)
    assert silent.shape == (2 * SR,) and not silent.any()


def test_wav_round_trip_is_atomic(tmp_path):
    pcm = tone(440, 0.25)
    path = tmp_path / "a" / "mix.wav"
    audio.write_wav(pcm, path)
    assert [p.name for p in path.parent.iterdir()] == ["mix.wav"]
    back = audio.read_audio(path)
    assert back.shape == pcm.shape and np.abs(back - pcm).max() < 1e-4
    soundfile.write(str(tmp_path / "s.flac"), np.stack([pcm, pcm], 1), 16000)
    assert audio.read_audio(tmp_path / "s.flac").shape == (int(0.25 * SR * 3),)


def test_missing_or_unreadable_audio_is_one_line(tmp_path):
    with pytest.raises(ReskinError) as err:
        audio.read_audio(tmp_path / "nope.ogg", field="music", where="series.yaml:4")
    msg = str(err.value)
    assert "\n" not in msg and "nope.ogg" in msg and "series.yaml:4: music" in msg
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(ReskinError) as err:
        audio.read_audio(bad, field="ambience", where="series.yaml:5")
    msg = str(err.value)
    assert "\n" not in msg and "bad.wav" in msg and "cannot read audio" in msg
    assert "series.yaml:5: ambience" in msg
