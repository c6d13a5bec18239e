"""How far a set of skin weights poses a rig from its artist's weights, over its animations.

Both weightings are played with the same joint matrices (the rig's own clips, sampled at a fixed
rate), so the measure isolates the weights. Used by bench/rig_quality.py and its tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from reskin.rigging.gltf_rig import GltfRig
from reskin.rigging.skinning import lbs


def model_height(rig: GltfRig) -> float:
    """The rest pose's extent along the scene's +Y (glTF up), in scene units."""
    rest = lbs(rig.vertices, rig.joints, rig.weights, rig.skin_matrices()[0])
    return float(np.ptp(rest[:, 1]))


def weight_deviation(
    rig: GltfRig, joints: np.ndarray, weights: np.ndarray, fps: float = 30.0
) -> np.ndarray:
    """(frames * n,) distance of every vertex from its artist-weighted position, all clips.

    joints (n, k) int, weights (n, k) >= 0 (rows renormalised). Rows whose weights sum to 0
    stay at their rest position, as Blender's armature modifier leaves unweighted vertices.
    """
    weights = np.asarray(weights, np.float64)
    joints = np.asarray(joints, np.int64)
    total = weights.sum(axis=1, keepdims=True)
    free = total[:, 0] <= 0
    w = np.where(free[:, None], 0.0, weights / np.where(total > 0, total, 1.0))
    w[free, 0] = 1.0
    rest = lbs(rig.vertices, rig.joints, rig.weights, rig.skin_matrices()[0])
    out = []
    for a in range(len(rig.animations)):
        times = np.arange(0.0, rig.duration(a) + 1e-9, 1.0 / fps)
        mats = rig.skin_matrices(a, times)
        artist = lbs(rig.vertices, rig.joints, rig.weights, mats)
        ours = lbs(rig.vertices, joints, w, mats)
        ours[:, free] = rest[free]
        out.append(np.linalg.norm(ours - artist, axis=2).ravel())
    return np.concatenate(out)


def blender_auto_weights(rig: GltfRig, glb: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Blender's ARMATURE_AUTO weights for each of the rig's vertices (bpy in a subprocess).

    returns joints (n, b) int and weights (n, b): one column per Blender vertex group that names
    a skin joint (rows may be all zero where Blender's heat failed).
    """
    from reskin.rigging.blender_ref import blender_rig_eval

    ref = blender_rig_eval("auto_weights", glb)
    best = None  # the importer may transform the mesh object; match in whichever frame fits
    for key in ("local", "rest"):
        dist, idx = cKDTree(ref[key]).query(rig.vertices)
        if best is None or dist.max() < best[0]:
            best = (dist.max(), idx)
    if best[0] > 1e-4 * np.ptp(rig.vertices, axis=0).max():
        raise RuntimeError(f"{glb}: Blender's vertices do not match the glTF's ({best[0]:.3g})")
    slot = {name: i for i, name in enumerate(rig.joint_names)}
    cols = [slot.get(str(b), -1) for b in ref["bones"]]
    keep = [c >= 0 for c in cols]
    w = ref["weights"][best[1]][:, keep]
    jn = np.tile(np.array([c for c in cols if c >= 0], np.int64), (len(w), 1))
    return jn, w


# Joints whose depth inside the torso is a rig's convention (some rigs run the spine along the
# back, others through the middle): scored on height and side only.
PLANAR_JOINTS = ("spine", "chest", "neck")


def joint_errors(heads: dict[str, np.ndarray], reference: dict[str, np.ndarray],
                 height: float) -> dict[str, float]:
    """Distance of each fitted joint from the reference joint of the same canonical name, as a
    fraction of ``height``; :data:`PLANAR_JOINTS` ignore depth (z).

    heads, reference : {canonical name: (3,)} in the same frame (+Y up, facing +Z); only names
    in both are scored.
    """
    out = {}
    for name in heads:
        if name not in reference:
            continue
        d = np.asarray(heads[name], np.float64) - np.asarray(reference[name], np.float64)
        if name in PLANAR_JOINTS:
            d = d[:2]
        out[name] = float(np.linalg.norm(d) / height)
    return out
