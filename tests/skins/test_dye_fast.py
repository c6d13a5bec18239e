"""The fast paths of re-skinning a file character give the same texels as the plain ones:
recolouring once per distinct colour, and the texture's PNG (lossless, decoded bit for bit)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from reskin.skins import dye
from reskin.skins.fast_png import png_bytes


def _reference_recolour(image: np.ndarray, mask: np.ndarray, target) -> np.ndarray:
    """The dye written texel by texel (every texel through the whole computation)."""
    lab = dye.srgb_to_lab(image[..., :3][mask] / 255.0)
    goal = dye.srgb_to_lab(np.asarray(target, np.float64)[None])[0]
    out = np.empty_like(lab)
    out[:, 0] = np.clip(goal[0] + dye._lightness_deviation(lab[:, 0], goal[0]), 0.0, 100.0)
    out[:, 1:] = goal[1:]
    result = np.array(image, copy=True)
    result[..., :3][mask] = np.round(dye._in_gamut_srgb(out) * 255.0).astype(np.uint8)
    return result


def _baked(rng, shape: tuple[int, int], colours: int) -> np.ndarray:
    """A texture of a few hundred colours (as a baked atlas has), with a random alpha."""
    palette = rng.integers(0, 256, (colours, 4), dtype=np.uint8)
    return palette[rng.integers(0, colours, shape)]


@pytest.mark.parametrize("target", [(0.18, 0.52, 0.76), (0.0, 0.0, 1.0), (1, 1, 1), (0, 0, 0),
                                    (0.05, 0.05, 0.3)])
def test_recolour_per_distinct_colour_matches_the_texel_by_texel_dye(target):
    rng = np.random.default_rng(7)
    image = _baked(rng, (96, 80), 300)
    mask = rng.random((96, 80)) < 0.6
    want = _reference_recolour(image, mask, target)
    assert np.array_equal(dye.recolour(image, mask, target), want)  # RGBA, one word a texel
    assert np.array_equal(dye.recolour(image[..., :3], mask, target), want[..., :3])  # RGB view
    noise = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)  # every texel its own colour
    assert np.array_equal(dye.recolour(noise, mask[:64, :64], target),
                          _reference_recolour(noise, mask[:64, :64], target))


def test_unique_codes_find_every_distinct_value_once_even_when_buckets_collide():
    rng = np.random.default_rng(3)
    for n, distinct in ((1, 1), (5000, 4000), (200000, 150000), (100000, 37)):
        code = rng.integers(0, 1 << 24, distinct, dtype=np.uint32)[
            rng.integers(0, distinct, n)]
        found, which = dye._unique_codes(code)
        assert np.array_equal(found[which], code)
        assert len(found) == len(np.unique(code))


@pytest.mark.parametrize("shape", [(1, 1, 3), (37, 53, 3), (64, 48, 4), (17, 9, 4)])
def test_png_bytes_decode_to_the_same_texels(shape):
    rng = np.random.default_rng(len(shape) + shape[0])
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    if shape == (64, 48, 4):
        image[..., 3] = 255  # opaque: stored as RGB, decoded the same
    data = png_bytes(image)
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == ("RGBA" if shape[2] == 4 and shape != (64, 48, 4) else "RGB")
        back = np.asarray(im.convert("RGBA" if shape[2] == 4 else "RGB"))
    assert np.array_equal(back, image)
    with pytest.raises(ValueError):
        png_bytes(image.astype(np.float32))
