"""``reskin asset import``: read, validate, repair, normalise, then add one asset version.

Everything up to :func:`commit` works on the file alone: a refused import never opens the
library, so the library stays byte-for-byte as it was. What is stored per import:

``model.glb``  the whole file as one clean self-contained GLB (skins, animations, morph targets,
               materials and textures kept), under a root node holding the normalisation
``mesh.npz``   the rest-pose geometry, normalised and welded per part (:class:`Mesh` arrays):
               what thumbnails, rigging and USD export of static meshes read
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import reskin
from reskin.assets import normalize
from reskin.assets.arrays import pack_arrays
from reskin.assets.gltf.bind_pose import reset_to_bind_pose
from reskin.assets.gltf.conform import conform, conform_before
from reskin.assets.gltf.read import GltfDocument, load_gltf
from reskin.assets.gltf.repair import Part, flatten, repair
from reskin.assets.gltf.schema import check_schema
from reskin.assets.gltf.vrm import face_forward, file_credits, library_meta, read_vrm
from reskin.assets.gltf.write import write_glb
from reskin.assets.library import KINDS, AssetRecord, Library, parse_ref
from reskin.assets.mesh_read import read_obj, read_trimesh, static_document
from reskin.assets.safe_io import Limits, read_limited
from reskin.assets.validation import Report, check_extent, weld
from reskin.core.errors import ReskinError
from reskin.core.mesh import Mesh

IMPORTER_VERSION = "1"
FORMATS = {".glb": "glb", ".gltf": "gltf", ".vrm": "glb", ".obj": "obj", ".ply": "ply",
           ".stl": "stl"}  # a .vrm is a GLB with the VRM extension
_SPDX_RE = re.compile(r"^(LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9][A-Za-z0-9.+-]*)"
                      r"( (AND|OR|WITH) (LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9][A-Za-z0-9.+-]*))*$")


@dataclass
class ImportOptions:
    kind: str | None = None  # default: character when the file has a skin, else prop
    license: str | None = None  # SPDX id
    author: str | None = None
    prompt: str | None = None
    seed: int | None = None
    generator: str | None = None  # the tool or AI model that made the file, if known
    unit: str = "auto"
    up: str = "auto"
    allow_missing: bool = False
    tags: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)


@dataclass
class PreparedImport:
    """An import that passed validation, ready to be added to a library."""

    kind: str
    blobs: dict[str, bytes]
    meta: dict
    provenance: dict
    report: Report


def _check_options(opts: ImportOptions) -> None:
    if opts.kind is not None and opts.kind not in KINDS:
        raise ReskinError(f"unknown asset kind {opts.kind!r}; expected one of {', '.join(KINDS)}")
    if opts.license is not None and not _SPDX_RE.match(opts.license):
        raise ReskinError(f"license {opts.license!r} is not an SPDX identifier or expression "
                          "(e.g. CC-BY-4.0, CC0-1.0, MIT, LicenseRef-studio)")
    if opts.unit != "auto" and opts.unit not in normalize.UNITS:
        raise ReskinError(f"unknown unit {opts.unit!r}; expected one of "
                          f"auto, {', '.join(normalize.UNITS)}")
    if opts.up not in ("auto", "y", "z"):
        raise ReskinError(f"unknown up axis {opts.up!r}; expected auto, y or z")


def read_document(path: Path, data: bytes, fmt: str, opts: ImportOptions, report: Report
                  ) -> tuple[GltfDocument, list[str]]:
    """The file as a glTF document, whatever its format; plus the external files it read."""
    if fmt in ("glb", "gltf"):
        if fmt == "glb" and data[:4] != b"glTF":
            raise ReskinError("not a GLB file (bad magic)")
        doc = load_gltf(path, data, opts.limits, allow_missing=opts.allow_missing)
        check_schema(doc.json, report)
        for i in doc.missing_images:
            report.add("missing_texture", "repaired", "texture file missing; a magenta "
                       "placeholder stands in", f"images[{i}]")
        return doc, doc.external_files
    if fmt == "obj":
        scene, files = read_obj(path, data, opts.limits, report,
                                allow_missing=opts.allow_missing)
        return static_document(scene), files
    return static_document(read_trimesh(data, fmt, report)), []


def mesh_arrays(parts: list[Part], matrix: np.ndarray) -> Mesh:
    """Normalised rest geometry, each part welded on its own (parts stay separate)."""
    verts, faces, uvs, uv_faces, part_ids = [], [], [], [], []
    nv = nuv = 0
    for k, part in enumerate(parts):
        pos = normalize.apply(matrix, part.positions).astype(np.float32)
        unique, inverse = weld(pos)
        verts.append(unique)
        faces.append(inverse[part.faces] + nv)
        uvs.append(part.uvs)
        uv_faces.append(part.faces + nuv)
        part_ids.append(np.full(len(part.faces), k, np.int16))
        nv += len(unique)
        nuv += len(part.uvs)
    names, seen = [], {}
    for part in parts:  # part names must be unique to be useful as keys
        count = seen.get(part.name, 0)
        seen[part.name] = count + 1
        names.append(part.name if count == 0 else f"{part.name}.{count}")
    return Mesh(
        vertices=np.concatenate(verts), faces=np.concatenate(faces).astype(np.int32),
        uvs=np.concatenate(uvs).astype(np.float32),
        uv_faces=np.concatenate(uv_faces).astype(np.int32),
        parts=np.concatenate(part_ids), part_names=tuple(names),
    )


def prepare(path: str | Path, opts: ImportOptions | None = None) -> PreparedImport:
    """Read and check ``path``; raises ReskinError (one line, naming the file) when refused."""
    opts = opts or ImportOptions()
    path = Path(path)
    _check_options(opts)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ReskinError(f"unsupported file type {path.suffix!r}; expected one of "
                          f"{', '.join(FORMATS)}", file=path)
    report = Report(str(path))
    try:
        data = read_limited(path, opts.limits.max_file_bytes)
        doc, files = read_document(path, data, fmt, opts, report)
        conform_before(doc, report)
        repair(doc, report)
        conform(doc, report)  # what the glTF validator checks, on what is kept
        reset_to_bind_pose(doc, report)  # the library's rest pose is the bind pose (issue #14)
        parts = flatten(doc)
        if not parts:
            report.fatal("no_faces", "the scene has no triangles")
        js = doc.json
        vrm = read_vrm(js)
        kind = opts.kind or ("character" if js.get("skins") else "prop")
        points = np.concatenate([p.positions for p in parts])
        matrix, norm = normalize.normalization(points, file_format=fmt, kind=kind,
                                               unit=opts.unit, up=opts.up)
        matrix = face_forward(vrm, matrix, norm)  # VRM 0.x faces -Z; reskin's characters +Z
        check_extent(float(max(norm["size_m"])), report)
        if not norm["up_certain"]:
            report.add("up_uncertain", "warning",
                       f"up axis guessed as +{norm['up'].upper()}, not certain: "
                       f"{norm['up_reason']}")
        mesh = mesh_arrays(parts, matrix)
        glb = write_glb(doc, root_matrix=matrix)
    except ReskinError as exc:
        if exc.file is None:  # say which file, once
            raise ReskinError(exc.message, file=path, field=exc.field) from None
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        # A hostile or broken file that got past the explicit checks: still one line.
        raise ReskinError(f"malformed {fmt.upper()} ({type(exc).__name__}: {str(exc)[:80]})",
                          file=path) from None
    animations = [a.get("name") or f"animation{i}" for i, a in enumerate(js.get("animations", []))]
    meta = {
        "stage": "imported", "format": fmt, "vertices": len(mesh.vertices),
        "faces": len(mesh.faces), "parts": list(mesh.part_names), "height": mesh.height,
        "size_m": norm["size_m"], "skins": len(js.get("skins", [])),
        "joints": len({int(j) for s in js.get("skins", []) for j in s.get("joints", [])}),
        "animations": animations,
        "morph_targets": sum(len(p.get("targets", [])) for m in js.get("meshes", [])
                             for p in m.get("primitives", [])),
        "textures": len(js.get("images", [])),
    }
    if vrm is not None:
        meta["vrm"] = library_meta(vrm, js)
    credits = file_credits(js, vrm)  # the file's own; the command line's win
    provenance = {
        "source": str(path.resolve()), "source_sha256": hashlib.sha256(data).hexdigest(),
        "source_files": files, "source_generator": js.get("asset", {}).get("generator"),
        "generator": opts.generator or "reskin.import", "generator_version": IMPORTER_VERSION,
        "author": opts.author or credits.get("author"),
        "license": opts.license or credits.get("license"), "source_credits": credits or None,
        "prompt": opts.prompt,
        "seed": opts.seed, "normalization": norm, "validation": report.to_json(),
        "reskin": reskin.__version__,
    }
    provenance = {k: v for k, v in provenance.items() if v is not None}
    blobs = {"model.glb": glb, "mesh.npz": pack_arrays(mesh.to_arrays())}
    return PreparedImport(kind, blobs, meta, provenance, report)


def commit(lib: Library, name: str, prepared: PreparedImport,
           parents: tuple[AssetRecord, ...] = (), tags: tuple[str, ...] = ()) -> AssetRecord:
    """Add the prepared import as the next version of ``name`` (one transaction)."""
    return lib.add(name, prepared.kind, prepared.blobs, meta=prepared.meta,
                   provenance=prepared.provenance, parents=parents, tags=tags)


def import_file(library_root: str | Path, path: str | Path, name: str,
                opts: ImportOptions | None = None) -> tuple[AssetRecord, Report]:
    """Validate ``path`` fully, then (only then) open the library and add it."""
    opts = opts or ImportOptions()
    parse_ref(name)
    if "@" in name:
        raise ReskinError(f"asset name {name!r} must not carry a version")
    prepared = prepare(path, opts)
    with Library(library_root) as lib:
        return commit(lib, name, prepared, tags=opts.tags), prepared.report
