"""The library's derived-data cache: things a job can recompute, kept so the next job need not.

Files live under ``.reskin/cache/<kind>/<owner>/<key>.bin``, ``owner`` being the first 16 hex
digits of the content hash of the asset version they were derived from (a rig): ``reskin asset
gc`` removes the folders of versions no longer in the catalog (:func:`prune`). Each file starts
with a magic line, the SHA-256 of its payload and the key it was made for, so a torn, corrupt,
stale or misplaced file reads as a miss (the caller makes the thing again) and never as wrong
data. Nothing in the catalog points here: ``rm -r .reskin/cache`` only costs time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from reskin.assets.library import Library

_MAGIC = b"reskin-derived\n"


KINDS = ("skin-body", "garment-fit", "file-regions", "file-skin")
"""The derived kinds :func:`prune` looks after."""
OWNER_DIGITS = 16


def path_of(lib: Library, kind: str, owner: str, key: str) -> Path:
    return lib.root / "cache" / kind / owner[:OWNER_DIGITS] / f"{key}.bin"


def read(lib: Library, kind: str, owner: str, key: str) -> bytes | None:
    """The payload stored for ``key``, or None when there is none or it fails its checks."""
    try:
        data = path_of(lib, kind, owner, key).read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + 64 + len(key)
    if (not data.startswith(_MAGIC) or data[len(_MAGIC) + 64:head] != key.encode()
            or hashlib.sha256(data[head:]).hexdigest().encode() != data[len(_MAGIC):
                                                                       len(_MAGIC) + 64]):
        return None
    return data[head:]


def write(lib: Library, kind: str, owner: str, key: str, payload: bytes) -> None:
    """Store ``payload`` for ``key`` (atomically; a cache that cannot be written is skipped)."""
    from reskin.core.atomic import write_bytes_atomic

    try:
        write_bytes_atomic(path_of(lib, kind, owner, key), _MAGIC + hashlib.sha256(
            payload).hexdigest().encode() + key.encode() + payload)
    except OSError:
        pass  # only the next job's time is lost


def exists(lib: Library, kind: str, owner: str, key: str) -> bool:
    return path_of(lib, kind, owner, key).exists()


def prune(lib: Library, live: set[str], *, grace_seconds: float, dry_run: bool = False
          ) -> tuple[list[Path], int]:
    """Remove derived files whose owner is not among ``live`` content hashes, once untouched
    for ``grace_seconds`` (a job may be writing for an asset it is adding right now).

    Returns (files removed, bytes freed).
    """
    import shutil
    import time

    owners = {h[:OWNER_DIGITS] for h in live}
    now = time.time()
    doomed: list[Path] = []
    freed = 0
    for kind in KINDS:
        folder = lib.root / "cache" / kind
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.is_dir() and entry.name in owners:
                continue
            files = [p for p in entry.rglob("*") if p.is_file()] if entry.is_dir() else [entry]
            if any(now - p.stat().st_mtime < grace_seconds for p in files):
                continue
            doomed += files
            freed += sum(p.stat().st_size for p in files)
            if not dry_run:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    return sorted(doomed), freed
