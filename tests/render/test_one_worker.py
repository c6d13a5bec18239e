"""One long-lived worker renders a shot exactly as a fresh worker does, whatever came before."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from reskin.pipeline.build import build
from reskin.render.blender.client import BlenderWorker
from tests.render.series import sample_cast_series

SERIES = """\
name: oneworker
resolution: [48, 80]
fps: 8
render: {engine: cycles, samples: 4, passes: [depth, normal, instance, motion]}
style: {stylizer: none}
"""
# The first shot leaves a second character, a set and other lights behind in the worker; the
# second has one character, placed elsewhere, seen from elsewhere.
EPISODE = """\
shots:
  - id: pair
    duration: 0.25
    cast:
      - {character: mira, clip: wave, position: [-0.4, 0]}
      - {character: theo, position: [0.5, 0.2], facing: -30}
    camera: {framing: wide}
    set: {floor: "#808080", wall: "#c0c0c0"}
  - id: solo
    duration: 0.25
    cast: [{character: mira, clip: wave, position: [0.3, 0.1], facing: 20}]
    camera: {framing: medium}
"""


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    """shot id -> its plan (as the worker gets it)"""
    root = sample_cast_series(tmp_path_factory.mktemp("oneworker") / "s", SERIES, EPISODE)
    build(root)
    out = {}
    for done in (root / ".reskin" / "cache" / "render").glob("*/done.json"):
        plan = json.loads(done.read_text())["plan"]
        plan["frames"] = list(range(plan["frame_count"]))
        out[plan["name"].rsplit("/", 1)[-1]] = plan
    assert len(out) == 2, sorted(out)
    return out


def frames(folder) -> dict[str, np.ndarray]:
    """file name -> its pixels (beauty RGBA) or its channels stacked (passes)."""
    import OpenEXR

    out = {}
    for p in sorted(folder.iterdir()):
        if p.suffix == ".png":
            out[p.name] = np.asarray(Image.open(p))
        elif p.suffix == ".exr":
            with OpenEXR.File(str(p), separate_channels=True) as exr:
                channels = {n: ch.pixels for part in exr.parts for n, ch in part.channels.items()}
            out[p.name] = np.stack([channels[n] for n in sorted(channels)])
            out[p.name + " channels"] = np.array(sorted(channels))
    return out


def test_a_shot_after_another_in_one_worker_equals_a_fresh_workers(plans, tmp_path):
    pair, solo = plans["pair"], plans["solo"]
    with BlenderWorker(tmp_path / "one.log") as worker:
        worker.render_shot(pair | {"out_dir": str(tmp_path / "one-pair")})
        worker.render_shot(solo | {"out_dir": str(tmp_path / "one-solo")})
    with BlenderWorker(tmp_path / "fresh.log") as worker:
        worker.render_shot(solo | {"out_dir": str(tmp_path / "fresh-solo")})
    warm, fresh = frames(tmp_path / "one-solo"), frames(tmp_path / "fresh-solo")
    n = solo["frame_count"]
    assert sorted(warm) == sorted(fresh)
    assert len([k for k in fresh if k.endswith(".png")]) == n
    assert len([k for k in fresh if k.endswith(".exr")]) == n
    for name, pixels in fresh.items():
        assert np.array_equal(warm[name], pixels), name
    # the beauty shows one character, not the first shot's set behind it
    alpha = fresh["beauty_0000.png"][..., 3]
    assert 0.05 < (alpha > 0).mean() < 0.9
