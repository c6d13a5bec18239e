"""Lines timed by their speech: laid one after another, shots as long as their lines, the mouth
of the one speaking, conversation gaze; and the errors of lines in the episode file."""

from __future__ import annotations

import dataclasses
import textwrap

import numpy as np
import pytest

from reskin.core.errors import ReskinError
from reskin.rigging.face_names import face_map
from reskin.scenes.compile import ModelRef, compile_episode
from reskin.scenes.dialogue import GAP_S, LEAD_IN_S, TAIL_S, Voiced, time_episode
from reskin.scenes.episode import load_episode
from reskin.scenes.series import SeriesConfig
from reskin.scenes.speech.synth import synthesize
from reskin.scenes.speech.voice import Voice

FACE = face_map({"Face": ["eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "viseme_aa",
                          "viseme_PP", "viseme_O", "viseme_E"]},
                joints=["Head", "LeftEye", "RightEye"]).to_json()
TALK = """\
shots:
  - id: talk
    cast:
      - {character: mira, position: [-0.5, 0], facing: 30, blink: false}
      - {character: theo, position: [0.5, 0], facing: -30, blink: false}
    lines:
      - {speaker: mira, text: "Mama, ah."}
      - {speaker: theo, text: "No."}
      - {speaker: narrator, text: "Later."}
  - id: fixed
    duration: 3
    cast: [{character: mira}]
    lines:
      - {speaker: theo, text: "Go.", at: 1.0}
"""


def _voiced(episode, voices=None):
    """``episode`` with every line spoken by the built-in voice (what the speech stage does,
    without its cache)."""
    shots = []
    for shot in episode.shots:
        lines = []
        for ln in shot.lines:
            s = synthesize(ln.text, (voices or {}).get(ln.speaker, Voice()))
            lines.append(dataclasses.replace(ln, voiced=Voiced(
                key=f"k-{ln.text}", pcm=s.pcm, sample_rate=s.sample_rate,
                phonemes=tuple(s.phonemes))))
        shots.append(dataclasses.replace(shot, lines=tuple(lines)))
    return dataclasses.replace(episode, shots=tuple(shots))


def _load(tmp_path, text=TALK):
    path = tmp_path / "episodes" / "ep01.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return load_episode(path, {"mira", "theo"}, root=tmp_path)


def _compile(tmp_path, episode, fps=24):
    skins = {n: ModelRef(ref=f"{n}@1", glb="", content_hash="0", height=1.7, face=FACE)
             for n in ("mira", "theo")}
    return compile_episode(SeriesConfig(root=tmp_path, name="t", fps=fps), episode, skins)


def test_lines_without_times_are_laid_one_after_another(tmp_path):
    ep = _voiced(_load(tmp_path))
    talk, fixed = time_episode(ep).shots
    a, b, c = talk.lines
    assert a.start == LEAD_IN_S
    assert a.duration == pytest.approx(a.voiced.duration, abs=1e-4)
    assert b.start == pytest.approx(a.start + a.duration + GAP_S, abs=1e-4)
    assert c.start == pytest.approx(b.start + b.duration + GAP_S, abs=1e-4)
    # No duration: as long as its lines plus a tail.
    assert talk.duration == pytest.approx(c.start + c.duration + TAIL_S, abs=1e-3)
    # An explicit at: and duration: stay; a line without duration lasts as long as it speaks.
    (go,) = fixed.lines
    assert fixed.duration == 3.0 and go.start == 1.0
    assert go.duration == pytest.approx(go.voiced.duration, abs=1e-4)
    plan = _compile(tmp_path, ep)[0]
    assert plan.frame_count == round(talk.duration * 24)


def test_an_explicit_duration_too_short_for_its_lines_is_one_line(tmp_path):
    text = TALK.replace("  - id: talk\n", "  - id: talk\n    duration: 1.5\n")
    ep = _voiced(_load(tmp_path, text))
    with pytest.raises(ReskinError) as info:
        time_episode(ep)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{tmp_path / 'episodes' / 'ep01.yaml'}:3: shots[0].duration: ")
    assert "shot 'talk' lasts 1.5 s, too short for its line" in msg
    assert "ep01.yaml:9 (theo: 'No.')" in msg  # the first line that does not fit


def test_the_speaker_mouths_its_line_and_rests_between(tmp_path):
    ep = _voiced(_load(tmp_path))
    plan = _compile(tmp_path, ep)[0]
    mira = next(c["face"] for c in plan.cast if c["name"] == "mira")
    theo = next(c["face"] for c in plan.cast if c["name"] == "theo")
    fps = plan.fps
    line = plan.lines[0]
    assert line["speech"] == "k-Mama, ah." and line["on_screen"]
    frame = lambda t: int(round(t * fps))  # noqa: E731
    phon = line["phonemes"]
    vowel = max((p for p in phon if p[0] == "'A:"), key=lambda p: p[2] - p[1])
    m = next(p for p in phon if p[0] == "m")
    jaw, pp = np.array(mira["weights"]["jawOpen"]), np.array(mira["weights"]["PP"])
    assert jaw[frame((vowel[1] + vowel[2]) / 2)] > 0.3
    closed = [i for i in range(frame(m[1]) - 1, frame(m[2]) + 2) if pp[i] >= 0.9]
    assert closed and all(jaw[i] == 0 for i in closed)  # the lips shut for the m
    # Before the line and after it the mouth is at rest; theo's mouth moves only in his line.
    assert jaw[0] == 0 and jaw[-1] == 0
    tj = np.array(theo["weights"]["jawOpen"])
    b = plan.lines[1]
    outside = [i for i in range(plan.frame_count)
               if not b["start"] - 0.15 <= i / fps <= b["start"] + b["audio_duration"] + 0.15]
    assert tj[outside].max() < 1e-3 < tj.max()
    # The narrator is heard and subtitled, and drives nobody's face.
    assert plan.lines[2]["speaker"] == "narrator" and not plan.lines[2]["on_screen"]


def test_listeners_look_at_the_speaker_and_the_speaker_at_the_listener(tmp_path):
    plan = _compile(tmp_path, _voiced(_load(tmp_path)))[0]
    gaze = {c["name"]: np.array(c["face"]["gaze"]) for c in plan.cast}
    heads = {c["name"]: np.array(c["position"]) + [0, 0.93 * 1.7, 0] for c in plan.cast}
    while_mira = int(round((plan.lines[0]["start"] + 0.2) * plan.fps))
    while_theo = int(round((plan.lines[1]["start"] + 0.1) * plan.fps))
    assert np.allclose(gaze["theo"][while_mira], heads["mira"])
    assert np.allclose(gaze["mira"][while_mira], heads["theo"])
    assert np.allclose(gaze["mira"][while_theo], heads["theo"])
    assert np.allclose(gaze["theo"][while_theo], heads["mira"])


def test_an_off_screen_line_changes_no_pixel_key(tmp_path):
    """The shot's render key follows the speech of the lines its cast speaks; a line heard
    off-screen (another voice saying another text) leaves it."""
    ep = _voiced(_load(tmp_path))
    other = _voiced(_load(tmp_path, TALK.replace('text: "Go."', 'text: "Stay."')))
    louder = _voiced(_load(tmp_path, TALK.replace('text: "Mama, ah."', 'text: "Papa, ah."')))
    a, b, c = (_compile(tmp_path, e) for e in (ep, other, louder))
    assert a[1].key == b[1].key  # 'fixed': only an off-screen line changed
    assert a[1].lines != b[1].lines
    assert a[0].key != c[0].key  # 'talk': mira's own line changed her mouth


@pytest.mark.parametrize("old, new, expected", [
    ('speaker: theo, text: "Go."', 'speaker: zed, text: "Go."',
     r"ep01.yaml:14: shots\[1\].lines\[0\].speaker: 'zed' speaks but is neither in this shot "
     r"nor in the series' cast"),
    ('text: "No."', 'text: "  "',
     r"ep01.yaml:8: shots\[0\].lines\[1\].text: the line's text is empty"),
    ('text: "No."}', 'text: "No.", audio: voice/none.wav}',
     r"ep01.yaml:8: shots\[0\].lines\[1\].audio: audio file not found: voice/none.wav"),
    ('text: "No."}', 'text: "No.", audio: ../x.wav}',
     r"lines\[1\].audio: audio file '../x.wav' is outside the series folder"),
    ("", "", r"ep01.yaml:7: shots\[0\].lines\[0\]: the line has no speech to time it"),
])
def test_bad_lines_name_the_file_and_the_line(tmp_path, old, new, expected):
    assert old in TALK
    with pytest.raises(ReskinError, match=expected) as info:
        time_episode(_load(tmp_path, TALK.replace(old, new)))
    assert "\n" not in str(info.value)


def test_a_shot_without_lines_needs_a_duration(tmp_path):
    text = "shots:\n  - id: a\n    cast: [{character: mira}]\n"
    with pytest.raises(ReskinError, match=r"ep01.yaml:2: shots\[0\].duration: a shot without "
                       "lines needs a duration"):
        _load(tmp_path, text)
