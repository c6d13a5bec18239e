"""The build's speech stage: each line's speech made once and cached (editing one line makes that
line only), recordings aligned (with a warning when they fall back to the energy jaw), and a
bad line (recording missing or unreadable, empty text, a language with no voice) one line,
exit 2, nothing published."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from reskin.cli import main
from reskin.pipeline.inputs import load_inputs
from reskin.pipeline.series_init import create_demo
from reskin.pipeline.speech_stage import SpeechStage, cast_voices, speech_stems
from reskin.scenes.series import load_series
from reskin.scenes.speech.audio import write_wav


def _voiced(root, stage):
    series = load_series(root)
    cast, episodes, _ = load_inputs(series)
    voices = cast_voices(cast, series)
    return {ep.id: stage.voice_episode(ep, voices) for ep in episodes}


def test_each_line_is_made_once_and_an_edit_makes_only_that_line(tmp_path):
    root = create_demo(tmp_path / "s")
    cache = root / ".reskin" / "cache" / "speech"
    first = SpeechStage(cache)
    eps = _voiced(root, first)
    n_lines = sum(len(s.lines) for ep in eps.values() for s in ep.shots)
    assert len(first.made) == n_lines == 5 and len(list(cache.glob("*.npz"))) == 5
    again = SpeechStage(cache)
    same = _voiced(root, again)
    assert again.made == []
    a, b = eps["ep02"].shots[0].lines[1].voiced, same["ep02"].shots[0].lines[1].voiced
    assert a.key == b.key and np.array_equal(a.pcm, b.pcm) and a.phonemes == b.phonemes
    ep = root / "episodes" / "ep02.yaml"
    ep.write_text(ep.read_text().replace('"This morning."', '"This evening."'))
    edited = SpeechStage(cache)
    eps = _voiced(root, edited)
    assert len(edited.made) == 1 and "This evening." in edited.made[0]
    assert len(list(cache.glob("*.npz"))) == 6
    # The stems publish gets: every line, the off-screen one too, at its time in the shot.
    stems = speech_stems(eps["ep02"])
    (offscreen,) = stems["s02-closeup"]
    assert offscreen[0] == pytest.approx(0.3) and offscreen[1].size > 0.5 * offscreen[2]


def test_a_recording_is_aligned_and_one_that_is_not_speech_falls_back_with_a_warning(tmp_path):
    root = create_demo(tmp_path / "s")
    logged: list[str] = []
    eps = _voiced(root, SpeechStage(None, log=logged.append))
    recorded = eps["ep01"].shots[1].lines[0].voiced
    assert recorded.method == "dtw" and recorded.sample_rate == 24000 and logged == []
    assert [p[0] for p in recorded.phonemes if p[0] != "_"][:3] == ["D", "@2", "l"]
    noise = np.random.default_rng(0).standard_normal(24000).astype(np.float32) * 0.3
    write_wav(root / "voice" / "ep01" / "s02_01.wav", noise, 24000)
    eps = _voiced(root, SpeechStage(None, log=logged.append))
    recorded = eps["ep01"].shots[1].lines[0].voiced
    assert recorded.method == "energy" and recorded.phonemes == ()
    (warning,) = logged
    assert warning.startswith("warning: ") and "ep01.yaml:20 (mira: 'The last train never "
    assert "the jaw follows the loudness" in warning


BAD_LINES = {
    "recording missing": (
        "episodes/ep01.yaml", "audio: voice/ep01/s02_01.wav", "audio: voice/ep01/s02_09.wav",
        "ep01.yaml:20: shots[1].lines[0].audio: audio file not found: voice/ep01/s02_09.wav"),
    "empty text": (
        "episodes/ep02.yaml", 'text: "This morning."', 'text: ""',
        "ep02.yaml:13: shots[0].lines[1].text: the line's text is empty"),
    "a language with no voice": (
        "cast/theo/character.yaml", "language: cmn", "language: cmm",
        "character.yaml:14: voice.language: no espeak-ng voice 'cmm' (did you mean 'cmn'?)"),
    "narrator with no voice": (
        "series.yaml", "language: en-us, variant: m3", "language: xx-nope, variant: m3",
        "series.yaml:14: narrator.voice.language: no espeak-ng voice 'xx-nope'"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_bad_line_is_one_line_exit_2_and_nothing_is_published(tmp_path, case):
    file, old, new, expected = BAD_LINES[case]
    root = create_demo(tmp_path / "s")
    path = root / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    result = CliRunner().invoke(main, ["build", str(root)])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"reskin: error: {root}") and expected in line, line
    assert list((root / "out").iterdir()) == []


def test_an_unreadable_recording_names_the_file_and_the_line(tmp_path):
    root = create_demo(tmp_path / "s")
    wav = root / "voice" / "ep01" / "s02_01.wav"
    wav.write_bytes(b"RIFF....WAVEfmt not really")
    result = CliRunner().invoke(main, ["build", str(root)])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"reskin: error: {root / 'episodes' / 'ep01.yaml'}:20: "
                           "shots[1].lines[0].audio: unreadable audio"), line
    assert line.endswith(str(wav)) and "Traceback" not in result.output
    assert list((root / "out").iterdir()) == []
