"""Rigging a character that came from a file, keeping everything the file holds.

An imported character's ``model.glb`` (meshes, materials, textures, morph targets, the artist's
skeleton, weights and animations) is carried through rigging unchanged; reskin's canonical
skeleton becomes a *mapping* onto it:

- ``own``: the file's humanoid skin is used as is. The canonical joints sit on the artist joints
  the name maps (or the VRM humanoid map) name, and the artist's weights are summed onto them
  for reskin's own stages (previews, garments, continuity views).
- ``auto``: a static mesh (a generator's output) gets the canonical skeleton fitted to it and
  weights by bone heat; both are written into ``model.glb`` as a new skin, next to the file's
  own materials and textures.

Either way the rigged version stores ``model.glb`` (what skins are made from), ``mesh.npz``,
``rig.npz`` (canonical skeleton, canonical influences on ``mesh.npz`` vertices, and the artist
joint each canonical joint maps to) and ``atlas.npz``, so every stage that reads a
:class:`~reskin.rigging.rigged.RiggedCharacter` works on it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reskin.assets.gltf.read import GltfDocument, as_float, load_gltf
from reskin.assets.gltf.repair import Part, flatten
from reskin.assets.gltf.scene import influence_sets
from reskin.assets.safe_io import Limits
from reskin.core.errors import ReskinError
from reskin.core.mesh import Mesh

FILE_RIG_VERSION = "1"
RIG_MODES = ("own", "auto")
_REQUIRED = ("hips", "spine", "head", "leftUpperArm", "leftLowerArm", "leftHand",
             "rightUpperArm", "rightLowerArm", "rightHand", "leftUpperLeg", "leftLowerLeg",
             "leftFoot", "rightUpperLeg", "rightLowerLeg", "rightFoot")
"""Canonical joints an artist skeleton must map for ``own``: the limbs and the spine's ends."""


@dataclass(frozen=True)
class PartVertices:
    """One primitive of ``model.glb`` and where its vertices are in ``mesh.npz``.

    part  : the flattened primitive (``part.source`` = (node, mesh, primitive))
    index : (n,) int64 for each of the primitive's n vertices, its ``mesh.npz`` vertex
    """

    part: Part
    index: np.ndarray


def read_model(data: bytes) -> GltfDocument:
    """A library ``model.glb`` parsed (it was validated when imported)."""
    return load_gltf(Path("model.glb"), data, Limits())


def model_outline(data: bytes) -> GltfDocument:
    """A library ``model.glb`` whose accessors are decoded only when read: for what needs its
    JSON alone (the rig mode, the skeleton), at a fraction of :func:`read_model`'s cost."""
    from reskin.assets.gltf.glb import split_glb
    from reskin.assets.gltf.splice import lazy_document, spliceable

    text, binary = split_glb(data)
    doc = lazy_document(text, binary or b"")
    return doc if spliceable(doc.json) else read_model(data)


def part_vertices(doc: GltfDocument, mesh: Mesh) -> list[PartVertices]:
    """Match every primitive vertex of ``doc`` to its ``mesh.npz`` vertex.

    ``mesh.npz`` is the import's flattened rest geometry welded per part, in the same part
    order; flattening ``model.glb`` again gives the same points (up to float rounding of the
    normalisation, hence nearest-point matching within each part rather than equality).
    """
    from scipy.spatial import cKDTree

    parts = flatten(doc)
    if len(parts) != len(mesh.part_names):
        raise ReskinError(f"model.glb has {len(parts)} mesh parts but mesh.npz has "
                          f"{len(mesh.part_names)}: the version is inconsistent")
    out = []
    for k, part in enumerate(parts):
        ids = np.unique(mesh.faces[mesh.parts == k])
        if len(ids) == 0:
            ids = np.arange(len(mesh.vertices))
        _, nearest = cKDTree(mesh.vertices[ids]).query(part.positions)
        out.append(PartVertices(part, ids[nearest].astype(np.int64)))
    return out


def primitive_influences(doc: GltfDocument, pv: PartVertices) -> tuple[np.ndarray, np.ndarray]:
    """((n, k) glTF node index, (n, k) weight) of a skinned primitive's vertices."""
    js = doc.json
    node_i, mesh_i, prim_i = pv.part.source
    node = js["nodes"][node_i]
    prim = js["meshes"][mesh_i]["primitives"][prim_i]
    sets = influence_sets(prim)
    if "skin" not in node or not sets:
        n = len(pv.part.positions)
        return np.zeros((n, 1), np.int64), np.zeros((n, 1))
    skin_joints = np.asarray(js["skins"][int(node["skin"])]["joints"], np.int64)
    joints = np.concatenate([doc.accessors[j].astype(np.int64) for j, _ in sets], axis=1)
    weights = np.concatenate([as_float(doc, w) for _, w in sets], axis=1)
    return skin_joints[np.clip(joints, 0, len(skin_joints) - 1)], weights


def humanoid_map(doc: GltfDocument, vrm: dict | None = None):
    """(the file's :class:`~reskin.rigging.node_skeleton.NodeSkeleton` over every skin,
    {canonical joint: its joint index}): the VRM humanoid map when the file has one (used as
    is), else the name maps of :mod:`reskin.rigging.names` completed from the hierarchy. The
    map is empty when the names match no convention; the skeleton None without a skin."""
    from reskin.rigging.node_skeleton import node_mapping, node_skeleton

    if not doc.json.get("skins"):
        return None, {}
    ns = node_skeleton(doc, None)
    if vrm:
        index = {name: i for i, name in enumerate(ns.names)}
        return ns, {canon: index[name] for canon, name in vrm.items() if name in index}
    try:
        return ns, node_mapping(ns)
    except ValueError:
        return ns, {}


def choose_mode(doc: GltfDocument, requested: str | None, vrm: dict | None = None) -> str:
    """``requested`` checked against the file, or the default: own when the file carries a
    humanoid skin the name maps recognise, else auto."""
    ns, mapped = humanoid_map(doc, vrm)
    missing = [j for j in _REQUIRED if j not in mapped]
    if requested == "own":
        if ns is None:
            raise ReskinError("rig: own, but the file has no skeleton (use rig: auto)",
                              field="rig")
        if missing:
            raise ReskinError(f"rig: own, but the file's joints do not map onto a humanoid "
                              f"(no {', '.join(missing[:4])}); use rig: auto, or rename the "
                              "joints to a known convention", field="rig")
        return "own"
    if requested == "auto":
        return "auto"
    return "own" if ns is not None and not missing else "auto"


def canonical_influences(doc: GltfDocument, pvs: list[PartVertices], n_vertices: int,
                         node_to_canon: dict[int, int], k: int = 4
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The artist's weights summed onto canonical joints, on ``mesh.npz``'s vertices.

    node_to_canon : glTF joint node -> canonical joint index (every artist joint resolves to its
    nearest mapped ancestor, so fingers count as the hand and face joints as the head).
    Returns (n_vertices, k) uint16 joints and float32 weights (top ``k``, rows sum to 1).
    """
    from reskin.rigging.weights import normalize_top_k

    n_canon = max(node_to_canon.values(), default=0) + 1
    dense = np.zeros((n_vertices, n_canon))
    done = np.zeros(n_vertices, bool)
    for pv in pvs:
        nodes, weights = primitive_influences(doc, pv)
        canon = np.vectorize(lambda n: node_to_canon.get(int(n), 0), otypes=[np.int64])(nodes)
        fresh = ~done[pv.index]  # welded duplicates carry the same weights: count one of them
        rows = np.repeat(pv.index[fresh], canon.shape[1])
        np.add.at(dense, (rows, canon[fresh].ravel()), weights[fresh].ravel())
        done[pv.index] = True
    dense[dense.sum(axis=1) <= 0, 0] = 1.0  # unskinned parts ride on the hips
    return normalize_top_k(dense, k)


def nearest_mapped(parents: np.ndarray, mapped: dict[int, int]) -> np.ndarray:
    """(j,) for each joint (index into ``parents``), the canonical index of itself or its
    nearest ancestor in ``mapped`` (joint index -> canonical index); the root's when none."""
    out = np.full(len(parents), -1, np.int64)
    for i in range(len(parents)):
        k = i
        while k >= 0 and k not in mapped:
            k = int(parents[k])
        out[i] = mapped[k] if k >= 0 else 0
    return out


def skin_primitives(pvs: list[PartVertices], joints: np.ndarray, weights: np.ndarray
                    ) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """Per-vertex influences on ``mesh.npz`` vertices, spread to each primitive's vertices:
    (mesh node, primitive) -> ((n, k) joints, (n, k) weights)."""
    return {(pv.part.source[0], pv.part.source[2]): (joints[pv.index], weights[pv.index])
            for pv in pvs}


@dataclass(frozen=True)
class FileRig:
    """What rigging a file character makes (before it is stored).

    skeleton        : the canonical skeleton on the character
    joints, weights : (n, k) canonical influences on ``mesh.npz`` vertices
    model_glb       : the rigged ``model.glb`` (the source's own bytes for ``own``)
    artist_nodes    : (21,) glTF node of each canonical joint (-1: placed between others)
    confidence      : joint -> [0, 1] for fitted joints (empty for ``own``)
    """

    mode: str
    skeleton: object
    joints: np.ndarray
    weights: np.ndarray
    model_glb: bytes
    artist_nodes: np.ndarray
    joint_count: int
    humanoid: dict


def rig_own(model_glb: bytes, mesh: Mesh, vrm: dict | None = None) -> FileRig:
    """Map the canonical skeleton onto the file's own humanoid skin (nothing in it changes)."""
    from reskin.rigging.node_skeleton import canonical_skeleton

    doc = read_model(model_glb)
    ns, mapping = humanoid_map(doc, vrm)
    try:
        skeleton = canonical_skeleton(ns, mapping)
    except ValueError as exc:
        raise ReskinError(f"the file's skeleton cannot carry reskin's clips: {exc}") from None
    canon_index = {name: i for i, name in enumerate(skeleton.names)}
    resolved = nearest_mapped(ns.parents, {a: canon_index[c] for c, a in mapping.items()})
    node_to_canon = {int(n): int(resolved[i]) for i, n in enumerate(ns.nodes)}
    pvs = part_vertices(doc, mesh)
    joints, weights = canonical_influences(doc, pvs, len(mesh.vertices), node_to_canon)
    artist = np.array([ns.nodes[mapping[c]] if c in mapping else -1 for c in skeleton.names],
                      np.int64)
    return FileRig("own", skeleton, joints, weights, model_glb, artist, len(ns.names),
                   {c: ns.names[a] for c, a in mapping.items()})


def rig_auto(model_glb: bytes, mesh: Mesh, skeleton, influences: int = 4) -> FileRig:
    """Skin the file to ``skeleton`` (fitted by the caller) with bone-heat weights, keeping
    its materials, textures and morph targets."""
    from reskin.assets.gltf.add_skin import add_skeleton_skin
    from reskin.assets.gltf.glb import pack_glb, read_glb
    from reskin.rigging.weights import bind_weights

    doc = read_model(model_glb)
    pvs = part_vertices(doc, mesh)
    joints, weights = bind_weights(mesh.vertices, mesh.faces, skeleton,
                                   max_influences=influences)
    js, binary = read_glb(model_glb)
    nodes = add_skeleton_skin(js, binary, skeleton.names, skeleton.parents, skeleton.heads,
                              skin_primitives(pvs, joints, weights))
    glb = pack_glb(js, bytes(binary), sort_keys=True)
    return FileRig("auto", skeleton, joints, weights, glb, np.asarray(nodes, np.int64),
                   len(nodes), {n: n for n in skeleton.names})


def file_rig_key(base_hash: str, mode: str, influences: int = 4, extra: dict | None = None
                 ) -> str:
    from reskin.core.hashing import key_of
    from reskin.rigging.rigged import ATLAS_SIZE, RIG_VERSION

    return key_of("file-rig", FILE_RIG_VERSION, RIG_VERSION, base_hash, mode, influences,
                  ATLAS_SIZE, extra or {})


def store_file_rig(lib, base, rig: FileRig, key: str, provenance: dict | None = None):
    """Store ``rig`` as the next version of ``base``'s name (``base`` its parent)."""
    import reskin
    from reskin.assets.arrays import pack_arrays, unpack_arrays
    from reskin.assets.texture_bake import rasterize_surface
    from reskin.rigging.rigged import ATLAS_SIZE, atlas_blob

    mesh_blob = lib.read_blob(base.blobs["mesh.npz"])
    mesh = Mesh.from_arrays(unpack_arrays(mesh_blob))
    position, part, _ = rasterize_surface(mesh, ATLAS_SIZE)
    prov = base.provenance
    meta = {k: base.meta[k] for k in ("morph_targets", "animations", "textures", "parts")
            if k in base.meta}
    meta.update({"stage": "rigged", "rig": rig.mode, "joints": rig.joint_count,
                 "height": base.meta.get("height", mesh.height),
                 "vertices": base.meta.get("vertices", len(mesh.vertices)),
                 "humanoid": rig.humanoid})
    if provenance and provenance.get("joint_confidence"):
        meta["joint_confidence"] = provenance["joint_confidence"]
    return lib.add(
        base.name, "character",
        {"model.glb": rig.model_glb, "mesh.npz": mesh_blob,
         "rig.npz": pack_arrays({**rig.skeleton.to_arrays(), "skin_joints": rig.joints,
                                 "skin_weights": rig.weights, "artist_nodes": rig.artist_nodes}),
         "atlas.npz": atlas_blob(position, part)},
        meta=meta,
        provenance={k: v for k, v in {
            "generator": "reskin.rig", "generator_version": FILE_RIG_VERSION,
            "method": ("the file's own skeleton and weights, mapped onto the canonical joints"
                       if rig.mode == "own" else
                       "geometric joint fit + bone heat diffusion weights, added to the file"),
            "author": prov.get("author"), "license": prov.get("license"),
            "reskin": reskin.__version__, **(provenance or {}),
        }.items() if v is not None},
        parents=(base,), input_key=key,
    )


def fit_for_file(mesh: Mesh, overrides: dict | None = None):
    """The canonical skeleton fitted to an imported body (helper shells ignored; the trunk
    placed as the rigs and clips it meets place it), with any ``overrides`` (joint -> (3,))
    as constraints. Returns the :class:`~reskin.rigging.fit_constraints.FitReport`; raises
    ReskinError naming the fix on failure."""
    from reskin.rigging.body import body_only
    from reskin.rigging.fit_constraints import fit_with_constraints

    try:
        return fit_with_constraints(body_only(mesh), overrides, trunk="mixamo")
    except ValueError as exc:
        raise ReskinError(f"cannot fit a skeleton: {exc}; give a few joints with `reskin rig "
                          "NAME --skeleton FILE` (e.g. leftHand, rightHand, neck: [x, y, z]) or "
                          "use a rigged model") from None


def ensure_file_rig(lib, base, *, mode: str | None = None, vrm: dict | None = None):
    """The rigged version of an imported character ``base``, made once. Returns (record, made)."""
    from reskin.assets.arrays import unpack_arrays

    model = lib.read_blob(base.blobs["model.glb"])
    vrm = vrm or (base.meta.get("vrm") or {}).get("humanoid")
    mode = choose_mode(model_outline(model), mode, vrm)
    key = file_rig_key(base.content_hash, mode)
    found = lib.find_by_key("character", key)
    if found is not None:
        return found, False
    mesh = Mesh.from_arrays(unpack_arrays(lib.read_blob(base.blobs["mesh.npz"])))
    if mode == "own":
        return store_file_rig(lib, base, rig_own(model, mesh, vrm), key), True
    fit = fit_for_file(mesh)
    rig = rig_auto(model, mesh, fit.skeleton)
    return store_file_rig(lib, base, rig, key, {"joint_confidence": fit.confidence}), True


def recompute_own_weights(model_glb: bytes, mesh: Mesh, influences: int = 4) -> bytes:
    """``model_glb`` with every skinned primitive's weights recomputed by reskin (bone heat on
    the artist's own joints, end sites excluded): joint names, hierarchy, bind pose,
    animations, materials and textures are the file's, so the artist's weights and reskin's can
    be compared joint by joint."""
    from reskin.assets.gltf.add_skin import unit_weights
    from reskin.assets.gltf.repair import _new_accessor
    from reskin.assets.gltf.types import COMPONENT_TYPES
    from reskin.assets.gltf.write import write_glb
    from reskin.rigging.node_skeleton import artist_skeleton, node_skeleton
    from reskin.rigging.weights import bind_weights

    doc = read_model(model_glb)
    ns = node_skeleton(doc, None)
    skeleton, leaves = artist_skeleton(ns)
    joints, weights = bind_weights(mesh.vertices, mesh.faces, skeleton,
                                   max_influences=influences, exclude=leaves)
    for pv in part_vertices(doc, mesh):
        node_i, mesh_i, prim_i = pv.part.source
        node = doc.json["nodes"][node_i]
        if "skin" not in node:
            continue
        slot = {int(n): k for k, n in enumerate(doc.json["skins"][int(node["skin"])]["joints"])}
        # An artist joint this skin does not list rides on its nearest listed ancestor.
        to_slot = np.zeros(len(ns.names), np.int64)
        for i in range(len(ns.names)):
            k = i
            while k >= 0 and int(ns.nodes[k]) not in slot:
                k = int(ns.parents[k])
            to_slot[i] = slot[int(ns.nodes[k])] if k >= 0 else 0
        j = to_slot[joints[pv.index].astype(np.int64)]
        w = unit_weights(weights[pv.index])
        j = np.where(w > 0, j, 0).astype(np.uint8 if len(slot) < 256 else np.uint16)
        prim = doc.json["meshes"][mesh_i]["primitives"][prim_i]
        attrs = prim["attributes"]
        for key in [a for a in attrs if a.startswith(("JOINTS_", "WEIGHTS_"))]:
            del attrs[key]
        for s in range(j.shape[1] // 4):
            attrs[f"JOINTS_{s}"] = _new_accessor(doc, np.ascontiguousarray(j[:, 4 * s:4 * s + 4]), {
                "componentType": COMPONENT_TYPES[j.dtype], "type": "VEC4"})
            attrs[f"WEIGHTS_{s}"] = _new_accessor(doc, np.ascontiguousarray(
                w[:, 4 * s:4 * s + 4]), {"componentType": COMPONENT_TYPES[w.dtype],
                                         "type": "VEC4"})
    return write_glb(doc)


def store_reweighted(lib, base, model_glb: bytes, key: str, provenance: dict):
    """Store a file whose skeleton is not a humanoid (a fox, a two-bone prop) with reskin's
    weights on its own joints: ``model.glb`` and ``mesh.npz`` only, since reskin's clips and
    wardrobes need the humanoid mapping it lacks."""
    import reskin

    doc = read_model(model_glb)
    joints = {int(j) for s in doc.json.get("skins", []) for j in s["joints"]}
    meta = {k: base.meta[k] for k in ("morph_targets", "animations", "textures", "parts",
                                      "height", "vertices") if k in base.meta}
    meta.update({"stage": "rigged", "rig": "artist", "joints": len(joints)})
    return lib.add(base.name, "character",
                   {"model.glb": model_glb, "mesh.npz": lib.read_blob(base.blobs["mesh.npz"])},
                   meta=meta,
                   provenance={"generator": "reskin.rig", "generator_version": FILE_RIG_VERSION,
                               "method": "bone heat diffusion weights on the file's own joints",
                               "author": base.provenance.get("author"),
                               "license": base.provenance.get("license"),
                               "reskin": reskin.__version__, **provenance},
                   parents=(base,), input_key=key)


def mesh_morphs(model_glb: bytes, mesh: Mesh):
    """The file's morph targets on ``mesh.npz``'s vertices, for reskin's own drawing (previews,
    continuity sheets): (MorphTargets, [(glTF mesh, target) of each]). Deltas are carried into
    the rest pose's model space by the primitive's bind-pose placement (the avatars fold their
    vertex dequantisation into it)."""
    from reskin.assets.gltf.scene import skin_matrices, world_matrices
    from reskin.rigging.morphs import morph_targets

    doc = read_model(model_glb)
    js = doc.json
    world = world_matrices(js)
    deltas, where, names = [], [], []
    for pv in part_vertices(doc, mesh):
        node_i, mesh_i, prim_i = pv.part.source
        targets = js["meshes"][mesh_i]["primitives"][prim_i].get("targets", [])
        if not targets:
            continue
        node = js["nodes"][node_i]
        m = (skin_matrices(doc, int(node["skin"]), world)[0] if "skin" in node
             else world[node_i])
        target_names = js["meshes"][mesh_i].get("extras", {}).get("targetNames", [])
        for t, target in enumerate(targets):
            if "POSITION" not in target:
                continue
            full = np.zeros((len(mesh.vertices), 3), np.float32)
            full[pv.index] = as_float(doc, int(target["POSITION"])) @ m[:3, :3].T
            deltas.append(full)
            where.append((mesh_i, t))
            names.append(target_names[t] if t < len(target_names) else f"target{t}")
    if not deltas:
        return morph_targets(np.zeros((0, len(mesh.vertices), 3), np.float32)), []
    return morph_targets(np.stack(deltas), names), where
