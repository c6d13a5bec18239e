"""Body versus helper geometry on the MakeHuman base mesh, and on a built example."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from reskin.rigging.body import body_mask

HM08 = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "meshes" / "humanoid"
        / "makehuman_base_hm08.obj")


def read_obj_groups(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """vertices (n, 3), triangles (m, 3) (polygons fanned) and the group name of each."""
    verts, faces, groups, group = [], [], [], ""
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("g "):
            group = line.split()[1]
        elif line.startswith("f "):
            idx = [int(t.split("/")[0]) - 1 for t in line.split()[1:]]
            for k in range(1, len(idx) - 1):
                faces.append([idx[0], idx[k], idx[k + 1]])
                groups.append(group)
    return np.array(verts), np.array(faces), np.array(groups)


def test_makehuman_helpers_and_markers_are_not_body():
    if not HM08.exists():
        pytest.skip(f"shared sample data not present: {HM08}")
    v, f, groups = read_obj_groups(HM08)
    mask = body_mask(v, f)
    # The file names its parts: "body", "helper-*" (tights, skirt, hair...), "joint-*" cubes.
    assert np.array_equal(mask, groups == "body")
    assert mask.sum() > 0.6 * len(f)


def test_a_shell_and_markers_around_a_body():
    body = trimesh.creation.capsule(height=1.4, radius=0.25, count=(48, 48))
    tube = trimesh.creation.cylinder(radius=0.27, height=1.0, sections=64)
    # A garment hugging the body: an open tube (a skirt-like shell, caps removed).
    shell = trimesh.Trimesh(tube.vertices, tube.faces[np.abs(tube.face_normals[:, 2]) < 0.5])
    cubes = [trimesh.creation.box(extents=(0.03,) * 3).apply_translation([0, 0, z])
             for z in (-0.5, 0.0, 0.5)]
    head = trimesh.creation.icosphere(subdivisions=3, radius=0.2).apply_translation([0, 0, 1.2])
    # Base meshes and scans have faces far smaller than the 2 % of height "near" distance;
    # subdivide these primitives' long cylinder faces to match.
    body, shell = (trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(m.vertices, m.faces, 0.03))
                   for m in (body, shell))
    parts = [body, head, shell, *cubes]
    mesh = trimesh.util.concatenate(parts)
    mesh.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))  # +Y up
    mask = body_mask(mesh.vertices, mesh.faces)
    n_body = len(body.faces) + len(head.faces)  # a head modelled apart is body too
    assert mask[:n_body].all() and not mask[n_body:].any()
    assert body_mask(body.vertices, body.faces).all()
