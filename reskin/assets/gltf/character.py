"""Write a rigged, textured, animated character as one self-contained binary glTF (GLB).

The GLB is what headless Blender imports (``bpy.ops.import_scene.gltf``), so it carries the whole
character: the skinned mesh split at UV seams, one material with its PNG embedded, the skeleton
as a node hierarchy with a skin, and one glTF animation per clip.

Layout of the node tree (node indices are fixed, which keeps the output deterministic)::

    scene
    └── 0  character node, named ``name`` (identity transform)
        ├── 1  mesh node ``<name>_mesh`` (mesh 0, skin 0)
        └── 2+ joint nodes, one per skeleton joint in skeleton order (node = 2 + joint index),
               nested like the skeleton, translation = local rest offset, no rotation
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reskin import __version__
from reskin.assets.gltf.accessors import BufferBuilder, json_number
from reskin.assets.gltf.glb import pack_glb
from reskin.assets.gltf.types import (
    ARRAY_BUFFER,
    COMPONENT_TYPES,
    ELEMENT_ARRAY_BUFFER,
    TRIANGLES,
    texture_sampler,
)
from reskin.core.clip import Clip
from reskin.core.mesh import Mesh
from reskin.core.skeleton import Skeleton

EXPORTER_VERSION = "2"  # bump when the bytes written for the same inputs change
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MESH_NODE = 1  # node index of the skinned mesh
_FIRST_JOINT_NODE = 2  # joint i of the skeleton is node _FIRST_JOINT_NODE + i


def _unit_rows(v: np.ndarray, fallback: Sequence[float]) -> np.ndarray:
    """(n, k) rows scaled to unit length in float64; zero rows become ``fallback``."""
    v = np.asarray(v, np.float64)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    ok = norm > 1e-12
    return np.where(ok, v / np.where(ok, norm, 1.0), np.asarray(fallback, np.float64))


def _skin_attributes(
    joints: np.ndarray, weights: np.ndarray, n_joints: int
) -> tuple[np.ndarray, np.ndarray]:
    """Clean per-vertex influences into what glTF and its validator accept.

    joints  : (s, k) integer joint indices; weights : (s, k) non-negative weights; k is 4 or 8
    returns (joints (s, k) uint8|uint16, weights (s, k) float32 with rows summing to 1 in float32)
    """
    j = np.asarray(joints).astype(np.int64)
    w = np.asarray(weights, np.float64).copy()
    if not np.isfinite(w).all():
        raise ValueError("weights contain NaN or Inf")
    if (w < 0).any():
        raise ValueError(f"weights must be non-negative, min is {w.min():g}")
    used = w > 0
    if (used & ((j < 0) | (j >= n_joints))).any():
        raise ValueError(f"joints must index the skeleton's {n_joints} joints")
    # The same joint twice in one row is invalid glTF: fold the later weight into the first.
    k = j.shape[1]
    for a in range(k):
        for b in range(a + 1, k):
            dup = used[:, a] & used[:, b] & (j[:, a] == j[:, b])
            w[dup, a] += w[dup, b]
            w[dup, b] = 0.0
            used[dup, b] = False
    total = w.sum(axis=1)
    if (total <= 0).any():
        bad = np.flatnonzero(total <= 0)
        raise ValueError(f"{len(bad)} vertices have no skin weight (first: vertex {bad[0]})")
    # glTF says unused influences carry joint 0; the validator warns otherwise.
    j[~used] = 0
    w32 = float32_weights(w / total[:, None])
    j[w32 == 0] = 0  # also weights too small for float32, which would now be "used zero"
    jdtype = np.uint8 if n_joints <= 256 else np.uint16  # 256 joints -> max index 255 fits a byte
    return j.astype(jdtype), w32


def float32_weights(weights: np.ndarray) -> np.ndarray:
    """(s, k) float64 skin weights with rows summing to 1 -> (s, k) float32 whose float32 row
    sums (what the glTF-Validator checks) are 1 to within one ulp.

    The rounding residue goes onto each row's largest weight.
    """
    w32 = np.asarray(weights, np.float64).astype(np.float32)
    rows = np.arange(len(w32))
    top = np.argmax(w32, axis=1)
    others = w32.astype(np.float64).sum(axis=1) - w32[rows, top]
    w32[rows, top] = (1.0 - others).astype(np.float32)
    return w32


def sparse_offsets(buf: BufferBuilder, offsets: np.ndarray) -> int:
    """Add (s, 3) float32 morph-target ``offsets`` as a sparse accessor (zeros but for the
    moved vertices, whose indices are stored increasing); returns its index.

    min/max, which glTF requires of a POSITION target, cover the zeros as well.
    """
    offsets = np.ascontiguousarray(offsets, np.float32)
    moved = np.flatnonzero(np.any(offsets != 0, axis=1))
    acc: dict = {"componentType": COMPONENT_TYPES[np.dtype(np.float32)], "count": len(offsets),
                 "type": "VEC3", "min": [json_number(x) for x in offsets.min(axis=0)],
                 "max": [json_number(x) for x in offsets.max(axis=0)]}
    if len(moved):
        index_dtype = np.uint16 if len(offsets) <= 0xFFFF else np.uint32
        acc["sparse"] = {
            "count": len(moved),
            "indices": {"bufferView": buf.view(moved.astype(index_dtype).tobytes()),
                        "componentType": COMPONENT_TYPES[np.dtype(index_dtype)]},
            "values": {"bufferView": buf.view(offsets[moved].tobytes())},
        }
    buf.doc["accessors"].append(acc)
    return len(buf.doc["accessors"]) - 1


def _clip_rotations(clip: Clip, k: int) -> np.ndarray:
    """(f, 4) float32 unit quaternions (x, y, z, w) of clip joint ``k``, signs made continuous.

    Consecutive keys on opposite hemispheres would make a component-wise interpolator (Blender's
    F-curves) swing the long way round between frames; flipping a sign keeps the same rotation.
    """
    q = np.asarray(clip.rotations[:, k], np.float64)
    norm = np.linalg.norm(q, axis=1)
    if not (np.isfinite(q).all() and (norm > 1e-8).all()):
        raise ValueError(f"clip {clip.name!r}: joint {clip.joint_names[k]!r} has invalid rotations")
    q = q / norm[:, None]
    # Key t flips when it disagrees with key t-1 as written; a flip of t-1 propagates, hence
    # the running product of the signs.
    agree = np.einsum("ti,ti->t", q[1:], q[:-1]) >= 0
    sign = np.cumprod(np.r_[1.0, np.where(agree, 1.0, -1.0)])
    return (q * sign[:, None]).astype(np.float32)


def _add_animation(buf: BufferBuilder, clip: Clip, skeleton: Skeleton) -> dict:
    if clip.frames < 1:
        raise ValueError(f"clip {clip.name!r} has no frames")
    if not np.isfinite(clip.root_translation).all():
        raise ValueError(f"clip {clip.name!r}: root_translation contains NaN or Inf")
    times = (np.arange(clip.frames, dtype=np.float64) / clip.fps).astype(np.float32)
    t_acc = buf.accessor(times, bounds=True)  # one input shared by every channel of the clip
    samplers: list[dict] = []
    channels: list[dict] = []

    def channel(output: np.ndarray, joint: int, path: str) -> None:
        samplers.append({"input": t_acc, "interpolation": "LINEAR",
                         "output": buf.accessor(output)})
        channels.append({"sampler": len(samplers) - 1,
                         "target": {"node": _FIRST_JOINT_NODE + joint, "path": path}})

    in_clip = {n: k for k, n in enumerate(clip.joint_names)}
    # Skeleton order, not clip order: the output must not depend on how a clip lists its joints.
    for i, joint_name in enumerate(skeleton.names):
        if joint_name in in_clip:
            channel(_clip_rotations(clip, in_clip[joint_name]), i, "rotation")
    # Joint 0 is always the root (parents come first). Its node has no parent joint and the
    # character node is identity, so model-space root positions are its local translations.
    channel(np.asarray(clip.root_translation, np.float32), 0, "translation")
    return {"name": clip.name, "channels": channels, "samplers": samplers}


def _check_inputs(
    mesh: Mesh, skeleton: Skeleton, joints: np.ndarray, weights: np.ndarray, clips: Sequence[Clip]
) -> None:
    n = len(mesh.vertices)
    if joints.shape != weights.shape or joints.shape not in ((n, 4), (n, 8)):
        raise ValueError(f"joints and weights must both be ({n}, 4) or ({n}, 8), got "
                         f"{joints.shape} and {weights.shape}")
    if len(mesh.faces) == 0:
        raise ValueError("mesh has no faces")
    if len(skeleton.names) == 0:
        raise ValueError("skeleton has no joints")
    if len(set(skeleton.names)) != len(skeleton.names):
        raise ValueError("skeleton joint names must be unique (they become Blender bone names)")
    names = [c.name for c in clips]
    if len(set(names)) != len(names):
        raise ValueError(f"clip names must be unique (they become Blender actions): {names}")


def split_for_export(mesh: Mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Mesh.split_for_export`` (same arrays, same order) on one int64 key per corner.

    Unique (vertex, uv) pairs sorted lexicographically are unique ``vertex * (k + 1) + uv``
    keys sorted, and a 1-D unique is an order of magnitude faster than unique rows.
    """
    span = len(mesh.uvs) + 1
    key = mesh.faces.ravel().astype(np.int64) * span + mesh.uv_faces.ravel().astype(np.int64)
    unique, inverse = np.unique(key, return_inverse=True)
    faces = inverse.reshape(-1, 3).astype(np.int32)
    return unique // span, mesh.uvs[unique % span].astype(np.float32), faces


@dataclass(frozen=True, eq=False)
class CharacterBody:
    """Everything of a character GLB but its material: geometry, skin, skeleton and clips.

    It depends only on the rig and the clips, so one body serves every skin of a character;
    :func:`finish_character_glb` adds the material (and its texture, placed after the body's
    data), which leaves every byte of the body's bufferViews where and what it was.
    """

    name: str
    document: str  # JSON text of the partial glTF document (immutable, parsed per finish)
    binary: bytes

    @property
    def size(self) -> int:
        """Bytes of binary data the body occupies at the start of every finished GLB."""
        return len(self.binary)


def character_body(
    mesh: Mesh,
    skeleton: Skeleton,
    joints: np.ndarray,
    weights: np.ndarray,
    *,
    name: str,
    clips: Sequence[Clip] = (),
) -> CharacterBody:
    """The material-independent part of :func:`write_character_glb` (same arguments)."""
    joints = np.asarray(joints)
    weights = np.asarray(weights)
    _check_inputs(mesh, skeleton, joints, weights, clips)
    doc: dict = {}
    buf = BufferBuilder(doc)

    # --- geometry: one vertex per (position, uv) pair, as GPUs and glTF need
    src, uv, faces = split_for_export(mesh)
    positions = np.asarray(mesh.vertices, np.float32)[src]
    # Renormalised in float64 then rounded: unit length within the validator's tolerance; a
    # vertex of only degenerate faces has no normal, so it gets +Y rather than a zero vector.
    normals = _unit_rows(mesh.vertex_normals[src], (0.0, 1.0, 0.0)).astype(np.float32)
    texcoords = np.column_stack([uv[:, 0], 1.0 - uv[:, 1]]).astype(np.float32)  # glTF v is down
    skin_j, skin_w = _skin_attributes(joints[src], weights[src], len(skeleton.names))
    # 0xFFFF is the primitive-restart value, invalid as an index: shorts only below it.
    index_dtype = np.uint16 if len(src) <= 0xFFFF else np.uint32
    attributes = {
        "POSITION": buf.accessor(positions, target=ARRAY_BUFFER, bounds=True),
        "NORMAL": buf.accessor(normals, target=ARRAY_BUFFER),
        "TEXCOORD_0": buf.accessor(texcoords, target=ARRAY_BUFFER),
    }
    # glTF carries influences four at a time: 8 per vertex are JOINTS_0/WEIGHTS_0 (the first
    # four) and JOINTS_1/WEIGHTS_1 (the next four); the weights of both sets sum to 1.
    for k in range(skin_j.shape[1] // 4):
        cols = slice(4 * k, 4 * k + 4)
        attributes[f"JOINTS_{k}"] = buf.accessor(np.ascontiguousarray(skin_j[:, cols]),
                                                 target=ARRAY_BUFFER)
        attributes[f"WEIGHTS_{k}"] = buf.accessor(np.ascontiguousarray(skin_w[:, cols]),
                                                  target=ARRAY_BUFFER)
    indices = buf.accessor(faces.reshape(-1).astype(index_dtype), target=ELEMENT_ARRAY_BUFFER)
    primitive = {"attributes": attributes, "indices": indices, "material": 0, "mode": TRIANGLES}
    body_mesh: dict = {"name": f"{name}_mesh", "primitives": [primitive]}
    if mesh.targets:
        # Morph targets (the face's shapes) as sparse POSITION offsets: a shape moves a few
        # thousand of the body's vertices, the rest stay zeros without being stored.
        primitive["targets"] = [{"POSITION": sparse_offsets(buf, np.asarray(d, np.float32)[src])}
                                for d in mesh.targets.values()]
        body_mesh["weights"] = [0.0] * len(mesh.targets)
        body_mesh["extras"] = {"targetNames": list(mesh.targets)}
    doc["meshes"] = [body_mesh]

    # --- nodes: character, mesh, joints
    j = len(skeleton.names)
    parents = np.asarray(skeleton.parents)
    roots = [i for i in range(j) if parents[i] < 0]
    offsets = skeleton.local_offsets
    nodes: list[dict] = [
        {"name": name, "children": [_MESH_NODE] + [_FIRST_JOINT_NODE + r for r in roots]},
        {"name": f"{name}_mesh", "mesh": 0, "skin": 0},
    ]
    for i in range(j):
        node = {"name": skeleton.names[i], "translation": [float(x) for x in offsets[i]]}
        children = [_FIRST_JOINT_NODE + c for c in range(j) if parents[c] == i]
        if children:
            node["children"] = children
        nodes.append(node)
    doc["nodes"] = nodes

    # --- skin: bind matrices are pure translations because rest rotations are identity
    ibm = np.tile(np.eye(4, dtype=np.float32), (j, 1, 1))
    ibm[:, :3, 3] = -np.asarray(skeleton.heads, np.float32)
    ibm = np.ascontiguousarray(ibm.transpose(0, 2, 1))  # glTF stores matrices column-major
    skin = {"name": f"{name}_skin", "inverseBindMatrices": buf.accessor(ibm.reshape(j, 16)),
            "joints": [_FIRST_JOINT_NODE + i for i in range(j)]}
    if len(roots) == 1:
        # The skeleton root must be a common root of all joints: only one exists when the
        # skeleton has a single root joint (the usual hips).
        skin["skeleton"] = _FIRST_JOINT_NODE + roots[0]
    doc["skins"] = [skin]

    animations = [_add_animation(buf, clip, skeleton) for clip in clips]
    if animations:
        doc["animations"] = animations
    doc["scenes"] = [{"name": name, "nodes": [0]}]
    doc["scene"] = 0
    buf.data += b"\x00" * (-len(buf.data) % 4)
    return CharacterBody(name=name, document=json.dumps(doc, separators=(",", ":")),
                         binary=bytes(buf.data))


def finish_character_parts(
    body: CharacterBody,
    *,
    texture_png: bytes | None = None,
    base_color: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
    roughness: float = 0.6,
    metallic: float = 0.0,
    extras: dict | None = None,
) -> tuple[dict, bytes]:
    """:func:`finish_character_glb` as its (JSON document, binary chunk), for a caller that
    appends more before packing (the re-skin job's garments).

    The texture's bufferView comes after all of the body's, so the body's bytes open the binary
    chunk unchanged whatever the material.
    """
    base_color = [float(c) for c in base_color]
    if len(base_color) != 4 or not all(0.0 <= c <= 1.0 for c in base_color):
        raise ValueError(f"base_color must be 4 numbers in [0, 1], got {base_color}")
    if not (0.0 <= roughness <= 1.0 and 0.0 <= metallic <= 1.0):
        raise ValueError(f"roughness and metallic must be in [0, 1], got {roughness}, {metallic}")
    if texture_png is not None and not bytes(texture_png[:8]) == _PNG_SIGNATURE:
        raise ValueError("texture_png is not PNG data (bad signature)")
    # Sorted keys and a JSON round trip: equal dicts give equal bytes whatever their key order,
    # and anything JSON cannot hold fails here with a clear TypeError, not inside the writer.
    extras_json = json.loads(json.dumps(extras or {}, sort_keys=True, allow_nan=False))
    name = body.name
    doc = json.loads(body.document)
    buf = BufferBuilder(doc, bytearray(body.binary))
    pbr: dict = {"baseColorFactor": base_color, "metallicFactor": float(metallic),
                 "roughnessFactor": float(roughness)}
    if texture_png is not None:
        doc["images"] = [{"bufferView": buf.view(bytes(texture_png)), "mimeType": "image/png",
                          "name": f"{name}_base"}]
        doc["samplers"] = [texture_sampler()]
        doc["textures"] = [{"sampler": 0, "source": 0}]
        pbr["baseColorTexture"] = {"index": 0, "texCoord": 0}
    doc["materials"] = [{"name": f"{name}_material", "pbrMetallicRoughness": pbr}]
    binary = bytes(buf.data)
    doc["buffers"] = [{"byteLength": len(binary) + (-len(binary) % 4)}]
    doc["asset"] = {"generator": f"reskin {__version__}", "version": "2.0"}
    if extras_json:
        doc["asset"]["extras"] = extras_json
    return doc, binary


def finish_character_glb(body: CharacterBody, **material: Any) -> bytes:
    """The GLB of ``body`` with its material: :func:`finish_character_parts`, packed (the
    material arguments as :func:`write_character_glb` takes them)."""
    return pack_glb(*finish_character_parts(body, **material))


def write_character_glb(
    mesh: Mesh,
    skeleton: Skeleton,
    joints: np.ndarray,
    weights: np.ndarray,
    *,
    name: str,
    texture_png: bytes | None = None,
    base_color: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
    roughness: float = 0.6,
    metallic: float = 0.0,
    clips: Sequence[Clip] = (),
    extras: dict | None = None,
) -> bytes:
    """The character as GLB bytes, ready for ``bpy.ops.import_scene.gltf`` or any glTF viewer.

    mesh        : the welded character mesh, n vertices; split at UV seams here (s >= n vertices)
    skeleton    : j joints, rest rotations identity; joint i becomes node ``2 + i``
    joints      : (n, 4) or (n, 8) uint16 skin joint indices into ``skeleton.names`` per welded
                  vertex; 8 influences are written as JOINTS_0 + JOINTS_1
    weights     : (n, 4) or (n, 8) float32 skin weights, >= 0, any positive row sum
                  (renormalised here); 8 as WEIGHTS_0 + WEIGHTS_1
    name        : name of the character node (and prefix of mesh, material, skin names)
    texture_png : PNG bytes of the base colour texture, embedded in the GLB; None for no texture
    base_color  : RGBA factor multiplying the texture, each in [0, 1]
    roughness, metallic : PBR factors in [0, 1]
    clips       : one glTF animation per clip (named ``clip.name``): rotation channels for joints
                  in both clip and skeleton, a translation channel for the root joint, LINEAR,
                  keys at ``frame / fps`` seconds from 0
    extras      : JSON-serialisable metadata (e.g. provenance) stored as ``asset.extras`` with
                  keys sorted

    The same inputs give byte-identical output. Raises ValueError on inconsistent inputs.
    It is :func:`finish_character_glb` of :func:`character_body`: the binary chunk holds the
    body's data first and the texture last.
    """
    body = character_body(mesh, skeleton, joints, weights, name=name, clips=clips)
    return finish_character_glb(body, texture_png=texture_png, base_color=base_color,
                                roughness=roughness, metallic=metallic, extras=extras)
