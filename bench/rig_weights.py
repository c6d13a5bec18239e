"""reskin's bone-heat weights against the artist's and against nearest-bone rigid weights.

For each avatar in ../shared/data/avatars (seven skinned meshes sharing one skeleton: body,
eyes, tear glands, teeth): all meshes merged in their bind pose, the artist's skeleton as a
reskin Skeleton (heads = joint rest positions, tails = the child continuing the chain), then
(a) reskin's ``bind_weights`` and (b) nearest-bone rigid weights (every vertex 100% to its
nearest bone segment). The skeleton plays an artist-style set of poses (arms down, elbows and
knees bent, a squat, head turned and nodded, spine bent and twisted, a wave, eyes looking
aside); every vertex's distance from where the artist's own weights put it is measured, as a
fraction of height.
Done when (issue #14): ratio (a) / (b) of the mean deviation < 0.5.

    .venv/bin/python bench/rig_weights.py [--avatars White_M_1_Busi ...] [--influences 4]

The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.read import as_float, load_gltf
from reskin.assets.safe_io import Limits
from reskin.core.skeleton import Skeleton, forward_kinematics, skinning_matrices
from reskin.core.transforms import quat_mul
from reskin.rigging.node_skeleton import chain_tails
from reskin.rigging.procedural_clips import axis_angle
from reskin.rigging.skinning import lbs
from reskin.rigging.weights import _segment_distances, bind_weights, end_site_names

AVATARS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "avatars"


@dataclass(frozen=True, eq=False)
class Avatar:
    """Every skinned mesh of a file merged, in the scene's rest (bind) space.

    vertices (n, 3), faces (m, 3), joints (n, k) / weights (n, k) the artist's, indexing
    ``skeleton``; part (n,) index of the mesh each vertex came from, part_names its names.
    """

    vertices: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    weights: np.ndarray
    skeleton: Skeleton
    part: np.ndarray
    part_names: tuple[str, ...]


def load_avatar(path: Path) -> Avatar:
    """All skinned triangle meshes of ``path`` in rest space, on one skeleton of all their joints.

    A skinned vertex rests at ``sum_k w_k global(joint_k) @ inverseBind_k @ v``; the avatars
    are saved in their bind pose, so that is one matrix per mesh (quantisation folded in).
    """
    doc = load_gltf(path, path.read_bytes(), Limits(), allow_missing=True)
    js = doc.json
    world = gs.world_matrices(js)
    world = world[0] if world.ndim == 4 else world
    parent = gs.parent_table(js)
    joint_nodes = sorted({int(j) for s in js["skins"] for j in s["joints"]})
    # Parents before children, as Skeleton requires: order by depth, then node index.
    def depth(n: int) -> int:
        d = 0
        while parent[n] >= 0:
            n, d = parent[n], d + 1
        return d
    joint_nodes.sort(key=lambda n: (depth(n), n))
    slot = {n: i for i, n in enumerate(joint_nodes)}
    parents = np.full(len(joint_nodes), -1, np.int32)
    for i, n in enumerate(joint_nodes):
        p = parent[n]
        while p >= 0 and p not in slot:
            p = parent[p]
        parents[i] = slot.get(p, -1)
    heads = world[joint_nodes, :3, 3]
    tails = chain_tails(parents, heads)
    names = tuple(js["nodes"][n].get("name") or f"node{n}" for n in joint_nodes)
    skeleton = Skeleton(names, parents, heads.astype(np.float32), tails.astype(np.float32))

    verts, faces, joints, weights, part, part_names = [], [], [], [], [], []
    offset = 0
    for node_index, node in enumerate(js["nodes"]):
        if "mesh" not in node or "skin" not in node:
            continue
        skin = js["skins"][int(node["skin"])]
        jn = np.array([slot[int(j)] for j in skin["joints"]])
        ibm = as_float(doc, int(skin["inverseBindMatrices"])).reshape(-1, 4, 4).transpose(0, 2, 1)
        to_rest = world[[int(j) for j in skin["joints"]]] @ ibm
        for prim in js["meshes"][int(node["mesh"])]["primitives"]:
            if int(prim.get("mode", 4)) != 4:
                continue
            a = prim["attributes"]
            v = as_float(doc, int(a["POSITION"]))
            sets = gs.influence_sets(prim)
            jj = np.concatenate([doc.accessors[j].astype(np.int64) for j, _ in sets], 1)
            ww = np.concatenate([as_float(doc, w) for _, w in sets], 1)
            ww /= np.maximum(ww.sum(axis=1, keepdims=True), 1e-12)
            m = np.einsum("nk,nkab->nab", ww, to_rest[jj])  # (n, 4, 4)
            verts.append(np.einsum("nab,nb->na", m[:, :3, :3], v) + m[:, :3, 3])
            faces.append(gs.triangles(doc, prim, len(v)) + offset)
            joints.append(jn[jj])
            weights.append(ww)
            part.append(np.full(len(v), len(part_names)))
            offset += len(v)
        part_names.append(node.get("name") or f"mesh{node_index}")
    k = max(j.shape[1] for j in joints)
    joints = np.concatenate([np.pad(j, ((0, 0), (0, k - j.shape[1]))) for j in joints])
    weights = np.concatenate([np.pad(w, ((0, 0), (0, k - w.shape[1]))) for w in weights])
    return Avatar(np.concatenate(verts), np.concatenate(faces), joints, weights, skeleton,
                  np.concatenate(part), tuple(part_names))


def end_sites(skeleton: Skeleton) -> list[str]:
    """Leaf joints: end sites that only give their parent its tail, not bones of their own."""
    has_child = np.zeros(len(skeleton.names), bool)
    has_child[skeleton.parents[skeleton.parents >= 0]] = True
    return [n for n, c in zip(skeleton.names, has_child, strict=True) if not c]


def nearest_bone_weights(vertices: np.ndarray, skeleton: Skeleton, exclude: list[str]
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1) joints and weights: every vertex 100% to its nearest bone segment."""
    bones = np.array([i for i, n in enumerate(skeleton.names) if n not in set(exclude)])
    out = np.empty(len(vertices), np.int64)
    for s in range(0, len(vertices), 4096):
        d = _segment_distances(vertices[s:s + 4096], skeleton.heads[bones].astype(np.float64),
                               skeleton.tails[bones].astype(np.float64))
        out[s:s + 4096] = bones[d.argmin(axis=1)]
    return out[:, None], np.ones((len(vertices), 1))


def _find(names: tuple[str, ...], *candidates: str) -> int | None:
    for c in candidates:
        if c in names:
            return names.index(c)
    return None


def artist_poses(skeleton: Skeleton) -> tuple[list[str], np.ndarray]:
    """Pose names and (f, j, 4) local rotations (identity rest): what an animator keys first.

    Axes are the scene's (+x the character's left, +y up, +z forward), as the rest rotations
    are identity.
    """
    names = skeleton.names
    poses: list[tuple[str, list[tuple[str, tuple, float]]]] = [
        ("arms_down", [("LeftArm", (0, 0, 1), -60), ("RightArm", (0, 0, 1), 60)]),
        ("arms_up", [("LeftArm", (0, 0, 1), 60), ("RightArm", (0, 0, 1), -60)]),
        ("arms_forward", [("LeftArm", (0, 1, 0), -70), ("RightArm", (0, 1, 0), 70)]),
        ("elbows_bent", [("LeftForeArm", (0, 1, 0), -90), ("RightForeArm", (0, 1, 0), 90),
                         ("LeftHand", (0, 0, 1), -30), ("RightHand", (0, 0, 1), 30)]),
        ("squat", [("LeftUpLeg", (1, 0, 0), -70), ("RightUpLeg", (1, 0, 0), -70),
                   ("LeftLeg", (1, 0, 0), 100), ("RightLeg", (1, 0, 0), 100),
                   ("LeftFoot", (1, 0, 0), -30), ("RightFoot", (1, 0, 0), -30)]),
        ("step", [("LeftUpLeg", (1, 0, 0), -45), ("LeftLeg", (1, 0, 0), 60),
                  ("RightUpLeg", (1, 0, 0), 20), ("RightUpLeg", (0, 0, 1), -15)]),
        ("head_turn", [("Neck", (0, 1, 0), 25), ("Head", (0, 1, 0), 30),
                       ("Head", (1, 0, 0), 20)]),
        ("spine_bend", [("Spine", (1, 0, 0), 20), ("Spine1", (1, 0, 0), 15),
                        ("Spine2", (0, 1, 0), 25), ("Spine1", (0, 0, 1), 10)]),
        ("wave", [("RightArm", (0, 0, 1), -50), ("RightForeArm", (0, 0, 1), -70),
                  ("RightHand", (1, 0, 0), 30), ("LeftArm", (0, 0, 1), -65),
                  ("LeftForeArm", (0, 1, 0), -40), ("Head", (0, 1, 0), -20)]),
        ("eyes_look", [("LeftEye", (0, 1, 0), 25), ("RightEye", (0, 1, 0), 25),
                       ("LeftEye", (1, 0, 0), -10), ("RightEye", (1, 0, 0), -10)]),
    ]
    rot = np.zeros((len(poses), len(names), 4))
    rot[..., 3] = 1.0
    for f, (_, turns) in enumerate(poses):
        for joint, axis, degrees in turns:
            i = _find(names, joint)
            if i is None:
                continue
            q = axis_angle(axis, np.radians([float(degrees)]))[0]
            rot[f, i] = quat_mul(q, rot[f, i])
    return [p for p, _ in poses], rot


def deviation(avatar: Avatar, joints: np.ndarray, weights: np.ndarray,
              mats: np.ndarray) -> np.ndarray:
    """(f, n) distance of every vertex from its artist-weighted position in every pose."""
    artist = lbs(avatar.vertices, avatar.joints, avatar.weights, mats)
    ours = lbs(avatar.vertices, np.asarray(joints, np.int64), np.asarray(weights, np.float64),
               mats)
    return np.linalg.norm(ours - artist, axis=2)


def recomputed_weights(path: Path, av: Avatar, k: int) -> tuple[np.ndarray, np.ndarray]:
    """reskin's weights for ``path`` as the user gets them: ``reskin asset import`` then
    ``reskin rig NAME --recompute-weights --influences K``, read back from the new version's
    GLB (same meshes and vertex order as the artist's, so vertex i is vertex i)."""
    import tempfile

    from click.testing import CliRunner

    from reskin.assets.library import Library
    from reskin.cli import main as cli
    from reskin.pipeline.series_init import init_series

    with tempfile.TemporaryDirectory(prefix="reskin-bench-weights-") as tmp:
        series = init_series(Path(tmp) / "s")
        for args in (["asset", "import", str(path), "--name", "a"],
                     ["rig", "a", "--recompute-weights", "--influences", str(k)]):
            result = CliRunner().invoke(cli, [*args, "-s", str(series)])
            if result.exit_code:
                raise SystemExit(result.output)
        with Library(series / ".reskin") as lib:
            glb = lib.read_blob(lib.get("a").blobs["model.glb"])
        out = Path(tmp) / "recomputed.glb"
        out.write_bytes(glb)
        ours = load_avatar(out)
    if ours.vertices.shape != av.vertices.shape or ours.skeleton.names != av.skeleton.names:
        raise SystemExit("the recomputed GLB does not match the artist's vertex for vertex")
    return ours.joints, ours.weights


def measure(path: Path, k: int = 4, cli: bool = True) -> dict:
    """Figures of one avatar: deviations (fractions of height) of reskin and nearest-bone.

    cli : reskin's weights through ``reskin rig --recompute-weights`` (the default, what a user
    runs), else bind_weights called directly on the merged meshes."""
    av = load_avatar(path)
    height = float(np.ptp(av.vertices[:, 1]))
    exclude = end_sites(av.skeleton)
    t0 = time.perf_counter()
    if cli:  # what `reskin rig NAME --recompute-weights` writes into the character's GLB
        rj, rw = recomputed_weights(path, av, k)
    else:
        rj, rw = bind_weights(av.vertices, av.faces, av.skeleton, k, exclude=exclude)
    seconds = time.perf_counter() - t0
    # The same bones for the baseline: end sites by name are no bones to bind_weights either.
    nj, nw = nearest_bone_weights(av.vertices, av.skeleton,
                                  sorted(set(exclude) | set(end_site_names(av.skeleton))))
    pose_names, rot = artist_poses(av.skeleton)
    mats = skinning_matrices(av.skeleton, forward_kinematics(av.skeleton, rot))
    ours = deviation(av, rj, rw, mats) / height
    near = deviation(av, nj, nw, mats) / height
    per_part = {}
    for p, name in enumerate(av.part_names):
        sel = av.part == p
        per_part[name] = {"reskin": round(float(ours[:, sel].mean()), 5),
                          "nearest": round(float(near[:, sel].mean()), 5)}
    return {
        "vertices": len(av.vertices), "joints": len(av.skeleton.names),
        "reskin_mean": float(ours.mean()), "reskin_p95": float(np.percentile(ours, 95)),
        "nearest_mean": float(near.mean()), "nearest_p95": float(np.percentile(near, 95)),
        "ratio_mean": float(ours.mean() / near.mean()),
        "ratio_p95": float(np.percentile(ours, 95) / np.percentile(near, 95)),
        "seconds": seconds, "poses": pose_names, "parts": per_part,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--avatars", nargs="*", default=None)
    ap.add_argument("--influences", type=int, default=4)
    ap.add_argument("--direct", action="store_true",
                    help="call bind_weights directly instead of `reskin rig --recompute-weights`")
    args = ap.parse_args()
    files = ([AVATARS / f"{a}.glb" for a in args.avatars] if args.avatars
             else sorted(AVATARS.glob("*.glb")))
    print(f"{'avatar':18s} {'verts':>6s} | {'reskin mean':>11s} {'p95':>7s} | "
          f"{'nearest mean':>12s} {'p95':>7s} | {'ratio':>5s} {'p95':>5s} {'s':>5s}"
          "  (fractions of height)")
    figures = {}
    for f in files:
        r = measure(f, args.influences, cli=not args.direct)
        figures[f.stem] = r
        print(f"{f.stem:18s} {r['vertices']:6d} | {r['reskin_mean']:11.5f} {r['reskin_p95']:7.5f}"
              f" | {r['nearest_mean']:12.5f} {r['nearest_p95']:7.5f} | {r['ratio_mean']:5.2f}"
              f" {r['ratio_p95']:5.2f} {r['seconds']:5.1f}")
        for part, d in r["parts"].items():
            print(f"    {part:14s} reskin {d['reskin']:.5f}  nearest {d['nearest']:.5f}")
    worst = max(r["ratio_mean"] for r in figures.values())
    print(json.dumps({"avatars": figures, "worst_ratio_mean": worst, "target": 0.5,
                      "passes": worst < 0.5}))


if __name__ == "__main__":
    main()
