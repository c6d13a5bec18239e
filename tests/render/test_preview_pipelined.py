"""The pipelined preview (frame n+1 drawn while frame n is rasterised and read back) gives the
frames the synchronous one does, exactly and in order: two characters, a set, a moving camera,
with and without multisampling."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.assets.character_spec import load_character
from reskin.assets.characters import ensure_generated
from reskin.assets.library import Library
from reskin.pipeline.series_init import create_demo
from reskin.render.preview import PreviewCharacter, PreviewRenderer
from reskin.rigging.rigged import ensure_rigged, load_rigged
from reskin.skins.paint import paint_materials

FRAMES = 6


@pytest.fixture(scope="module")
def character(tmp_path_factory):
    root = create_demo(tmp_path_factory.mktemp("pipelined") / "s")
    lib = Library(root / ".reskin")
    spec = load_character(root / "cast/mira/character.yaml")
    rig = load_rigged(lib, ensure_rigged(lib, ensure_generated(lib, spec)[0], spec)[0])
    texture, _ = paint_materials(rig.position, rig.part, rig.mesh.part_names, rig.skeleton,
                                 spec.identity(), None)
    yield PreviewCharacter.from_rig(rig, texture, 8, ("idle", "wave"))
    lib.close()


def two_character_shot() -> dict:
    path = [{"lens_mm": 35.0, "location": [0.3 * i, 1.3, 4.5 - 0.2 * i],
             "target": [0.0, 0.9, 0.0]} for i in range(FRAMES)]
    return {"frame_count": FRAMES, "camera": path[0], "camera_path": path,
            "cast": [{"key": "c", "clip": "wave", "position": [-0.5, 0, 0], "facing_deg": 20},
                     {"key": "c", "clip": "idle", "position": [0.6, 0, -0.4],
                      "facing_deg": -30}],
            "set": {"floor": [0.5, 0.45, 0.4], "wall": [0.7, 0.75, 0.8], "wall_z": -2.0},
            "lights": [{"type": "SUN", "location": [1.0, 3.0, 2.0]},
                       {"type": "AREA", "location": [-1.5, 1.6, 1.5]}]}


@pytest.mark.parametrize("samples", [0, 4])
def test_pipelined_frames_equal_the_synchronous_frames(character, samples):
    shot = two_character_shot()
    with PreviewRenderer(90, 160, samples=samples, pipelined=False) as sync:
        expected = sync.render_shot(shot, {"c": character})
    with PreviewRenderer(90, 160, samples=samples, pipelined=True) as renderer:
        got = renderer.render_shot(shot, {"c": character})
        # a frame subset, out of order, and a single frame: the same frames again
        subset = renderer.render_shot(shot, {"c": character}, frames=[4, 1, 2])
        single = renderer.render_shot(shot, {"c": character}, frames=[3])
    assert got.shape == (FRAMES, 160, 90, 4)
    # the set fills the frame, and the frames differ (the camera and the cast move)
    assert (got[..., 3] == 255).mean() > 0.9
    assert all(np.any(got[i] != got[i + 1]) for i in range(FRAMES - 1))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(subset, expected[[4, 1, 2]])
    np.testing.assert_array_equal(single, expected[[3]])
