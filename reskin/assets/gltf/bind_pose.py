"""Put a skinned glTF's joints back in the bind pose its inverse bind matrices define.

A file saved mid-animation stores the joint nodes' TRS in that pose, so its node pose is not
the rest pose. The inverse bind matrices (IBMs) still say where each joint was when the mesh
was bound: in the bind pose every joint's skin matrix ``world @ IBM`` is one and the same
matrix ``M``, the frame the POSITION attribute is placed in. Which ``M``:

* the file's node pose already gives every joint the same skin matrix: that one (nothing moves);
* else the ``anchor``, the world matrix of the deepest node above all of the skin's joints that
  is not a joint (the armature), when the skin matrices are rigid in that frame;
* else (the IBMs carry the mesh's own transform, e.g. a quantised mesh's dequantisation, which
  gltfpack folds into them) the root joint keeps its placement and every other joint is put
  back relative to it (``IBM_parent @ inverse(IBM_joint)`` is the bind-pose local transform
  whatever ``M`` is).

Resetting the joints makes the node pose, and everything posed from it
(:func:`reskin.assets.gltf.repair.flatten`), the rest pose. Skins without IBMs (identity bind
matrices) are left alone: there the node pose is all the file says.
"""

from __future__ import annotations

import numpy as np

from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.read import GltfDocument, as_float
from reskin.assets.validation import Report
from reskin.core.transforms import matrix_to_quat, trs_matrix

# A joint whose frame moves less than this fraction of the skeleton's size (or turns less than
# ``ANGLE_TOL`` radians) was in its bind pose already: float noise from the exporter, not a pose.
MOVE_TOL = 1e-5
ANGLE_TOL = 1e-4
# Two skins' bind matrices for one joint that differ by more than this (relative) disagree.
AGREE_TOL = 1e-3
# A local matrix whose TRS decomposition is off by more than this (relative) has shear.
SHEAR_TOL = 1e-5


def decompose(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(translation (3,), rotation xyzw (4,), scale (3,), relative error) of a (4, 4) matrix.

    The rotation is the nearest proper rotation (SVD) to the scale-normalised 3x3 part, so a
    slightly non-orthogonal matrix from float32 data still gives a unit quaternion; a mirror is
    carried by a negative x scale. The error is how far ``trs_matrix(t, r, s)`` is from ``m``'s
    3x3 part, relative to its largest scale: above ~1e-5 the matrix has shear, which TRS cannot
    express.
    """
    a = np.asarray(m, np.float64)[:3, :3]
    scale = np.linalg.norm(a, axis=0)
    if np.linalg.det(a) < 0:
        scale[0] = -scale[0]
    safe = np.where(np.abs(scale) > 1e-300, scale, 1.0)
    u, _, vt = np.linalg.svd(a / safe)
    rot = u @ vt
    if np.linalg.det(rot) < 0:  # a zero scale left the sign open: take the proper rotation
        u[:, -1] = -u[:, -1]
        rot = u @ vt
    q = matrix_to_quat(rot)
    t = np.asarray(m, np.float64)[:3, 3].copy()
    err = float(np.abs(trs_matrix(t, q, scale)[:3, :3] - a).max()
                / max(float(np.abs(scale).max()), 1e-300))
    return t, q, scale, err


def _anchor(joints: list[int], parents: np.ndarray) -> int:
    """The deepest common ancestor of ``joints`` that is not a joint; -1 for the scene root."""
    def path(n: int) -> list[int]:
        out = []
        while n >= 0:
            out.append(n)
            n = int(parents[n])
        return out[::-1]

    common = path(joints[0])
    for j in joints[1:]:
        p = path(j)
        k = 0
        while k < min(len(common), len(p)) and common[k] == p[k]:
            k += 1
        common = common[:k]
    jset = set(joints)
    return next((n for n in reversed(common) if n not in jset), -1)


def _topological(parents: np.ndarray) -> list[int]:
    """Node indices, every parent before its children."""
    depth = np.zeros(len(parents), np.int64)
    for i in range(len(parents)):
        k = i
        while parents[k] >= 0:
            k = int(parents[k])
            depth[i] += 1
    return [int(i) for i in np.argsort(depth, kind="stable")]


def _singular(m: np.ndarray) -> bool:
    """Whether a (4, 4) affine matrix cannot be inverted (a scale of zero, or nearly)."""
    lin = m[:3, :3]
    return bool(abs(np.linalg.det(lin)) <= 1e-12 * max(float(np.abs(lin).max()), 1e-300) ** 3)


def _differs(a: np.ndarray, b: np.ndarray, size: float) -> float:
    """Relative difference of two (4, 4) frames: translation over ``size``, 3x3 over its scale."""
    lin = np.abs(a[:3, :3] - b[:3, :3]).max() / max(np.abs(b[:3, :3]).max(), 1e-300)
    return float(max(lin, np.abs(a[:3, 3] - b[:3, 3]).max() / size))


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle (radians) between the rotations of two (4, 4) frames (scale divided out)."""
    ra = a[:3, :3] / np.maximum(np.linalg.norm(a[:3, :3], axis=0), 1e-300)
    rb = b[:3, :3] / np.maximum(np.linalg.norm(b[:3, :3], axis=0), 1e-300)
    c = (np.trace(ra.T @ rb) - 1) / 2
    return float(np.arccos(np.clip(c, -1.0, 1.0)))


def _write_local(node: dict, local: np.ndarray, animated: bool, where: str,
                 report: Report) -> None:
    """Store ``local`` (4, 4) in ``node`` as it stored its transform (matrix or TRS)."""
    if "matrix" in node:
        node["matrix"] = [float(x) for x in local.T.reshape(-1)]
        return
    t, q, s, err = decompose(local)
    if err > SHEAR_TOL and not animated:  # TRS cannot hold shear; a matrix can
        for key in ("translation", "rotation", "scale"):
            node.pop(key, None)
        node["matrix"] = [float(x) for x in local.T.reshape(-1)]
        return
    if err > SHEAR_TOL:
        report.add("bind_pose_shear", "warning", f"the bind pose has shear ({err:.2g}) that "
                   "an animated node's TRS cannot hold; nearest TRS used", where)
    old = np.asarray(node.get("rotation", (0, 0, 0, 1)), np.float64)
    if float(q @ old) < 0:  # keep the file's hemisphere: same rotation, smaller diff
        q = -q
    node["translation"] = [float(x) for x in t]
    node["rotation"] = [float(x) for x in q]
    node["scale"] = [float(x) for x in s]


def _frame_scale(skin_matrices: np.ndarray, anchor: np.ndarray, size: float) -> float | None:
    """The scale of a skin's frame ``M`` relative to its anchor, from the file's (j, 4, 4) skin
    matrices: None when they agree (the file is in a bind pose: keep it) or are not uniformly
    scaled in the anchor frame (keep the root joint); 1.0 when ``M`` is the anchor itself."""
    first = skin_matrices[0]
    if max(_differs(c, first, size) for c in skin_matrices) <= AGREE_TOL or _singular(anchor):
        return None
    rel = np.linalg.inv(anchor)[None, :3, :3] @ skin_matrices[:, :3, :3]
    sv = np.linalg.svd(rel, compute_uv=False)  # (j, 3): a pose turns joints, it does not scale
    scale = float(np.median(sv))
    if np.median(np.abs(sv / scale - 1).max(axis=1)) > 0.01:
        return None
    return 1.0 if abs(scale - 1) < 0.01 else scale


def _frame(s: int, anchors: dict[int, tuple[int, float]], world: np.ndarray,
           place: np.ndarray, ibm: np.ndarray) -> np.ndarray:
    """Skin ``s``'s frame ``M`` (4, 4), found at its root joint, now placed at ``place`` with
    inverse bind matrix ``ibm``: the anchor's world; the anchor's scaled by the dequantisation
    scale with the root joint staying where it is; or (neither) the root joint's skin matrix."""
    if s not in anchors:
        return place @ ibm
    a, scale = anchors[s]
    frame = world[a].copy() if a >= 0 else np.eye(4)
    if scale != 1.0:
        frame[:3, :3] *= scale
        frame[:3, 3] = 0.0
        frame[:3, 3] = place[:3, 3] - (frame @ np.linalg.inv(ibm))[:3, 3]
    return frame


def reset_to_bind_pose(doc: GltfDocument, report: Report) -> float:
    """Set every skin joint's local transform so that all its skin matrices are one frame.

    The frame is chosen per skin as the module says. Skins are taken in order; a joint shared by
    several skins takes the first skin's bind matrix, and a later skin whose bind matrices
    disagree is reported (warning). Nodes between joints that are not joints keep their local
    transforms; a joint stored as ``matrix`` stays a matrix. Returns the largest distance (file
    units, metres for glTF) a joint's origin moved; a ``bind_pose_reset`` "repaired" finding is
    added when any joint moved or turned noticeably. Expects :func:`repair.check_skins` passed.
    """
    js = doc.json
    skins = js.get("skins", [])
    nodes = js.get("nodes", [])
    if not skins or not nodes:
        return 0.0
    parents = gs.parent_table(js)
    local = np.stack([gs.node_local(n) for n in nodes])
    old_world = gs.world_matrices(js, local)
    with_ibm = [s for s, skin in enumerate(skins) if "inverseBindMatrices" in skin]
    if not with_ibm:
        return 0.0
    claimed = sorted({int(j) for s in with_ibm for j in skins[s]["joints"]})
    span = old_world[claimed][:, :3, 3]
    size = max(float((span.max(0) - span.min(0)).max()), 1e-9)
    claims: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}  # node -> [(skin, IBM, inv)]
    anchors: dict[int, tuple[int, float]] = {}  # skin -> (anchor node, scale); absent: kept
    for s in with_ibm:
        joints = [int(j) for j in skins[s]["joints"]]
        ibm = as_float(doc, int(skins[s]["inverseBindMatrices"])).reshape(-1, 4, 4)
        ibm = ibm.transpose(0, 2, 1)[: len(joints)]
        anchor = _anchor(joints, parents)
        a_world = old_world[anchor] if anchor >= 0 else np.eye(4)
        scale = _frame_scale(old_world[joints] @ ibm, a_world, size)
        if scale is not None:
            anchors[s] = (anchor, scale)
        for j, m, b in zip(joints, ibm, np.linalg.inv(ibm), strict=True):
            claims.setdefault(j, []).append((s, m, b))

    world = old_world.copy()
    new_local = local.copy()
    frames: dict[int, np.ndarray] = {}  # skin -> its frame M, once known
    changed: list[int] = []
    disagree: dict[int, tuple[int, float, int]] = {}  # later skin -> (joints, worst, first skin)
    for n in _topological(parents):
        p = int(parents[n])
        current = local[n] if p < 0 else world[p] @ local[n]
        if n not in claims:
            world[n] = current
            continue
        target = None
        for s, ibm, inv in claims[n]:
            if s not in frames:  # in topological order, the first joint met is a root joint
                place = current if target is None else target  # where it is (or goes)
                frames[s] = _frame(s, anchors, world, place, ibm)
            t = frames[s] @ inv
            if target is None:
                target, first = t, s
                continue
            d = _differs(t, target, size)
            if d > AGREE_TOL:
                count, worst, _ = disagree.get(s, (0, 0.0, first))
                disagree[s] = (count + 1, max(worst, d), first)
        move = float(np.linalg.norm(target[:3, 3] - current[:3, 3]))
        if move <= MOVE_TOL * size and _angle(target, current) <= ANGLE_TOL:
            world[n] = current  # in its bind pose already (to float noise): leave it as written
            continue
        if p >= 0 and _singular(world[p]):  # under a node scaled to nothing: cannot be placed
            report.add("bind_pose_unreachable", "warning", "joint under a node scaled to "
                       "zero keeps the file's pose", f"nodes[{n}]")
            world[n] = current
            continue
        world[n] = target
        new_local[n] = target if p < 0 else np.linalg.inv(world[p]) @ target
        changed.append(n)

    for s, (count, worst, first) in sorted(disagree.items()):
        report.add("bind_pose_disagrees", "warning",
                   f"inverseBindMatrices disagree with skins[{first}] on {count} shared joints "
                   f"(up to {worst:.2g} of the skeleton's size); skins[{first}]'s are used",
                   f"skins[{s}]")
    animated = {int(ch["target"]["node"]) for a in js.get("animations", [])
                for ch in a.get("channels", []) if "node" in ch.get("target", {})}
    for n in changed:
        _write_local(nodes[n], new_local[n], n in animated, f"nodes[{n}]", report)
    moved = np.linalg.norm(world[claimed][:, :3, 3] - old_world[claimed][:, :3, 3], axis=1)
    turned = max(_angle(world[n], old_world[n]) for n in claimed)
    largest = float(moved.max(initial=0.0))
    if changed:
        kept = [s for s in with_ibm if s not in anchors]
        report.add("bind_pose_reset", "repaired",
                   f"reset {len(changed)} joints from the file's node pose to the bind pose of "
                   f"the inverse bind matrices (largest move {largest:.3g} m, turn "
                   f"{np.degrees(turned):.3g} deg" + (
                       "; root joint kept in place" if kept and len(kept) == len(with_ibm)
                       else "") + ")", "skins")
    return largest
