"""Temporal coherence of what the build delivers: its own stylize step on shots it renders.

The sample series (shrunk to a small resolution) is built with reskin's Blender worker, plus a
harder shot: a fast pan while two characters walk past each other. Each rendered shot is then
stylized by the build's own stylize step (``Builder.stylize`` with a named style) for each
stylizer, with and without carrying frames along the motion pass:

- toon / toon-none:            the built-in stylizer, coherence exact / none,
- diffusion / diffusion-none:  the diffusion stylizer on a tiny random-weight model built in
                               code (no weights are downloaded), coherence exact / none.

The evaluator here shares no code with the stylizers: frame t + 1 is sampled bilinearly at
p + motion_t(p) for every cast pixel p of frame t and compared with frame t at p; a pixel
counts only when all four taps show the same cast member and lie within 10 % (+3 cm) of its
depth (occlusion test). The figure is the mean absolute difference (0..255) over counted
pixels, reported per stylizer as a ratio to the render's own figure (the beauty over the
style's backdrop, the same evaluator).

    .venv/bin/python bench/coherence.py [--height 128] [--no-diffusion] [--keep DIR [--reuse]]

``--reuse`` with ``--keep``: when DIR already holds a rendered series, skip the build and
re-stylize its renders (to iterate on a stylizer without re-rendering).

Targets: toon <= 1.1 x the render's, diffusion <= 1.3 x, each below its per-frame version.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WALK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "bvh" / "cmu_12_03_walk.bvh"
BACKDROP = "#efe3cf"
HARD_SHOT = """\
  - id: s03-crossing
    duration: {seconds}
    cast:
      - character: mira
        position: [-0.9, 0.3]
        actions: [{{do: walk, to: [0.9, 0.3], speed: 1.2}}]
      - character: theo
        position: [0.9, -0.3]
        actions: [{{do: walk, to: [-0.9, -0.3], speed: 1.2}}]
    camera: {{framing: two-shot, move: orbit, amount: 40}}
    lights: three-point
"""


def delivered_warp_error(images: np.ndarray, motion: np.ndarray, depth: np.ndarray,
                         instance: np.ndarray) -> tuple[float, int]:
    """(mean |I_{t+1}(p + m_t(p)) - I_t(p)| over counted cast pixels, how many counted).

    images (f, h, w, 3) 0..255; motion (f, h, w, 2) forward px (y down); depth (f, h, w) m;
    instance (f, h, w) ids (0: background). Written apart from the stylizers' warping."""
    img = images.astype(np.float64)
    f, h, w = instance.shape
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    total, count = 0.0, 0
    for t in range(f - 1):
        qx = xx + motion[t, ..., 0].astype(np.float64)
        qy = yy + motion[t, ..., 1].astype(np.float64)
        x0 = np.floor(np.nan_to_num(qx, nan=-9)).astype(np.int64)
        y0 = np.floor(np.nan_to_num(qy, nan=-9)).astype(np.int64)
        ok = (x0 >= 0) & (y0 >= 0) & (x0 + 1 < w) & (y0 + 1 < h) & (instance[t] > 0)
        x0 = np.clip(x0, 0, w - 2)
        y0 = np.clip(y0, 0, h - 2)
        fx = (qx - x0)[..., None]
        fy = (qy - y0)[..., None]
        d0 = depth[t].astype(np.float64)
        for dy in (0, 1):
            for dx in (0, 1):
                ok &= instance[t + 1][y0 + dy, x0 + dx] == instance[t]
                d1 = depth[t + 1][y0 + dy, x0 + dx].astype(np.float64)
                with np.errstate(invalid="ignore"):
                    ok &= np.abs(d1 - d0) <= 0.1 * d0 + 0.03
        nxt = img[t + 1]
        val = (nxt[y0, x0] * (1 - fx) * (1 - fy) + nxt[y0, x0 + 1] * fx * (1 - fy)
               + nxt[y0 + 1, x0] * (1 - fx) * fy + nxt[y0 + 1, x0 + 1] * fx * fy)
        diff = np.abs(val - img[t]).mean(-1)
        total += float(diff[ok].sum())
        count += int(ok.sum())
    return total / max(count, 1), count


class _Plan:
    """The parts of a ShotPlan the build's stylize step reads, from a render cache entry."""

    def __init__(self, plan: dict, key: str):
        self._plan, self.key = plan, key
        self.frame_count = plan["frame_count"]
        self.name = plan.get("name", key[:8])

    def to_dict(self) -> dict:
        return self._plan


def make_series(root: Path, height: int, seconds: float) -> Path:
    """The sample series at ``height`` px high (9:16) with the crossing shot added to ep02."""
    from click.testing import CliRunner

    from reskin.cli import main
    from reskin.pipeline.series_init import create_demo

    create_demo(root)
    width = (height * 9 // 16) // 2 * 2
    text = (root / "series.yaml").read_text()
    text = text.replace("resolution: [360, 640]", f"resolution: [{width}, {height}]")
    (root / "series.yaml").write_text(text)
    ep = root / "episodes" / "ep02.yaml"
    ep.write_text(ep.read_text().rstrip("\n") + "\n" + HARD_SHOT.format(seconds=seconds))
    result = CliRunner().invoke(main, ["clip", "import", str(WALK), "--name", "walk", "-s",
                                       str(root)])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return root


def write_styles(root: Path, diffusion: bool) -> list[str]:
    styles = root / "styles"
    styles.mkdir(exist_ok=True)
    names = []
    for coherence in ("exact", "none"):
        name = "toon" if coherence == "exact" else "toon-none"
        (styles / f"{name}.yaml").write_text(
            f"stylizer: toon\nbackground: '{BACKDROP}'\nlevels: 4\ncoherence: {coherence}\n")
        names.append(name)
    if diffusion:
        from tests.render.stylize.tiny_pipeline import build_tiny_models

        model, nets = build_tiny_models(root / "models", controls=("depth", "lineart"))
        for coherence in ("exact", "none"):
            name = "diffusion" if coherence == "exact" else "diffusion-none"
            (styles / f"{name}.yaml").write_text(f"""\
stylizer: diffusion
background: '{BACKDROP}'
model: {model}
controlnets:
  - {{kind: depth, path: {nets['depth']}, scale: 1.0}}
  - {{kind: lineart, path: {nets['lineart']}, scale: 0.8}}
prompt: ink and watercolour
seed: 7
strength: 0.6
guidance: 3.0
steps: 10
coherence: {coherence}
refresh: 8
""")
            names.append(name)
    return names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--crossing-seconds", type=float, default=1.5)
    ap.add_argument("--no-diffusion", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="Build the series here (kept).")
    ap.add_argument("--reuse", action="store_true",
                    help="With --keep: use the renders already there instead of building.")
    args = ap.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    if not args.no_diffusion:
        import torch

        torch.set_num_threads(1)
    from PIL import Image

    from reskin.pipeline.build import Builder, build
    from reskin.pipeline.cache import StepCache
    from reskin.pipeline.context import BuildContext
    from reskin.pipeline.inputs import load_frameset

    work = args.keep or Path(tempfile.mkdtemp(prefix="reskin-coherence-"))
    root = work / "series"
    if not (root / "series.yaml").exists():
        make_series(root, args.height, args.crossing_seconds)
    names = write_styles(root, not args.no_diffusion)
    renders = root / ".reskin" / "cache" / "render"
    if args.reuse and args.keep is not None and any(
            (f / "done.json").exists() for f in renders.glob("*")):
        print(f"reusing the renders in {renders}")
    else:
        t0 = time.perf_counter()
        build(root)  # renders every shot (and delivers the series' own toon style)
        print(f"built the sample series + crossing shot at {args.height} px high "
              f"in {time.perf_counter() - t0:.0f} s")
    bg = np.array([int(BACKDROP[i:i + 2], 16) for i in (1, 3, 5)], np.float64)
    shots = []
    for folder in sorted(f for f in renders.iterdir() if (f / "done.json").exists()):
        plan = json.loads((folder / "done.json").read_text())["plan"]
        shots.append((_Plan(plan, folder.name), folder))
    rows: dict[str, dict] = {}
    for shot, folder in shots:
        frames = load_frameset(folder, shot.to_dict())
        a = frames.alpha[..., None].astype(np.float64)
        render = frames.beauty * 255.0 * a + bg * (1 - a)
        r, n = delivered_warp_error(render, frames.motion, frames.depth, frames.instance)
        rows[shot.name] = {"render": r, "pixels": n}
    for name in names:
        with BuildContext.open(root, style=name) as ctx, Builder(ctx) as builder:
            for shot, folder in shots:
                rendered = StepCache(ctx.cache_root, "render", shot.key, "beauty",
                                     shot.frame_count)
                t0 = time.perf_counter()
                cache, _ = builder.stylize(shot, rendered)
                dt = time.perf_counter() - t0
                styled = np.stack([np.asarray(Image.open(p).convert("RGB"))
                                   for p in cache.frames])
                frames = load_frameset(folder, shot.to_dict())
                e, _ = delivered_warp_error(styled, frames.motion, frames.depth,
                                            frames.instance)
                row = rows[shot.name]
                row[name] = e
                print(f"  {shot.name:<18} {name:<15} warp error {e:6.3f}  render "
                      f"{row['render']:6.3f}  ratio {e / row['render']:5.3f}  ({dt:5.1f} s)",
                      flush=True)
    summary = {}
    for name in names:
        # Pooled over every counted pixel of every shot: big shots weigh more.
        num = sum(r[name] * r["pixels"] for r in rows.values())
        den = sum(r["render"] * r["pixels"] for r in rows.values())
        summary[name] = {"over_render": num / den,
                         "per_shot": {s: r[name] / r["render"] for s, r in rows.items()}}
    targets = {"toon": 1.1, "diffusion": 1.3}
    for name, limit in targets.items():
        if name in summary:
            s = summary[name]
            s["target"] = limit
            s["below_per_frame"] = s["over_render"] < summary[f"{name}-none"]["over_render"]
            s["ok"] = s["over_render"] <= limit and s["below_per_frame"]
            print(f"{name}: {s['over_render']:.3f} x the render (target <= {limit}); "
                  f"per frame {summary[f'{name}-none']['over_render']:.3f} x")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    height = shots[0][0].to_dict().get("height", args.height) if shots else args.height
    print(json.dumps({"bench": "coherence", "height": height, "shots": list(rows),
                      "render_warp_error": {s: r["render"] for s, r in rows.items()},
                      "stylizers": summary}))


if __name__ == "__main__":
    main()
