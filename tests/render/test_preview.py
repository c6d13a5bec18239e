"""The preview renderer draws the same plan as Blender: same camera, same pose."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from reskin.cli import main
from reskin.pipeline.build import build
from tests.render.series import sample_cast_series

SERIES = """\
name: preview
resolution: [54, 96]
fps: 4
render: {engine: cycles, samples: 2}
style: {stylizer: none}
"""
EPISODE = """\
shots:
  - id: wave
    duration: 1.0
    cast: [{character: mira, clip: wave, facing: 30}]
    camera: {framing: medium, yaw: -20}
"""


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = sample_cast_series(tmp_path_factory.mktemp("preview") / "s", SERIES, EPISODE)
    build(root)
    return root


def test_preview_matches_blender_silhouettes(series):
    result = CliRunner().invoke(main, ["render", "ep01", "-s", str(series), "--preview",
                                       "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["fps"] > 0 and report["shots"][0]["frames"] == 4
    (render,) = (series / ".reskin" / "cache" / "render").iterdir()
    background = np.array([0xEF, 0xE3, 0xCF])
    for i in range(4):
        blender = np.asarray(Image.open(render / f"beauty_{i:04d}.png"))[..., 3] > 127
        preview_rgb = np.asarray(Image.open(
            series / "out" / "ep01" / "preview" / "wave" / f"preview_{i:04d}.png")).astype(int)
        preview = np.abs(preview_rgb - background).max(axis=-1) > 12
        iou = (blender & preview).sum() / (blender | preview).sum()
        assert iou > 0.85, f"frame {i}: silhouettes overlap only {iou:.2f}"
    # the wave moves the silhouette, and the preview follows it
    first = np.asarray(Image.open(render / "beauty_0000.png"))[..., 3] > 127
    last = np.asarray(Image.open(render / "beauty_0003.png"))[..., 3] > 127
    assert (first ^ last).mean() > 0.02


def test_preview_of_a_missing_episode_is_a_clear_error(series):
    result = CliRunner().invoke(main, ["render", "ep09", "-s", str(series), "--preview"])
    assert result.exit_code == 2 and "no episode 'ep09'" in result.output


def test_preview_json_has_the_build_keys_with_absolute_paths(series, monkeypatch):
    monkeypatch.chdir(series.parent)
    result = CliRunner().invoke(main, ["render", "ep01", "-s", series.name, "--preview",
                                       "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["id"] == "ep01" and report["video"] is None
    (shot,) = report["shots"]
    assert set(shot) == {"id", "frames", "folder", "video"}
    assert shot["folder"] == str(series.resolve() / "out" / "ep01" / "preview" / "wave")
    assert shot["video"] == shot["folder"] + "/wave.mp4" and Path(shot["video"]).exists()
