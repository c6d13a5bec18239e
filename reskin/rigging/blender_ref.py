"""Run Blender's rig evaluation (reskin/render/blender/rig_eval.py) in a subprocess.

Blender is the reference reskin's skinning is checked and benchmarked against; bpy is only ever
imported in that child process, so this module is cheap to import.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

_SCRIPT = Path(__file__).resolve().parents[1] / "render" / "blender" / "rig_eval.py"


def blender_rig_eval(op: str, glb: str | Path, timeout: float = 600, **request) -> dict:
    """Run ``op`` ("pose", "time" or "auto_weights") on ``glb``; returns the arrays it wrote.

    Raises RuntimeError with the tail of Blender's output when the process fails.
    """
    with tempfile.TemporaryDirectory(prefix="reskin-rig-") as tmp:
        out = Path(tmp) / "out.npz"
        req = Path(tmp) / "request.json"
        req.write_text(json.dumps({"op": op, "glb": str(glb), "out": str(out), **request}))
        proc = subprocess.run(
            [sys.executable, str(_SCRIPT), str(req)], capture_output=True, text=True,
            timeout=timeout,
        )
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stdout + proc.stderr)[-2000:]
            raise RuntimeError(f"Blender rig_eval {op!r} failed ({proc.returncode}):\n{tail}")
        with np.load(out) as data:
            return {k: data[k] for k in data.files}
