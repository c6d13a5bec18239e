"""Benchmark: importing a ~1M-face mesh, as a ratio to reading and hashing the same file alone.

    .venv/bin/python bench/import_large.py [--faces 1000000] [--format glb|stl|ply|obj]

The anchor (read the file's bytes and SHA-256 them) is measured in the same run, so the ratio
says how much the import's parsing, validation, repair, normalisation and storing cost on top of
touching the bytes once, whatever the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reskin.assets.importer import ImportOptions, import_file  # noqa: E402
from reskin.assets.library import Library  # noqa: E402


def grid_mesh(faces: int) -> tuple[np.ndarray, np.ndarray]:
    """A wavy height-field sheet with about ``faces`` triangles: (n, 3) float32, (m, 3) int32."""
    side = int(np.sqrt(faces / 2)) + 1
    u, v = np.meshgrid(np.linspace(0, 1, side), np.linspace(0, 1, side), indexing="ij")
    h = 0.05 * np.sin(12 * u) * np.cos(9 * v)
    verts = np.stack([u, h + 0.1 * u, v], -1).reshape(-1, 3).astype(np.float32)
    idx = np.arange(side * side).reshape(side, side)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]
    faces_ = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                             np.stack([a, c, d], -1).reshape(-1, 3)]).astype(np.int32)
    return verts, faces_


def write_mesh(path: Path, verts: np.ndarray, faces: np.ndarray) -> None:
    import trimesh

    if path.suffix == ".glb":
        from reskin.assets.gltf.write import write_glb
        from reskin.assets.mesh_read import StaticPart, StaticScene, static_document

        doc = static_document(StaticScene(parts=[StaticPart("sheet", verts, faces)]))
        path.write_bytes(write_glb(doc))
    else:
        trimesh.Trimesh(verts, faces, process=False).export(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", type=int, default=1_000_000)
    ap.add_argument("--format", default="glb", choices=["glb", "stl", "ply", "obj"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        verts, faces = grid_mesh(args.faces)
        src = tmp / f"large.{args.format}"
        write_mesh(src, verts, faces)
        size = src.stat().st_size
        anchor, imported = [], []
        for k in range(args.repeat):
            t = time.perf_counter()
            hashlib.sha256(src.read_bytes()).hexdigest()
            anchor.append(time.perf_counter() - t)
            root = tmp / f"lib{k}" / ".reskin"
            Library(root, create=True).close()
            t = time.perf_counter()
            rec, _ = import_file(root, src, "large", ImportOptions(unit="m"))
            imported.append(time.perf_counter() - t)
        a, i = min(anchor), min(imported)
        print(f"file: {args.format}, {len(faces)} faces, {len(verts)} vertices, "
              f"{size / 1e6:.1f} MB")
        print(f"read + sha256 alone: {a * 1e3:.1f} ms (best of {args.repeat})")
        print(f"reskin asset import: {i:.2f} s (best of {args.repeat}); "
              f"stored {rec.meta['faces']} faces")
        print(f"ratio import / (read + hash): {i / a:.1f}x")
        print(json.dumps({"bench": "import_large", "format": args.format, "faces": len(faces),
                          "file_mb": round(size / 1e6, 2), "read_hash_s": round(a, 4),
                          "import_s": round(i, 3), "ratio_vs_read_hash": round(i / a, 2)}))


if __name__ == "__main__":
    main()
