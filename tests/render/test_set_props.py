"""Sets with props from the library, rendered for real."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh
from click.testing import CliRunner

from reskin.cli import main
from reskin.core.errors import ReskinError
from reskin.pipeline.build import build
from reskin.render.passes import read_shot_passes
from tests.render.series import sample_cast_series

SERIES = """\
name: props
resolution: [54, 96]
fps: 4
render: {engine: cycles, samples: 2, passes: [depth, instance]}
style: {stylizer: none}
"""
EPISODE = """\
shots:
  - id: a
    duration: 0.25
    cast: [{character: mira, position: [-0.4, 0]}]
    camera: {framing: wide}
    set:
      floor: "#808080"
      wall: "#c0c0c0"
      props:
        - {asset: crate, position: [0.45, 0.3], facing: 30}
"""


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = sample_cast_series(tmp_path_factory.mktemp("props") / "s", SERIES, EPISODE)
    box = trimesh.creation.box((0.5, 0.5, 0.5))
    box.visual.face_colors = [200, 40, 40, 255]
    glb = root.parent / "crate.glb"
    glb.write_bytes(box.export(file_type="glb"))
    result = CliRunner().invoke(main, ["asset", "import", str(glb), "--name", "crate",
                                       "--kind", "prop", "--unit", "m", "-s", str(root)])
    assert result.exit_code == 0, result.output
    build(root)
    return root


def test_prop_stands_in_the_set_beside_the_cast(series):
    (render,) = (series / ".reskin" / "cache" / "render").iterdir()
    plan = json.loads((render / "done.json").read_text())["plan"]
    assert plan["set"]["props"][0]["key"] == "crate@1"
    passes = read_shot_passes(sorted(render.glob("passes_*.exr")), [plan["camera"]])
    depth, inst = passes["depth"][0], passes["instance"][0]
    wall = np.median(depth[:10])  # the top rows see the backdrop
    near = (inst == 0) & (depth < wall - 1.0)  # set pieces well in front of the wall
    rows, cols = np.nonzero(near[:80])  # above the floor's nearest rows
    assert len(cols) > 10, "the crate is not in the frame"
    # the crate stands right of the character (x = 0.45 vs -0.4)
    mira_cols = np.nonzero(inst == 1)[1]
    assert np.median(cols) > np.median(mira_cols)


def test_the_preview_draws_the_prop_where_blender_does(series):
    from PIL import Image

    result = CliRunner().invoke(main, ["render", "ep01", "-s", str(series), "--preview"])
    assert result.exit_code == 0, result.output
    (render,) = (series / ".reskin" / "cache" / "render").iterdir()
    plan = json.loads((render / "done.json").read_text())["plan"]
    inst = read_shot_passes(sorted(render.glob("passes_*.exr")), [plan["camera"]])[
        "instance"][0]

    def red(path):
        rgb = np.asarray(Image.open(path))[..., :3].astype(int)
        return (rgb[..., 0] > 90) & (rgb[..., 0] > 1.8 * rgb[..., 1]) & (
            rgb[..., 0] > 1.8 * rgb[..., 2])

    # The red crate right of the character (her striped top is red too: leave her columns out).
    beside = np.zeros_like(inst, bool)
    beside[:, np.nonzero(inst == 1)[1].max() + 3:] = True
    blender = red(render / "beauty_0000.png") & beside
    preview = red(series / "out" / "ep01" / "preview" / "a" / "preview_0000.png") & beside
    assert blender.sum() > 20 and preview.sum() > 20, "no crate"
    overlap = (blender & preview).sum() / (blender | preview).sum()
    assert overlap > 0.6, overlap
    for axis in (0, 1):
        assert abs(np.nonzero(blender)[axis].mean() - np.nonzero(preview)[axis].mean()) < 2


def test_a_missing_prop_names_the_file_line_and_field(series, tmp_path):
    ep = series / "episodes" / "ep01.yaml"
    ep.write_text(EPISODE.replace("asset: crate", "asset: barrel"))
    try:
        with pytest.raises(ReskinError) as info:
            build(series)
        assert "ep01.yaml:10" in str(info.value)
        assert "shots[0].set.props[0].asset: no asset 'barrel'" in str(info.value)
    finally:
        ep.write_text(EPISODE)
