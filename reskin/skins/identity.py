"""The identity lock: every skin of a character is the same person.

Body geometry outside hidden regions, the skeleton, the face and the body's skin weights must be
those of the base character version, bit for bit. The lock is checked twice: on the body a spec
asks to export (before any work is stored), and on the GLB actually written (so neither a spec
nor an exporter change can slip a different body into the library).
"""

from __future__ import annotations

import numpy as np

from reskin.core.errors import ReskinError
from reskin.core.mesh import Mesh
from reskin.core.skeleton import Skeleton
from reskin.skins.wardrobe import PART_REGION, WardrobeSpec


class IdentityLockError(ReskinError):
    """A wardrobe spec would change the person; the message says what and by how much."""


def kept_faces(mesh: Mesh, hidden: tuple[str, ...]) -> np.ndarray:
    """(m,) bool: faces not in a hidden part."""
    ids = [mesh.part_names.index(p) for p in hidden if p in mesh.part_names]
    return ~np.isin(mesh.parts, ids)


def padded_vertices(mesh: Mesh, padding: dict[str, float]) -> tuple[np.ndarray, dict[str, int]]:
    """Apply ``padding`` (region -> metres along the normal) to the vertices whose faces all lie
    in that region. Returns (vertices (n, 3) float32, region -> vertices moved)."""
    v = mesh.vertices.copy()
    moved: dict[str, int] = {}
    for region, amount in sorted(padding.items()):
        ids = [i for i, p in enumerate(mesh.part_names) if PART_REGION.get(p) == region]
        inside = np.isin(mesh.parts, ids)
        touched_in = np.zeros(len(v), bool)
        touched_out = np.zeros(len(v), bool)
        touched_in[mesh.faces[inside].ravel()] = True
        touched_out[mesh.faces[~inside].ravel()] = True
        sel = touched_in & ~touched_out
        v[sel] = (v[sel].astype(np.float64)
                  + amount * mesh.vertex_normals[sel]).astype(np.float32)
        moved[region] = int(np.count_nonzero(v[sel] != mesh.vertices[sel]))
    return v, moved


def check_body_request(mesh: Mesh, vertices: np.ndarray, keep: np.ndarray,
                       spec: WardrobeSpec) -> None:
    """Refuse a body to export whose visible vertices differ from the character's.

    vertices : (n, 3) the body the spec asks for; keep : (m,) faces that stay visible.
    """
    visible = np.zeros(len(vertices), bool)
    visible[mesh.faces[keep].ravel()] = True
    moved = visible & np.any(vertices != mesh.vertices, axis=1)
    if moved.any():
        dist = float(np.linalg.norm(vertices[moved] - mesh.vertices[moved], axis=1).max())
        why = ", ".join(f"padding.{r}" for r in sorted(spec.padding)) or "the spec"
        raise IdentityLockError(
            f"identity lock: {why} would move {int(moved.sum())} visible body vertices "
            f"(up to {dist * 100:.1f} cm); a wardrobe may not change the body outside hidden "
            "regions (hide the region under a garment, or drop the padding)",
            file=spec.file)


def expected_body(mesh: Mesh, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s, 3) float32 positions the exporter must write for the body with ``keep`` faces, and
    (s,) the welded vertex each came from.

    Same order as ``Mesh.split_for_export`` (unique (vertex, uv) pairs, sorted), computed on
    one int64 key per corner: a 1-D unique is an order of magnitude faster than unique rows.
    """
    corners = mesh.faces[keep].ravel().astype(np.int64)
    uvs = mesh.uv_faces[keep].ravel().astype(np.int64)
    key = np.unique(corners * (len(mesh.uvs) + 1) + uvs)
    src = key // (len(mesh.uvs) + 1)
    return np.asarray(mesh.vertices, np.float32)[src], src


def check_exported(body: dict[str, np.ndarray], mesh: Mesh, skeleton: Skeleton,
                   joints: np.ndarray, weights: np.ndarray, keep: np.ndarray,
                   what: str) -> None:
    """Compare a written skin's body (:func:`skin_glb.body_arrays`) with the character's.

    Positions, morph targets (names, order and offsets), joint rest translations and inverse
    binds must be bit-identical; influences must
    be the character's (same joints wherever a weight is used, weights equal to float32 rounding
    of the renormalisation the exporter does).
    """
    positions, src = expected_body(mesh, keep)
    problems = []
    if body["position"].shape != positions.shape or not np.array_equal(body["position"],
                                                                      positions):
        problems.append("body vertex positions")
    names = tuple(mesh.targets)
    want = (np.stack([np.asarray(d, np.float32)[src] for d in mesh.targets.values()])
            if names else np.zeros((0,) + positions.shape, np.float32))
    if (tuple(str(n) for n in body["target_names"]) != names
            or body["targets"].shape != want.shape or not np.array_equal(body["targets"], want)):
        problems.append("face morph targets")
    if tuple(body["joint_names"]) != skeleton.names or not np.array_equal(
            body["joint_translation"], np.asarray(skeleton.local_offsets, np.float64)):
        problems.append("skeleton")
    ibm = np.tile(np.eye(4, dtype=np.float32), (len(skeleton.names), 1, 1))
    ibm[:, :3, 3] = -np.asarray(skeleton.heads, np.float32)
    if not np.array_equal(body["inverse_bind"].reshape(-1, 4, 4).transpose(0, 2, 1), ibm):
        problems.append("bind pose")
    if not problems:
        from reskin.skins.weight_transfer import dense_weights

        n = len(skeleton.names)
        want = dense_weights(joints[src], weights[src], n)
        want /= want.sum(axis=1, keepdims=True)
        got = dense_weights(body["joints"], body["weights"], n)
        if not np.allclose(got, want, atol=2e-6):
            problems.append("body skin weights")
    if problems:
        raise IdentityLockError(
            f"identity lock: the exported {what} changes the character's "
            f"{', '.join(problems)}; refusing to store it")


def check_same_body(body: dict[str, np.ndarray], checked: dict[str, np.ndarray],
                    what: str) -> None:
    """Compare a written skin's body with a body export that :func:`check_exported` passed
    against the character (same keys, :func:`skin_glb.body_arrays`): bit for bit."""
    names = {"position": "body vertex positions", "texcoord": "body texture coordinates",
             "joints": "body skin weights", "weights": "body skin weights",
             "joint_translation": "skeleton", "joint_names": "skeleton",
             "inverse_bind": "bind pose", "targets": "face morph targets",
             "target_names": "face morph targets"}
    problems = [label for key, label in names.items()
                if body[key].shape != checked[key].shape
                or not np.array_equal(body[key], checked[key])]
    if problems:
        raise IdentityLockError(
            f"identity lock: the exported {what} changes the character's "
            f"{', '.join(dict.fromkeys(problems))}; refusing to store it")
