"""Robust weight transfer on a synthetic two-bone limb: match where close, inpaint the rest."""

from __future__ import annotations

import numpy as np
import trimesh

from reskin.skins.weight_transfer import closest_on_mesh, transfer_weights


def test_closest_points_match_brute_force():
    sphere = trimesh.creation.icosphere(2)
    pts = np.random.default_rng(0).normal(size=(300, 3))
    closest, _, _ = closest_on_mesh(pts, sphere.vertices, sphere.faces, k=len(sphere.faces))
    _, dist, _ = trimesh.proximity.closest_point_naive(sphere, pts)
    assert np.allclose(np.linalg.norm(closest - pts, axis=1), dist, atol=1e-12)


def test_far_vertices_are_inpainted_smoothly_between_matched_ones():
    limb = trimesh.creation.cylinder(radius=0.05, height=1.0, sections=24)
    limb = limb.subdivide().subdivide()
    y = limb.vertices[:, 2]  # the cylinder runs along z: bone 0 below 0, bone 1 above
    w1 = np.clip(y * 2 + 0.5, 0, 1)
    joints = np.tile(np.array([[0, 1, 0, 0]], np.uint16), (len(y), 1))
    weights = np.stack([1 - w1, w1, 0 * y, 0 * y], 1).astype(np.float32)
    sleeve = trimesh.creation.cylinder(radius=0.06, height=0.9, sections=16)
    sleeve = sleeve.subdivide().subdivide()
    # flare the sleeve's top out of reach of the limb: those vertices must be inpainted
    flare = sleeve.vertices[:, 2] > 0.25
    sleeve.vertices[flare, :2] *= 3.0
    j, w, matched = transfer_weights(limb.vertices, limb.faces, joints, weights, 2,
                                     sleeve.vertices, sleeve.faces, max_distance=0.03)
    # the end caps face along the limb, not like its side: inpainted too
    assert matched[~flare].mean() > 0.6 and not matched[flare].any()
    dense = np.zeros((len(j), 2))
    np.add.at(dense, (np.arange(len(j))[:, None], j.astype(int)), w)
    assert np.allclose(dense.sum(axis=1), 1, atol=1e-6)
    # inpainted weights carry on the matched trend (bone 1 dominates up there), no tearing
    assert dense[flare, 1].min() > 0.8
    edges = sleeve.edges_unique
    inner = edges[flare[edges].all(axis=1)]
    assert np.abs(dense[inner[:, 0], 1] - dense[inner[:, 1], 1]).max() < 0.05
