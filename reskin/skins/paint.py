"""Painting a wardrobe onto the body's baked UV atlas: the person first, then the clothes.

Every operation is an image operation on the atlas, driven by the rest-pose point and body part
each texel shows (:func:`reskin.assets.texture_bake.rasterize_surface`), so the face is painted
from the character's identity alone and no wardrobe can touch it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reskin.core.skeleton import Skeleton
from reskin.skins.wardrobe import PART_REGION, SHORT_SLEEVE_PARTS, Decal, WardrobeSpec

DEFAULT_ROUGHNESS = 0.7
PALETTE_TOLERANCE = 0.12
"""Euclidean RGB distance (0..1 units) under which a texel counts as a palette source colour."""


FACE_LABELS = ("skin", "hair", "iris", "mouth", "sclera", "lid", "pupil", "eyelid", "lips",
               "teeth", "mouth_inner")
"""The identity's palette labels, in order (0 skin ... 5 lid line, then the modelled face's
pupil, eyelid skin, lips, teeth and inner mouth)."""

# Label of each part of a modelled face (the procedural humanoid's eyes, lids, brows, mouth
# and hair pieces); other parts are skin.
_PART_LABELS = {"hair": 1, "brows": 1, "eye_iris": 2, "eye_sclera": 4, "eye_pupil": 6,
                "eyelid": 7, "lips": 8, "teeth": 9, "mouth_inner": 10}
LASH_WIDTH = 0.12
"""Fraction of the upper lid's chart, from its edge, drawn as the lash line."""


def identity_colors(identity: dict) -> list[np.ndarray]:
    """The float32 colour of each of :data:`FACE_LABELS`: eye whites, iris and lid line moved
    in lightness where needed so that the eyes read on this skin (see ``eye_colors``)."""
    from reskin.skins.eye_colors import eye_colors

    skin = tuple(float(c) for c in identity["skin_tone"])
    sclera, iris, lid = eye_colors(skin, tuple(float(c) for c in identity["eyes"]))
    s = np.array(skin)
    return [np.asarray(skin, np.float32), np.asarray(identity["hair"], np.float32),
            np.asarray(iris, np.float32), (s * 0.55).astype(np.float32),
            np.asarray(sclera, np.float32), np.asarray(lid, np.float32),
            np.array([0.03, 0.025, 0.025], np.float32), (s * 0.93).astype(np.float32),
            (s * 0.72 + np.array([0.62, 0.22, 0.24]) * 0.28).astype(np.float32),
            np.array([0.93, 0.91, 0.86], np.float32),
            (s * 0.2 + np.array([0.17, 0.03, 0.04])).astype(np.float32)]


def modelled_face(part_names: tuple[str, ...]) -> bool:
    """Whether the body has a modelled face (eyeballs of its own) rather than a painted one."""
    return "eye_iris" in part_names


def _modelled_labels(part: np.ndarray, part_names: tuple[str, ...]) -> np.ndarray:
    """(s, s) uint8 :data:`FACE_LABELS` of a modelled face's atlas: by part, plus the lash line
    along the upper lids' edges (a band of rows of the eyelid tile, see ``UPPER_LID_V``)."""
    from reskin.assets.face_geometry import UPPER_LID_V
    from reskin.assets.generator import ATLAS_TILES, TILE_MARGIN, texture_tile

    lut = np.zeros(len(part_names) + 1, np.uint8)  # the last entry: texels of no part (-1)
    for name, label in _PART_LABELS.items():
        if name in part_names:
            lut[part_names.index(name)] = label
    labels = np.take(lut, part.astype(np.int64), mode="clip")
    labels[part < 0] = 0
    lid = part_names.index("eyelid")
    if lid < ATLAS_TILES * ATLAS_TILES:
        size = part.shape[0]
        _, v0, _, _ = texture_tile(lid)
        tile = 1.0 / ATLAS_TILES
        margin = TILE_MARGIN * tile
        v = 1.0 - (np.arange(size) + 0.5) / size
        chart = (v - v0 - margin) / (tile - 2 * margin)
        rows = (chart >= UPPER_LID_V[0] - 0.01) & (chart <= UPPER_LID_V[0] + LASH_WIDTH * (
            UPPER_LID_V[1] - UPPER_LID_V[0]))
        lash = rows[:, None] & (part == lid)
        labels[lash] = 5
    return labels


def _face_labels(points: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """(k,) uint8 :data:`FACE_LABELS` index of head surface points (k, 3) float32: hair cap,
    and on the front of the face two eyes (white, iris, a lid line over each) and a mouth."""
    y, x, z = points[:, 1], points[:, 0], points[:, 2]
    head, top = skeleton.heads[skeleton.index("head")], skeleton.tails[skeleton.index("head")]
    head_len = float(top[1] - head[1])
    hairline = head[1] + 0.62 * head_len
    hair = (y > hairline) | ((z < head[2] - 0.02) & (y > head[1] + 0.3 * head_len))
    front = z > head[2] + 0.02
    eye_y, eye_dx, eye_r = head[1] + 0.5 * head_len, 0.16 * head_len, 0.055 * head_len
    dist2 = (np.abs(x) - eye_dx) ** 2 + (y - eye_y) ** 2
    eyes = front & (dist2 < eye_r ** 2)
    iris = eyes & (dist2 < (0.55 * eye_r) ** 2)
    lid = front & (dist2 < (1.25 * eye_r) ** 2) & (dist2 > (0.8 * eye_r) ** 2) & (
        y > eye_y + 0.2 * eye_r)
    mouth = front & (np.abs(x) < 0.13 * head_len) & (np.abs(y - (head[1] + 0.25 * head_len))
                                                     < 0.025 * head_len)
    lab = np.zeros(len(points), np.uint8)
    lab[hair] = 1
    lab[eyes] = 4
    lab[iris] = 2
    lab[lid] = 5
    lab[mouth] = 3
    return lab


def paint_identity(
    position: np.ndarray, part: np.ndarray, part_names: tuple[str, ...], skeleton: Skeleton,
    identity: dict,
) -> np.ndarray:
    """(s, s, 3) float32 linear-ish sRGB: skin, hair, eyes and mouth; no clothes."""
    labels, colors = _identity_labels(position, part, part_names, skeleton, identity)
    return np.asarray(colors, np.float32)[labels]


def sample_tiled(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Nearest-texel lookup of (h, w, c) float ``image`` at repeating coordinates u, v (k,)."""
    h, w = image.shape[:2]
    ix = np.floor(np.mod(u, 1.0) * w).astype(np.int64) % w
    iy = np.floor(np.mod(v, 1.0) * h).astype(np.int64) % h
    return image[iy, ix]


def fabric(points: np.ndarray, color, pattern: str, pattern_color, scale: float,
           texture: np.ndarray | None = None) -> np.ndarray:
    """(k, 3) float32 colours of a fabric at rest-pose surface points (k, 3) float32.

    ``texture`` ((h, w, 4) float RGBA, tinted by ``color``) is tiled with a wrap-around
    projection (x + z, y), which hides its seams at the sides of limbs; ``stripes`` (by height)
    and ``checks`` (3-D cells) of half ``scale`` metres paint ``pattern_color`` over it. The
    body's regions and garments wear the same fabrics.
    """
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    c = np.asarray(color, np.float32)
    if texture is not None:
        out = sample_tiled(texture, (x + z) / scale, -y / scale)[:, :3] * c
    else:
        out = np.empty((len(points), 3), np.float32)
        out[:] = c
    step = scale / 2
    if pattern == "stripes":
        out[np.floor(y / step).astype(int) % 2 == 1] = pattern_color
    elif pattern == "checks":
        on = (np.floor(y / step) + np.floor(x / step) + np.floor(z / step)).astype(int) % 2 == 1
        out[on] = pattern_color
    return out


def wardrobe_mask(part: np.ndarray, part_names: tuple[str, ...], spec: WardrobeSpec
                  ) -> dict[str, np.ndarray]:
    """region -> (s, s) bool texels its clothes cover (short sleeves leave forearms bare)."""
    masks: dict[str, np.ndarray] = {}
    for pi, name in enumerate(part_names):
        region = PART_REGION.get(name)
        if region is None or region not in spec.regions:
            continue
        if spec.sleeves == "short" and name in SHORT_SLEEVE_PARTS:
            continue
        m = part == pi
        masks[region] = masks[region] | m if region in masks else m
    return masks


def _decal(img: np.ndarray, position: np.ndarray, mask: np.ndarray, decal: Decal,
           image: np.ndarray) -> None:
    """Alpha-blend ``image`` (h, w, 4) float onto ``img`` where the decal's rectangle, projected
    along z onto the chosen side, meets ``mask``; in place."""
    h, w = image.shape[:2]
    width, height = decal.size, decal.size * h / w
    x, y, z = position[..., 0], position[..., 1], position[..., 2]
    cx, cy = decal.at
    inside = mask & (np.abs(x - cx) < width / 2) & (np.abs(y - cy) < height / 2)
    if not inside.any():
        return
    # A z-projection hits the front and the back of the body: keep the chosen half.
    mid = float(np.mean(z[inside]))
    inside &= (z >= mid) if decal.side == "front" else (z < mid)
    u = (x[inside] - (cx - width / 2)) / width
    if decal.side == "back":
        u = 1.0 - u  # seen from behind, the character's left is on the viewer's left
    v = ((cy + height / 2) - y[inside]) / height
    ix = np.clip((u * w).astype(np.int64), 0, w - 1)
    iy = np.clip((v * h).astype(np.int64), 0, h - 1)
    rgba = image[iy, ix]
    a = rgba[:, 3:4] * decal.opacity
    img[inside] = img[inside] * (1 - a) + rgba[:, :3] * a


def remap_palette(img: np.ndarray, mask: np.ndarray,
                  palette: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]) -> None:
    """Replace colours near each source by its target inside ``mask`` (in place); the offset
    from the source is kept, so a pattern's shading survives the recolour."""
    if not palette:
        return
    sel = img[mask]
    out = sel.copy()
    for src, dst in palette:
        near = np.linalg.norm(sel - np.asarray(src, np.float32), axis=1) < PALETTE_TOLERANCE
        out[near] = sel[near] - np.asarray(src, np.float32) + np.asarray(dst, np.float32)
    img[mask] = out


@dataclass(frozen=True, eq=False)
class Indexed:
    """A painted image as a palette: ``palette[labels]`` is the (s, s, 3) uint8 image.

    labels : (s, s) uint8; palette : (k, 3) uint8 sRGB, k <= 256 (entries may repeat).
    """

    labels: np.ndarray
    palette: np.ndarray

    def rgb(self) -> np.ndarray:
        return self.palette[self.labels]


def _identity_labels(position: np.ndarray, part: np.ndarray, part_names: tuple[str, ...],
                     skeleton: Skeleton, identity: dict) -> tuple[np.ndarray, list]:
    """:func:`paint_identity` as :data:`FACE_LABELS` labels and their float32 colours. A modelled
    face is painted by part; on a painted face only head texels can be anything but skin, so
    only they are looked at."""
    if modelled_face(part_names):
        return _modelled_labels(part, part_names), identity_colors(identity)
    labels = np.zeros(part.shape, np.uint8)
    idx = np.flatnonzero(part.ravel() == part_names.index("head"))
    head_points = np.take(np.asarray(position).reshape(-1, 3), idx, axis=0).astype(np.float32)
    labels.ravel()[idx] = _face_labels(head_points, skeleton)
    return labels, identity_colors(identity)


def paint_indexed(
    position: np.ndarray,
    part: np.ndarray,
    part_names: tuple[str, ...],
    skeleton: Skeleton,
    identity: dict,
    spec: WardrobeSpec | None,
) -> tuple[Indexed, Indexed | None] | None:
    """:func:`paint_materials` as palette images, or None when the spec paints per-texel
    colours (a texture or a decal) that a palette cannot hold.

    Every other operation paints whole regions in one colour (or two, for a pattern), so the
    atlas has a handful of colours: painting labels instead of colours is the same image
    (``Indexed.rgb`` equals :func:`paint_materials`' arrays exactly) at a fraction of the work,
    and it encodes as a small palette PNG.
    """
    if spec is not None and (spec.decals or any(r.texture for r in spec.regions.values())):
        return None
    labels, colors = _identity_labels(position, part, part_names, skeleton, identity)
    if spec is None:
        return Indexed(labels, _to_u8(np.asarray(colors, np.float32))), None
    # region of every texel's part (255: no clothes), one lookup instead of a mask per part
    region_names = [r for r in spec.regions]
    lut = np.full(max(len(part_names), int(part.max(initial=0)) + 1), 255, np.uint8)
    present: list[str] = []
    for pi, name in enumerate(part_names):
        region = PART_REGION.get(name)
        if region is None or region not in spec.regions:
            continue
        if spec.sleeves == "short" and name in SHORT_SLEEVE_PARTS:
            continue
        lut[pi] = region_names.index(region)
        if region not in present:
            present.append(region)
    if not present:
        return Indexed(labels, _to_u8(np.asarray(colors, np.float32))), None
    n_identity = len(colors)
    label_of_region = np.full(256, 255, np.int64)
    mr_rows = [np.array([1.0, DEFAULT_ROUGHNESS, 0.0], np.float32)]
    mr_label_of_region = np.zeros(256, np.int64)  # [255], off the clothes, stays 0
    patterned = []
    for region in present:
        ri = region_names.index(region)
        look = spec.regions[region]
        label_of_region[ri] = len(colors)
        colors.append(np.asarray(look.color, np.float32))
        if look.pattern in ("stripes", "checks"):
            patterned.append((label_of_region[ri], look, len(colors)))
            colors.append(np.asarray(look.pattern_color, np.float32))
        if look.roughness != DEFAULT_ROUGHNESS or look.metallic != 0.0:
            mr_label_of_region[ri] = len(mr_rows)
            mr_rows.append(np.array([1.0, look.roughness, look.metallic], np.float32))
    if len(colors) > 255 or len(mr_rows) > 256:
        return None
    # Labels straight from the part map through one composed lookup (part -> region ->
    # label), 255 off the clothes. A gather through take is twice as fast as lut[part].
    painted = np.take(label_of_region[lut].astype(np.uint8), part)
    np.copyto(painted, labels, where=painted == 255)
    labels = painted
    out = labels.ravel()
    points = position.reshape(-1, 3)
    for base_label, look, label in patterned:
        # Each region has its own base-colour entry, so its texels are those with that label.
        idx = np.flatnonzero(out == base_label)
        step = look.scale / 2
        # Only the coordinates the pattern reads, as float32 (as _paint_texels sees them).
        py = np.take(points[:, 1], idx).astype(np.float32)
        if look.pattern == "stripes":
            on = np.floor(py / step).astype(int) % 2 == 1
        else:
            px = np.take(points[:, 0], idx).astype(np.float32)
            pz = np.take(points[:, 2], idx).astype(np.float32)
            on = (np.floor(py / step) + np.floor(px / step)
                  + np.floor(pz / step)).astype(int) % 2 == 1
        out[idx[on]] = label
    table = np.asarray(colors, np.float32)
    # A palette remap recolours clothes only: their entries, which no identity texel uses.
    is_clothes = np.arange(len(table)) >= n_identity
    remap_palette(table, is_clothes, spec.palette)
    mr = None
    if len(mr_rows) > 1:  # 0 (the default) off the clothes
        mr_labels = np.take(mr_label_of_region[lut].astype(np.uint8), part)
        mr = Indexed(mr_labels, _to_u8(np.asarray(mr_rows, np.float32)))
    return Indexed(labels, _to_u8(table)), mr


def paint_materials(
    position: np.ndarray,
    part: np.ndarray,
    part_names: tuple[str, ...],
    skeleton: Skeleton,
    identity: dict,
    spec: WardrobeSpec | None,
    images: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Paint a character's atlas: base colour, and roughness/metallic where a region sets them.

    position : (s, s, 3) rest-pose point per texel (float16 as rigs keep it, or float32);
    part : (s, s) body part per texel.
    images   : texture/decal reference -> (h, w, 4) float32 RGBA in 0..1 (loaded by the job).
    Returns (base colour (s, s, 3) uint8 sRGB, metallic-roughness (s, s, 3) uint8 in glTF's
    channel layout (G roughness, B metallic) or None when every texel has the defaults).
    """
    indexed = paint_indexed(position, part, part_names, skeleton, identity, spec)
    if indexed is not None:
        base, mr = indexed
        return base.rgb(), mr.rgb() if mr is not None else None
    return _paint_texels(position, part, part_names, skeleton, identity, spec, images)


def _paint_texels(
    position: np.ndarray,
    part: np.ndarray,
    part_names: tuple[str, ...],
    skeleton: Skeleton,
    identity: dict,
    spec: WardrobeSpec | None,
    images: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`paint_materials` texel by texel (any spec, textures and decals included)."""
    position = np.asarray(position, np.float32)  # rigs keep it as float16
    img = paint_identity(position, part, part_names, skeleton, identity)
    if spec is None:
        return _to_u8(img), None
    images = images or {}
    masks = wardrobe_mask(part, part_names, spec)
    rough = metal = None
    for region, mask in masks.items():
        look = spec.regions[region]
        img[mask] = fabric(position[mask], look.color, look.pattern, look.pattern_color,
                           look.scale, images[look.texture] if look.texture else None)
        if look.roughness != DEFAULT_ROUGHNESS or look.metallic != 0.0:
            if rough is None:
                rough = np.full(part.shape, DEFAULT_ROUGHNESS, np.float32)
                metal = np.zeros(part.shape, np.float32)
            rough[mask] = look.roughness
            metal[mask] = look.metallic
    if masks:
        clothes = np.logical_or.reduce(list(masks.values()))
        remap_palette(img, clothes, spec.palette)
    for decal in spec.decals:
        if decal.region in masks:
            _decal(img, position, masks[decal.region], decal, images[decal.image])
    mr = None
    if rough is not None:
        mr = np.zeros(part.shape + (3,), np.float32)
        mr[..., 0] = 1.0  # R is unused by glTF (occlusion lives there when packed)
        mr[..., 1], mr[..., 2] = rough, metal
        mr = _to_u8(mr)
    return _to_u8(img), mr


def paint_skin(
    position: np.ndarray,
    part: np.ndarray,
    part_names: tuple[str, ...],
    skeleton: Skeleton,
    identity: dict,
    spec: WardrobeSpec | None,
    images: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The base-colour atlas only: (s, s, 3) uint8 (see :func:`paint_materials`)."""
    return paint_materials(position, part, part_names, skeleton, identity, spec, images)[0]


def _to_u8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
