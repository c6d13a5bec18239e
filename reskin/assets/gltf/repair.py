"""Validating and repairing a parsed glTF in place, and flattening it into named parts.

Repairs only touch what can be fixed without guessing: degenerate and duplicate triangles are
dropped (a new index accessor), broken normals and colours are dropped (viewers recompute or
ignore them), NaN texture coordinates become 0, skin weights are renormalised, strips and fans
become triangle lists. Anything else wrong (NaN positions, indices out of range, joints outside
the skin) is fatal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.read import GltfDocument, as_float
from reskin.assets.gltf.types import COMPONENT_TYPES, FLOAT
from reskin.assets.validation import Report, check_finite, check_indices, clean_triangles
from reskin.core.errors import ReskinError


@dataclass(frozen=True)
class Part:
    """One mesh primitive placed in the scene at rest.

    positions : (n, 3) float64 world-space rest positions (skinned meshes posed by their skin)
    faces     : (m, 3) int64 triangles into positions
    uvs       : (n, 2) float32 texture coordinates, origin bottom-left (glTF's v flipped)
    source    : (node, mesh, primitive) indices it came from: vertex i of the part is vertex i
                of that primitive
    """

    name: str
    positions: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    skinned: bool
    source: tuple[int, int, int] = (-1, -1, -1)


def _new_accessor(doc: GltfDocument, array: np.ndarray, like: dict) -> int:
    """Append ``array`` as a new accessor shaped like ``like``; returns its index."""
    accessors = doc.json.setdefault("accessors", [])
    acc = {k: v for k, v in like.items() if k in ("componentType", "type", "normalized", "name")}
    acc["count"] = len(array)
    accessors.append(acc)
    doc.accessors[len(accessors) - 1] = array
    return len(accessors) - 1


def _repair_attributes(doc: GltfDocument, prim: dict, report: Report, where: str) -> None:
    attrs = prim["attributes"]
    for name in list(attrs):
        idx = int(attrs[name])
        values = doc.accessors[idx]
        if values.dtype.kind != "f" or np.isfinite(values).all():
            continue
        if name in ("NORMAL", "TANGENT") or name.startswith("COLOR_"):
            del attrs[name]
            report.add("non_finite", "repaired", f"dropped {name}: it had NaN/Inf values", where)
        elif name.startswith("TEXCOORD_"):
            fixed = np.where(np.isfinite(values), values, 0).astype(values.dtype)
            attrs[name] = _new_accessor(doc, fixed, doc.json["accessors"][idx])
            report.add("non_finite", "repaired", f"set NaN/Inf {name} values to 0", where)
        else:
            check_finite(values, report, where, name)


def exact_unit_rows(w: np.ndarray) -> np.ndarray:
    """(n, k) float32 weights whose rows sum to 1 as closely as float32 allows: each row's
    largest weight takes up the rounding of the others (``w`` (n, k) rows summing to ~1)."""
    out = w.astype(np.float32)
    rows = np.arange(len(out))
    big = np.argmax(out, axis=1)
    others = out.astype(np.float64).sum(axis=1) - out[rows, big]
    out[rows, big] = (1.0 - others).astype(np.float32)
    return out


def _repair_weights(doc: GltfDocument, prim: dict, skin: dict | None, report: Report,
                    where: str) -> None:
    sets = gs.influence_sets(prim)
    if not sets:
        return
    n_joints = len(skin["joints"]) if skin else 0
    weights = [as_float(doc, w) for _, w in sets]
    for (j_acc, _), w in zip(sets, weights, strict=True):
        check_finite(w, report, where, "WEIGHTS")
        joints = doc.accessors[j_acc]
        if ((w > 0) & (joints >= n_joints)).any():
            report.fatal("joint_out_of_range",
                         f"JOINTS index a joint outside the skin's {n_joints} joints", where)
    total = sum(w.sum(axis=1) for w in weights)
    if (total <= 0).any():
        report.fatal("unweighted_vertices",
                     f"{int((total <= 0).sum())} skinned vertices have no weight", where)
    if np.abs(total - 1).max() > 2e-7:  # the validator flags float32 sums off by 4.8e-7
        attrs = prim["attributes"]
        unit = np.split(exact_unit_rows(np.concatenate(weights, axis=1) / total[:, None]),
                        len(sets), axis=1)
        for k, ((_, w_acc), w) in enumerate(zip(sets, unit, strict=True)):
            like = doc.json["accessors"][w_acc]
            attrs[f"WEIGHTS_{k}"] = _new_accessor(doc, np.ascontiguousarray(w),
                                                  {**like, "componentType": FLOAT,
                                                   "normalized": False})
        report.add("weights_not_normalised", "repaired",
                   f"renormalised skin weights (row sums {total.min():.3g}..{total.max():.3g})",
                   where)


def _cycle_through(js: dict, start: int) -> list[int] | None:
    """Nodes on a child-link cycle back to node ``start`` (``start`` first), or None."""
    nodes = js.get("nodes", [])

    def children(k: int) -> list[int]:
        return [int(c) for c in nodes[k].get("children", []) if 0 <= int(c) < len(nodes)]

    came_from: dict[int, int] = {}
    todo = [start]
    while todo:  # breadth first, each node once: bounded by the node count
        k = todo.pop(0)
        for c in children(k):
            if c == start:
                path = [k]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if c not in came_from:
                came_from[c] = k
                todo.append(c)
    return None


def _check_ibm_values(values: np.ndarray, report: Report, where: str) -> None:
    """Refuse inverse bind matrices (column-major (j, 16)) that are not affine or invertible;
    NaN/Inf is left to the finiteness check, which names it."""
    m = np.asarray(values, np.float64).reshape(-1, 16)
    if not np.isfinite(m).all():
        return
    bad_row = np.abs(m[:, [3, 7, 11]]).max(axis=1) + np.abs(m[:, 15] - 1) > 1e-5
    if bad_row.any():
        report.fatal("bad_ibm", f"matrix {int(np.argmax(bad_row))} is not affine (its last row "
                     "must be 0 0 0 1)", where)
    lin = m.reshape(-1, 4, 4)[:, :3, :3]
    size = np.abs(lin).max(axis=(1, 2))
    singular = np.abs(np.linalg.det(lin)) <= 1e-12 * size ** 3
    if singular.any():
        report.fatal("bad_ibm", f"matrix {int(np.argmax(singular))} is singular (a joint "
                     "scaled to nothing)", where)


def check_skins(doc: GltfDocument, report: Report) -> None:
    """Refuse a skeleton that cannot be posed: a joint that is not a node or listed twice,
    joints on a cycle of the node hierarchy, or inverse bind matrices that are not one float
    MAT4 per joint. Each refusal names the field (``skins[i].joints[k]``)."""
    js = doc.json
    nodes = js.get("nodes", [])
    skins = js.get("skins", [])
    for i, node in enumerate(nodes):
        if "skin" in node and node["skin"] not in range(len(skins)):
            report.fatal("bad_skin", f"skin {node['skin']!r} does not exist (the file has "
                         f"{len(skins)})", f"nodes[{i}].skin")
    for s, skin in enumerate(skins):
        where = f"skins[{s}]"
        joints = skin.get("joints")
        if not isinstance(joints, list) or not joints:
            report.fatal("bad_skin", "a skin needs a non-empty list of joint nodes",
                         f"{where}.joints")
        first: dict[int, int] = {}
        for k, j in enumerate(joints):
            if not isinstance(j, int) or not 0 <= j < len(nodes):
                report.fatal("bad_joint", f"joint {j!r} is not a node (the file has "
                             f"{len(nodes)} nodes)", f"{where}.joints[{k}]")
            if j in first:
                report.fatal("duplicate_joint", f"node {j} is listed twice (also joints"
                             f"[{first[j]}])", f"{where}.joints[{k}]")
            first[j] = k
        if "inverseBindMatrices" in skin:
            a = skin["inverseBindMatrices"]
            accessors = js.get("accessors", [])
            if not isinstance(a, int) or not 0 <= a < len(accessors):
                report.fatal("bad_ibm", f"accessor {a!r} does not exist",
                             f"{where}.inverseBindMatrices")
            acc = accessors[a]
            if acc.get("type") != "MAT4" or acc.get("componentType") != FLOAT:
                report.fatal("bad_ibm", f"accessor {a} is not float MAT4",
                             f"{where}.inverseBindMatrices")
            if int(acc.get("count", -1)) != len(joints):
                report.fatal("bad_ibm", f"accessor {a} has {acc.get('count')} matrices for "
                             f"{len(joints)} joints", f"{where}.inverseBindMatrices")
            _check_ibm_values(doc.accessors[a], report, f"{where}.inverseBindMatrices")
    try:
        gs.parent_table(js)
    except ReskinError as exc:
        for s, skin in enumerate(skins):
            for k, j in enumerate(skin["joints"]):
                cycle = _cycle_through(js, j)
                if cycle:
                    report.fatal("joint_cycle", "joints form a cycle in the node hierarchy "
                                 f"(children: {' -> '.join(map(str, cycle + cycle[:1]))})",
                                 f"skins[{s}].joints[{k}]")
        report.fatal("node_cycle", exc.message, exc.field or "nodes")


def repair(doc: GltfDocument, report: Report) -> None:
    """Check every mesh, skin, node and animation; repair what can be repaired, in place."""
    js = doc.json
    check_skins(doc, report)
    for i, node in enumerate(js.get("nodes", [])):
        for key in ("matrix", "translation", "rotation", "scale"):
            if key in node:
                check_finite(np.asarray(node[key], np.float64), report, f"nodes[{i}]", key)
    for i, skin in enumerate(js.get("skins", [])):
        if "inverseBindMatrices" in skin:
            check_finite(doc.accessors[int(skin["inverseBindMatrices"])], report,
                         f"skins[{i}]", "inverseBindMatrices")
    for a, anim in enumerate(js.get("animations", [])):
        for s, sampler in enumerate(anim.get("samplers", [])):
            for key in ("input", "output"):
                check_finite(doc.accessors[int(sampler[key])], report,
                             f"animations[{a}].samplers[{s}]", key)
    skin_of_mesh = {int(n["mesh"]): js["skins"][int(n["skin"])]
                    for n in js.get("nodes", []) if "mesh" in n and "skin" in n}
    for m, mesh in enumerate(js.get("meshes", [])):
        for p, prim in enumerate(mesh.get("primitives", [])):
            where = f"meshes[{m}].primitives[{p}]"
            attrs = prim.get("attributes", {})
            if "POSITION" not in attrs:
                report.fatal("no_positions", "primitive has no POSITION attribute", where)
            positions = as_float(doc, int(attrs["POSITION"]))
            check_finite(positions, report, where, "POSITION")
            for t, target in enumerate(prim.get("targets", [])):
                for name, acc in target.items():
                    check_finite(doc.accessors[int(acc)], report, f"{where}.targets[{t}]", name)
            _repair_attributes(doc, prim, report, where)
            _repair_weights(doc, prim, skin_of_mesh.get(m), report, where)
            faces = gs.triangles(doc, prim, len(positions))
            if faces is None:
                report.add("not_triangles", "info", "points/lines primitive kept as is", where)
                continue
            check_indices(faces, len(positions), report, where)
            mode = int(prim.get("mode", 4))
            cleaned = clean_triangles(positions, faces, report, where)
            if mode != 4 or len(cleaned) != len(faces) or "indices" not in prim:
                if mode != 4:
                    report.add("strip_or_fan", "repaired", "converted to a triangle list", where)
                dtype = np.uint16 if len(positions) < 0xFFFF else np.uint32
                prim["indices"] = _new_accessor(
                    doc, cleaned.reshape(-1).astype(dtype),
                    {"componentType": COMPONENT_TYPES[np.dtype(dtype)], "type": "SCALAR"})
                prim["mode"] = 4


def flatten(doc: GltfDocument) -> list[Part]:
    """Every triangle primitive reachable from the default scene, posed at rest in world space."""
    js = doc.json
    world = gs.world_matrices(js)
    parents = gs.parent_table(js)
    roots = set(gs.scene_roots(js))
    parts: list[Part] = []
    for i, node in enumerate(js.get("nodes", [])):
        if "mesh" not in node:
            continue
        k = i
        while parents[k] >= 0:
            k = int(parents[k])
        if k not in roots:
            continue
        mesh = js["meshes"][int(node["mesh"])]
        skin_m = gs.skin_matrices(doc, int(node["skin"]), world) if "skin" in node else None
        for p, prim in enumerate(mesh.get("primitives", [])):
            attrs = prim["attributes"]
            pos = as_float(doc, int(attrs["POSITION"]))
            faces = gs.triangles(doc, prim, len(pos))
            if faces is None or len(faces) == 0:
                continue
            sets = gs.influence_sets(prim)
            if skin_m is not None and sets:
                joints = np.concatenate([doc.accessors[j].astype(np.int64) for j, _ in sets], 1)
                weights = np.concatenate([as_float(doc, w) for _, w in sets], 1)
                world_pos = gs.skinned_positions(pos, joints, weights, skin_m)
            else:
                world_pos = pos @ world[i][:3, :3].T + world[i][:3, 3]
            if "TEXCOORD_0" in attrs:
                uv = as_float(doc, int(attrs["TEXCOORD_0"]))
                uvs = np.column_stack([uv[:, 0], 1.0 - uv[:, 1]]).astype(np.float32)
            else:
                uvs = np.zeros((len(pos), 2), np.float32)
            base = node.get("name") or mesh.get("name") or f"mesh{node['mesh']}"
            name = base if len(mesh["primitives"]) == 1 else f"{base}.{p}"
            parts.append(Part(name, world_pos, faces, uvs, skin_m is not None and bool(sets),
                              (i, int(node["mesh"]), p)))
    return parts
