"""Which triangles of an imported humanoid are its body, and which are helpers or markers.

Base meshes such as MakeHuman's carry helper geometry (tights, skirt, hair, eyelashes: offset
shells that hug the body) and joint-marker cubes inside it. They must not be voxelised into the
body for joint fitting, nor drive weights. Names vary between tools, so the choice is made from
the geometry: split the mesh into connected pieces and measure how much of each piece's area is
*exposed*, i.e. farther than a small distance from every other large piece. Small pieces
(marker cubes, lashes, teeth: under 5 % of the largest piece's area) are never body. Of the large
ones, the body is the tallest: helpers (tights, skirt) dress only part of it, the body alone
reaches from head to feet. Other large pieces join it only when almost all of their surface is
exposed, i.e. they are parts of the body modelled apart (a head), not shells hugging it.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from reskin.core.mesh import Mesh

NEAR = 0.02  # fraction of the height: closer than this to another piece is "covered"
MIN_PIECE = 0.05  # pieces under this share of the largest one's area are never body
KEEP_EXPOSED = 0.8  # another piece joins the body when at least this share of it is exposed
KEEP_AREA = 0.1  # ... and its exposed area is at least this share of the body's


def body_mask(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(m,) bool, True for the faces of the body.

    vertices : (n, 3) float, +Y up; faces : (m, 3) int triangles
    Deterministic; a mesh of one piece is all body.
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    n = len(v)
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    face_label = label[f[:, 0]]
    if count == 1:
        return np.ones(len(f), bool)
    tri = v[f]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    centroid = tri.mean(axis=1)
    height = float(np.ptp(v[:, 1])) or float(np.ptp(v, axis=0).max()) or 1.0
    piece_area = np.bincount(face_label, area, minlength=count)
    # Small pieces (marker cubes, lashes, teeth) can be neither body nor cover for it.
    big = np.flatnonzero(piece_area >= MIN_PIECE * piece_area.max())
    exposed_area = np.zeros(count)
    for lab in big:
        mine = face_label == lab
        others = np.isin(face_label, big[big != lab])
        if not others.any():
            exposed_area[lab] = piece_area[lab]
            continue
        # Other pieces' surfaces, sampled at their vertices and face centroids: enough where
        # faces are small next to NEAR (scans, base meshes, generated bodies).
        cloud = np.concatenate([v[np.unique(f[others])], centroid[others]])
        d, _ = cKDTree(cloud).query(centroid[mine], distance_upper_bound=NEAR * height)
        exposed_area[lab] = area[mine][~np.isfinite(d)].sum()
    top = np.full(count, -np.inf)
    bottom = np.full(count, np.inf)
    np.maximum.at(top, face_label, tri[:, :, 1].max(axis=1))
    np.minimum.at(bottom, face_label, tri[:, :, 1].min(axis=1))
    span = top - bottom
    # The tallest large piece (ties to the larger area): helpers dress part of the body, only
    # the body reaches from head to feet.
    body = int(big[np.lexsort((-piece_area[big], -np.round(span[big] / height, 3)))[0]])
    keep = (exposed_area >= KEEP_EXPOSED * piece_area) & (
        exposed_area >= KEEP_AREA * exposed_area[body])
    keep[body] = True
    return keep[face_label]


def body_only(mesh: Mesh) -> Mesh:
    """The body faces of an imported mesh (helper shells and marker cubes dropped), for fitting
    only: every face still gets weights."""
    keep = body_mask(mesh.vertices, mesh.faces)
    if keep.all() or keep.sum() < 0.1 * len(keep):
        return mesh
    return Mesh(vertices=mesh.vertices, faces=mesh.faces[keep], uvs=mesh.uvs,
                uv_faces=mesh.uv_faces[keep], parts=mesh.parts[keep],
                part_names=mesh.part_names)
