"""Reading OBJ (+MTL, textures), PLY and STL into the same glTF document the glTF path uses.

OBJ is parsed here rather than by trimesh so that ``mtllib`` and ``map_Kd`` references go through
:mod:`reskin.assets.safe_io` (trimesh's resolver would follow ``../`` and absolute paths) and so
that groups and objects survive as separate parts. PLY and STL are self-contained: trimesh reads
them from bytes, with no resolver, so a PLY ``TextureFile`` comment cannot make it open a file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reskin.assets.gltf.read import GltfDocument
from reskin.assets.safe_io import ExternalReader, Limits, check_image
from reskin.assets.validation import Report, unique_rows
from reskin.core.errors import ReskinError


@dataclass
class StaticPart:
    """One part of a static mesh, one vertex per distinct corner.

    positions : (n, 3) float32; faces : (m, 3) int64 into positions
    uvs       : (n, 2) float32 OBJ convention (origin bottom-left), or None
    normals   : (n, 3) float32 or None; colors : (n, 3|4) float32 in [0, 1] or None
    """

    name: str
    positions: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None = None
    normals: np.ndarray | None = None
    colors: np.ndarray | None = None
    material: int | None = None


@dataclass
class Material:
    name: str
    color: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)
    image: int | None = None  # index into the document's images


@dataclass
class StaticScene:
    parts: list[StaticPart] = field(default_factory=list)
    materials: list[Material] = field(default_factory=list)
    images: list[tuple[bytes, str]] = field(default_factory=list)


def _floats(tokens: list[str], n: int, line: int, report: Report) -> list[float]:
    try:
        return [float(t) for t in tokens[:n]]
    except ValueError:
        report.fatal("parse_error", f"line {line}: expected {n} numbers")
        raise AssertionError from None  # unreachable: fatal raises


def _parse_mtl(text: str, ext: ExternalReader, limits: Limits, scene: StaticScene,
               report: Report, allow_missing: bool, mtl_name: str) -> dict[str, int]:
    names: dict[str, int] = {}
    current: Material | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        key = tokens[0]
        if key == "newmtl":
            current = Material(" ".join(tokens[1:]) or f"material{len(scene.materials)}")
            names[current.name] = len(scene.materials)
            scene.materials.append(current)
        elif current is None:
            continue
        elif key == "Kd" and len(tokens) >= 4:
            r, g, b = (min(max(x, 0.0), 1.0) for x in _floats(tokens[1:], 3, lineno, report))
            current.color = (r, g, b, current.color[3])
        elif key in ("d", "Tr") and len(tokens) >= 2:
            (d,) = _floats(tokens[1:], 1, lineno, report)
            d = 1.0 - d if key == "Tr" else d
            current.color = (*current.color[:3], min(max(d, 0.0), 1.0))
        elif key == "map_Kd" and len(tokens) >= 2:
            uri = tokens[-1]  # options like -s 1 1 1 come before the file name
            where = f"{mtl_name}: line {lineno}"
            if not ext.exists(uri, where=where):
                if not allow_missing:
                    raise ReskinError(f"missing texture {uri!r} (pass --allow-missing to import "
                                      "without it)", field=where)
                report.add("missing_texture", "repaired",
                           f"texture {uri!r} is missing; material keeps its colour only", where)
                continue
            data = ext.read(uri, where=where, what="texture")
            scene.images.append((data, check_image(data, limits, where=where)))
            current.image = len(scene.images) - 1
    return names


def read_obj(path: Path, data: bytes, limits: Limits, report: Report, *,
             allow_missing: bool = False) -> tuple[StaticScene, list[str]]:
    """OBJ bytes as parts (one per group/object and material), and the files it read."""
    ext = ExternalReader(path.parent, limits)
    scene = StaticScene()
    v: list[list[float]] = []
    vt: list[list[float]] = []
    vn: list[list[float]] = []
    # (part name, material) -> list of faces, each a list of (v, vt, vn) index triples
    groups: dict[tuple[str, int | None], list[list[tuple[int, int, int]]]] = {}
    materials: dict[str, int] = {}
    part, material = "default", None
    dropped = 0
    text = data.decode("utf-8", errors="replace")
    for lineno, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        key = tokens[0]
        if key == "v":
            if len(tokens) < 4:
                report.fatal("parse_error", f"line {lineno}: vertex needs 3 coordinates")
            v.append(_floats(tokens[1:], 7 if len(tokens) >= 7 else 3, lineno, report))
        elif key == "vt":
            uv = _floats(tokens[1:], 2, lineno, report) if len(tokens) >= 3 else [0.0, 0.0]
            vt.append(uv)
        elif key == "vn":
            vn.append(_floats(tokens[1:], 3, lineno, report) if len(tokens) >= 4 else [0, 0, 0])
        elif key in ("g", "o"):
            part = " ".join(tokens[1:]) or "default"
        elif key == "usemtl":
            name = " ".join(tokens[1:])
            material = materials.get(name)
            if material is None and name:
                report.add("missing_material", "warning", f"line {lineno}: material {name!r} "
                           "is not defined; default material used")
        elif key == "mtllib":
            uri = " ".join(tokens[1:])
            where = f"line {lineno}"
            if not ext.exists(uri, where=where):
                if not allow_missing:
                    raise ReskinError(f"missing material library {uri!r} (pass --allow-missing "
                                      "to import without it)", file=path, field=where)
                report.add("missing_material", "repaired",
                           f"material library {uri!r} is missing; default material used", where)
                continue
            mtl = ext.read(uri, where=where, what="material library")
            materials.update(_parse_mtl(mtl.decode("utf-8", errors="replace"), ext, limits,
                                        scene, report, allow_missing, uri))
        elif key == "f":
            corners = []
            for tok in tokens[1:]:
                fields = (tok.split("/") + ["", ""])[:3]
                try:
                    idx = tuple(int(f) if f else 0 for f in fields)
                except ValueError:
                    report.fatal("parse_error", f"line {lineno}: bad face index {tok!r}")
                counts = (len(v), len(vt), len(vn))
                # OBJ indices are 1-based; negative ones count back from the latest element.
                fixed = []
                for k, (i, n) in enumerate(zip(idx, counts, strict=True)):
                    j = i - 1 if i > 0 else n + i if i < 0 else -1
                    if (i != 0 or k == 0) and not 0 <= j < n:
                        report.fatal("index_out_of_range",
                                     f"line {lineno}: face index {tok!r} is out of range")
                    fixed.append(j)
                corners.append(tuple(fixed))
            if len(corners) < 3:
                dropped += 1
                continue
            groups.setdefault((part, material), []).append(corners)
    if dropped:
        report.add("broken_faces", "repaired", f"dropped {dropped} faces with fewer than 3 "
                   "vertices")
    if not v:
        report.fatal("no_vertices", "file has no vertices")
    varr = np.asarray([row[:3] for row in v], np.float64)
    has_color = all(len(row) >= 6 for row in v)
    carr = np.asarray([row[3:6] for row in v], np.float32) if has_color else None
    tarr = np.asarray(vt, np.float32).reshape(-1, 2)
    narr = np.asarray(vn, np.float32).reshape(-1, 3)
    names_seen: dict[str, int] = {}
    seen_faces: set[tuple[int, ...]] = set()
    duplicates = 0
    for (name, mat), faces in groups.items():
        # Triangulate polygons as fans, then give each distinct (v, vt, vn) corner one vertex.
        tris = [(f[0], f[k], f[k + 1]) for f in faces for k in range(1, len(f) - 1)]
        # A face over the same three positions as an earlier one, in any group or winding, is a
        # duplicate across the whole file (per-part checks later would not see it).
        kept = []
        for t in tris:
            key = tuple(sorted((t[0][0], t[1][0], t[2][0])))
            if key in seen_faces and len(set(key)) == 3:
                duplicates += 1
                continue
            seen_faces.add(key)
            kept.append(t)
        if not kept:
            continue
        corners = np.asarray(kept, np.int64).reshape(-1, 3)
        first, inverse, _ = unique_rows(corners)
        unique = corners[first]
        count = names_seen.get(name, 0)
        names_seen[name] = count + 1
        scene.parts.append(StaticPart(
            name=name if count == 0 else f"{name}.{count}",
            positions=varr[unique[:, 0]].astype(np.float32),
            faces=inverse.reshape(-1, 3),
            uvs=tarr[np.maximum(unique[:, 1], 0)] if len(tarr) and (unique[:, 1] >= 0).all()
            else None,
            normals=narr[np.maximum(unique[:, 2], 0)] if len(narr) and (unique[:, 2] >= 0).all()
            else None,
            colors=carr[unique[:, 0]] if carr is not None else None,
            material=mat,
        ))
    if duplicates:
        report.add("duplicate_faces", "repaired", f"removed {duplicates} duplicate faces")
    if not scene.parts:
        report.fatal("no_faces", "file has no faces")
    return scene, ext.read_files


def read_trimesh(data: bytes, file_type: str, report: Report) -> StaticScene:
    """PLY or STL bytes through trimesh (no resolver: nothing beside the file is opened)."""
    import trimesh

    try:
        loaded = trimesh.load(io.BytesIO(data), file_type=file_type, process=False,
                              force="mesh", resolver=None)
    except Exception as exc:  # trimesh raises many types on truncated or corrupt input
        report.fatal("unreadable", f"unreadable or truncated {file_type.upper()} "
                     f"({type(exc).__name__}: {str(exc)[:80]})")
        raise AssertionError from None
    faces = np.asarray(getattr(loaded, "faces", np.zeros((0, 3))), np.int64).reshape(-1, 3)
    positions = np.asarray(getattr(loaded, "vertices", np.zeros((0, 3))), np.float64)
    if len(faces) == 0:
        report.fatal("no_faces", f"{file_type.upper()} has no faces")
    colors = None
    visual = getattr(loaded, "visual", None)
    if getattr(visual, "kind", None) == "vertex":
        colors = np.asarray(visual.vertex_colors, np.float32)[:, :4] / 255.0
    return StaticScene(parts=[StaticPart("mesh", positions.astype(np.float32), faces,
                                         colors=colors)])


def static_document(scene: StaticScene) -> GltfDocument:
    """A glTF document (JSON + decoded accessors) holding ``scene``: one node per part."""
    js: dict = {"asset": {"version": "2.0"}, "accessors": [], "meshes": [], "nodes": [],
                "materials": [], "scenes": [{"nodes": []}], "scene": 0}
    doc = GltfDocument(json=js)

    def acc(array: np.ndarray, component: int, kind: str) -> int:
        js["accessors"].append({"componentType": component, "type": kind, "count": len(array)})
        doc.accessors[len(js["accessors"]) - 1] = array
        return len(js["accessors"]) - 1

    for i, (data, mime) in enumerate(scene.images):
        js.setdefault("images", []).append({"mimeType": mime})
        js.setdefault("textures", []).append({"source": i, "sampler": 0})
        doc.images[i] = (data, mime)
    if scene.images:
        js["samplers"] = [{"magFilter": 9729, "minFilter": 9987, "wrapS": 10497, "wrapT": 10497}]
    for m in scene.materials:
        pbr: dict = {"baseColorFactor": list(m.color), "metallicFactor": 0.0}
        if m.image is not None:
            pbr["baseColorTexture"] = {"index": m.image}
        js["materials"].append({"name": m.name, "pbrMetallicRoughness": pbr})
    default_material = None
    for part in scene.parts:
        attrs = {"POSITION": acc(np.asarray(part.positions, np.float32), 5126, "VEC3")}
        if part.normals is not None:
            attrs["NORMAL"] = acc(np.asarray(part.normals, np.float32), 5126, "VEC3")
        if part.uvs is not None:
            uv = np.asarray(part.uvs, np.float32)
            attrs["TEXCOORD_0"] = acc(np.column_stack([uv[:, 0], 1.0 - uv[:, 1]]), 5126, "VEC2")
        if part.colors is not None:
            c = np.asarray(part.colors, np.float32)
            attrs["COLOR_0"] = acc(c, 5126, "VEC4" if c.shape[1] == 4 else "VEC3")
        material = part.material
        if material is None:
            if default_material is None:
                js["materials"].append({"name": "default", "pbrMetallicRoughness": {
                    "baseColorFactor": [0.8, 0.8, 0.8, 1.0], "metallicFactor": 0.0}})
                default_material = len(js["materials"]) - 1
            material = default_material
        prim = {"attributes": attrs, "mode": 4, "material": material,
                "indices": acc(np.asarray(part.faces, np.uint32).reshape(-1), 5125, "SCALAR")}
        js["meshes"].append({"name": part.name, "primitives": [prim]})
        js["nodes"].append({"name": part.name, "mesh": len(js["meshes"]) - 1})
        js["scenes"][0]["nodes"].append(len(js["nodes"]) - 1)
    return doc
