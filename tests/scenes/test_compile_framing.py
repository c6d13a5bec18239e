"""Group framings on the compiled camera: every character of the shot inside a 9:16 frame, the
heads in its upper third (points projected through the plan's camera, as Blender frames it:
vertical sensor fit, a pinhole at the camera location looking at the target)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reskin.scenes.compile import ModelRef, compile_episode
from reskin.scenes.episode import load_episode
from reskin.scenes.series import SeriesConfig

HEIGHT = 1.7
HEAD = 0.92  # the middle of the head, as a fraction of the height


def project(camera: dict, point, aspect: float) -> tuple[float, float]:
    """(x, y) of ``point`` in the frame, 0..1 from the left and from the top."""
    loc, tgt = np.array(camera["location"]), np.array(camera["target"])
    fwd = (tgt - loc) / np.linalg.norm(tgt - loc)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    d = np.asarray(point, float) - loc
    depth = d @ fwd
    f = camera["lens_mm"] / (camera["sensor_mm"] / 2)
    ndc_y = (d @ up) / depth * f
    ndc_x = (d @ right) / depth * f / aspect
    return 0.5 + ndc_x / 2, 0.5 - ndc_y / 2


def _plan(tmp_path: Path, camera: str, positions: list[tuple[float, float]]):
    cast = "\n".join(f"      - {{character: c{i}, position: [{x}, {z}]}}"
                     for i, (x, z) in enumerate(positions))
    path = tmp_path / "ep01.yaml"
    path.write_text(f"shots:\n  - id: s\n    duration: 1\n    cast:\n{cast}\n"
                    f"    camera: {camera}\n")
    names = {f"c{i}" for i in range(len(positions))}
    episode = load_episode(path, names)
    series = SeriesConfig(root=tmp_path, name="t")
    skins = {n: ModelRef(ref=f"{n}@1", glb="", content_hash="0", height=HEIGHT) for n in names}
    (plan,) = compile_episode(series, episode, skins)
    return plan


@pytest.mark.parametrize("camera", ["{framing: two-shot}", "{framing: wide}"])
@pytest.mark.parametrize("positions", [[(-0.6, 0.0), (0.6, 0.0)], [(-0.3, 0.0), (0.3, 0.0)],
                                       [(-1.0, 0.0), (1.0, 0.5)]])
def test_group_framings_show_everyone_with_heads_in_the_upper_third(tmp_path, camera,
                                                                     positions):
    plan = _plan(tmp_path, camera, positions)
    aspect = plan.width / plan.height
    assert aspect == pytest.approx(9 / 16)
    for x, z in positions:
        for side in (-0.25, 0.25):  # shoulders, each side of the body
            for y in (0.0, HEIGHT):
                u, v = project(plan.camera, (x + side, y, z), aspect)
                assert 0.0 <= u <= 1.0 and 0.0 <= v <= 1.0, (x, y, u, v)
        _, head = project(plan.camera, (x, HEAD * HEIGHT, z), aspect)
        _, top = project(plan.camera, (x, HEIGHT, z), aspect)
        assert 0.0 < top and head < 1 / 3, (x, top, head)


def test_wide_of_one_character_is_unchanged_and_on_still_picks(tmp_path):
    one = _plan(tmp_path, "{framing: wide}", [(0.0, 0.0)])
    assert one.camera["target"] == pytest.approx([0.0, 0.52 * HEIGHT, 0.0])
    picked = _plan(tmp_path, "{framing: wide, on: c1}", [(-0.6, 0.0), (0.6, 0.0)])
    assert picked.camera["target"] == pytest.approx([0.6, 0.52 * HEIGHT, 0.0])
