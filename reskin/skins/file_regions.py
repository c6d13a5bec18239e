"""Wardrobe regions on an imported character's own texture atlas, and recolouring them.

An imported character (a web avatar: one material, one base-colour atlas shared by its body,
eyes and teeth) has no body-part labels. Its skin weights say where the clothes are: texels of
faces the torso and arm bones move are the top, the hips and legs the bottoms, the feet the
shoes, and the head, neck and hands stay the person. A spec may instead select a region by
material name or by a mask image (:class:`reskin.skins.wardrobe.RegionLook`). Bare skin inside
a clothes region (forearms below a short sleeve, legs under shorts) is found by the skin tone of
the character's own face and left alone.

Recolouring (:mod:`reskin.skins.dye`, re-exported here) works on the baked texture in CIELAB:
hue and chroma become the target's, each texel keeps its lightness deviation from the region's
mean, so folds and seams stay.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reskin.core.errors import ReskinError
from reskin.skins.dye import lab_to_srgb, recolour, retexture, srgb_to_lab
from reskin.skins.wardrobe import REGIONS, RegionLook

__all__ = ["SKIN", "Primitive", "SkinTone", "base_colour_image", "face_regions",
           "gltf_atlas_primitives", "lab_to_srgb", "recolour", "region_map", "resolve_canonical",
           "retexture", "skin_texels", "skin_tone", "skinned_primitive", "srgb_to_lab",
           "texel_regions", "uv_per_metre", "vertex_head", "vertex_regions"]

SKIN = -1
"""Label of texels and vertices that are the person (head, neck, hands) or no region."""
_HEAD = -3  # internal: the head, locked against every selector (the identity lock)
_NECK = -4  # internal: the neck, locked too, but a collar on it may join the top by colour
_EMPTY = -2  # internal: texels no face covers (atlas gutter)

# Canonical joint -> group: a region index, SKIN (hands), _HEAD or _NECK.
_JOINT_GROUP: dict[str, int] = {
    "hips": 1, "spine": 0, "chest": 0, "neck": _NECK, "head": _HEAD,
    **{f"{s}{p}": g for s in ("left", "right")
       for p, g in (("Shoulder", 0), ("UpperArm", 0), ("LowerArm", 0), ("Hand", SKIN),
                    ("UpperLeg", 1), ("LowerLeg", 1), ("Foot", 2), ("Toes", 2))},
}
_GROUPS = (0, 1, 2, SKIN, _HEAD, _NECK)


# ---------------------------------------------------------------------------------------------
# Regions from skin weights


def resolve_canonical(joint_canonical: Sequence[str | None], parents: Sequence[int] | None
                      ) -> list[str | None]:
    """Each joint's canonical name, unmapped joints taking their nearest mapped ancestor's
    (a finger becomes its hand, an eye or jaw the head). ``parents`` (j,) int, -1 for roots,
    indexes the same joint list; None leaves unmapped joints unmapped."""
    names = list(joint_canonical)
    if parents is None:
        return names
    parents = [int(p) for p in parents]
    if len(parents) != len(names):
        raise ValueError("parents and joint_canonical differ in length")
    out: list[str | None] = []
    for i in range(len(names)):
        j, seen = i, 0
        while j >= 0 and names[j] is None and seen <= len(names):
            j, seen = parents[j], seen + 1  # ``seen`` guards against a cyclic table
        out.append(names[j] if j >= 0 else None)
    return out


def _vertex_groups(joints: np.ndarray, weights: np.ndarray, joint_canonical: Sequence[str | None],
                   parents: Sequence[int] | None) -> np.ndarray:
    """(n,) int8 group of each vertex (region index, SKIN, _HEAD, _NECK): the group whose joints
    carry most of its weight. Weight on joints with no canonical ancestor is ignored; a
    vertex with none at all is SKIN."""
    joints = np.asarray(joints, np.int64)
    weights = np.asarray(weights, np.float64)
    if joints.ndim == 1:
        joints, weights = joints[:, None], weights[:, None]
    if joints.shape != weights.shape:
        raise ValueError(f"joints {joints.shape} and weights {weights.shape} differ in shape")
    names = resolve_canonical(joint_canonical, parents)
    code = np.array([_GROUPS.index(_JOINT_GROUP[n]) if n in _JOINT_GROUP else -1 for n in names]
                    + [-1], np.int64)  # the extra entry catches out-of-range joint indices
    j = np.where((joints >= 0) & (joints < len(names)), joints, len(names))
    g = code[j]
    totals = np.zeros((len(joints), len(_GROUPS)), np.float64)
    rows = np.repeat(np.arange(len(joints)), joints.shape[1])
    keep = g.ravel() >= 0
    np.add.at(totals, (rows[keep], g.ravel()[keep]), weights.ravel()[keep])
    best = np.asarray(_GROUPS, np.int8)[totals.argmax(axis=1)]
    return np.where(totals.max(axis=1) > 0, best, np.int8(SKIN)).astype(np.int8)


def vertex_regions(joints: np.ndarray, weights: np.ndarray, joint_canonical: Sequence[str | None],
                   parents: Sequence[int] | None = None) -> np.ndarray:
    """(n,) int8 index into :data:`REGIONS` of each vertex, or SKIN (-1) for the person.

    joints (n, k) int and weights (n, k) float : the vertex influences (JOINTS_0/WEIGHTS_0)
    joint_canonical : canonical name (:data:`reskin.core.skeleton.HUMANOID_JOINTS`) of each
        joint the indices refer to, None where unmapped
    parents : (j,) parent index of each joint (-1 for a root), to resolve unmapped joints
        through their nearest mapped ancestor (fingers -> hand, face joints -> head)

    The joints that carry most of a vertex's weight decide: spine, chest, shoulders and arms
    -> top; hips and legs -> bottoms; feet and toes -> shoes; head, neck and hands -> SKIN.
    """
    g = _vertex_groups(joints, weights, joint_canonical, parents)
    return np.where(g < _EMPTY, np.int8(SKIN), g).astype(np.int8)


def vertex_head(joints: np.ndarray, weights: np.ndarray, joint_canonical: Sequence[str | None],
                parents: Sequence[int] | None = None) -> np.ndarray:
    """(n,) bool: vertices the head and neck move most (the face: no selector may paint them)."""
    return _vertex_groups(joints, weights, joint_canonical, parents) < _EMPTY


def face_regions(faces: np.ndarray, vertex_region: np.ndarray) -> np.ndarray:
    """(m,) int8 label of each face (m, 3): the label most of its corners have; a face whose
    three corners all differ belongs to the person (SKIN) if one of them does."""
    lab = np.asarray(vertex_region, np.int8)[np.asarray(faces, np.int64)]
    a, b, c = lab[:, 0], lab[:, 1], lab[:, 2]
    out = np.where((a == b) | (a == c), a, np.where(b == c, b, np.minimum(np.minimum(a, b), c)))
    return out.astype(np.int8)


# ---------------------------------------------------------------------------------------------
# Texture space


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _rasterise(uvs: list[np.ndarray], faces: list[np.ndarray], labels: list[np.ndarray],
               size: tuple[int, int], order: Sequence[int], dilate: int) -> np.ndarray:
    """(h, w) int8 label per texel (_EMPTY where no face lies), labels drawn in ``order`` so
    later ones win where UV islands overlap, then grown ``dilate`` texels into empty texels
    (earlier in reverse ``order`` first, so the person claims a shared gutter texel)."""
    from PIL import Image, ImageDraw

    h, w = size
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    code = {lab: k + 1 for k, lab in enumerate(order)}
    for lab in order:
        for uv, f, fl in zip(uvs, faces, labels, strict=True):
            # Texel x has its centre at u = (x + 0.5) / w, as Pillow's pixel x has at x + 0.5.
            px = np.asarray(uv, np.float64) * (w, h)
            tri = px[np.asarray(f, np.int64)[np.asarray(fl) == lab]]
            for t in tri.reshape(-1, 6).tolist():
                draw.polygon(t, fill=code[lab], outline=code[lab])
    out = np.asarray(canvas, np.int16)
    if dilate > 0:
        from scipy import ndimage

        square = np.ones((3, 3), bool)  # grow corners too: seams run in every direction
        for _ in range(dilate):
            empty = out == 0
            if not empty.any():
                break
            grown = out.copy()
            for lab in reversed(order):
                ring = ndimage.binary_dilation(out == code[lab], square) & empty & (grown == 0)
                grown[ring] = code[lab]
            out = grown
    table = np.array([_EMPTY, *order], np.int8)
    return table[out]


def texel_regions(uvs: np.ndarray | Sequence[np.ndarray], faces: np.ndarray | Sequence[np.ndarray],
                  face_region: np.ndarray | Sequence[np.ndarray], size: tuple[int, int],
                  dilate: int = 3) -> np.ndarray:
    """(h, w) int8 index into :data:`REGIONS` of each texel of a (h, w) atlas, SKIN elsewhere.

    uvs (n, 2) float in glTF convention (origin top-left, v down), faces (m, 3) int, and
    face_region (m,) int8 (from :func:`face_regions`); or lists of them, one per mesh sharing
    the texture. The person's faces are drawn last, so where islands overlap they keep their
    texels; regions grow ``dilate`` texels into the gutter around their islands (so filtering
    at seams reads the new colour) but never onto a texel a face covers.
    """
    uvs, faces, labels = _as_list(uvs), _as_list(faces), _as_list(face_region)
    lab = _rasterise(uvs, faces, labels, size, (0, 1, 2, SKIN), dilate)
    return np.where(lab >= 0, lab, np.int8(SKIN)).astype(np.int8)


def uv_per_metre(positions: np.ndarray, uvs: np.ndarray, faces: np.ndarray) -> float:
    """UV units per metre of surface (mean over the mesh, area-weighted): turns a spec's
    pattern ``scale`` (metres) into the tile size :func:`retexture` takes."""
    p = np.asarray(positions, np.float64)[np.asarray(faces, np.int64)]
    t = np.asarray(uvs, np.float64)[np.asarray(faces, np.int64)]
    area3 = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1).sum()
    e1, e2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    area2 = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]).sum()
    return float(np.sqrt(area2 / area3)) if area3 > 0 else 0.0


# ---------------------------------------------------------------------------------------------
# The skin-tone guard


@dataclass(frozen=True)
class SkinTone:
    """The person's skin colour as a Gaussian in CIELAB, from their own face and neck."""

    mean: np.ndarray
    """(3,) Lab"""
    cov: np.ndarray
    """(3, 3) Lab covariance (with a floor, so a flat-shaded face still has a spread)"""

    def distance2(self, lab: np.ndarray) -> np.ndarray:
        """(k,) squared Mahalanobis distance of (k, 3) Lab colours from the skin tone."""
        d = np.asarray(lab, np.float64) - self.mean
        return np.einsum("ki,ij,kj->k", d, np.linalg.inv(self.cov), d)


def skin_tone(lab: np.ndarray) -> SkinTone:
    """The skin tone of (k, 3) Lab texels of the head and neck, which also hold hair, lips,
    eyes and teeth: start at the per-channel median and move to the densest colour nearby
    (mean shift with a shrinking radius), then fit mean and covariance to the texels within
    reach. Works for any skin: only the face's own colours are used. The covariance gets a
    floor (lightness 8, a and b 3 units of standard deviation): a face is evenly lit, while
    arms and legs are shaded and redder at knees and elbows."""
    lab = np.asarray(lab, np.float64)
    if len(lab) < 16:
        raise ValueError("too few head texels to estimate the skin tone")
    centre = np.median(lab, axis=0)
    for radius in (30.0, 22.0, 16.0, 12.0, 12.0, 12.0):
        near = lab[np.linalg.norm(lab - centre, axis=1) < radius]
        if len(near) < 16:
            break
        centre = np.median(near, axis=0)
    near = lab[np.linalg.norm(lab - centre, axis=1) < 20.0]
    if len(near) < 16:
        near = lab
    cov = np.cov(near.T) + np.diag([8.0 ** 2, 3.0 ** 2, 3.0 ** 2])
    return SkinTone(mean=near.mean(axis=0), cov=cov)


_KMEANS_WEIGHT = np.array([0.5, 1.0, 1.0])  # lightness counts half: folds are not colours


def _colour_clusters(lab: np.ndarray, seed: np.ndarray, k: int = 6, iterations: int = 12,
                     sample: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """k-means of (n, 3) Lab colours (one centre starting at ``seed`` (3,), the rest k-means++
    from a fixed generator, so results repeat): ((k, 3) Lab centres, (n,) cluster of each)."""
    x = lab * _KMEANS_WEIGHT
    rng = np.random.default_rng(0)
    pick = x[rng.choice(len(x), min(sample, len(x)), replace=False)]
    centres = [np.asarray(seed, np.float64) * _KMEANS_WEIGHT]
    for _ in range(min(k, len(pick)) - 1):
        d2 = np.min([((pick - c) ** 2).sum(1) for c in centres], axis=0)
        if d2.sum() <= 0:
            break
        centres.append(pick[rng.choice(len(pick), p=d2 / d2.sum())])
    c = np.array(centres)
    for _ in range(iterations):
        near = ((pick[:, None] - c[None]) ** 2).sum(-1).argmin(1)
        for j in range(len(c)):
            if (near == j).any():
                c[j] = pick[near == j].mean(0)
    assign = np.empty(len(x), np.int64)
    for s in range(0, len(x), 1 << 18):  # chunks keep the (n, k) distances small
        assign[s:s + (1 << 18)] = ((x[s:s + (1 << 18), None] - c[None]) ** 2).sum(-1).argmin(1)
    return c / _KMEANS_WEIGHT, assign


def skin_texels(image: np.ndarray, labels: np.ndarray, tone: SkinTone | None = None,
                threshold: float = 9.0) -> np.ndarray:
    """(h, w) bool: texels of clothes regions in ``labels`` (from :func:`texel_regions`, or the
    internal map of :func:`region_map` whose head label marks the sample) that show the
    person's bare skin.

    Each region's colours are clustered (k-means in Lab); a cluster whose centre lies within
    ``threshold`` squared Mahalanobis distance of the skin tone is skin. Clustering first
    means a fabric near the skin's colour is judged by its own centre, not texel by texel, and
    a shaded knee goes with the rest of the leg. Specks are then removed and small holes
    (a mole, a vein) filled. image (h, w, 3|4) uint8 sRGB; tone : else from the head/neck.
    """
    from scipy import ndimage

    image = np.asarray(image)
    labels = np.asarray(labels)
    rgb = image[..., :3]
    if tone is None:
        tone = _head_tone(image, labels)
    out = np.zeros(labels.shape, bool)
    for r in range(len(REGIONS)):
        sel = labels == r
        if sel.sum() < 16:
            continue
        centres, assign = _colour_clusters(srgb_to_lab(rgb[sel] / 255.0), tone.mean)
        out[sel] = (tone.distance2(centres) < threshold)[assign]
    clothes = labels >= 0
    out = ndimage.binary_opening(out, iterations=2)
    holes = ndimage.binary_fill_holes(out) & ~out
    small = _small_components(holes, max(64, labels.size // 400))
    return (out | small) & clothes


def _small_components(mask: np.ndarray, max_size: int) -> np.ndarray:
    """The connected components of ``mask`` with at most ``max_size`` texels."""
    from scipy import ndimage

    comp, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(comp.ravel())
    keep = sizes <= max_size
    keep[0] = False
    return keep[comp]


# ---------------------------------------------------------------------------------------------
# From a wardrobe spec


@dataclass(frozen=True)
class Primitive:
    """One mesh primitive drawn with the atlas: its triangles and what selects their region.

    faces (m, 3) int; uvs (n, 2) float, glTF convention; material : its material's name;
    vertex_region (n,) int8 from :func:`vertex_regions` and head (n,) bool from
    :func:`vertex_head` (None for an unskinned primitive: no region, not locked); neck (n,)
    bool, the part of ``head`` the neck moves (where a collar may join the top by colour).
    """

    faces: np.ndarray
    uvs: np.ndarray
    material: str | None = None
    vertex_region: np.ndarray | None = None
    head: np.ndarray | None = None
    neck: np.ndarray | None = None


def skinned_primitive(faces: np.ndarray, uvs: np.ndarray, material: str | None,
                      joints: np.ndarray, weights: np.ndarray,
                      joint_canonical: Sequence[str | None], parents: Sequence[int] | None = None
                      ) -> Primitive:
    """A :class:`Primitive` with its regions and head lock from its skin weights."""
    g = _vertex_groups(joints, weights, joint_canonical, parents)
    return Primitive(faces=np.asarray(faces), uvs=np.asarray(uvs), material=material,
                     vertex_region=np.where(g < _EMPTY, np.int8(SKIN), g).astype(np.int8),
                     head=g < _EMPTY, neck=g == _NECK)


def _read_mask(look: RegionLook, key: str, size: tuple[int, int],
               read: Callable[[str], bytes]) -> np.ndarray:
    """(h, w) bool: white (>= 50 %) texels of the region's mask image, resized to the atlas."""
    from PIL import Image, UnidentifiedImageError

    where = look.where or None
    try:
        with Image.open(io.BytesIO(read(look.mask))) as im:
            grey = im.convert("L")
            if abs(grey.width / grey.height - size[1] / size[0]) > 0.01:
                raise ReskinError(f"mask {look.mask} is {grey.width}x{grey.height}, not the shape "
                                  f"of the texture ({size[1]}x{size[0]})", file=where,
                                  field=f"regions.{key}.mask")
            grey = grey.resize((size[1], size[0]), Image.BILINEAR)
    except (UnidentifiedImageError, OSError) as exc:
        raise ReskinError(f"mask {look.mask} is not a readable image ({exc})", file=where,
                          field=f"regions.{key}.mask") from None
    return np.asarray(grey) >= 128


def region_map(primitives: Sequence[Primitive], regions: Mapping[str, RegionLook],
               size: tuple[int, int], image: np.ndarray | None = None, *, dilate: int = 3,
               read: Callable[[str], bytes] = lambda p: Path(p).read_bytes()) -> np.ndarray:
    """(h, w) int8 index into :data:`REGIONS` of each texel of the shared (h, w) atlas, SKIN
    (-1) where the wardrobe leaves the person's texture as it is.

    A region of ``regions`` with ``material`` takes the faces of the primitives of that
    material; with ``mask`` the white texels of that image (in the atlas's UV space, resized
    to it); otherwise the faces its bones move (:func:`vertex_regions`). A region only has the
    texels its own selector gives it (a mask replaces the weights for that region); where
    selectors overlap, the later region in :data:`REGIONS` wins. The head and neck are never
    in a region (the identity lock). With ``image`` (h, w, 3|4) uint8, texels of the
    person's skin tone are taken out of every region (:func:`skin_texels`).
    """
    uvs, faces, labels = [], [], []
    for prim in primitives:
        f = np.asarray(prim.faces, np.int64)
        lab = np.full(len(f), SKIN, np.int8)
        if prim.vertex_region is not None:
            weighted = face_regions(f, prim.vertex_region)
            for r, name in enumerate(REGIONS):
                look = regions.get(name)
                if look is None or (look.material is None and look.mask is None):
                    lab[weighted == r] = r
        for r, name in enumerate(REGIONS):
            look = regions.get(name)
            if look is not None and look.material is not None and prim.material == look.material:
                lab[:] = r
        if prim.head is not None:
            locked = face_regions(f, prim.head.astype(np.int8)) == 1
            neck = np.zeros(len(f), bool)
            if prim.neck is not None:
                neck = face_regions(f, prim.neck.astype(np.int8)) == 1
            lab[locked] = _HEAD
            lab[locked & neck] = _NECK
        uvs.append(prim.uvs)
        faces.append(f)
        labels.append(lab)
    for name, look in regions.items():
        if look.material is not None and not any(p.material == look.material
                                                 for p in primitives):
            known = sorted({p.material for p in primitives if p.material})
            raise ReskinError(f"no primitive has material {look.material!r} (the character's "
                              f"materials: {', '.join(known) or 'none named'})",
                              file=look.where or None, field=f"regions.{name}.material")
    out = _rasterise(uvs, faces, labels, size, (0, 1, 2, SKIN, _NECK, _HEAD), dilate)
    locked = out < _EMPTY
    selected = set()
    for r, name in enumerate(REGIONS):
        look = regions.get(name)
        if look is not None and look.mask is not None:
            out[_read_mask(look, name, size, read) & ~locked] = r
        if look is not None and (look.mask is not None or look.material is not None):
            selected.add(r)
    if image is not None:
        tone = _head_tone(image, out)
        _settle_seams(out, srgb_to_lab(np.asarray(image)[..., :3] / 255.0), tone, selected)
        out[skin_texels(image, out, tone)] = SKIN
    return np.where(out >= 0, out, np.int8(SKIN)).astype(np.int8)


def _head_tone(image: np.ndarray, labels: np.ndarray) -> SkinTone:
    """The skin tone from the head's texels (else the person's, else the whole atlas)."""
    rgb = np.asarray(image)[..., :3]
    for sample in (labels == _HEAD, labels < 0, np.ones(labels.shape, bool)):
        if sample.sum() >= 16:
            return skin_tone(srgb_to_lab(rgb[sample] / 255.0))
    raise ValueError("the atlas is too small to estimate a skin tone")


_SEAM_DISTANCE = 14.0
"""Colour distance (Lab, lightness at half weight) under which a texel matches a garment."""


def _garment_colours(lab: np.ndarray, tone: SkinTone, threshold: float = 9.0) -> np.ndarray:
    """(c, 3) Lab: the main colours of a region's (n, 3) texels (clusters holding at least 15 %
    of them), skin excluded: what its garment is made of."""
    if len(lab) < 16:
        return np.zeros((0, 3))
    centres, assign = _colour_clusters(lab, tone.mean)
    share = np.bincount(assign, minlength=len(centres)) / len(assign)
    return centres[(share >= 0.15) & (tone.distance2(centres) >= threshold)]


def _nearest(lab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(n,) weighted Lab distance of each colour to the nearest of ``centres`` (inf if none)."""
    if len(centres) == 0:
        return np.full(len(lab), np.inf)
    d = np.full(len(lab), np.inf)
    for c in centres:
        d = np.minimum(d, np.linalg.norm((lab - c) * _KMEANS_WEIGHT, axis=1))
    return d


def _settle_seams(out: np.ndarray, lab: np.ndarray, tone: SkinTone, fixed: set[int]) -> None:
    """Move texels the bones misplace to the garment they show, in place: skin weights end
    a region where the bones change, not where the fabric does (a shirt's hem on the hips, a
    waistband on the spine, a collar on the neck). A texel joins a neighbouring region when
    its colour is one of that garment's main colours and none of its own region's, and it
    touches that region through such texels. Regions a spec selects (``fixed``) keep theirs.
    """
    from scipy import ndimage

    main = {r: _garment_colours(lab[out == r], tone) for r in (0, 1, 2) if r not in fixed}
    moves = []
    for into, frm in ((0, 1), (1, 0), (1, 2), (2, 1), (0, _NECK)):
        if into not in main or (frm >= 0 and frm not in main):
            continue
        sel = out == frm
        if not sel.any():
            continue
        cand = np.zeros(out.shape, bool)
        texels = lab[sel]
        ok = _nearest(texels, main[into]) < _SEAM_DISTANCE
        if frm >= 0:
            ok &= _nearest(texels, main[frm]) >= _SEAM_DISTANCE
        else:  # the neck: anything but the skin itself
            ok &= tone.distance2(texels) >= 9.0
        cand[sel] = ok
        comp, n = ndimage.label(cand | (out == into), np.ones((3, 3), bool))
        touching = np.zeros(n + 1, bool)
        touching[np.unique(comp[out == into])] = True
        touching[0] = False
        moves.append((cand & touching[comp], into))
    for where, into in moves:
        out[where] = into


def base_colour_image(js: dict, material: int) -> int | None:
    """The image index of a glTF material's base-colour texture (EXT_texture_webp's source
    preferred, as a viewer that has the extension would), or None."""
    mats = js.get("materials", [])
    if not 0 <= material < len(mats):
        return None
    ref = mats[material].get("pbrMetallicRoughness", {}).get("baseColorTexture")
    if ref is None:
        return None
    tex = js.get("textures", [])[int(ref["index"])]
    webp = tex.get("extensions", {}).get("EXT_texture_webp", {})
    src = webp.get("source", tex.get("source"))
    return None if src is None else int(src)


def gltf_atlas_primitives(doc, image: int) -> list[Primitive]:
    """The triangle primitives of a parsed glTF (:class:`reskin.assets.gltf.read.GltfDocument`)
    whose material's base colour is ``image``, as :class:`Primitive` with regions and head
    lock from their skins (joint names mapped with :func:`reskin.rigging.names.map_to_canonical`,
    unmapped joints through their parents). A primitive without a skin gets no region."""
    from reskin.assets.gltf.read import as_float
    from reskin.rigging.names import map_to_canonical

    js = doc.json
    nodes = js.get("nodes", [])
    parent_of = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}
    out: list[Primitive] = []
    for node in nodes:
        if "mesh" not in node:
            continue
        canon = parents = None
        if "skin" in node:
            joint_nodes = js["skins"][node["skin"]]["joints"]
            names = [nodes[j].get("name", "") for j in joint_nodes]
            try:
                by_source = {v: k for k, v in map_to_canonical(names).items()}
            except ValueError:
                by_source = {}
            canon = [by_source.get(n) for n in names]
            index = {j: i for i, j in enumerate(joint_nodes)}
            parents = [index.get(parent_of.get(j, -1), -1) for j in joint_nodes]
        for prim in js["meshes"][node["mesh"]]["primitives"]:
            if prim.get("mode", 4) != 4 or "material" not in prim:
                continue
            if base_colour_image(js, int(prim["material"])) != image:
                continue
            attrs = prim["attributes"]
            mat = js["materials"][int(prim["material"])]
            ref = mat["pbrMetallicRoughness"]["baseColorTexture"]
            uv_key = f"TEXCOORD_{int(ref.get('texCoord', 0))}"
            if uv_key not in attrs:
                continue
            uvs = as_float(doc, attrs[uv_key])
            if "indices" in prim:
                faces = np.asarray(doc.accessors[prim["indices"]], np.int64).reshape(-1, 3)
            else:
                faces = np.arange(len(uvs) - len(uvs) % 3).reshape(-1, 3)
            if canon is not None and "JOINTS_0" in attrs and "WEIGHTS_0" in attrs:
                out.append(skinned_primitive(faces, uvs, mat.get("name"),
                                             doc.accessors[attrs["JOINTS_0"]],
                                             as_float(doc, attrs["WEIGHTS_0"]), canon, parents))
            else:
                out.append(Primitive(faces=faces, uvs=uvs, material=mat.get("name")))
    return out
