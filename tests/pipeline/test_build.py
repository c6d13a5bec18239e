"""The whole chain for real: generate, rig, re-skin, render in Blender, stylize, publish."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
from click.testing import CliRunner

from reskin.cli import main
from reskin.pipeline.series_init import create_demo

TINY = """\
name: tiny
resolution: [54, 96]
fps: 4
render: {engine: cycles, samples: 4}
style: {stylizer: toon, background: "#efe3cf"}
"""


# The sample's lines made short enough for its shots shrunk to 0.75 s (a line's speech must
# fit its shot); the recorded line goes (tests/pipeline/test_speech_build.py builds it).
TINY_LINES = (
    ('text: "Hi! Sorry I\'m late."}', 'text: "Hi.", at: 0.2, duration: 0.5}'),
    ("    # no duration: the shot lasts as long as its line plus a beat\n",
     "    duration: 1.5\n"),
    ('      - {speaker: mira, text: "The last train never came.", '
     'audio: voice/ep01/s02_01.wav}\n', ""),
    ("    lines:\n      # spoken from the studio's recording; its phonemes are found by "
     "aligning the text to it\n", ""),
    ("  - id: s01-two-shot\n", "  - id: s01-two-shot\n    duration: 2.0\n"),
    ('text: "你也收到信了？"}', 'text: "好。", at: 0.1, duration: 0.6}'),
    ('text: "This morning."}', 'text: "No.", at: 0.38, duration: 0.3}'),
    ('text: "我们得走了。"}', 'text: "走。"}'),
)


def make_tiny(root: Path) -> Path:
    """The sample series shrunk: 54x96 pixels, 3 frames per shot."""
    create_demo(root)
    (root / "series.yaml").write_text(TINY)
    for ep in (root / "episodes").glob("*.yaml"):
        text = ep.read_text()
        for long, short in TINY_LINES:
            text = text.replace(long, short)
        text = text.replace("duration: 2.0", "duration: 0.75")
        text = text.replace("duration: 1.5", "duration: 0.75")
        # the same light in the shots whose wardrobe colours are compared
        text = text.replace("lights: night-interior", "lights: three-point")
        ep.write_text(text)
    return root


def run_build(root: Path) -> dict:
    result = CliRunner().invoke(main, ["build", str(root), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = make_tiny(tmp_path_factory.mktemp("series") / "tiny")
    started = time.perf_counter()
    report = run_build(root)
    return root, report, time.perf_counter() - started


def frames_of(shot: dict) -> np.ndarray:
    paths = sorted(Path(shot["folder"]).glob("frame_*.png"))
    return np.stack([iio.imread(p)[..., :3] for p in paths]).astype(np.float32) / 255


def shot(report: dict, ep: str, sid: str) -> dict:
    episode = next(e for e in report["episodes"] if e["id"] == ep)
    return next(s for s in episode["shots"] if s["id"] == sid)


def last_why(root: Path, ep: str, sid: str) -> str | None:
    """Why the build last rendered shot ``sid`` of ``ep`` (its render cache's done.json)."""
    key = json.loads((root / "out" / ep / ".plans.json").read_text())[sid]["key"]
    done = root / ".reskin" / "cache" / "render" / key / "done.json"
    return json.loads(done.read_text()).get("why")


def test_first_build_renders_everything(built):
    root, report, _ = built
    assert [e["id"] for e in report["episodes"]] == ["ep01", "ep02"]
    made = report["assets_made"]
    # each character generated once and rigged once (a new version), then one skin per episode
    assert made == ["mira@1", "mira@2", "mira.ep01@1", "mira.ep02@1",
                    "theo@1", "theo@2", "theo.ep02@1", "style.series@1"]
    for ep in report["episodes"]:
        reader = imageio_ffmpeg.read_frames(ep["video"])
        meta = next(reader)
        assert meta["size"] == (54, 96)
        assert sum(1 for _ in reader) == 6  # two shots of three frames
        assert iio.imread(ep["contact_sheet"]).shape[2] == 3
        for s in ep["shots"]:
            assert s["frames"] == 3 and not s["cached"]
            assert len(list(Path(s["folder"]).glob("frame_*.png"))) == 3


def test_character_is_visible_and_moves(built):
    _, report, _ = built
    background = np.array([0xEF, 0xE3, 0xCF]) / 255
    for ep, sid in (("ep01", "s01-medium"), ("ep02", "s02-closeup")):
        frames = frames_of(shot(report, ep, sid))
        differs = np.abs(frames - background).max(axis=-1) > 0.1
        coverage = differs.mean(axis=(1, 2))
        assert (coverage > 0.15).all(), f"{ep}/{sid}: character covers {coverage}"
        # the character is framed: the centre column is covered
        assert differs[:, :, 20:34].mean() > 0.3
        motion = np.abs(frames[0] - frames[-1]).mean()
        assert motion > 0.005, f"{ep}/{sid}: frames do not change ({motion})"


def test_wardrobe_differs_between_episodes_but_body_does_not(built):
    root, report, _ = built
    a = frames_of(shot(report, "ep01", "s01-medium"))
    b = frames_of(shot(report, "ep02", "s02-closeup"))

    def red(f):  # ep01's jumper is red
        return ((f[..., 0] > f[..., 1] + 0.2) & (f[..., 0] > f[..., 2] + 0.2)).mean()

    def teal(f):  # ep02's top is teal
        return ((f[..., 1] > f[..., 0] + 0.15) & (f[..., 2] > f[..., 0] + 0.1)).mean()

    assert red(a) > 0.03 and red(a) > 5 * red(b)
    assert teal(b) > 0.01 and teal(b) > 5 * teal(a)

    import pygltflib

    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        positions = []
        for ref in ("mira.ep01", "mira.ep02"):
            glb = pygltflib.GLTF2.load_from_bytes(lib.read_blob(lib.get(ref).blobs["skin.glb"]))
            prim = glb.meshes[0].primitives[0]
            acc = glb.accessors[prim.attributes.POSITION]
            view = glb.bufferViews[acc.bufferView]
            data = glb.binary_blob()[view.byteOffset + (acc.byteOffset or 0):][: acc.count * 12]
            positions.append((np.frombuffer(data, np.float32).copy(), glb.skins[0].joints,
                              [glb.nodes[j].translation for j in glb.skins[0].joints]))
        assert positions[0][0].tobytes() == positions[1][0].tobytes()
        assert positions[0][2] == positions[1][2]
        assert lib.get("mira.ep01").parents == lib.get("mira.ep02").parents == ("mira@2",)


def test_every_stylized_shot_records_its_style(built):
    root, _, _ = built
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        style = lib.get("style.series")
        assert style.kind == "style" and style.provenance["settings"]["name"] == "toon"
    for done in (root / ".reskin" / "cache" / "stylize").glob("*/done.json"):
        assert json.loads(done.read_text())["style"] == style.ref


def test_every_episode_mp4_has_one_video_and_one_audio_stream_of_equal_length(built):
    from reskin.render import probe

    _, report, _ = built
    for ep in report["episodes"]:
        info = probe.probe(ep["video"])
        assert len(info.of("video")) == 1 and len(info.of("audio")) == 1
        assert info.of("audio")[0].sample_rate == 48000
        d = probe.stream_durations(ep["video"])
        assert abs(d["video"] - 1.5) < 1e-6 and abs(d["audio"] - d["video"]) <= 1 / 4
        assert len(info.of("subtitle")) == 1  # both sample episodes have dialogue
        assert Path(ep["audio"]).exists()


def test_a_music_bed_remuxes_the_episodes_only_and_a_bad_one_is_one_line(built, tmp_path):
    import soundfile

    from reskin.render import probe

    root, _, _ = built
    copy = tmp_path / "music"
    shutil.copytree(root, copy)
    mp4s = {p: p.stat().st_mtime_ns for p in (copy / "out").rglob("*.mp4")}
    (copy / "theme.ogg").write_bytes(b"OggS, but not a song")
    (copy / "series.yaml").write_text(TINY + "music: theme.ogg\n")
    bad = CliRunner().invoke(main, ["build", str(copy)])
    assert bad.exit_code == 2 and bad.output.count("\n") == 1, bad.output
    assert "theme.ogg" in bad.output and "series.yaml:6: music" in bad.output
    assert {p: p.stat().st_mtime_ns for p in mp4s} == mp4s  # nothing published
    t = np.arange(48000) / 48000
    soundfile.write(str(copy / "theme.ogg"), 0.3 * np.sin(2 * np.pi * 330 * t), 48000,
                    format="OGG")
    report = run_build(copy)
    assert all(s["cached"] for e in report["episodes"] for s in e["shots"])
    changed = {p.name for p in mp4s if p.stat().st_mtime_ns != mp4s[p]}
    assert changed == {"ep01.mp4", "ep02.mp4"}
    for ep in report["episodes"]:
        assert np.abs(probe.decode_audio(ep["video"])).max() > 0.05  # the music plays


def test_dialogue_becomes_subtitles(built):
    _, report, _ = built
    ep2 = next(e for e in report["episodes"] if e["id"] == "ep02")
    srt = Path(ep2["subtitles"]).read_text()
    assert "1\n00:00:00,100 --> 00:00:00,700\nTHEO: 好。" in srt
    assert "MIRA: No." in srt
    assert "THEO: 走。" in srt  # off-screen in s02: heard and subtitled


def test_rebuild_is_all_cached_and_fast(built, tmp_path):
    root, _, first = built
    copy = tmp_path / "again"
    shutil.copytree(root, copy)
    started = time.perf_counter()
    report = run_build(copy)
    seconds = time.perf_counter() - started
    assert report["assets_made"] == []
    assert all(s["cached"] for e in report["episodes"] for s in e["shots"])
    assert seconds < 10 and seconds < first / 3, (seconds, first)


def test_editing_one_shot_rerenders_only_it(built, tmp_path):
    root, _, _ = built
    copy = tmp_path / "edit"
    shutil.copytree(root, copy)
    ep2 = copy / "episodes" / "ep02.yaml"
    ep2.write_text(ep2.read_text().replace("yaw: 20, lens: 55", "yaw: 40, lens: 55"))
    dry = CliRunner().invoke(main, ["build", str(copy), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "render  ep02/s02-closeup" in dry.output and "changed: camera" in dry.output
    assert dry.output.count("cached") == 3
    report = run_build(copy)
    cached = {(e["id"], s["id"]): s["cached"] for e in report["episodes"] for s in e["shots"]}
    assert cached == {("ep01", "s01-medium"): True, ("ep01", "s02-closeup"): True,
                      ("ep02", "s01-two-shot"): True, ("ep02", "s02-closeup"): False}
    # the build keeps why, as the dry run said it (the review site shows it)
    assert last_why(copy, "ep02", "s02-closeup") == "changed: camera"
    assert last_why(copy, "ep02", "s01-two-shot") == "new shot"


def test_interrupted_render_resumes_at_missing_frames(built, tmp_path):
    root, _, _ = built
    copy = tmp_path / "resume"
    shutil.copytree(root, copy)
    renders = sorted((copy / ".reskin" / "cache" / "render").iterdir())
    victim = renders[0]
    (victim / "done.json").unlink()
    (victim / "beauty_0002.png").unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in victim.glob("beauty_*.png")}
    dry = CliRunner().invoke(main, ["build", str(copy), "--dry-run"])
    assert "resume" in dry.output and "2 of 3 frames already rendered" in dry.output
    report = run_build(copy)
    assert sum(not s["cached"] for e in report["episodes"] for s in e["shots"]) == 1
    assert (victim / "beauty_0002.png").exists() and (victim / "done.json").exists()
    assert {p: (victim / p).stat().st_mtime_ns for p in kept} == kept
    assert json.loads((victim / "done.json").read_text())["why"] == \
        "resumed: 2 of 3 frames were already rendered"
    assert not list(victim.glob(".*tmp*"))


def test_locked_episode_keeps_its_skins_when_the_wardrobe_changes(built, tmp_path):
    root, _, _ = built
    copy = tmp_path / "locked"
    shutil.copytree(root, copy)
    runner = CliRunner()
    result = runner.invoke(main, ["lock", "ep01", "-s", str(copy)])
    assert result.exit_code == 0 and "ep01: mira -> mira.ep01@1" in result.output
    spec = copy / "cast" / "mira" / "ep01.yaml"
    spec.write_text(spec.read_text().replace("#1f2a44", "#2a441f"))  # new trousers
    report = run_build(copy)
    assert report["assets_made"] == []  # the locked episode does not follow the wardrobe
    assert all(s["cached"] for e in report["episodes"] for s in e["shots"])
    removed = runner.invoke(main, ["asset", "rm", "mira.ep01@1", "-s", str(copy)])
    assert removed.exit_code == 2 and "pinned by episode:ep01" in removed.output
    assert runner.invoke(main, ["lock", "ep01", "--release", "-s", str(copy)]).exit_code == 0
    dry = runner.invoke(main, ["build", str(copy), "--dry-run"])
    assert "skin mira.ep01 will be made" in dry.output


def _frame_count(video: str) -> int:
    reader = imageio_ffmpeg.read_frames(video)
    next(reader)
    return sum(1 for _ in reader)


def test_stylizing_some_shots_republishes_the_whole_episode(built, tmp_path):
    root, _, _ = built
    copy = tmp_path / "some"
    shutil.copytree(root, copy)
    out = copy / "out" / "ep01"
    sheet = (out / "ep01_sheet.png").read_bytes()
    result = CliRunner().invoke(main, ["stylize", "ep01", "-s", str(copy), "--shots",
                                       "s02-closeup", "--json"])
    assert result.exit_code == 0, result.output
    (ep,) = json.loads(result.output)["episodes"]
    assert [(s["id"], s["cached"]) for s in ep["shots"]] == [("s01-medium", True),
                                                             ("s02-closeup", True)]
    assert _frame_count(ep["video"]) == 6  # both shots, not the one asked for
    assert (out / "ep01_sheet.png").read_bytes() == sheet  # both rows
    assert "00:00:00,200 -->" in (out / "ep01.srt").read_text()  # s01's line is still there


def test_force_renders_a_shot_again_and_logs_a_line_per_shot(built, tmp_path):
    root, report, _ = built
    copy = tmp_path / "force"
    shutil.copytree(root, copy)
    result = CliRunner().invoke(main, ["build", str(copy), "-e", "ep01", "--shot",
                                       "s02-closeup", "--force"])
    assert result.exit_code == 0, result.output
    # not a terminal: one line per finished shot instead of progress bars
    assert "reskin: rendered ep01/s02-closeup (3 frames)\n" in result.stderr
    assert "rendered ep01/s01-medium" not in result.stderr
    assert "ep01: 2 shots (1 cached)" in result.stdout and "ep02" not in result.stdout
    assert last_why(copy, "ep01", "s02-closeup") == "forced (--force)"
    again = run_build(copy)
    assert all(s["cached"] for e in again["episodes"] for s in e["shots"])
    forced = Path(shot(again, "ep01", "s02-closeup")["folder"])
    first = Path(shot(report, "ep01", "s02-closeup")["folder"])
    assert np.array_equal(frames_of({"folder": forced}), frames_of({"folder": first}))


def test_json_paths_are_absolute(built, tmp_path, monkeypatch):
    root, _, _ = built
    shutil.copytree(root, tmp_path / "rel")
    monkeypatch.chdir(tmp_path)
    report = run_build(Path("rel"))
    for ep in report["episodes"]:
        assert Path(ep["video"]).is_absolute() and Path(ep["video"]).exists()
        assert Path(ep["contact_sheet"]).is_absolute()
        for s in ep["shots"]:
            assert {"id", "frames", "folder", "video"} <= set(s)
            assert Path(s["folder"]).is_absolute() and Path(s["video"]).exists()
