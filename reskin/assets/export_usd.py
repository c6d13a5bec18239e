"""Writing a glTF scene (a library GLB) as USD, with UsdSkel for skinned meshes.

One ``SkelRoot`` per glTF skin holds a ``Skeleton`` (joints ordered parents first, as UsdSkel
requires), one ``SkelAnimation`` per glTF animation that moves its joints (the first is bound),
and the skinned meshes. Unskinned meshes are plain ``Mesh`` prims with their world transform.

Skinning maps exactly: glTF poses a vertex as ``sum w * jointWorld(t) @ IBM @ v`` and UsdSkel as
``sum w * jointSkel(t) @ inverse(bindTransform) @ geomBind @ v``; with the Skeleton prim at the
identity, ``jointSkel = jointWorld``, ``bindTransform = inverse(IBM)``, ``geomBind = I``.

Morph targets of skinned meshes become ``UsdSkelBlendShape`` prims under the mesh (named from
``mesh.extras.targetNames``; sparse ``offsets`` / ``normalOffsets`` with ``pointIndices`` on the
vertices a target moves), bound through ``skel:blendShapes`` / ``skel:blendShapeTargets``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.read import GltfDocument, as_float, load_gltf
from reskin.assets.safe_io import Limits
from reskin.core.errors import MissingExtra
from reskin.core.transforms import trs_matrix

FPS = 30.0


def _ident(name: str, used: set[str]) -> str:
    """A valid, unique USD prim name for ``name``."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name or "node")
    if not base or base[0].isdigit():
        base = "_" + base
    out, k = base, 1
    while out in used:
        out, k = f"{base}_{k}", k + 1
    used.add(out)
    return out


def _gf(m: np.ndarray):
    """A Gf.Matrix4d from a (4, 4) column-vector matrix (USD stores the transpose)."""
    from pxr import Gf

    return Gf.Matrix4d(*[float(x) for x in np.asarray(m, np.float64).T.reshape(-1)])


def _joint_order(js: dict, joints: list[int], parents: np.ndarray) -> tuple[list[int], list[int]]:
    """(joints reordered parents first, parent index within that order or -1)."""
    in_skin = set(joints)

    def joint_parent(n: int) -> int:
        p = int(parents[n])
        while p >= 0 and p not in in_skin:
            p = int(parents[p])
        return p

    order: list[int] = []
    placed: set[int] = set()
    pending = list(joints)
    while pending:
        progressed = False
        for n in list(pending):
            p = joint_parent(n)
            if p < 0 or p in placed:
                order.append(n)
                placed.add(n)
                pending.remove(n)
                progressed = True
        if not progressed:  # cannot happen for a tree; guard anyway
            order.extend(pending)
            break
    index = {n: i for i, n in enumerate(order)}
    return order, [index.get(joint_parent(n), -1) for n in order]


def _skel_locals(world: np.ndarray, order: list[int], jparents: list[int]) -> np.ndarray:
    """(j, 4, 4) joint transforms relative to their parent joint (roots: skeleton space)."""
    out = np.empty((len(order), 4, 4))
    for i, n in enumerate(order):
        p = jparents[i]
        out[i] = world[n] if p < 0 else np.linalg.solve(world[order[p]], world[n])
    return out


def _animated_locals(doc: GltfDocument, anim: dict, at: np.ndarray) -> np.ndarray:
    """(s, n_nodes, 4, 4) local node transforms at times ``at`` with the animation applied."""
    js = doc.json
    samples = gs.sample_animation(doc, anim, at)
    rest = [gs.node_trs(n) for n in js["nodes"]]
    local = np.stack([gs.node_local(n) for n in js["nodes"]])
    out = np.repeat(local[None], len(at), axis=0)
    for node, channels in samples.items():
        t, r, s = rest[node]
        out[:, node] = trs_matrix(
            channels.get("translation", np.broadcast_to(t, (len(at), 3))),
            channels.get("rotation", np.broadcast_to(r, (len(at), 4))),
            channels.get("scale", np.broadcast_to(s, (len(at), 3))))
    return out


def _write_mesh(stage, path: str, doc: GltfDocument, prim: dict, faces: np.ndarray):
    from pxr import Sdf, UsdGeom, Vt

    attrs = prim["attributes"]
    mesh = UsdGeom.Mesh.Define(stage, path)
    points = as_float(doc, int(attrs["POSITION"]))
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(points.astype(np.float32)))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(faces), 3, np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(faces.reshape(-1).astype(np.int32)))
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    lo, hi = points.min(axis=0), points.max(axis=0)
    mesh.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(np.stack([lo, hi]).astype(np.float32)))
    if "NORMAL" in attrs:
        mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(
            as_float(doc, int(attrs["NORMAL"])).astype(np.float32)))
        mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    if "TEXCOORD_0" in attrs:
        uv = as_float(doc, int(attrs["TEXCOORD_0"]))
        st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray,
                                                     UsdGeom.Tokens.vertex)
        st.Set(Vt.Vec2fArray.FromNumpy(np.column_stack([uv[:, 0], 1 - uv[:, 1]])
                                       .astype(np.float32)))
    return mesh


def _target_names(mesh_js: dict, count: int) -> list[str]:
    """The glTF targets' names (``extras.targetNames``), ``target<i>`` where missing."""
    names = list((mesh_js.get("extras") or {}).get("targetNames") or [])
    names = [str(n) for n in names[:count]]
    return names + [f"target{t}" for t in range(len(names), count)]


def _write_blend_shapes(stage, mesh, path: str, doc: GltfDocument, prim: dict,
                        mesh_js: dict) -> None:
    """The primitive's morph targets as UsdSkelBlendShapes bound to the skinned ``mesh``."""
    from pxr import Sdf, UsdSkel, Vt

    targets = prim.get("targets", [])
    n = len(doc.accessors[int(prim["attributes"]["POSITION"])])
    names = _target_names(mesh_js, len(targets))
    used: set[str] = set()
    paths = []
    for name, target in zip(names, targets, strict=True):
        offsets = (as_float(doc, int(target["POSITION"])) if "POSITION" in target
                   else np.zeros((n, 3)))
        normals = as_float(doc, int(target["NORMAL"])) if "NORMAL" in target else None
        moved = np.any(offsets != 0, axis=1)
        if normals is not None:
            moved |= np.any(normals != 0, axis=1)
        index = np.flatnonzero(moved)
        if len(index) == 0:  # an empty pointIndices would mean "every point"
            index = np.zeros(1, np.int64)
        shape = UsdSkel.BlendShape.Define(stage, f"{path}/{_ident(name, used)}")
        shape.CreateOffsetsAttr(Vt.Vec3fArray.FromNumpy(offsets[index].astype(np.float32)))
        shape.CreatePointIndicesAttr(Vt.IntArray.FromNumpy(index.astype(np.int32)))
        if normals is not None:
            shape.CreateNormalOffsetsAttr(
                Vt.Vec3fArray.FromNumpy(normals[index].astype(np.float32)))
        paths.append(shape.GetPath())
    bind = UsdSkel.BindingAPI.Apply(mesh.GetPrim())
    bind.CreateBlendShapesAttr(Vt.TokenArray(names))
    bind.CreateBlendShapeTargetsRel().SetTargets([Sdf.Path(str(p)) for p in paths])


def glb_to_usd(glb: bytes, out: str | Path, *, name: str = "asset") -> None:
    """Write the GLB ``glb`` (self-contained, as the library stores it) to ``out`` (.usda/.usdc)."""
    try:
        from pxr import Sdf, Usd, UsdGeom, UsdSkel, Vt
    except ImportError:
        raise MissingExtra("usd-core", "usd") from None
    doc = load_gltf(Path("/nonexistent/asset.glb"), glb, Limits())
    js = doc.json
    world = gs.world_matrices(js)
    parents = gs.parent_table(js)
    stage = Usd.Stage.CreateNew(str(out))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    stage.SetTimeCodesPerSecond(FPS)
    used: set[str] = set()
    root_path = "/" + _ident(name, set())
    root = UsdGeom.Xform.Define(stage, root_path)
    stage.SetDefaultPrim(root.GetPrim())
    end = 0.0
    skel_paths: dict[int, tuple[str, list[int]]] = {}
    for s, skin in enumerate(js.get("skins", [])):
        order, jparents = _joint_order(js, [int(j) for j in skin["joints"]], parents)
        skel_root = f"{root_path}/{_ident(skin.get('name') or f'skin{s}', used)}"
        UsdSkel.Root.Define(stage, skel_root)
        skel = UsdSkel.Skeleton.Define(stage, f"{skel_root}/Skeleton")
        paths: list[str] = []
        names_used: dict[int, set[str]] = {}
        for i, n in enumerate(order):
            p = jparents[i]
            label = js["nodes"][n].get("name") or f"joint{n}"
            leaf = _ident(label, names_used.setdefault(p, set()))
            paths.append(leaf if p < 0 else f"{paths[p]}/{leaf}")
        skel.CreateJointsAttr(paths)
        ibm = gs.skin_matrices(doc, s, np.tile(np.eye(4), (len(js["nodes"]), 1, 1)))
        position = {n: k for k, n in enumerate(skin["joints"])}
        bind = np.stack([np.linalg.inv(ibm[position[n]]) for n in order])
        skel.CreateBindTransformsAttr(Vt.Matrix4dArray([_gf(m) for m in bind]))
        skel.CreateRestTransformsAttr(Vt.Matrix4dArray(
            [_gf(m) for m in _skel_locals(world, order, jparents)]))
        binding = UsdSkel.BindingAPI.Apply(skel.GetPrim())
        joint_nodes = set(order)
        for a, anim in enumerate(js.get("animations", [])):
            targets = {int(c["target"]["node"]) for c in anim.get("channels", [])
                       if "node" in c.get("target", {})}
            if not targets & joint_nodes:  # node animations of non-joints are not carried
                continue
            duration = gs.animation_duration(doc, anim)
            frames = int(round(duration * FPS)) + 1
            at = np.arange(frames) / FPS
            local = _animated_locals(doc, anim, at)
            usd_anim = UsdSkel.Animation.Define(
                stage, f"{skel_root}/{_ident(anim.get('name') or f'anim{a}', used)}")
            usd_anim.CreateJointsAttr(paths)
            for f in range(frames):
                w = gs.world_matrices(js, local[f])
                xf = Vt.Matrix4dArray([_gf(m) for m in _skel_locals(w, order, jparents)])
                usd_anim.SetTransforms(xf, Usd.TimeCode(f))
            if not binding.GetAnimationSourceRel().GetTargets():
                binding.CreateAnimationSourceRel().SetTargets([usd_anim.GetPath()])
                end = max(end, frames - 1)
        # For each joint in USD order, its index in the glTF skin (what JOINTS_n hold).
        skel_paths[s] = (skel_root, [position[n] for n in order])
    for i, node in enumerate(js.get("nodes", [])):
        if "mesh" not in node:
            continue
        mesh_js = js["meshes"][int(node["mesh"])]
        skinned = "skin" in node
        parent = skel_paths[int(node["skin"])][0] if skinned else root_path
        for p, prim in enumerate(mesh_js.get("primitives", [])):
            n_vertices = len(doc.accessors[int(prim["attributes"]["POSITION"])])
            faces = gs.triangles(doc, prim, n_vertices)
            if faces is None or len(faces) == 0:
                continue
            label = node.get("name") or mesh_js.get("name") or f"mesh{i}"
            path = f"{parent}/{_ident(label if p == 0 else f'{label}_{p}', used)}"
            mesh = _write_mesh(stage, path, doc, prim, faces)
            sets = gs.influence_sets(prim)
            if skinned and sets:
                _, old_index = skel_paths[int(node["skin"])]
                remap = np.zeros(max(old_index) + 1, np.int64)
                remap[old_index] = np.arange(len(old_index))
                joints = np.concatenate([doc.accessors[j].astype(np.int64) for j, _ in sets], 1)
                weights = np.concatenate([as_float(doc, w) for _, w in sets], 1)
                k = joints.shape[1]
                bind = UsdSkel.BindingAPI.Apply(mesh.GetPrim())
                bind.CreateJointIndicesPrimvar(False, k).Set(
                    Vt.IntArray.FromNumpy(remap[joints].reshape(-1).astype(np.int32)))
                bind.CreateJointWeightsPrimvar(False, k).Set(
                    Vt.FloatArray.FromNumpy(weights.reshape(-1).astype(np.float32)))
                bind.CreateGeomBindTransformAttr(_gf(np.eye(4)))
                bind.CreateSkeletonRel().SetTargets([Sdf.Path(f"{parent}/Skeleton")])
                if prim.get("targets"):
                    _write_blend_shapes(stage, mesh, path, doc, prim, mesh_js)
            else:
                mesh.AddTransformOp().Set(_gf(world[i]))
    if end > 0:
        stage.SetStartTimeCode(0)
        stage.SetEndTimeCode(end)
    stage.GetRootLayer().Save()
