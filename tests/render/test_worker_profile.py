"""The worker's profile of a Cycles render: ``render_split`` accounts for the render phase."""

from __future__ import annotations

import json

from reskin.pipeline.build import build
from reskin.render.blender.client import BlenderWorker
from tests.render.series import sample_cast_series

SERIES = """\
name: profile
resolution: [48, 80]
fps: 8
render: {engine: cycles, samples: 2}
style: {stylizer: none}
"""
EPISODE = """\
shots:
  - id: wave
    duration: 0.25
    cast: [{character: mira, clip: wave}]
    camera: {framing: medium}
"""


def test_render_split_accounts_for_every_frame_of_the_render_phase(tmp_path):
    root = sample_cast_series(tmp_path / "s", SERIES, EPISODE)
    build(root)
    (render,) = [p for p in (root / ".reskin" / "cache" / "render").iterdir()]
    plan = json.loads((render / "done.json").read_text())["plan"]
    with BlenderWorker(tmp_path / "w.log") as worker:
        replies = [worker.render_shot(plan | {"out_dir": str(tmp_path / f"o{k}"),
                                              "frames": [0, 1]}) for k in range(2)]
    for reply in replies:  # the first shot (imports, kernels) and a warm one alike
        split, render = reply["render_split"], reply["phases"]["render"]
        assert set(split) == {"sync", "trace", "after"}
        assert all(v >= 0 for v in split.values())
        assert split["trace"] > 0
        # the stages lie inside the render calls, and cover nearly all of them
        assert sum(split.values()) <= render + 1e-3
        assert sum(split.values()) >= 0.9 * render
