"""Dyeing a baked texture in place: a region's texels take a new colour or fabric while each
keeps its lightness deviation from the region's mean, so folds, seams and shading stay.

Works in CIELAB (D65); out-of-gamut colours give up chroma, not hue. Used for wardrobes on an
imported character's own atlas (:mod:`reskin.skins.file_regions`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

_M = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
               [0.0193339, 0.1191920, 0.9503041]])
_M_INV = np.linalg.inv(_M)
_WHITE = np.array([0.95047, 1.0, 1.08883])
_D = 6.0 / 29.0


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB in [0, 1] -> (..., 3) CIELAB (D65): L 0..100, a and b about -128..127."""
    c = np.asarray(rgb, np.float64)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    t = (lin @ _M.T) / _WHITE
    f = np.where(t > _D ** 3, np.cbrt(t), t / (3 * _D * _D) + 4.0 / 29.0)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """(..., 3) CIELAB -> (..., 3) sRGB, not clipped (out-of-gamut values leave [0, 1])."""
    lab = np.asarray(lab, np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    t = np.where(f > _D, f ** 3, 3 * _D * _D * (f - 4.0 / 29.0)) * _WHITE
    lin = t @ _M_INV.T
    return np.where(lin <= 0.0031308, 12.92 * lin,
                    1.055 * np.abs(lin) ** (1 / 2.4) * np.sign(lin) - 0.055)


def _in_gamut_srgb(lab: np.ndarray) -> np.ndarray:
    """(k, 3) sRGB in [0, 1] for (k, 3) Lab, chroma reduced (hue and lightness kept) until the
    colour exists in sRGB, instead of clipping channels (which would shift the hue)."""
    eps = 1e-6
    rgb = lab_to_srgb(lab)
    bad = ((rgb < -eps) | (rgb > 1 + eps)).any(axis=1)
    if bad.any():
        sub = lab[bad]
        lo, hi = np.zeros(len(sub)), np.ones(len(sub))
        for _ in range(12):  # bisection on the chroma scale, 1/4096 precision
            mid = 0.5 * (lo + hi)
            trial = lab_to_srgb(np.column_stack([sub[:, 0], sub[:, 1:] * mid[:, None]]))
            ok = ((trial >= -eps) & (trial <= 1 + eps)).all(axis=1)
            lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
        rgb[bad] = lab_to_srgb(np.column_stack([sub[:, 0], sub[:, 1:] * lo[:, None]]))
    return np.clip(rgb, 0.0, 1.0)


def _deviation_scale(lightness: np.ndarray, target: float) -> tuple[float, float]:
    """(mean, k) of (k,) L: deviations from the mean are scaled by ``k`` (never up), only as
    far as needed for the 1st..99th percentile to fit in 2..98 around ``target`` (so a white
    shirt turned navy keeps its folds instead of crushing them to black)."""
    mean = lightness.mean()
    dev = lightness - mean
    lo, hi = np.percentile(dev, [1, 99]) if len(dev) else (0.0, 0.0)
    k = 1.0
    if lo < 0:
        k = min(k, max(target - 2.0, 0.0) / -lo)
    if hi > 0:
        k = min(k, max(98.0 - target, 0.0) / hi)
    return mean, k


def _lightness_deviation(lightness: np.ndarray, target: float) -> np.ndarray:
    """Deviations of (k,) L from their mean, scaled as :func:`_deviation_scale` says."""
    mean, k = _deviation_scale(lightness, target)
    return (lightness - mean) * k


def _unique_codes(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((u,) uint32 the distinct values of (n,) uint32 ``code``, (n,) int64 index of each
    among them), in no particular order.

    A hash table in numpy: every code is written to its bucket and the codes that find
    themselves there on reading back are placed; the rest (collisions) go round again with
    another hash. Linear in ``n`` with a table that stays small (a sort, or a table of every
    24-bit colour, costs several times more here).
    """
    n = len(code)
    bits = int(np.clip(np.ceil(np.log2(max(n, 1))) + 1, 10, 18))
    table = np.empty(1 << bits, np.uint32)
    ids = np.empty(n, np.int64)
    rest, todo = np.arange(n), np.asarray(code, np.uint32)
    offset, r = 0, 0
    while len(rest):
        mult = np.uint32((0x9E3779B1 + 0x632BE5AA * r) & 0xFFFFFFFF | 1)  # odd: a bijection
        h = (todo * mult) >> np.uint32(32 - bits)
        table[h] = todo  # one code per bucket wins
        won = table[h] == todo
        ids[rest[won]] = offset + h[won]
        rest, todo = rest[~won], todo[~won]
        offset, r = offset + (1 << bits), r + 1
    used = np.zeros(offset, bool)
    used[ids] = True
    which = (np.cumsum(used) - 1)[ids]
    found = np.empty(int(used.sum()), np.uint32)
    found[which] = code
    return found, which


def _texels(image: np.ndarray, mask: np.ndarray):
    """(colours (u, 3) uint8 distinct among the texels of ``mask``, (n,) index of each
    texel's, and a function writing (u, 3) uint8 new colours back into a copy of ``image``).

    A baked texture has a few thousand colours over millions of texels, so work done per
    distinct colour costs next to nothing. RGBA texels are handled as one 32-bit word each."""
    if image.shape[2] == 4 and image.flags.c_contiguous and sys.byteorder == "little":
        flat = image.view(np.uint32).reshape(-1)
        where = np.flatnonzero(mask)
        px = flat[where]
        found, which = _unique_codes(px & np.uint32(0xFFFFFF))
        colours = np.stack([found & 255, (found >> 8) & 255, found >> 16], 1).astype(np.uint8)

        def write(rgb: np.ndarray) -> np.ndarray:
            out = np.array(image, copy=True)
            word = np.zeros((len(rgb), 4), np.uint8)
            word[:, :3] = rgb
            out.view(np.uint32).reshape(-1)[where] = (
                word.view(np.uint32)[:, 0][which] | (px & np.uint32(0xFF000000)))
            return out
    else:
        rgb = image[..., :3][mask]
        found, which = _unique_codes((rgb[:, 0].astype(np.uint32) << 16)
                                     | (rgb[:, 1].astype(np.uint32) << 8) | rgb[:, 2])
        colours = np.stack([found >> 16, (found >> 8) & 255, found & 255], 1).astype(np.uint8)

        def write(new: np.ndarray) -> np.ndarray:
            out = np.array(image, copy=True)
            out[..., :3][mask] = new[which]
            return out
    return colours, which, write


def _write(image: np.ndarray, mask: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    out = np.array(image, copy=True)
    out[..., :3][mask] = np.round(rgb * 255.0).astype(np.uint8)
    return out


def _check(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image)
    mask = np.asarray(mask, bool)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"image must be (h, w, 3|4) uint8, got {image.shape} {image.dtype}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
    return image, mask


def recolour(image: np.ndarray, mask: np.ndarray, target: Sequence[float]) -> np.ndarray:
    """``image`` (h, w, 3|4) uint8 sRGB with the texels of ``mask`` (h, w) bool dyed ``target``
    (3,) sRGB in [0, 1]: hue and chroma become the target's, lightness is the target's plus
    each texel's deviation from the region's mean (folds, seams and print shading stay); out of
    gamut, chroma gives way. Alpha and every texel outside the mask are unchanged, bit for bit.
    """
    image, mask = _check(image, mask)
    if not mask.any():
        return np.array(image, copy=True)
    # Every step is per texel and depends only on the texel's colour (and the region's mean
    # and spread), so it runs once per distinct colour: the same numbers, a fraction of the work.
    colours, which, write = _texels(image, mask)
    lab = srgb_to_lab(colours / 255.0)
    goal = srgb_to_lab(np.asarray(target, np.float64)[None])[0]
    mean, k = _deviation_scale(lab[which, 0], goal[0])
    out = np.empty_like(lab)
    out[:, 0] = np.clip(goal[0] + (lab[:, 0] - mean) * k, 0.0, 100.0)
    out[:, 1:] = goal[1:]
    return write(np.round(_in_gamut_srgb(out) * 255.0).astype(np.uint8))


def retexture(image: np.ndarray, mask: np.ndarray, fabric: np.ndarray, scale: float = 0.125
              ) -> np.ndarray:
    """``image`` with the texels of ``mask`` showing ``fabric`` (H, W, 3|4) uint8 sRGB, tiled
    every ``scale`` UV units (see :func:`uv_per_metre`), its lightness modulated by the
    original's deviation from the region's mean so folds stay. Tiles run in atlas space, so
    the pattern's direction follows each UV island. Outside the mask nothing changes."""
    image, mask = _check(image, mask)
    fabric = np.asarray(fabric)
    if fabric.ndim != 3 or fabric.shape[2] not in (3, 4) or fabric.dtype != np.uint8:
        raise ValueError(f"fabric must be (H, W, 3|4) uint8, got {fabric.shape} {fabric.dtype}")
    if not scale > 0:
        raise ValueError("scale must be positive")
    if not mask.any():
        return np.array(image, copy=True)
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    fh, fw = fabric.shape[:2]
    fu = np.mod((xs + 0.5) / w / scale, 1.0)
    fv = np.mod((ys + 0.5) / h / scale, 1.0)
    cloth = fabric[(fv * fh).astype(np.int64) % fh, (fu * fw).astype(np.int64) % fw, :3]
    cloth_lab = srgb_to_lab(cloth / 255.0)
    lab = srgb_to_lab(image[ys, xs, :3] / 255.0)
    mean_fabric = float(cloth_lab[:, 0].mean())
    out = cloth_lab.copy()
    out[:, 0] = np.clip(cloth_lab[:, 0] + _lightness_deviation(lab[:, 0], mean_fabric), 0, 100)
    return _write(image, mask, _in_gamut_srgb(out))
