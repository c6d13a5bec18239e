"""Skinning throughput: reskin's LBS (numpy, torch) against Blender's armature, same run.

A generated character of ~50k vertices is rigged with the canonical skeleton, every bone split
in three (63 joints, as a rig with twist and helper bones has), weighted by reskin's bone heat,
and given a 1,000-frame clip that moves every joint. The same GLB is evaluated by Blender
(depsgraph per frame, evaluated vertex positions read back) in a subprocess.

    .venv/bin/python bench/skinning.py [--frames 1000] [--voxels 245]


Throughput is vertices x frames per second; the ratio is reskin's over Blender's. With morphs:
65 face-like targets on the head (each a smooth patch of ~30 % of the head's vertices, as the
shared avatars' expressions are), all weights animated per frame, beside the same path without.
The last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
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
from reskin.rigging.influence_groups import group_influences
from reskin.rigging.morphs import MorphTargets, morph_targets
from reskin.rigging.procedural_clips import axis_angle
from reskin.rigging.skinning import lbs_many, skin_torch, skinning_operator
from reskin.rigging.skinning_fast import (
    Skinner,
    compact_influences,
    dqs_fast,
    has_numba,
    lbs_fast,
)
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


def face_targets(v: np.ndarray, height: float, k: int = 65) -> MorphTargets:
    """``k`` smooth local targets on the head (vertices above 87 % of the height)."""
    rng = np.random.default_rng(11)
    head = np.flatnonzero(v[:, 1] > 0.87 * height)
    deltas = np.zeros((k, len(v), 3))
    radius = 0.06 * height
    for t in range(k):
        centre = v[rng.choice(head)]
        d = np.linalg.norm(v[head] - centre, axis=1)
        falloff = np.clip(1 - d / radius, 0, None) ** 2
        deltas[t, head] = falloff[:, None] * rng.normal(scale=0.005, size=3)
    return morph_targets(deltas)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--voxels", type=int, default=245, help="generator resolution (~50k verts)")
    ap.add_argument("--no-blender", action="store_true", help="skip the Blender anchor")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each fast path (median)")
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
    morphs = face_targets(v, mesh.height)
    mw = np.random.default_rng(5).random((f, morphs.count)) * 0.5
    print(f"morphs: {morphs.count} targets on {len(morphs.index)} vertices, "
          f"{morphs.deltas.nnz // 3} vertex deltas")
    morphed: dict[str, float] = {}  # the same paths with the morphs applied first
    for label, dtype in (("numpy float64", np.float64), ("numpy float32", np.float32)):
        t0 = time.perf_counter()
        posed = lbs_many(op, mats, dtype)
        results[label] = t_fk + time.perf_counter() - t0
        t0 = time.perf_counter()
        posed_m = lbs_many(op, mats, dtype, morphs=morphs, morph_weights=mw)
        morphed[label] = t_fk + time.perf_counter() - t0
    # Before torch: its idle OpenMP threads spin for a while and would starve numba's.
    fast, fast_check = fast_paths(v, jn, w, mats, morphs, mw, posed, posed_m, args.repeat)
    try:
        import torch

        for threads in (1, 2):
            torch.set_num_threads(threads)
            label = f"torch float32 ({threads} thread{'s' * (threads > 1)})"
            t0 = time.perf_counter()
            posed_t = skin_torch(v, jn, w, mats).numpy()
            results[label] = t_fk + time.perf_counter() - t0
            t0 = time.perf_counter()
            posed_tm = skin_torch(v, jn, w, mats, morphs=morphs, morph_weights=mw).numpy()
            morphed[label] = t_fk + time.perf_counter() - t0
        assert np.abs(posed_t - posed).max() < 1e-3 * mesh.height
        assert np.abs(posed_tm - posed_m).max() < 1e-3 * mesh.height
    except ImportError:
        print("torch not installed: torch path skipped")
    assert np.abs(posed_m - posed).max() > 1e-3 * mesh.height  # the morphs do move it

    t0 = time.perf_counter()
    joints8, weights8 = bind_weights(mesh.vertices, mesh.faces, skeleton, 8)
    print(f"bind_weights with 8 influences {time.perf_counter() - t0:.1f} s")
    inf8 = compact_influences(joints8[src], weights8[src], j)
    out = np.empty((f, n, 3), np.float32)
    fast["lbs8_batch"] = median_rate(lambda: lbs_fast(v, None, None, mats, influences=inf8,
                                                      out=out), n * f, args.repeat)
    fast["lbs8_single_frames"] = single_frames(Skinner(v, inf8).lbs, mats, n, args.repeat)
    print(f"numba LBS 8 influences, batch: {fast['lbs8_batch']:12.3e} vertex-frames/s, "
          f"single frames {fast['lbs8_single_frames']:12.3e}")

    anchors = {"lbs4": float("nan"), "dqs4": float("nan"), "lbs8": float("nan")}
    if not args.no_blender:
        with tempfile.TemporaryDirectory() as tmp:
            for key, (jj, ww, volume) in {"lbs4": (joints, weights, False),
                                          "dqs4": (joints, weights, True),
                                          "lbs8": (joints8, weights8, False)}.items():
                glb = Path(tmp) / f"bench_{key}.glb"
                glb.write_bytes(write_character_glb(mesh, skeleton, jj, ww, name="bench",
                                                    clips=[clip]))
                ref = blender_rig_eval("time", glb, fps=clip.fps, clip=clip.name,
                                       frames=list(range(f)), preserve_volume=volume)
                assert int(ref["vertices"]) == n, (int(ref["vertices"]), n)
                anchors[key] = n * f / float(ref["seconds"])
                print(f"Blender armature {key} (depsgraph per frame): "
                      f"{float(ref['seconds']):7.2f} s {anchors[key]:12.3e} vertex-frames/s")
    blender = anchors["lbs4"]
    figures: dict[str, object] = {"vertices": n, "frames": f, "joints": j,
                                  "morph_targets": morphs.count,
                                  "blender_vertex_frames_per_s": blender}
    for label, seconds in results.items():
        rate, rate_m = n * f / seconds, n * f / morphed[label]
        print(f"reskin LBS {label:24s}: {seconds:7.2f} s {rate:12.3e} vertex-frames/s "
              f"{rate / blender:6.2f}x | with morphs {morphed[label]:7.2f} s {rate_m:12.3e} "
              f"{rate_m / blender:6.2f}x ({rate_m / rate:.0%} of without)")
        key = label.replace(" ", "_").replace("(", "").replace(")", "")
        figures[key] = {"vertex_frames_per_s": rate, "with_morphs": rate_m,
                        "ratio_vs_blender": rate / blender, "morphs_vs_without": rate_m / rate}
    print("(reskin times include forward kinematics of all frames: "
          f"{t_fk:.2f} s; Blender's include its F-curve and pose evaluation)")
    ratios = {}
    for key, rate in fast.items():
        anchor = anchors["dqs4" if key.startswith("dqs") else
                         "lbs8" if key.startswith("lbs8") else "lbs4"]
        ratios[key] = rate / anchor
        print(f"numba {key:22s}: {rate:12.3e} vertex-frames/s {ratios[key]:6.2f}x Blender")
    runs = group_influences(v, compact_influences(jn, w, j).index,
                            compact_influences(jn, w, j).weight, np.zeros(n, np.int32))
    print(f"joint-set runs: {0 if runs is None else runs.count} (4 influences; None: per-vertex"
          " kernels)")
    figures["joint_set_runs"] = None if runs is None else runs.count
    figures["numba"] = {"available": has_numba(), "max_abs_diff_vs_reference": fast_check,
                        "vertex_frames_per_s": fast, "ratio_vs_blender": ratios,
                        "blender_anchors": anchors}
    figures["bench"] = "skinning"
    figures["ratio_vs_blender"] = ratios.get("lbs4_batch", float("nan"))
    print(json.dumps(figures))


def median_rate(fn, work: int, repeat: int) -> float:  # noqa: ANN001
    """Median vertex-frames per second of ``repeat`` calls of ``fn`` (after one warm call)."""
    fn()  # compile (cached on disk after the first run) and warm the thread pool
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return work / float(np.median(times))


def single_frames(skin, mats: np.ndarray, n: int, repeat: int) -> float:  # noqa: ANN001
    """Vertex-frames/s of ``skin`` (a Skinner's lbs or dqs) called on every 10th frame alone,
    into one reused (1, n, 3) output."""
    one = np.empty((1, n, 3), np.float32)
    picks = range(0, len(mats), 10)
    return median_rate(lambda: [skin(mats[i : i + 1], out=one) for i in picks],
                       n * len(picks), repeat)


def fast_paths(v, jn, w, mats, morphs, mw, posed, posed_m, repeat):  # noqa: ANN001, ANN201
    """Rates of the numba paths (LBS batch, single frames, with morphs, DQS) and their largest
    difference from the reference float32 results."""
    n, f, j = len(v), len(mats), mats.shape[1]
    inf = compact_influences(jn, w, j)
    # One output buffer reused, as Blender reuses its evaluated mesh and the bench's read-back
    # array: first-touch page faults of a fresh (f, n, 3) array are not skinning.
    out = np.empty((f, n, 3), np.float32)
    one = np.empty((1, n, 3), np.float32)
    skinner = Skinner(v, inf)
    rates = {
        "lbs4_batch": median_rate(lambda: lbs_fast(v, None, None, mats, influences=inf,
                                                   out=out), n * f, repeat),
        # One frame per call, as a viewport or the preview asks: a Skinner made once per
        # mesh (its float32 layout), a (1, n, 3) output reused.
        "lbs4_single_frames": single_frames(skinner.lbs, mats, n, repeat),
        "dqs4_single_frames": single_frames(skinner.dqs, mats, n, repeat),
        "lbs4_single_frames_lbs_fast": median_rate(
            lambda: [lbs_fast(v, None, None, mats[i : i + 1], influences=inf, out=one)
                     for i in range(0, f, 10)], n * len(range(0, f, 10)), repeat),
        "lbs4_batch_morphs": median_rate(
            lambda: lbs_fast(v, None, None, mats, influences=inf, morphs=morphs,
                             morph_weights=mw, out=out), n * f, repeat),
        "dqs4_batch": median_rate(lambda: dqs_fast(v, None, None, mats, influences=inf,
                                                   out=out), n * f, repeat),
        "lbs4_batch_fresh_output": median_rate(
            lambda: lbs_fast(v, None, None, mats, influences=inf), n * f, repeat),
    }
    check = max(float(np.abs(lbs_fast(v, None, None, mats, influences=inf) - posed).max()),
                float(np.abs(lbs_fast(v, None, None, mats, influences=inf, morphs=morphs,
                                      morph_weights=mw) - posed_m).max()))
    return rates, check


if __name__ == "__main__":
    main()
