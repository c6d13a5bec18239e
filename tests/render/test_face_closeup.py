"""A close-up of the procedural face through the preview renderer reads as a face: a blink
changes the eyes and nothing else of substance, ``aa`` and ``happy`` change the mouth, a look to
the left moves the irises left in the image. Also writes the contact sheet (``face_sheet``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reskin.assets.character_spec import load_character
from reskin.assets.characters import ensure_generated
from reskin.assets.generator import PART_NAMES
from reskin.assets.library import Library
from reskin.core.mesh import Mesh
from reskin.pipeline.series_init import create_demo
from reskin.render.preview import PreviewCharacter, PreviewRenderer
from reskin.rigging.rigged import RiggedCharacter, ensure_rigged, load_rigged
from reskin.skins.paint import paint_materials

SHAPES = ("", "blinkLeft", "happy", "aa", "lookLeft")
SIZE = (108, 192)  # 9:16, as the 1080x1920 close-ups, a tenth of the size


def with_shape(rig: RiggedCharacter, name: str, weight: float = 1.0) -> RiggedCharacter:
    """``rig`` with morph target ``name`` applied at ``weight`` to its rest mesh ("": none)."""
    m = rig.mesh
    v = m.vertices if not name else m.vertices + np.float32(weight) * m.targets[name]
    return dataclasses.replace(rig, mesh=Mesh(v, m.faces, m.uvs, m.uv_faces, m.parts,
                                              m.part_names, targets=m.targets))


def closeup_shot(rig: RiggedCharacter) -> dict:
    """An 85 mm head-and-shoulders close-up, straight on, of ``rig`` standing at the origin."""
    eye = np.unique(rig.mesh.faces[rig.mesh.parts == PART_NAMES.index("eye_pupil")])
    y = float(rig.mesh.vertices[eye, 1].mean()) - 0.04
    return {"frame_count": 1,
            "camera": {"lens_mm": 85.0, "location": [0.0, y, 1.5], "target": [0.0, y, 0.0]},
            "cast": [{"key": "c", "clip": "idle", "position": [0, 0, 0], "facing_deg": 0}],
            "lights": [{"type": "SUN", "location": [0.6, 2.5, 3.0]},
                       {"type": "AREA", "location": [-1.5, 1.6, 1.5]}]}


def face_sheet(rig: RiggedCharacter, texture: np.ndarray, size: tuple[int, int],
               shapes: tuple[str, ...] = SHAPES) -> list[np.ndarray]:
    """One (h, w, 4) uint8 close-up per shape (the neutral face for "")."""
    with PreviewRenderer(*size) as renderer:
        out = []
        for name in shapes:
            ch = PreviewCharacter.from_rig(with_shape(rig, name), texture, 8, ("idle",))
            out.append(renderer.render_shot(closeup_shot(rig), {"c": ch}, frames=[0])[0])
    return out


def save_sheet(frames: list[np.ndarray], path: Path) -> None:
    rgb = [f[..., :3] * (f[..., 3:4] / 255) + 235 * (1 - f[..., 3:4] / 255) for f in frames]
    Image.fromarray(np.hstack(rgb).round().astype(np.uint8)).save(path)


@pytest.fixture(scope="module")
def mira(tmp_path_factory):
    root = create_demo(tmp_path_factory.mktemp("closeup") / "s")
    lib = Library(root / ".reskin")
    spec = load_character(root / "cast/mira/character.yaml")
    rig = load_rigged(lib, ensure_rigged(lib, ensure_generated(lib, spec)[0], spec)[0])
    texture, _ = paint_materials(rig.position, rig.part, rig.mesh.part_names, rig.skeleton,
                                 spec.identity(), None)
    yield rig, texture
    lib.close()


@pytest.fixture(scope="module")
def frames(mira, tmp_path_factory):
    rig, texture = mira
    out = face_sheet(rig, texture, SIZE)
    save_sheet(out, tmp_path_factory.mktemp("sheet") / "face_sheet.png")
    return dict(zip(SHAPES, out, strict=True))


def _changed(a: np.ndarray, b: np.ndarray, by: int = 40) -> np.ndarray:
    return np.abs(a[..., :3].astype(int) - b[..., :3].astype(int)).max(axis=-1) > by


def _rows(mask: np.ndarray) -> tuple[float, float]:
    ys = np.flatnonzero(mask.any(axis=1))
    return ys.min() / len(mask), ys.max() / len(mask)


def test_the_closeup_is_a_face(frames):
    neutral = frames[""]
    cast = neutral[..., 3] > 127
    assert 0.2 < cast.mean() < 0.9  # the head fills the frame, with room around it
    # Dark pupils and light eye whites in the upper half of the head, side by side.
    rgb = neutral[..., :3].astype(int)
    dark = cast & (rgb.max(axis=-1) < 50)
    ys, xs = np.nonzero(dark)
    assert len(xs) > 4
    assert (xs < SIZE[0] / 2).any() and (xs > SIZE[0] / 2).any()


def test_a_blink_changes_one_eye_and_nothing_else(frames):
    diff = _changed(frames[""], frames["blinkLeft"])
    assert diff.sum() > 10
    top, bottom = _rows(diff)
    assert bottom - top < 0.1  # one band: the eye
    ys, xs = np.nonzero(diff)
    # The character's left eye is on the image's right (the camera faces the character).
    assert xs.min() > SIZE[0] * 0.45


def test_mouth_shapes_change_the_mouth_below_the_eyes(frames):
    eyes_top, eyes_bottom = _rows(_changed(frames[""], frames["blinkLeft"]))
    for name in ("aa", "happy"):
        diff = _changed(frames[""], frames[name], 20)  # lips are close to the skin's colour
        assert diff.sum() > 10, name
        rows = np.flatnonzero(diff.any(axis=1)) / SIZE[1]
        assert (rows > eyes_bottom + 0.05).sum() >= 3, name  # the mouth, well below the eyes


def test_a_look_left_moves_the_irises_left_in_the_image_of_the_characters_left(frames):
    top, bottom = _rows(_changed(frames[""], frames["blinkLeft"]))
    band = np.zeros(SIZE[::-1], bool)  # the eyes' rows (the hair is dark too)
    band[int(top * SIZE[1]) - 1:int(bottom * SIZE[1]) + 2] = True

    def pupils_x(f):
        rgb = f[..., :3].astype(int)
        # Near-black: the pupils. Lit hair at the band's ends is dark brown (under 60), and
        # its fixed pixels would swamp the pupils' shift.
        _, xs = np.nonzero(band & (f[..., 3] > 127) & (rgb.max(axis=-1) < 30))
        return xs.mean()

    # lookLeft is the character's own left: the image's right for a camera facing them.
    assert pupils_x(frames["lookLeft"]) > pupils_x(frames[""]) + 0.5
