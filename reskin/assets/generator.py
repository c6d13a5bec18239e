"""A procedural stylised humanoid: one watertight T-pose body, parts and a UV atlas.

The body is a signed distance field, a smooth union of round cones and ellipsoids placed by
:class:`HumanoidParams`, sampled on a regular grid and turned into triangles by marching cubes.
An implicit body is watertight and self-intersection free by construction, which an assembly of
separate primitive meshes is not; that is what rigging, re-skinning and export rely on.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np

from reskin.assets.face_geometry import (
    CHANNEL_CONTROLS,
    FEATURE_PARTS,
    FaceLayout,
    FaceRig,
)
from reskin.assets.hair import HAIR_STYLES, HeadFrame, hair_pieces
from reskin.core.mesh import Mesh

GENERATOR_NAME = "reskin.humanoid"
GENERATOR_VERSION = "2"

PART_NAMES: tuple[str, ...] = (
    "head",
    "neck",
    "torso",
    "pelvis",
    "upper_arm_l",
    "forearm_l",
    "hand_l",
    "upper_arm_r",
    "forearm_r",
    "hand_r",
    "thigh_l",
    "shin_l",
    "foot_l",
    "thigh_r",
    "shin_r",
    "foot_r",
    "hair",
) + FEATURE_PARTS
"""The body's parts (the voxel surface, hair included), then the face's separate pieces."""
BODY_PARTS = PART_NAMES[: PART_NAMES.index("hair") + 1]

# UV atlas layout: 5x5 tiles, one a part; a margin inside each tile keeps mip-mapped or
# filtered texels of one part from bleeding into its neighbour.
ATLAS_TILES = 5
TILE_MARGIN = 0.04  # fraction of a tile's side left empty on every edge


@dataclass(frozen=True)
class HumanoidParams:
    """Body proportions. Fractions are of ``height``; girth scales with ``build``.

    height           : top of head to soles, metres
    build            : girth multiplier of torso and limbs (1 = average)
    shoulder_width   : distance between the shoulder joints, fraction of height
    leg_length       : ground to crotch (inseam), fraction of height
    arm_length       : shoulder joint to fingertip, fraction of height
    head_scale       : head size relative to a 1/7.7-of-height head
    voxels_per_height: sampling resolution; more voxels give a finer, heavier mesh
    eye_size         : eyeball radius relative to the default
    eye_spacing      : distance between the eyes relative to the default
    nose             : nose size relative to the default
    jaw_width        : width of the lower face relative to the default
    lip_fullness     : lip thickness relative to the default
    brow_weight      : brow thickness relative to the default
    hair_style       : one of :data:`reskin.assets.hair.HAIR_STYLES`
    """

    height: float = 1.75
    build: float = 1.0
    shoulder_width: float = 0.23
    leg_length: float = 0.47
    arm_length: float = 0.40
    head_scale: float = 1.0
    voxels_per_height: int = 160
    eye_size: float = 1.0
    eye_spacing: float = 1.0
    nose: float = 1.0
    jaw_width: float = 1.0
    lip_fullness: float = 1.0
    brow_weight: float = 1.0
    hair_style: str = "short"

    def __post_init__(self) -> None:
        if self.hair_style not in HAIR_STYLES:
            raise ValueError(f"hair_style must be one of {', '.join(HAIR_STYLES)}, got "
                             f"{self.hair_style!r}")
        ranges = {
            "height": (0.3, 3.0),
            "build": (0.6, 1.6),
            "shoulder_width": (0.16, 0.32),
            "leg_length": (0.36, 0.55),
            "arm_length": (0.32, 0.5),
            "head_scale": (0.7, 1.6),
            "voxels_per_height": (48, 400),
            "eye_size": (0.7, 1.4),
            "eye_spacing": (0.8, 1.25),
            "nose": (0.6, 1.6),
            "jaw_width": (0.75, 1.3),
            "lip_fullness": (0.5, 1.6),
            "brow_weight": (0.4, 1.8),
        }
        for name, (lo, hi) in ranges.items():
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not (lo <= value <= hi) or not math.isfinite(value):
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
        vph = self.voxels_per_height
        if not isinstance(vph, numbers.Integral):
            # Specs parsed from YAML may give 160.0; a whole number is fine, a fraction is not.
            if not float(vph).is_integer():
                raise ValueError(f"voxels_per_height must be an integer, got {vph!r}")
            object.__setattr__(self, "voxels_per_height", int(vph))
        # A big head on long legs leaves no room for a torso between crotch and shoulders.
        torso = 1.0 - 0.13 * self.head_scale - 0.075 - self.leg_length
        if torso < 0.18:
            raise ValueError(
                f"head_scale={self.head_scale} with leg_length={self.leg_length} leaves a torso of "
                f"{torso:.3f} of height; need at least 0.18 (shorter legs or a smaller head)"
            )


@dataclass(frozen=True)
class _Prim:
    """One SDF primitive. kind 'cone': round cone a->b with radii r1, r2; 'ellipsoid': centre a,
    radii b. ``blend`` is the smooth-union radius used when it joins the body."""

    part: str
    kind: str
    a: tuple[float, float, float]
    b: tuple[float, float, float]
    r1: float = 0.0
    r2: float = 0.0
    blend: float = 0.0

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = np.array(self.a), np.array(self.b)
        if self.kind == "ellipsoid":
            return a - b, a + b
        r = max(self.r1, self.r2)
        return np.minimum(a, b) - r, np.maximum(a, b) + r


@dataclass(frozen=True)
class _Axis:
    """Projection frame of a part's UV chart: origin, axis, and the direction facing u = 0.5."""

    origin: tuple[float, float, float]
    axis: tuple[float, float, float]
    front: tuple[float, float, float]
    spherical: bool = False


def texture_tile(part_index: int) -> tuple[float, float, float, float]:
    """The (u0, v0, u1, v1) rectangle of part ``part_index``'s tile in the atlas (whole tile,
    margin included, so a painter filling it also fills the bleed margin)."""
    if not 0 <= part_index < ATLAS_TILES * ATLAS_TILES:
        raise ValueError(f"part_index must be in [0, {ATLAS_TILES**2}), got {part_index}")
    s = 1.0 / ATLAS_TILES
    u0, v0 = (part_index % ATLAS_TILES) * s, (part_index // ATLAS_TILES) * s
    return u0, v0, u0 + s, v0 + s


# ----------------------------------------------------------------------------------------------
# Body plan: primitives, joint landmarks and UV frames, all from the parameters.


def _body_plan(p: HumanoidParams) -> tuple[list, dict[str, list[float]], dict[str, _Axis], dict]:
    """Primitives (the hair's pieces among them), joint landmarks, UV frames and the face's
    placement (``face``: what :func:`_face_layout` needs besides the surface)."""
    H, b = p.height, p.build
    bs = math.sqrt(b)  # neck and hand thickness follow build only partly
    hh = 0.13 * p.head_scale * H  # head height, crown to chin
    y_chin = H - hh
    y_neck = y_chin - 0.045 * H  # base of the neck
    y_arm = y_neck - 0.03 * H  # shoulder joints and the T-pose arm axis
    y_crotch = p.leg_length * H
    y_pelvis = y_crotch + 0.055 * H
    y_hip = y_crotch + 0.05 * H
    torso = y_arm - y_pelvis

    x_sh = 0.5 * p.shoulder_width * H
    arm = p.arm_length * H
    x_el = x_sh + 0.40 * arm
    x_wr = x_el + 0.33 * arm
    hand = 0.27 * arm
    x_hx = 0.05 * H * b  # thighs as wide as the hip spacing: they touch only at the crotch
    x_ank = x_hx + 0.005 * H
    y_ank = 0.05 * H
    y_knee = y_ank + 0.5 * (y_hip - y_ank)
    k_blend = 0.015 * H

    prims: list[_Prim] = []

    def cone(part, a, bb, r1, r2, blend=k_blend):
        prims.append(_Prim(part, "cone", tuple(a), tuple(bb), r1, r2, blend))

    def ell(part, c, r, blend=k_blend):
        prims.append(_Prim(part, "ellipsoid", tuple(c), tuple(r), 0.0, 0.0, blend))

    # Trunk: pelvis, waist and chest ellipsoids stacked on the spine (x = z = 0).
    ell("pelvis", (0, y_pelvis, 0), (0.095 * H * b, 0.075 * H, 0.068 * H * b))
    ell("torso", (0, y_pelvis + 0.38 * torso, 0.0), (0.078 * H * b, 0.27 * torso, 0.06 * H * b))
    # The rib cage spans the shoulders whatever the build (girth goes into depth, waist and
    # hips): the arm leaves the trunk at the armpit, just inside the shoulder joint.
    chest_rx = max(x_sh - 0.02 * H, 0.06 * H)
    ell("torso", (0, y_arm - 0.28 * torso, 0.005 * H), (chest_rx, 0.43 * torso, 0.068 * H * b))
    for s in (1, -1):
        # Trapezius/deltoid: fills the shoulder line from the neck out to the arm.
        cone(
            "torso",
            (s * 0.03 * H, y_arm + 0.006 * H, -0.004 * H),
            (s * x_sh, y_arm, 0),
            0.036 * H * bs,
            0.04 * H * b,
        )
    cone(
        "neck",
        (0, y_neck - 0.03 * H, -0.004 * H),
        (0, H - 0.6 * hh, 0),
        min(0.033 * H * bs, 0.3 * hh),  # always narrower than the head
        min(0.031 * H * bs, 0.28 * hh),
    )
    head_c = (0.0, H - 0.5 * hh, 0.008 * H)
    yc, zc = head_c[1], head_c[2]
    # The skull and the jaw: the jaw's width is the lower face's, one of the face parameters.
    cranium_c, cranium_r = (0.0, yc + 0.05 * hh, zc - 0.02 * hh), (0.40 * hh, 0.45 * hh, 0.47 * hh)
    ell("head", cranium_c, cranium_r)
    jaw_w = 0.31 * hh * p.jaw_width
    ell("head", (0, yc - 0.2 * hh, zc + 0.06 * hh), (jaw_w, 0.30 * hh, 0.36 * hh))
    n = p.nose
    eye_y = yc - 0.01 * hh
    cone("head", (0, eye_y + 0.02 * hh, zc + 0.43 * hh), (0, yc - 0.15 * hh, zc + 0.46 * hh),
         0.03 * hh * n, 0.05 * hh * n, blend=0.3 * k_blend)
    ell("head", (0, yc - 0.13 * hh, zc + 0.42 * hh), (0.07 * hh * n ** 0.7, 0.10 * hh * n,
                                                       0.09 * hh * n), blend=0.3 * k_blend)
    for s in (1, -1):
        ell("head", (s * 0.385 * hh, yc - 0.04 * hh, zc - 0.05 * hh),
            (0.05 * hh, 0.12 * hh, 0.075 * hh), blend=0.25 * k_blend)
    frame = HeadFrame(cranium_c, cranium_r, eye_y, H - hh, hh)
    prims.extend(hair_pieces(p.hair_style, frame, 0.25 * k_blend))
    face = {"hh": hh, "eye": (0.145 * hh * p.eye_spacing, eye_y), "eye_r": 0.066 * hh * p.eye_size,
            "mouth_y": yc - 0.29 * hh, "mouth_w": 0.12 * hh, "lip": 0.02 * hh * p.lip_fullness,
            "brow": (0.2 * 0.066 * hh * p.brow_weight, 0.3 * 0.066 * hh * math.sqrt(p.brow_weight)),
            "chin_y": H - hh, "jaw_w": jaw_w, "head_z": zc}

    for s, side in ((1, "l"), (-1, "r")):
        # Arm along +/-X at shoulder height, palm down; the thumb points forward (+Z).
        cone(
            f"upper_arm_{side}",
            (s * x_sh, y_arm, 0),
            (s * x_el, y_arm, 0),
            0.034 * H * b,
            0.027 * H * b,
        )
        cone(
            f"forearm_{side}",
            (s * x_el, y_arm, 0),
            (s * x_wr, y_arm, 0),
            0.027 * H * b,
            0.02 * H * b,
        )
        ell(
            f"hand_{side}",
            (s * (x_wr + 0.45 * hand), y_arm, 0.0),
            (0.5 * hand, 0.016 * H * bs, 0.03 * H * bs),
            blend=0.6 * k_blend,
        )
        cone(
            f"hand_{side}",
            (s * (x_wr + 0.1 * hand), y_arm - 0.004 * H, 0.02 * H),
            (s * (x_wr + 0.45 * hand), y_arm - 0.004 * H, 0.045 * H * bs),
            0.011 * H,
            0.009 * H,
            blend=0.4 * k_blend,
        )
        # Leg straight down; the foot is a round cone tangent to the ground from heel to toe.
        cone(
            f"thigh_{side}",
            (s * x_hx, y_hip, 0),
            (s * (x_hx + 0.0025 * H), y_knee, 0.004 * H),
            0.05 * H * b,
            0.032 * H * b,
        )
        cone(
            f"shin_{side}",
            (s * (x_hx + 0.0025 * H), y_knee, 0.004 * H),
            (s * x_ank, y_ank, -0.005 * H),
            0.032 * H * b,
            0.021 * H * b,
        )
        r_heel, r_toe = 0.026 * H, 0.02 * H
        cone(
            f"foot_{side}",
            (s * x_ank, r_heel, -0.02 * H),
            (s * x_ank, r_toe, 0.10 * H),
            r_heel,
            r_toe,
            blend=0.6 * k_blend,
        )

    def pt(x, y, z=0.0):
        return [float(x), float(y), float(z)]

    y_spine = y_pelvis + 0.3 * (y_neck - y_pelvis)
    y_chest = y_pelvis + 0.62 * (y_neck - y_pelvis)
    lm = {
        "hips": pt(0, y_pelvis),
        "spine": pt(0, y_spine),
        "chest": pt(0, y_chest),
        "neck": pt(0, y_neck),
        "head": pt(0, H - 0.82 * hh),
    }
    for s, side in ((1, "left"), (-1, "right")):
        lm[f"{side}Shoulder"] = pt(s * 0.02 * H, y_arm + 0.005 * H)
        lm[f"{side}UpperArm"] = pt(s * x_sh, y_arm)
        lm[f"{side}LowerArm"] = pt(s * x_el, y_arm)
        lm[f"{side}Hand"] = pt(s * x_wr, y_arm)
        lm[f"{side}UpperLeg"] = pt(s * x_hx, y_hip)
        lm[f"{side}LowerLeg"] = pt(s * (x_hx + 0.0025 * H), y_knee, 0.004 * H)
        lm[f"{side}Foot"] = pt(s * x_ank, y_ank, -0.005 * H)
        lm[f"{side}Toes"] = pt(s * x_ank, 0.02 * H, 0.07 * H)

    up, fwd = (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
    axes = {
        "head": _Axis(head_c, up, fwd, spherical=True),
        "hair": _Axis(head_c, up, fwd, spherical=True),
        "neck": _Axis((0, y_neck, 0), up, fwd),
        "torso": _Axis((0, y_pelvis, 0), up, fwd),
        "pelvis": _Axis((0, y_pelvis, 0), up, fwd),
    }
    for s, side in ((1, "l"), (-1, "r")):
        # Limb seams run along the underside (arms), back (legs) and sole (feet).
        out = (float(s), 0.0, 0.0)
        axes[f"upper_arm_{side}"] = _Axis((s * x_sh, y_arm, 0), out, up)
        axes[f"forearm_{side}"] = _Axis((s * x_el, y_arm, 0), out, up)
        axes[f"hand_{side}"] = _Axis((s * x_wr, y_arm, 0), out, up)
        leg = np.array([s * (x_ank - x_hx), y_ank - y_hip, 0.0])
        leg = tuple(float(c) for c in leg / np.linalg.norm(leg))
        axes[f"thigh_{side}"] = _Axis((s * x_hx, y_hip, 0), leg, fwd)
        axes[f"shin_{side}"] = _Axis((s * x_hx, y_knee, 0), leg, fwd)
        axes[f"foot_{side}"] = _Axis((s * x_ank, 0.025 * H, 0), fwd, up)
    return prims, lm, axes, face


# ----------------------------------------------------------------------------------------------
# Signed distance functions (negative inside), vectorised over broadcastable coordinate arrays.


def _sd_ellipsoid(x, y, z, c, r):
    # Inigo Quilez's bound-corrected ellipsoid distance: exact on the surface and close to a true
    # distance nearby, which is all marching cubes and the smooth union need.
    px, py, pz = (x - c[0]) / r[0], (y - c[1]) / r[1], (z - c[2]) / r[2]
    k0 = np.sqrt(px * px + py * py + pz * pz)
    k1 = np.sqrt((px / r[0]) ** 2 + (py / r[1]) ** 2 + (pz / r[2]) ** 2)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)


def _sd_round_cone(x, y, z, a, b, r1, r2):
    # Exact distance to the convex hull of two spheres (Quilez), so tapered limbs stay smooth.
    ba = np.subtract(b, a)
    l2 = float(ba @ ba)
    rr = r1 - r2
    a2 = l2 - rr * rr
    il2 = 1.0 / l2
    pax, pay, paz = x - a[0], y - a[1], z - a[2]
    yv = pax * ba[0] + pay * ba[1] + paz * ba[2]
    zv = yv - l2
    qx, qy, qz = pax * l2 - ba[0] * yv, pay * l2 - ba[1] * yv, paz * l2 - ba[2] * yv
    x2 = qx * qx + qy * qy + qz * qz
    y2 = yv * yv * l2
    z2 = zv * zv * l2
    k = math.copysign(1.0, rr) * rr * rr * x2
    d_b = np.sqrt(x2 + z2) * il2 - r2
    d_a = np.sqrt(x2 + y2) * il2 - r1
    d_side = (np.sqrt(x2 * a2 * il2) + yv * rr) * il2 - r1
    return np.where(
        np.sign(zv) * a2 * z2 > k, d_b, np.where(np.sign(yv) * a2 * y2 < k, d_a, d_side)
    )


def _prim_sdf(prim, x, y, z):
    if not isinstance(prim, _Prim):  # a piece with its own field (a hairstyle's)
        return prim.sdf(x, y, z)
    if prim.kind == "ellipsoid":
        return _sd_ellipsoid(x, y, z, prim.a, prim.b)
    return _sd_round_cone(x, y, z, prim.a, prim.b, prim.r1, prim.r2)


def _smooth_union(d1, d2, k):
    # Polynomial smooth minimum: blends within distance k, equals min(d1, d2) beyond it.
    h = np.clip(0.5 + 0.5 * (d2 - d1) / k, 0.0, 1.0)
    return d2 + (d1 - d2) * h - k * h * (1.0 - h)


def _sample_field(prims: list, h: float, cuts: tuple = ()) -> tuple[np.ndarray, np.ndarray]:
    """The body's SDF on a grid of spacing ``h``. Returns (field (nx, ny, nz), origin (3,)).

    cuts : (centre (3,), radius, blend) spheres smoothly carved out of the union afterwards
    (the eye sockets).
    """
    lo = np.min([p.bounds()[0] for p in prims], axis=0) - 3 * h
    hi = np.max([p.bounds()[1] for p in prims], axis=0) + 3 * h
    # x is sampled symmetrically about 0 so the left and right halves see mirrored samples.
    half_x = int(math.ceil(max(-lo[0], hi[0]) / h))
    xs = np.arange(-half_x, half_x + 1) * h
    ys = lo[1] + np.arange(int(math.ceil((hi[1] - lo[1]) / h)) + 1) * h
    zs = lo[2] + np.arange(int(math.ceil((hi[2] - lo[2]) / h)) + 1) * h
    far = 10.0 * float(hi[1] - lo[1])
    field = np.full((len(xs), len(ys), len(zs)), far)
    kmax = max(p.blend for p in prims)
    for prim in prims:
        # Each primitive is only evaluated in its box grown by 2*blend + 3 cells: beyond that it
        # cannot change the field's sign or any value marching cubes interpolates near the surface.
        plo, phi = prim.bounds()
        plo, phi = plo - (2 * kmax + 3 * h), phi + (2 * kmax + 3 * h)
        sl = []
        for axis, grid in enumerate((xs, ys, zs)):
            i0 = int(np.searchsorted(grid, plo[axis]))
            i1 = int(np.searchsorted(grid, phi[axis], side="right"))
            sl.append(slice(i0, i1))
        gx = xs[sl[0], None, None]
        gy = ys[None, sl[1], None]
        gz = zs[None, None, sl[2]]
        d = _prim_sdf(prim, gx, gy, gz)
        block = field[sl[0], sl[1], sl[2]]
        field[sl[0], sl[1], sl[2]] = _smooth_union(block, d, prim.blend)
    for centre, radius, blend in cuts:
        sl = []
        for axis, grid in enumerate((xs, ys, zs)):
            i0 = int(np.searchsorted(grid, centre[axis] - radius - 2 * blend - 3 * h))
            i1 = int(np.searchsorted(grid, centre[axis] + radius + 2 * blend + 3 * h, side="right"))
            sl.append(slice(i0, i1))
        gx, gy, gz = xs[sl[0], None, None], ys[None, sl[1], None], zs[None, None, sl[2]]
        d = np.sqrt((gx - centre[0]) ** 2 + (gy - centre[1]) ** 2 + (gz - centre[2]) ** 2) - radius
        block = field[sl[0], sl[1], sl[2]]
        # Smooth subtraction: the union with the inverted sphere, mirrored.
        field[sl[0], sl[1], sl[2]] = -_smooth_union(-block, d, blend)
    return field, np.array([xs[0], ys[0], zs[0]])


def _front_surface(prims: list, box: tuple[float, float, float, float], cells: int = 128):
    """z of the union of ``prims``' front surface (the face) at (x (k,), y (k,)) points.

    Found by bisection between the head's centre depth and well in front of the face on a
    ``cells``-square grid over ``box`` (x0, x1, y0, y1), then interpolated bilinearly: the face
    is smooth at that scale (1-2 mm cells), and every face shape asks for thousands of points.
    """

    def field(x, y, z):
        d = np.full(np.shape(x), 1e3)
        for prim in prims:
            d = _smooth_union(d, _prim_sdf(prim, x, y, z), prim.blend)
        return d

    z_in = min(p.a[2] for p in prims if p.part == "head")
    z_out = max(p.bounds()[1][2] for p in prims) + 0.05
    x0, x1, y0, y1 = box
    gx, gy = np.linspace(x0, x1, cells + 1), np.linspace(y0, y1, cells + 1)
    X, Y = np.meshgrid(gx, gy, indexing="ij")
    lo, hi = np.full(X.shape, z_in), np.full(X.shape, z_out)
    for _ in range(34):
        mid = 0.5 * (lo + hi)
        inside = field(X, Y, mid) < 0
        lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
    grid = 0.5 * (lo + hi)

    def skin_z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        fx = np.clip((x - x0) / (x1 - x0) * cells, 0, cells - 1e-9)
        fy = np.clip((y - y0) / (y1 - y0) * cells, 0, cells - 1e-9)
        i, j = fx.astype(np.int64), fy.astype(np.int64)
        tx, ty = fx - i, fy - j
        return ((grid[i, j] * (1 - tx) + grid[i + 1, j] * tx) * (1 - ty)
                + (grid[i, j + 1] * (1 - tx) + grid[i + 1, j + 1] * tx) * ty)

    return skin_z


def _face_layout(prims: list, face: dict) -> FaceLayout:
    head = [p for p in prims if isinstance(p, _Prim) and p.part == "head"]
    hh = face["hh"]
    skin_z = _front_surface(head, (-0.32 * hh, 0.32 * hh, face["chin_y"],
                                   face["eye"][1] + 0.35 * hh))
    ex, ey = face["eye"]
    r = face["eye_r"]
    # The eyeball sits 0.72 radii behind the skin: its front just clears the face, and the
    # socket carved around it (1.1 radii) leaves an opening the lids fill.
    ez = float(skin_z(np.array([ex]), np.array([ey]))[0]) - 0.72 * r
    return FaceLayout(eye=(ex, ey, ez), eye_r=r, mouth_y=face["mouth_y"],
                      mouth_w=face["mouth_w"], lip=face["lip"], brow=face["brow"],
                      hh=face["hh"], skin_z=skin_z, chin_y=face["chin_y"], jaw_w=face["jaw_w"],
                      head_z=face["head_z"])


def _largest_component(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(verts)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    keep_label = np.argmax(np.bincount(label[faces[:, 0]]))
    faces = faces[label[faces[:, 0]] == keep_label]
    used = np.unique(faces)
    remap = np.full(n, -1, np.int64)
    remap[used] = np.arange(len(used))
    return verts[used], remap[faces]


# ----------------------------------------------------------------------------------------------
# UVs


def _part_uvs(
    verts: np.ndarray, faces: np.ndarray, parts: np.ndarray, axes: dict[str, _Axis]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-corner atlas coordinates. Returns (uvs (k, 2) float32, uv_faces (m, 3) int32)."""
    m = len(faces)
    corner_uv = np.zeros((m, 3, 2))
    wrapped = np.zeros((m, 3), bool)
    tile = 1.0 / ATLAS_TILES
    margin = TILE_MARGIN * tile
    for pi, name in enumerate(PART_NAMES):
        sel = np.flatnonzero(parts == pi)
        if len(sel) == 0:
            continue
        ax = axes[name]
        axis, front = np.array(ax.axis), np.array(ax.front)
        side = np.cross(axis, front)  # completes a right-handed (side, axis, front) frame
        r = verts[faces[sel]].astype(np.float64) - np.array(ax.origin)  # (s, 3, 3)
        along = r @ axis
        lon = np.arctan2(-(r @ side), r @ front)  # 0 in front, +/-pi at the seam behind
        u = (lon + np.pi) / (2 * np.pi)
        if ax.spherical:
            cos_pol = along / np.maximum(np.linalg.norm(r, axis=-1), 1e-12)
            v = 1.0 - np.arccos(np.clip(cos_pol, -1.0, 1.0)) / np.pi
        else:
            v = along
        # The chart fills its tile (the head, whose crown is the hair's, gets all its texels).
        v = (v - v.min()) / max(float(np.ptp(v)), 1e-12)
        # Longitude is circular: cut each face's corners at their largest angular gap so a face
        # across the seam (or around a pole) maps onto its shortest arc, moving the corners
        # before the cut past 1, instead of spanning the whole tile.
        us = np.sort(u, axis=1)
        gaps = np.stack([us[:, 1] - us[:, 0], us[:, 2] - us[:, 1], 1.0 - us[:, 2] + us[:, 0]], 1)
        widest = np.argmax(gaps, axis=1)
        cut = np.where(widest == 0, us[:, 1], np.where(widest == 1, us[:, 2], -1.0))
        cross = u < cut[:, None]
        u = u + cross
        wrapped[sel] = cross
        u = (u - u.min()) / max(float(np.ptp(u)), 1e-12)
        t = texture_tile(pi)
        corner_uv[sel, :, 0] = t[0] + margin + u * (tile - 2 * margin)
        corner_uv[sel, :, 1] = t[1] + margin + v * (tile - 2 * margin)
    # Corners share a uv when they share vertex, part and seam side: the chart stays connected
    # except along its seam.
    keys = np.stack([faces.ravel(), np.repeat(parts, 3), wrapped.ravel().astype(np.int64)], axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    uvs = corner_uv.reshape(-1, 2)[first]
    return np.clip(uvs, 0.0, 1.0).astype(np.float32), inverse.reshape(m, 3).astype(np.int32)


# ----------------------------------------------------------------------------------------------


def generate_humanoid(params: HumanoidParams | None = None) -> Mesh:
    """A stylised human in T-pose: +Y up, facing +Z, soles at y = 0, spine on x = z = 0.

    Returns a :class:`Mesh` whose vertices (n, 3) float32 and faces (m, 3) int32 form one
    watertight, outward-oriented surface; ``parts`` index :data:`PART_NAMES`; ``uvs`` lay each
    part in its :func:`texture_tile`. ``meta`` holds the generator name/version, the parameters
    and ``landmarks`` (joint name -> [x, y, z], the construction's joints; for tests only).
    Deterministic: equal parameters give bit-identical arrays.
    """
    params = params or HumanoidParams()
    prims, landmarks, axes, face = _body_plan(params)
    layout = _face_layout(prims, face)
    h = params.height / params.voxels_per_height
    ex, ey, ez = layout.eye
    sockets = tuple(((s * ex, ey, ez), 1.1 * layout.eye_r, 0.3 * layout.eye_r) for s in (1, -1))
    field, origin = _sample_field(prims, h, sockets)
    # Imported here: reading a character file needs HumanoidParams, not skimage (half a second
    # of imports for every command that loads the cast).
    from skimage.measure import marching_cubes

    verts, faces, _, _ = marching_cubes(field, level=0.0, spacing=(h, h, h), allow_degenerate=False)
    verts = verts.astype(np.float64) + origin
    faces = faces.astype(np.int64)
    verts, faces = _largest_component(verts, faces)

    tri = verts[faces]
    signed_volume = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0
    if signed_volume < 0:  # marching cubes' winding depends on the field's sign convention
        faces = faces[:, ::-1]

    centroids = verts[faces].mean(axis=1)
    cx, cy, cz = centroids[:, 0], centroids[:, 1], centroids[:, 2]
    d = np.stack([_prim_sdf(p, cx, cy, cz) for p in prims], axis=1)
    prim_part = np.array([PART_NAMES.index(p.part) for p in prims])
    parts = prim_part[np.argmin(d, axis=1)].astype(np.int16)

    uvs, uv_faces = _part_uvs(verts, faces, parts, axes)

    # The face's pieces after the body, their charts in their parts' tiles.
    rig = FaceRig(layout)
    fm = rig.rest
    n_body = len(verts)
    feature_part = (fm.part + PART_NAMES.index(FEATURE_PARTS[0])).astype(np.int16)
    tile, margin = 1.0 / ATLAS_TILES, TILE_MARGIN / ATLAS_TILES
    # One uv per (vertex, part): an eyeball's vertices on the iris' edge are in two charts.
    corner_part = np.repeat(feature_part.astype(np.int64), 3)
    keys = fm.faces.ravel() * len(PART_NAMES) + corner_part
    unique, inverse = np.unique(keys, return_inverse=True)
    uv_vert, uv_part = unique // len(PART_NAMES), unique % len(PART_NAMES)
    chart = fm.uv[uv_vert].copy()
    for pi in np.unique(uv_part):  # each part's chart fills its tile
        sel = uv_part == pi
        lo, hi = chart[sel].min(axis=0), chart[sel].max(axis=0)
        chart[sel] = (chart[sel] - lo) / np.maximum(hi - lo, 1e-12)
    origin = np.array([texture_tile(int(i))[:2] for i in range(len(PART_NAMES))])[uv_part]
    feature_uv = origin + margin + chart * (tile - 2 * margin)
    uv_faces = np.concatenate([uv_faces, inverse.reshape(-1, 3) + len(uvs)]).astype(np.int32)
    uvs = np.concatenate([uvs, feature_uv.astype(np.float32)])
    parts = np.concatenate([parts, feature_part])
    faces = np.concatenate([faces, fm.faces + n_body])
    verts = np.concatenate([verts, fm.vertices])
    targets = _face_targets(rig, verts, faces, parts, n_body)

    # Soles exactly on the ground; the landmarks move with the body.
    floor = verts[:, 1].min()
    verts[:, 1] -= floor
    landmarks = {k: [v[0], v[1] - float(floor), v[2]] for k, v in landmarks.items()}
    meta = {
        "generator": GENERATOR_NAME,
        "generator_version": GENERATOR_VERSION,
        "params": asdict(params),
        "landmarks": landmarks,
        "face": {"eye_left": [float(ex), float(ey) - float(floor), float(ez)],
                 "eye_right": [-float(ex), float(ey) - float(floor), float(ez)],
                 "eye_radius": float(layout.eye_r),
                 "mouth": [0.0, float(layout.mouth_y) - float(floor)]},
    }
    return Mesh(
        vertices=verts.astype(np.float32),
        faces=faces.astype(np.int32),
        uvs=uvs,
        uv_faces=uv_faces,
        parts=parts,
        part_names=PART_NAMES,
        meta=meta,
        targets=targets,
    )


def _face_targets(rig: FaceRig, verts: np.ndarray, faces: np.ndarray, parts: np.ndarray,
                  n_body: int) -> dict[str, np.ndarray]:
    """Canonical channel -> (n, 3) float32 offsets: the face's pieces posed minus their rest,
    and the chin's skin following the jaw."""
    n = len(verts)
    rest = rig.rest.vertices
    head_faces = faces[parts == PART_NAMES.index("head")]
    skin = np.unique(head_faces[head_faces < n_body])
    out: dict[str, np.ndarray] = {}
    for name, controls in CHANNEL_CONTROLS.items():
        d = np.zeros((n, 3), np.float64)
        d[n_body:] = rig.pose(controls) - rest
        if controls.get("jaw", 0.0):
            d[skin] = rig.chin_offsets(verts[skin], controls["jaw"])
        # Offsets are what a renderer adds to the float32 rest positions: exact zeros stay.
        out[name] = d.astype(np.float32)
    return out
