"""Render passes through real Blender: consistent with the beauty and predictive of motion."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from reskin.pipeline.build import build
from reskin.render.blender.client import BlenderWorker
from reskin.render.exr import PASS_CHANNELS
from reskin.render.passes import read_passes, read_shot_passes
from tests.render.series import sample_cast_series

SERIES = """\
name: passes
resolution: [96, 160]
fps: 8
render: {engine: cycles, samples: 16, passes: [depth, normal, instance, motion, uv]}
style: {stylizer: none}
"""
EPISODE = """\
shots:
  - id: wave
    duration: 0.375
    cast: [{character: mira, clip: wave}]
    camera: {framing: medium}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the shot's render cache folder, its plan)"""
    root = sample_cast_series(tmp_path_factory.mktemp("passes") / "s", SERIES, EPISODE)
    build(root)
    (render,) = [p for p in (root / ".reskin" / "cache" / "render").iterdir()]
    return render, json.loads((render / "done.json").read_text())["plan"]


@pytest.fixture(scope="module")
def shot(built):
    render, plan = built
    rgba = np.stack([np.asarray(Image.open(p), np.float32) / 255
                     for p in sorted(render.glob("beauty_*.png"))])
    passes = read_shot_passes(sorted(render.glob("passes_*.exr")), [plan["camera"]])
    return rgba, passes


def test_depth_and_instance_agree_with_the_beauty(shot):
    rgba, passes = shot
    assert rgba.shape == (3, 160, 96, 4)
    solid = rgba[..., 3] > 0.99
    empty = rgba[..., 3] < 0.01
    assert solid.mean() > 0.1
    assert np.isfinite(passes["depth"][solid]).all()
    assert np.isinf(passes["depth"][empty]).all()
    assert (passes["instance"][solid] == 1).all() and (passes["instance"][empty] == 0).all()
    # medium shot of a 1.68 m character with a 50 mm lens: the body is ~2.2 m away
    assert 1.5 < np.median(passes["depth"][solid]) < 3.0


def test_normals_face_the_camera_and_turn_with_the_surface(shot):
    rgba, passes = shot
    inner = ndimage.binary_erosion(passes["instance"][0] == 1, iterations=2)
    n = passes["normal"][0]
    assert np.allclose(np.linalg.norm(n[inner], axis=-1), 1, atol=1e-3)
    assert (n[inner][:, 2] > 0).mean() > 0.97  # visible surfaces face the viewer
    # across the torso at mid-height, normals swing from pointing left to pointing right
    row = int(np.median(np.nonzero(inner)[0]))
    cols = np.nonzero(inner[row])[0]
    assert n[row, cols[0], 0] < -0.3 and n[row, cols[-1], 0] > 0.3


def test_motion_vectors_predict_the_next_frame(shot):
    rgba, passes = shot
    errors_exact, errors_static = [], []
    h, w = rgba.shape[1:3]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    for t in range(len(rgba) - 1):
        m = passes["motion"][t]
        on = (passes["instance"][t] == 1) & (rgba[t, ..., 3] > 0.99)
        # where the surface at (x, y) went, and whether it is still visible there
        nx, ny = xx + m[..., 0], yy + m[..., 1]
        nxt = np.stack([ndimage.map_coordinates(rgba[t + 1, ..., c], [ny, nx], order=1)
                        for c in range(4)], axis=-1)
        inst_next = ndimage.map_coordinates(passes["instance"][t + 1].astype(np.float32),
                                            [ny, nx], order=0)
        valid = on & (inst_next == 1) & (nxt[..., 3] > 0.99)
        moving = valid & (np.hypot(m[..., 0], m[..., 1]) > 0.5)
        assert moving.sum() > 50, "the wave must move some pixels"
        errors_exact.append(np.abs(nxt[..., :3] - rgba[t, ..., :3])[moving].mean())
        errors_static.append(np.abs(rgba[t + 1, ..., :3] - rgba[t, ..., :3])[moving].mean())
    exact, static = float(np.mean(errors_exact)), float(np.mean(errors_static))
    print(f"warp error: exact motion {exact:.4f}, no motion {static:.4f}")
    assert exact < 0.6 * static, (exact, static)
    assert exact < 0.08, exact


def test_uv_pass_names_the_same_surface_point_across_frames(shot):
    rgba, passes = shot
    uv = passes["uv"]
    on = passes["instance"][0] == 1
    assert ((uv[0][on] >= 0) & (uv[0][on] <= 1)).all()
    # the head barely moves in the wave clip: the uv seen at the head's pixels stays put (the
    # median over the head: a single pixel may sit on a chart seam, where uv jumps)
    top = np.nonzero(on.any(axis=1))[0][0]
    head = np.zeros_like(on)
    head[top:top + 8] = True
    head &= on & (passes["instance"][1] == 1)
    assert head.sum() > 10
    assert float(np.median(np.abs(uv[0][head] - uv[1][head]).max(axis=-1))) < 0.02


def test_only_the_passes_asked_for_are_written(built, tmp_path):
    render, plan = built
    import OpenEXR

    with BlenderWorker(tmp_path / "w.log") as worker:
        worker.render_shot(plan | {"out_dir": str(tmp_path / "some"), "frames": [0],
                                   "passes": ["depth", "instance"]})
        worker.render_shot(plan | {"out_dir": str(tmp_path / "none"), "frames": [0],
                                   "passes": []})
    with OpenEXR.File(str(tmp_path / "some" / "passes_0000.exr"), separate_channels=True) as f:
        names = {n for part in f.parts for n in part.channels}
    assert names == {*PASS_CHANNELS["depth"], *PASS_CHANNELS["instance"]}
    some = read_passes(tmp_path / "some" / "passes_0000.exr", plan["camera"])
    assert set(some) == {"depth", "instance"}
    full = read_passes(render / "passes_0000.exr", plan["camera"])
    assert set(full) == {"depth", "normal", "instance", "motion", "uv"}
    assert np.array_equal(some["instance"], full["instance"])  # same frame, same settings
    assert (tmp_path / "none" / "beauty_0000.png").exists()
    assert not list((tmp_path / "none").glob("*.exr"))
