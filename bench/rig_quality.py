"""Skin-weight quality against artists' weights, reskin next to Blender's automatic weights.

For each skinned character in ../shared/data/gltf: drop its weights, compute reskin's bone-heat
weights on its own skeleton (bind space, from its inverse bind matrices), play all its own
animations with the artist's weights and with ours, and measure every vertex's distance from
the artist-weighted result as a fraction of the model's height (rest pose, world +Y). The same
for Blender's ``ARMATURE_AUTO`` weights, computed by bpy in a subprocess on the same GLB
(vertices merged by distance first, so Blender's heat can cross UV seams too).

    .venv/bin/python bench/rig_quality.py [--models Fox ...] [--influences 4] [--no-blender]

"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from reskin.rigging.bones import rig_weights
from reskin.rigging.gltf_rig import GltfRig, load_gltf_rig
from reskin.rigging.quality import blender_auto_weights, model_height, weight_deviation

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "gltf"
MODELS = ("RiggedFigure", "CesiumMan", "Fox", "greenman")


def reskin_weights(rig: GltfRig, k: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """reskin's weights on the rig's own skeleton: joints (n, k), weights (n, k), deforms (j,)."""
    joints, weights, deforms = rig_weights(
        rig.vertices, rig.faces, rig.bind_matrices, rig.joint_parents, rig.joint_names, k)
    return joints.astype(np.int64), weights.astype(np.float64), deforms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--influences", type=int, default=4)
    ap.add_argument("--no-blender", action="store_true")
    args = ap.parse_args()
    print(f"{'model':14s} {'verts':>6s} {'joints':>6s} | {'reskin mean':>11s} {'p95':>7s} "
          f"{'s':>5s} | {'Blender mean':>12s} {'p95':>7s} {'s':>5s}  (fractions of height)")
    for name in args.models:
        glb = DATA / f"{name}.glb"
        rig = load_gltf_rig(glb)
        h = model_height(rig)
        t0 = time.perf_counter()
        jn, w, _ = reskin_weights(rig, args.influences)
        t_ours = time.perf_counter() - t0
        ours = weight_deviation(rig, jn, w) / h
        line = (f"{name:14s} {len(rig.vertices):6d} {len(rig.joint_names):6d} | "
                f"{ours.mean():11.4f} {np.percentile(ours, 95):7.4f} {t_ours:5.1f} |")
        if not args.no_blender:
            t0 = time.perf_counter()
            bj, bw = blender_auto_weights(rig, glb)
            t_bl = time.perf_counter() - t0
            theirs = weight_deviation(rig, bj, bw) / h
            line += f" {theirs.mean():12.4f} {np.percentile(theirs, 95):7.4f} {t_bl:5.1f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
