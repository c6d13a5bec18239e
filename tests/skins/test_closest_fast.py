"""The component-wise closest-point routines and the one-search nearest faces give what the
plain (k, 3)-row reference and a brute-force search give."""

from __future__ import annotations

import numpy as np
import trimesh

from reskin.skins.weight_transfer import (
    closest_on_mesh,
    closest_points_on_triangles,
    nearest_faces,
)
from tests.skins.closest_reference import (
    closest_on_mesh_reference,
    closest_points_on_triangles_reference,
)

TOL = 1e-12  # metres; in practice the same bits (the same arithmetic in the same order)


def _triangles(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points and triangles, with degenerate ones (a repeated corner, a point, a
    straight line) and points on a corner and at a centre: every Voronoi region is met."""
    rng = np.random.default_rng(seed)
    pts, tri = rng.normal(size=(n, 3)), rng.normal(size=(n, 3, 3))
    tri[:50, 1] = tri[:50, 0]
    tri[50:100] = tri[50:100, :1]
    tri[100:150, 2] = 2 * tri[100:150, 1] - tri[100:150, 0]
    pts[150:200] = tri[150:200, 0]
    pts[200:250] = tri[200:250].mean(axis=1)
    return pts, tri


def test_closest_points_match_the_reference_in_every_region():
    pts, tri = _triangles(20000, 0)
    closest, bary = closest_points_on_triangles(pts, tri)
    ref_closest, ref_bary = closest_points_on_triangles_reference(pts, tri)
    assert np.abs(closest - ref_closest).max() <= TOL
    # The barycentrics place the point (they may differ only where two regions meet).
    assert np.abs(np.einsum("kc,kcd->kd", bary, tri) - closest).max() <= 1e-9
    assert np.allclose(bary.sum(axis=1), 1.0) and bary.min() >= -1e-12
    assert np.mean(np.all(bary == ref_bary, axis=1)) > 0.999


def test_nearest_faces_are_the_brute_force_nearest_centroids():
    sphere = trimesh.creation.icosphere(4)  # 5120 evenly sized faces
    rng = np.random.default_rng(1)
    # Near the surface, inside it, and a few far off (the search widens for them).
    pts = np.concatenate([rng.normal(size=(200, 3)) * 0.02 + sphere.vertices[:200] * 1.02,
                          rng.normal(size=(20, 3)) * 0.3,
                          rng.normal(size=(5, 3)) * 3.0])
    centroids = sphere.vertices[sphere.faces].mean(axis=1)
    brute = np.sqrt(((pts[:, None] - centroids[None]) ** 2).sum(axis=2))
    for k, margin in ((24, 0.01), (32, 0.05), (32, None)):
        dist, cand = nearest_faces(pts, sphere.vertices, sphere.faces, k, margin)
        want = np.sort(brute, axis=1)[:, :k]
        assert np.allclose(dist, want, atol=TOL), (k, margin)
        assert np.allclose(np.take_along_axis(brute, cand, axis=1), want, atol=TOL)


def test_closest_on_mesh_matches_the_reference_with_or_without_candidates():
    sphere = trimesh.creation.icosphere(4)
    rng = np.random.default_rng(2)
    pts = rng.normal(size=(300, 3)) * 0.05 + sphere.vertices[rng.integers(0, 2000, 300)]
    reference = closest_on_mesh_reference(pts, sphere.vertices, sphere.faces, margin=0.05)
    _, cand = nearest_faces(pts, sphere.vertices, sphere.faces, 32, margin=0.04)
    for found in (closest_on_mesh(pts, sphere.vertices, sphere.faces, margin=0.05),
                  closest_on_mesh(pts, sphere.vertices, sphere.faces, margin=0.05,
                                  candidates=cand)):
        assert np.abs(found[0] - reference[0]).max() <= TOL
        assert np.array_equal(found[1], reference[1])
        assert np.abs(found[2] - reference[2]).max() <= TOL
