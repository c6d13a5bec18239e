"""Integrity of a library: ``asset fsck`` (verify, optionally quarantine) and ``asset gc``.

Errors are what loses or corrupts data: a referenced blob missing, a blob whose bytes do not
hash to its name, a catalog that fails SQLite's own checks or has dangling references. Leftovers
of interrupted writes (temporary files, blobs written but never committed) are reported as
garbage, not errors: they are exactly what a crash is allowed to leave, and ``gc`` removes them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from reskin.assets.library import Library

_HEX_RE = re.compile(r"[0-9a-f]{62}")
GC_GRACE_SECONDS = 3600.0  # spare files this young: an import may be about to reference them


@dataclass
class FsckReport:
    errors: list[str] = field(default_factory=list)  # "kind: detail"
    garbage: list[Path] = field(default_factory=list)  # unreferenced blobs, stale temp files
    quarantined: list[Path] = field(default_factory=list)
    blobs_checked: int = 0
    assets_checked: int = 0

    @property
    def clean(self) -> bool:
        return not self.errors


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _object_files(lib: Library) -> tuple[dict[str, Path], list[Path], list[Path]]:
    """(blob hash -> file, temp files, stray files) under ``objects/``."""
    blobs, temps, strays = {}, [], []
    for path in sorted(lib.objects.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(lib.objects)
        if path.name.startswith(".") and ".tmp" in path.name:
            temps.append(path)
        elif len(rel.parts) == 2 and len(rel.parts[0]) == 2 and _HEX_RE.fullmatch(rel.parts[1]) \
                and re.fullmatch(r"[0-9a-f]{2}", rel.parts[0]):
            blobs[rel.parts[0] + rel.parts[1]] = path
        else:
            strays.append(path)
    return blobs, temps, strays


def fsck(lib: Library, *, repair: bool = False) -> FsckReport:
    """Check every catalog row and every blob; with ``repair``, move corrupt blobs aside.

    Quarantine is ``.reskin/quarantine/<sha>.<utc time>``: the bytes are kept for forensics, and
    the blob path is freed so a re-import or an unpack of the right bytes restores the asset.
    """
    report = FsckReport()
    db = lib._db
    for (msg,) in db.execute("PRAGMA integrity_check"):
        if msg != "ok":
            report.errors.append(f"catalog: {msg}")
    for row in db.execute("PRAGMA foreign_key_check"):
        report.errors.append(f"catalog: dangling reference in table {row[0]} (row {row[1]})")
    refs = lib.blob_refs()
    sizes = lib.blob_sizes()
    files, temps, strays = _object_files(lib)
    report.assets_checked = db.execute("SELECT COUNT(*) FROM assets").fetchone()[0]
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
    for sha, users in sorted(refs.items()):
        report.blobs_checked += 1
        path = files.get(sha)
        if path is None:
            report.errors.append(f"missing blob {sha[:12]} used by {', '.join(users)}")
            continue
        actual = _hash_file(path)
        if actual != sha or path.stat().st_size != sizes.get(sha, -1):
            report.errors.append(f"corrupt blob {sha[:12]} (hashes to {actual[:12]}) used by "
                                 f"{', '.join(users)}")
            if repair:
                report.quarantined.append(_quarantine(lib, path, f"{sha}.{stamp}"))
    report.garbage = sorted([p for s, p in files.items() if s not in refs] + temps)
    for path in strays:
        report.errors.append(f"stray file in objects/: {path.relative_to(lib.root)}")
        if repair:
            report.quarantined.append(_quarantine(lib, path, f"stray.{path.name}.{stamp}"))
    return report


def _quarantine(lib: Library, path: Path, name: str) -> Path:
    """Move a bad file out of objects/ into quarantine/ (kept for inspection, never served)."""
    qdir = lib.root / "quarantine"
    qdir.mkdir(exist_ok=True)
    target = qdir / name
    shutil.move(path, target)
    return target


def gc(lib: Library, *, grace_seconds: float = GC_GRACE_SECONDS, dry_run: bool = False
       ) -> tuple[list[Path], int]:
    """Remove blobs no asset references and stale temp files older than ``grace_seconds``, and
    the derived-data cache of asset versions no longer in the catalog
    (:func:`reskin.assets.derived.prune`).

    Returns (paths removed, bytes freed). The catalog is read inside a write transaction, so no
    import commits a new reference while the list of unreferenced blobs is being made.
    """
    from reskin.assets import derived

    db = lib._db
    db.execute("BEGIN IMMEDIATE")
    try:
        refs = lib.blob_refs()
        files, temps, _ = _object_files(lib)
        now = time.time()
        doomed = [p for s, p in files.items() if s not in refs] + temps
        doomed = [p for p in doomed if now - p.stat().st_mtime >= grace_seconds]
        freed = 0
        for path in doomed:
            freed += path.stat().st_size
            if not dry_run:
                path.unlink()
        live = {record.content_hash for record in lib.list()}
        cached, cached_bytes = derived.prune(lib, live, grace_seconds=grace_seconds,
                                             dry_run=dry_run)
    finally:
        db.execute("ROLLBACK")
    return sorted(doomed + cached), freed + cached_bytes
