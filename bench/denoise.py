"""Clean frames from few samples: quality per second of Cycles with and without denoising.

A demo frame (two characters on the set, small resolution) rendered at 512 samples without
denoising is the reference; the same frame at 4, 8, 16 and 32 samples, noisy, denoised
(OpenImageDenoise, albedo + normal guides) and denoised with adaptive sampling, is compared
with it: PSNR and SSIM of the display image (composited over the series' backdrop, 8 bit, as
the stylizer sees it), and seconds per frame (the worker's render + PNG time). The default
the demo ships with is the fastest setting whose PSNR is at least that of today's default
(32 samples, noisy).

Run: .venv/bin/python bench/denoise.py [--width 180 --height 320]
     .venv/bin/python bench/denoise.py --frame-1080   (one 1080x1920 frame at the new
     defaults, and a crop of it against a 512-sample reference of that crop)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

DEMO_DEFAULT = {"samples": 32, "denoise": False, "noise_threshold": 0.0}
"""What `reskin init` and the demo rendered with before: 32 samples, no denoiser."""


def display(png: Path, background=(0.93, 0.89, 0.82)) -> np.ndarray:
    """(h, w, 3) float64 in 0..1: the PNG over the backdrop colour."""
    from PIL import Image

    rgba = np.asarray(Image.open(png).convert("RGBA"), np.float64) / 255.0
    a = rgba[..., 3:]
    return np.round((rgba[..., :3] * a + np.asarray(background) * (1 - a)) * 255) / 255


def psnr(img: np.ndarray, ref: np.ndarray) -> float:
    mse = float(np.mean((img - ref) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def ssim(img: np.ndarray, ref: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(img, ref, channel_axis=-1, data_range=1.0))


def render(worker, shot: dict, out: Path, frame: int, **settings) -> tuple[Path, float]:
    """Render ``frame`` of ``shot`` with ``settings`` into ``out``; (PNG, seconds)."""
    reply = worker.render_shot(shot | settings | {"out_dir": str(out), "frames": [frame]})
    seconds = reply["phases"]["render"] + reply["phases"].get("png", 0.0)
    return out / f"beauty_{frame:04d}.png", seconds


def table(worker, shot: dict, tmp: Path, frame: int, sample_counts: list[int],
          ref_samples: int) -> tuple[list[dict], float]:
    """One row per (samples, denoise, adaptive) setting; and the reference's seconds."""
    ref_png, ref_s = render(worker, shot, tmp / "ref", frame, samples=ref_samples,
                            denoise=False, noise_threshold=0.0, passes=[])
    ref = display(ref_png)
    rows = []
    for n in sample_counts:
        for denoise, threshold in ((False, 0.0), (True, 0.0), (True, 0.05)):
            if threshold and n <= 8:
                continue  # adaptive sampling needs more samples than that to adapt
            name = f"{n}{'-dn' if denoise else ''}{'-ad' if threshold else ''}"
            png, s = render(worker, shot, tmp / name, frame, samples=n, denoise=denoise,
                            noise_threshold=threshold, passes=[])
            img = display(png)
            rows.append({"samples": n, "denoise": denoise, "noise_threshold": threshold,
                         "psnr": round(psnr(img, ref), 2), "ssim": round(ssim(img, ref), 4),
                         "seconds": round(s, 3)})
            print(f"{n:4d} spp  denoise {'on ' if denoise else 'off'}  adaptive "
                  f"{threshold or 'off':>4}  PSNR {rows[-1]['psnr']:6.2f} dB  SSIM "
                  f"{rows[-1]['ssim']:.4f}  {s:6.2f} s/frame", flush=True)
    return rows, ref_s


def choose(rows: list[dict]) -> dict:
    """The fastest setting at least as close to the reference as today's default."""
    today = next(r for r in rows if r["samples"] == DEMO_DEFAULT["samples"]
                 and not r["denoise"] and not r["noise_threshold"])
    good = [r for r in rows if r["psnr"] >= today["psnr"]]
    return min(good, key=lambda r: r["seconds"])


def frame_1080(worker, shot: dict, tmp: Path, frame: int, chosen: dict) -> dict:
    """One full 1080x1920 frame at the chosen defaults (seconds, cache bytes), and a crop
    (a quarter of the width and height, on the characters) at the reference, today's default
    and the chosen one, for PSNR and a same-run time ratio."""
    full = shot | {"width": 1080, "height": 1920}
    settings = {k: chosen[k] for k in ("samples", "denoise", "noise_threshold")}
    t = time.perf_counter()
    png, seconds = render(worker, full, tmp / "full", frame, **settings)
    wall = time.perf_counter() - t
    cache = sum(p.stat().st_size for p in (tmp / "full").glob(f"*_{frame:04d}.*"))
    print(f"1080x1920 frame at the chosen default: {seconds:.1f} s render ({wall:.1f} s with "
          f"passes), cache {cache / 1e6:.2f} MB")
    crop = full | {"border": [0.375, 0.25, 0.625, 0.5]}
    ref_png, ref_s = render(worker, crop, tmp / "crop-ref", frame, samples=512, denoise=False,
                            noise_threshold=0.0, passes=[])
    ref = display(ref_png)
    out = {"full_seconds": round(seconds, 2), "full_wall_seconds": round(wall, 2),
           "full_cache_bytes": cache, "crop_reference_seconds": round(ref_s, 2)}
    for name, s in (("today", DEMO_DEFAULT), ("new", settings)):
        png, sec = render(worker, crop, tmp / f"crop-{name}", frame, passes=[], **s)
        out[f"crop_{name}_psnr"] = round(psnr(display(png), ref), 2)
        out[f"crop_{name}_seconds"] = round(sec, 2)
        print(f"crop {name}: PSNR {out[f'crop_{name}_psnr']:.2f} dB, {sec:.1f} s")
    out["crop_speedup"] = round(out["crop_today_seconds"] / out["crop_new_seconds"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=180)
    ap.add_argument("--height", type=int, default=320)
    ap.add_argument("--samples", type=int, nargs="+", default=[4, 8, 16, 32])
    ap.add_argument("--reference", type=int, default=512)
    ap.add_argument("--frame-1080", action="store_true",
                    help="also render one 1080x1920 frame and a crop of it (minutes)")
    args = ap.parse_args()

    from demo_shots import demo_plans, full_shot

    from reskin.render.blender.client import BlenderWorker

    tmp = Path(tempfile.mkdtemp(prefix="reskin-denoise-"))
    ctx, plans = demo_plans(tmp, args.width, args.height, "{engine: cycles}")
    plan = full_shot(plans)
    ctx.close()
    shot = plan.to_dict()
    frame = plan.frame_count // 2
    print(f"shot {plan.name} frame {frame}: {args.width}x{args.height}, reference "
          f"{args.reference} spp")
    with BlenderWorker(tmp / "w.log") as worker:
        rows, ref_s = table(worker, shot, tmp, frame, args.samples, args.reference)
        chosen = choose(rows)
        print(f"reference: {ref_s:.2f} s/frame. Chosen default: {chosen['samples']} samples, "
              f"denoise {'on' if chosen['denoise'] else 'off'}, noise_threshold "
              f"{chosen['noise_threshold']} (the fastest at least as close to the reference "
              f"as 32 samples without denoising)")
        big = frame_1080(worker, shot, tmp, frame, chosen) if args.frame_1080 else {}
    print(json.dumps({"bench": "denoise", "width": args.width, "height": args.height,
                      "reference_samples": args.reference, "reference_seconds": round(ref_s, 3),
                      "rows": rows, "chosen": chosen, **big}))


if __name__ == "__main__":
    main()
