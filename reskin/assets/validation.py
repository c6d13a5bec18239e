"""Checks on imported geometry, as pure functions on arrays, and the per-file report they fill.

Severities: ``fatal`` refuses the import; ``repaired`` was fixed and the fix is recorded in the
asset's provenance; ``warning`` and ``info`` are recorded as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reskin.core.errors import ReskinError

# The largest and smallest extent (metres) a sane asset has after unit conversion: a set piece
# of 10 km or a prop under a tenth of a millimetre is a unit mistake, not an asset.
MAX_EXTENT_M = 10_000.0
MIN_EXTENT_M = 1e-4


@dataclass(frozen=True)
class Finding:
    code: str  # e.g. "degenerate_faces"
    severity: str  # fatal | repaired | warning | info
    message: str
    where: str = ""  # the part of the file it concerns ("meshes[0].primitives[1]", "body")


@dataclass
class Report:
    """Everything validation found in one file."""

    file: str
    findings: list[Finding] = field(default_factory=list)

    def add(self, code: str, severity: str, message: str, where: str = "") -> None:
        if severity == "fatal":
            raise ReskinError(message, file=self.file, field=where or None)
        self.findings.append(Finding(code, severity, message, where))

    def fatal(self, code: str, message: str, where: str = "") -> None:
        self.add(code, "fatal", message, where)

    def to_json(self) -> list[dict]:
        return [{"code": f.code, "severity": f.severity, "message": f.message, "where": f.where}
                for f in self.findings]


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``a`` (n, k), in sorted order, much faster than ``np.unique(axis=0)``.

    Returns (first (u,) index of each distinct row's first occurrence, inverse (n,) int64 with
    ``a[first][inverse] == a``, counts (u,)). Small non-negative integer rows are packed into one
    int64 key (a 1-D sort); anything else is lexsorted column by column.
    """
    n, k = a.shape
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    if a.dtype.kind in "iu" and a.min() >= 0 and (int(a.max()) + 1) ** k < 2 ** 62:
        base = int(a.max()) + 1
        key = np.zeros(n, np.int64)
        for c in range(k):
            key = key * base + a[:, c].astype(np.int64)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        new = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
    else:
        order = np.lexsort(a.T[::-1])  # stable: equal rows keep their original order
        ordered = a[order]
        new = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
    group = np.cumsum(new) - 1
    inverse = np.empty(n, np.int64)
    inverse[order] = group
    starts = np.flatnonzero(new)
    return order[starts], inverse, np.diff(np.r_[starts, n])


def weld(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge bit-identical positions.

    positions : (n, 3) float
    returns (unique (u, 3), inverse (n,) int64 with unique[inverse] == positions)
    """
    if len(positions) == 0:
        return positions.reshape(0, 3), np.zeros(0, np.int64)
    first, inverse, _ = unique_rows(np.ascontiguousarray(positions))
    return positions[first], inverse


def degenerate_faces(positions: np.ndarray, faces: np.ndarray, welded: np.ndarray) -> np.ndarray:
    """(m,) bool: faces with a repeated (welded) vertex or zero area.

    positions : (n, 3); faces : (m, 3) into positions; welded : (m, 3) the same faces after
    :func:`weld`. Zero area is relative to the mesh's size, so units do not matter.
    """
    repeated = ((welded[:, 0] == welded[:, 1]) | (welded[:, 1] == welded[:, 2])
                | (welded[:, 0] == welded[:, 2]))
    p = positions.astype(np.float64)
    tri = p[faces]
    area2 = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    extent = float(np.ptp(p, axis=0).max()) if len(p) else 0.0
    return repeated | (area2 <= (extent * 1e-9) ** 2)


def duplicate_faces(welded: np.ndarray) -> np.ndarray:
    """(m,) bool: faces over the same three welded vertices as an earlier face (any winding)."""
    if len(welded) == 0:
        return np.zeros(0, bool)
    first, _, _ = unique_rows(np.sort(welded, axis=1))
    dup = np.ones(len(welded), bool)
    dup[first] = False
    return dup


def edge_counts(welded: np.ndarray) -> tuple[int, int]:
    """(non-manifold edges, boundary edges) of faces (m, 3) over welded vertices.

    A non-manifold edge is shared by more than two faces; a boundary edge by exactly one.
    """
    if len(welded) == 0:
        return 0, 0
    edges = np.sort(welded[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, _, counts = unique_rows(edges)
    return int((counts > 2).sum()), int((counts == 1).sum())


def island_count(n_vertices: int, faces: np.ndarray) -> int:
    """Connected components of the faces (m, 3) over ``n_vertices`` (unused vertices ignored)."""
    if len(faces) == 0:
        return 0
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows = faces[:, [0, 1, 2]].ravel()
    cols = faces[:, [1, 2, 0]].ravel()
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)),
                       shape=(n_vertices, n_vertices))
    _, labels = connected_components(graph, directed=False)
    return int(len(np.unique(labels[np.unique(faces)])))


def clean_triangles(positions: np.ndarray, faces: np.ndarray, report: Report, where: str
                    ) -> np.ndarray:
    """Check one triangle list and return it without degenerate and duplicate faces.

    positions : (n, 3) float, already checked finite; faces : (m, 3) int64, already in range.
    Fills ``report`` with what was removed and with non-manifold edges and islands (kept).
    """
    _, inverse = weld(positions)
    welded = inverse[faces]
    bad = degenerate_faces(positions, faces, welded)
    if bad.any():
        report.add("degenerate_faces", "repaired",
                   f"removed {int(bad.sum())} degenerate (zero-area) faces", where)
    dup = duplicate_faces(np.where(bad[:, None], -1 - np.arange(len(faces))[:, None], welded))
    dup &= ~bad
    if dup.any():
        report.add("duplicate_faces", "repaired", f"removed {int(dup.sum())} duplicate faces",
                   where)
    keep = ~(bad | dup)
    faces = faces[keep]
    if len(faces) == 0:
        report.fatal("no_faces", "no faces left after removing degenerate ones", where)
    nm, boundary = edge_counts(welded[keep])
    if nm:
        report.add("non_manifold_edges", "warning",
                   f"{nm} non-manifold edges (shared by more than two faces), kept", where)
    if boundary:
        report.add("open_boundary", "info", f"{boundary} boundary edges (mesh is open)", where)
    islands = island_count(int(inverse.max()) + 1, welded[keep])
    if islands > 1:
        report.add("islands", "info", f"{islands} disconnected islands", where)
    return faces


def check_indices(faces: np.ndarray, n_vertices: int, report: Report, where: str) -> None:
    """Refuse faces that index outside ``n_vertices`` vertices (a corrupt file, not repairable)."""
    if len(faces) and (faces.min() < 0 or faces.max() >= n_vertices):
        bad = int(((faces < 0) | (faces >= n_vertices)).any(axis=1).sum())
        report.fatal("index_out_of_range",
                     f"{bad} faces index vertices out of range (max index {int(faces.max())}, "
                     f"{n_vertices} vertices)", where)


def check_finite(values: np.ndarray, report: Report, where: str, what: str) -> None:
    """Refuse NaN or Inf in data whose meaning cannot be recovered (positions, bind matrices)."""
    if not np.isfinite(values).all():
        n = int((~np.isfinite(values)).sum())
        report.fatal("non_finite", f"{n} NaN/Inf values in {what}", where)


def check_extent(extent_m: float, report: Report) -> None:
    """Refuse an asset whose size after unit conversion is absurd."""
    if not MIN_EXTENT_M <= extent_m <= MAX_EXTENT_M:
        report.fatal("absurd_scale",
                     f"asset is {extent_m:.3g} m across after unit conversion; pass --unit "
                     "to say what unit the file is in")
