from __future__ import annotations

import textwrap

import numpy as np
import pytest

from reskin.core.errors import ReskinError
from reskin.core.fields import load_yaml
from reskin.scenes.speech.audio import read_wav, write_wav
from reskin.scenes.speech.synth import ENGINE_VERSION, PAUSE, synthesize
from reskin.scenes.speech.voice import Voice, parse_voice


def _check_timeline(speech):
    ph = speech.phonemes
    assert ph[0][1] == 0.0
    assert ph[-1][2] == pytest.approx(speech.duration, abs=1e-9)
    for (_s, a, b), (_s2, a2, _b2) in zip(ph, ph[1:], strict=False):
        assert a < b and b == a2  # contiguous, strictly increasing
    assert speech.pcm.dtype == np.float32 and speech.pcm.ndim == 1
    assert np.abs(speech.pcm).max() > 0.05


def test_english_phoneme_times_cover_the_audio():
    s = synthesize("Bob made my map, then we went home.", Voice("en-us"))
    _check_timeline(s)
    syms = [p for p, _a, _b in s.phonemes]
    assert syms.count("m") == 4 and "b" in syms and "p" in syms
    assert PAUSE in syms[1:-1]  # the comma pauses
    assert s.sample_rate == 22050 and 1.5 < s.duration < 3.5


def test_mandarin_phoneme_times_cover_the_audio():
    # 哪儿 is a gap in espeak's own cmn dictionary (it says "nar five"); pinyin fills it.
    s = synthesize("张先生在哪儿？我不知道。", Voice("cmn"))
    _check_timeline(s)
    syms = [p for p, _a, _b in s.phonemes]
    assert "ts." in syms and not any(p.startswith("(") for p in syms)
    assert "T" not in syms  # no English "five"


def test_synthesis_is_deterministic_and_resamples():
    voice = Voice("en-us", variant="f3", pitch=70, rate=160)
    a = synthesize("She said maybe.", voice)
    synthesize("Something else in between.", Voice("en-us", rate=300))
    b = synthesize("She said maybe.", voice)
    assert np.array_equal(a.pcm, b.pcm) and a.phonemes == b.phonemes
    c = synthesize("She said maybe.", voice, sample_rate=16000)
    assert c.sample_rate == 16000 and abs(c.duration - a.duration) < 0.01
    assert "espeak-ng" in ENGINE_VERSION


def test_rate_changes_duration():
    slow = synthesize("The weather is lovely today.", Voice(rate=120))
    fast = synthesize("The weather is lovely today.", Voice(rate=260))
    assert fast.duration < 0.7 * slow.duration


def test_empty_text_is_refused():
    with pytest.raises(ReskinError, match="empty"):
        synthesize("   ")


def _voice(tmp_path, body):
    path = tmp_path / "character.yaml"
    path.write_text(textwrap.dedent(body))
    return parse_voice(load_yaml(path).sub("voice"))


def test_parse_voice(tmp_path):
    v = _voice(tmp_path, """\
        name: mei
        voice:
          language: cmn
          variant: f2
          pitch: 60
          rate: 160
        """)
    assert v == Voice("cmn", "f2", 60, 160) and v.espeak_name == "cmn+f2"
    assert _voice(tmp_path, "voice: {}\n") == Voice()


@pytest.mark.parametrize("body, expect", [
    ("voice:\n  langage: cmn\n", r"character.yaml:2: voice.langage: unknown field \(did you "
                                 r"mean 'language'\?\)"),
    ("voice:\n  language: cnm\n", r"character.yaml:2: voice.language: no espeak-ng voice "
                                  r"'cnm' \(did you mean 'cmn'\?\)"),
    ("voice:\n  language: elvish\n", r"character.yaml:2: voice.language: no espeak-ng voice"),
    ("voice:\n  language: en-us\n  variant: f33\n", r":3: voice.variant: no espeak-ng variant"),
    ("voice:\n  pitch: 140\n", r":2: voice.pitch: must be between 0 and 100"),
    ("voice:\n  rate: fast\n", r":2: voice.rate: expected an integer"),
])
def test_voice_mistakes_are_one_line(tmp_path, body, expect):
    with pytest.raises(ReskinError, match=expect) as info:
        _voice(tmp_path, body)
    assert "\n" not in str(info.value)


def test_wav_roundtrip_and_bad_files(tmp_path):
    s = synthesize("Hello there.")
    path = write_wav(tmp_path / "voice" / "a.wav", s.pcm, s.sample_rate)
    pcm, sr = read_wav(path)
    assert sr == s.sample_rate and len(pcm) == len(s.pcm)
    assert np.abs(pcm - s.pcm).max() < 1e-3
    assert [p.name for p in path.parent.iterdir()] == ["a.wav"]  # no temp file left
    with pytest.raises(ReskinError, match=r"^voice/missing.wav: audio file not found$"):
        read_wav(tmp_path / "missing.wav", display="voice/missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00not really a wav file at all")
    with pytest.raises(ReskinError, match=r"bad.wav: unreadable audio") as info:
        read_wav(bad)
    assert "\n" not in str(info.value)
