"""Temporal coherence of stylization: per-frame vs exact motion vs estimated optical flow.

A moving shot (by default the sample character waving under an orbiting camera, rendered by
reskin's Blender worker with its passes; with --synthetic, two spheres with exact passes:
spin, translation, occlusion, disocclusion) is stylized three ways with the same painter:

- per-frame:  every frame painted independently (fixed seed, as a series style lock would),
- exact:      reskin's coherence, carried forward by the renderer's motion pass with
              depth + instance occlusion tests,
- farneback:  the field's baseline, carried forward by optical flow estimated from the beauty
              frames (OpenCV Farneback, forward-backward consistency as the occlusion test).

Both coherent modes share one loop (:func:`stylize_sequence`); only the correspondences differ.
The warp error of each is printed: mean |frame t+1 - frame t warped by the exact motion| over
non-occluded cast pixels (0..255). Painters: the built-in toon stylizer with per-frame grain
(stands in for a generator that invents detail per frame), and the diffusion stylizer on a tiny
random-weight pipeline built in code (no weights are downloaded).

    .venv/bin/python bench/coherence.py [--frames 12] [--size 160] [--no-diffusion] [--synthetic]

Target: exact <= 0.5 x per-frame, and exact < farneback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reskin.render.stylize import FrameSet  # noqa: E402
from reskin.render.stylize.coherence import (  # noqa: E402
    BackMap,
    Painter,
    exact_backmap,
    stylize_sequence,
    warp_error,
)
from reskin.render.stylize.synthetic import moving_shot  # noqa: E402
from reskin.render.stylize.toon import ToonStylizer  # noqa: E402
from reskin.render.stylize.warp import sample  # noqa: E402


def farneback_backmap(frames: FrameSet, background=(0.93, 0.89, 0.82)) -> BackMap:
    """Correspondences estimated from the beauty frames only (no passes)."""
    a = frames.alpha[..., None]
    rgb = frames.beauty * a + np.asarray(background, np.float32) * (1 - a)
    grey = [cv2.cvtColor((np.clip(f, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
            for f in rgb]
    h, w = grey[0].shape
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    grid = np.stack([xs, ys], -1)

    def flow(a_img: np.ndarray, b_img: np.ndarray) -> np.ndarray:
        return cv2.calcOpticalFlowFarneback(a_img, b_img, None, pyr_scale=0.5, levels=3,
                                            winsize=9, iterations=5, poly_n=5, poly_sigma=1.1,
                                            flags=0)

    def backmap(t: int) -> tuple[np.ndarray, np.ndarray]:
        back = flow(grey[t + 1], grey[t])  # pixel of t+1 -> its position in t
        fwd = flow(grey[t], grey[t + 1])
        src = grid + back
        fwd_at_src, ok = sample(fwd, src)
        # The usual occlusion test without passes: forward and backward flow must cancel.
        valid = ok & (np.linalg.norm(back + fwd_at_src, axis=-1) < 1.0)
        return src, valid

    return backmap


def run_three(name: str, frames: FrameSet, paint: Painter) -> dict[str, float]:
    n = len(frames)
    modes = {
        "per-frame": (None, None),
        "exact": (exact_backmap(frames), frames.instance),
        "farneback": (farneback_backmap(frames), None),
    }
    errors = {}
    for mode, (backmap, labels) in modes.items():
        t0 = time.perf_counter()
        out = stylize_sequence(n, paint, backmap, labels)
        dt = time.perf_counter() - t0
        errors[mode] = warp_error(out, frames)
        print(f"  {name:<10} {mode:<10} warp error {errors[mode]:7.3f}   ({dt:6.2f} s)")
    pf, ex, fb = errors["per-frame"], errors["exact"], errors["farneback"]
    print(f"  {name:<10} exact / per-frame = {ex / pf:.3f} (target <= 0.5)   "
          f"exact / farneback = {ex / fb:.3f} (target < 1)")
    return errors


def toon_painter(frames: FrameSet, grain: float = 0.08, seed: int = 0) -> Painter:
    """Toon shading plus per-frame screen-space grain: detail that is re-invented each frame."""
    toon = ToonStylizer()
    base = toon.stylize(frames).astype(np.float32) / 255.0
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, grain, base.shape).astype(np.float32)

    def paint(t: int, known, keep) -> np.ndarray:
        return np.clip(base[t] + noise[t], 0, 1)

    return paint


def diffusion_painter(frames: FrameSet, workdir: Path, steps: int, strength: float) -> Painter:
    import torch

    from reskin.render.stylize.diffusion import ControlSpec, DiffusionSettings, DiffusionStylizer
    from tests.render.stylize.tiny_pipeline import build_tiny_models

    torch.set_num_threads(1)
    model, nets = build_tiny_models(workdir, controls=("depth", "lineart"))
    st = DiffusionStylizer(DiffusionSettings(
        model=model, controlnets=(ControlSpec("depth", nets["depth"]),
                                  ControlSpec("lineart", nets["lineart"], 0.8)),
        prompt="ink and watercolour", seed=7, strength=strength, guidance=3.0, steps=steps))
    return st.painter(frames)


RENDER_SERIES = """\
name: coherence
resolution: [{w}, {h}]
fps: 8
render: {{engine: cycles, samples: 16}}
style: {{stylizer: none}}
"""
RENDER_EPISODE = """\
shots:
  - id: wave
    duration: {seconds}
    cast: [{{character: mira, clip: wave, facing: 15}}]
    camera: {{framing: medium, move: orbit, amount: 20}}
"""


def rendered_shot(frames: int, size: int) -> FrameSet:
    """The sample character waving under an orbiting camera, rendered by reskin's Blender
    worker at ``size`` pixels high; returns its frames and passes."""
    import json
    import shutil

    from reskin.pipeline.build import build
    from reskin.pipeline.inputs import load_frameset
    from reskin.pipeline.series_init import create_demo

    w = (size * 9 // 16) // 2 * 2
    root = create_demo(Path(tempfile.mkdtemp(prefix="reskin-coherence-")) / "s")
    (root / "series.yaml").write_text(RENDER_SERIES.format(w=w, h=size))
    shutil.rmtree(root / "episodes")
    (root / "episodes").mkdir()
    (root / "episodes" / "ep01.yaml").write_text(RENDER_EPISODE.format(seconds=frames / 8))
    build(root)
    (folder,) = (root / ".reskin" / "cache" / "render").iterdir()
    return load_frameset(folder, json.loads((folder / "done.json").read_text())["plan"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--strength", type=float, default=0.6)
    ap.add_argument("--no-diffusion", action="store_true")
    ap.add_argument("--synthetic", action="store_true",
                    help="Use the synthetic two-sphere shot instead of a Blender render.")
    args = ap.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    if args.synthetic:
        frames = moving_shot(args.frames, (args.size, args.size))
        print(f"synthetic shot: {args.frames} frames, {args.size}x{args.size}, exact passes")
    else:
        frames = rendered_shot(args.frames, args.size)
        print(f"rendered shot (Blender, Cycles): {args.frames} frames, "
              f"{frames.beauty.shape[2]}x{frames.beauty.shape[1]}, the renderer's passes")
    print(f"  beauty itself: warp error {warp_error(frames.beauty, frames):.3f} "
          "(view-fixed shading on spinning texture)")
    figures = {"bench": "coherence", "frames": args.frames, "size": args.size}
    figures["toon+grain"] = run_three("toon+grain", frames, toon_painter(frames))
    figures["toon"] = run_three("toon", frames, lambda t, k, m: ToonStylizer().stylize(
        FrameSet(beauty=frames.beauty[t:t + 1], alpha=frames.alpha[t:t + 1]))[0] / 255.0)
    if not args.no_diffusion:
        with tempfile.TemporaryDirectory() as tmp:
            paint = diffusion_painter(frames, Path(tmp), args.steps, args.strength)
            figures["diffusion"] = run_three("diffusion", frames, paint)
    for name in ("toon+grain", "toon", "diffusion"):
        if name in figures:
            e = figures[name]
            e["exact_over_per_frame"] = e["exact"] / e["per-frame"]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
