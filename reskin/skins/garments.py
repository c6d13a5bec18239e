"""Garments and accessories: made procedurally from the body, or loaded from a mesh, then bound.

A garment is a triangle mesh in the character's rest pose (model space, metres, +Y up, facing
+Z). ``bind: transfer`` gives it skin weights transferred from the body
(:mod:`reskin.skins.weight_transfer`) so it deforms with the body; ``bind: joint`` keeps
it rigid and attached to one joint (a hat to the head, a sword to a hand).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from reskin.core.errors import ReskinError
from reskin.core.mesh import Mesh
from reskin.core.skeleton import Skeleton
from reskin.skins.wardrobe import GarmentSpec

GREY = (0.5, 0.5, 0.5)


@dataclass(frozen=True, eq=False)
class Garment:
    """A garment ready to export.

    vertices : (g, 3) float32 rest-pose model-space positions
    faces    : (h, 3) int32
    uvs      : (g, 2) float32 glTF texture coordinates (v down) or None
    texture  : PNG bytes of its base colour image, or None (solid ``color``)
    joints, weights : (g, 4) uint16 / float32 skin influences (bind == "transfer"), else None
    matched  : (g,) bool vertices whose weights came straight from the body (transfer only)
    """

    spec: GarmentSpec
    vertices: np.ndarray
    faces: np.ndarray
    color: tuple[float, float, float]
    uvs: np.ndarray | None = None
    texture: bytes | None = None
    joints: np.ndarray | None = None
    weights: np.ndarray | None = None
    matched: np.ndarray | None = None


# procedural garments --------------------------------------------------------------------------
def _shell(mesh: Mesh, parts: tuple[str, ...], gap: float) -> tuple[np.ndarray, np.ndarray]:
    """The body's surface over ``parts``, pushed ``gap`` metres out along its normals."""
    ids = [mesh.part_names.index(p) for p in parts if p in mesh.part_names]
    faces = mesh.faces[np.isin(mesh.parts, ids)]
    used, inverse = np.unique(faces, return_inverse=True)
    v = mesh.vertices[used].astype(np.float64) + gap * mesh.vertex_normals[used]
    return v.astype(np.float32), inverse.reshape(-1, 3).astype(np.int32)


def _ring_grid(centres: np.ndarray, rx: np.ndarray, rz: np.ndarray, segments: int,
               closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Stacked elliptical rings (r, 3) centres with radii (r,) -> a tube's vertices and faces.

    ``closed`` joins the last ring to the first (a torus) instead of leaving open ends.
    """
    t = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    v = np.concatenate([c + np.stack([a * np.sin(t), np.zeros_like(t), b * np.cos(t)], 1)
                        for c, a, b in zip(centres, rx, rz, strict=True)])
    rows = len(centres) if closed else len(centres) - 1
    f = []
    for r in range(rows):
        r2 = (r + 1) % len(centres)
        for s in range(segments):
            a, b = r * segments + s, r * segments + (s + 1) % segments
            c, d = r2 * segments + s, r2 * segments + (s + 1) % segments
            f += [(a, c, b), (b, c, d)]
    return v.astype(np.float32), np.asarray(f, np.int32)


def _extent(mesh: Mesh, parts: tuple[str, ...], y0: float, y1: float
            ) -> tuple[np.ndarray, float, float]:
    """Centre (3,) and half-widths in x and z of the body's parts between heights y0 and y1."""
    ids = [mesh.part_names.index(p) for p in parts]
    vid = np.unique(mesh.faces[np.isin(mesh.parts, ids)])
    v = mesh.vertices[vid].astype(np.float64)
    v = v[(v[:, 1] >= y0) & (v[:, 1] <= y1)]
    lo, hi = v.min(axis=0), v.max(axis=0)
    return (lo + hi) / 2, float(hi[0] - lo[0]) / 2, float(hi[2] - lo[2]) / 2


def procedural_garment(kind: str, mesh: Mesh, skeleton: Skeleton, gap: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """A garment fitted to this body: (vertices (g, 3) float32, faces (h, 3) int32).

    jacket: the torso and arms' surface offset by ``gap``; skirt: an elliptic cone from the
    waist to below the knees (its inside spans the gap between the legs); scarf: a thick ring
    around the neck; cap: a crown and a peak over the head (meant for bind: joint, head).
    """
    heads = skeleton.heads.astype(np.float64)
    if kind == "jacket":
        return _shell(mesh, ("torso", "upper_arm_l", "upper_arm_r", "forearm_l", "forearm_r"),
                      gap)
    if kind == "skirt":
        waist = heads[skeleton.index("hips")][1] + 0.06
        knee = heads[skeleton.index("leftLowerLeg")][1] - 0.08
        ys = np.linspace(waist, knee, 10)
        c, rx, rz = _extent(mesh, ("pelvis",), waist - 0.04, waist + 0.02)
        _, lx, lz = _extent(mesh, ("thigh_l", "thigh_r", "shin_l", "shin_r"), knee, knee + 0.1)
        flare = np.linspace(0.0, 1.0, len(ys))
        centres = np.stack([np.full_like(ys, c[0]), ys, np.full_like(ys, c[2])], 1)
        return _ring_grid(centres, rx + gap + flare * (lx - rx + 0.06),
                          rz + gap + flare * max(lz - rz + 0.04, 0.04), 48, closed=False)
    if kind == "scarf":
        neck, head = heads[skeleton.index("neck")], heads[skeleton.index("head")]
        y = neck[1] + 0.35 * (head[1] - neck[1])
        c, rx, rz = _extent(mesh, ("neck",), y - 0.02, y + 0.02)
        tube = 0.035
        t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        # The tube's cross-section: rings around the neck at varying height and radius.
        centres = np.stack([np.full_like(t, c[0]), y + tube * np.sin(t),
                            np.full_like(t, c[2])], 1)
        grow = gap + tube * (1 - np.cos(t))
        return _ring_grid(centres, rx + grow, rz + grow, 32, closed=True)
    if kind == "cap":
        # An open dome (no bottom disc inside the head) with a flat brim all round.
        top = float(skeleton.tails[skeleton.index("head")][1])
        # The hair is the crown's outside where the body has a part of its own for it.
        crown = tuple(p for p in ("head", "hair") if p in mesh.part_names)
        c, rx, rz = _extent(mesh, crown, top - 0.1, top - 0.05)
        r, y0, rise = max(rx, rz) + gap, top - 0.07, 0.07 + gap + 0.02
        phi = np.radians([-3.0, 0.0, 20, 40, 60, 75, 85])
        rings = np.stack([np.full_like(phi, c[0]), y0 + rise * np.sin(phi),
                          np.full_like(phi, c[2])], 1)
        radius = r * np.cos(phi) + np.where(phi < 0, 0.035, 0.0)  # the first ring is the brim
        v, f = _ring_grid(rings, radius, radius, 32, closed=False)
        apex = len(v)
        last = apex - 32
        fan = [(last + s, last + (s + 1) % 32, apex) for s in range(32)]
        v = np.vstack([v, [[c[0], y0 + rise, c[2]]]]).astype(np.float32)
        return v, np.vstack([f, np.asarray(fan, np.int32)])
    raise ValueError(f"unknown procedural garment {kind!r}")


# garments from files or the library ------------------------------------------------------------
def load_mesh_bytes(data: bytes, suffix: str, where: str, field: str | None = None,
                    name: str = "the mesh file"
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, bytes | None,
                               tuple[float, float, float] | None]:
    """A mesh file's triangles with node transforms applied.

    ``where`` (spec file:line), ``field`` and ``name`` (the file's path or asset ref) make
    every error say which spec line and which file. Returns (vertices (g, 3) float32, faces
    (h, 3) int32, uvs (g, 2) float32 in glTF orientation or None, base-colour PNG or None,
    base colour (r, g, b) or None).
    """
    import trimesh

    try:
        loaded = trimesh.load(io.BytesIO(data), file_type=suffix.lstrip(".").lower(),
                              force="mesh", process=False)
    except Exception as exc:  # noqa: BLE001 - any parser failure is the user's file
        raise ReskinError(f"cannot read {name} as a mesh: {exc}", file=where,
                          field=field) from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise ReskinError(f"{name} has no triangles", file=where, field=field)
    v = np.asarray(loaded.vertices, np.float32)
    f = np.asarray(loaded.faces, np.int32)
    if not np.isfinite(v).all():
        raise ReskinError(f"{name} has NaN or infinite vertices", file=where, field=field)
    uvs = png = color = None
    visual = loaded.visual
    material = getattr(visual, "material", None)
    if material is not None:
        rgba = getattr(material, "baseColorFactor", None)
        if rgba is not None:
            color = tuple(float(c) / (255.0 if np.max(rgba) > 1 else 1.0) for c in rgba[:3])
        image = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
        uv = getattr(visual, "uv", None)
        if image is not None and uv is not None and len(uv) == len(v):
            buf = io.BytesIO()
            image.convert("RGB").save(buf, format="PNG")
            png = buf.getvalue()
            # trimesh flips v to OBJ orientation (up); glTF wants v down.
            uvs = np.column_stack([uv[:, 0], 1.0 - uv[:, 1]]).astype(np.float32)
    return v, f, uvs, png, color


def _euler(deg: tuple[float, float, float]) -> np.ndarray:
    x, y, z = np.radians(deg)
    rx = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    return rz @ ry @ rx


def place(vertices: np.ndarray, spec: GarmentSpec, anchor: np.ndarray) -> np.ndarray:
    """Scale (to ``spec.size``), rotate, then move the mesh's origin to ``anchor + offset``."""
    v = np.asarray(vertices, np.float64)
    if spec.size is not None:
        extent = float(np.ptp(v, axis=0).max())
        if extent > 0:
            v = v * (spec.size / extent)
    v = v @ _euler(spec.rotate).T
    return (v + anchor + np.asarray(spec.offset)).astype(np.float32)


def build_garment(spec: GarmentSpec, mesh: Mesh, skeleton: Skeleton,
                  read: callable) -> Garment:  # type: ignore[valid-type]
    """Make ``spec``'s mesh in the rest pose. ``read(ref) -> (bytes, suffix)`` fetches a file or
    a library asset. Joint-bound accessories are anchored at their joint's head."""
    if spec.joint is not None and spec.joint not in skeleton.names:
        raise ReskinError(f"the character has no joint {spec.joint!r}", file=spec.where,
                          field=f"garments.{spec.name}.joint")
    anchor = (skeleton.heads[skeleton.index(spec.joint)].astype(np.float64)
              if spec.bind == "joint" else np.zeros(3))
    uvs = png = None
    color = None
    if spec.mesh.startswith("procedural:"):
        v, f = procedural_garment(spec.mesh.split(":", 1)[1], mesh, skeleton, spec.gap)
        v = (v.astype(np.float64) @ _euler(spec.rotate).T + np.asarray(spec.offset))
        v = v.astype(np.float32)
    else:
        data, suffix = read(spec.mesh)
        field = f"{spec.spec_field}.mesh" if spec.spec_field else None
        v, f, uvs, png, color = load_mesh_bytes(data, suffix, spec.where, field, spec.mesh)
        v = place(v, spec, anchor)
    return Garment(spec=spec, vertices=v, faces=f, uvs=uvs, texture=png,
                   color=spec.color or color or GREY)


def bind_garment(garment: Garment, mesh: Mesh, skeleton: Skeleton, joints: np.ndarray,
                 weights: np.ndarray, candidates: np.ndarray | None = None) -> Garment:
    """Give a ``transfer`` garment the body's weights (robust transfer); joint-bound ones get
    weight 1 on their joint, which is also how the penetration check poses them.
    ``candidates``: the garment vertices' nearest body faces when the caller has them
    (:func:`reskin.skins.weight_transfer.nearest_faces`, as ``transfer_weights`` takes them)."""
    from reskin.skins.weight_transfer import transfer_weights

    g = len(garment.vertices)
    if garment.spec.bind == "joint":
        j = np.zeros((g, 4), np.uint16)
        j[:, 0] = skeleton.index(garment.spec.joint)
        w = np.zeros((g, 4), np.float32)
        w[:, 0] = 1.0
        return replace(garment, joints=j, weights=w, matched=np.ones(g, bool))
    j, w, matched = transfer_weights(
        mesh.vertices, mesh.faces, joints, weights, len(skeleton.names),
        garment.vertices, garment.faces, candidates=candidates)
    return replace(garment, joints=j, weights=w, matched=matched)


def read_ref(lib, ref: str) -> tuple[bytes, str]:  # noqa: ANN001 - Library, lazily imported
    """Bytes and file suffix of a garment/texture reference: a path or ``asset:NAME@V``."""
    if ref.startswith("asset:"):
        record = lib.get(ref[len("asset:"):])
        for role, sha in sorted(record.blobs.items()):
            suffix = Path(role).suffix.lower()
            if suffix in (".glb", ".gltf", ".obj", ".ply", ".stl", ".png", ".jpg", ".jpeg"):
                return lib.read_blob(sha), suffix
        raise ReskinError(f"asset {record.ref} holds no mesh or image blob")
    return Path(ref).read_bytes(), Path(ref).suffix.lower()
