"""Skinning throughput: reskin's LBS (numpy, torch) against Blender's armature, same run.

A generated character of ~50k vertices is rigged with the canonical skeleton, every bone split
in three (63 joints, as a rig with twist and helper bones has), weighted by reskin's bone heat,
and given a 1,000-frame clip that moves every joint. The same GLB is evaluated by Blender
(depsgraph per frame, evaluated vertex positions read back) in a subprocess.

    .venv/bin/python bench/skinning.py [--frames 1000] [--voxels 245]


Throughput is vertices x frames per second; the ratio is reskin's over Blender's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from reskin.assets.generator import HumanoidParams, generate_humanoid
from reskin.assets.gltf.character import write_character_glb
from reskin.core.clip import Clip
from reskin.core.skeleton import Skeleton, forward_kinematics, skinning_matrices
from reskin.rigging.blender_ref import blender_rig_eval
from reskin.rigging.fit import fit_skeleton
from reskin.rigging.procedural_clips import axis_angle
from reskin.rigging.skinning import lbs_many, skin_torch, skinning_operator
from reskin.rigging.weights import bind_weights


def split_bones(skeleton: Skeleton, parts: int = 3) -> Skeleton:
    """Every bone head -> tail cut into ``parts`` chained joints (children hang off the last)."""
    names, parents, heads, tails = [], [], [], []
    last: dict[int, int] = {}  # original joint -> index of its last segment
    for i, name in enumerate(skeleton.names):
        h, t = skeleton.heads[i].astype(np.float64), skeleton.tails[i].astype(np.float64)
        p = skeleton.parents[i]
        for s in range(parts):
            parents.append(-1 if (s == 0 and p < 0) else (last[p] if s == 0 else len(names) - 1))
            names.append(name if s == 0 else f"{name}.{s}")
            heads.append(h + (t - h) * s / parts)
            tails.append(h + (t - h) * (s + 1) / parts)
        last[i] = len(names) - 1
    return Skeleton(tuple(names), np.array(parents, np.int32), np.array(heads, np.float32),
                    np.array(tails, np.float32))


def busy_clip(skeleton: Skeleton, frames: int, fps: float = 30.0) -> Clip:
    """Every joint swings about its own random axis by up to 25 degrees; the root walks."""
    rng = np.random.default_rng(7)
    t = np.arange(frames) / fps
    rot = np.empty((frames, len(skeleton.names), 4))
    for j in range(len(skeleton.names)):
        angle = np.radians(25) * np.sin(2 * np.pi * t / rng.uniform(0.7, 3.0) + rng.uniform(0, 6))
        rot[:, j] = axis_angle(tuple(rng.normal(size=3)), angle)
    root = np.repeat(skeleton.heads[:1].astype(np.float64), frames, 0)
    root[:, 2] += 0.5 * t
    return Clip("busy", fps, skeleton.names, rot.astype(np.float32), root.astype(np.float32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--voxels", type=int, default=245, help="generator resolution (~50k verts)")
    args = ap.parse_args()

    mesh = generate_humanoid(HumanoidParams(voxels_per_height=args.voxels))
    skeleton = split_bones(fit_skeleton(mesh))
    t0 = time.perf_counter()
    joints, weights = bind_weights(mesh.vertices, mesh.faces, skeleton)
    t_bind = time.perf_counter() - t0
    clip = busy_clip(skeleton, args.frames)
    # Pose the GLB's own vertices (split at UV seams), the ones Blender deforms.
    src, _, _ = mesh.split_for_export()
    v, jn, w = mesh.vertices[src], joints[src], weights[src]
    n, f, j = len(v), clip.frames, len(skeleton.names)
    print(f"character: {n} vertices, {j} joints, {f} frames; bind_weights {t_bind:.1f} s")

    results: dict[str, float] = {}
    t0 = time.perf_counter()
    mats = skinning_matrices(skeleton, forward_kinematics(skeleton, clip.rotations,
                                                          clip.root_translation))
    t_fk = time.perf_counter() - t0
    op = skinning_operator(v, jn, w, j)
    for label, dtype in (("numpy float64", np.float64), ("numpy float32", np.float32)):
        t0 = time.perf_counter()
        posed = lbs_many(op, mats, dtype)
        results[label] = t_fk + time.perf_counter() - t0
    try:
        import torch

        for threads in (1, 2):
            torch.set_num_threads(threads)
            t0 = time.perf_counter()
            posed_t = skin_torch(v, jn, w, mats).numpy()
            results[f"torch float32 ({threads} thread{'s' * (threads > 1)})"] = (
                t_fk + time.perf_counter() - t0)
        assert np.abs(posed_t - posed).max() < 1e-3 * mesh.height
    except ImportError:
        print("torch not installed: torch path skipped")

    with tempfile.TemporaryDirectory() as tmp:
        glb = Path(tmp) / "bench.glb"
        glb.write_bytes(write_character_glb(mesh, skeleton, joints, weights, name="bench",
                                            clips=[clip]))
        ref = blender_rig_eval("time", glb, fps=clip.fps, clip=clip.name, frames=list(range(f)))
    assert int(ref["vertices"]) == n, (int(ref["vertices"]), n)
    blender = n * f / float(ref["seconds"])
    print(f"Blender armature (depsgraph per frame): {float(ref['seconds']):7.2f} s "
          f"{blender:12.3e} vertex-frames/s   1.00x")
    for label, seconds in results.items():
        rate = n * f / seconds
        print(f"reskin LBS {label:24s}: {seconds:7.2f} s {rate:12.3e} vertex-frames/s "
              f"{rate / blender:6.2f}x")
    print("(reskin times include forward kinematics of all frames: "
          f"{t_fk:.2f} s; Blender's include its F-curve and pose evaluation)")


if __name__ == "__main__":
    main()
