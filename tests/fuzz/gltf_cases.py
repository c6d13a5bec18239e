"""glTF/GLB/VRM mutants of the sample files, imported in-process.

``mutant(seed)`` is deterministic: the seed picks the sample file and the mutation. An import
that is accepted yields the GLB the library would store (what ``reskin asset export`` writes
for an imported asset), to be validated in batches.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from tests.fuzz.harness import Outcome, run_one
from tests.fuzz.mutate import mutate_glb, mutate_gltf_text

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def sample_files(include_avatars: bool = False) -> list[Path]:
    """The sample glTF files mutants are made of (sorted, so a seed means the same file)."""
    gltf = DATA / "gltf"
    files = sorted(gltf.glob("*.glb")) + sorted(gltf.glob("*.gltf"))
    files += sorted((gltf / "tricky").rglob("*.glb")) + sorted((gltf / "tricky").rglob("*.gltf"))
    if include_avatars:
        files += sorted((DATA / "avatars").glob("*.glb"))
    return files


def mutant(seed: int, files: list[Path]) -> tuple[Path, bytes]:
    """(the sample it came from, the mutant's bytes) for ``seed``."""
    rng = random.Random(seed)
    src = files[rng.randrange(len(files))]
    data = src.read_bytes()
    out = mutate_glb(data, rng) if data[:4] == b"glTF" else mutate_gltf_text(data, rng)
    return src, out


def write_mutant(seed: int, files: list[Path], folder: Path, suffix: str | None = None) -> Path:
    """The mutant written into ``folder`` beside copies of its sample's side files (.bin,
    textures), as ``m<seed>.<suffix>``."""
    src, data = mutant(seed, files)
    folder.mkdir(parents=True, exist_ok=True)
    if src.suffix == ".gltf":
        for side in src.parent.iterdir():
            if side.suffix != ".gltf" and side.is_file() and not (folder / side.name).exists():
                shutil.copy(side, folder / side.name)
    path = folder / f"m{seed}{suffix or src.suffix}"
    path.write_bytes(data)
    return path


def import_mutant(seed: int, files: list[Path], folder: Path, suffix: str | None = None,
                  seconds: float = 20.0) -> Outcome:
    """Prepare the import of mutant ``seed``; an accepted one's value is its stored GLB."""
    from reskin.assets.importer import prepare

    path = write_mutant(seed, files, folder, suffix)
    try:
        return run_one(seed, lambda: prepare(path).blobs["model.glb"], seconds)
    finally:
        path.unlink()
