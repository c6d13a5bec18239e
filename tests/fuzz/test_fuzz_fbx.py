"""FBX hostile input, kept cheap (each mutant is converted by Blender): a few seeded mutants of
a small FBX, each refused in one line or imported with an export of 0 validator errors."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from reskin.assets.gltf.validate import errors_of, validate_many
from tests.fuzz.harness import Tally, run_one
from tests.fuzz.mutate import mutate_bytes

MAKER = Path(__file__).resolve().parents[1] / "pipeline" / "make_fbx.py"
SEEDS = range(3)


def test_fbx_mutants(tmp_path):
    from reskin.assets.importer import ImportOptions
    from reskin.pipeline.foreign import prepare_foreign

    subprocess.run([sys.executable, str(MAKER), str(tmp_path)], check=True, capture_output=True)
    data = (tmp_path / "hero.fbx").read_bytes()
    tally, accepted = Tally(), []
    for seed in SEEDS:
        path = tmp_path / f"m{seed}.fbx"
        path.write_bytes(mutate_bytes(data, random.Random(seed)))
        out = run_one(seed, lambda p=path: prepare_foreign(p, ImportOptions()).blobs["model.glb"],
                      120)
        tally.add(out)
        if out.kind == "accepted":
            accepted.append(out.value)
    assert not tally.bad, tally.failure_text("FBX mutants")
    assert all(errors_of(r) == [] for r in validate_many(accepted))
