"""Speech on pixels Blender renders, and in the published episodes.

An imported avatar (Rocketbox ``h_expressions.*`` visemes) in close-up says a line: during an
open vowel its mouth differs from the same frame of the same shot without the line, during an
``m`` it is closed, and before the line (and in the silent shot) the mouth rests. Then the
sample series at a tiny size with its own lines (timed by speech, a recorded line, a Mandarin
one, one off-screen): every episode MP4 has one video and one audio stream of equal length,
the sound is there, and editing one line makes that line, that shot and that episode again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from reskin.assets.gltf.scene import world_matrices
from reskin.assets.library import Library
from reskin.cli import main
from reskin.pipeline.build import build
from reskin.pipeline.series_init import create_demo
from reskin.render import probe
from reskin.rigging.file_rig import read_model
from tests.conftest import SHARED_DATA
from tests.pipeline.test_face_render import _diff, _mouth

FPS = 8
SERIES = f"""\
name: speech
resolution: [150, 200]
fps: {FPS}
render: {{engine: cycles, samples: 16}}
style: {{stylizer: none}}
"""
CAMERA = "{location: [0, 1.565, 0.55], target: [0, 1.565, 0.056], lens: 70}"
EPISODE = f"""\
shots:
  - id: speaks
    duration: 1.25
    cast: [{{character: hana, blink: false}}]
    camera: {CAMERA}
    lines:
      - {{speaker: hana, text: "Mama, ah."}}
  - id: silent
    duration: 1.25
    cast: [{{character: hana, blink: false}}]
    camera: {CAMERA}
"""


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech") / "s"
    for d in ("cast/hana", "episodes", "models", "out"):
        (root / d).mkdir(parents=True)
    (root / "series.yaml").write_text(SERIES)
    (root / "models" / "hana.glb").write_bytes(
        (SHARED_DATA / "avatars" / "Asian_F_1_Casual.glb").read_bytes())
    (root / "cast" / "hana" / "character.yaml").write_text(
        "source: models/hana.glb\nvoice: {language: en-us, variant: f2}\n")
    (root / "cast" / "hana" / "ep01.yaml").write_text("regions: {}\n")
    (root / "episodes" / "ep01.yaml").write_text(EPISODE)
    Library(root / ".reskin", create=True).close()
    report = build(root)
    shots = {}
    for render in (root / ".reskin" / "cache" / "render").iterdir():
        plan = json.loads((render / "done.json").read_text())["plan"]
        frames = [np.asarray(Image.open(p).convert("RGBA"), np.float32) / 255
                  for p in sorted(render.glob("beauty_*.png"))]
        perf = json.loads((render / "performance.json").read_text())
        shots[plan["name"].split("/")[1]] = (plan, frames, perf)
    with Library(root / ".reskin") as lib:
        doc = read_model(lib.read_blob(lib.get("hana.ep01").blobs["skin.glb"]))
    world = world_matrices(doc.json)
    eyes = {n["name"]: world[i][:3, 3] for i, n in enumerate(doc.json["nodes"])
            if n.get("name") in ("LeftEye", "RightEye")}
    return report, shots, eyes


def _frame_of(phoneme: list, fps: int) -> int:
    """The frame nearest the middle of a ``[symbol, start, end]`` phoneme of performance.json."""
    return int(round((phoneme[1] + phoneme[2]) / 2 * fps))


def test_the_mouth_opens_on_the_vowel_closes_on_the_m_and_rests_without_the_line(spoken):
    _, shots, eyes = spoken
    plan, speaking, perf = shots["speaks"]
    _, silent, silent_perf = shots["silent"]
    (line,) = perf["lines"]
    assert line["method"] == "synth" and line["on_screen"]
    weights = perf["characters"]["hana"]["weights"]
    vowel = max((p for p in line["phonemes"] if p[0] == "'A:"), key=lambda p: p[2] - p[1])
    m = next(p for p in line["phonemes"] if p[0] == "m")
    open_f, m_f = _frame_of(vowel, FPS), _frame_of(m, FPS)
    assert weights["jawOpen"][open_f] > 0.3
    assert weights["PP"][m_f] >= 0.9 and weights["jawOpen"][m_f] == 0  # the lips shut
    mouth = _mouth(plan, eyes)
    assert mouth.sum() > 200
    # The same frame of the same shot without the line: only the mouth differs.
    opened = _diff(speaking[open_f], silent[open_f])
    assert (opened[mouth] > 0.1).sum() > 0.1 * mouth.sum(), (opened[mouth] > 0.1).sum()
    assert float(opened[mouth].mean()) > 4 * float(opened[~mouth].mean())
    closed = _diff(speaking[m_f], silent[m_f])
    assert float(closed[mouth].mean()) < 0.35 * float(opened[mouth].mean())
    # Before the line the mouth rests: the picture of the silent shot.
    assert line["start"] >= 0.25
    assert (_diff(speaking[0], silent[0]) > 0.15).sum() <= 0.002 * mouth.size
    # Without the line nothing drives the mouth, and the shot is silent.
    assert silent_perf["lines"] == []
    assert not {"jawOpen", "PP", "aa"} & set(silent_perf["characters"]["hana"]["weights"])


def test_the_shot_with_the_line_has_its_sound_and_the_other_is_silent(spoken):
    report, _, _ = spoken
    (ep,) = report.episodes
    videos = {s.id: s.video for s in ep.shots}
    said = probe.decode_audio(videos["speaks"])
    assert np.abs(said).max() > 0.05
    assert np.abs(probe.decode_audio(videos["silent"])).max() < 1e-3
    # The line is heard from its start (0.3 s in), not before.
    sr = 48000
    assert np.abs(said[: int(0.25 * sr)]).max() < 1e-3


TINY = """\
name: tiny speech
resolution: [54, 96]
fps: 4
render: {engine: cycles, samples: 4}
style: {stylizer: toon, background: "#efe3cf"}
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample series as it ships, lines and all, at 54x96 pixels and 4 fps."""
    root = create_demo(tmp_path_factory.mktemp("sample") / "s")
    (root / "series.yaml").write_text(TINY)
    result = CliRunner().invoke(main, ["build", str(root), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root, json.loads(result.output)


def test_every_sample_episode_has_one_video_and_one_audio_stream_of_equal_length(sample):
    _, report = sample
    for ep in report["episodes"]:
        info = probe.probe(ep["video"])
        assert len(info.of("video")) == 1 and len(info.of("audio")) == 1, ep["id"]
        d = probe.stream_durations(ep["video"])
        assert abs(d["audio"] - d["video"]) <= 1 / 4, (ep["id"], d)
        assert np.abs(probe.decode_audio(ep["video"])).max() > 0.05  # the dialogue is heard


def test_sample_lines_are_timed_by_speech_subtitled_and_seen(sample):
    root, report = sample
    ep2 = next(e for e in report["episodes"] if e["id"] == "ep02")
    srt = Path(ep2["subtitles"]).read_text()
    assert "THEO: 你也收到信了？" in srt and "MIRA: This morning." in srt
    assert "THEO: 我们得走了。" in srt  # off-screen in s02-closeup: heard and subtitled
    plans = {}
    for render in (root / ".reskin" / "cache" / "render").iterdir():
        plan = json.loads((render / "done.json").read_text())["plan"]
        plans[plan["name"]] = json.loads((render / "performance.json").read_text())
    two = plans["ep02/s01-two-shot"]
    theo, mira = two["lines"]
    assert mira["start"] == pytest.approx(theo["start"] + theo["audio_duration"] + 0.25,
                                          abs=1e-3)
    for name in ("theo", "mira"):
        assert max(two["characters"][name]["weights"]["jawOpen"]) > 0.2, name
    alone = plans["ep02/s02-closeup"]
    (off,) = alone["lines"]
    assert off["speaker"] == "theo" and not off["on_screen"]
    assert "jawOpen" not in alone["characters"]["mira"]["weights"]  # nobody's face is driven
    recorded = plans["ep01/s02-closeup"]["lines"][0]
    assert recorded["method"] == "dtw"
    frames = next(s for e in report["episodes"] for s in e["shots"] if s["id"] == "s02-closeup"
                  and e["id"] == "ep01")["frames"]
    assert frames == round((0.3 + recorded["audio_duration"] + 0.6) * 4)


def test_editing_one_line_remakes_that_line_shot_and_episode_only(sample, tmp_path):
    root, first = sample
    copy = tmp_path / "edited"
    shutil.copytree(root, copy)
    ep1 = copy / Path(first["episodes"][0]["video"]).relative_to(root)
    ep2 = copy / Path(first["episodes"][1]["video"]).relative_to(root)
    stamps = ep1.stat().st_mtime_ns, ep2.stat().st_mtime_ns
    ep = copy / "episodes" / "ep02.yaml"
    ep.write_text(ep.read_text().replace('"This morning."', '"Last night."'))
    logs: list[str] = []
    report = build(copy, log=logs.append)
    assert "speech made for 1 lines" in logs, logs
    rendered = {(e.id, s.id) for e in report.episodes for s in e.shots if not s.cached}
    assert rendered == {("ep02", "s01-two-shot")}
    assert ep1.stat().st_mtime_ns == stamps[0]  # ep01 is not muxed again
    assert ep2.stat().st_mtime_ns != stamps[1]
    assert "MIRA: Last night." in (copy / "out" / "ep02" / "ep02.srt").read_text()
