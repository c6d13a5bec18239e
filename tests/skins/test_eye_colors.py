"""Eyes that read on any face: contrast of sclera, iris and lid line against each other and
the skin, as pure colour functions and on a painted face."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from reskin.core.skeleton import HUMANOID_JOINTS, Skeleton
from reskin.skins.eye_colors import contrast, eye_colors, luminance, with_contrast
from reskin.skins.paint import FACE_LABELS, paint_materials


def _rgb(text: str) -> tuple[float, float, float]:
    return tuple(int(text[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


SKINS = ["#ffffff", "#ffe0d0", "#f5d5c0", "#e0b08c", "#c68642", "#a0663a", "#8d5524",
         "#5a3825", "#3b2219", "#2a1710", "#1e120d", "#000000"]
EYES = ["#2e4053", "#1a1a1a", "#000000", "#3b2a20", "#5a3825", "#8a5a2b", "#6a8f3a",
        "#a0c8f0", "#d0e8ff", "#ffffff"]


@pytest.mark.parametrize("skin, eye", list(itertools.product(SKINS, EYES)))
def test_eyes_read_against_every_skin_tone(skin, eye):
    sclera, iris, lid = eye_colors(_rgb(skin), _rgb(eye))
    assert contrast(iris, sclera) >= 3.0
    assert contrast(lid, sclera) >= 3.0
    assert max(contrast(sclera, _rgb(skin)), contrast(lid, _rgb(skin))) >= 3.0
    if luminance(_rgb(skin)) <= 0.2:  # on darker skin the whites themselves stand out
        assert contrast(sclera, _rgb(skin)) >= 3.0


def test_colours_that_already_contrast_are_kept_and_hue_survives_darkening():
    assert eye_colors(_rgb("#e0b08c"), _rgb("#1a1a1a"))[1] == pytest.approx(_rgb("#1a1a1a"))
    light_blue = _rgb("#a0c8f0")
    dark = with_contrast(light_blue, (0.93, 0.92, 0.89))
    assert contrast(dark, (0.93, 0.92, 0.89)) >= 3.0
    assert dark[2] > dark[1] > dark[0]  # still blue
    assert contrast(with_contrast((0.2, 0.2, 0.2), (0.2, 0.2, 0.2), darker=False),
                    (0.2, 0.2, 0.2)) >= 3.0


def test_a_dark_eyed_dark_skinned_face_is_painted_with_readable_eyes():
    head_y, head_len = 1.5, 0.25
    n = len(HUMANOID_JOINTS)
    heads = np.zeros((n, 3), np.float32)
    heads[:, 1] = np.linspace(0, 1.2, n)
    names = [j for j, _ in HUMANOID_JOINTS]
    heads[names.index("head")] = (0, head_y, 0)
    tails = heads + [0, 0.1, 0]
    tails[names.index("head")] = (0, head_y + head_len, 0)
    skel = Skeleton(tuple(names), np.array(
        [-1 if p is None else names.index(p) for _, p in HUMANOID_JOINTS], np.int32),
        heads, tails)
    # the front of the face as a 200 x 200 texel plane, x -0.1..0.1, y over the head
    xs, ys = np.meshgrid(np.linspace(-0.1, 0.1, 200), np.linspace(head_y, head_y + head_len,
                                                                  200))
    position = np.stack([xs, ys, np.full_like(xs, 0.08)], -1).astype(np.float32)
    part = np.zeros(xs.shape, np.int16)
    skin, eye = _rgb("#3b2219"), _rgb("#1e120d")
    rgb, _ = paint_materials(position, part, ("head",), skel,
                             {"skin_tone": skin, "hair": (0.1, 0.05, 0.0), "eyes": eye}, None)

    def at(x: float, y: float) -> tuple[float, float, float]:
        i = int(round((y - head_y) / head_len * 199))
        j = int(round((x + 0.1) / 0.2 * 199))
        return tuple(rgb[i, j, :3] / 255.0)  # type: ignore[return-value]

    eye_x, eye_y, r = 0.16 * head_len, head_y + 0.5 * head_len, 0.055 * head_len
    iris, sclera, lid = at(eye_x, eye_y), at(eye_x + 0.75 * r, eye_y), at(eye_x, eye_y + r)
    face = at(0.0, head_y + 0.4 * head_len)
    assert face == pytest.approx(skin, abs=1 / 255)
    assert contrast(sclera, face) >= 3.0 and contrast(iris, sclera) >= 3.0
    assert contrast(lid, sclera) >= 3.0
    assert len(FACE_LABELS) == 11
