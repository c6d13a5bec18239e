"""An artist's own skeleton (glTF joint nodes) and clips retargeted onto it.

Imported characters keep their skeleton: any names, any hierarchy, rest rotations that are not
identity and scales (Mixamo's 0.01 on the hips). reskin's clips live on the canonical humanoid
(:data:`reskin.core.skeleton.HUMANOID_JOINTS`, identity rest rotations). The bridge:

1. :func:`node_skeleton` reads the joint nodes of a parsed glTF into a :class:`NodeSkeleton`.
2. :func:`node_mapping` maps canonical joints onto artist joints (name maps, then the artist's
   chain for canonical joints the names leave out, e.g. chest on Spine2).
3. :func:`canonical_skeleton` builds the canonical skeleton whose heads sit on the mapped
   artist joints' rest positions (scene world space); a clip is made or retargeted for it.
4. :func:`retarget_to_nodes` carries the clip onto every artist joint by world-space deltas:
   canonical rest rotations are identity, so a canonical joint's FK world rotation ``W_c`` *is*
   its rotation away from rest, and the artist joint mapped from it gets world rotation
   ``W_c @ R_rest_world``. Unmapped joints (fingers, face, extra spine joints) keep their rest
   local transform, every joint keeps its rest local translation and scale (bones never
   stretch), and the hips translation follows the clip's root path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.node_anim import NodeClip
from reskin.assets.gltf.read import GltfDocument
from reskin.core.clip import Clip
from reskin.core.skeleton import HUMANOID_JOINTS, Skeleton, forward_kinematics, joint_index
from reskin.core.transforms import matrix_to_quat, trs_matrix
from reskin.rigging.names import CANONICAL, map_to_canonical

__all__ = ["NodeClip", "NodeSkeleton", "canonical_skeleton", "decompose", "node_mapping",
           "node_skeleton", "pose_world", "retarget_to_nodes", "scene_world"]

_CANON_PARENT = dict(HUMANOID_JOINTS)
# Joints a character must have for clips to play on it (the rest can be placed between them).
REQUIRED = ("hips", "head") + tuple(
    f"{s}{b}" for s in ("left", "right")
    for b in ("UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot"))


@dataclass(frozen=True, eq=False)
class NodeSkeleton:
    """The joint nodes of a glTF skin, parents before children.

    names      : (j,) node names (``node<i>`` where unnamed)
    parents    : (j,) int64 index of the parent joint, -1 when the parent node is not a joint
    rest_local : (j, 4, 4) float64 local rest matrices (the nodes' TRS or matrix)
    frame      : (j, 4, 4) float64 world matrix of the non-joint parent of each root joint
                 (the scene's axis or unit nodes), identity for the others
    nodes      : (j,) the glTF node index of each joint
    """

    names: tuple[str, ...]
    parents: np.ndarray
    rest_local: np.ndarray
    frame: np.ndarray
    nodes: tuple[int, ...]

    def __post_init__(self) -> None:
        j = len(self.names)
        if (self.parents.shape != (j,) or self.rest_local.shape != (j, 4, 4)
                or self.frame.shape != (j, 4, 4) or len(self.nodes) != j):
            raise ValueError("node skeleton arrays do not match the number of joints")
        if any(p >= i for i, p in enumerate(self.parents)):
            raise ValueError("node skeleton joints must be listed after their parents")

    def index(self, name: str) -> int:
        return joint_index(self.names, name)

    @property
    def rest_world(self) -> np.ndarray:
        """(j, 4, 4) float64 rest world matrices (scene space)."""
        return _chain(self, self.rest_local)


def _chain(ns: NodeSkeleton, local: np.ndarray) -> np.ndarray:
    """(..., j, 4, 4) world matrices from local ones (leading axes carried through)."""
    world = np.empty_like(local)
    for i, p in enumerate(ns.parents):
        parent = world[..., p, :, :] if p >= 0 else ns.frame[i]
        world[..., i, :, :] = parent @ local[..., i, :, :]
    return world


def decompose(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(..., 4, 4) affine matrices without shear -> translations (..., 3), unit quaternions
    (..., 4) (x, y, z, w) and scales (..., 3); a mirroring matrix gets a negative x scale."""
    m = np.asarray(m, np.float64)
    lin = m[..., :3, :3]
    scale = np.linalg.norm(lin, axis=-2)
    scale[..., 0] *= np.where(np.linalg.det(lin) < 0, -1.0, 1.0)
    rot = lin / np.where(scale == 0, 1.0, scale)[..., None, :]
    return m[..., :3, 3].copy(), matrix_to_quat(rot), scale


def node_skeleton(doc: GltfDocument | dict, skin: int | None = 0) -> NodeSkeleton:
    """The joints of skin ``skin`` (or of every skin, each joint once, when None) of a parsed
    glTF, ordered parents first (skin order within a depth).

    A non-joint node between two joints (a helper group) is taken in as a joint too, so every
    joint's parent is a joint or lies above the whole skeleton. Raises ValueError when the
    file has no such skin.
    """
    js = doc.json if isinstance(doc, GltfDocument) else doc
    skins = js.get("skins", [])
    chosen = range(len(skins)) if skin is None else [skin]
    if not skins or any(not 0 <= s < len(skins) for s in chosen):
        raise ValueError(f"the file has no skin {skin}" if skins else "the file has no skin")
    joints: list[int] = []
    for s in chosen:
        joints += [int(j) for j in skins[s].get("joints", []) if int(j) not in joints]
    parents = gs.parent_table(js)
    members = set(joints)
    for j in list(joints):  # pull in non-joint nodes sandwiched between joints
        chain, k = [], parents[j]
        while k >= 0:
            chain.append(int(k))
            if k in members:
                for n in chain[:-1]:
                    if n not in members:
                        members.add(n)
                        joints.append(n)
                break
            k = parents[k]

    def depth(n: int) -> int:
        d, k = 0, parents[n]
        while k >= 0:
            d, k = d + 1, parents[k]
        return d

    order = sorted(joints, key=depth)  # stable: skin order within a depth
    slot = {n: i for i, n in enumerate(order)}
    world = gs.world_matrices(js)
    nodes = js["nodes"]
    frame = np.tile(np.eye(4), (len(order), 1, 1))
    par = np.full(len(order), -1, np.int64)
    for i, n in enumerate(order):
        p = int(parents[n])
        if p in slot:
            par[i] = slot[p]
        elif p >= 0:
            frame[i] = world[p]
    return NodeSkeleton(
        names=tuple(nodes[n].get("name") or f"node{n}" for n in order), parents=par,
        rest_local=np.stack([gs.node_local(nodes[n]) for n in order]), frame=frame,
        nodes=tuple(order))


def _ancestors(ns: NodeSkeleton, a: int) -> list[int]:
    out, k = [], int(ns.parents[a])
    while k >= 0:
        out.append(k)
        k = int(ns.parents[k])
    return out


def node_mapping(ns: NodeSkeleton, convention: str | None = None) -> dict[str, int]:
    """{canonical joint: artist joint index} from the name maps
    (:func:`reskin.rigging.names.map_to_canonical`), completed from the hierarchy: a canonical
    spine, chest, neck or shoulder the names leave out takes an artist joint lying between its
    mapped canonical parent and child (chest: the upper one, as Spine2 under the neck; spine:
    the lower one) that is an ancestor of every mapped joint below it.

    Raises ValueError when the names match no convention.
    """
    mapping = {c: ns.index(a) for c, a in map_to_canonical(ns.names, convention).items()}
    canon_kids = {c: [k for k, p in HUMANOID_JOINTS if p == c] for c in CANONICAL}

    def below(c: str) -> list[int]:  # mapped artist joints of c's canonical descendants
        out, todo = [], list(canon_kids[c])
        while todo:
            k = todo.pop()
            if k in mapping:
                out.append(mapping[k])
            todo += canon_kids[k]
        return out

    for c in ("spine", "chest", "neck", "leftShoulder", "rightShoulder"):
        parent = _CANON_PARENT[c]
        child = next((k for k in canon_kids[c] if k in mapping), None)
        if c in mapping or parent not in mapping or child is None:
            continue
        chain = _ancestors(ns, mapping[child])  # nearest first
        if mapping[parent] not in chain:
            continue
        between = chain[:chain.index(mapping[parent])]
        taken = set(mapping.values())
        desc = below(c)
        ok = [a for a in between if a not in taken
              and all(a in _ancestors(ns, d) for d in desc)]
        if ok:
            mapping[c] = ok[-1] if c == "spine" else ok[0]
    return mapping


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def canonical_skeleton(ns: NodeSkeleton, mapping: dict[str, int]) -> Skeleton:
    """The canonical skeleton (:data:`HUMANOID_JOINTS` order) on the artist's rest pose.

    Heads are the mapped artist joints' rest world positions (glTF scene space: metres, +Y up
    for a normalised import); tails follow :func:`reskin.rigging.joint_edits.skeleton_from_joints`
    (the first child), except that a leaf (head, hand, toes) points at the artist joint's first
    child when it has one (HeadEnd, FingerBase, ToeEnd).
    Canonical joints without an artist joint are placed between their neighbours: spine and
    chest on the hips-neck line, neck below the head, shoulders a quarter of the way from the
    neck to the upper arms, toes ahead of and below the feet.
    Raises ValueError naming the joints a character must have and this one lacks.
    """
    from reskin.rigging.joint_edits import skeleton_from_joints

    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        raise ValueError(f"the skeleton has no joint for {', '.join(missing)} (joints: "
                         f"{', '.join(ns.names[:8])}{', ...' if len(ns.names) > 8 else ''})")
    bad = [c for c, a in mapping.items() if c not in CANONICAL or not 0 <= a < len(ns.names)]
    if bad:
        raise ValueError(f"mapping names unknown canonical joints or bad indices: {bad}")
    rest = ns.rest_world[:, :3, 3]
    p = {c: rest[a].copy() for c, a in mapping.items()}
    hips, head = p["hips"], p["head"]
    if "neck" not in p:
        p["neck"] = hips + 0.85 * (head - hips)
    if "spine" not in p:
        p["spine"] = (0.5 * (hips + p["chest"]) if "chest" in p
                      else hips + 0.25 * (p["neck"] - hips))
    if "chest" not in p:
        p["chest"] = p["spine"] + 0.5 * (p["neck"] - p["spine"])
    for s in ("left", "right"):
        if f"{s}Shoulder" not in p:
            p[f"{s}Shoulder"] = p["neck"] + 0.25 * (p[f"{s}UpperArm"] - p["neck"])
    left = _unit(p["leftUpperLeg"] - p["rightUpperLeg"])
    up = head - hips
    up = _unit(up - (up @ left) * left)
    forward = np.cross(left, up)
    for s in ("left", "right"):
        if f"{s}Toes" not in p:
            shin = float(np.linalg.norm(p[f"{s}Foot"] - p[f"{s}LowerLeg"]))
            p[f"{s}Toes"] = p[f"{s}Foot"] + shin * (0.28 * forward - 0.12 * up)
    sk = skeleton_from_joints(p)
    # Leaves point at the artist's own end joint where it has one (crown, toe tip: fit.py's
    # convention for leaves), not along the parent bone: a toe bone along the foot would
    # point into the floor, and a clip aligned to it would curl the toes.
    tails = sk.tails.copy()
    for c, a in mapping.items():
        i = sk.index(c)
        kids = np.flatnonzero(ns.parents == a)
        if (sk.parents == i).any() or not len(kids):
            continue
        end = rest[kids[0]]
        if np.linalg.norm(end - rest[a]) > 0.2 * np.linalg.norm(sk.heads[i] - sk.tails[i]):
            tails[i] = end
    return Skeleton(sk.names, sk.parents, sk.heads, tails.astype(np.float32))


def _nearest_rotation(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) the rotation nearest each matrix (polar decomposition)."""
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    u[..., :, 2] *= d[..., None]
    return u @ vt


def retarget_to_nodes(clip: Clip, canonical: Skeleton, ns: NodeSkeleton,
                      mapping: dict[str, int]) -> NodeClip:
    """``clip`` (on ``canonical``, e.g. from :func:`canonical_skeleton`) on every artist joint.

    Returns a :class:`NodeClip` with (f, j, 4) local rotations and (f, j, 3) local translations
    in ``ns`` order. Mapped joints get world rotation ``W_c(f) @ R_rest_world`` (W_c the
    canonical FK world rotation); others keep their rest local rotation. Translations stay at
    rest except the hips', which puts the hips at the clip's root path (model space of
    ``canonical``, which is the scene's world space) through its posed parent. Scales stay at
    rest (the writer does not animate them). Vectorised over frames.
    """
    if "hips" not in mapping:
        raise ValueError("the mapping has no hips")
    world_c = forward_kinematics(canonical, clip.for_skeleton(canonical.names),
                                 clip.root_translation)  # (f, jc, 4, 4)
    driver = {a: canonical.index(c) for c, a in mapping.items() if c in canonical.names}
    hips = mapping["hips"]
    rest_world = ns.rest_world
    rest_t, rest_q, rest_s = decompose(ns.rest_local)
    f, j = clip.frames, len(ns.names)
    rot = np.repeat(rest_q[None], f, 0)
    trans = np.repeat(rest_t[None], f, 0)
    posed = np.empty((f, j, 4, 4))
    for a in range(j):
        p = ns.parents[a]
        parent = posed[:, p] if p >= 0 else np.broadcast_to(ns.frame[a], (f, 4, 4))
        if a == hips:
            target = np.concatenate([world_c[:, canonical.index("hips"), :3, 3],
                                     np.ones((f, 1))], axis=1)
            trans[:, a] = np.einsum("fab,fb->fa", np.linalg.inv(parent), target)[:, :3]
        if a in driver:
            want = world_c[:, driver[a], :3, :3] @ rest_world[a, :3, :3]
            local = np.linalg.solve(parent[:, :3, :3], want) / rest_s[a][None, None, :]
            rot[:, a] = matrix_to_quat(_nearest_rotation(local))
        posed[:, a] = parent @ trs_matrix(trans[:, a], rot[:, a], rest_s[a][None])
    return NodeClip(name=clip.name, fps=float(clip.fps), rotations=rot, translations=trans)


def pose_world(ns: NodeSkeleton, nclip: NodeClip) -> np.ndarray:
    """(f, j, 4, 4) world matrices of the joints playing ``nclip`` (rest scales)."""
    _, _, s = decompose(ns.rest_local)
    local = trs_matrix(nclip.translations, nclip.rotations, np.broadcast_to(s, nclip.translations
                                                                            .shape))
    return _chain(ns, local)


def scene_world(js: dict, ns: NodeSkeleton, nclip: NodeClip) -> np.ndarray:
    """(f, n_nodes, 4, 4) world matrices of every node of the glTF ``js`` playing ``nclip``
    (non-joint nodes at rest), for :func:`reskin.assets.gltf.scene.skin_matrices`."""
    rest = np.stack([gs.node_local(n) for n in js["nodes"]])
    _, _, s = decompose(ns.rest_local)
    local = np.repeat(rest[None], nclip.frames, 0)
    local[:, list(ns.nodes)] = trs_matrix(nclip.translations, nclip.rotations,
                                          np.broadcast_to(s, nclip.translations.shape))
    return gs.world_matrices(js, local)


def chain_tails(parents: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """(j, 3) bone tails for a skeleton of any naming: the child that continues the chain (the
    one most in line with the joint's own direction from its parent; for a root, the child with
    the most descendants, so the hips point up the spine, not into a leg); leaves extend their
    parent's bone by half. parents (j,) parents first; heads (j, 3)."""
    j = len(parents)
    size = np.ones(j, np.int64)
    for i in range(j - 1, 0, -1):
        if parents[i] >= 0:
            size[parents[i]] += size[i]
    tails = heads.astype(np.float64).copy()
    for i in range(j):
        kids = np.flatnonzero(parents == i)
        p = parents[i]
        if len(kids) and p >= 0 and np.linalg.norm(heads[i] - heads[p]) > 0:
            d = _unit(heads[i] - heads[p])
            out = heads[kids] - heads[i]
            cos = out @ d / np.maximum(np.linalg.norm(out, axis=1), 1e-12)
            tails[i] = heads[kids[np.argmax(cos)]]
        elif len(kids):
            tails[i] = heads[kids[np.argmax(size[kids])]]
        elif p >= 0:
            tails[i] = heads[i] + 0.5 * (heads[i] - heads[p])
        else:
            tails[i] = heads[i] + np.array([0.0, 0.1, 0.0])
    return tails


def artist_skeleton(ns: NodeSkeleton) -> tuple[Skeleton, tuple[str, ...]]:
    """The artist's joints as a reskin :class:`Skeleton` in rest pose (heads at the rest world
    positions, tails along the chains), for computing weights on the artist's own joints; and
    the leaf joints (end sites: they give their parent a tail, they are not bones)."""
    heads = ns.rest_world[:, :3, 3]
    tails = chain_tails(ns.parents, heads)
    leaves = tuple(n for i, n in enumerate(ns.names) if not (ns.parents == i).any())
    return Skeleton(ns.names, ns.parents.astype(np.int32), heads.astype(np.float32),
                    tails.astype(np.float32)), leaves
