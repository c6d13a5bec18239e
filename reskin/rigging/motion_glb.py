"""A shot's motion for one character as a tiny GLB that Blender's glTF importer turns into an
action for the character's own armature.

The skin GLB's bones are what an action must address (pose bones by name, in the rest the
importer made of the nodes and inverse bind matrices). A motion GLB repeats exactly that: every
joint node of the skin (same names, hierarchy, rest TRS) and the nodes above them, one skin over
all joints with the skin's own inverse bind matrices, a one-triangle mesh bound to it (so the
importer makes bones at all), and one animation: the shot's pose track on those nodes. Imported
with the same options as the skin, its bones have the same rest, so its action plays on the
character's armature unchanged.

The pose track is canonical (the 21 joints, rest rotations identity, facing in the hips, root
in the scene's space). A generated character's joint nodes *are* the canonical joints; a
character from a file has its artist's joints, onto which the track is carried by
:func:`reskin.rigging.node_skeleton.retarget_to_nodes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reskin.assets.gltf.accessors import BufferBuilder, accessor_array
from reskin.assets.gltf.glb import pack_glb, read_glb, split_glb
from reskin.assets.gltf.node_anim import NodeClip, add_node_animations
from reskin.assets.gltf.scene import parent_table
from reskin.core.clip import Clip
from reskin.core.skeleton import Skeleton
from reskin.rigging.node_skeleton import (
    NodeSkeleton,
    canonical_skeleton,
    node_mapping,
    node_skeleton,
    retarget_to_nodes,
)

MOTION_GLB_VERSION = "1"


@dataclass(frozen=True, eq=False)
class SkinRig:
    """What a skin GLB says about its skeleton: its joint nodes, the canonical joint each
    canonical name sits on, and the canonical skeleton on that rest pose (scene space)."""

    nodes: NodeSkeleton
    mapping: dict[str, int]
    skeleton: Skeleton


def read_json(path: str | Path) -> dict:
    """The JSON chunk of a GLB file."""
    import json

    text, _ = split_glb(Path(path).read_bytes(), None)
    return json.loads(text)


def skin_rig(js: dict) -> SkinRig:
    """The rig of a parsed skin GLB (every skin's joints together). Raises ValueError when its
    joints do not map onto the canonical humanoid."""
    ns = node_skeleton(js, skin=None)
    mapping = node_mapping(ns)
    return SkinRig(nodes=ns, mapping=mapping, skeleton=canonical_skeleton(ns, mapping))


def _keep_nodes(js: dict, joints: list[int]) -> list[int]:
    """The joint nodes and every node above them, in the document's order."""
    parents = parent_table(js)
    keep = set()
    for j in joints:
        k = j
        while k >= 0 and k not in keep:
            keep.add(k)
            k = int(parents[k])
    return sorted(keep)


def _inverse_binds(js: dict, binary: bytes, joints: list[int]) -> np.ndarray:
    """(j, 4, 4) row-major inverse bind matrix of each joint node, from the first skin that has
    it (identity-free skins: the inverse of the joint's rest world matrix)."""
    from reskin.assets.gltf.scene import world_matrices

    out: dict[int, np.ndarray] = {}
    world = None
    for skin in js.get("skins", []):
        ibm = None
        if "inverseBindMatrices" in skin:
            ibm = accessor_array(js, binary, skin["inverseBindMatrices"]).reshape(-1, 4, 4)
        for k, node in enumerate(skin["joints"]):
            if node in out:
                continue
            if ibm is not None:
                out[node] = np.asarray(ibm[k], np.float64).T  # column-major in the file
            else:
                world = world_matrices(js) if world is None else world
                out[node] = np.linalg.inv(world[node])
    return np.stack([out[j] for j in joints])


def motion_glb(skin_glb: bytes, rig: SkinRig, rotations: np.ndarray, root: np.ndarray,
               fps: float, name: str) -> bytes:
    """The motion GLB for a character whose skin GLB is ``skin_glb``.

    rotations : (f, 21, 4) canonical local rotations (facing in the hips), rig.skeleton order
    root      : (f, 3) hips position in the skin's scene space
    """
    js, binary = read_glb(skin_glb)
    clip = Clip(name=name, fps=float(fps), joint_names=rig.skeleton.names,
                rotations=np.asarray(rotations, np.float32),
                root_translation=np.asarray(root, np.float32))
    nclip = retarget_to_nodes(clip, rig.skeleton, rig.nodes, rig.mapping)
    joints = list(rig.nodes.nodes)
    keep = _keep_nodes(js, joints)
    slot = {n: i for i, n in enumerate(keep)}
    nodes = []
    for n in keep:
        src = js["nodes"][n]
        node = {k: src[k] for k in ("name", "translation", "rotation", "scale", "matrix")
                if k in src}
        kids = [slot[c] for c in src.get("children", []) if c in slot]
        if kids:
            node["children"] = kids
        nodes.append(node)
    doc: dict = {"asset": {"version": "2.0", "generator": f"reskin motion {MOTION_GLB_VERSION}"},
                 "nodes": nodes, "buffers": [{"byteLength": 0}]}
    out = bytearray()
    buf = BufferBuilder(doc, out)
    ibm = _inverse_binds(js, binary, joints)
    # One small triangle at the first joint's rest place, wholly bound to it: only there so
    # the importer builds the armature.
    at = np.linalg.inv(ibm[0])[:3, 3]
    tri = (at + np.array([[0, 0, 0], [0.01, 0, 0], [0, 0.01, 0]])).astype(np.float32)
    mesh = {"primitives": [{"attributes": {
        "POSITION": buf.accessor(tri, bounds=True),
        "JOINTS_0": buf.accessor(np.zeros((3, 4), np.uint8)),
        "WEIGHTS_0": buf.accessor(np.tile(np.array([1, 0, 0, 0], np.float32), (3, 1))),
    }, "indices": buf.accessor(np.array([0, 1, 2], np.uint16))}]}
    doc["meshes"] = [mesh]
    skin = {"joints": [slot[j] for j in joints],
            "inverseBindMatrices": buf.accessor(
                np.ascontiguousarray(np.transpose(ibm, (0, 2, 1))).astype(np.float32)
                .reshape(-1, 16))}
    doc["skins"] = [skin]
    roots = [slot[n] for n in keep if int(parent_table(js)[n]) < 0]
    doc["nodes"].append({"name": f"{name}_motion_mesh", "mesh": 0, "skin": 0})
    doc["scenes"] = [{"nodes": [*roots, len(doc["nodes"]) - 1]}]
    doc["scene"] = 0
    buf.data += b"\x00" * (-len(buf.data) % 4)
    doc["buffers"][0]["byteLength"] = len(buf.data)
    add_node_animations(doc, out, [slot[j] for j in joints],
                        [NodeClip(name=name, fps=nclip.fps, rotations=nclip.rotations,
                                  translations=nclip.translations)])
    return pack_glb(doc, bytes(out))
