"""Skin-weight quality against artists' weights, reskin next to Blender's automatic weights.

For each skinned character in ../shared/data/gltf: drop its weights, compute reskin's bone-heat
weights on its own skeleton (bind space, from its inverse bind matrices), play all its own
animations with the artist's weights and with ours, and measure every vertex's distance from
the artist-weighted result as a fraction of the model's height (rest pose, world +Y). The same
for Blender's ``ARMATURE_AUTO`` weights, computed by bpy in a subprocess on the same GLB
(vertices merged by distance first, so Blender's heat can cross UV seams too).

Beside it, the joint fit on the avatars of ../shared/data/avatars stripped to a static textured
mesh (as a 3D generator delivers it: tests/rigging/strip_rig.py), imported and rigged exactly as
`reskin rig` does (import_file into a temporary library, then rig_asset): each fitted joint's
distance from the artist's joint of the same name (names.py's Mixamo map; spine, chest and neck
on height and side only), as a share of the height. The last line is one JSON object of all the
figures.

    .venv/bin/python bench/rig_quality.py [--models Fox ...] [--influences 4] [--no-blender]
        [--avatars NAME ...] [--no-fit] [--no-weights]

"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from reskin.rigging.bones import rig_weights
from reskin.rigging.gltf_rig import GltfRig, load_gltf_rig
from reskin.rigging.quality import blender_auto_weights, model_height, weight_deviation

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "gltf"
AVATARS = ROOT / ".." / "shared" / "data" / "avatars"
MODELS = ("RiggedFigure", "CesiumMan", "Fox", "greenman")


def reskin_weights(rig: GltfRig, k: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """reskin's weights on the rig's own skeleton: joints (n, k), weights (n, k), deforms (j,)."""
    joints, weights, deforms = rig_weights(
        rig.vertices, rig.faces, rig.bind_matrices, rig.joint_parents, rig.joint_names, k)
    return joints.astype(np.int64), weights.astype(np.float64), deforms


def avatar_fit(glb: Path) -> dict:
    """Strip ``glb`` to a static mesh, import and rig it as `reskin rig` does, and score the
    fitted joints against the artist's: {"errors": {joint: share of height}, "mean", "worst",
    "worst_joint", "seconds" (rig_asset), "confidence": {joint: value}}."""
    sys.path.insert(0, str(ROOT))
    from reskin.assets.arrays import unpack_arrays
    from reskin.assets.importer import ImportOptions, import_file
    from reskin.assets.library import Library
    from reskin.assets.normalize import apply
    from reskin.core.skeleton import Skeleton
    from reskin.rigging.names import map_to_canonical
    from reskin.rigging.quality import joint_errors
    from reskin.rigging.rig_job import rig_asset
    from tests.rigging.strip_rig import strip_rig

    with tempfile.TemporaryDirectory() as tmp:
        static = Path(tmp) / f"{glb.stem}_static.glb"
        artist = strip_rig(glb, static)
        root = Path(tmp) / ".reskin"
        Library(root, create=True).close()
        rec, _ = import_file(root, static, "avatar", ImportOptions(kind="character"))
        matrix = np.array(rec.provenance["normalization"]["matrix"])
        with Library(root) as lib:
            t0 = time.perf_counter()
            result = rig_asset(lib, "avatar")
            seconds = time.perf_counter() - t0
            skeleton = Skeleton.from_arrays(unpack_arrays(lib.read_blob(
                result.record.blobs["rig.npz"])))
    ref = {c: apply(matrix, artist[s][None])[0]
           for c, s in map_to_canonical(list(artist), "mixamo").items()}
    errors = joint_errors({n: skeleton.heads[i] for i, n in enumerate(skeleton.names)}, ref,
                          float(rec.meta["height"]))
    worst = max(errors, key=lambda n: errors[n])
    return {"errors": errors, "mean": float(np.mean(list(errors.values()))),
            "worst": errors[worst], "worst_joint": worst, "seconds": seconds,
            "confidence": result.confidence}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--influences", type=int, default=4)
    ap.add_argument("--no-blender", action="store_true")
    ap.add_argument("--avatars", nargs="*",
                    default=sorted(p.stem for p in AVATARS.glob("*.glb")))
    ap.add_argument("--no-fit", action="store_true", help="skip the avatar joint-fit table")
    ap.add_argument("--no-weights", action="store_true", help="skip the weights table")
    ap.add_argument("--no-deform", action="store_true",
                    help="skip the avatars' deformation table (bench/rig_weights.py)")
    args = ap.parse_args()
    figures: dict = {"weights": {}, "fit": {}, "deformation": {}}
    if not args.no_weights:
        weights_table(args, figures["weights"])
    if not args.no_fit:
        print(f"\n{'avatar (stripped)':22s} {'mean':>6s} {'worst':>6s} {'worst joint':>14s} "
              f"{'rig s':>6s} {'min conf':>8s}  (% of height, fitted vs artist joints)")
        for name in args.avatars:
            r = avatar_fit(AVATARS / f"{name}.glb")
            low = min(r["confidence"].values()) if r["confidence"] else float("nan")
            print(f"{name:22s} {100 * r['mean']:6.2f} {100 * r['worst']:6.2f} "
                  f"{r['worst_joint']:>14s} {r['seconds']:6.1f} {low:8.2f}", flush=True)
            figures["fit"][name] = {
                "mean_pct": round(100 * r["mean"], 3), "worst_pct": round(100 * r["worst"], 3),
                "worst_joint": r["worst_joint"], "rig_seconds": round(r["seconds"], 2),
                "joint_pct": {k: round(100 * v, 3) for k, v in r["errors"].items()},
                "min_confidence": low}
        if figures["fit"]:
            fits = figures["fit"].values()
            figures["fit_summary"] = {
                "mean_pct": round(float(np.mean([f["mean_pct"] for f in fits])), 3),
                "worst_pct": max(f["worst_pct"] for f in fits)}
    if not args.no_deform:
        # Beside the fit: reskin's weights (through `reskin rig --recompute-weights`) on each
        # avatar's own skeleton against the artist's, as a ratio of nearest-bone weights'.
        import rig_weights

        print(f"\n{'avatar (own joints)':22s} {'reskin':>8s} {'nearest':>8s} {'ratio':>6s}"
              "  (mean deviation from the artist's weights, fraction of height)")
        for name in args.avatars:
            r = rig_weights.measure(AVATARS / f"{name}.glb", args.influences)
            print(f"{name:22s} {r['reskin_mean']:8.5f} {r['nearest_mean']:8.5f} "
                  f"{r['ratio_mean']:6.2f}", flush=True)
            figures["deformation"][name] = {k: round(r[k], 5) for k in (
                "reskin_mean", "nearest_mean", "ratio_mean", "ratio_p95")}
    print(json.dumps(figures, sort_keys=True))


def weights_table(args: argparse.Namespace, figures: dict) -> None:
    """The weights table (see the module docstring); fills ``figures`` {model: {...}}."""
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
            figures[name] = {"blender_mean": round(float(theirs.mean()), 5)}
        figures.setdefault(name, {}).update(
            {"reskin_mean": round(float(ours.mean()), 5),
             "reskin_p95": round(float(np.percentile(ours, 95)), 5)})
        print(line, flush=True)


if __name__ == "__main__":
    main()
