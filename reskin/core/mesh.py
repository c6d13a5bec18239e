"""The character mesh: welded geometry plus an OBJ-style UV layer and per-face body parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

TARGET_PREFIX = "targets."
"""Prefix of the morph-target arrays in :meth:`Mesh.to_arrays`."""


@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh in metres, +Y up, feet on the ground at the origin, facing +Z.

    vertices   : (n, 3) float32 welded positions (a watertight body stays watertight here)
    faces      : (m, 3) int32 indices into ``vertices``
    uvs        : (k, 2) float32 texture coordinates, origin at the image's bottom-left (OBJ/Blender)
    uv_faces   : (m, 3) int32 indices into ``uvs``, one per face corner (seams live here only)
    parts      : (m,) int16 body-part id per face, an index into ``part_names``
    part_names : names of the parts ("head", "torso", "upper_arm_l", ...)
    targets    : morph targets, name -> (n, 3) float32 vertex offsets from ``vertices`` (the
                 face's shapes); empty for a mesh without any
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    uv_faces: np.ndarray
    parts: np.ndarray
    part_names: tuple[str, ...]
    meta: dict = field(default_factory=dict)
    targets: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        v, f = self.vertices, self.faces
        if v.ndim != 2 or v.shape[1] != 3:
            raise ValueError(f"vertices must be (n, 3), got {v.shape}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f"faces must be (m, 3), got {f.shape}")
        if self.uv_faces.shape != f.shape:
            raise ValueError(f"uv_faces must match faces {f.shape}, got {self.uv_faces.shape}")
        if self.parts.shape != (len(f),):
            raise ValueError(f"parts must be ({len(f)},), got {self.parts.shape}")
        if not np.isfinite(v).all():
            raise ValueError("vertices contain NaN or Inf")
        if len(f) and (f.min() < 0 or f.max() >= len(v)):
            raise ValueError("faces index outside vertices")
        for name, delta in self.targets.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"target names must be non-empty strings, got {name!r}")
            if delta.shape != v.shape:
                raise ValueError(f"target {name!r} must be {v.shape}, got {delta.shape}")
            if not np.isfinite(delta).all():
                raise ValueError(f"target {name!r} contains NaN or Inf")

    @cached_property
    def height(self) -> float:
        return float(self.vertices[:, 1].max() - self.vertices[:, 1].min())

    @cached_property
    def vertex_normals(self) -> np.ndarray:
        """(n, 3) float32 area-weighted unit normals of the welded mesh."""
        v = self.vertices.astype(np.float64)
        tri = v[self.faces]
        fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        vn = np.zeros_like(v)
        for k in range(3):
            np.add.at(vn, self.faces[:, k], fn)
        norm = np.linalg.norm(vn, axis=1, keepdims=True)
        norm[norm == 0] = 1.0
        return (vn / norm).astype(np.float32)

    def split_for_export(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Split vertices where UVs differ, as glTF and GPUs need one UV per vertex.

        Returns (source_index (s,) int64 into ``vertices``, uv (s, 2) float32, faces (m, 3) int32):
        attribute arrays of the split mesh are ``array[source_index]``.
        """
        pairs = np.stack([self.faces.ravel(), self.uv_faces.ravel()], axis=1)
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        faces = inverse.reshape(-1, 3).astype(np.int32)
        return unique[:, 0].astype(np.int64), self.uvs[unique[:, 1]].astype(np.float32), faces

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Named arrays for storage. Morph targets are stored sparsely under the
        :data:`TARGET_PREFIX` keys (names in order, per-target counts, then the moved vertices'
        indices and offsets, concatenated): a face shape moves a few thousand vertices of tens
        of thousands, so dense offsets would make ``mesh.npz`` ten times larger."""
        out = {
            "vertices": self.vertices,
            "faces": self.faces,
            "uvs": self.uvs,
            "uv_faces": self.uv_faces,
            "parts": self.parts,
            "part_names": np.array(self.part_names),
        }
        if self.targets:
            index, delta, count = [], [], []
            for d in self.targets.values():
                moved = np.flatnonzero(np.any(d != 0, axis=1))
                index.append(moved.astype(np.int32))
                delta.append(np.asarray(d, np.float32)[moved])
                count.append(len(moved))
            out[TARGET_PREFIX + "names"] = np.array(list(self.targets))
            out[TARGET_PREFIX + "count"] = np.asarray(count, np.int64)
            out[TARGET_PREFIX + "index"] = np.concatenate(index)
            out[TARGET_PREFIX + "delta"] = np.concatenate(delta).reshape(-1, 3)
        return out

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray], meta: dict | None = None) -> Mesh:
        n = len(a["vertices"])
        targets: dict[str, np.ndarray] = {}
        if TARGET_PREFIX + "names" in a:
            names = [str(s) for s in a[TARGET_PREFIX + "names"]]
            ends = np.cumsum(np.asarray(a[TARGET_PREFIX + "count"], np.int64))
            index = np.asarray(a[TARGET_PREFIX + "index"], np.int64)
            delta = np.asarray(a[TARGET_PREFIX + "delta"], np.float32)
            for name, start, end in zip(names, np.r_[0, ends[:-1]], ends, strict=True):
                d = np.zeros((n, 3), np.float32)
                d[index[start:end]] = delta[start:end]
                targets[name] = d
        return cls(
            vertices=np.asarray(a["vertices"], np.float32),
            faces=np.asarray(a["faces"], np.int32),
            uvs=np.asarray(a["uvs"], np.float32),
            uv_faces=np.asarray(a["uv_faces"], np.int32),
            parts=np.asarray(a["parts"], np.int16),
            part_names=tuple(str(s) for s in a["part_names"]),
            meta=meta or {},
            targets=targets,
        )
