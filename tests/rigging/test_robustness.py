"""Weights on the meshes studios get: islands, non-manifold edges, soups, far coordinates.

Every vertex gets weights summing to 1 and the same input gives bit-identical weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from reskin.core.skeleton import Skeleton
from reskin.rigging.weights import bind_weights

PATHOLOGICAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "meshes" / (
    "pathological")
FILES = ("soup.stl", "cycloidal_nonmanifold.ply", "large_block_obb_far_from_origin.STL",
         "notenoughindices.obj", "nancolor.obj", "joined_tetrahedra_dupface.obj")


def chain_along_longest_axis(v: np.ndarray, bones: int = 3) -> Skeleton:
    """A straight chain of ``bones`` bones through the middle of the box around ``v``."""
    lo, hi = v.min(axis=0), v.max(axis=0)
    axis = int(np.argmax(hi - lo))
    pts = np.repeat((0.5 * (lo + hi))[None], bones + 1, axis=0)
    pts[:, axis] = np.linspace(lo[axis], hi[axis], bones + 1)
    names = tuple(f"bone{i}" for i in range(bones))
    return Skeleton(names, np.arange(-1, bones - 1, dtype=np.int32),
                    pts[:-1].astype(np.float32), pts[1:].astype(np.float32))


def assert_rigged(v: np.ndarray, f: np.ndarray, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    sk = chain_along_longest_axis(v)
    joints, weights = bind_weights(v, f, sk, max_influences=k)
    assert joints.shape == weights.shape == (len(v), k)
    assert np.isfinite(weights).all() and (weights >= 0).all()
    assert np.abs(weights.astype(np.float64).sum(axis=1) - 1.0).max() < 1e-6
    assert joints.max() < len(sk.names)
    j2, w2 = bind_weights(v, f, sk, max_influences=k)
    assert np.array_equal(joints, j2) and np.array_equal(weights, w2)
    return joints, weights


def islands_with_non_manifold_edges() -> tuple[np.ndarray, np.ndarray]:
    """12 islands (boxes, spheres, a cylinder), a fin of 3 faces on one edge, holes, a
    duplicated face and coincident seam vertices."""
    parts = []
    for i in range(12):
        if i % 3 == 0:
            shape = trimesh.creation.icosphere(subdivisions=2, radius=0.2)
        elif i % 3 == 1:
            shape = trimesh.creation.box(extents=(0.3, 0.2, 0.25))
        else:
            shape = trimesh.creation.cylinder(radius=0.1, height=0.4, sections=12)
        parts.append(shape.apply_translation([0.35 * i, 0.3 * np.sin(i), 0.05 * (i % 2)]))
    mesh = trimesh.util.concatenate(parts)
    v = np.asarray(mesh.vertices, np.float64)
    f = np.asarray(mesh.faces, np.int64)
    n = len(v)
    f = np.delete(f, [3, 4, 5], axis=0)  # holes in the first sphere
    # A fin: three triangles on the edge (n, n+1), one of them hanging onto island 5.
    v = np.concatenate([v, [[1.7, 1.0, 0.0], [1.7, 1.2, 0.0], [1.9, 1.1, 0.0], [1.5, 1.1, 0.1]]])
    f = np.concatenate([f, [[n, n + 1, n + 2], [n, n + 1, n + 3], [n, n + 1, f[-1, 0]]],
                        f[:5]])
    return v, f


def test_islands_and_non_manifold_edges():
    v, f = islands_with_non_manifold_edges()
    mesh = trimesh.Trimesh(v, f, process=False)
    edges = np.sort(mesh.edges, axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts > 2).sum() >= 1  # non-manifold
    assert len(mesh.split(only_watertight=False)) >= 10
    joints, weights = assert_rigged(v, f)
    # Each island's vertices follow the bone that runs through it.
    assert (joints[v[:, 0] > 3.0, 0] == 2).all() and (joints[v[:, 0] < 0.3, 0] == 0).all()
    assert_rigged(v, f, k=8)


@pytest.mark.parametrize("name", FILES)
def test_pathological_files(name):
    path = PATHOLOGICAL / name
    if not path.exists():
        pytest.skip(f"shared sample data not present: {path}")
    mesh = trimesh.load(path, process=False, force="mesh")
    v = np.asarray(mesh.vertices, np.float64)
    f = np.asarray(mesh.faces, np.int64)
    assert_rigged(v, f)


def test_nan_vertices_are_refused():
    v, f = islands_with_non_manifold_edges()
    v[7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        bind_weights(v, f, chain_along_longest_axis(np.nan_to_num(v)))
