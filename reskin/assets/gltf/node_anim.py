"""Node animations appended to an existing glTF: per-joint local TRS keys as glTF animations.

A clip retargeted onto an artist's skeleton is a local rotation and translation per joint and
frame (:class:`NodeClip`). :func:`add_node_animations` writes each as one glTF animation on the
document's own joint nodes, editing the JSON as a plain dict and only growing the binary buffer
(every existing accessor keeps its bytes), as the skin writer does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reskin.assets.gltf.accessors import BufferBuilder
from reskin.assets.gltf.scene import node_trs

# Keys that differ from the node's rest value by less than this (quaternion components, or
# metres in the node's local units relative to its translation's size) are not animated.
_STILL = 1e-6


@dataclass(frozen=True, eq=False)
class NodeClip:
    """A clip on a glTF node skeleton, sampled at a fixed rate.

    name         : the animation's name
    fps          : frames per second
    rotations    : (f, j, 4) float64 local rotations (x, y, z, w), absolute (not relative to rest)
    translations : (f, j, 3) float64 local translations, absolute
    """

    name: str
    fps: float
    rotations: np.ndarray
    translations: np.ndarray

    def __post_init__(self) -> None:
        f, j = self.rotations.shape[:2]
        if self.rotations.shape != (f, j, 4) or self.translations.shape != (f, j, 3):
            raise ValueError("rotations must be (f, j, 4) and translations (f, j, 3)")
        if self.fps <= 0 or f < 1:
            raise ValueError("a clip needs a positive fps and at least one frame")

    @property
    def frames(self) -> int:
        return int(self.rotations.shape[0])


def continuous_quaternions(q: np.ndarray) -> np.ndarray:
    """(f, 4) unit quaternions with signs flipped so consecutive keys share a hemisphere.

    A component-wise interpolator (Blender's F-curves) would otherwise swing the long way round
    between two keys that are the same rotation with opposite signs.
    """
    q = np.asarray(q, np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if not (np.isfinite(q).all() and (norm > 1e-8).all()):
        raise ValueError("rotations contain NaN, Inf or zero quaternions")
    q = q / norm
    flips = np.ones(len(q))
    flips[1:] = np.where((q[1:] * q[:-1]).sum(-1) < 0, -1.0, 1.0)
    return q * np.cumprod(flips)[:, None]


def _as_trs_node(node: dict) -> None:
    """Replace a node's ``matrix`` by TRS (glTF forbids animating a node with a matrix)."""
    if "matrix" not in node:
        return
    from reskin.core.transforms import matrix_to_quat

    m = np.asarray(node.pop("matrix"), np.float64).reshape(4, 4).T
    lin = m[:3, :3]
    scale = np.linalg.norm(lin, axis=0)
    if np.linalg.det(lin) < 0:
        scale[0] = -scale[0]
    rot = lin / scale
    if not np.allclose(rot.T @ rot, np.eye(3), atol=1e-5):
        raise ValueError("a joint node's matrix has shear and cannot be animated")
    node["translation"] = [float(x) for x in m[:3, 3]]
    node["rotation"] = [float(x) for x in matrix_to_quat(rot)]
    node["scale"] = [float(x) for x in scale]


def _moves(keys: np.ndarray, rest: np.ndarray, rotation: bool) -> bool:
    if rotation:  # q and -q are the same rotation
        return bool((1.0 - np.abs(keys @ (rest / np.linalg.norm(rest))) > _STILL).any())
    return bool((np.abs(keys - rest) > _STILL * max(1.0, float(np.abs(rest).max()))).any())


def add_node_animations(doc: dict, binary: bytearray, node_indices: Sequence[int],
                        clips: Sequence[NodeClip]) -> list[int]:
    """Append one glTF animation per clip to ``doc`` (its ``binary`` buffer grows in place).

    node_indices : (j,) the glTF node of each clip joint
    clips        : each with (f, j, 4) rotations and (f, j, 3) translations on those nodes
    A rotation channel is written for every joint whose rotation leaves its rest value (the
    node's TRS in ``doc``), a translation channel for every joint whose translation does (the
    hips); joints that keep their rest transform get none. Returns the new animations' indices.
    Raises ValueError on a shape mismatch, a non-finite key, a buffer 0 that is not the
    document's own binary buffer, or a joint node whose matrix cannot be made TRS.
    """
    nodes = doc.get("nodes", [])
    node_indices = [int(n) for n in node_indices]
    if not node_indices or any(not 0 <= n < len(nodes) for n in node_indices):
        raise ValueError("joint node indices are empty or out of range")
    buffers = doc.setdefault("buffers", [])
    if not buffers:
        buffers.append({"byteLength": 0})
    if "uri" in buffers[0]:
        raise ValueError("buffer 0 is an external file; animations go into the GLB's own buffer")
    buf = BufferBuilder(doc, binary)
    out = []
    for clip in clips:
        if clip.rotations.shape[1] != len(node_indices):
            raise ValueError(f"clip {clip.name!r} has {clip.rotations.shape[1]} joints, "
                             f"expected {len(node_indices)}")
        if not np.isfinite(clip.translations).all():
            raise ValueError(f"clip {clip.name!r}: translations contain NaN or Inf")
        times = (np.arange(clip.frames, dtype=np.float64) / clip.fps).astype(np.float32)
        t_acc = buf.accessor(times, bounds=True)  # one input shared by every channel
        samplers: list[dict] = []
        channels: list[dict] = []
        for k, node in enumerate(node_indices):
            _as_trs_node(nodes[node])
            rest_t, rest_r, _ = node_trs(nodes[node])
            q = continuous_quaternions(clip.rotations[:, k])
            for path, keys, rest in (("rotation", q, rest_r),
                                     ("translation", clip.translations[:, k], rest_t)):
                if not _moves(keys, rest, path == "rotation"):
                    continue
                values = keys.astype(np.float32)
                if path == "rotation":  # unit length after rounding, as the validator checks
                    values /= np.linalg.norm(values, axis=1, keepdims=True)
                samplers.append({"input": t_acc, "interpolation": "LINEAR",
                                 "output": buf.accessor(values)})
                channels.append({"sampler": len(samplers) - 1,
                                 "target": {"node": node, "path": path}})
        if not channels:  # a still clip: keep it playable with one key on the first joint
            samplers.append({"input": t_acc, "interpolation": "LINEAR", "output": buf.accessor(
                np.repeat(np.asarray(node_trs(nodes[node_indices[0]])[1], np.float32)[None],
                          clip.frames, 0))})
            channels.append({"sampler": 0, "target": {"node": node_indices[0],
                                                      "path": "rotation"}})
        doc.setdefault("animations", []).append(
            {"name": clip.name, "channels": channels, "samplers": samplers})
        out.append(len(doc["animations"]) - 1)
    buf.data += b"\x00" * (-len(buf.data) % 4)
    buffers[0]["byteLength"] = len(buf.data)
    return out
