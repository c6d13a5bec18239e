"""A joint fit that takes a few joints by hand as constraints, and says how sure it is of each.

Mixamo asks for a handful of markers (chin, wrists, elbows, knees, groin) and places the rest;
here any subset of the canonical joints may be given. The geometric fit of
:func:`reskin.rigging.fit.fit_skeleton` is the starting point; when it fails, a template of
adult T-pose proportions scaled to the mesh's box is. The given joints are then imposed and
the difference each one makes spreads along the skeleton to the joints not given, smoothly
and fading with the number of bones in between (a harmonic interpolation on the joint tree):
giving a wrist moves the elbow part of the way, the shoulder a little, the legs not at all.

Confidence per joint, in [0, 1], multiplies three checks any humanoid must pass: the joint lies
inside the solid; a left joint mirrors its right twin across the body's mid-plane; the bone to
its parent has a human length for the height. Joints given by hand are certain (1), joints of
the template that no given joint moved are not (at most :data:`TEMPLATE_CONFIDENCE`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from reskin.core.mesh import Mesh
from reskin.core.skeleton import HUMANOID_JOINTS, Skeleton

NAMES: tuple[str, ...] = tuple(n for n, _ in HUMANOID_JOINTS)
PARENTS = np.array([NAMES.index(p) if p else -1 for _, p in HUMANOID_JOINTS], np.int32)
LOW_CONFIDENCE = 0.5  # below this a joint is named in a warning, with the override to give
TEMPLATE_CONFIDENCE = 0.25
_FADE = 0.35  # how fast a given joint's correction fades per bone (soft anchor of the rest)

# Adult T-pose joints as fractions of the height (x out to the character's left, soles at 0):
# the generator's default body, the same convention as the geometric fit.
_TEMPLATE_LEFT = {
    "hips": (0.0, 0.525, 0.0), "spine": (0.0, 0.615, 0.0), "chest": (0.0, 0.711, 0.0),
    "neck": (0.0, 0.825, 0.0), "head": (0.0, 0.893, 0.0),
    "leftShoulder": (0.020, 0.800, 0.0), "leftUpperArm": (0.115, 0.795, 0.0),
    "leftLowerArm": (0.275, 0.795, 0.0), "leftHand": (0.407, 0.795, 0.0),
    "leftUpperLeg": (0.050, 0.520, 0.0), "leftLowerLeg": (0.053, 0.285, 0.004),
    "leftFoot": (0.055, 0.050, -0.005), "leftToes": (0.055, 0.020, 0.070),
}
_FINGERTIP = 0.51  # template fingertip reach from the mid-plane, fraction of the height


def _template_fractions() -> np.ndarray:
    out = np.zeros((len(NAMES), 3))
    for i, n in enumerate(NAMES):
        if n.startswith("right"):
            x, y, z = _TEMPLATE_LEFT["left" + n[5:]]
            out[i] = (-x, y, z)
        else:
            out[i] = _TEMPLATE_LEFT[n]
    return out


TEMPLATE = _template_fractions()  # (21, 3)


@dataclass(frozen=True)
class FitReport:
    """A fitted skeleton and how it was made.

    skeleton   : the canonical skeleton, given joints in place
    confidence : {joint: confidence in [0, 1]}
    method     : "geometric" (the shape fit), or "template" (the fit failed; the template and
                 the given joints made it)
    fit_error  : the geometric fit's error message when it failed, else None
    given      : the joints that were given
    """

    skeleton: Skeleton
    confidence: dict[str, float]
    method: str
    fit_error: str | None = None
    given: tuple[str, ...] = field(default_factory=tuple)

    def low(self, threshold: float = LOW_CONFIDENCE) -> list[str]:
        """The joints under ``threshold``, least confident first."""
        return sorted((n for n, c in self.confidence.items() if c < threshold),
                      key=lambda n: self.confidence[n])


def template_heads(vertices: np.ndarray) -> np.ndarray:
    """(21, 3) template joints for a T-pose body: scaled to its height, centred in x and z,
    arms stretched so the fingertips reach the box's sides."""
    v = np.asarray(vertices, np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    h = float(hi[1] - lo[1])
    heads = TEMPLATE * h
    arm = np.array(["Arm" in n or "Hand" in n for n in NAMES])
    reach = 0.5 * float(hi[0] - lo[0]) / (_FINGERTIP * h)
    heads[arm, 0] *= float(np.clip(reach, 0.6, 1.6))
    heads += [0.5 * (lo[0] + hi[0]), lo[1], 0.5 * (lo[2] + hi[2])]
    return heads


def spread_constraints(heads: np.ndarray, given: dict[str, np.ndarray]) -> np.ndarray:
    """(21, 3) ``heads`` with the ``given`` joints in place and their corrections spread.

    Minimises sum over bones |d_i - d_parent|^2 + _FADE^2 * sum |d_i|^2 over the corrections d
    of the joints not given, with d fixed for the given ones (one sparse solve per axis).
    """
    heads = np.asarray(heads, np.float64)
    n = len(NAMES)
    fixed = np.zeros(n, bool)
    d = np.zeros((n, 3))
    for name, p in given.items():
        i = NAMES.index(name)
        fixed[i] = True
        d[i] = np.asarray(p, np.float64) - heads[i]
    if fixed.all() or not fixed.any():
        return heads + d
    lap = np.eye(n) * _FADE**2
    for i, p in enumerate(PARENTS):
        if p >= 0:
            lap[[i, p], [i, p]] += 1.0
            lap[i, p] -= 1.0
            lap[p, i] -= 1.0
    free = ~fixed
    rhs = -lap[np.ix_(free, fixed)] @ d[fixed]
    d[free] = np.linalg.solve(lap[np.ix_(free, free)], rhs)
    return heads + d


def _tails(heads: np.ndarray, old: Skeleton | None) -> np.ndarray:
    """Tails at the first child; leaves keep their offset from ``old`` (or extend the parent
    bone by half)."""
    tails = np.empty_like(heads)
    for i, p in enumerate(PARENTS):
        kids = np.flatnonzero(PARENTS == i)
        if len(kids):
            tails[i] = heads[kids[0]]
        elif old is not None:
            tails[i] = heads[i] + (old.tails[i] - old.heads[i])
        else:
            tails[i] = heads[i] + 0.5 * (heads[i] - heads[p])
    return tails


# A bone's length to its parent as a fraction of the height: the range over children, tall
# adults and big-headed stylised bodies (generator ranges, the avatars, MakeHuman), widened.
_BONE_RANGE = {
    "spine": (0.01, 0.2), "chest": (0.02, 0.2), "neck": (0.04, 0.25), "head": (0.02, 0.15),
    "Shoulder": (0.0, 0.25), "UpperArm": (0.04, 0.16), "LowerArm": (0.09, 0.24),
    "Hand": (0.08, 0.22), "UpperLeg": (0.02, 0.12), "LowerLeg": (0.15, 0.32),
    "Foot": (0.15, 0.32), "Toes": (0.02, 0.12),
}


def _range_for(name: str) -> tuple[float, float] | None:
    for key in (name, name.removeprefix("left"), name.removeprefix("right")):
        if key in _BONE_RANGE:
            return _BONE_RANGE[key]
    return None


def joint_confidence(mesh: Mesh, skeleton: Skeleton) -> np.ndarray:
    """(21,) confidence in [0, 1] of each joint of a canonical ``skeleton`` fitted to ``mesh``
    (see the module docstring)."""
    from reskin.rigging.voxel_body import VoxelBody

    body = VoxelBody(mesh)
    h = body.height
    heads = skeleton.heads.astype(np.float64)
    # Distance (cells) to the solid: 0 inside. Open meshes (a neck seam, an eye socket) leave
    # gaps in the solid, so a joint a few cells out is doubtful, not wrong.
    outside = ndimage.distance_transform_edt(~body.occ)
    grid = (body.xs, body.ys, body.zs)
    cell = np.stack([np.clip(np.round((heads[:, k] - g[0]) / body.pitch).astype(int), 0,
                             len(g) - 1) for k, g in enumerate(grid)], axis=1)
    gap = outside[cell[:, 0], cell[:, 1], cell[:, 2]] * body.pitch / (0.02 * h)
    inside = np.exp(-gap**2)
    conf = inside.copy()
    mid = float(np.median(heads[[NAMES.index(n) for n in ("hips", "spine", "chest", "neck",
                                                            "head")], 0]))
    for i, n in enumerate(NAMES):
        if n.startswith(("left", "right")):
            twin = NAMES.index(("right" + n[4:]) if n.startswith("left") else ("left" + n[5:]))
            mirrored = heads[twin] * [-1, 1, 1] + [2 * mid, 0, 0]
            err = float(np.linalg.norm(heads[i] - mirrored)) / (0.05 * h)
            conf[i] *= float(np.exp(-err**2))
        rng = _range_for(n)
        p = PARENTS[i]
        if rng is not None and p >= 0:
            length = float(np.linalg.norm(heads[i] - heads[p])) / h
            lo, hi = rng
            off = max(lo - length, length - hi, 0.0) / 0.03
            conf[i] *= float(np.exp(-off**2))
    return np.clip(conf, 0.0, 1.0)


def fit_with_constraints(mesh: Mesh, given: dict[str, np.ndarray] | None = None, *,
                         trunk: str = "reskin") -> FitReport:
    """Fit the canonical skeleton to ``mesh`` with the ``given`` joints ({name: (3,)} model
    metres, any subset) as constraints, and report each joint's confidence.

    Raises ValueError (the fit's message) when the geometric fit fails and nothing is given.
    """
    from reskin.rigging.fit import fit_skeleton

    given = {k: np.asarray(v, np.float64) for k, v in (given or {}).items()}
    unknown = sorted(set(given) - set(NAMES))
    if unknown:
        raise ValueError(f"no canonical joint named {unknown[0]!r}")
    error = None
    try:
        base = fit_skeleton(mesh, trunk=trunk)
        heads = base.heads.astype(np.float64)
        method = "geometric"
    except ValueError as exc:
        if not given:
            raise
        error, base, method = str(exc), None, "template"
        heads = template_heads(mesh.vertices)
    moved = spread_constraints(heads, given)
    skeleton = Skeleton(NAMES, PARENTS.copy(), moved.astype(np.float32),
                        _tails(moved, base).astype(np.float32))
    conf = joint_confidence(mesh, skeleton)
    if method == "template":
        # A template joint is only as sure as the given joints near it make it: the share of
        # the correction it took from them says how close (in bones) they are.
        near = _constraint_reach(given)
        conf = np.minimum(conf, TEMPLATE_CONFIDENCE + (1 - TEMPLATE_CONFIDENCE) * near)
    for name in given:
        conf[NAMES.index(name)] = 1.0
    return FitReport(skeleton, {n: round(float(c), 3) for n, c in zip(NAMES, conf, strict=True)},
                     method, error, tuple(sorted(given)))


def _constraint_reach(given: dict[str, np.ndarray]) -> np.ndarray:
    """(21,) in [0, 1]: how much of a unit correction at the given joints reaches each joint."""
    unit = {n: np.array([1.0, 0.0, 0.0]) for n in given}
    return np.clip(spread_constraints(np.zeros((len(NAMES), 3)), unit)[:, 0], 0.0, 1.0)
