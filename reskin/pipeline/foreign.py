"""Import files only Blender reads (FBX: Mixamo, Character Creator, Rocketbox exports).

A Blender worker converts the file to one GLB with Blender's own FBX importer and glTF exporter
(joints, weights, named shape keys, takes, materials and images kept); the library then imports
that GLB exactly as ``reskin asset import`` imports any GLB, with provenance naming the original
file. Everything up to the commit happens in a temporary folder: a refused file leaves the
library as it was.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reskin.assets.importer import ImportOptions, PreparedImport, commit, prepare
from reskin.assets.library import AssetRecord, Library, parse_ref
from reskin.assets.safe_io import read_limited
from reskin.assets.validation import Report
from reskin.core.errors import ReskinError
from reskin.render.blender.client import BlenderWorker

FOREIGN_FORMATS = {".fbx": "fbx"}


@dataclass(frozen=True)
class Conversion:
    """What a Blender worker made of a foreign file."""

    glb: Path
    blender: str  # Blender's version string, e.g. "5.0.1"
    images: tuple[str, ...]  # image files on disk the source referenced (embedded ones excluded)
    animations: tuple[str, ...]  # the takes, one glTF animation each


def is_foreign(path: str | Path) -> bool:
    """Whether ``path`` is a format that goes through Blender (see :data:`FOREIGN_FORMATS`)."""
    return Path(path).suffix.lower() in FOREIGN_FORMATS


def convert(path: str | Path, work_dir: str | Path,
            worker: BlenderWorker | None = None) -> Conversion:
    """Convert ``path`` (an FBX) to ``work_dir/<stem>.glb`` with a Blender worker.

    Uses ``worker`` when given (a caller converting many files keeps one), else starts one for
    this file. Raises ReskinError naming ``path`` when Blender cannot read it or it has no mesh.
    """
    path, work_dir = Path(path), Path(work_dir)
    if not is_foreign(path):
        raise ReskinError(f"not a file Blender converts; expected one of "
                          f"{', '.join(FOREIGN_FORMATS)}", file=path)
    if not path.is_file():
        raise ReskinError("file not found", file=path)
    work_dir.mkdir(parents=True, exist_ok=True)
    out = work_dir / f"{path.stem}.glb"
    try:
        if worker is None:
            with BlenderWorker(work_dir / "blender-convert.log") as own:
                reply = own.convert(path.resolve(), out)
        else:
            reply = worker.convert(path.resolve(), out)
    except ReskinError as exc:  # name the file as the user gave it
        raise ReskinError(exc.message, file=path, field=exc.field) from None
    return Conversion(out, reply.get("blender", "?"), tuple(reply.get("images", ())),
                      tuple(reply.get("animations", ())))


def convert_foreign(path: str | Path, work_dir: str | Path,
                    worker: BlenderWorker | None = None) -> Path:
    """The GLB Blender makes of ``path`` (an FBX), written in ``work_dir``; see :func:`convert`."""
    return convert(path, work_dir, worker).glb


def prepare_foreign(path: str | Path, opts: ImportOptions | None = None,
                    worker: BlenderWorker | None = None) -> PreparedImport:
    """Convert ``path`` (an FBX) and check it like any GLB import, without touching a library.

    The converted GLB is validated, repaired and normalised like any GLB import; provenance
    records the FBX (path, SHA-256, format) and the Blender version that converted it. Refusals
    are one-line ReskinErrors naming the FBX.
    """
    opts = opts or ImportOptions()
    path = Path(path)
    data = read_limited(path, opts.limits.max_file_bytes)
    with tempfile.TemporaryDirectory(prefix="reskin-convert-") as tmp:
        conv = convert(path, tmp, worker)
        missing = [p for p in conv.images if not Path(p).is_file()]
        if missing and not opts.allow_missing:
            raise ReskinError(f"texture file missing: {missing[0]} (--allow-missing imports "
                              "without it)", file=path)
        try:
            prepared = prepare(conv.glb, opts)
        except ReskinError as exc:  # name the FBX, not the temporary GLB
            raise ReskinError(exc.message, file=path, field=exc.field) from None
    report = prepared.report
    report.file = str(path)
    for p in missing:
        report.add("missing_texture", "warning", f"texture file missing, not imported: {p}")
    prepared.meta["format"] = FOREIGN_FORMATS[path.suffix.lower()]
    prov = prepared.provenance
    prov.pop("source_generator", None)  # that was the converter's glTF exporter, not the source
    prov.update({
        "source": str(path.resolve()), "source_sha256": hashlib.sha256(data).hexdigest(),
        "source_format": prepared.meta["format"],
        "source_files": [p for p in conv.images if p not in missing],
        "converter": f"Blender {conv.blender}", "validation": report.to_json(),
    })
    return prepared


def import_foreign(library_root: str | Path, path: str | Path, name: str,
                   opts: ImportOptions | None = None,
                   worker: BlenderWorker | None = None) -> tuple[AssetRecord, Report]:
    """Convert ``path`` (an FBX) and add it to the library as the next version of ``name``
    (:func:`prepare_foreign`; the library is opened only after all checks pass)."""
    opts = opts or ImportOptions()
    parse_ref(name)
    if "@" in name:
        raise ReskinError(f"asset name {name!r} must not carry a version")
    prepared = prepare_foreign(path, opts, worker)
    with Library(library_root) as lib:
        return commit(lib, name, prepared, tags=opts.tags), prepared.report
